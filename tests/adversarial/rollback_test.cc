// SPDX-License-Identifier: Apache-2.0

// Issue 11, "a server cannot roll back or fork a case or a referral history":
// the server plays older snapshots, or a different branch to each device, by
// restoring a copy of its data directory or editing its SQLite file between
// calls. Each device remembers, in its state file, the head of every case and
// referral history it has read or written (docs/protocol.md section 14), so the
// next run of the CLI (a new Client on the same state file) catches it with
// DATA_LOSS, and what it remembers does not change. Coordinators see the fork
// in the audit log: two records under one version of a case.
#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <memory>

#include <nlohmann/json.hpp>

#include "integration/audit_test_util.h"
#include "trygg/audit/hash.h"
#include "testing/db_edit.h"
#include "testing/trust_world.h"
#include "trygg/case_client.h"
#include "trygg/crypto_error.h"
#include "trygg/directory_client.h"
#include "trygg/key_store.h"
#include "trygg/referral_client.h"

namespace trygg::adversarial_rollback {
namespace {

using testing::Exec;
using testing::QueryInt;
using testing::TestDevice;
using testing::TrustWorld;

std::vector<uint8_t> Text(std::string_view s) { return {s.begin(), s.end()}; }
std::string Hex(const Id128& id) { return HexEncode(id.span()); }
std::string Blob(std::span<const uint8_t> bytes) { return "x'" + HexEncode(bytes) + "'"; }

// A caseworker's device as the CLI uses it: every run builds a new Client on
// the same state file, and case and referral clients over it.
struct Caseworker {
  Caseworker(TestDevice& d, TrustWorld& w) : device(d), world(w) { Bind(); }
  void Bind() {
    cases = std::make_unique<CaseClient>(*device.client, device.keys, world.clock(), world.rng());
    referrals = std::make_unique<ReferralClient>(*device.client, device.keys, *cases, world.clock(), world.rng());
  }
  void Unbind() {
    referrals.reset();
    cases.reset();
    device.client.reset();
  }
  // The next run of the CLI: a new Client on the same state file.
  void NextRun() {
    referrals.reset();
    cases.reset();
    world.Reconnect(device);
    Bind();
  }
  std::optional<HistoryHead> Seen(HistoryKind kind, const Id128& id) const {
    return device.client->remembered_history(kind, id);
  }
  // The histories part of the state file, as stored on disk.
  nlohmann::json StoredHistories() const {
    const std::string path = std::filesystem::path(world.db_path()).parent_path().string() + "/" +
                             device.state_name + ".state.json";
    std::ifstream in(path);
    const nlohmann::json state = nlohmann::json::parse(in);
    return {{"cases", state.at("cases")},
            {"referrals", state.at("referrals")},
            {"consent_withdrawals", state.at("consent_withdrawals")}};
  }

  TestDevice& device;
  TrustWorld& world;
  std::unique_ptr<CaseClient> cases;
  std::unique_ptr<ReferralClient> referrals;
};

struct Platform {
  Platform() {
    REQUIRE(world.ok());
    Listing l;
    l.category = static_cast<uint8_t>(ServiceCategory::kLegalAdvice);
    l.regions = {"SE-M"};
    l.languages = {"ro", "sv"};
    l.response_time_hours = 48;
    DirectoryClient directory(*legal_admin.client, legal_admin.keys, world.clock(), world.rng());
    auto published = directory.Publish(l);
    REQUIRE(published.ok());
    legal_listing = published->listing.listing_id;
  }

  // Stops tryggd, lets `edit` change its data directory, starts it again and
  // runs the CLI of each caseworker anew (the port changes).
  void WhileStopped(const std::function<void(const std::string& dir)>& edit) {
    // Idle clients are closed first: tryggd's drain waits for them.
    for (Caseworker* c : {&anna, &bo, &lawyer}) c->Unbind();
    shelter_admin.client.reset();
    legal_admin.client.reset();
    world.Restart(edit);
    for (Caseworker* c : {&anna, &bo, &lawyer}) {
      world.Reconnect(c->device);
      c->Bind();
    }
  }

  Id128 NewCase() {
    auto id = anna.cases->CreateCase(Text("Namn: Ioana Popescu; född 1999"), 1);
    INFO(id.status().ToString());
    REQUIRE(id.ok());
    return *id;
  }

