// SPDX-License-Identifier: Apache-2.0

// The client state file (docs/protocol.md section 14): what a device has seen
// of cases, referral histories and consent withdrawals survives a new Client on
// the same file, a shorter or different history is refused without changing
// what is remembered, and the format is versioned. No server is needed: a
// Client connects lazily, and RememberHistory never calls the server.
#include <catch2/catch.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <regex>
#include <set>
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
  CHECK(json["format"] == "3");  // 64-bit numbers are strings from format 3 on
  CHECK(json["cases"][HexEncode(I(1).span())]["length"] == "3");
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

TEST_CASE("the state file format is versioned: formats 1 and 2 load, a newer or damaged one is refused", "[case]") {
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
    CHECK(json["format"] == "3");
    CHECK(json["org_log_heads"][org]["seq"] == "3");
  }
  SECTION("a newer format") {
    std::ofstream(state) << nlohmann::json{{"format", 4}, {"org_log_heads", nlohmann::json::object()}}.dump();
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
  CHECK(saved["cases"][HexEncode(I(1).span())]["length"] == "2");
  CHECK(saved["cases"].contains(HexEncode(I(2).span())));
  CHECK(saved["referrals"][HexEncode(I(3).span())]["length"] == "2");
  // a, saving again, keeps b's longer history rather than its own shorter one.
  REQUIRE(a->RememberHistory(HistoryKind::kReferral, I(4), one).ok());
  CHECK(nlohmann::json::parse(Read(state))["cases"][HexEncode(I(1).span())]["length"] == "2");
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

// The numbers of a state file as JSON numbers: format 2 wrote them so, format
// 3 writes the 64-bit ones as strings (protobuf's JSON mapping). Keyed by
// name, since an all-digit hex id is not a number.
nlohmann::json NumbersAsNumbers(nlohmann::json j) {
  static const std::set<std::string> kNumbers = {"format",      "seq",        "length",    "tree_size",
                                                 "timestamp_ms", "first_index", "floor",    "started_ms",
                                                 "finished_ms", "count",      "kinds",     "subject",
                                                 "number",      "code",       "service",   "flags"};
  if (j.is_array()) {
    for (nlohmann::json& element : j) element = NumbersAsNumbers(element);
  } else if (j.is_object()) {
    for (auto& [key, value] : j.items()) {
      if (kNumbers.contains(key) && value.is_string()) {
        const std::string text = value.get<std::string>();
        value = text.starts_with('-') ? nlohmann::json(std::stoll(text)) : nlohmann::json(std::stoull(text));
      } else {
        value = NumbersAsNumbers(value);
      }
    }
  }
  return j;
}

std::string SourceFile(const std::string& path) {
  const char* source = std::getenv("TRYGG_SOURCE_DIR");
  REQUIRE(source != nullptr);
  return std::string(source) + "/" + path;
}

TEST_CASE("a state file written in format 2 (nlohmann-json's numbers) loads whole and is written back unchanged",
          "[case]") {
  // tests/data/client-state/format2.json: put together from files that the
  // format-2 writer (libtrygg before protobuf's JSON) saved during
  // audit_client_test and this test, as they were: two organisation logs, a
  // verified audit head, 13 queued writes with every optional field, cases,
  // referrals (one ended by the server), a consent withdrawal, the server
  // instance.
  testing::TempDir dir;
  const std::string state = dir.file("device.state.json");
  const std::string fixture = Read(SourceFile("tests/data/client-state/format2.json"));
  REQUIRE(!fixture.empty());
  std::ofstream(state) << fixture;
  const nlohmann::json before = nlohmann::json::parse(fixture);
  REQUIRE(before["format"] == 2);

  auto client = Open(state);
  CHECK(Read(state) == fixture);  // opening writes nothing
  REQUIRE(client->remembered_heads().size() == before["org_log_heads"].size());
  for (const auto& [org, head] : before["org_log_heads"].items()) {
    const OrgLogHead& loaded = client->remembered_heads().at(*Id128::FromHex(org));
    CHECK(loaded.seq == head["seq"].get<uint64_t>());
    CHECK(HexEncode(loaded.hash.span()) == head["hash"]);
  }
  const std::pair<const char*, HistoryKind> kinds[] = {{"cases", HistoryKind::kCase},
                                                       {"referrals", HistoryKind::kReferral},
                                                       {"consent_withdrawals", HistoryKind::kConsentWithdrawal}};
  size_t ended = 0;
  for (const auto& [key, kind] : kinds) {
    REQUIRE(!before[key].empty());
    for (const auto& [id, head] : before[key].items()) {
      const std::optional<HistoryHead> loaded = client->remembered_history(kind, *Id128::FromHex(id));
      REQUIRE(loaded.has_value());
      CHECK(loaded->length == head["length"].get<uint64_t>());
      CHECK(HexEncode(loaded->hash.span()) == head["hash"]);
      CHECK(loaded->ended_by_server == head.value("ended_by_server", false));
      ended += loaded->ended_by_server ? 1 : 0;
    }
  }
  CHECK(ended == 1);
  CHECK(HexEncode(client->pinned_server_instance()->span()) == before["server_instance_id"]);
  REQUIRE(client->audit_head().has_value());
  CHECK(client->audit_head()->tree_size == before["audit"]["head"]["tree_size"].get<uint64_t>());
  CHECK(client->audit_head()->timestamp_ms == before["audit"]["head"]["timestamp_ms"].get<int64_t>());
  CHECK(HexEncode(client->audit_head()->root_hash.span()) == before["audit"]["head"]["root_hash"]);
  CHECK(client->pending_audit_writes() == 13);

  // A save writes format 3 with the same content: every queued write's
  // fields (which only the file shows), every head, nothing lost or added but
  // the new history.
  const Hash256 v1 = H(0x42);
  REQUIRE(client->RememberHistory(HistoryKind::kCase, I(0x42), std::span(&v1, 1)).ok());
  nlohmann::json after = nlohmann::json::parse(Read(state));
  CHECK(after["format"] == "3");
  CHECK(after["audit"]["head"]["tree_size"].is_string());
  after = NumbersAsNumbers(after);
  REQUIRE(after["cases"].contains(HexEncode(I(0x42).span())));
  after["cases"].erase(HexEncode(I(0x42).span()));
  after["format"] = 2;
  CHECK(after == before);
  // And format 3 loads as format 2 did.
  auto again = Open(state);
  REQUIRE(again->remembered_heads().size() == client->remembered_heads().size());
  for (const auto& [org, head] : client->remembered_heads()) {
    CHECK(again->remembered_heads().at(org).seq == head.seq);
    CHECK(again->remembered_heads().at(org).hash == head.hash);
  }
  CHECK(again->pending_audit_writes() == 13);
  CHECK(again->remembered_history(HistoryKind::kCase, I(0x42)) == HistoryHead{1, H(0x42), false});
}

TEST_CASE("64-bit numbers in the state file keep every bit, as JSON numbers or strings", "[case]") {
  testing::TempDir dir;
  const std::string state = dir.file("device.state.json");
  const std::string org = HexEncode(I(7).span());
  const std::string hash = HexEncode(H(1).span());
  const std::string id = HexEncode(I(9).span());
  // 2^64 - 1 and 2^63 + 1 are beyond a double's 53 bits.
  const std::string number = GENERATE(as<std::string>{}, "18446744073709551615", "\"18446744073709551615\"");
  std::ofstream(state) << R"({"format": 2, "org_log_heads": {")" << org << R"(": {"seq": )" << number
                       << R"(, "hash": ")" << hash << R"("}}, "cases": {")" << id << R"(": {"length": )" << number
                       << R"(, "hash": ")" << hash << R"("}}, "audit": {"head": {"tree_size": 9223372036854775809,)"
                       << R"( "timestamp_ms": -9223372036854775808, "root_hash": ")" << hash << R"("}, "pending": []}})";
  auto client = Open(state);
  CHECK(client->remembered_heads().at(I(7)).seq == std::numeric_limits<uint64_t>::max());
  CHECK(client->remembered_history(HistoryKind::kCase, I(9))->length == std::numeric_limits<uint64_t>::max());
  CHECK(client->audit_head()->tree_size == (uint64_t{1} << 63) + 1);
  CHECK(client->audit_head()->timestamp_ms == std::numeric_limits<int64_t>::min());
  const Hash256 v1 = H(2);
  REQUIRE(client->RememberHistory(HistoryKind::kCase, I(10), std::span(&v1, 1)).ok());
  const std::string text = Read(state);
  CHECK(text.find(R"("seq": "18446744073709551615")") != std::string::npos);
  CHECK(text.find(R"("tree_size": "9223372036854775809")") != std::string::npos);
  CHECK(text.find(R"("timestamp_ms": "-9223372036854775808")") != std::string::npos);
  auto again = Open(state);
  CHECK(again->remembered_heads().at(I(7)).seq == std::numeric_limits<uint64_t>::max());
  CHECK(again->audit_head()->timestamp_ms == std::numeric_limits<int64_t>::min());
}

TEST_CASE("a damaged state file is refused as damaged and left as it was", "[case]") {
  testing::TempDir dir;
  const std::string state = dir.file("device.state.json");
  const std::string org = HexEncode(I(7).span());
  const std::string hash = HexEncode(H(1).span());
  const std::string head = R"({"seq": 3, "hash": ")" + hash + R"("})";
  auto with_heads = [&](const std::string& heads, const std::string& rest = "") {
    return R"({"format": 2, "org_log_heads": )" + heads + rest + "}";
  };
  const std::string fixture = Read(SourceFile("tests/data/client-state/format2.json"));
  const std::string text = GENERATE_COPY(values<std::string>({
      "",
      "   \n",
      "not json",
      "[]",
      "42",
      "{}",
      R"({"format": 2})",
      R"({"format": 2, "org_log_heads": null})",
      R"({"format": 2, "org_log_heads": []})",
      R"({"format": 2, "org_log_heads": 5})",
      R"({"format": 1, "org_log_heads": {}})",
      R"({"format": -2, "org_log_heads": {}})",
      R"({"format": 2.5, "org_log_heads": {}})",
      R"({"format": "two", "org_log_heads": {}})",
      fixture.substr(0, fixture.size() / 2),
      fixture + "}",
      with_heads("{\"" + org + "\": {\"hash\": \"" + hash + "\"}}"),
      with_heads("{\"" + org + "\": {\"seq\": -1, \"hash\": \"" + hash + "\"}}"),
      with_heads("{\"" + org + "\": {\"seq\": 1.5, \"hash\": \"" + hash + "\"}}"),
      with_heads("{\"" + org + "\": {\"seq\": 18446744073709551616, \"hash\": \"" + hash + "\"}}"),
      with_heads("{\"" + org + "\": {\"seq\": 3}}"),
      with_heads("{\"" + org + "\": {\"seq\": 3, \"hash\": \"zz\"}}"),
      with_heads("{\"" + org + "\": {\"seq\": 3, \"hash\": \"abcd\"}}"),
      with_heads("{\"" + org + "\": null}"),
      with_heads("{\"not-hex\": " + head + "}"),
      with_heads("{\"" + org + "\": " + head + "}", R"(, "cases": [])"),
      with_heads("{}", R"(, "cases": {")" + org + R"(": {"length": 0, "hash": ")" + hash + R"("}}})"),
      with_heads("{}", R"(, "referrals": {")" + org + R"(": {"hash": ")" + hash + R"("}}})"),
      with_heads("{}", R"(, "referrals": {")" + org + R"(": {"length": 2, "hash": ")" + hash +
                           R"(", "ended_by_server": "maybe"}})"),
      with_heads("{}", R"(, "server_instance_id": "0102")"),
      with_heads("{}", R"(, "server_instance_id": 7)"),
  }));
  std::ofstream(state) << text;
  ClientOptions options;
  options.address = "127.0.0.1:1";
  options.state_file = state;
  INFO(text);
  const absl::Status status = Client::Connect(options).status();
  CHECK(status.code() == absl::StatusCode::kDataLoss);
  CHECK(std::string(status.message()) == "client state file " + state + " is damaged");
  CHECK(Read(state) == text);
}

