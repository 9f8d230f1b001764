// SPDX-License-Identifier: Apache-2.0

// The audit RPCs of the real tryggd and `trygg-audit verify`, `consistency`,
// `check-included` and `stats` against it, signed in as a root-certified
// coordinator: a log filled through the real store verifies from scratch,
// grows consistently across restarts, and an entry edited, removed or
// inserted behind the server's back is found and named; a log that shrank or
// forked fails `consistency`. Without a session the RPCs refuse; a member
// device reads only its organisation's entries; trygg-audit refuses a
// member's key store for whole-log commands and a server key the platform
// root did not certify.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <grpcpp/grpcpp.h>
#include <iterator>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>

#include "audit_test_util.h"
#include "trygg/audit/tree_head.h"
#include "trygg/audit/verify.h"
#include "testing/temp_dir.h"
#include "testing/tryggd_process.h"
#include "trygg/audit/restore_notice.h"
#include "testing/trust_world.h"
#include "trygg/key_store.h"
#include "trygg/v1/audit.grpc.pb.h"

namespace trygg::audit_testing {
namespace {

using testing::ExitResult;
using testing::RunTryggd;
using testing::TempDir;
using testing::TestDevice;
using testing::TrustWorld;

std::string StateFileText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

constexpr char kPassphrase[] = "correct horse battery staple";

audit::TreeHead DecodeHead(const trygg::v1::GetSignedTreeHeadResponse& response) {
  const std::string& bytes = response.tree_head().bytes();
  absl::StatusOr<audit::TreeHead> head = audit::DecodeTreeHead(
      absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
  REQUIRE(head.ok());
  return *head;
}

// A platform whose tryggd is certified by the root (unless told otherwise),
// with a coordinator whose key store is on disk for trygg-audit, and a home
// directory of its own so no real trygg config is read.
struct AuditWorld {
  explicit AuditWorld(bool certify_server = true) {
    REQUIRE(world.ok());
    if (certify_server) world.CertifyServer();
    coordinator = &world.AddCoordinator("Samordnare");
    WriteKeyStore(*coordinator, keystore);
  }

  void WriteKeyStore(const TestDevice& device, const std::string& path) {
    REQUIRE(CreateKeyStore(path, kPassphrase, device.keys, MinimumKdfLimitsForTests(), world.rng()).ok());
  }

  // Stops tryggd, runs `edit` on its database file, starts it again, and
  // signs the given devices in again (the port changes).
  void WhileStopped(const std::function<void(const std::string& db)>& edit,
                    std::initializer_list<TestDevice*> others = {}) {
    // Closed first: tryggd's drain waits seconds for idle connected clients.
    coordinator->client.reset();
    for (TestDevice* d : others) d->client.reset();
    world.Restart([&](const std::string& data_dir) { edit(data_dir + "/trygg.db"); });
    world.Reconnect(*coordinator);
    for (TestDevice* d : others) world.Reconnect(*d);
  }

  // Appends CaseVersion(from..to) through the real store while tryggd is
  // down; returns the index of CaseVersion(from).
  uint64_t Fill(uint32_t from, uint32_t to, std::initializer_list<TestDevice*> others = {}) {
    const uint64_t first = Size();
    WhileStopped(
        [&](const std::string& db) {
          LogBuilder builder(db);
          for (uint32_t i = from; i < to; ++i) builder.Record(CaseVersion(i));
        },
        others);
    return first;
  }

  // The setting of a restore: ten entries, a copy of the database then
  // (taken with tryggd stopped; returned), thirty more, and their verified
  // head saved to `state`.
  std::string BackUpThenVerify(const std::string& state) {
    Fill(0, 10);
    const std::string backup = home.file("backup.db");
    WhileStopped([&](const std::string& db) { std::filesystem::copy_file(db, backup); });
    Fill(10, 40);
    REQUIRE(Audit({"verify", "--state", state}).code == 0);
    return backup;
  }

  trygg::v1::GetSignedTreeHeadResponse Head() {
    auto context = coordinator->client->NewCallContext();
    trygg::v1::GetSignedTreeHeadResponse response;
    REQUIRE(Stub()->GetSignedTreeHead(context.get(), {}, &response).ok());
    return response;
  }
  uint64_t Size() { return DecodeHead(Head()).tree_size; }

  std::unique_ptr<trygg::v1::AuditService::Stub> Stub() {
    return trygg::v1::AuditService::NewStub(grpc::CreateChannel(world.address(), grpc::InsecureChannelCredentials()));
  }

  std::string ServerKeyHex() const {
    const std::string dir = std::filesystem::path(world.db_path()).parent_path().string();
    std::ifstream in(dir + "/server-signing.key", std::ios::binary);
    std::array<uint8_t, 32> seed{};
    in.read(reinterpret_cast<char*>(seed.data()), seed.size());
    REQUIRE(in.gcount() == 32);
    return HexEncode(SigningKeyPairFromSeed(seed).public_key.span());
  }

  // trygg-audit signed in with `with` (the coordinator's key store unless
  // given), the pinned root and this server.
  ToolResult Audit(std::vector<std::string> args, const std::string& with = "") {
    for (const std::string& a : {std::string("--server"), world.address(), std::string("--keystore"),
                                 with.empty() ? keystore : with, std::string("--root-key"),
                                 HexEncode(world.root().public_key.span())}) {
      args.push_back(a);
    }
    return RunAudit(args, Env());
  }
  std::vector<std::string> Env() const {
    // TZ empty: the tools' default zone, Europe/Stockholm, whatever the
    // machine's.
    return {std::string("TRYGG_PASSPHRASE=") + kPassphrase, "TRYGG_INSECURE_FAST_KDF=1", "HOME=" + home.path(),
            "XDG_CONFIG_HOME=" + home.path(), "TZ="};
  }

  TempDir home;
  TrustWorld world;
  TestDevice* coordinator = nullptr;
  std::string keystore = home.file("coordinator.keystore");
};

TEST_CASE("tryggd serves signed heads, proofs and pages to signed-in devices, and bad requests are "
          "INVALID_ARGUMENT",
          "[audit][server]") {
  AuditWorld w;
  TestDevice& admin = w.world.AdmitOrganisation("Kvinnojouren Malmö");
  const uint64_t base = w.Fill(0, 25, {&admin});
  const trygg::v1::GetSignedTreeHeadResponse head = w.Head();
  const audit::TreeHead decoded = DecodeHead(head);
  const uint64_t n = decoded.tree_size;
  REQUIRE(n >= base + 25);
  CHECK(HexEncode(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(head.tree_head().signer_id().data()),
                                           head.tree_head().signer_id().size())) == w.ServerKeyHex());

  auto stub = w.Stub();
  SECTION("without a session, every RPC is UNAUTHENTICATED") {
    for (const std::string& token : {std::string(), std::string("Bearer ") + std::string(64, 'a')}) {
      INFO("token '" << token << "'");
      auto call = [&](auto rpc) {
        grpc::ClientContext context;
        if (!token.empty()) context.AddMetadata("authorization", token);
        return rpc(context).error_code();
      };
      CHECK(call([&](grpc::ClientContext& c) {
              trygg::v1::GetSignedTreeHeadResponse out;
              return stub->GetSignedTreeHead(&c, {}, &out);
            }) == grpc::StatusCode::UNAUTHENTICATED);
      CHECK(call([&](grpc::ClientContext& c) {
              trygg::v1::GetInclusionProofRequest r;
              r.set_leaf_index(0);
              r.set_tree_size(1);
              trygg::v1::GetInclusionProofResponse out;
              return stub->GetInclusionProof(&c, r, &out);
            }) == grpc::StatusCode::UNAUTHENTICATED);
      CHECK(call([&](grpc::ClientContext& c) {
              trygg::v1::GetConsistencyProofRequest r;
              r.set_first_size(1);
              r.set_second_size(2);
              trygg::v1::GetConsistencyProofResponse out;
              return stub->GetConsistencyProof(&c, r, &out);
            }) == grpc::StatusCode::UNAUTHENTICATED);
      CHECK(call([&](grpc::ClientContext& c) {
              trygg::v1::ListEntriesRequest r;
              trygg::v1::ListEntriesResponse out;
              return stub->ListEntries(&c, r, &out);
            }) == grpc::StatusCode::UNAUTHENTICATED);
    }
  }

  SECTION("bad requests are INVALID_ARGUMENT and change nothing") {
    auto expect_invalid = [&](auto call, const std::string& fragment) {
      auto context = w.coordinator->client->NewCallContext();
      grpc::Status status = call(*context);
      INFO(fragment << ": " << status.error_message());
      CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
      CHECK(status.error_message().find(fragment) != std::string::npos);
    };
    const std::string size = std::to_string(n);
    expect_invalid([&](grpc::ClientContext& c) {
      trygg::v1::GetInclusionProofRequest r;
      r.set_leaf_index(n);
      r.set_tree_size(n);
      trygg::v1::GetInclusionProofResponse out;
      return stub->GetInclusionProof(&c, r, &out);
    }, "leaf_index " + size);
    expect_invalid([&](grpc::ClientContext& c) {
      trygg::v1::GetInclusionProofRequest r;
      r.set_leaf_index(1);
      r.set_tree_size(n + 1);
      trygg::v1::GetInclusionProofResponse out;
      return stub->GetInclusionProof(&c, r, &out);
    }, "tree_size " + std::to_string(n + 1));
    expect_invalid([&](grpc::ClientContext& c) {
      trygg::v1::GetConsistencyProofRequest r;
      r.set_first_size(10);
      r.set_second_size(9);
      trygg::v1::GetConsistencyProofResponse out;
      return stub->GetConsistencyProof(&c, r, &out);
    }, "first_size 10");
    expect_invalid([&](grpc::ClientContext& c) {
      trygg::v1::GetConsistencyProofRequest r;
      r.set_first_size(0);
      r.set_second_size(9);
      trygg::v1::GetConsistencyProofResponse out;
      return stub->GetConsistencyProof(&c, r, &out);
    }, "first_size must be at least 1");
    expect_invalid([&](grpc::ClientContext& c) {
      trygg::v1::GetConsistencyProofRequest r;
      r.set_first_size(3);
      r.set_second_size(n + 99);
      trygg::v1::GetConsistencyProofResponse out;
      return stub->GetConsistencyProof(&c, r, &out);
    }, "second_size " + std::to_string(n + 99));
    expect_invalid([&](grpc::ClientContext& c) {
      trygg::v1::ListEntriesRequest r;
      r.set_page_token("not-a-token");
      trygg::v1::ListEntriesResponse out;
      return stub->ListEntries(&c, r, &out);
    }, "page_token");
    expect_invalid([&](grpc::ClientContext& c) {
      trygg::v1::ListEntriesRequest r;
      r.set_page_size(-5);
      trygg::v1::ListEntriesResponse out;
      return stub->ListEntries(&c, r, &out);
    }, "page_size -5");
    expect_invalid([&](grpc::ClientContext& c) {
      trygg::v1::ListEntriesRequest r;
      r.set_start_index(n + 1);
      trygg::v1::ListEntriesResponse out;
      return stub->ListEntries(&c, r, &out);
    }, "start index " + std::to_string(n + 1));
    // Nothing changed: the same head is served.
    CHECK(w.Head().tree_head().bytes() == head.tree_head().bytes());
  }

  SECTION("a proof verifies against the signed root, and a coordinator pages through every entry") {
    auto context = w.coordinator->client->NewCallContext();
    trygg::v1::GetInclusionProofRequest request;
    request.set_leaf_index(base + 13);
    request.set_tree_size(n);
    trygg::v1::GetInclusionProofResponse proof;
    REQUIRE(stub->GetInclusionProof(context.get(), request, &proof).ok());
    std::vector<Hash256> path;
    for (const std::string& h : proof.path()) {
      path.push_back(*Hash256::FromSpan(
          absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(h.data()), h.size())));
    }
    const audit::EncodedAuditEvent entry = audit::EncodeAuditEvent(CaseVersion(13));
    CHECK(audit::VerifyInclusion(audit::HashLeaf(entry), base + 13, n, path, decoded.root_hash).ok());

    std::string token;
    uint64_t seen = 0;
    do {
      auto page_context = w.coordinator->client->NewCallContext();
      trygg::v1::ListEntriesRequest page_request;
      page_request.set_page_size(10);
      page_request.set_page_token(token);
      trygg::v1::ListEntriesResponse page;
      REQUIRE(stub->ListEntries(page_context.get(), page_request, &page).ok());
      for (const auto& e : page.entries()) CHECK(e.index() == seen++);
      token = page.next_page_token();
    } while (!token.empty());
    CHECK(seen >= n);
  }

