// SPDX-License-Identifier: Apache-2.0

#include "unit/server/domain/domain_world.h"

#include <sqlite3.h>

#include <algorithm>
#include <catch2/catch.hpp>

#include "server/domain/audit_table.h"
#include "server/store/sqlite/sqlite_store.h"
#include "trygg/grant.h"
#include "trygg/trust.h"

namespace trygg::domain_test {
namespace {

// Reads the database file through its own connection, as any other reader
// would: what it sees is what the writes committed.
class FileReader {
 public:
  explicit FileReader(const std::string& path) {
    REQUIRE(sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  }
  ~FileReader() { sqlite3_close(db_); }
  FileReader(const FileReader&) = delete;
  FileReader& operator=(const FileReader&) = delete;

  // Each row of `sql`'s result, its columns joined as text (blobs in hex).
  std::vector<std::string> Rows(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    INFO(sql);
    REQUIRE(sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK);
    std::vector<std::string> rows;
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      std::string row;
      for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
        if (sqlite3_column_type(stmt, i) == SQLITE_BLOB) {
          const auto* data = static_cast<const uint8_t*>(sqlite3_column_blob(stmt, i));
          row += HexEncode(std::span<const uint8_t>(data, static_cast<size_t>(sqlite3_column_bytes(stmt, i))));
        } else if (sqlite3_column_type(stmt, i) != SQLITE_NULL) {
          row += reinterpret_cast<const char*>(sqlite3_column_text(stmt, i));
        } else {
          row += "NULL";
        }
        row += '|';
      }
      rows.push_back(std::move(row));
    }
    sqlite3_finalize(stmt);
    return rows;
  }

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace

absl::StatusOr<domain::ReferralRoute> WorldRoutes::RouteFor(domain::Transaction& txn,
                                                            const Id128& listing_id) const {
  absl::StatusOr<domain::ListingRoute> route = domain::Directory::RouteFor(txn, listing_id);
  if (!route.ok()) return route.status();
  return domain::ReferralRoute{route->org_id, route->category, route->response_time_hours, route->retired};
}

DomainWorld::DomainWorld() : root_(GenerateSigningKeyPair(rng_)), server_key_(GenerateSigningKeyPair(rng_)) {
  store::sqlite::SqliteStore::Options options;
  options.path = db_path();
  options.readers = 2;
  auto opened = store::sqlite::SqliteStore::Open(options);
  INFO(opened.status().ToString());
  REQUIRE(opened.ok());
  sqlite_ = opened->get();
  store_ = std::move(*opened);
  auto identity = store_->GetServerIdentity();
  REQUIRE(identity.ok());
  instance_id_ = Id128(identity->instance_id);
  trust_ = std::make_unique<domain::Trust>(root_.public_key, server_key_.public_key, clock_, rng_);
  domain::SessionPolicy policy;
  policy.challenge_ttl_ms = 2 * 60 * 1000;
  policy.session_ttl_ms = 30 * 60 * 1000;
  sessions_ = std::make_unique<domain::Sessions>(instance_id_, policy, clock_, rng_);
  cases_ = std::make_unique<domain::Cases>(clock_);
  referrals_ = std::make_unique<domain::Referrals>(routes_, clock_);
  directory_ = std::make_unique<domain::Directory>(clock_, domain::DirectoryOptions());
}

DomainWorld::~DomainWorld() = default;

Id128 DomainWorld::NewId(uint8_t kind) {
  std::array<uint8_t, 16> bytes{};
  bytes[0] = kind;
  const uint32_t n = next_id_++;
  for (int i = 0; i < 4; ++i) bytes[15 - i] = static_cast<uint8_t>(n >> (8 * i));
  return Id128(bytes);
}

std::string DomainWorld::Snapshot() {
  FileReader reader(db_path());
  std::string out;
  for (const std::string& table :
       reader.Rows("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")) {
    const std::string name = table.substr(0, table.size() - 1);
    std::vector<std::string> rows = reader.Rows("SELECT * FROM \"" + name + "\"");
    std::sort(rows.begin(), rows.end());
    out += "== " + name + " (" + std::to_string(rows.size()) + ")\n";
    for (const std::string& row : rows) out += row + "\n";
  }
  return out;
}

int64_t DomainWorld::Rows(const std::string& table) {
  FileReader reader(db_path());
  std::vector<std::string> count = reader.Rows("SELECT count(*) FROM \"" + table + "\"");
  REQUIRE(count.size() == 1);
  return std::stoll(count.front());
}

uint64_t DomainWorld::AuditSize() {
  auto size = Read([](domain::Transaction& txn) -> absl::StatusOr<uint64_t> {
    auto entries = txn.audit().Entries(0, 1u << 30);
    if (!entries.ok()) return entries.status();
    return entries->size();
  });
  REQUIRE(size.ok());
  return *size;
}

WorldDevice& DomainWorld::CertifiedDevice(CertificateKind kind, Role role, uint8_t id_tag, const std::string& name,
                                          SignedObject* certificate) {
  WorldDevice& device =
      devices_.emplace_back(WorldDevice{NewId(0x0d), NewId(id_tag), role, DeviceKeys::Generate(rng_)});
  RootCertificate cert;
  cert.kind = kind;
  cert.subject_id = device.org_id;
  cert.device_id = device.device_id;
  cert.issued_at_ms = clock_.NowUnixMillis();
  cert.sign_key = device.signing().public_key;
  cert.box_key = device.keys.box().public_key;
  cert.name = name;
  auto signed_cert = SignRootCertificate(cert, root_);
  REQUIRE(signed_cert.ok());
  auto uploaded = Write([&](domain::Transaction& txn) { return trust_->UploadCertificate(txn, kind, *signed_cert); });
  INFO(uploaded.status().ToString());
  REQUIRE(uploaded.ok());
  if (certificate != nullptr) *certificate = *signed_cert;
  return device;
}

WorldOrg& DomainWorld::AdmitOrganisation(const std::string& name) {
  SignedObject certificate;
  WorldDevice& admin = CertifiedDevice(CertificateKind::kOrganisation, Role::kOrgAdmin, 0x0a, name, &certificate);

  WorldOrg& org = orgs_.emplace_back(WorldOrg{admin.org_id, &admin, GenerateOrgKey(1, rng_), 0,
                                              SignedObjectHash(certificate)});
  SignedObject rotate = NextLink(org, admin, OrgLogAction::kRotateOrgKey, nullptr, Role::kCaseworker, 1);
  auto seq = AppendLink(org, admin, rotate);
  INFO(seq.status().ToString());
  REQUIRE(seq.ok());
  return org;
}

SignedObject DomainWorld::NextLink(const WorldOrg& org, const WorldDevice& signer, OrgLogAction action,
                                   const WorldDevice* subject, Role role, uint32_t generation) {
  OrgLogLink link;
  link.org_id = org.org_id;
  link.seq = org.head_seq + 1;
  link.prev_hash = org.head_hash;
  link.created_at_ms = clock_.NowUnixMillis();
  link.signer_device = signer.device_id;
  link.action = action;
  if (subject != nullptr) {
    link.device_id = subject->device_id;
    link.sign_key = subject->signing().public_key;
    link.box_key = subject->keys.box().public_key;
  }
  link.role = role;
  if (action == OrgLogAction::kRotateOrgKey) {
    link.generation = generation;
    link.org_box_key = DeriveOrgBoxKeyPair(org.key).public_key;
  }
  return SignOrgLogLink(link, signer.signing());
}

absl::StatusOr<uint64_t> DomainWorld::AppendLink(WorldOrg& org, const WorldDevice& caller, const SignedObject& link) {
  auto seq = Write([&](domain::Transaction& txn) {
    return trust_->AppendOrgLogLink(txn, caller.caller(), org.org_id, link);
  });
  if (seq.ok() && *seq == org.head_seq + 1) {
    org.head_seq = *seq;
    org.head_hash = SignedObjectHash(link);
  }
  return seq;
}

WorldDevice& DomainWorld::AddDevice(WorldOrg& org, Role role) {
  WorldDevice& device = devices_.emplace_back(WorldDevice{NewId(0x0d), org.org_id, role, DeviceKeys::Generate(rng_)});
  SignedObject link = NextLink(org, *org.admin, OrgLogAction::kAddDevice, &device, role);
  auto seq = AppendLink(org, *org.admin, link);
  INFO(seq.status().ToString());
  REQUIRE(seq.ok());
  return device;
}

WorldDevice& DomainWorld::Stranger(const Id128& org_id, Role role) {
  return devices_.emplace_back(WorldDevice{NewId(0x0e), org_id, role, DeviceKeys::Generate(rng_)});
}

void DomainWorld::Revoke(WorldOrg& org, const WorldDevice& device) {
  SignedObject link = NextLink(org, *org.admin, OrgLogAction::kRevokeDevice, &device);
  auto seq = AppendLink(org, *org.admin, link);
  INFO(seq.status().ToString());
  REQUIRE(seq.ok());
}

WorldDevice& DomainWorld::AddCoordinator(const std::string& name) {
  WorldDevice& device = CertifiedDevice(CertificateKind::kCoordinator, Role::kCoordinator, 0x0c, name);
  return device;
}

domain::StoredGrant DomainWorld::GrantTo(const WorldOrg& org, const WorldDevice& granter, const Id128& scope_id,
                                         uint32_t epoch, const SecretKey& scope_key) {
  GrantParams params;
  params.kind = GrantKind::kScopeKey;
  params.scope_id = scope_id;
  params.epoch = epoch;
  params.granter_device = granter.device_id;
  auto grant = SealGrant(params, scope_key, DeriveOrgBoxKeyPair(org.key).public_key, granter.signing(), clock_, rng_);
  REQUIRE(grant.ok());
  return domain::StoredGrant{scope_id, epoch, org.org_id, *std::move(grant)};
}

SealedRecord DomainWorld::Seal(const WorldDevice& author, const Id128& case_id, const Id128& scope_id, uint32_t epoch,
                               const Id128& record_id, uint64_t version, const Hash256& prev_hash,
                               const SecretKey& scope_key) {
  RecordDraft draft;
  draft.case_id = case_id;
  draft.scope_id = scope_id;
  draft.epoch = epoch;
  draft.record_id = record_id;
  draft.version = version;
  draft.prev_hash = prev_hash;
  draft.author_org = author.org_id;
  draft.author_device = author.device_id;
  draft.content_type = 1;
  const std::string text = "case notes, version " + std::to_string(version);
  const SecretKey dek = GenerateDataKey(rng_);
  auto sealed = SealRecord(draft, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()),
                           {}, dek, scope_key, author.signing(), clock_, rng_);
  REQUIRE(sealed.ok());
  return *std::move(sealed);
}

WorldCase DomainWorld::OpenCase(WorldOrg& owner, const WorldDevice& author) {
  WorldCase c{NewId(0xca), NewId(0x5c), NewId(0x4e), 1, GenerateDataKey(rng_), {}};
  c.first = Seal(author, c.case_id, c.scope_id, 1, c.record_id, 1, Hash256(), c.scope_key);
  std::vector<domain::StoredGrant> grants = {GrantTo(owner, author, c.scope_id, 1, c.scope_key)};
  auto created = Write([&](domain::Transaction& txn) {
    return cases_->CreateCase(txn, author.caller(), c.first, grants);
  });
  INFO(created.status().ToString());
  REQUIRE(created.ok());
  return c;
}

Listing DomainWorld::ListingDraft(const WorldOrg& org, ServiceCategory category, uint32_t response_time_hours) {
  Listing listing;
  listing.listing_id = NewId(0x11);
  listing.org_id = org.org_id;
  listing.revision = 1;
  listing.created_at_ms = clock_.NowUnixMillis();
  listing.signer_device = org.admin->device_id;
  listing.category = static_cast<uint8_t>(category);
  listing.response_time_hours = response_time_hours;
  listing.capacity_free = 3;
  listing.regions = {"SE-AB"};
  listing.languages = {"sv"};
  listing.target_groups = 1;
  listing.exploitation_forms = 1;
  listing.contact_hours = "weekdays 9-17";
  listing.description = "a service";
  return listing;
}

Id128 DomainWorld::PublishListing(WorldOrg& org, ServiceCategory category, uint32_t response_time_hours) {
  Listing listing = ListingDraft(org, category, response_time_hours);
  auto signed_listing = SignListing(listing, org.admin->signing());
  INFO(signed_listing.status().ToString());
  REQUIRE(signed_listing.ok());
  auto published = Write([&](domain::Transaction& txn) {
    return directory_->Publish(txn, org.admin->caller(), *signed_listing);
  });
  INFO(published.status().ToString());
  REQUIRE(published.ok());
  return listing.listing_id;
}

ConsentRecord DomainWorld::ConsentDraft(const WorldDevice& recorder, const WorldCase& c, const Id128& to_org,
                                        uint16_t services, int64_t expires_at_ms) {
  ConsentRecord consent;
  consent.consent_id = NewId(0xc0);
  consent.case_id = c.case_id;
  consent.to_org_id = to_org;
  consent.services = services;
  consent.purpose = ConsentPurpose::kReferralForServices;
  consent.recorded_at_ms = clock_.NowUnixMillis();
  consent.expires_at_ms = expires_at_ms;
  consent.evidence_hash = Blake2b256(std::vector<uint8_t>{'e', 'v', 'i', 'd', 'e', 'n', 'c', 'e'});
  consent.recorder_device_id = recorder.device_id;
  return consent;
}

Id128 DomainWorld::RecordConsent(const WorldDevice& recorder, const WorldCase& c, const Id128& to_org,
                                 uint16_t services, int64_t expires_at_ms) {
  ConsentRecord consent = ConsentDraft(recorder, c, to_org, services, expires_at_ms);
  auto signed_consent = SignConsentRecord(consent, recorder.signing());
  REQUIRE(signed_consent.ok());
  auto recorded = Write([&](domain::Transaction& txn) {
    return referrals_->RecordConsent(txn, recorder.caller(), *signed_consent,
                                     std::vector<uint8_t>{'e', 'v', 'i', 'd', 'e', 'n', 'c', 'e'});
  });
  INFO(recorded.status().ToString());
  REQUIRE(recorded.ok());
  return *recorded;
}

ReferralDraft DomainWorld::DraftReferral(const WorldDevice& sender, const WorldOrg& from, const WorldCase& c,
                                         const WorldOrg& to, const Id128& listing_id, ServiceCategory service,
                                         const Id128& consent_id) {
  ReferralDraft draft;
  const Id128 scope_id = NewId(0x5d);
  const SecretKey scope_key = GenerateDataKey(rng_);
  draft.request.packet = Seal(sender, c.case_id, scope_id, 1, NewId(0x4f), 1, Hash256(), scope_key);
  draft.request.grants = {GrantTo(from, sender, scope_id, 1, scope_key), GrantTo(to, sender, scope_id, 1, scope_key)};
  ReferralRecord& record = draft.record;
  record.referral_id = NewId(0xf0);
  record.case_id = c.case_id;
  record.from_org_id = from.org_id;
  record.to_org_id = to.org_id;
  record.listing_id = listing_id;
  record.service = static_cast<uint8_t>(service);
  record.urgency = ReferralUrgency::kRoutine;
  record.created_at_ms = clock_.NowUnixMillis();
  record.packet_hash = RecordHash(draft.request.packet);
  record.sender_device_id = sender.device_id;
  if (consent_id.IsZero()) {
    record.basis = ReferralBasis::kVitalInterests;
    draft.request.justification = {'i', 'm', 'm', 'e', 'd', 'i', 'a', 't', 'e'};
    record.justification_hash = Blake2b256(draft.request.justification);
  } else {
    record.basis = ReferralBasis::kConsent;
    record.consent_id = consent_id;
  }
  auto signed_referral = SignReferralRecord(record, sender.signing());
  REQUIRE(signed_referral.ok());
  draft.request.signed_referral = *std::move(signed_referral);
  return draft;
}

SignedObject DomainWorld::Move(const WorldDevice& actor, const Id128& referral_id, ReferralState from,
                               ReferralState to, uint8_t code) {
  ReferralTransition transition;
  transition.referral_id = referral_id;
  transition.from_state = static_cast<uint8_t>(from);
  transition.to_state = static_cast<uint8_t>(to);
  transition.code = code;
  transition.actor_device_id = actor.device_id;
  transition.at_ms = clock_.NowUnixMillis();
  // Signed as is, without the client library's checks: the server must
  // refuse what an honest client would never send.
  std::vector<uint8_t> bytes = SerializeReferralTransition(transition);
  const Signature signature = Sign(actor.signing(), SigningContext::kTransition, bytes);
  return SignedObject{std::move(bytes), signature};
}

}  // namespace trygg::domain_test
