// SPDX-License-Identifier: Apache-2.0

// Issue 11, "a server cannot invent, edit or hide a consent withdrawal": a
// device takes a withdrawal, and its time, only from the signed withdrawal
// statement (docs/protocol.md 12.2), signed by a device of the organisation
// that recorded the consent, for that consent. The server's own unsigned
// `withdrawn_at` is never believed. A withdrawal the device has seen is
// remembered in its state file, so hiding it later is caught too.
#include <catch2/catch.hpp>

#include "testing/db_edit.h"
#include "testing/trust_world.h"
#include "trygg/case_client.h"
#include "trygg/crypto_error.h"
#include "trygg/referral_client.h"

namespace trygg::adversarial_consent_withdrawal {
namespace {

using testing::Exec;
using testing::QueryInt;
using testing::TestDevice;
using testing::TrustWorld;

std::vector<uint8_t> Text(std::string_view s) { return {s.begin(), s.end()}; }
std::string Blob(std::span<const uint8_t> bytes) { return "x'" + HexEncode(bytes) + "'"; }

struct ConsentWorld {
  ConsentWorld() {
    auto created = cases->CreateCase(Text("Namn: Ioana Popescu; född 1999"), 1);
    REQUIRE(created.ok());
    case_id = *created;
  }

  Id128 Consent() {
    ConsentTerms terms;
    terms.case_id = case_id;
    terms.services = ServiceBit(static_cast<uint8_t>(ServiceCategory::kLegalAdvice));
    terms.expires_at_ms = world.clock().NowUnixMillis() + 30LL * 24 * 3600 * 1000;
    terms.evidence = Text("Muntligt samtycke, med tolk");
    auto id = referrals->RecordConsent(terms);
    INFO(id.status().ToString());
    REQUIRE(id.ok());
    return *id;
  }

  // The next run of the CLI: a new Client on the same state file.
  void NextRun() {
    referrals.reset();
    cases.reset();
    world.Reconnect(anna);
    cases = std::make_unique<CaseClient>(*anna.client, anna.keys, world.clock(), world.rng());
    referrals = std::make_unique<ReferralClient>(*anna.client, anna.keys, *cases, world.clock(), world.rng());
  }

  const ConsentView* Find(const std::vector<ConsentView>& listed, const Id128& consent) {
    for (const ConsentView& c : listed) {
      if (c.record.consent_id == consent) return &c;
    }
    return nullptr;
  }

