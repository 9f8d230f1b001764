// SPDX-License-Identifier: Apache-2.0

// One signing context per kind of object (issue 11): consent records and
// withdrawals, and listings, capacity updates and retirements, used to share a
// context. A member who can get one kind signed tries to pass the signature
// off as another; the real verifiers, and a real tryggd, refuse, and nothing
// changes. Format-1 objects of the kinds that moved are refused as too old.
#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "testing/db_edit.h"
#include "testing/trust_world.h"
#include "trygg/case_client.h"
#include "trygg/crypto_error.h"
#include "trygg/directory_client.h"
#include "trygg/listing.h"
#include "trygg/referral_client.h"
#include "trygg/signing.h"
#include "trygg/workflow.h"
#include "trygg/v1/case.grpc.pb.h"

namespace trygg::adversarial_signing_context {
namespace {

using testing::QueryInt;
using testing::TestDevice;
using testing::TrustWorld;

std::vector<uint8_t> Text(std::string_view s) { return {s.begin(), s.end()}; }
std::string Str(std::span<const uint8_t> bytes) { return {bytes.begin(), bytes.end()}; }

const std::vector<SigningContext>& AllContexts() {
  static const std::vector<SigningContext> all = {
      SigningContext::kRecord,          SigningContext::kGrant,
      SigningContext::kOrgCert,         SigningContext::kDeviceCert,
      SigningContext::kOrgLog,          SigningContext::kTransition,
      SigningContext::kTreeHead,        SigningContext::kListing,
      SigningContext::kSession,         SigningContext::kEnrolment,
      SigningContext::kCoordinatorCert, SigningContext::kServerCert,
      SigningContext::kConsent,         SigningContext::kReferral,
      SigningContext::kErasure,         SigningContext::kConsentWithdrawal,
      SigningContext::kListingCapacity, SigningContext::kListingRetirement,
      SigningContext::kRestoreNotice};
  return all;
}

bool IsBadSignature(const absl::Status& status) { return GetCryptoError(status) == CryptoError::kBadSignature; }

TEST_CASE("a signature made for any one kind of object verifies as no other kind", "[adversarial][signing]") {
  DeterministicRng rng{0xc1};
  const SigningKeyPair key = GenerateSigningKeyPair(rng);
  const std::vector<uint8_t> message = Text("the same bytes, whatever kind they claim to be");
  std::set<std::string> strings;
  for (SigningContext signed_as : AllContexts()) {
    strings.insert(std::string(ContextString(signed_as)));
    const Signature signature = Sign(key, signed_as, message);
    for (SigningContext checked_as : AllContexts()) {
      INFO(ContextString(signed_as) << " checked as " << ContextString(checked_as));
      const absl::Status status = Verify(key.public_key, checked_as, message, signature);
      if (signed_as == checked_as) {
        CHECK(status.ok());
      } else {
        CHECK(IsBadSignature(status));
      }
    }
  }
  CHECK(strings.size() == AllContexts().size());  // no two kinds share a string
}

// Each formerly shared kind, signed under every context but its own, and
// checked by its real verifier.
TEST_CASE("a consent signature cannot be passed off as a withdrawal, nor the reverse", "[adversarial][signing]") {
  DeterministicRng rng{0xc2};
  const SigningKeyPair device = GenerateSigningKeyPair(rng);
  ConsentRecord consent;
  consent.consent_id = Id128(std::array<uint8_t, 16>{0xc1});
  consent.case_id = Id128(std::array<uint8_t, 16>{0xca});
  consent.services = ServiceBit(2);
  consent.recorded_at_ms = 1'767'225'600'000;
  consent.expires_at_ms = consent.recorded_at_ms + 86'400'000;
  consent.recorder_device_id = Id128(std::array<uint8_t, 16>{0xde});
  consent.evidence_hash = Blake2b256(Text("sealed evidence"));
  const ConsentWithdrawal withdrawal{consent.consent_id, consent.case_id, consent.recorded_at_ms + 1000,
                                     consent.recorder_device_id};
  auto good_consent = SignConsentRecord(consent, device);
  auto good_withdrawal = SignConsentWithdrawal(withdrawal, device);
  INFO(good_consent.status().ToString() << " / " << good_withdrawal.status().ToString());
  REQUIRE(good_consent.ok());
  REQUIRE(good_withdrawal.ok());
  REQUIRE(VerifyConsentRecord(*good_consent, device.public_key).ok());
  REQUIRE(VerifyConsentWithdrawal(*good_withdrawal, device.public_key).ok());
  for (SigningContext other : AllContexts()) {
    INFO("signed as " << ContextString(other));
    if (other != SigningContext::kConsent) {
      SignedObject c{good_consent->bytes, Sign(device, other, good_consent->bytes)};
      CHECK(IsBadSignature(VerifyConsentRecord(c, device.public_key).status()));
    }
    if (other != SigningContext::kConsentWithdrawal) {
      SignedObject w{good_withdrawal->bytes, Sign(device, other, good_withdrawal->bytes)};
      CHECK(IsBadSignature(VerifyConsentWithdrawal(w, device.public_key).status()));
    }
  }
}

TEST_CASE("a listing's signature cannot be passed off as a capacity update or a retirement, nor the reverse",
          "[adversarial][signing]") {
  DeterministicRng rng{0xc3};
  const SigningKeyPair admin = GenerateSigningKeyPair(rng);
  const Id128 listing_id(std::array<uint8_t, 16>{0x11}), org(std::array<uint8_t, 16>{0x22}),
      signer(std::array<uint8_t, 16>{0x33});
  const std::vector<uint8_t> capacity = SerializeCapacityUpdate({listing_id, org, 1, 3, 1'767'225'600'000, signer});
  const std::vector<uint8_t> retirement = SerializeRetirement({listing_id, org, 1, 1'767'225'600'000, signer});
  // The server's check (by magic) and the kinds' own contexts.
  const std::vector<std::pair<std::vector<uint8_t>, SigningContext>> objects = {
      {capacity, SigningContext::kListingCapacity}, {retirement, SigningContext::kListingRetirement}};
  for (const auto& [bytes, own] : objects) {
    CHECK(VerifyListingSignature({bytes, Sign(admin, own, bytes)}, admin.public_key).ok());
    for (SigningContext other : AllContexts()) {
      if (other == own) continue;
      INFO(ContextString(own) << " object signed as " << ContextString(other));
      CHECK(IsBadSignature(VerifyListingSignature({bytes, Sign(admin, other, bytes)}, admin.public_key)));
    }
  }
}

// A real tryggd with a case, a consent, and a listing, for the attacks that
// go through the server.
struct ContextWorld {
  TrustWorld world;
  TestDevice& admin = world.AdmitOrganisation("Stödlinjen");
  TestDevice& anna = world.AddDevice(admin, Role::kCaseworker);
  CaseClient cases{*anna.client, anna.keys, world.clock(), world.rng()};
  ReferralClient referrals{*anna.client, anna.keys, cases, world.clock(), world.rng()};
  DirectoryClient directory{*admin.client, admin.keys, world.clock(), world.rng()};
  Id128 case_id;
  Id128 consent_id;
  Listing listing;

