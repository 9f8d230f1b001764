// SPDX-License-Identifier: Apache-2.0

// Revocation that revokes. A revoked device keeps its key store: every
// organisation key generation it ever received. With a full copy of the
// database taken after its revocation (a stolen backup, a malicious
// server) it opens every grant it can, then every case version and consent
// evidence those keys reach. Before this, the organisation key rotation at
// revocation protected only cases created afterwards; now the revoking
// admin's device moves every case the organisation owns to a new epoch
// whose key is sealed to the new generation only (CaseClient::Rekey), and a
// device that writes to a case still under an old generation re-keys it
// first. The attacker opens exactly what was written before its
// revocation, and nothing after.
#include <catch2/catch.hpp>

#include <set>

#include "testing/db_edit.h"
#include "testing/trust_world.h"
#include "trygg/case_client.h"
#include "trygg/crypto_error.h"
#include "trygg/directory_client.h"
#include "trygg/membership.h"
#include "trygg/referral_client.h"
#include "trygg/workflow.h"

namespace trygg::adversarial_revocation {
namespace {

using testing::QueryBlobs;
using testing::TestDevice;
using testing::TrustWorld;

std::vector<uint8_t> Text(std::string_view s) { return {s.begin(), s.end()}; }
std::string AsString(const std::vector<uint8_t>& v) { return {v.begin(), v.end()}; }

// What the revoked device's key store opens in a copy of the database.
struct Loot {
  std::set<std::string> plaintexts;  // case versions and consent evidence it could decrypt
  size_t grants_opened = 0;
};

Loot Plunder(TrustWorld& world, const KeyStoreContents& stolen, Client& verifier) {
  const std::string db = world.db_path();
  auto log = verifier.FetchOrgLog(stolen.org_id);
  REQUIRE(log.ok());
  Loot loot;
  // Every grant sealed to a generation the device holds.
  std::map<std::pair<Id128, uint32_t>, SecretKey> scope_keys;
  auto headers = QueryBlobs(db, "SELECT header FROM grants ORDER BY scope_id, org_id, epoch");
  auto sealed = QueryBlobs(db, "SELECT sealed FROM grants ORDER BY scope_id, org_id, epoch");
  auto signatures = QueryBlobs(db, "SELECT signature FROM grants ORDER BY scope_id, org_id, epoch");
  REQUIRE(headers.size() == sealed.size());
  for (size_t i = 0; i < headers.size(); ++i) {
    auto header = ParseGrantHeader(headers[i]);
    REQUIRE(header.ok());
    auto signature = Signature::FromSpan(signatures[i]);
    REQUIRE(signature.ok());
    Grant grant{headers[i], sealed[i], *signature};
    const DeviceRecord* granter = log->FindDevice(header->granter_device);
    if (granter == nullptr) continue;  // another organisation's grant
    GrantExpectation expected{GrantKind::kScopeKey, header->scope_id, header->epoch, header->granter_device,
                              granter->sign_key};
    for (const OrgKey& key : stolen.org_keys) {
      auto opened = OpenGrant(grant, expected, DeriveOrgBoxKeyPair(key));
      if (opened.ok()) {
        scope_keys.insert_or_assign({header->scope_id, header->epoch}, *std::move(opened));
        ++loot.grants_opened;
      }
    }
  }
  // Every version under a scope key it now has.
  auto env_headers = QueryBlobs(db, "SELECT header FROM case_versions ORDER BY case_id, version");
  auto wrapped = QueryBlobs(db, "SELECT wrapped_dek FROM case_versions ORDER BY case_id, version");
  auto bodies = QueryBlobs(db, "SELECT body FROM case_versions ORDER BY case_id, version");
  auto env_signatures = QueryBlobs(db, "SELECT signature FROM case_versions ORDER BY case_id, version");
  for (size_t i = 0; i < env_headers.size(); ++i) {
    auto header = ParseRecordHeader(env_headers[i]);
    REQUIRE(header.ok());
    auto key = scope_keys.find({header->scope_id, header->epoch});
    if (key == scope_keys.end()) continue;
    SealedRecord record;
    record.header = env_headers[i];
    record.wrapped_dek = wrapped[i];
    record.body = bodies[i];
    record.signature = *Signature::FromSpan(env_signatures[i]);
    const DeviceRecord* author = log->FindDevice(header->author_device);
    REQUIRE(author != nullptr);
    RecordChainState anywhere;
    auto opened = OpenRecord(record, RecordExpectation{header->case_id, header->scope_id, header->epoch},
                             author->sign_key, key->second, anywhere);
    if (opened.ok()) loot.plaintexts.insert(AsString(opened->plaintext));
  }
  // Consent evidence, under any scope key it has.
  auto consent_ids = QueryBlobs(db, "SELECT consent_id FROM consents ORDER BY consent_id");
  auto evidence = QueryBlobs(db, "SELECT evidence FROM consents ORDER BY consent_id");
  for (size_t i = 0; i < evidence.size(); ++i) {
    auto id = Id128::FromSpan(consent_ids[i]);
    REQUIRE(id.ok());
    for (const auto& [scope, key] : scope_keys) {
      auto opened = OpenBlob(BlobKind::kConsentEvidence, *id, evidence[i], key);
      if (opened.ok()) loot.plaintexts.insert(AsString(*opened));
    }
  }
  return loot;
}

struct Shelter {
  TrustWorld world;
  TestDevice& admin = world.AdmitOrganisation("Skyddat boende Mitt");
  TestDevice& anna = world.AddDevice(admin, Role::kCaseworker);
  TestDevice& stolen = world.AddDevice(admin, Role::kCaseworker);  // the laptop that is stolen
  TestDevice& legal = world.AdmitOrganisation("Juridisk rådgivning");
  std::unique_ptr<CaseClient> anna_cases =
      std::make_unique<CaseClient>(*anna.client, anna.keys, world.clock(), world.rng());
  Id128 listing;

