// SPDX-License-Identifier: Apache-2.0

// libtrygg's own audit checks against a real tryggd: a device proves that the
// entries its writes produced are in the signed log and say what it did, and
// that the log only ever grew since the last head it verified. A database
// edited, rolled back or forked under the server is caught, and so is a
// receipt that does not fit its write (missing, reused, older than the write,
// saying something else).
#include <signal.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include <grpcpp/grpcpp.h>

#include "trygg/audit/audit_entry.h"
#include "testing/db_edit.h"
#include "testing/trust_world.h"
#include "trygg/case_client.h"
#include "trygg/directory_client.h"
#include "trygg/listing.h"
#include "trygg/membership.h"
#include "trygg/referral_client.h"
#include "trygg/v1/directory.grpc.pb.h"

#include <nlohmann/json.hpp>

namespace trygg {
namespace {

using testing::Exec;
using testing::QueryInt;
using testing::TestDevice;
using testing::TrustWorld;
using Code = absl::StatusCode;

std::vector<uint8_t> Text(std::string_view s) { return {s.begin(), s.end()}; }

// A shelter caseworker with a case, and a legal-advice listing to refer to.
struct AuditWorld {
  TrustWorld world;
  TestDevice& shelter_admin = world.AdmitOrganisation("Skyddat boende Syd");
  TestDevice& anna = world.AddDevice(shelter_admin, Role::kCaseworker);
  TestDevice& legal_admin = world.AdmitOrganisation("Juridisk rådgivning");
  CaseClient cases{*anna.client, anna.keys, world.clock(), world.rng()};
  ReferralClient referrals{*anna.client, anna.keys, cases, world.clock(), world.rng()};
  Id128 listing;
  Id128 case_id;

  AuditWorld() {
    Listing l;
    l.category = static_cast<uint8_t>(ServiceCategory::kLegalAdvice);
    l.regions = {"SE-M"};
    l.languages = {"sv"};
    l.response_time_hours = 48;
    DirectoryClient directory(*legal_admin.client, legal_admin.keys, world.clock(), world.rng());
    auto published = directory.Publish(l);
    INFO(published.status().ToString());
    REQUIRE(published.ok());
    listing = published->listing.listing_id;
    auto created = cases.CreateCase(Text("Namn: Ioana Popescu"), 1);
    REQUIRE(created.ok());
    case_id = *created;
  }

  void AppendVersion() {
    auto v = cases.AppendVersion(case_id, Text("Ny uppgift"), 1);
    INFO(v.status().ToString());
    REQUIRE(v.ok());
  }

  Id128 Refer() {
    ConsentTerms terms;
    terms.case_id = case_id;
    terms.to_org = legal_admin.keys.org_id;
    terms.services = ServiceBit(static_cast<uint8_t>(ServiceCategory::kLegalAdvice));
    terms.expires_at_ms = world.clock().NowUnixMillis() + 24LL * 3600 * 1000;
    terms.evidence = Text("Muntligt samtycke");
    auto consent = referrals.RecordConsent(terms);
    REQUIRE(consent.ok());
    ReferralDraft d;
    d.case_id = case_id;
    d.listing_id = listing;
    d.to_org = legal_admin.keys.org_id;
    d.service = static_cast<uint8_t>(ServiceCategory::kLegalAdvice);
    d.consent_id = *consent;
    d.packet = Text("Behöver juridiskt stöd");
    auto id = referrals.Refer(d);
    INFO(id.status().ToString());
    REQUIRE(id.ok());
    return *id;
  }