  // Anna refers the case to the lawyer's organisation on a consent.
  Id128 Refer(const Id128& case_id) {
    ConsentTerms terms;
    terms.case_id = case_id;
    terms.to_org = legal_admin.keys.org_id;
    terms.services = ServiceBit(static_cast<uint8_t>(ServiceCategory::kLegalAdvice));
    terms.expires_at_ms = world.clock().NowUnixMillis() + 30LL * 24 * 3600 * 1000;
    terms.evidence = Text("Muntligt samtycke, med tolk");
    auto consent = anna.referrals->RecordConsent(terms);
    REQUIRE(consent.ok());
    ReferralDraft d;
    d.case_id = case_id;
    d.listing_id = legal_listing;
    d.to_org = legal_admin.keys.org_id;
    d.service = static_cast<uint8_t>(ServiceCategory::kLegalAdvice);
    d.consent_id = *consent;
    d.packet = Text("Behöver juridiskt stöd om lönefordran");
    auto id = anna.referrals->Refer(d);
    INFO(id.status().ToString());
    REQUIRE(id.ok());
    return *id;
  }

  // The fork a server shows two devices of one organisation: Anna wrote
  // version 2; the server then hides it, shows Bo the case at version 1, and
  // accepts Bo's own version 2. Returns nothing; both versions are logged.
  void ForkAtVersion2(const Id128& case_id) {
    REQUIRE(anna.cases->AppendVersion(case_id, Text("Anna: placerad i skyddat boende"), 1).ok());
    const std::string where = " WHERE case_id = " + Blob(case_id.span());
    // The head goes back to version 1: version 2's prev_hash is its hash.
    Exec(world.db_path(), "UPDATE cases SET head_version = 1, head_hash = (SELECT substr(header, 67, 32) "
                          "FROM case_versions" + where + " AND version = 2)" + where +
                              "; DELETE FROM case_versions" + where + " AND version = 2");
    auto bo_read = bo.cases->ReadCase(case_id);
    INFO(bo_read.status().ToString());
    REQUIRE(bo_read.ok());
    REQUIRE(bo_read->versions.size() == 1);
    auto bo_version = bo.cases->AppendVersion(case_id, Text("Bo: inget boende ordnat"), 1);
    INFO(bo_version.status().ToString());
    REQUIRE(bo_version.ok());
    REQUIRE(*bo_version == 2);
  }