  Shelter() {
    Listing l;
    l.category = static_cast<uint8_t>(ServiceCategory::kLegalAdvice);
    l.regions = {"SE-C"};
    l.languages = {"sv"};
    l.response_time_hours = 48;
    DirectoryClient directory(*legal.client, legal.keys, world.clock(), world.rng());
    auto published = directory.Publish(l);
    REQUIRE(published.ok());
    listing = published->listing.listing_id;
  }

  Id128 Consent(const Id128& case_id, std::string_view evidence) {
    ReferralClient referrals(*anna.client, anna.keys, *anna_cases, world.clock(), world.rng());
    ConsentTerms terms;
    terms.case_id = case_id;
    terms.to_org = legal.keys.org_id;
    terms.services = ServiceBit(static_cast<uint8_t>(ServiceCategory::kLegalAdvice));
    terms.expires_at_ms = world.clock().NowUnixMillis() + 24LL * 3600 * 1000;
    terms.evidence = Text(evidence);
    auto id = referrals.RecordConsent(terms);
    INFO(id.status().ToString());
    REQUIRE(id.ok());
    return *id;
  }

  // The admin revokes the stolen laptop (the organisation key rotates) and
  // anna's device receives the new generation.
  void Revoke() {
    REQUIRE(RevokeDevice(*admin.client, admin.keys, stolen.keys.device_id, world.clock(), world.rng()).ok());
    REQUIRE(ReceiveOrgKeys(*anna.client, anna.keys).ok());
    anna_cases = std::make_unique<CaseClient>(*anna.client, anna.keys, world.clock(), world.rng());
  }