  ContextWorld() {
    auto created = cases.CreateCase(Text("ärende"), 1);
    REQUIRE(created.ok());
    case_id = *created;
    ConsentTerms terms;
    terms.case_id = case_id;
    terms.services = ServiceBit(2);
    terms.expires_at_ms = world.clock().NowUnixMillis() + 86'400'000;
    terms.evidence = Text("Muntligt samtycke");
    auto consent = referrals.RecordConsent(terms);
    REQUIRE(consent.ok());
    consent_id = *consent;
    Listing l;
    l.category = static_cast<uint8_t>(ServiceCategory::kShelter);
    l.regions = {"SE-AB"};
    l.languages = {"sv"};
    l.capacity_free = 4;
    l.response_time_hours = 24;
    auto published = directory.Publish(l);
    REQUIRE(published.ok());
    listing = published->listing;
  }

  // Sends a signed withdrawal straight to the server, as a modified client would.
  grpc::StatusCode RawWithdraw(const SignedObject& statement) {
    trygg::v1::WithdrawConsentRequest request;
    request.set_request_id("raw-" + std::to_string(++requests_));
    request.set_consent_id(Str(consent_id.span()));
    request.mutable_statement()->set_bytes(Str(statement.bytes));
    request.mutable_statement()->set_signature(Str(statement.signature.span()));
    request.mutable_statement()->set_signer_id(Str(anna.keys.device_id.span()));
    trygg::v1::WithdrawConsentResponse response;
    auto context = anna.client->NewCallContext();
    return trygg::v1::CaseService::NewStub(anna.client->channel())
        ->WithdrawConsent(context.get(), request, &response)
        .error_code();
  }

  // The consent is still in force, as the server and a reading client see it.
  void CheckConsentStands() {
    CHECK(QueryInt(world.db_path(), "SELECT count(*) FROM consents WHERE withdrawn_at IS NULL") == 1);
    auto listed = referrals.ListConsents(case_id);
    REQUIRE(listed.ok());
    REQUIRE(listed->size() == 1);
    CHECK_FALSE(listed->front().withdrawn_at_ms.has_value());
  }

  // The listing's capacity and retirement are as published.
  void CheckListingStands() {
    auto got = directory.Get(listing.listing_id);
    REQUIRE(got.ok());
    CHECK(got->capacity_free == 4);
    CHECK_FALSE(got->retired());
  }