  TrustWorld world;
  TestDevice& shelter_admin = world.AdmitOrganisation("Skyddat boende Syd");
  TestDevice& anna_device = world.AddDevice(shelter_admin, Role::kCaseworker);
  TestDevice& bo_device = world.AddDevice(shelter_admin, Role::kCaseworker);
  TestDevice& legal_admin = world.AdmitOrganisation("Juridisk rådgivning");
  TestDevice& lawyer_device = world.AddDevice(legal_admin, Role::kCaseworker);
  Caseworker anna{anna_device, world};
  Caseworker bo{bo_device, world};
  Caseworker lawyer{lawyer_device, world};
  Id128 legal_listing;
};

void RequireCaught(const absl::Status& status, CryptoError reason, std::initializer_list<std::string> words) {
  INFO(status.ToString());
  REQUIRE(status.code() == absl::StatusCode::kDataLoss);
  CHECK(GetCryptoError(status) == reason);
  for (const std::string& word : words) CHECK(std::string(status.message()).find(word) != std::string::npos);
}

TEST_CASE("a server that serves an older snapshot of a case is caught after the CLI restarts", "[adversarial]") {
  Platform p;
  const Id128 case_id = p.NewCase();
  REQUIRE(p.anna.cases->AppendVersion(case_id, Text("Behov: tolk på rumänska"), 1).ok());
  const std::string snapshot = p.world.db_path() + ".snapshot";
  p.WhileStopped([&](const std::string& dir) { std::filesystem::copy_file(dir + "/trygg.db", snapshot); });
  REQUIRE(p.anna.cases->AppendVersion(case_id, Text("Placerad 2026-11-28"), 1).ok());
  REQUIRE(p.anna.cases->ReadCase(case_id)->versions.size() == 3);

  // The operator restores the snapshot: version 3 is gone, and the case
  // reads as a consistent, well-signed case of two versions.
  p.WhileStopped([&](const std::string& dir) {
    std::filesystem::remove(dir + "/trygg.db-wal");
    std::filesystem::remove(dir + "/trygg.db-shm");
    std::filesystem::copy_file(snapshot, dir + "/trygg.db", std::filesystem::copy_options::overwrite_existing);
  });
  const std::optional<HistoryHead> seen = p.anna.Seen(HistoryKind::kCase, case_id);
  REQUIRE(seen.has_value());
  CHECK(seen->length == 3);
  const nlohmann::json stored = p.anna.StoredHistories();

  RequireCaught(p.anna.cases->ReadCase(case_id).status(), CryptoError::kRollback,
                {"case " + Hex(case_id), "version 2", "version 3", "rollback"});
  // Writing on top of the old head fails the same way (it reads first).
  RequireCaught(p.anna.cases->AppendVersion(case_id, Text("x"), 1).status(), CryptoError::kRollback, {});
  p.anna.NextRun();
  RequireCaught(p.anna.cases->ReadCase(case_id).status(), CryptoError::kRollback, {"version 3"});
  CHECK(p.anna.Seen(HistoryKind::kCase, case_id) == seen);
  CHECK(p.anna.StoredHistories() == stored);
  // Bo never read the case: nothing to compare with, so he is served the
  // snapshot (the limit docs/threat-model.md states).
  CHECK(p.bo.cases->ReadCase(case_id).ok());
}

TEST_CASE("a server that shows a device another record under a version it has seen is caught as a fork",
          "[adversarial]") {
  Platform p;
  const Id128 case_id = p.NewCase();
  p.ForkAtVersion2(case_id);
  const std::optional<HistoryHead> seen = p.anna.Seen(HistoryKind::kCase, case_id);
  REQUIRE(seen.has_value());
  CHECK(seen->length == 2);

  p.anna.NextRun();
  const nlohmann::json stored = p.anna.StoredHistories();
  // Bo's branch is a valid case of two versions; Anna has seen another.
  RequireCaught(p.anna.cases->ReadCase(case_id).status(), CryptoError::kFork,
                {"case " + Hex(case_id), "version 2", "fork"});
  CHECK(p.anna.Seen(HistoryKind::kCase, case_id) == seen);
  CHECK(p.anna.StoredHistories() == stored);
  // Bo's own branch reads fine to him: each device sees one consistent case.
  CHECK(p.bo.cases->ReadCase(case_id).ok());
}

TEST_CASE("a server that truncates a referral history is caught after the CLI restarts", "[adversarial]") {
  Platform p;
  const Id128 referral = p.Refer(p.NewCase());
  REQUIRE(p.lawyer.referrals->Accept(referral).ok());
  REQUIRE(p.lawyer.referrals->Complete(referral, ReferralOutcome::kServiceProvided).ok());
  auto read = p.anna.referrals->Get(referral);
  REQUIRE(read.ok());
  REQUIRE(read->state == ReferralStatus::kCompleted);
  const std::optional<HistoryHead> seen = p.anna.Seen(HistoryKind::kReferral, referral);
  REQUIRE(seen.has_value());
  CHECK(seen->length == 3);  // the record and two moves

  // The completion is dropped and the state set back: what remains is a
  // well-signed history that reaches the state the server reports.
  const std::string where = " WHERE referral_id = " + Blob(referral.span());
  Exec(p.world.db_path(), "DELETE FROM referral_transitions" + where +
                              " AND seq = (SELECT max(seq) FROM referral_transitions" + where +
                              "); UPDATE referrals SET state = 2, code = 0" + where);
  p.anna.NextRun();
  const nlohmann::json stored = p.anna.StoredHistories();
  RequireCaught(p.anna.referrals->Get(referral).status(), CryptoError::kRollback,
                {"referral " + Hex(referral), "1 signed move(s)", "2 signed move(s)"});
  RequireCaught(p.anna.referrals->Outbox({}).status(), CryptoError::kRollback, {"referral " + Hex(referral)});
  CHECK(p.anna.Seen(HistoryKind::kReferral, referral) == seen);
  CHECK(p.anna.StoredHistories() == stored);
}

TEST_CASE("a server that substitutes an earlier move of a referral history is caught as a fork", "[adversarial]") {
  Platform p;
  const Id128 referral = p.Refer(p.NewCase());
  auto accepted = p.lawyer.referrals->Accept(referral);
  REQUIRE(accepted.ok());
  REQUIRE(p.anna.referrals->Get(referral).ok());
  const std::optional<HistoryHead> seen = p.anna.Seen(HistoryKind::kReferral, referral);
  REQUIRE(seen.has_value());
  CHECK(seen->length == 2);

  // The server holds other moves the receiver's device signed (a retried
  // accept it kept, a completion) and serves a history that starts with the
  // other accept: every signature is good and the moves follow each other.
  const SigningKeyPair& lawyer_key = p.lawyer.device.keys.device.signing();
  const int64_t at = accepted->transitions.front().transition.at_ms + 1;
  auto other_accept = SignReferralTransition(
      {referral, static_cast<uint8_t>(ReferralStatus::kSent), static_cast<uint8_t>(ReferralStatus::kAccepted), 0,
       p.lawyer.device.keys.device_id, at},
      lawyer_key);
  auto complete = SignReferralTransition(
      {referral, static_cast<uint8_t>(ReferralStatus::kAccepted), static_cast<uint8_t>(ReferralStatus::kCompleted),
       static_cast<uint8_t>(ReferralOutcome::kServiceProvided), p.lawyer.device.keys.device_id, at + 1},
      lawyer_key);
  REQUIRE(other_accept.ok());
  REQUIRE(complete.ok());
  const std::string where = " WHERE referral_id = " + Blob(referral.span());
  Exec(p.world.db_path(),
       "UPDATE referral_transitions SET bytes = " + Blob(other_accept->bytes) +
           ", signature = " + Blob(other_accept->signature.span()) + ", at = " + std::to_string(at) + where +
           "; INSERT INTO referral_transitions (referral_id, seq, actor, to_state, at, bytes, signature) "
           "SELECT referral_id, seq + 1, actor, 6, " + std::to_string(at + 1) + ", " + Blob(complete->bytes) + ", " +
           Blob(complete->signature.span()) + " FROM referral_transitions" + where +
           "; UPDATE referrals SET state = 6, code = 1" + where);
  p.anna.NextRun();
  const nlohmann::json stored = p.anna.StoredHistories();
  RequireCaught(p.anna.referrals->Get(referral).status(), CryptoError::kFork,
                {"referral " + Hex(referral), "1 signed move(s)", "fork"});
  CHECK(p.anna.Seen(HistoryKind::kReferral, referral) == seen);
  CHECK(p.anna.StoredHistories() == stored);
  // The receiver's device saw the first accept too (it made it).
  RequireCaught(p.lawyer.referrals->Get(referral).status(), CryptoError::kFork, {"referral " + Hex(referral)});
}

TEST_CASE("a server that accepts two records for one version of a case is reported as a fork by trygg-audit verify",
          "[adversarial]") {
  Platform p;
  p.world.CertifyServer();
  TestDevice& coordinator = p.world.AddCoordinator("Samordnare");
  testing::TempDir home;
  const std::string keystore = home.file("coordinator.keystore");
  constexpr char kPassphrase[] = "correct horse battery staple";
  REQUIRE(CreateKeyStore(keystore, kPassphrase, coordinator.keys, MinimumKdfLimitsForTests(), p.world.rng()).ok());
  auto audit = [&] {
    return audit_testing::RunAudit(
        {"verify", "--server", p.world.address(), "--keystore", keystore, "--root-key",
         HexEncode(p.world.root().public_key.span()), "--state", home.file("audit-head.json")},
        {std::string("TRYGG_PASSPHRASE=") + kPassphrase, "TRYGG_INSECURE_FAST_KDF=1", "HOME=" + home.path(),
         "XDG_CONFIG_HOME=" + home.path()});
  };
  const Id128 case_id = p.NewCase();
  const audit_testing::ToolResult before = audit();
  INFO(audit_testing::Describe(before));
  REQUIRE(before.code == 0);

  p.ForkAtVersion2(case_id);
  // Every case entry names the record it records (entry format 2).
  CHECK(QueryInt(p.world.db_path(), "SELECT count(*) FROM audit_entries WHERE length(entry) = 153") == 3);
  // Each device's own audit check passes: its entry names its own record.
  for (Caseworker* c : {&p.anna, &p.bo}) {
    auto verified = c->device.client->VerifyAuditTrail();
    INFO(verified.status().ToString());
    CHECK(verified.ok());
  }
  // The coordinator sees both records under version 2.
  const audit_testing::ToolResult result = audit();
  INFO(audit_testing::Describe(result));
  CHECK(result.code == 3);
  CHECK(result.out.find("FORK: case " + Hex(case_id) + " has two different records for version 2") !=
        std::string::npos);
}

// What a server that rewrites its audit log before any device has verified
// it does to cover the edit: every Merkle node recomputed from the entries as
// they now are (docs/audit.md section 1), and the heads it signed before
// dropped, so that it signs a fresh head over the rewritten tree.
void RebuildAuditTree(const std::string& db_path) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(db_path.c_str(), &db) == SQLITE_OK);
  sqlite3_busy_timeout(db, 10000);
  std::vector<std::vector<Hash256>> levels(1);
  sqlite3_stmt* select = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "SELECT entry FROM audit_entries ORDER BY idx", -1, &select, nullptr) == SQLITE_OK);
  while (sqlite3_step(select) == SQLITE_ROW) {
    const auto* bytes = static_cast<const uint8_t*>(sqlite3_column_blob(select, 0));
    levels[0].push_back(audit::HashLeaf(absl::Span<const uint8_t>(bytes, sqlite3_column_bytes(select, 0))));
  }
  sqlite3_finalize(select);
  while (levels.back().size() >= 2) {
    const std::vector<Hash256>& below = levels.back();
    std::vector<Hash256> above;
    for (size_t i = 0; i + 1 < below.size(); i += 2) above.push_back(audit::HashChildren(below[i], below[i + 1]));
    levels.push_back(std::move(above));
  }
  std::string sql = "BEGIN; DELETE FROM audit_tree_heads; DELETE FROM audit_nodes;";
  for (size_t level = 0; level < levels.size(); ++level) {
    for (size_t i = 0; i < levels[level].size(); ++i) {
      sql += "INSERT INTO audit_nodes (level, idx, hash) VALUES (" + std::to_string(level) + ", " +
             std::to_string(i) + ", " + Blob(levels[level][i].span()) + ");";
    }
  }
  sql += "COMMIT;";
  char* error = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  INFO((error != nullptr ? error : ""));
  sqlite3_free(error);
  sqlite3_close(db);
  REQUIRE(rc == SQLITE_OK);
}

