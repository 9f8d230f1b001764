// SPDX-License-Identifier: Apache-2.0

// The client state file (docs/protocol.md section 14): what a device has seen
// of cases, referral histories and consent withdrawals survives a new Client on
// the same file, a shorter or different history is refused without changing
// what is remembered, and the format is versioned. No server is needed: a
// Client connects lazily, and RememberHistory never calls the server.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "testing/temp_dir.h"
#include "trygg/client.h"
#include "trygg/crypto_error.h"

namespace trygg {
namespace {

std::unique_ptr<Client> Open(const std::string& state_file) {
  ClientOptions options;
  options.address = "127.0.0.1:1";  // never called
  options.state_file = state_file;
  auto client = Client::Connect(options);
  INFO(client.status().ToString());
  REQUIRE(client.ok());
  return std::move(*client);
}

Hash256 H(uint8_t n) {
  std::array<uint8_t, 32> bytes{};
  bytes.fill(n);
  return Hash256(bytes);
}

Id128 I(uint8_t n) {
  std::array<uint8_t, 16> bytes{};
  bytes[15] = n;
  return Id128(bytes);
}

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST_CASE("the state file keeps the histories a device has seen across clients", "[case]") {
  testing::TempDir dir;
  const std::string state = dir.file("device.state.json");
  {
    auto client = Open(state);
    const Hash256 versions[3] = {H(1), H(2), H(3)};
    REQUIRE(client->RememberHistory(HistoryKind::kCase, I(1), versions).ok());
    const Hash256 moves[2] = {H(4), H(5)};
    REQUIRE(client->RememberHistory(HistoryKind::kReferral, I(2), moves, 1, /*ended_by_server=*/true).ok());
    const Hash256 withdrawal = H(6);
    REQUIRE(client->RememberHistory(HistoryKind::kConsentWithdrawal, I(3), std::span(&withdrawal, 1)).ok());
    // Nothing shown, nothing seen: no entry.
    REQUIRE(client->RememberHistory(HistoryKind::kConsentWithdrawal, I(4), {}).ok());
  }
  const nlohmann::json json = nlohmann::json::parse(Read(state));
  CHECK(json["format"] == 2);
  CHECK(json["cases"][HexEncode(I(1).span())]["length"] == 3);
  CHECK(json["referrals"][HexEncode(I(2).span())]["ended_by_server"] == true);

  auto client = Open(state);
  CHECK(client->remembered_history(HistoryKind::kCase, I(1)) == HistoryHead{3, H(3), false});
  CHECK(client->remembered_history(HistoryKind::kReferral, I(2)) == HistoryHead{2, H(5), true});
  CHECK(client->remembered_history(HistoryKind::kConsentWithdrawal, I(3)) == HistoryHead{1, H(6), false});
  CHECK_FALSE(client->remembered_history(HistoryKind::kConsentWithdrawal, I(4)).has_value());
  CHECK_FALSE(client->remembered_history(HistoryKind::kReferral, I(1)).has_value());  // kinds are apart
  const std::string before = Read(state);

  SECTION("a shorter history is a rollback, and nothing changes") {
    const Hash256 two[2] = {H(1), H(2)};
    const absl::Status status = client->RememberHistory(HistoryKind::kCase, I(1), two);
    CHECK(status.code() == absl::StatusCode::kDataLoss);
    CHECK(GetCryptoError(status) == CryptoError::kRollback);
    CHECK(std::string(status.message()).find("version 2") != std::string::npos);
    CHECK(std::string(status.message()).find("version 3") != std::string::npos);
    const absl::Status hidden = client->RememberHistory(HistoryKind::kConsentWithdrawal, I(3), {});
    CHECK(GetCryptoError(hidden) == CryptoError::kRollback);
  }
  SECTION("another head at the length seen is a fork, however long the new history") {
    // Each hash commits to its whole prefix, so the one at length 3 decides.
    const Hash256 other[4] = {H(1), H(2), H(9), H(4)};
    const absl::Status status = client->RememberHistory(HistoryKind::kCase, I(1), other);
    CHECK(status.code() == absl::StatusCode::kDataLoss);
    CHECK(GetCryptoError(status) == CryptoError::kFork);
  }
  SECTION("a batch is all or nothing") {
    const std::vector<Client::HistoryUpdate> batch = {
        {HistoryKind::kReferral, I(5), {H(10), H(11)}, 1, false},  // new: fine alone
        {HistoryKind::kCase, I(1), {H(1), H(2)}, 1, false},        // a rollback
    };
    CHECK(GetCryptoError(client->RememberHistories(batch)) == CryptoError::kRollback);
    CHECK_FALSE(client->remembered_history(HistoryKind::kReferral, I(5)).has_value());
  }
  SECTION("a referral the server ended cannot go on or reopen") {
    const Hash256 longer[3] = {H(4), H(5), H(7)};
    CHECK(GetCryptoError(client->RememberHistory(HistoryKind::kReferral, I(2), longer, 1, true)) ==
          CryptoError::kRollback);
    const Hash256 same[2] = {H(4), H(5)};
    CHECK(GetCryptoError(client->RememberHistory(HistoryKind::kReferral, I(2), same, 1, false)) ==
          CryptoError::kRollback);
  }
  SECTION("a re-read changes nothing; a longer history that extends it moves the head") {
    const Hash256 same[3] = {H(1), H(2), H(3)};
    REQUIRE(client->RememberHistory(HistoryKind::kCase, I(1), same).ok());
    CHECK(Read(state) == before);
    const Hash256 appended[2] = {H(3), H(8)};  // a write on top of version 3
    REQUIRE(client->RememberHistory(HistoryKind::kCase, I(1), appended, 3).ok());
    CHECK(Open(state)->remembered_history(HistoryKind::kCase, I(1)) == HistoryHead{4, H(8), false});
    return;
  }
  CHECK(Read(state) == before);
  CHECK(client->remembered_history(HistoryKind::kCase, I(1)) == HistoryHead{3, H(3), false});
}

TEST_CASE("the state file format is versioned: format 1 loads, a newer or damaged one is refused", "[case]") {
  testing::TempDir dir;
  const std::string state = dir.file("device.state.json");
  const std::string org = HexEncode(I(7).span());
  SECTION("format 1 (no format field, no histories)") {
    std::ofstream(state) << nlohmann::json{{"org_log_heads", {{org, {{"seq", 3}, {"hash", HexEncode(H(1).span())}}}}}}
                                .dump();
    auto client = Open(state);
    CHECK(client->remembered_heads().at(I(7)).seq == 3);
    const Hash256 v1 = H(2);
    REQUIRE(client->RememberHistory(HistoryKind::kCase, I(1), std::span(&v1, 1)).ok());
    const nlohmann::json json = nlohmann::json::parse(Read(state));
    CHECK(json["format"] == 2);
    CHECK(json["org_log_heads"][org]["seq"] == 3);
  }
  SECTION("a newer format") {
    std::ofstream(state) << nlohmann::json{{"format", 3}, {"org_log_heads", nlohmann::json::object()}}.dump();
    ClientOptions options;
    options.address = "127.0.0.1:1";
    options.state_file = state;
    CHECK(Client::Connect(options).status().code() == absl::StatusCode::kFailedPrecondition);
  }
  SECTION("a damaged history") {
    std::ofstream(state) << nlohmann::json{{"format", 2},
                                           {"org_log_heads", nlohmann::json::object()},
                                           {"cases", {{HexEncode(I(1).span()), {{"length", "many"}, {"hash", ""}}}}}}
                                .dump();
    ClientOptions options;
    options.address = "127.0.0.1:1";
    options.state_file = state;
    CHECK(Client::Connect(options).status().code() == absl::StatusCode::kDataLoss);
  }
}

TEST_CASE("two sessions of one device keep each other's heads in the state file, and a fork between them is "
          "reported",
          "[case]") {
  testing::TempDir dir;
  const std::string state = dir.file("device.state.json");
  // Both open before either saves: each knows only what it sees itself.
  auto a = Open(state);
  auto b = Open(state);
  const Hash256 one[1] = {H(1)};
  const Hash256 two[2] = {H(1), H(2)};
  REQUIRE(a->RememberHistory(HistoryKind::kCase, I(1), one).ok());
  REQUIRE(b->RememberHistory(HistoryKind::kCase, I(2), one).ok());
  REQUIRE(a->RememberHistory(HistoryKind::kReferral, I(3), two).ok());
  // b saw case 1 at length 1 through a's save; it grows it to 2.
  REQUIRE(b->RememberHistory(HistoryKind::kCase, I(1), two).ok());
  const nlohmann::json saved = nlohmann::json::parse(Read(state));
  CHECK(saved["cases"][HexEncode(I(1).span())]["length"] == 2);
  CHECK(saved["cases"].contains(HexEncode(I(2).span())));
  CHECK(saved["referrals"][HexEncode(I(3).span())]["length"] == 2);
  // a, saving again, keeps b's longer history rather than its own shorter one.
  REQUIRE(a->RememberHistory(HistoryKind::kReferral, I(4), one).ok());
  CHECK(nlohmann::json::parse(Read(state))["cases"][HexEncode(I(1).span())]["length"] == 2);
  CHECK(a->remembered_history(HistoryKind::kCase, I(1))->length == 2);

  // The server shows the two sessions two different second versions of case 5.
  const Hash256 other[2] = {H(1), H(9)};
  REQUIRE(a->RememberHistory(HistoryKind::kCase, I(5), two).ok());
  const std::string before = Read(state);
  const absl::Status forked = b->RememberHistory(HistoryKind::kCase, I(5), other);
  CHECK(forked.code() == absl::StatusCode::kDataLoss);
  CHECK(forked.message().find("two sessions of this device") != absl::string_view::npos);
  CHECK(Read(state) == before);  // the first history seen stays as evidence
  CHECK(std::filesystem::exists(state + ".lock"));
}

}  // namespace
}  // namespace trygg