  int64_t LogSize() { return QueryInt(world.db_path(), "SELECT count(*) FROM audit_entries"); }
};

absl::StatusOr<AuditTrailReport> Verify(TestDevice& device) { return device.client->VerifyAuditTrail(); }

void RequireDataLoss(const absl::StatusOr<AuditTrailReport>& report, const std::string& says) {
  INFO(report.status().ToString());
  REQUIRE(report.status().code() == Code::kDataLoss);
  REQUIRE_THAT(std::string(report.status().message()), Catch::Contains(says));
}

TEST_CASE("two sessions of one device keep each other's queued writes in the state file", "[audit][client]") {
  AuditWorld w;
  w.world.CertifyServer();
  REQUIRE(Verify(w.anna).ok());
  REQUIRE(w.anna.client->pending_audit_writes() == 0);
  // A second session of Anna's device on the same state file (trygg-app
  // beside the CLI): its sign-in and its case are queued to be proven.
  std::unique_ptr<Client> second = w.world.ClientThrough(w.anna, w.world.address(), w.anna.state_name);
  CaseClient second_cases(*second, w.anna.keys, w.world.clock(), w.world.rng());
  REQUIRE(second_cases.CreateCase(Text("Namn: Elena"), 1).ok());
  const size_t second_pending = second->pending_audit_writes();
  REQUIRE(second_pending >= 2);
  // The first session writes and saves after it: the second's writes stay.
  w.AppendVersion();
  // A session opened now finds both sessions' writes, and its own sign-in.
  std::unique_ptr<Client> third = w.world.ClientThrough(w.anna, w.world.address(), w.anna.state_name);
  CHECK(third->pending_audit_writes() == second_pending + 1 + 1);
  auto report = third->VerifyAuditTrail();
  INFO(report.status().ToString());
  REQUIRE(report.ok());
  CHECK(report->writes_verified == second_pending + 2);
}

TEST_CASE("a device proves its writes are in the audit log, and that the log only grew", "[audit][client]") {
  AuditWorld w;
  // Her session and the case so far; before the server key is certified,
  // nothing can be proven.
  const size_t so_far = w.anna.client->pending_audit_writes();
  REQUIRE(so_far == 2);
  auto uncertified = Verify(w.anna);
  REQUIRE(uncertified.status().code() == Code::kFailedPrecondition);
  REQUIRE(w.anna.client->pending_audit_writes() == so_far);
  REQUIRE_FALSE(w.anna.client->audit_head().has_value());

  w.world.CertifyServer();
  w.AppendVersion();
  w.Refer();  // consent and referral
  REQUIRE(w.anna.client->pending_audit_writes() == so_far + 3);
  auto first = Verify(w.anna);
  INFO(first.status().ToString());
  REQUIRE(first.ok());
  REQUIRE(first->writes_verified == so_far + 3);
  REQUIRE(first->entries_verified > first->writes_verified);  // case creation and referral also record grants
  REQUIRE(first->writes_pending == 0);
  REQUIRE(first->previous_tree_size == 0);
  REQUIRE(first->head.tree_size == static_cast<uint64_t>(w.LogSize()));
  REQUIRE(w.anna.client->pending_audit_writes() == 0);

  // Others write meanwhile; the next check proves consistency from the first head.
  w.AppendVersion();
  DirectoryClient directory(*w.legal_admin.client, w.legal_admin.keys, w.world.clock(), w.world.rng());
  REQUIRE(directory.UpdateCapacity(w.listing, 3).ok());
  auto second = Verify(w.anna);
  INFO(second.status().ToString());
  REQUIRE(second.ok());
  REQUIRE(second->previous_tree_size == first->head.tree_size);
  REQUIRE(second->head.tree_size > first->head.tree_size);
  REQUIRE(second->writes_verified == 1);

  // The legal admin proves its own writes, the capacity update among them.
  auto admin = Verify(w.legal_admin);
  INFO(admin.status().ToString());
  REQUIRE(admin.ok());
  // Session, key generation 1 and its envelope to the admin device, listing, capacity.
  REQUIRE(admin->writes_verified == 5);

  // The head is remembered in the state file: a new client continues from it.
  // (w.cases and w.referrals are bound to the old client and are not used again.)
  w.world.Reconnect(w.anna);
  REQUIRE(w.anna.client->audit_head().has_value());
  REQUIRE(w.anna.client->audit_head()->tree_size == second->head.tree_size);
  REQUIRE(w.anna.client->pending_audit_writes() == 1);  // the new session
  auto third = Verify(w.anna);
  INFO(third.status().ToString());
  REQUIRE(third.ok());
  REQUIRE(third->previous_tree_size == second->head.tree_size);
}

TEST_CASE("an audit entry edited under the server is caught by the device that wrote it", "[audit][client]") {
  AuditWorld w;
  w.world.CertifyServer();
  REQUIRE(Verify(w.anna).ok());
  const int64_t index = w.LogSize();  // the next entry: the case version's
  w.AppendVersion();

  SECTION("its time moved by milliseconds: no longer the leaf the tree holds") {
    Exec(w.world.db_path(), "UPDATE audit_entries SET entry = " + testing::FlippedByte("entry", 9) +
                                " WHERE idx = " + std::to_string(index));
    RequireDataLoss(Verify(w.anna), "is not in the signed tree");
  }
  SECTION("its time moved by days") {
    Exec(w.world.db_path(), "UPDATE audit_entries SET entry = " + testing::FlippedByte("entry", 5) +
                                " WHERE idx = " + std::to_string(index));
    RequireDataLoss(Verify(w.anna), "time outside the call");
  }
  SECTION("its actor changed") {
    Exec(w.world.db_path(), "UPDATE audit_entries SET entry = " + testing::FlippedByte("entry", 30) +
                                " WHERE idx = " + std::to_string(index));
    RequireDataLoss(Verify(w.anna), "names another actor");
  }
  SECTION("removed") {
    Exec(w.world.db_path(), "DELETE FROM audit_entries WHERE idx >= " + std::to_string(index));
    RequireDataLoss(Verify(w.anna), "missing");
  }
  // Nothing is forgotten after a failed check: it fails again the same way.
  REQUIRE(w.anna.client->pending_audit_writes() == 1);
  REQUIRE(Verify(w.anna).status().code() == Code::kDataLoss);
}

// A capacity update sent through the raw stub, so that the test chooses what
// the device expects of its receipt.
struct RawWrite {
  std::unique_ptr<grpc::ClientContext> context;
  AuditWriteStart start;
};

RawWrite UpdateCapacityRaw(AuditWorld& w, int32_t places) {
  TestDevice& admin = w.legal_admin;
  CapacityUpdate update;
  update.listing_id = w.listing;
  update.org_id = admin.keys.org_id;
  update.revision = 1;
  update.capacity_free = places;
  update.updated_at_ms = w.world.clock().NowUnixMillis() + places;  // strictly later each time
  update.signer_device = admin.keys.device_id;
  auto signed_update = SignCapacityUpdate(update, admin.keys.device.signing());
  REQUIRE(signed_update.ok());
  trygg::v1::UpdateCapacityRequest request;
  request.set_listing_id(std::string(w.listing.span().begin(), w.listing.span().end()));
  request.set_capacity_free(places);
  request.mutable_signed_()->set_bytes(std::string(signed_update->bytes.begin(), signed_update->bytes.end()));
  request.mutable_signed_()->set_signature(
      std::string(signed_update->signature.span().begin(), signed_update->signature.span().end()));
  request.mutable_signed_()->set_signer_id(
      std::string(admin.keys.device_id.span().begin(), admin.keys.device_id.span().end()));
  RawWrite raw{admin.client->NewCallContext(), admin.client->BeginAuditedWrite()};
  trygg::v1::UpdateCapacityResponse response;
  grpc::Status status = trygg::v1::DirectoryService::NewStub(admin.client->channel())
                            ->UpdateCapacity(raw.context.get(), request, &response);
  INFO(status.error_message());
  REQUIRE(status.ok());
  return raw;
}

AuditExpectation CapacityExpected(const AuditWorld& w, uint32_t places) {
  AuditExpectation e;
  e.what = "capacity update";
  e.kinds = 1u << static_cast<int>(23);  // listing_capacity_updated (docs/audit.md section 6)
  e.subject = AuditSubject::kListing;
  e.subject_id = w.listing;
  e.number = places;
  return e;
}

TEST_CASE("a receipt that does not fit the write it came with is reported", "[audit][client]") {
  AuditWorld w;
  w.world.CertifyServer();
  TestDevice& admin = w.legal_admin;
  const Id128 org = admin.keys.org_id;
  REQUIRE(Verify(admin).ok());

  SECTION("the honest receipt, expected rightly, verifies") {
    RawWrite raw = UpdateCapacityRaw(w, 4);
    admin.client->ExpectAuditEntries(*raw.context, raw.start, org, CapacityExpected(w, 4));
    auto report = Verify(admin);
    INFO(report.status().ToString());
    REQUIRE(report.ok());
    REQUIRE(report->writes_verified == 1);
  }
  SECTION("entries that say something else: another number") {
    RawWrite raw = UpdateCapacityRaw(w, 4);
    admin.client->ExpectAuditEntries(*raw.context, raw.start, org, CapacityExpected(w, 5));
    RequireDataLoss(Verify(admin), "records what this device did");
  }
  SECTION("entries that say something else: another organisation acting") {
    RawWrite raw = UpdateCapacityRaw(w, 4);
    admin.client->ExpectAuditEntries(*raw.context, raw.start, w.shelter_admin.keys.org_id, CapacityExpected(w, 4));
    RequireDataLoss(Verify(admin), "names another actor");
  }
  SECTION("one receipt for two writes") {
    RawWrite raw = UpdateCapacityRaw(w, 4);
    admin.client->ExpectAuditEntries(*raw.context, raw.start, org, CapacityExpected(w, 4));
    admin.client->ExpectAuditEntries(*raw.context, raw.start, org, CapacityExpected(w, 4));
    RequireDataLoss(Verify(admin), "name the same entries");
  }
  SECTION("entries older than the write") {
    RawWrite raw = UpdateCapacityRaw(w, 4);
    AuditWriteStart later = raw.start;
    later.floor += 1000;  // as if the device had known of more entries when the write began
    admin.client->ExpectAuditEntries(*raw.context, later, org, CapacityExpected(w, 4));
    RequireDataLoss(Verify(admin), "older than the write");
  }
  SECTION("an entry whose time is outside the call") {
    RawWrite raw = UpdateCapacityRaw(w, 4);
    AuditWriteStart later = raw.start;
    later.started_ms += 3600 * 1000;
    admin.client->ExpectAuditEntries(*raw.context, later, org, CapacityExpected(w, 4));
    RequireDataLoss(Verify(admin), "time outside the call");
  }
  SECTION("no receipt at all, as a server hiding the write would answer") {
    grpc::ClientContext finished_without_receipt;
    admin.client->ExpectAuditEntries(finished_without_receipt, admin.client->BeginAuditedWrite(), org,
                                     CapacityExpected(w, 4));
    RequireDataLoss(Verify(admin), "without an audit receipt");
  }
}

TEST_CASE("a damaged audit state stops only the audit check, until forgotten", "[audit][client]") {
  AuditWorld w;
  w.world.CertifyServer();
  REQUIRE(Verify(w.anna).ok());
  const std::string state = std::filesystem::path(w.world.db_path()).parent_path().string() + "/" +
                            w.anna.state_name + ".state.json";
  {
    std::ifstream in(state);
    nlohmann::json j = nlohmann::json::parse(in);
    j["audit"]["head"]["tree_size"] = "many";
    std::ofstream(state) << j.dump();
  }
  w.world.Reconnect(w.anna);  // the organisation log heads still load; login works
  RequireDataLoss(Verify(w.anna), "damaged");
  REQUIRE(w.anna.client->ForgetAuditState().ok());
  auto afresh = Verify(w.anna);
  INFO(afresh.status().ToString());
  REQUIRE(afresh.ok());
}

TEST_CASE("a log rolled back or forked under the device is caught", "[audit][client]") {
  AuditWorld w;
  w.world.CertifyServer();
  REQUIRE(Verify(w.anna).ok());
  const std::filesystem::path snapshot = w.world.db_path() + ".snapshot";
  w.world.Restart([&](const std::string& dir) {
    std::filesystem::copy_file(dir + "/trygg.db", snapshot);
  });
  w.world.Reconnect(w.anna);  // AuditWorld's CaseClient is bound to the old client from here on
  {
    CaseClient cases(*w.anna.client, w.anna.keys, w.world.clock(), w.world.rng());
    for (int i = 0; i < 3; ++i) REQUIRE(cases.CreateCase(Text("Ny klient"), 1).ok());
  }
  auto verified = Verify(w.anna);
  INFO(verified.status().ToString());
  REQUIRE(verified.ok());
  const uint64_t seen = verified->head.tree_size;

  // The operator restores yesterday's database: the entries after it are gone.
  w.world.Restart([&](const std::string& dir) {
    std::filesystem::remove(dir + "/trygg.db-wal");
    std::filesystem::remove(dir + "/trygg.db-shm");
    std::filesystem::copy_file(snapshot, dir + "/trygg.db", std::filesystem::copy_options::overwrite_existing);
  });
  w.world.Reconnect(w.anna);
  RequireDataLoss(Verify(w.anna), "shrank");

  // New writes grow the restored log past the size seen: a fork, not a continuation.
  CaseClient cases(*w.anna.client, w.anna.keys, w.world.clock(), w.world.rng());
  while (static_cast<uint64_t>(w.LogSize()) <= seen) {
    REQUIRE(cases.CreateCase(Text("Ny klient"), 1).ok());
  }
  RequireDataLoss(Verify(w.anna), "not an extension");
  REQUIRE(w.anna.client->audit_head()->tree_size == seen);

  // Once the restore is explained, the device may start afresh: the writes it
  // made before the restore are gone from the log, so they are forgotten too.
  REQUIRE(w.anna.client->ForgetAuditState().ok());
  REQUIRE_FALSE(w.anna.client->audit_head().has_value());
  REQUIRE(w.anna.client->pending_audit_writes() == 0);
  REQUIRE(cases.CreateCase(Text("Efter återställningen"), 1).ok());
  auto afresh = Verify(w.anna);
  INFO(afresh.status().ToString());
  REQUIRE(afresh.ok());
  REQUIRE(afresh->previous_tree_size == 0);
  REQUIRE(afresh->writes_verified == 1);
}

// The entry kinds appended since `from`, counted by the kind byte of each
// stored entry (docs/audit.md, "Entry encoding": byte 1).
std::map<int, int64_t> KindsSince(const std::string& db, int64_t from) {
  std::map<int, int64_t> kinds;
  for (int kind = 1; kind <= audit::kMaxAuditEventKind; ++kind) {
    char hex[3];
    std::snprintf(hex, sizeof(hex), "%02x", kind);
    const int64_t n = QueryInt(db, "SELECT count(*) FROM audit_entries WHERE idx >= " + std::to_string(from) +
                                       " AND substr(entry, 2, 1) = x'" + hex + "'");
    if (n > 0) kinds[kind] = n;
  }
  return kinds;
}

TEST_CASE("each state change appends its audit entries", "[audit][client]") {
  AuditWorld w;
  TestDevice& legal_caseworker = w.world.AddDevice(w.legal_admin, Role::kCaseworker);
  CaseClient legal_cases(*legal_caseworker.client, legal_caseworker.keys, w.world.clock(), w.world.rng());
  ReferralClient legal(*legal_caseworker.client, legal_caseworker.keys, legal_cases, w.world.clock(),
                       w.world.rng());
  DirectoryClient directory(*w.legal_admin.client, w.legal_admin.keys, w.world.clock(), w.world.rng());
  const std::string db = w.world.db_path();
  using K = audit::AuditEventKind;
  struct Step {
    const char* what;
    std::function<void()> run;
    std::map<int, int64_t> appends;
  };
  auto kind = [](K k) { return static_cast<int>(k); };
  Id128 consent_id, referral_id;
  auto refer = [&] {
    ReferralDraft d;
    d.case_id = w.case_id;
    d.listing_id = w.listing;
    d.to_org = w.legal_admin.keys.org_id;
    d.service = static_cast<uint8_t>(ServiceCategory::kLegalAdvice);
    d.consent_id = consent_id;
    d.packet = Text("Behöver juridiskt stöd");
    auto id = w.referrals.Refer(d);
    INFO(id.status().ToString());
    REQUIRE(id.ok());
    return *id;
  };
  const std::vector<Step> steps = {
      {"case created, and its scope granted to the own organisation",
       [&] { REQUIRE(w.cases.CreateCase(Text("Namn: Amina"), 1).ok()); },
       {{kind(K::kCaseCreated), 1}, {kind(K::kGrant), 1}}},
      {"case version", [&] { w.AppendVersion(); }, {{kind(K::kCaseVersion), 1}}},
      {"consent",
       [&] {
         ConsentTerms terms{w.case_id, w.legal_admin.keys.org_id, ServiceBit(2),
                            ConsentPurpose::kReferralForServices, w.world.clock().NowUnixMillis() + 86'400'000,
                            Text("Muntligt")};
         auto id = w.referrals.RecordConsent(terms);
         REQUIRE(id.ok());
         consent_id = *id;
       },
       {{kind(K::kConsentRecorded), 1}}},
      {"referral: created, and the referral scope granted to both organisations",
       [&] { referral_id = refer(); }, {{kind(K::kReferralCreated), 1}, {kind(K::kGrant), 2}}},
      {"accepted", [&] { REQUIRE(legal.Accept(referral_id).ok()); }, {{kind(K::kReferralAccepted), 1}}},
      {"completed",
       [&] { REQUIRE(legal.Complete(referral_id, ReferralOutcome::kServiceProvided).ok()); },
       {{kind(K::kReferralCompleted), 1}}},
      {"a second referral", [&] { referral_id = refer(); },
       {{kind(K::kReferralCreated), 1}, {kind(K::kGrant), 2}}},
      {"declined", [&] { REQUIRE(legal.Decline(referral_id, DeclineReason::kNoCapacity).ok()); },
       {{kind(K::kReferralDeclined), 1}}},
      {"a third referral, withdrawn", [&] { REQUIRE(w.referrals.Withdraw(refer()).ok()); },
       {{kind(K::kReferralCreated), 1}, {kind(K::kGrant), 2}, {kind(K::kReferralWithdrawn), 1}}},
      {"a fourth, accepted, then closed",
       [&] {
         referral_id = refer();
         REQUIRE(legal.Accept(referral_id).ok());
         REQUIRE(w.referrals.Close(referral_id).ok());
       },
       {{kind(K::kReferralCreated), 1}, {kind(K::kGrant), 2}, {kind(K::kReferralAccepted), 1},
        {kind(K::kReferralClosed), 1}}},
      {"consent withdrawn",
       [&] { REQUIRE(w.referrals.WithdrawConsent(w.case_id, consent_id).ok()); },
       {{kind(K::kConsentWithdrawn), 1}}},
      {"capacity", [&] { REQUIRE(directory.UpdateCapacity(w.listing, 4).ok()); },
       {{kind(K::kListingCapacityUpdated), 1}}},
      {"listing published",
       [&] {
         Listing l;
         l.category = static_cast<uint8_t>(ServiceCategory::kInterpreting);
         l.regions = {"SE-O"};
         l.response_time_hours = 24;
         REQUIRE(directory.Publish(l).ok());
       },
       {{kind(K::kListingPublished), 1}}},
      {"a device enrols: the request appends nothing until its approval, then its key sealed to it, first "
       "session",
       [&] { w.world.AddDevice(w.shelter_admin, Role::kCaseworker); },
       {{kind(K::kDeviceAdded), 1}, {kind(K::kGrant), 1}, {kind(K::kSessionCreated), 1}}},
      {"listing retired", [&] { REQUIRE(directory.Retire(w.listing).ok()); }, {{kind(K::kListingRetired), 1}}},
      {"organisation key rotated, and the new generation sealed to its two devices",
       [&] {
         REQUIRE(RotateOrgKey(*w.legal_admin.client, w.legal_admin.keys, w.world.clock(), w.world.rng()).ok());
       },
       {{kind(K::kOrgKeyRotated), 1}, {kind(K::kGrant), 2}}},
      {"role changed",
       [&] {
         REQUIRE(ChangeRole(*w.legal_admin.client, w.legal_admin.keys, legal_caseworker.keys.device_id,
                            Role::kOrgAdmin, w.world.clock())
                     .ok());
       },
       {{kind(K::kRoleChanged), 1}}},
      {"case erased", [&] { REQUIRE(w.cases.EraseCase(w.case_id).ok()); }, {{kind(K::kCaseErased), 1}}},
      {"device revoked, and the key rotated and sealed to the one left",
       [&] {
         REQUIRE(RevokeDevice(*w.legal_admin.client, w.legal_admin.keys, legal_caseworker.keys.device_id,
                              w.world.clock(), w.world.rng())
                     .ok());
       },
       {{kind(K::kDeviceRevoked), 1}, {kind(K::kOrgKeyRotated), 1}, {kind(K::kGrant), 1}}},
  };
  // "referral_created x1, grant x2", so a failure reads.
  auto names = [](const std::map<int, int64_t>& kinds) {
    std::string out;
    for (const auto& [k, n] : kinds) {
      out += (out.empty() ? "" : ", ") + std::string(audit::AuditEventKindName(static_cast<K>(k))) + " x" +
             std::to_string(n);
    }
    return out;
  };
  for (const Step& step : steps) {
    const int64_t before = w.LogSize();
    step.run();
    INFO(step.what);
    CHECK(names(KindsSince(db, before)) == names(step.appends));
  }
}

}  // namespace
}  // namespace trygg