  RekeyReport RekeyAsAdmin() {
    CaseClient cases(*admin.client, admin.keys, world.clock(), world.rng());
    auto report = cases.RekeyStaleCases();
    INFO(report.status().ToString());
    REQUIRE(report.ok());
    return *report;
  }
};

// A version the malicious server appends to the case's chain, signed by the
// stolen laptop's key with a scope key it kept, as its own newest version.
void AppendForged(Shelter& s, const Id128& case_id, uint32_t epoch, const SecretKey& scope_key, Clock& signing_clock,
                  std::string_view text) {
  const std::string db = s.world.db_path();
  const std::string where = " FROM case_versions WHERE case_id = x'" + HexEncode(case_id.span()) + "' ORDER BY version";
  auto headers = QueryBlobs(db, "SELECT header" + where);
  auto wrapped = QueryBlobs(db, "SELECT wrapped_dek" + where);
  auto bodies = QueryBlobs(db, "SELECT body" + where);
  auto signatures = QueryBlobs(db, "SELECT signature" + where);
  SealedRecord head{headers.back(), wrapped.back(), bodies.back(), {}, *Signature::FromSpan(signatures.back())};
  auto head_header = ParseRecordHeader(head.header);
  REQUIRE(head_header.ok());
  RecordDraft draft;
  draft.case_id = case_id;
  draft.scope_id = head_header->scope_id;
  draft.epoch = epoch;
  draft.record_id = head_header->record_id;
  draft.version = head_header->version + 1;
  draft.prev_hash = RecordHash(head);
  draft.author_org = s.stolen.keys.org_id;
  draft.author_device = s.stolen.keys.device_id;
  draft.content_type = 1;
  auto forged = SealRecord(draft, Text(text), {}, GenerateDataKey(s.world.rng()), scope_key,
                           s.stolen.keys.device.signing(), signing_clock, s.world.rng());
  REQUIRE(forged.ok());
  auto hex = [](std::span<const uint8_t> b) { return "x'" + HexEncode(b) + "'"; };
  testing::Exec(db, "INSERT INTO case_versions (case_id, version, header, wrapped_dek, body, signature, "
                    "attachment_hashes) VALUES (" +
                        hex(case_id.span()) + ", " + std::to_string(draft.version) + ", " + hex(forged->header) +
                        ", " + hex(forged->wrapped_dek) + ", " + hex(forged->body) + ", " +
                        hex(forged->signature.span()) + ", x''); UPDATE cases SET head_version = " +
                        std::to_string(draft.version) + ", head_hash = " + hex(RecordHash(*forged).span()) +
                        " WHERE case_id = " + hex(case_id.span()));
}

}  // namespace

TEST_CASE("a version signed with a stolen key after its revocation is refused by readers",
          "[adversarial][revocation]") {
  Shelter s;
  auto case_id = s.anna_cases->CreateCase(Text("före: Namn Daria"), 1);
  REQUIRE(case_id.ok());
  CaseClient stolen_cases(*s.stolen.client, s.stolen.keys, s.world.clock(), s.world.rng());
  auto scope = stolen_cases.CurrentScope(*case_id);
  REQUIRE(scope.ok());
  SecretKey kept = scope->key.Clone();  // the thief keeps the scope key it could read
  const uint32_t old_epoch = scope->epoch;
  const int64_t before_revocation = s.world.clock().NowUnixMillis();
  s.Revoke();

  SECTION("signed now, after the revocation") {
    AppendForged(s, *case_id, old_epoch, kept, s.world.clock(), "efter: förfalskad anteckning");
    CaseClient reader(*s.anna.client, s.anna.keys, s.world.clock(), s.world.rng());
    auto read = reader.ReadCase(*case_id);
    INFO(read.status().ToString());
    CHECK(GetCryptoError(read.status()) == CryptoError::kBadSignature);
  }
  SECTION("backdated to before the revocation, after the case was re-keyed") {
    REQUIRE(s.RekeyAsAdmin().cases_rekeyed == 1);
    FixedClock backdated(before_revocation);
    AppendForged(s, *case_id, old_epoch, kept, backdated, "efter: bakåtdaterad anteckning");
    CaseClient reader(*s.anna.client, s.anna.keys, s.world.clock(), s.world.rng());
    auto read = reader.ReadCase(*case_id);
    INFO(read.status().ToString());
    CHECK(GetCryptoError(read.status()) == CryptoError::kBrokenChain);
  }
}

TEST_CASE("a revoked device's key store opens nothing written after its revocation", "[adversarial][revocation]") {
  Shelter s;
  auto case_id = s.anna_cases->CreateCase(Text("före: Namn Daria, född 1994"), 1);
  REQUIRE(case_id.ok());
  REQUIRE(s.anna_cases->AppendVersion(*case_id, Text("före: flyttad till skyddat boende"), 1).ok());
  s.Consent(*case_id, "före: muntligt samtycke");
  // The stolen laptop could read the case while it was trusted.
  CaseClient stolen_cases(*s.stolen.client, s.stolen.keys, s.world.clock(), s.world.rng());
  REQUIRE(stolen_cases.ReadCase(*case_id).ok());

  s.Revoke();
  const RekeyReport report = s.RekeyAsAdmin();
  CHECK(report.cases_checked == 1);
  CHECK(report.cases_rekeyed == 1);
  REQUIRE(s.anna_cases->AppendVersion(*case_id, Text("efter: ny adress Storgatan 1"), 1).ok());
  s.Consent(*case_id, "efter: skriftligt samtycke");
  auto later_case = s.anna_cases->CreateCase(Text("efter: Namn Olga, född 2001"), 1);
  REQUIRE(later_case.ok());
  // Anna's devices read everything, old and new.
  auto read = s.anna_cases->ReadCase(*case_id);
  REQUIRE(read.ok());
  CHECK(AsString(read->versions.back().plaintext) == "efter: ny adress Storgatan 1");

  const Loot loot = Plunder(s.world, s.stolen.keys, *s.admin.client);
  for (const std::string& text : loot.plaintexts) {
    INFO(text);
    CHECK(text.rfind("före:", 0) == 0);
  }
  // What it could read before, it still can (the test can fail).
  CHECK(loot.plaintexts.count("före: Namn Daria, född 1994") == 1);
  CHECK(loot.plaintexts.count("före: muntligt samtycke") == 1);
  CHECK(loot.plaintexts.count("efter: ny adress Storgatan 1") == 0);
  CHECK(loot.plaintexts.count("efter: skriftligt samtycke") == 0);
  CHECK(loot.plaintexts.count("efter: Namn Olga, född 2001") == 0);
}

TEST_CASE("a re-key cut off after the revocation is completed by the next writer or run", "[adversarial][revocation]") {
  Shelter s;
  std::vector<Id128> cases;
  for (int i = 0; i < 3; ++i) {
    auto id = s.anna_cases->CreateCase(Text("före: ärende " + std::to_string(i)), 1);
    REQUIRE(id.ok());
    cases.push_back(*id);
  }
  // The admin's device dies after revoking and rotating, before re-keying.
  s.Revoke();
  CaseClient admin_cases(*s.admin.client, s.admin.keys, s.world.clock(), s.world.rng());
  for (const Id128& id : cases) CHECK(admin_cases.NeedsRekey(id).value());

  // A caseworker writing to one of them re-keys it first.
  REQUIRE(s.anna_cases->AppendVersion(cases[0], Text("efter: anteckning"), 1).ok());
  CHECK_FALSE(admin_cases.NeedsRekey(cases[0]).value());
  // The consent path seals new evidence only under a fresh key too.
  s.Consent(cases[1], "efter: samtycke");
  CHECK_FALSE(admin_cases.NeedsRekey(cases[1]).value());

  // `trygg org rekey` finishes the rest, and a second run finds nothing.
  CHECK(s.RekeyAsAdmin().cases_rekeyed == 1);
  const RekeyReport again = s.RekeyAsAdmin();
  CHECK(again.cases_checked == 3);
  CHECK(again.cases_rekeyed == 0);

  const Loot loot = Plunder(s.world, s.stolen.keys, *s.admin.client);
  CHECK(loot.plaintexts.count("efter: anteckning") == 0);
  CHECK(loot.plaintexts.count("efter: samtycke") == 0);
  CHECK(loot.plaintexts.count("före: ärende 2") == 1);
}

TEST_CASE("only the owner can re-key, and readers keep the whole history", "[adversarial][revocation]") {
  Shelter s;
  auto case_id = s.anna_cases->CreateCase(Text("före: första"), 1);
  REQUIRE(case_id.ok());
  const Id128 consent = s.Consent(*case_id, "före: samtycke");
  s.Revoke();
  // Another organisation's device cannot move the case (it cannot even see it).
  CaseClient legal_cases(*s.legal.client, s.legal.keys, s.world.clock(), s.world.rng());
  CHECK(legal_cases.Rekey(*case_id).status().code() == absl::StatusCode::kNotFound);

  REQUIRE(s.RekeyAsAdmin().cases_rekeyed == 1);
  auto read = s.anna_cases->ReadCase(*case_id);
  REQUIRE(read.ok());
  REQUIRE(read->versions.size() == 2);
  CHECK(read->versions[0].header.epoch == 1);
  CHECK(read->versions[1].header.epoch == 2);
  CHECK(AsString(read->versions[1].plaintext) == "före: första");  // the re-key carries the latest content
  // Evidence sealed before the re-key still opens for the organisation.
  ReferralClient referrals(*s.anna.client, s.anna.keys, *s.anna_cases, s.world.clock(), s.world.rng());
  auto consents = referrals.ListConsents(*case_id);
  INFO(consents.status().ToString());
  REQUIRE(consents.ok());
  REQUIRE(consents->size() == 1);
  CHECK(consents->front().record.consent_id == consent);
  CHECK(AsString(consents->front().evidence) == "före: samtycke");
}

}  // namespace trygg::adversarial_revocation