  SECTION("a member device reads exactly the entries that name its organisation") {
    // Every entry as `reader` is served it, page by page.
    auto read_all = [&](TestDevice& reader) {
      std::vector<std::pair<uint64_t, audit::AuditEvent>> out;
      std::string token;
      do {
        auto page_context = reader.client->NewCallContext();
        trygg::v1::ListEntriesRequest page_request;
        page_request.set_page_token(token);
        trygg::v1::ListEntriesResponse page;
        REQUIRE(stub->ListEntries(page_context.get(), page_request, &page).ok());
        for (const auto& e : page.entries()) {
          auto event = audit::DecodeAuditEvent(
              absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(e.entry().data()), e.entry().size()));
          REQUIRE(event.ok());
          out.emplace_back(e.index(), *event);
        }
        token = page.next_page_token();
      } while (!token.empty());
      return out;
    };
    const auto everything = read_all(*w.coordinator);
    std::vector<uint64_t> naming_it;
    for (const auto& [index, event] : everything) {
      if (event.actor_org_id == admin.keys.org_id.array() || event.counterpart_org_id == admin.keys.org_id.array()) {
        naming_it.push_back(index);
      }
    }
    std::vector<uint64_t> served;
    for (const auto& [index, event] : read_all(admin)) served.push_back(index);
    CHECK(served == naming_it);
    // Its admission, key and sessions; none of the 25 case versions (another organisation's).
    CHECK(served.size() >= 3);
    CHECK(served.size() < everything.size() - 25);
  }
}