  TrustWorld world;
  TestDevice& admin = world.AdmitOrganisation("Skyddat boende Syd");
  TestDevice& anna = world.AddDevice(admin, Role::kCaseworker);
  TestDevice& bo = world.AddDevice(admin, Role::kCaseworker);
  std::unique_ptr<CaseClient> cases =
      std::make_unique<CaseClient>(*anna.client, anna.keys, world.clock(), world.rng());
  std::unique_ptr<ReferralClient> referrals =
      std::make_unique<ReferralClient>(*anna.client, anna.keys, *cases, world.clock(), world.rng());
  Id128 case_id;
};

void RequireCaught(const absl::StatusOr<std::vector<ConsentView>>& listed, CryptoError reason,
                   const std::string& words) {
  INFO(listed.status().ToString());
  REQUIRE(listed.status().code() == absl::StatusCode::kDataLoss);
  CHECK(GetCryptoError(listed.status()) == reason);
  CHECK(std::string(listed.status().message()).find(words) != std::string::npos);
}

TEST_CASE("a server that invents a consent withdrawal without a signed one is caught", "[adversarial]") {
  ConsentWorld w;
  const Id128 consent = w.Consent();
  const std::string where = " WHERE consent_id = " + Blob(consent.span());
  Exec(w.world.db_path(), "UPDATE consents SET withdrawn_at = 1767225600000" + where);
  RequireCaught(w.referrals->ListConsents(w.case_id), CryptoError::kBadSignature, "no signed withdrawal");
  CHECK_FALSE(w.anna.client->remembered_history(HistoryKind::kConsentWithdrawal, consent).has_value());
}

TEST_CASE("a server that edits or moves a signed consent withdrawal is caught", "[adversarial]") {
  ConsentWorld w;
  const Id128 consent = w.Consent();
  const Id128 other = w.Consent();
  REQUIRE(w.referrals->WithdrawConsent(w.case_id, consent).ok());
  auto listed = w.referrals->ListConsents(w.case_id);
  REQUIRE(listed.ok());
  const ConsentView* withdrawn = w.Find(*listed, consent);
  REQUIRE(withdrawn != nullptr);
  REQUIRE(withdrawn->withdrawn_at_ms.has_value());
  const int64_t signed_time = *withdrawn->withdrawn_at_ms;
  REQUIRE_FALSE(w.Find(*listed, other)->withdrawn_at_ms.has_value());
  const std::optional<HistoryHead> seen =
      w.anna.client->remembered_history(HistoryKind::kConsentWithdrawal, consent);
  REQUIRE(seen.has_value());
  const std::string db = w.world.db_path();
  const std::string where = " WHERE consent_id = " + Blob(consent.span());

  SECTION("the server's own time is not believed: the signed one is shown") {
    Exec(db, "UPDATE consents SET withdrawn_at = 1000" + where);
    auto again = w.referrals->ListConsents(w.case_id);
    REQUIRE(again.ok());
    CHECK(w.Find(*again, consent)->withdrawn_at_ms == signed_time);
  }
  SECTION("the signed time edited") {
    // withdrawn_at is at offset 37 of the 61-byte statement.
    Exec(db, "UPDATE consents SET withdrawal = " + testing::FlippedByte("withdrawal", 40) + where);
    RequireCaught(w.referrals->ListConsents(w.case_id), CryptoError::kBadSignature, "consent:");
  }
  SECTION("the withdrawal moved to another consent") {
    Exec(db, "UPDATE consents SET withdrawn_at = 1767225600000, withdrawal = (SELECT withdrawal FROM consents" +
                 where + "), withdrawal_signature = (SELECT withdrawal_signature FROM consents" + where +
                 ") WHERE consent_id = " + Blob(other.span()));
    RequireCaught(w.referrals->ListConsents(w.case_id), CryptoError::kBadSignature, "signed for it");
  }
  SECTION("a withdrawal signed by a device of another organisation") {
    TestDevice& outsider = w.world.AdmitOrganisation("Annan organisation");
    auto forged = SignConsentWithdrawal(
        ConsentWithdrawal{other, w.case_id, w.world.clock().NowUnixMillis(), outsider.keys.device_id},
        outsider.keys.device.signing());
    REQUIRE(forged.ok());
    Exec(db, "UPDATE consents SET withdrawn_at = 1767225600000, withdrawal = " + Blob(forged->bytes) +
                 ", withdrawal_signature = " + Blob(forged->signature.span()) +
                 " WHERE consent_id = " + Blob(other.span()));
    RequireCaught(w.referrals->ListConsents(w.case_id), CryptoError::kBadSignature, "signed for it");
    CHECK_FALSE(w.anna.client->remembered_history(HistoryKind::kConsentWithdrawal, other).has_value());
  }
  CHECK(w.anna.client->remembered_history(HistoryKind::kConsentWithdrawal, consent) == seen);
}

TEST_CASE("a server that hides a consent withdrawal a device has seen is caught after the CLI restarts",
          "[adversarial]") {
  ConsentWorld w;
  const Id128 consent = w.Consent();
  REQUIRE(w.referrals->WithdrawConsent(w.case_id, consent).ok());
  const std::optional<HistoryHead> seen =
      w.anna.client->remembered_history(HistoryKind::kConsentWithdrawal, consent);
  REQUIRE(seen.has_value());

  // The consent reads as never withdrawn: a server that wants referrals
  // on it to go on.
  Exec(w.world.db_path(), "UPDATE consents SET withdrawn_at = NULL, withdrawal = NULL, withdrawal_signature = NULL "
                          "WHERE consent_id = " + Blob(consent.span()));
  CHECK(QueryInt(w.world.db_path(), "SELECT count(*) FROM consents WHERE withdrawn_at IS NULL") == 1);
  w.NextRun();
  RequireCaught(w.referrals->ListConsents(w.case_id), CryptoError::kRollback, "rollback");
  CHECK(w.anna.client->remembered_history(HistoryKind::kConsentWithdrawal, consent) == seen);
}

}  // namespace
}  // namespace trygg::adversarial_consent_withdrawal
