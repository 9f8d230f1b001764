// SPDX-License-Identifier: Apache-2.0

#include "trygg/workflow.h"

#include <sodium.h>

#include <cstring>
#include <string>

#include "internal/byte_codec.h"
#include "internal/signed_layout.h"
#include "internal/sodium.h"
#include "trygg/crypto_error.h"
#include "trygg/referral_workflow.h"
#include "trygg/status_macros.h"

namespace trygg {
namespace {

using internal::ByteReader;
using internal::ByteWriter;
using internal::kFormatV1;
using internal::kFormatV2;
using internal::Malformed;
using internal::ReadFixed;
using internal::ReadPreamble;

constexpr uint8_t kConsentMagic[4] = {'T', 'C', 'N', '1'};
constexpr uint8_t kWithdrawalMagic[4] = {'T', 'C', 'W', '1'};
constexpr uint8_t kReferralMagic[4] = {'T', 'R', 'F', '1'};
constexpr uint8_t kTransitionMagic[4] = {'T', 'R', 'T', '1'};
// Not "TER2": "TER1" is an enrolment request, and a version-looking neighbour
// would invite confusion between the two.
constexpr uint8_t kErasureMagic[4] = {'T', 'C', 'E', '1'};
constexpr uint8_t kBlobMagic[4] = {'T', 'E', 'B', '1'};

constexpr uint8_t kStateDeclined = static_cast<uint8_t>(ReferralState::kDeclined);
constexpr uint8_t kStateCompleted = static_cast<uint8_t>(ReferralState::kCompleted);

// Every layout here is fixed, so the length is checked right after magic and
// format, before any field: a truncated or extended object is refused whatever
// its contents.
absl::Status CheckLength(std::span<const uint8_t> bytes, size_t expected, std::string_view what) {
  if (bytes.size() != expected) {
    return Malformed(what, "wrong length " + std::to_string(bytes.size()) + ", expected " +
                               std::to_string(expected));
  }
  return absl::OkStatus();
}

absl::Status RequireNonZero(const auto& value, std::string_view what, std::string_view field) {
  if (value.IsZero()) return Malformed(what, std::string(field) + " is all zero");
  return absl::OkStatus();
}

bool ValidService(uint8_t service) { return service >= 1 && service <= kMaxServiceCategory; }

// Parse(bytes) must accept what is about to be signed: a device never signs
// bytes that every verifier would refuse.
template <typename ParseFn>
absl::StatusOr<SignedObject> SignChecked(std::vector<uint8_t> bytes, ParseFn parse,
                                         const SigningKeyPair& device, SigningContext context) {
  TRYGG_RETURN_IF_ERROR(parse(bytes).status());
  SignedObject signed_object;
  signed_object.bytes = std::move(bytes);
  signed_object.signature = Sign(device, context, signed_object.bytes);
  return signed_object;
}

std::vector<uint8_t> BlobAd(BlobKind kind, const Id128& object_id) {
  std::vector<uint8_t> ad;
  ByteWriter out(ad);
  out.Bytes(kBlobMagic);
  out.U8(kFormatV1);
  out.U8(static_cast<uint8_t>(kind));
  out.Bytes(object_id.span());
  return ad;
}

}  // namespace

uint16_t ServiceBit(uint8_t service) {
  return ValidService(service) ? static_cast<uint16_t>(1u << service) : 0;
}

// --- Consent records -------------------------------------------------------

std::vector<uint8_t> SerializeConsentRecord(const ConsentRecord& consent) {
  std::vector<uint8_t> bytes;
  bytes.reserve(kConsentRecordSize);
  ByteWriter out(bytes);
  out.Bytes(kConsentMagic);
  out.U8(kFormatV1);
  out.Bytes(consent.consent_id.span());
  out.Bytes(consent.case_id.span());
  out.Bytes(consent.to_org_id.span());
  out.U16(consent.services);
  out.U8(static_cast<uint8_t>(consent.purpose));
  out.I64(consent.recorded_at_ms);
  out.I64(consent.expires_at_ms);
  out.Bytes(consent.evidence_hash.span());
  out.Bytes(consent.recorder_device_id.span());
  return bytes;
}

absl::StatusOr<ConsentRecord> ParseConsentRecord(std::span<const uint8_t> bytes) {
  constexpr std::string_view kWhat = "consent record";
  ByteReader in(bytes);
  TRYGG_RETURN_IF_ERROR(ReadPreamble(in, kConsentMagic, kWhat));
  TRYGG_RETURN_IF_ERROR(CheckLength(bytes, kConsentRecordSize, kWhat));
  ConsentRecord consent;
  consent.consent_id = ReadFixed<Id128>(in);
  consent.case_id = ReadFixed<Id128>(in);
  consent.to_org_id = ReadFixed<Id128>(in);
  consent.services = in.U16();
  const uint8_t purpose = in.U8();
  consent.recorded_at_ms = in.I64();
  consent.expires_at_ms = in.I64();
  consent.evidence_hash = ReadFixed<Hash256>(in);
  consent.recorder_device_id = ReadFixed<Id128>(in);
  if (!in.exhausted()) return Malformed(kWhat, "wrong length");
  TRYGG_RETURN_IF_ERROR(RequireNonZero(consent.consent_id, kWhat, "consent_id"));
  TRYGG_RETURN_IF_ERROR(RequireNonZero(consent.case_id, kWhat, "case_id"));
  TRYGG_RETURN_IF_ERROR(RequireNonZero(consent.evidence_hash, kWhat, "evidence_hash"));
  TRYGG_RETURN_IF_ERROR(RequireNonZero(consent.recorder_device_id, kWhat, "recorder_device_id"));
  if (consent.services == 0 || (consent.services & ~kAllServicesMask) != 0) {
    return Malformed(kWhat, "services must be a non-empty set of categories 1..9");
  }
  if (purpose < 1 || purpose > static_cast<uint8_t>(ConsentPurpose::kOther)) {
    return Malformed(kWhat, "unknown purpose " + std::to_string(purpose));
  }
  consent.purpose = static_cast<ConsentPurpose>(purpose);
  if (consent.expires_at_ms <= consent.recorded_at_ms) {
    return Malformed(kWhat, "expires before it was recorded");
  }
  return consent;
}

absl::StatusOr<SignedObject> SignConsentRecord(const ConsentRecord& consent,
                                               const SigningKeyPair& device) {
  return SignChecked(SerializeConsentRecord(consent), ParseConsentRecord, device,
                                    SigningContext::kConsent);
}

absl::StatusOr<ConsentRecord> VerifyConsentRecord(const SignedObject& consent,
                                                  const SignPublicKey& signer) {
  TRYGG_ASSIGN_OR_RETURN(ConsentRecord parsed, ParseConsentRecord(consent.bytes));
  TRYGG_RETURN_IF_ERROR(Verify(signer, SigningContext::kConsent, consent.bytes, consent.signature));
  return parsed;
}

bool ConsentCovers(const ConsentRecord& consent, const Id128& to_org, uint8_t service,
                   int64_t now_ms) {
  if (now_ms >= consent.expires_at_ms) return false;
  if (!consent.to_org_id.IsZero() && consent.to_org_id != to_org) return false;
  const uint16_t bit = ServiceBit(service);
  return bit != 0 && (consent.services & bit) != 0;
}

// --- Consent withdrawals ---------------------------------------------------

std::vector<uint8_t> SerializeConsentWithdrawal(const ConsentWithdrawal& withdrawal) {
  std::vector<uint8_t> bytes;
  bytes.reserve(kConsentWithdrawalSize);
  ByteWriter out(bytes);
  out.Bytes(kWithdrawalMagic);
  out.U8(kFormatV2);
  out.Bytes(withdrawal.consent_id.span());
  out.Bytes(withdrawal.case_id.span());
  out.I64(withdrawal.withdrawn_at_ms);
  out.Bytes(withdrawal.device_id.span());
  return bytes;
}

absl::StatusOr<ConsentWithdrawal> ParseConsentWithdrawal(std::span<const uint8_t> bytes) {
  constexpr std::string_view kWhat = "consent withdrawal";
  ByteReader in(bytes);
  TRYGG_RETURN_IF_ERROR(ReadPreamble(in, kWithdrawalMagic, kWhat, kFormatV2));
  TRYGG_RETURN_IF_ERROR(CheckLength(bytes, kConsentWithdrawalSize, kWhat));
  ConsentWithdrawal withdrawal;
  withdrawal.consent_id = ReadFixed<Id128>(in);
  withdrawal.case_id = ReadFixed<Id128>(in);
  withdrawal.withdrawn_at_ms = in.I64();
  withdrawal.device_id = ReadFixed<Id128>(in);
  if (!in.exhausted()) return Malformed(kWhat, "wrong length");
  TRYGG_RETURN_IF_ERROR(RequireNonZero(withdrawal.consent_id, kWhat, "consent_id"));
  TRYGG_RETURN_IF_ERROR(RequireNonZero(withdrawal.case_id, kWhat, "case_id"));
  TRYGG_RETURN_IF_ERROR(RequireNonZero(withdrawal.device_id, kWhat, "device_id"));
  return withdrawal;
}

absl::StatusOr<SignedObject> SignConsentWithdrawal(const ConsentWithdrawal& withdrawal,
                                                   const SigningKeyPair& device) {
  return SignChecked(SerializeConsentWithdrawal(withdrawal),
                                        ParseConsentWithdrawal, device, SigningContext::kConsentWithdrawal);
}

absl::StatusOr<ConsentWithdrawal> VerifyConsentWithdrawal(const SignedObject& withdrawal,
                                                          const SignPublicKey& signer) {
  TRYGG_ASSIGN_OR_RETURN(ConsentWithdrawal parsed, ParseConsentWithdrawal(withdrawal.bytes));
  TRYGG_RETURN_IF_ERROR(
      Verify(signer, SigningContext::kConsentWithdrawal, withdrawal.bytes, withdrawal.signature));
  return parsed;
}

// --- Referral records ------------------------------------------------------

std::vector<uint8_t> SerializeReferralRecord(const ReferralRecord& referral) {
  std::vector<uint8_t> bytes;
  bytes.reserve(kReferralRecordSize);
  ByteWriter out(bytes);
  out.Bytes(kReferralMagic);
  out.U8(kFormatV1);
  out.Bytes(referral.referral_id.span());
  out.Bytes(referral.case_id.span());
  out.Bytes(referral.from_org_id.span());
  out.Bytes(referral.to_org_id.span());
  out.Bytes(referral.listing_id.span());
  out.U8(referral.service);
  out.U8(static_cast<uint8_t>(referral.urgency));
  out.U8(static_cast<uint8_t>(referral.basis));
  out.Bytes(referral.consent_id.span());
  out.I64(referral.created_at_ms);
  out.Bytes(referral.packet_hash.span());
  out.Bytes(referral.justification_hash.span());
  out.Bytes(referral.sender_device_id.span());
  return bytes;
}

absl::StatusOr<ReferralRecord> ParseReferralRecord(std::span<const uint8_t> bytes) {
  constexpr std::string_view kWhat = "referral record";
  ByteReader in(bytes);
  TRYGG_RETURN_IF_ERROR(ReadPreamble(in, kReferralMagic, kWhat));
  TRYGG_RETURN_IF_ERROR(CheckLength(bytes, kReferralRecordSize, kWhat));
  ReferralRecord referral;
  referral.referral_id = ReadFixed<Id128>(in);
  referral.case_id = ReadFixed<Id128>(in);
  referral.from_org_id = ReadFixed<Id128>(in);
  referral.to_org_id = ReadFixed<Id128>(in);
  referral.listing_id = ReadFixed<Id128>(in);
  referral.service = in.U8();
  const uint8_t urgency = in.U8();
  const uint8_t basis = in.U8();
  referral.consent_id = ReadFixed<Id128>(in);
  referral.created_at_ms = in.I64();
  referral.packet_hash = ReadFixed<Hash256>(in);
  referral.justification_hash = ReadFixed<Hash256>(in);
  referral.sender_device_id = ReadFixed<Id128>(in);
  if (!in.exhausted()) return Malformed(kWhat, "wrong length");
  TRYGG_RETURN_IF_ERROR(RequireNonZero(referral.referral_id, kWhat, "referral_id"));
  TRYGG_RETURN_IF_ERROR(RequireNonZero(referral.case_id, kWhat, "case_id"));
  TRYGG_RETURN_IF_ERROR(RequireNonZero(referral.from_org_id, kWhat, "from_org_id"));
  TRYGG_RETURN_IF_ERROR(RequireNonZero(referral.to_org_id, kWhat, "to_org_id"));
  TRYGG_RETURN_IF_ERROR(RequireNonZero(referral.listing_id, kWhat, "listing_id"));
  TRYGG_RETURN_IF_ERROR(RequireNonZero(referral.packet_hash, kWhat, "packet_hash"));
  TRYGG_RETURN_IF_ERROR(RequireNonZero(referral.sender_device_id, kWhat, "sender_device_id"));
  if (!ValidService(referral.service)) {
    return Malformed(kWhat, "unknown service " + std::to_string(referral.service));
  }
  if (urgency < 1 || urgency > static_cast<uint8_t>(ReferralUrgency::kEmergency)) {
    return Malformed(kWhat, "unknown urgency " + std::to_string(urgency));
  }
  referral.urgency = static_cast<ReferralUrgency>(urgency);
  // The basis decides which of consent_id and justification_hash is set; the
  // other must be zero, so one referral has exactly one encoding.
  switch (basis) {
    case static_cast<uint8_t>(ReferralBasis::kConsent):
      if (referral.consent_id.IsZero()) return Malformed(kWhat, "consent basis without a consent_id");
      if (!referral.justification_hash.IsZero()) {
        return Malformed(kWhat, "consent basis with a justification");
      }
      break;
    case static_cast<uint8_t>(ReferralBasis::kVitalInterests):
      if (referral.justification_hash.IsZero()) {
        return Malformed(kWhat, "vital-interests basis without a justification");
      }
      if (!referral.consent_id.IsZero()) {
        return Malformed(kWhat, "vital-interests basis with a consent_id");
      }
      break;
    default:
      return Malformed(kWhat, "unknown basis " + std::to_string(basis));
  }
  referral.basis = static_cast<ReferralBasis>(basis);
  return referral;
}

absl::StatusOr<SignedObject> SignReferralRecord(const ReferralRecord& referral,
                                                const SigningKeyPair& device) {
  return SignChecked(SerializeReferralRecord(referral), ParseReferralRecord, device,
                                     SigningContext::kReferral);
}

absl::StatusOr<ReferralRecord> VerifyReferralRecord(const SignedObject& referral,
                                                    const SignPublicKey& signer) {
  TRYGG_ASSIGN_OR_RETURN(ReferralRecord parsed, ParseReferralRecord(referral.bytes));
  TRYGG_RETURN_IF_ERROR(
      Verify(signer, SigningContext::kReferral, referral.bytes, referral.signature));
  return parsed;
}

// --- Referral transitions --------------------------------------------------

std::vector<uint8_t> SerializeReferralTransition(const ReferralTransition& transition) {
  std::vector<uint8_t> bytes;
  bytes.reserve(kReferralTransitionSize);
  ByteWriter out(bytes);
  out.Bytes(kTransitionMagic);
  out.U8(kFormatV1);
  out.Bytes(transition.referral_id.span());
  out.U8(transition.from_state);
  out.U8(transition.to_state);
  out.U8(transition.code);
  out.Bytes(transition.actor_device_id.span());
  out.I64(transition.at_ms);
  return bytes;
}

absl::StatusOr<ReferralTransition> ParseReferralTransition(std::span<const uint8_t> bytes) {
  constexpr std::string_view kWhat = "referral transition";
  ByteReader in(bytes);
  TRYGG_RETURN_IF_ERROR(ReadPreamble(in, kTransitionMagic, kWhat));
  TRYGG_RETURN_IF_ERROR(CheckLength(bytes, kReferralTransitionSize, kWhat));
  ReferralTransition transition;
  transition.referral_id = ReadFixed<Id128>(in);
  transition.from_state = in.U8();
  transition.to_state = in.U8();
  transition.code = in.U8();
  transition.actor_device_id = ReadFixed<Id128>(in);
  transition.at_ms = in.I64();
  if (!in.exhausted()) return Malformed(kWhat, "wrong length");
  TRYGG_RETURN_IF_ERROR(RequireNonZero(transition.referral_id, kWhat, "referral_id"));
  TRYGG_RETURN_IF_ERROR(RequireNonZero(transition.actor_device_id, kWhat, "actor_device_id"));
  for (uint8_t state : {transition.from_state, transition.to_state}) {
    if (state < 1 || state > kMaxReferralState) {
      return Malformed(kWhat, "unknown state " + std::to_string(state));
    }
  }
  // Ranges only; whether the move itself is allowed is the server's state
  // machine (server/domain/referral_workflow.h).
  const uint8_t max_code = transition.to_state == kStateDeclined    ? kMaxDeclineReason
                           : transition.to_state == kStateCompleted ? kMaxOutcome
                                                                    : 0;
  if (transition.code > max_code) {
    return Malformed(kWhat, "code " + std::to_string(transition.code) + " out of range for state " +
                                std::to_string(transition.to_state));
  }
  return transition;
}

absl::StatusOr<SignedObject> SignReferralTransition(const ReferralTransition& transition,
                                                    const SigningKeyPair& device) {
  return SignChecked(SerializeReferralTransition(transition),
                                         ParseReferralTransition, device,
                                         SigningContext::kTransition);
}

absl::StatusOr<ReferralTransition> VerifyReferralTransition(const SignedObject& transition,
                                                            const SignPublicKey& signer) {
  TRYGG_ASSIGN_OR_RETURN(ReferralTransition parsed, ParseReferralTransition(transition.bytes));
  TRYGG_RETURN_IF_ERROR(
      Verify(signer, SigningContext::kTransition, transition.bytes, transition.signature));
  return parsed;
}

// --- Case erasure statements -----------------------------------------------

std::vector<uint8_t> SerializeErasureStatement(const ErasureStatement& statement) {
  std::vector<uint8_t> bytes;
  bytes.reserve(kErasureStatementSize);
  ByteWriter out(bytes);
  out.Bytes(kErasureMagic);
  out.U8(kFormatV1);
  out.Bytes(statement.case_id.span());
  out.I64(statement.erased_at_ms);
  out.Bytes(statement.device_id.span());
  return bytes;
}

absl::StatusOr<ErasureStatement> ParseErasureStatement(std::span<const uint8_t> bytes) {
  constexpr std::string_view kWhat = "erasure statement";
  ByteReader in(bytes);
  TRYGG_RETURN_IF_ERROR(ReadPreamble(in, kErasureMagic, kWhat));
  TRYGG_RETURN_IF_ERROR(CheckLength(bytes, kErasureStatementSize, kWhat));
  ErasureStatement statement;
  statement.case_id = ReadFixed<Id128>(in);
  statement.erased_at_ms = in.I64();
  statement.device_id = ReadFixed<Id128>(in);
  if (!in.exhausted()) return Malformed(kWhat, "wrong length");
  TRYGG_RETURN_IF_ERROR(RequireNonZero(statement.case_id, kWhat, "case_id"));
  TRYGG_RETURN_IF_ERROR(RequireNonZero(statement.device_id, kWhat, "device_id"));
  return statement;
}

absl::StatusOr<SignedObject> SignErasureStatement(const ErasureStatement& statement,
                                                  const SigningKeyPair& device) {
  return SignChecked(SerializeErasureStatement(statement), ParseErasureStatement,
                                       device, SigningContext::kErasure);
}

absl::StatusOr<ErasureStatement> VerifyErasureStatement(const SignedObject& statement,
                                                        const SignPublicKey& signer) {
  TRYGG_ASSIGN_OR_RETURN(ErasureStatement parsed, ParseErasureStatement(statement.bytes));
  TRYGG_RETURN_IF_ERROR(
      Verify(signer, SigningContext::kErasure, statement.bytes, statement.signature));
  return parsed;
}

// --- Encrypted blobs -------------------------------------------------------

absl::StatusOr<std::vector<uint8_t>> SealBlob(BlobKind kind, const Id128& object_id,
                                              std::span<const uint8_t> plaintext,
                                              const SecretKey& key, Rng& rng) {
  if (plaintext.size() > kMaxBlobPlaintextBytes) {
    return Malformed("encrypted blob", "plaintext longer than " +
                                           std::to_string(kMaxBlobPlaintextBytes) + " bytes");
  }
  internal::EnsureSodiumInitialized();
  // sodium_pad always adds its 0x80 marker, so an empty plaintext is one block.
  const size_t padded_len = (plaintext.size() / kBlobPadBlockSize + 1) * kBlobPadBlockSize;
  std::vector<uint8_t> padded(padded_len, 0);
  if (!plaintext.empty()) std::memcpy(padded.data(), plaintext.data(), plaintext.size());
  size_t written = 0;
  TRYGG_CHECK(sodium_pad(&written, padded.data(), plaintext.size(), kBlobPadBlockSize,
                         padded.size()) == 0 &&
              written == padded_len);
  const std::vector<uint8_t> ad = BlobAd(kind, object_id);
  std::vector<uint8_t> sealed = internal::AeadSeal(key.span(), padded, ad, rng);
  sodium_memzero(padded.data(), padded.size());
  std::vector<uint8_t> blob = ad;
  blob.resize(6);  // magic, format, kind: the object id is bound, not sent
  blob.insert(blob.end(), sealed.begin(), sealed.end());
  return blob;
}

absl::StatusOr<std::vector<uint8_t>> OpenBlob(BlobKind kind, const Id128& object_id,
                                              std::span<const uint8_t> blob,
                                              const SecretKey& key) {
  constexpr std::string_view kWhat = "encrypted blob";
  ByteReader in(blob);
  TRYGG_RETURN_IF_ERROR(ReadPreamble(in, kBlobMagic, kWhat));
  const uint8_t got_kind = in.U8();
  if (in.failed()) return Malformed(kWhat, "too short");
  if (blob.size() < kBlobOverhead + kBlobPadBlockSize ||
      (blob.size() - kBlobOverhead) % kBlobPadBlockSize != 0 ||
      blob.size() - kBlobOverhead > kMaxBlobPlaintextBytes + 1) {
    return Malformed(kWhat, "wrong length " + std::to_string(blob.size()));
  }
  if (got_kind != static_cast<uint8_t>(kind)) {
    return MakeCryptoError(absl::StatusCode::kInvalidArgument, CryptoError::kWrongKind,
                           "encrypted blob: of another kind than expected");
  }
  const std::vector<uint8_t> ad = BlobAd(kind, object_id);
  std::vector<uint8_t> padded(blob.size() - kBlobOverhead);
  if (!internal::AeadOpen(key.span(), blob.subspan(6), ad, padded)) {
    return MakeCryptoError(absl::StatusCode::kPermissionDenied, CryptoError::kDecryptFailed,
                           "encrypted blob: does not open under this key for this object");
  }
  size_t unpadded_len = 0;
  if (sodium_unpad(&unpadded_len, padded.data(), padded.size(), kBlobPadBlockSize) != 0) {
    sodium_memzero(padded.data(), padded.size());
    return MakeCryptoError(absl::StatusCode::kInvalidArgument, CryptoError::kBadPadding,
                           "encrypted blob: bad padding");
  }
  padded.resize(unpadded_len);
  return padded;
}

}  // namespace trygg