TEST_CASE("trygg-audit verifies a live log, follows it and finds an edited entry", "[audit][server]") {
  AuditWorld w;
  const uint64_t base = w.Fill(0, 30);
  const std::string state = w.home.file("state/audit-head.json");

  ToolResult r = w.Audit({"verify", "--state", state, "--json"});
  INFO(Describe(r));
  REQUIRE(r.code == 0);
  nlohmann::json verified = nlohmann::json::parse(r.out);
  CHECK(verified["ok"] == true);
  const uint64_t first_size = verified["signed_head"]["tree_size"];
  CHECK(verified["entries"] == first_size);
  CHECK(first_size >= base + 30);
  struct stat st;
  REQUIRE(stat(state.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);

  const std::string i0 = std::to_string(base), i7 = std::to_string(base + 7), i29 = std::to_string(base + 29);
  ToolResult included = w.Audit({"check-included", "--index", i0, "--index", i29, "--index", i7, "--entry",
                                 EntryHex(0), "--entry", EntryHex(29), "--entry", EntryHex(7)});
  INFO(Describe(included));
  CHECK(included.code == 0);
  CHECK(included.out.find("OK: entry " + i29 + " is in the signed log") != std::string::npos);
  // Fetched from the server when not given.
  CHECK(w.Audit({"check-included", "--index", i7}).code == 0);

  ToolResult not_included = w.Audit({"check-included", "--index", i7, "--entry", EntryHex(8), "--json"});
  CHECK(not_included.code == 3);
  CHECK(nlohmann::json::parse(not_included.out)["entries"][0]["included"] == false);
  ToolResult beyond = w.Audit({"check-included", "--index", "1000000"});
  CHECK(beyond.code == 3);
  CHECK(beyond.out.find("beyond the signed log of size") != std::string::npos);

  // Times for a person are in the reader's zone with the zone named, never
  // raw milliseconds (issue 18, item 8).
  ToolResult text = w.Audit({"verify", "--state", w.home.file("state/text-head.json")});
  INFO(Describe(text));
  CHECK(std::regex_search(text.out, std::regex(R"(\(signed at 20\d\d-\d\d-\d\d \d\d:\d\d (CET|CEST)\))")));
  CHECK_FALSE(std::regex_search(text.out, std::regex(R"(\b\d{13}\b)")));

  ToolResult stats = w.Audit({"stats", "--format", "json"});
  INFO(Describe(stats));
  CHECK(stats.code == 0);
  CHECK(nlohmann::json::parse(stats.out)["entries_read"] >= base + 30);

  // The log grows while the server is down; consistency proves the entries
  // verified before are an unchanged prefix of the longer log.
  w.Fill(30, 45);
  ToolResult grown = w.Audit({"consistency", "--state", state, "--json"});
  INFO(Describe(grown));
  REQUIRE(grown.code == 0);
  nlohmann::json json = nlohmann::json::parse(grown.out);
  CHECK(json["saved_head"]["tree_size"] == first_size);
  CHECK(json["latest_head"]["tree_size"] > first_size + 14);

  // Someone edits an entry in the database; the server keeps serving it,
  // and a fresh verify names the entry.
  const std::string edited = std::to_string(base + 33);
  w.WhileStopped([&](const std::string& db) {
    Sql(db, "UPDATE audit_entries SET entry = x'" + EntryHex(900) + "' WHERE idx = " + edited);
  });
  ToolResult tampered = w.Audit({"verify", "--state", state});
  INFO(Describe(tampered));
  CHECK(tampered.code == 3);
  CHECK(tampered.out.find("TAMPERED: entry " + edited + " differs from the signed log") != std::string::npos);
  // Statistics over a log that does not verify are refused.
  ToolResult refused = w.Audit({"stats"});
  CHECK(refused.code == 3);
  CHECK(refused.out.find("do not match the signed tree heads") != std::string::npos);
  // The state file still holds the last good head, and the stored tree
  // still extends it.
  CHECK(w.Audit({"consistency", "--state", state}).code == 0);
}

TEST_CASE("trygg-audit stats names organisations by their root-signed certificates, escaped for each format",
          "[audit][server][stats]") {
  AuditWorld w;
  // Names are whatever an organisation asked the root to certify: a
  // formula and markup among them.
  TestDevice& formula = w.world.AdmitOrganisation("=HYPERLINK(\"http://evil\")");
  TestDevice& markup = w.world.AdmitOrganisation("<b>Kvinnojouren</b> Malmö");
  const audit::AuditId from = formula.keys.org_id.array(), to = markup.keys.org_id.array();
  audit::AuditId unknown{};
  unknown[0] = 0xee;
  w.WhileStopped(
      [&](const std::string& db) {
        LogBuilder builder(db);
        for (uint8_t i = 0; i < 6; ++i) {
          audit::AuditEvent e;
          e.kind = audit::AuditEventKind::kReferralCreated;
          e.time_ms = 1767225600000;
          e.actor_org_id = from;
          e.counterpart_org_id = i < 5 ? to : unknown;
          e.referral_id[0] = 0x77;
          e.referral_id[1] = i;
          e.service = 1;
          builder.Record(e);
        }
      },
      {&formula, &markup});

  ToolResult csv = w.Audit({"stats", "--format", "csv", "--threshold", "1"});
  INFO(Describe(csv));
  REQUIRE(csv.code == 0);
  CHECK(csv.out.find("by_pair,\"'=HYPERLINK(\"\"http://evil\"\") -> <b>Kvinnojouren</b> Malmö\",referrals,5\n") !=
        std::string::npos);
  // An organisation with no certificate reads as the start of its id.
  CHECK(csv.out.find("by_pair,\"'=HYPERLINK(\"\"http://evil\"\") -> ee000000\",referrals,1\n") != std::string::npos);

  const std::string html_path = w.home.file("report.html");
  ToolResult html = w.Audit({"stats", "--format", "html", "--threshold", "1", "-o", html_path});
  REQUIRE(html.code == 0);
  const std::string page = StateFileText(html_path);
  CHECK(page.find("<bdi>&lt;b&gt;Kvinnojouren&lt;/b&gt; Malmö</bdi>") != std::string::npos);
  CHECK(page.find("<b>Kvinnojouren") == std::string::npos);

  ToolResult json = w.Audit({"stats", "--format", "json", "--threshold", "1"});
  REQUIRE(json.code == 0);
  bool named = false;
  const nlohmann::json report = nlohmann::json::parse(json.out);
  for (const auto& t : report["tables"]) {
    if (t["id"] != "by_receiver") continue;
    for (const auto& row : t["rows"]) {
      if (row[0]["org_id"] == HexEncode(to)) named = row[0]["name"] == "<b>Kvinnojouren</b> Malmö";
    }
  }
  CHECK(named);
}

TEST_CASE("trygg-audit verify names an entry removed or inserted behind a live server", "[audit][server]") {
  AuditWorld w;
  const uint64_t base = w.Fill(0, 20);
  REQUIRE(w.Audit({"verify", "--state", w.home.file("head.json")}).code == 0);
  SECTION("removed") {
    const std::string gone = std::to_string(base + 11);
    w.WhileStopped([&](const std::string& db) { Sql(db, "DELETE FROM audit_entries WHERE idx = " + gone); });
    ToolResult r = w.Audit({"verify", "--state", w.home.file("head.json")});
    INFO(Describe(r));
    CHECK(r.code == 3);
    CHECK(r.out.find("TAMPERED: entry " + gone) != std::string::npos);
    CHECK(r.out.find("removed") != std::string::npos);
  }
  SECTION("inserted, later rows shifted up") {
    // The last row is dropped so the log keeps its length and the server
    // can still append (the sign-ins of trygg-audit are entries too).
    w.WhileStopped([&](const std::string& db) {
      Sql(db, "UPDATE audit_entries SET idx = idx + 1000000 WHERE idx >= " + std::to_string(base + 5) +
                  "; UPDATE audit_entries SET idx = idx - 1000000 + 1 WHERE idx >= 1000000;"
                  "DELETE FROM audit_entries WHERE idx = (SELECT max(idx) FROM audit_entries);"
                  "INSERT INTO audit_entries (idx, entry) VALUES (" +
                  std::to_string(base + 5) + ", x'" + EntryHex(777) + "');");
    });
    ToolResult r = w.Audit({"verify", "--state", w.home.file("head.json")});
    INFO(Describe(r));
    CHECK(r.code == 3);
    CHECK(r.out.find("inserted at index " + std::to_string(base + 5)) != std::string::npos);
  }
}

TEST_CASE("trygg-audit consistency fails when the log shrank or forked", "[audit][server]") {
  AuditWorld w;
  const std::string state = w.home.file("head.json");
  const std::string backup = w.BackUpThenVerify(state);

  auto restore = [&](const std::string& db) {
    std::filesystem::copy_file(backup, db, std::filesystem::copy_options::overwrite_existing);
    std::filesystem::remove(db + "-wal");
    std::filesystem::remove(db + "-shm");
  };
  SECTION("restored from the older copy: the log shrank") {
    w.WhileStopped(restore);
    ToolResult r = w.Audit({"consistency", "--state", state, "--json"});
    INFO(Describe(r));
    CHECK(r.code == 3);
    nlohmann::json json = nlohmann::json::parse(r.out);
    CHECK(json["ok"] == false);
    const std::string shrunk = json["message"].get<std::string>();
    CHECK(shrunk.find("does not extend the saved head") != std::string::npos);
    CHECK(shrunk.find("acknowledge-restore") != std::string::npos);

    // The restored server goes on working and grows past the saved size: the
    // verdict on the same saved head is the same, not a new kind of error.
    w.Fill(1000, 1060);
    ToolResult grown = w.Audit({"consistency", "--state", state, "--json"});
    CHECK(grown.code == 3);
    const std::string forked = nlohmann::json::parse(grown.out)["message"].get<std::string>();
    CHECK(forked.substr(forked.find(" does not extend")) == shrunk.substr(shrunk.find(" does not extend")));
  }
  SECTION("restored, then grown with other entries: a fork") {
    w.WhileStopped([&](const std::string& db) {
      restore(db);
      LogBuilder builder(db);
      for (uint32_t i = 500; i < 560; ++i) builder.Record(CaseVersion(i));
    });
    ToolResult r = w.Audit({"consistency", "--state", state});
    INFO(Describe(r));
    CHECK(r.code == 3);
    CHECK(r.out.find("does not extend the saved head") != std::string::npos);
  }
  SECTION("a restore the coordinator knows of is acknowledged, and the old head kept as evidence") {
    const std::string before = StateFileText(state);
    ToolResult nothing = w.Audit({"acknowledge-restore", "--state", state});
    INFO(Describe(nothing));
    CHECK(nothing.code == 0);
    CHECK(nothing.out.find("nothing to acknowledge") != std::string::npos);
    CHECK(StateFileText(state) == before);

    w.WhileStopped(restore);
    ToolResult ack = w.Audit({"acknowledge-restore", "--state", state, "--json"});
    INFO(Describe(ack));
    REQUIRE(ack.code == 0);
    nlohmann::json json = nlohmann::json::parse(ack.out);
    CHECK(json["acknowledged"] == true);
    const std::string evidence = json["evidence_file"].get<std::string>();
    CHECK(StateFileText(evidence) == before);
    CHECK((std::filesystem::status(evidence).permissions() & std::filesystem::perms::others_read) ==
          std::filesystem::perms::none);
    CHECK(json["saved_head"]["tree_size"] < json["superseded_head"]["tree_size"]);
    // From the acknowledged head on, the log is watched as before.
    w.Fill(2000, 2005);
    ToolResult after = w.Audit({"consistency", "--state", state});
    INFO(Describe(after));
    CHECK(after.code == 0);
  }
}

TEST_CASE("trygg-audit reports a restore the operator signed a notice for as a restore, and nothing else",
          "[audit][server][restore]") {
  AuditWorld w;
  const std::string state = w.home.file("head.json");
  const std::string backup = w.BackUpThenVerify(state);

  // The real `tryggd restore`, which signs the notice with the server's key.
  auto restore = [&]() {
    std::string notice;
    w.WhileStopped([&](const std::string& db) {
      const ExitResult r = RunTryggd({"restore", "--from", backup, "--data-dir",
                                      std::filesystem::path(db).parent_path().string(), "--force", "--json"});
      INFO(r.stdout_text << r.stderr_text);
      REQUIRE(r.code == 0);
      notice = nlohmann::json::parse(r.stdout_text)["restore_notice"].get<std::string>();
    });
    return notice;
  };
  const std::string notice = restore();
  const std::string before = StateFileText(state);
  const nlohmann::json notice_json = nlohmann::json::parse(StateFileText(notice));
  CHECK(notice_json["kind"] == "trygg-restore-notice");
  CHECK(notice_json["server_key"] == w.ServerKeyHex());
  // It names the head the restore abandoned: the one the coordinator saved.
  CHECK(notice_json["superseded"]["tree_size"].get<uint64_t>() >= 40);

  // A notice with one field changed, re-encoded as the tool would read it.
  auto altered = [&](const std::string& name, const std::function<void(audit::SignedRestoreNotice&)>& change) {
    audit::SignedRestoreNotice n{*audit::DecodeRestoreNotice(*HexDecode(notice_json["notice"].get<std::string>())),
                                 *Signature::FromSpan(*HexDecode(notice_json["signature"].get<std::string>()))};
    change(n);
    nlohmann::json json = notice_json;
    json["notice"] = HexEncode(audit::EncodeRestoreNotice(n.notice));
    json["signature"] = HexEncode(n.signature.span());
    const std::string path = w.home.file(name);
    std::ofstream(path) << json.dump();
    return path;
  };

  SECTION("without the notice, the same rollback is still tampering") {
    ToolResult r = w.Audit({"consistency", "--state", state});
    INFO(Describe(r));
    CHECK(r.code == 3);
    CHECK(r.out.find("TAMPERED") != std::string::npos);
  }
  SECTION("with it: reported as the restore, and the saved head kept until acknowledged") {
    ToolResult r = w.Audit({"consistency", "--state", state, "--restore-notice", notice, "--json"});
    INFO(Describe(r));
    CHECK(r.code == 4);
    const nlohmann::json json = nlohmann::json::parse(r.out);
    CHECK(json["ok"] == false);
    CHECK(json["restored"] == true);
    // tryggd appends to the restored log as it starts and signs devices in.
    CHECK(json["restore_notice"]["restored_tree_size"] <= json["latest_head"]["tree_size"]);
    CHECK(json["restore_notice"]["superseded_head"] == json["saved_head"]);
    CHECK(StateFileText(state) == before);

    ToolResult ack = w.Audit({"acknowledge-restore", "--state", state, "--restore-notice", notice, "--json"});
    INFO(Describe(ack));
    REQUIRE(ack.code == 0);
    const nlohmann::json acked = nlohmann::json::parse(ack.out);
    CHECK(acked["acknowledged"] == true);
    CHECK(StateFileText(acked["notice_file"].get<std::string>()) == StateFileText(notice));
    CHECK(StateFileText(acked["evidence_file"].get<std::string>()) == before);
    w.Fill(2000, 2005);
    CHECK(w.Audit({"consistency", "--state", state}).code == 0);

    // The next rollback is not covered by this notice: the head saved since
    // was signed after it. Only the next restore's own notice explains it.
    const std::string second = restore();
    ToolResult old = w.Audit({"consistency", "--state", state, "--restore-notice", notice});
    INFO(Describe(old));
    CHECK(old.code == 3);
    CHECK(old.out.find("not before the restore") != std::string::npos);
    CHECK(w.Audit({"consistency", "--state", state, "--restore-notice", second}).code == 4);
  }
  SECTION("a notice that is altered, under another key, or admits less than was saved changes nothing") {
    DeterministicRng rng(0x4e);
    const SigningKeyPair other = GenerateSigningKeyPair(rng);
    const std::string bigger = altered("bigger.json", [](audit::SignedRestoreNotice& n) { n.notice.restored_tree_size += 1; });
    const std::string foreign = altered("foreign.json", [&](audit::SignedRestoreNotice& n) { n = audit::SignRestoreNotice(other, n.notice); });
    // Signed with the real server key (a lying operator): a notice that
    // claims to have abandoned less than the coordinator saw.
    std::array<uint8_t, 32> seed{};
    std::ifstream(std::filesystem::path(w.world.db_path()).parent_path() / "server-signing.key", std::ios::binary)
        .read(reinterpret_cast<char*>(seed.data()), seed.size());
    const SigningKeyPair server = SigningKeyPairFromSeed(seed);
    const std::string less = altered("less.json", [&](audit::SignedRestoreNotice& n) {
      n.notice.superseded->tree_size = 5;
      n = audit::SignRestoreNotice(server, n.notice);
    });
    const std::string garbage = w.home.file("garbage.json");
    std::ofstream(garbage) << "{\"notice\": \"zz\", \"signature\": 7}";
    for (const std::string& bad : {bigger, foreign, less, garbage}) {
      ToolResult r = w.Audit({"consistency", "--state", state, "--restore-notice", bad});
      INFO(bad << "\n" << Describe(r));
      CHECK(r.code == 3);
      CHECK(r.out.find("does not explain it") != std::string::npos);
      ToolResult ack = w.Audit({"acknowledge-restore", "--state", state, "--restore-notice", bad});
      INFO(Describe(ack));
      CHECK(ack.code == 3);
      CHECK(StateFileText(state) == before);
    }
    for (const auto& file : std::filesystem::directory_iterator(w.home.path())) {
      CHECK(file.path().string().find("superseded") == std::string::npos);
    }
  }
}

TEST_CASE("trygg-audit refuses a missing head, another key, a member's key store and an uncertified server",
          "[audit][server]") {
  SECTION("certified server") {
    AuditWorld w;
    ToolResult none = w.Audit({"consistency", "--state", w.home.file("none.json")});
    CHECK(none.code == 1);
    CHECK(none.err.find("run `trygg-audit verify` first") != std::string::npos);
    CHECK(none.err.find("consistency --init") != std::string::npos);

    const std::string state = w.home.file("head.json");
    REQUIRE(w.Audit({"verify", "--state", state}).code == 0);
    ToolResult other = w.Audit({"consistency", "--state", state, "--server-key", std::string(64, 'b')});
    CHECK(other.code == 1);
    CHECK(other.err.find("differs from the key of the saved head") != std::string::npos);
    ToolResult wrong = w.Audit({"verify", "--server-key", std::string(64, 'b'), "--state", w.home.file("o.json")});
    CHECK(wrong.code == 1);
    CHECK(wrong.err.find("differs from the server key the platform root certified") != std::string::npos);
    CHECK(w.Audit({"verify", "--server-key", w.ServerKeyHex(), "--state", w.home.file("o.json")}).code == 0);

    // A caseworker's key store signs in, but may not read the whole log.
    TestDevice& admin = w.world.AdmitOrganisation("Rådgivningen");
    const std::string member = w.home.file("member.keystore");
    w.WriteKeyStore(admin, member);
    for (const char* command : {"verify", "stats"}) {
      ToolResult r = w.Audit({command}, member);
      INFO(command << ": " << Describe(r));
      CHECK(r.code == 1);
      CHECK(r.err.find("only a coordinator may") != std::string::npos);
    }
    // It may check that its own organisation's entries are included.
    auto context = admin.client->NewCallContext();
    trygg::v1::ListEntriesRequest request;
    trygg::v1::ListEntriesResponse own;
    REQUIRE(w.Stub()->ListEntries(context.get(), request, &own).ok());
    REQUIRE(own.entries_size() > 0);
    ToolResult included = w.Audit({"check-included", "--index", std::to_string(own.entries(0).index())}, member);
    INFO(Describe(included));
    CHECK(included.code == 0);

    // A member cannot verify the whole log, but may watch it from now on.
    const std::string member_state = w.home.file("member-head.json");
    ToolResult init = w.Audit({"consistency", "--init", "--state", member_state}, member);
    INFO(Describe(init));
    CHECK(init.code == 0);
    CHECK(w.Audit({"consistency", "--state", member_state}, member).code == 0);
    ToolResult again = w.Audit({"consistency", "--init", "--state", member_state}, member);
    CHECK(again.code == 1);
    CHECK(again.err.find("a saved head is already at") != std::string::npos);

    ToolResult missing = w.Audit({"verify"}, w.home.file("no.keystore"));
    CHECK(missing.code == 1);
    CHECK(missing.err.find("no key store at") != std::string::npos);
    std::vector<std::string> env = w.Env();
    env[0] = "TRYGG_PASSPHRASE=wrong";
    ToolResult bad_passphrase =
        RunAudit({"verify", "--server", w.world.address(), "--keystore", w.keystore, "--root-key",
                  HexEncode(w.world.root().public_key.span())},
                 env);
    CHECK(bad_passphrase.code == 1);
  }
  SECTION("a server without a root certificate proves nothing unless its key is given") {
    AuditWorld w(/*certify_server=*/false);
    ToolResult r = w.Audit({"verify", "--state", w.home.file("head.json")});
    INFO(Describe(r));
    CHECK(r.code == 1);
    CHECK(r.err.find("presents no certificate from the pinned platform root") != std::string::npos);
    CHECK(w.Audit({"verify", "--server-key", w.ServerKeyHex(), "--state", w.home.file("head.json")}).code == 0);
  }
}

}  // namespace
}  // namespace trygg::audit_testing
