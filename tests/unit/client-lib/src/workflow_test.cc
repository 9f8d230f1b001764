// SPDX-License-Identifier: Apache-2.0

// The signed objects of the referral workflow: exact layouts, every range
// check, every bit, every context; and the encrypted blobs.
#include "trygg/workflow.h"

#include <catch2/catch.hpp>

#include <functional>
#include <string>

#include "crypto_test_util.h"
#include "trygg/random.h"
#include "trygg/record.h"

namespace trygg {
namespace {

using testing::IdFromByte;
using testing::Text;
using absl::StatusCode;

constexpr int64_t kT0 = 1767225600000;  // 2026-01-01T00:00:00Z
constexpr int64_t kDay = 24 * 3600 * 1000;

Hash256 HashFromByte(uint8_t byte) { return Blake2b256(std::vector<uint8_t>(1, byte)); }

ConsentRecord SampleConsent() {
  ConsentRecord consent;
  consent.consent_id = IdFromByte(0x11);
  consent.case_id = IdFromByte(0x22);
  consent.to_org_id = IdFromByte(0x33);
  consent.services = ServiceBit(1) | ServiceBit(2);  // shelter, legal advice
  consent.purpose = ConsentPurpose::kReferralForServices;
  consent.recorded_at_ms = kT0;
  consent.expires_at_ms = kT0 + 90 * kDay;
  consent.evidence_hash = HashFromByte(1);
  consent.recorder_device_id = IdFromByte(0x44);
  return consent;
}

ConsentWithdrawal SampleWithdrawal() {
  ConsentWithdrawal withdrawal;
  withdrawal.consent_id = IdFromByte(0x11);
  withdrawal.case_id = IdFromByte(0x22);
  withdrawal.withdrawn_at_ms = kT0 + kDay;
  withdrawal.device_id = IdFromByte(0x44);
  return withdrawal;
}

ReferralRecord SampleReferral() {
  ReferralRecord referral;
  referral.referral_id = IdFromByte(0x55);
  referral.case_id = IdFromByte(0x22);
  referral.from_org_id = IdFromByte(0x66);
  referral.to_org_id = IdFromByte(0x33);
  referral.listing_id = IdFromByte(0x77);
  referral.service = 1;
  referral.urgency = ReferralUrgency::kUrgent;
  referral.basis = ReferralBasis::kConsent;
  referral.consent_id = IdFromByte(0x11);
  referral.created_at_ms = kT0 + 2 * kDay;
  referral.packet_hash = HashFromByte(2);
  referral.sender_device_id = IdFromByte(0x44);
  return referral;
}

ReferralTransition SampleTransition() {
  ReferralTransition transition;
  transition.referral_id = IdFromByte(0x55);
  transition.from_state = 1;  // SENT
  transition.to_state = 3;    // DECLINED
  transition.code = 1;        // NO_CAPACITY
  transition.actor_device_id = IdFromByte(0x88);
  transition.at_ms = kT0 + 3 * kDay;
  return transition;
}

ErasureStatement SampleErasure() {
  ErasureStatement statement;
  statement.case_id = IdFromByte(0x22);
  statement.erased_at_ms = kT0 + 4 * kDay;
  statement.device_id = IdFromByte(0x44);
  return statement;
}

// One structure, seen through its functions, so every property below runs on
// all five.
struct Kind {
  std::string name;
  SigningContext context;
  size_t size;
  std::vector<uint8_t> bytes;  // the sample, serialised
  std::function<absl::Status(std::span<const uint8_t>)> parse;
  std::function<absl::StatusOr<SignedObject>(const SigningKeyPair&)> sign;
  std::function<absl::Status(const SignedObject&, const SignPublicKey&)> verify;
};

std::vector<Kind> AllKinds() {
  std::vector<Kind> kinds;
  kinds.push_back({"consent", SigningContext::kConsent, kConsentRecordSize,
                   SerializeConsentRecord(SampleConsent()),
                   [](auto b) { return ParseConsentRecord(b).status(); },
                   [](const auto& k) { return SignConsentRecord(SampleConsent(), k); },
                   [](const auto& o, const auto& pk) { return VerifyConsentRecord(o, pk).status(); }});
  kinds.push_back({"withdrawal", SigningContext::kConsentWithdrawal, kConsentWithdrawalSize,
                   SerializeConsentWithdrawal(SampleWithdrawal()),
                   [](auto b) { return ParseConsentWithdrawal(b).status(); },
                   [](const auto& k) { return SignConsentWithdrawal(SampleWithdrawal(), k); },
                   [](const auto& o, const auto& pk) { return VerifyConsentWithdrawal(o, pk).status(); }});
  kinds.push_back({"referral", SigningContext::kReferral, kReferralRecordSize,
                   SerializeReferralRecord(SampleReferral()),
                   [](auto b) { return ParseReferralRecord(b).status(); },
                   [](const auto& k) { return SignReferralRecord(SampleReferral(), k); },
                   [](const auto& o, const auto& pk) { return VerifyReferralRecord(o, pk).status(); }});
  kinds.push_back({"transition", SigningContext::kTransition, kReferralTransitionSize,
                   SerializeReferralTransition(SampleTransition()),
                   [](auto b) { return ParseReferralTransition(b).status(); },
                   [](const auto& k) { return SignReferralTransition(SampleTransition(), k); },
                   [](const auto& o, const auto& pk) { return VerifyReferralTransition(o, pk).status(); }});
  kinds.push_back({"erasure", SigningContext::kErasure, kErasureStatementSize,
                   SerializeErasureStatement(SampleErasure()),
                   [](auto b) { return ParseErasureStatement(b).status(); },
                   [](const auto& k) { return SignErasureStatement(SampleErasure(), k); },
                   [](const auto& o, const auto& pk) { return VerifyErasureStatement(o, pk).status(); }});
  return kinds;
}

TEST_CASE("workflow contexts are the documented ones", "[crypto][workflow]") {
  CHECK(ContextString(SigningContext::kConsent) == "trygg/v1/consent");
  CHECK(ContextString(SigningContext::kConsentWithdrawal) == "trygg/v2/consent-withdrawal");
  CHECK(ContextString(SigningContext::kReferral) == "trygg/v1/referral");
  CHECK(ContextString(SigningContext::kErasure) == "trygg/v1/erasure");
  CHECK(ContextString(SigningContext::kTransition) == "trygg/v1/transition");
}

TEST_CASE("workflow objects round-trip with their exact sizes and magics", "[crypto][workflow]") {
  DeterministicRng rng(21);
  const SigningKeyPair device = GenerateSigningKeyPair(rng);

  auto consent = VerifyConsentRecord(*SignConsentRecord(SampleConsent(), device), device.public_key);
  REQUIRE(consent.ok());
  CHECK(SerializeConsentRecord(*consent) == SerializeConsentRecord(SampleConsent()));
  CHECK(consent->services == 0x0006);
  CHECK(consent->purpose == ConsentPurpose::kReferralForServices);

  auto withdrawal =
      VerifyConsentWithdrawal(*SignConsentWithdrawal(SampleWithdrawal(), device), device.public_key);
  REQUIRE(withdrawal.ok());
  CHECK(SerializeConsentWithdrawal(*withdrawal) == SerializeConsentWithdrawal(SampleWithdrawal()));

  auto referral = VerifyReferralRecord(*SignReferralRecord(SampleReferral(), device), device.public_key);
  REQUIRE(referral.ok());
  CHECK(SerializeReferralRecord(*referral) == SerializeReferralRecord(SampleReferral()));
  CHECK(referral->urgency == ReferralUrgency::kUrgent);

  ReferralRecord vital = SampleReferral();
  vital.basis = ReferralBasis::kVitalInterests;
  vital.consent_id = Id128();
  vital.justification_hash = HashFromByte(3);
  auto parsed_vital = ParseReferralRecord(SerializeReferralRecord(vital));
  REQUIRE(parsed_vital.ok());
  CHECK(parsed_vital->basis == ReferralBasis::kVitalInterests);
  CHECK(parsed_vital->justification_hash == vital.justification_hash);

  auto transition =
      VerifyReferralTransition(*SignReferralTransition(SampleTransition(), device), device.public_key);
  REQUIRE(transition.ok());
  CHECK(SerializeReferralTransition(*transition) == SerializeReferralTransition(SampleTransition()));

  auto erasure = VerifyErasureStatement(*SignErasureStatement(SampleErasure(), device), device.public_key);
  REQUIRE(erasure.ok());
  CHECK(SerializeErasureStatement(*erasure) == SerializeErasureStatement(SampleErasure()));

  const std::vector<std::pair<std::string, std::string>> magics = {
      {"consent", "TCN1"}, {"withdrawal", "TCW1"}, {"referral", "TRF1"},
      {"transition", "TRT1"}, {"erasure", "TCE1"}};
  const std::vector<Kind> kinds = AllKinds();
  for (size_t k = 0; k < kinds.size(); ++k) {
    INFO(kinds[k].name);
    REQUIRE(kinds[k].bytes.size() == kinds[k].size);
    CHECK(std::string(kinds[k].bytes.begin(), kinds[k].bytes.begin() + 4) == magics[k].second);
    // Withdrawals are format 2: their own signing context (protocol.md 2).
    CHECK(kinds[k].bytes[4] == (kinds[k].name == "withdrawal" ? 0x02 : 0x01));
  }
}

TEST_CASE("a referral record's layout is byte-exact", "[crypto][workflow]") {
  const std::vector<uint8_t> bytes = SerializeReferralRecord(SampleReferral());
  CHECK(HexEncode(std::span(bytes).subspan(0, 5)) == "5452463101");
  CHECK(bytes[85] == 1);   // service
  CHECK(bytes[86] == 2);   // urgency
  CHECK(bytes[87] == 1);   // basis
  CHECK(bytes[88] == 0x11);  // consent_id
  CHECK(HexEncode(std::span(bytes).subspan(104, 8)) == "0000019b81276000");  // created_at
  CHECK(Hash256::FromSpan(std::span(bytes).subspan(112, 32)).value() == HashFromByte(2));
  CHECK(Hash256::FromSpan(std::span(bytes).subspan(144, 32)).value().IsZero());
  CHECK(bytes[176] == 0x44);
}

TEST_CASE("every single-bit flip of every workflow object is refused", "[crypto][workflow]") {
  DeterministicRng rng(22);
  const SigningKeyPair device = GenerateSigningKeyPair(rng);
  for (const Kind& kind : AllKinds()) {
    INFO(kind.name);
    auto signed_object = kind.sign(device);
    REQUIRE(signed_object.ok());
    REQUIRE(kind.verify(*signed_object, device.public_key).ok());
    size_t accepted = 0;
    for (size_t i = 0; i < signed_object->bytes.size(); ++i) {
      for (int bit = 0; bit < 8; ++bit) {
        SignedObject flipped = *signed_object;
        flipped.bytes[i] ^= static_cast<uint8_t>(1u << bit);
        if (kind.verify(flipped, device.public_key).ok()) ++accepted;
      }
    }
    for (size_t i = 0; i < Signature::size(); ++i) {
      for (int bit = 0; bit < 8; ++bit) {
        SignedObject flipped = *signed_object;
        flipped.signature.data()[i] ^= static_cast<uint8_t>(1u << bit);
        REQUIRE_CRYPTO_ERROR(kind.verify(flipped, device.public_key), StatusCode::kPermissionDenied,
                             CryptoError::kBadSignature);
      }
    }
    CHECK(accepted == 0);
  }
}

TEST_CASE("a workflow signature verifies only under its own context, key and kind", "[crypto][workflow]") {
  DeterministicRng rng(23);
  const SigningKeyPair device = GenerateSigningKeyPair(rng);
  const SigningKeyPair other = GenerateSigningKeyPair(rng);
  const std::vector<Kind> kinds = AllKinds();
  for (const Kind& kind : kinds) {
    INFO(kind.name);
    auto signed_object = kind.sign(device);
    REQUIRE(signed_object.ok());
    REQUIRE_CRYPTO_ERROR(kind.verify(*signed_object, other.public_key), StatusCode::kPermissionDenied,
                         CryptoError::kBadSignature);
    // The same bytes and signature, relabelled under any other context.
    for (int c = 0; c <= static_cast<int>(SigningContext::kErasure); ++c) {
      const auto context = static_cast<SigningContext>(c);
      INFO(ContextString(context));
      const absl::Status status =
          Verify(device.public_key, context, signed_object->bytes, signed_object->signature);
      if (context == kind.context) {
        CHECK(status.ok());
      } else {
        REQUIRE_CRYPTO_ERROR(status, StatusCode::kPermissionDenied, CryptoError::kBadSignature);
      }
    }
    // Presented as another kind of workflow object: refused by its magic.
    for (const Kind& as : kinds) {
      if (as.name == kind.name) continue;
      INFO("as " << as.name);
      REQUIRE_CRYPTO_ERROR(as.verify(*signed_object, device.public_key), StatusCode::kInvalidArgument,
                           CryptoError::kUnknownMagic);
    }
  }
}

TEST_CASE("workflow parsers refuse wrong lengths, magics and formats", "[crypto][workflow]") {
  for (const Kind& kind : AllKinds()) {
    INFO(kind.name);
    REQUIRE(kind.parse(kind.bytes).ok());
    std::vector<uint8_t> truncated = kind.bytes;
    truncated.pop_back();
    REQUIRE_CRYPTO_ERROR(kind.parse(truncated), StatusCode::kInvalidArgument, CryptoError::kMalformed);
    std::vector<uint8_t> trailing = kind.bytes;
    trailing.push_back(0);
    REQUIRE_CRYPTO_ERROR(kind.parse(trailing), StatusCode::kInvalidArgument, CryptoError::kMalformed);
    REQUIRE_CRYPTO_ERROR(kind.parse({}), StatusCode::kInvalidArgument, CryptoError::kMalformed);
    REQUIRE_CRYPTO_ERROR(kind.parse(std::span(kind.bytes).first(5)), StatusCode::kInvalidArgument,
                         CryptoError::kMalformed);
    std::vector<uint8_t> magic = kind.bytes;
    magic[0] ^= 0x01;
    REQUIRE_CRYPTO_ERROR(kind.parse(magic), StatusCode::kInvalidArgument, CryptoError::kUnknownMagic);
    std::vector<uint8_t> format = kind.bytes;
    format[4] = 3;
    REQUIRE_CRYPTO_ERROR(kind.parse(format), StatusCode::kFailedPrecondition, CryptoError::kUnknownFormat);
    if (kind.bytes[4] == 2) {
      format[4] = 1;  // before its own context: refused, not misread
      REQUIRE_CRYPTO_ERROR(kind.parse(format), StatusCode::kFailedPrecondition, CryptoError::kFormatTooOld);
    }
  }
  // "TER1" is an enrolment request, not an erasure statement.
  std::vector<uint8_t> enrolment_magic = SerializeErasureStatement(SampleErasure());
  enrolment_magic[1] = 'E';
  enrolment_magic[2] = 'R';
  REQUIRE_CRYPTO_ERROR(ParseErasureStatement(enrolment_magic).status(), StatusCode::kInvalidArgument,
                       CryptoError::kUnknownMagic);
}

// Serialises `value`, then expects Parse and Sign both to refuse it as malformed.
template <typename T, typename SerializeFn, typename ParseFn, typename SignFn>
void ExpectMalformed(const T& value, SerializeFn serialize, ParseFn parse, SignFn sign) {
  DeterministicRng rng(24);
  const SigningKeyPair device = GenerateSigningKeyPair(rng);
  REQUIRE_CRYPTO_ERROR(parse(serialize(value)).status(), StatusCode::kInvalidArgument,
                       CryptoError::kMalformed);
  REQUIRE_CRYPTO_ERROR(sign(value, device).status(), StatusCode::kInvalidArgument,
                       CryptoError::kMalformed);
}

TEST_CASE("consent records: every field out of range is refused, also for signing", "[crypto][workflow]") {
  auto bad = [](const ConsentRecord& consent) {
    ExpectMalformed(consent, SerializeConsentRecord, ParseConsentRecord, SignConsentRecord);
  };
  ConsentRecord c = SampleConsent();
  SECTION("purpose") {
    c.purpose = static_cast<ConsentPurpose>(0);
    bad(c);
    c.purpose = static_cast<ConsentPurpose>(6);
    bad(c);
    c.purpose = ConsentPurpose::kOther;
    CHECK(ParseConsentRecord(SerializeConsentRecord(c)).ok());
  }
  SECTION("services: empty, bit 0, bits above 9") {
    c.services = 0;
    bad(c);
    c.services = 0x0001;
    bad(c);
    c.services = 0x0400;
    bad(c);
    c.services = 0x8002;
    bad(c);
    c.services = kAllServicesMask;
    CHECK(ParseConsentRecord(SerializeConsentRecord(c)).ok());
  }
  SECTION("expiry not after recording") {
    c.expires_at_ms = c.recorded_at_ms;
    bad(c);
  }
  SECTION("zero ids and evidence") {
    ConsentRecord z = c;
    z.consent_id = Id128();
    bad(z);
    z = c;
    z.case_id = Id128();
    bad(z);
    z = c;
    z.evidence_hash = Hash256();
    bad(z);
    z = c;
    z.recorder_device_id = Id128();
    bad(z);
    z = c;
    z.to_org_id = Id128();  // any member organisation: allowed
    CHECK(ParseConsentRecord(SerializeConsentRecord(z)).ok());
  }
}

TEST_CASE("referral records: enums, basis and its fields are checked", "[crypto][workflow]") {
  auto bad = [](const ReferralRecord& referral) {
    ExpectMalformed(referral, SerializeReferralRecord, ParseReferralRecord, SignReferralRecord);
  };
  ReferralRecord r = SampleReferral();
  SECTION("service") {
    r.service = 0;
    bad(r);
    r.service = 10;
    bad(r);
    r.service = 9;
    CHECK(ParseReferralRecord(SerializeReferralRecord(r)).ok());
  }
  SECTION("urgency") {
    r.urgency = static_cast<ReferralUrgency>(0);
    bad(r);
    r.urgency = static_cast<ReferralUrgency>(4);
    bad(r);
    r.urgency = ReferralUrgency::kEmergency;
    CHECK(ParseReferralRecord(SerializeReferralRecord(r)).ok());
  }
  SECTION("basis") {
    r.basis = static_cast<ReferralBasis>(0);
    bad(r);
    r.basis = static_cast<ReferralBasis>(3);
    bad(r);
  }
  SECTION("consent basis needs a consent id and no justification") {
    ReferralRecord no_consent = r;
    no_consent.consent_id = Id128();
    bad(no_consent);
    ReferralRecord with_justification = r;
    with_justification.justification_hash = HashFromByte(3);
    bad(with_justification);
  }
  SECTION("vital interests need a justification and no consent id") {
    r.basis = ReferralBasis::kVitalInterests;
    r.justification_hash = HashFromByte(3);
    ReferralRecord with_consent = r;
    bad(with_consent);
    r.consent_id = Id128();
    CHECK(ParseReferralRecord(SerializeReferralRecord(r)).ok());
    r.justification_hash = Hash256();
    bad(r);
  }
  SECTION("zero ids and packet hash") {
    for (Id128 ReferralRecord::*field :
         {&ReferralRecord::referral_id, &ReferralRecord::case_id, &ReferralRecord::from_org_id,
          &ReferralRecord::to_org_id, &ReferralRecord::listing_id, &ReferralRecord::sender_device_id}) {
      ReferralRecord z = r;
      z.*field = Id128();
      bad(z);
    }
    r.packet_hash = Hash256();
    bad(r);
  }
}

TEST_CASE("referral transitions: states and codes are range-checked", "[crypto][workflow]") {
  auto bad = [](const ReferralTransition& transition) {
    ExpectMalformed(transition, SerializeReferralTransition, ParseReferralTransition,
                    SignReferralTransition);
  };
  auto ok = [](const ReferralTransition& transition) {
    return ParseReferralTransition(SerializeReferralTransition(transition)).ok();
  };
  ReferralTransition t = SampleTransition();
  for (uint8_t state : {uint8_t{0}, uint8_t{8}, uint8_t{0xff}}) {
    ReferralTransition from = t;
    from.from_state = state;
    bad(from);
    ReferralTransition to = t;
    to.to_state = state;
    to.code = 0;
    bad(to);
  }
  // DECLINED takes a decline reason 1..6.
  t.code = 6;
  CHECK(ok(t));
  t.code = 7;
  bad(t);
  // COMPLETED takes an outcome 1..5.
  t.from_state = 2;
  t.to_state = 6;
  t.code = 5;
  CHECK(ok(t));
  t.code = 6;
  bad(t);
  // Any other state takes no code.
  t.from_state = 1;
  t.to_state = 2;
  t.code = 0;
  CHECK(ok(t));
  t.code = 1;
  bad(t);
  // The parser checks ranges only: SENT -> SENT is the server's to refuse.
  t.to_state = 1;
  t.code = 0;
  CHECK(ok(t));
  t.actor_device_id = Id128();
  bad(t);
}

TEST_CASE("withdrawals and erasure statements refuse zero ids", "[crypto][workflow]") {
  ConsentWithdrawal w = SampleWithdrawal();
  w.consent_id = Id128();
  ExpectMalformed(w, SerializeConsentWithdrawal, ParseConsentWithdrawal, SignConsentWithdrawal);
  w = SampleWithdrawal();
  w.device_id = Id128();
  ExpectMalformed(w, SerializeConsentWithdrawal, ParseConsentWithdrawal, SignConsentWithdrawal);
  ErasureStatement e = SampleErasure();
  e.case_id = Id128();
  ExpectMalformed(e, SerializeErasureStatement, ParseErasureStatement, SignErasureStatement);
  e = SampleErasure();
  e.device_id = Id128();
  ExpectMalformed(e, SerializeErasureStatement, ParseErasureStatement, SignErasureStatement);
}

TEST_CASE("ConsentCovers: organisation, service and expiry", "[crypto][workflow]") {
  const ConsentRecord named = SampleConsent();
  const Id128 receiver = named.to_org_id;
  const Id128 stranger = IdFromByte(0x99);
  const int64_t now = kT0 + kDay;

  CHECK(ConsentCovers(named, receiver, 1, now));
  CHECK(ConsentCovers(named, receiver, 2, now));
  CHECK_FALSE(ConsentCovers(named, stranger, 1, now));
  CHECK_FALSE(ConsentCovers(named, receiver, 3, now));  // interpreting: not consented
  CHECK_FALSE(ConsentCovers(named, receiver, 0, now));
  CHECK_FALSE(ConsentCovers(named, receiver, 10, now));
  CHECK_FALSE(ConsentCovers(named, receiver, 15, now));  // would be bit 15
  CHECK(ConsentCovers(named, receiver, 1, named.expires_at_ms - 1));
  CHECK_FALSE(ConsentCovers(named, receiver, 1, named.expires_at_ms));
  CHECK_FALSE(ConsentCovers(named, receiver, 1, named.expires_at_ms + kDay));

  ConsentRecord any = named;
  any.to_org_id = Id128();
  CHECK(ConsentCovers(any, receiver, 1, now));
  CHECK(ConsentCovers(any, stranger, 2, now));
  CHECK_FALSE(ConsentCovers(any, stranger, 9, now));
  CHECK_FALSE(ConsentCovers(any, stranger, 1, any.expires_at_ms));

  CHECK(ServiceBit(1) == 0x0002);
  CHECK(ServiceBit(9) == 0x0200);
  CHECK(ServiceBit(0) == 0);
  CHECK(ServiceBit(10) == 0);
}

TEST_CASE("encrypted blobs hide lengths and bind kind and object", "[crypto][workflow]") {
  DeterministicRng rng(25);
  SecretKey key;
  rng.Fill(key.span());
  SecretKey other_key;
  rng.Fill(other_key.span());
  const Id128 consent_id = IdFromByte(0x11);
  const std::vector<uint8_t> evidence = Text("Survivor agreed orally, interpreter present, 2026-01-01.");

  auto blob = SealBlob(BlobKind::kConsentEvidence, consent_id, evidence, key, rng);
  REQUIRE(blob.ok());
  CHECK(blob->size() == kBlobOverhead + kBlobPadBlockSize);
  CHECK(HexEncode(std::span(*blob).first(6)) == "544542310101");
  auto opened = OpenBlob(BlobKind::kConsentEvidence, consent_id, *blob, key);
  REQUIRE(opened.ok());
  CHECK(*opened == evidence);

  // Lengths are visible only in 256-byte blocks.
  for (size_t len : {size_t{0}, size_t{1}, size_t{255}}) {
    auto b = SealBlob(BlobKind::kConsentEvidence, consent_id, std::vector<uint8_t>(len, 'x'), key, rng);
    REQUIRE(b.ok());
    CHECK(b->size() == kBlobOverhead + 256);
    CHECK(OpenBlob(BlobKind::kConsentEvidence, consent_id, *b, key)->size() == len);
  }
  auto two_blocks = SealBlob(BlobKind::kConsentEvidence, consent_id, std::vector<uint8_t>(256, 'x'), key, rng);
  CHECK(two_blocks->size() == kBlobOverhead + 512);
  auto largest = SealBlob(BlobKind::kReferralJustification, consent_id,
                          std::vector<uint8_t>(kMaxBlobPlaintextBytes, 'x'), key, rng);
  REQUIRE(largest.ok());
  CHECK(OpenBlob(BlobKind::kReferralJustification, consent_id, *largest, key)->size() ==
        kMaxBlobPlaintextBytes);
  REQUIRE_CRYPTO_ERROR(SealBlob(BlobKind::kReferralJustification, consent_id,
                                std::vector<uint8_t>(kMaxBlobPlaintextBytes + 1, 'x'), key, rng)
                           .status(),
                       StatusCode::kInvalidArgument, CryptoError::kMalformed);

  REQUIRE_CRYPTO_ERROR(OpenBlob(BlobKind::kConsentEvidence, IdFromByte(0x12), *blob, key).status(),
                       StatusCode::kPermissionDenied, CryptoError::kDecryptFailed);
  REQUIRE_CRYPTO_ERROR(OpenBlob(BlobKind::kConsentEvidence, consent_id, *blob, other_key).status(),
                       StatusCode::kPermissionDenied, CryptoError::kDecryptFailed);
  REQUIRE_CRYPTO_ERROR(OpenBlob(BlobKind::kReferralJustification, consent_id, *blob, key).status(),
                       StatusCode::kInvalidArgument, CryptoError::kWrongKind);
  // Relabelling the kind byte does not help: the kind is in the AD.
  std::vector<uint8_t> relabelled = *blob;
  relabelled[5] = static_cast<uint8_t>(BlobKind::kReferralJustification);
  REQUIRE_CRYPTO_ERROR(OpenBlob(BlobKind::kReferralJustification, consent_id, relabelled, key).status(),
                       StatusCode::kPermissionDenied, CryptoError::kDecryptFailed);

  for (size_t i = 6; i < blob->size(); ++i) {
    std::vector<uint8_t> flipped = *blob;
    flipped[i] ^= 0x80;
    INFO("byte " << i);
    REQUIRE_CRYPTO_ERROR(OpenBlob(BlobKind::kConsentEvidence, consent_id, flipped, key).status(),
                         StatusCode::kPermissionDenied, CryptoError::kDecryptFailed);
  }
  std::vector<uint8_t> magic = *blob;
  magic[0] = 'X';
  REQUIRE_CRYPTO_ERROR(OpenBlob(BlobKind::kConsentEvidence, consent_id, magic, key).status(),
                       StatusCode::kInvalidArgument, CryptoError::kUnknownMagic);
  std::vector<uint8_t> format = *blob;
  format[4] = 2;
  REQUIRE_CRYPTO_ERROR(OpenBlob(BlobKind::kConsentEvidence, consent_id, format, key).status(),
                       StatusCode::kFailedPrecondition, CryptoError::kUnknownFormat);
  for (size_t size : {size_t{0}, size_t{6}, kBlobOverhead, blob->size() - 1, blob->size() + 1}) {
    std::vector<uint8_t> resized = *blob;
    resized.resize(size);
    INFO("size " << size);
    REQUIRE_CRYPTO_ERROR(OpenBlob(BlobKind::kConsentEvidence, consent_id, resized, key).status(),
                         StatusCode::kInvalidArgument, CryptoError::kMalformed);
  }
  REQUIRE_CRYPTO_ERROR(OpenBlob(BlobKind::kConsentEvidence, consent_id,
                                std::vector<uint8_t>(kBlobOverhead + 65536 + 256, 0), key)
                           .status(),
                       StatusCode::kInvalidArgument, CryptoError::kUnknownMagic);
}

TEST_CASE("a referral names its packet by RecordHash and its blobs by H", "[crypto][workflow]") {
  // The hashes a referral carries are the existing ones, so a receiver checks
  // them with RecordHash and Blake2b256 and nothing new.
  DeterministicRng rng(26);
  SecretKey key;
  rng.Fill(key.span());
  auto justification =
      SealBlob(BlobKind::kReferralJustification, IdFromByte(0x55), Text("Immediate danger."), key, rng);
  REQUIRE(justification.ok());
  SealedRecord packet;
  packet.header.assign(kRecordHeaderSize, 0x42);
  packet.signature.data()[0] = 7;
  ReferralRecord referral = SampleReferral();
  referral.basis = ReferralBasis::kVitalInterests;
  referral.consent_id = Id128();
  referral.packet_hash = RecordHash(packet);
  referral.justification_hash = Blake2b256(*justification);
  const SigningKeyPair device = GenerateSigningKeyPair(rng);
  auto verified = VerifyReferralRecord(*SignReferralRecord(referral, device), device.public_key);
  REQUIRE(verified.ok());
  CHECK(verified->packet_hash == RecordHash(packet));
  CHECK(verified->justification_hash == Blake2b256(*justification));
}

}  // namespace
}  // namespace trygg