  int requests_ = 0;
};

TEST_CASE("a withdrawal signed under the consent record's context is refused by the server",
          "[adversarial][signing]") {
  ContextWorld w;
  const ConsentWithdrawal withdrawal{w.consent_id, w.case_id, w.world.clock().NowUnixMillis(), w.anna.keys.device_id};
  SignedObject statement;
  statement.bytes = SerializeConsentWithdrawal(withdrawal);
  statement.signature = Sign(w.anna.keys.device.signing(), SigningContext::kConsent, statement.bytes);
  const int64_t audit_before = QueryInt(w.world.db_path(), "SELECT count(*) FROM audit_entries");
  CHECK(w.RawWithdraw(statement) != grpc::StatusCode::OK);
  w.CheckConsentStands();
  CHECK(QueryInt(w.world.db_path(), "SELECT count(*) FROM audit_entries") == audit_before);
  // The control: the same bytes under the withdrawal's own context go through.
  statement.signature = Sign(w.anna.keys.device.signing(), SigningContext::kConsentWithdrawal, statement.bytes);
  CHECK(w.RawWithdraw(statement) == grpc::StatusCode::OK);
  CHECK(QueryInt(w.world.db_path(), "SELECT count(*) FROM consents WHERE withdrawn_at IS NOT NULL") == 1);
}

TEST_CASE("a capacity update or retirement signed under the listing's context is refused by the server",
          "[adversarial][signing]") {
  ContextWorld w;
  const Listing& l = w.listing;
  const SigningKeyPair& key = w.admin.keys.device.signing();
  const int64_t now = w.world.clock().NowUnixMillis();
  const std::vector<uint8_t> capacity =
      SerializeCapacityUpdate({l.listing_id, l.org_id, l.revision, 0, now, w.admin.keys.device_id});
  const std::vector<uint8_t> retirement =
      SerializeRetirement({l.listing_id, l.org_id, l.revision, now, w.admin.keys.device_id});
  for (SigningContext wrong : {SigningContext::kListing, SigningContext::kListingRetirement}) {
    INFO("capacity signed as " << ContextString(wrong));
    CHECK(w.directory.UpdateCapacitySigned(l.listing_id, {capacity, Sign(key, wrong, capacity)}).code() ==
          absl::StatusCode::kPermissionDenied);
  }
  for (SigningContext wrong : {SigningContext::kListing, SigningContext::kListingCapacity}) {
    INFO("retirement signed as " << ContextString(wrong));
    CHECK(w.directory.RetireSigned(l.listing_id, {retirement, Sign(key, wrong, retirement)}).code() ==
          absl::StatusCode::kPermissionDenied);
  }
  w.CheckListingStands();
  // The control: under their own contexts both go through.
  CHECK(w.directory.UpdateCapacitySigned(l.listing_id, {capacity, Sign(key, SigningContext::kListingCapacity, capacity)})
            .ok());
  CHECK(w.directory.RetireSigned(l.listing_id, {retirement, Sign(key, SigningContext::kListingRetirement, retirement)})
            .ok());
}

// Format 1 of a kind that moved: format byte 1, signed under the old shared context.
SignedObject FormatOne(std::vector<uint8_t> bytes, SigningContext old_context, const SigningKeyPair& key) {
  bytes[4] = 0x01;
  SignedObject out;
  out.bytes = bytes;
  out.signature = Sign(key, old_context, out.bytes);
  return out;
}

TEST_CASE("format-1 withdrawals, capacity updates and retirements signed under the shared contexts are refused",
          "[adversarial][signing]") {
  ContextWorld w;
  const Listing& l = w.listing;
  const int64_t now = w.world.clock().NowUnixMillis();
  const SignedObject withdrawal =
      FormatOne(SerializeConsentWithdrawal({w.consent_id, w.case_id, now, w.anna.keys.device_id}),
                SigningContext::kConsent, w.anna.keys.device.signing());
  const SignedObject capacity =
      FormatOne(SerializeCapacityUpdate({l.listing_id, l.org_id, l.revision, 0, now, w.admin.keys.device_id}),
                SigningContext::kListing, w.admin.keys.device.signing());
  const SignedObject retirement =
      FormatOne(SerializeRetirement({l.listing_id, l.org_id, l.revision, now, w.admin.keys.device_id}),
                SigningContext::kListing, w.admin.keys.device.signing());
  CHECK(GetCryptoError(ParseConsentWithdrawal(withdrawal.bytes).status()) == CryptoError::kFormatTooOld);
  CHECK(GetCryptoError(ParseCapacityUpdate(capacity.bytes).status()) == CryptoError::kFormatTooOld);
  CHECK(GetCryptoError(ParseRetirement(retirement.bytes).status()) == CryptoError::kFormatTooOld);

  CHECK(w.RawWithdraw(withdrawal) != grpc::StatusCode::OK);
  CHECK(w.directory.UpdateCapacitySigned(l.listing_id, capacity).code() != absl::StatusCode::kOk);
  CHECK(w.directory.RetireSigned(l.listing_id, retirement).code() != absl::StatusCode::kOk);
  w.CheckConsentStands();
  w.CheckListingStands();
}

}  // namespace
}  // namespace trygg::adversarial_signing_context