namespace trygg::adversarial_revocation {

TEST_CASE("a referral move signed with a stolen key after its revocation is refused by readers",
          "[adversarial][revocation]") {
  Shelter s;
  TestDevice& lawyer = s.world.AddDevice(s.legal, Role::kCaseworker);
  auto case_id = s.anna_cases->CreateCase(Text("före: Namn Daria"), 1);
  REQUIRE(case_id.ok());
  const Id128 consent = s.Consent(*case_id, "före: samtycke");
  ReferralClient referrals(*s.anna.client, s.anna.keys, *s.anna_cases, s.world.clock(), s.world.rng());
  ReferralDraft draft;
  draft.case_id = *case_id;
  draft.listing_id = s.listing;
  draft.to_org = s.legal.keys.org_id;
  draft.service = static_cast<uint8_t>(ServiceCategory::kLegalAdvice);
  draft.consent_id = consent;
  draft.packet = Text("före: behöver juridiskt stöd");
  auto referral_id = referrals.Refer(draft);
  REQUIRE(referral_id.ok());

  // The legal organisation revokes the lawyer's stolen laptop; the thief,
  // with a server that stores what it is given, accepts the referral in the
  // lawyer's name.
  REQUIRE(RevokeDevice(*s.legal.client, s.legal.keys, lawyer.keys.device_id, s.world.clock(), s.world.rng()).ok());
  ReferralTransition accept{*referral_id, static_cast<uint8_t>(ReferralStatus::kSent),
                            static_cast<uint8_t>(ReferralStatus::kAccepted), 0, lawyer.keys.device_id,
                            s.world.clock().NowUnixMillis()};
  auto signed_accept = SignReferralTransition(accept, lawyer.keys.device.signing());
  REQUIRE(signed_accept.ok());
  auto hex = [](std::span<const uint8_t> b) { return "x'" + HexEncode(b) + "'"; };
  testing::Exec(s.world.db_path(),
                "INSERT INTO referral_transitions (referral_id, seq, actor, to_state, at, bytes, signature) VALUES (" +
                    hex(referral_id->span()) + ", 1, " + hex(lawyer.keys.device_id.span()) + ", 2, " +
                    std::to_string(accept.at_ms) + ", " + hex(signed_accept->bytes) + ", " +
                    hex(signed_accept->signature.span()) + "); UPDATE referrals SET state = 2 WHERE referral_id = " +
                    hex(referral_id->span()));
  auto read = referrals.Get(*referral_id);
  INFO(read.status().ToString());
  CHECK(read.status().code() == absl::StatusCode::kDataLoss);
  CHECK(read.status().message().find("revoked") != std::string::npos);
}

}  // namespace trygg::adversarial_revocation