TEST_CASE("a server that logs another record than the device wrote for its case version is caught by the device's "
          "audit check",
          "[adversarial]") {
  Platform p;
  p.world.CertifyServer();
  const Id128 case_id = p.NewCase();
  REQUIRE(p.anna.cases->AppendVersion(case_id, Text("Anna: placerad i skyddat boende"), 1).ok());
  const int64_t index =
      QueryInt(p.world.db_path(), "SELECT max(idx) FROM audit_entries WHERE length(entry) = 153");
  const size_t pending = p.anna.device.client->pending_audit_writes();

  // The entry of Anna's version 2 is made to name another record (say, the
  // one the server showed another device), and the tree is rebuilt over it:
  // every proof checks out, and coordinators would see no fork.
  Exec(p.world.db_path(), "UPDATE audit_entries SET entry = " + testing::FlippedByte("entry", 140) +
                              " WHERE idx = " + std::to_string(index));
  RebuildAuditTree(p.world.db_path());
  auto verified = p.anna.device.client->VerifyAuditTrail();
  INFO(verified.status().ToString());
  REQUIRE(verified.status().code() == absl::StatusCode::kDataLoss);
  CHECK(std::string(verified.status().message()).find("no entry of the case version at " + std::to_string(index) +
                                                      " records what this device did") != std::string::npos);
  // Nothing is forgotten: the next check meets the same evidence.
  CHECK(p.anna.device.client->pending_audit_writes() == pending);
  CHECK_FALSE(p.anna.device.client->audit_head().has_value());
}

}  // namespace
}  // namespace trygg::adversarial_rollback