TEST_CASE("a newer format is refused as newer whatever it holds", "[case]") {
  testing::TempDir dir;
  const std::string state = dir.file("device.state.json");
  const std::string text = R"({"format": "7", "org_log_heads": {"x": []}, "cases": 5, "audit": "?"})";
  std::ofstream(state) << text;
  ClientOptions options;
  options.address = "127.0.0.1:1";
  options.state_file = state;
  const absl::Status status = Client::Connect(options).status();
  CHECK(status.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(status.message().find("newer libtrygg (format 7)") != absl::string_view::npos);
  CHECK(Read(state) == text);
}

TEST_CASE("a damaged audit part leaves the heads usable and stops only the audit check", "[case]") {
  testing::TempDir dir;
  const std::string state = dir.file("device.state.json");
  const std::string org = HexEncode(I(7).span());
  const std::string hash = HexEncode(H(1).span());
  const std::string id = HexEncode(I(8).span());
  const std::string write = R"({"has_receipt": true, "first_index": 1, "count": 1, "floor": 1, "started_ms": 1,)"
                            R"( "finished_ms": 2, "actor_device": ")" + id + R"(", "actor_org": ")" + id +
                            R"(", "what": "session", "kinds": 256, "subject": 0, "subject_id": ")" + id + "\"";
  const std::string audit = GENERATE_COPY(values<std::string>({
      R"("?")",
      "[]",
      R"({"head": {"tree_size": "many", "timestamp_ms": 1, "root_hash": ")" + hash + R"("}})",
      R"({"head": {"timestamp_ms": 1, "root_hash": ")" + hash + R"("}})",
      R"({"head": {"tree_size": 1, "timestamp_ms": 1, "root_hash": "12"}})",
      R"({"pending": {}})",
      R"({"pending": [)" + write + R"(, "count": 100001}]})",
      R"({"pending": [)" + write + R"(, "subject": 4}]})",
      R"({"pending": [)" + write + R"(, "kinds": 4294967296}]})",
      R"({"pending": [)" + write + R"(, "code": 256}]})",
      R"({"pending": [)" + write + R"(, "record_hash": "00"}]})",
      R"({"pending": [)" + write + R"(, "counterpart_org": 5}]})",
      R"({"pending": [)" + std::regex_replace(write, std::regex(R"("actor_org": "[0-9a-f]*")"), R"("actor_org": null)") +
          "}]}",
      R"({"pending": [{"has_receipt": true}]})",
  }));
  const std::string text = R"({"format": 2, "org_log_heads": {")" + org + R"(": {"seq": 3, "hash": ")" + hash +
                           R"("}}, "audit": )" + audit + "}";
  std::ofstream(state) << text;
  INFO(text);
  auto client = Open(state);
  CHECK(client->remembered_heads().at(I(7)).seq == 3);
  const absl::StatusOr<AuditTrailReport> report = client->VerifyAuditTrail();
  CHECK(report.status().code() == absl::StatusCode::kDataLoss);
  CHECK(report.status().message().find("audit part of the client state file is damaged") != absl::string_view::npos);
  CHECK(Read(state) == text);
  // Forgetting starts the audit afresh and keeps the heads.
  REQUIRE(client->ForgetAuditState().ok());
  CHECK(Open(state)->remembered_heads().at(I(7)).seq == 3);
  CHECK(Open(state)->pending_audit_writes() == 0);
}

Id128 IdOf(uint32_t n) {
  std::array<uint8_t, 16> bytes{};
  for (int i = 0; i < 4; ++i) bytes[15 - i] = static_cast<uint8_t>(n >> (8 * i));
  return Id128(bytes);
}

// Times `saves` saves of the state file, each of a new referral head (ids
// from `next_id` on), and prints the median, min and max after `what`.
void PrintSaveTimes(Client& client, const std::string& state, const std::string& what, uint32_t& next_id,
                    int saves) {
  std::vector<double> ms;
  for (int i = 0; i < saves; ++i) {
    const Hash256 head = H(static_cast<uint8_t>(i));
    const auto start = std::chrono::steady_clock::now();
    REQUIRE(client.RememberHistory(HistoryKind::kReferral, IdOf(next_id++), std::span(&head, 1)).ok());
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(ms.begin(), ms.end());
  std::printf("%s: state file %8.1f KB, one save %8.2f ms (median of %d; min %.2f, max %.2f)\n", what.c_str(),
              static_cast<double>(std::filesystem::file_size(state)) / 1e3, ms[ms.size() / 2], saves, ms.front(),
              ms.back());
}

// Not run by default (`trygg_client_state_test "[.bench]"`): what one save
// of the state file costs as the histories it holds grow. Every save reads
// and parses the file (what other sessions of the device saved), then writes
// it whole as JSON and syncs it; an audited write saves it twice (its audit
// receipt, its new history head). docs/benchmarks.md quotes the figures. Set
// TRYGG_STATE_BENCH_MAX (default 10000) for the largest size measured.
TEST_CASE("saving the state file at 100, 1,000 and 10,000 histories", "[.bench]") {
  const char* max_env = std::getenv("TRYGG_STATE_BENCH_MAX");
  const uint32_t max = max_env != nullptr ? static_cast<uint32_t>(std::atol(max_env)) : 10'000;
  testing::TempDir dir;
  const std::string state = dir.file("device.state.json");
  auto client = Open(state);
  uint32_t held = 0;
  for (uint32_t size = 100; size <= max; size *= 10) {
    // Filled up to `size` in pages of up to 1,000, one save each.
    while (held < size) {
      std::vector<Client::HistoryUpdate> page;
      for (; held < size && page.size() < 1000; ++held) {
        page.push_back({HistoryKind::kReferral, IdOf(held), {H(static_cast<uint8_t>(held))}, 1, false});
      }
      REQUIRE(client->RememberHistories(page).ok());
    }
    // Then single saves, as each write and each newly read referral makes.
    char what[32];
    std::snprintf(what, sizeof what, "%7u histories", size);
    PrintSaveTimes(*client, state, what, held, 15);
    CHECK(Open(state)->remembered_history(HistoryKind::kReferral, IdOf(held - 1)).has_value());
  }
}

// Not run by default: the same for a device with writes not yet checked
// against the audit log (VerifyAuditTrail not called since). A save folds in
// the queue another session saved, looking each of its writes up among those
// this session holds and has verified (until 044a04b it compared each with
// each).
TEST_CASE("saving the state file with 100, 1,000 and 5,000 writes waiting for the audit check", "[.bench]") {
  testing::TempDir dir;
  const std::string device = std::string(32, 'd');
  for (const uint32_t size : {100u, 1000u, 5000u}) {
    const std::string state = dir.file("device-" + std::to_string(size) + ".state.json");
    std::string pending;
    for (uint32_t i = 0; i < size; ++i) {
      if (i > 0) pending += ",";
      const std::string index = std::to_string(1000 + 2 * i);
      pending += R"({"has_receipt": true, "first_index": ")" + index + R"(", "count": 1, "floor": ")" + index +
                 R"(", "started_ms": ")" + std::to_string(1'700'000'000'000 + i) + R"(", "finished_ms": ")" +
                 std::to_string(1'700'000'000'001 + i) + R"(", "actor_device": ")" + device +
                 R"(", "actor_org": ")" + std::string(32, 'e') +
                 R"(", "what": "referral", "kinds": 2, "subject": 2, "subject_id": ")" + HexEncode(I(7).span()) +
                 R"("})";
    }
    std::ofstream(state) << R"({"format": "3", "org_log_heads": {}, "audit": {"pending": [)" << pending << "]}}";
    auto client = Open(state);
    REQUIRE(client->pending_audit_writes() == size);
    char what[32];
    std::snprintf(what, sizeof what, "%7u writes waiting", size);
    uint32_t next_id = 0;
    PrintSaveTimes(*client, state, what, next_id, 9);
    CHECK(Open(state)->pending_audit_writes() == size);
  }
}

}  // namespace
}  // namespace trygg
