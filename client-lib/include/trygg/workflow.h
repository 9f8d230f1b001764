// SPDX-License-Identifier: Apache-2.0

// The signed objects of the referral workflow: consent records and their
// withdrawals, referral records, referral state transitions and case erasure
// statements, plus the small encrypted blobs that carry consent evidence and
// vital-interests justifications.
//
// Purpose: implements DESIGN.md "Referral workflow" at the byte level. Each
// object is a fixed big-endian layout (docs/protocol.md, "12. Cases, consent
// and referrals") that starts with a 4-byte magic and the format byte 0x01, and
// is carried as a SignedObject (trust.h): the exact bytes and the Ed25519
// signature of the acting device over `context || 0x00 || bytes`. The server
// routes and enforces on the plaintext fields; it and the other organisation
// verify the same bytes and never re-serialise them.
// A verifier needs the signing device's key, which it finds from the device id
// inside the object: call Parse* first, look the device up in its verified
// organisation log, then call Verify* with its key.
// Ownership: plain values.
// Thread-safety: pure functions (SealBlob only borrows the Rng for the call).
// Failure modes: Parse* return InvalidArgument tagged kMalformed (wrong length,
// trailing bytes, a value out of range) or kUnknownMagic, and
// FailedPrecondition tagged kUnknownFormat; Verify* add PermissionDenied tagged
// kBadSignature; Sign* refuse (kMalformed) to sign what Parse* would refuse.
// OpenBlob returns kUnknownMagic, kUnknownFormat, kMalformed, kWrongKind,
// kDecryptFailed or kBadPadding.
#ifndef TRYGG_WORKFLOW_H_
#define TRYGG_WORKFLOW_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "trygg/bytes.h"
#include "trygg/listing.h"
#include "trygg/random.h"
#include "trygg/secret_bytes.h"
#include "trygg/signing.h"
#include "trygg/trust.h"

namespace trygg {

// Service categories are trygg.v1.ServiceCategory numbers, 1 (SHELTER) to
// 9 (OTHER) (ServiceCategory and kMaxServiceCategory in listing.h). A set of
// them is a u16 with bit n set for category n.
inline constexpr uint16_t kAllServicesMask = 0x03FE;  // bits 1..9

// The bit for `service` (1..9) in a services mask; 0 for anything else.
uint16_t ServiceBit(uint8_t service);

// Why the survivor agreed to share.
enum class ConsentPurpose : uint8_t {
  kReferralForServices = 1,
  kCoordinationOfSupport = 2,
  kSafeReturnPlanning = 3,
  kLegalProceedings = 4,
  kOther = 5,
};

// Numbers match trygg.v1.Urgency.
enum class ReferralUrgency : uint8_t {
  kRoutine = 1,
  kUrgent = 2,
  kEmergency = 3,  // immediate danger: answer within hours
};

// Numbers match trygg.v1.ReferralBasis.
enum class ReferralBasis : uint8_t {
  kConsent = 1,         // a consent record covers the receiver and service
  kVitalInterests = 2,  // GDPR Art. 6(1)(d), with an encrypted justification
};

// Referral states are trygg.v1.ReferralState numbers, 1 (SENT) to 7 (CLOSED);
// the state machine itself lives with the server (server/domain/).
inline constexpr uint8_t kMaxReferralState = 7;
// A transition's code is a trygg.v1.DeclineReason (1..6), a trygg.v1.Outcome
// (1..5) or 0.
inline constexpr uint8_t kMaxTransitionCode = 6;

// --- Consent records (signed by the recording device, "trygg/v1/consent") --

inline constexpr size_t kConsentRecordSize = 120;

struct ConsentRecord {
  Id128 consent_id;
  Id128 case_id;
  Id128 to_org_id;  // all zero: any member organisation
  uint16_t services = 0;  // non-empty subset of kAllServicesMask
  ConsentPurpose purpose = ConsentPurpose::kReferralForServices;
  int64_t recorded_at_ms = 0;
  int64_t expires_at_ms = 0;  // after recorded_at_ms
  Hash256 evidence_hash;      // H(evidence blob), see SealBlob
  Id128 recorder_device_id;
};

std::vector<uint8_t> SerializeConsentRecord(const ConsentRecord& consent);
absl::StatusOr<ConsentRecord> ParseConsentRecord(std::span<const uint8_t> bytes);
absl::StatusOr<SignedObject> SignConsentRecord(const ConsentRecord& consent,
                                               const SigningKeyPair& device);
absl::StatusOr<ConsentRecord> VerifyConsentRecord(const SignedObject& consent,
                                                  const SignPublicKey& signer);

// True when the consent has not expired at `now_ms` (now < expires_at), names
// `to_org` or any member organisation, and includes `service`. Withdrawal is a
// separate object: the caller checks that none exists.
bool ConsentCovers(const ConsentRecord& consent, const Id128& to_org, uint8_t service,
                   int64_t now_ms);

// --- Consent withdrawals ("trygg/v1/consent") ------------------------------

inline constexpr size_t kConsentWithdrawalSize = 61;

struct ConsentWithdrawal {
  Id128 consent_id;
  Id128 case_id;
  int64_t withdrawn_at_ms = 0;
  Id128 device_id;
};

std::vector<uint8_t> SerializeConsentWithdrawal(const ConsentWithdrawal& withdrawal);
absl::StatusOr<ConsentWithdrawal> ParseConsentWithdrawal(std::span<const uint8_t> bytes);
absl::StatusOr<SignedObject> SignConsentWithdrawal(const ConsentWithdrawal& withdrawal,
                                                   const SigningKeyPair& device);
absl::StatusOr<ConsentWithdrawal> VerifyConsentWithdrawal(const SignedObject& withdrawal,
                                                          const SignPublicKey& signer);

// --- Referral records (signed by the sending device, "trygg/v1/referral") --

inline constexpr size_t kReferralRecordSize = 192;

struct ReferralRecord {
  Id128 referral_id;
  Id128 case_id;
  Id128 from_org_id;
  Id128 to_org_id;
  Id128 listing_id;  // the receiving organisation's service listing
  uint8_t service = 0;  // 1..kMaxServiceCategory
  ReferralUrgency urgency = ReferralUrgency::kRoutine;
  ReferralBasis basis = ReferralBasis::kConsent;
  Id128 consent_id;  // non-zero exactly when basis is kConsent
  int64_t created_at_ms = 0;
  // RecordHash (record.h) of the referral packet: H(header || signature).
  Hash256 packet_hash;
  // H(justification blob); non-zero exactly when basis is kVitalInterests.
  Hash256 justification_hash;
  Id128 sender_device_id;
};

std::vector<uint8_t> SerializeReferralRecord(const ReferralRecord& referral);
absl::StatusOr<ReferralRecord> ParseReferralRecord(std::span<const uint8_t> bytes);
absl::StatusOr<SignedObject> SignReferralRecord(const ReferralRecord& referral,
                                                const SigningKeyPair& device);
absl::StatusOr<ReferralRecord> VerifyReferralRecord(const SignedObject& referral,
                                                    const SignPublicKey& signer);

// --- Referral transitions (signed by the acting device, "trygg/v1/transition")

inline constexpr size_t kReferralTransitionSize = 48;

struct ReferralTransition {
  Id128 referral_id;
  uint8_t from_state = 0;  // 1..kMaxReferralState
  uint8_t to_state = 0;    // 1..kMaxReferralState
  uint8_t code = 0;        // 0..kMaxTransitionCode
  Id128 actor_device_id;
  int64_t at_ms = 0;
};

std::vector<uint8_t> SerializeReferralTransition(const ReferralTransition& transition);
absl::StatusOr<ReferralTransition> ParseReferralTransition(std::span<const uint8_t> bytes);
absl::StatusOr<SignedObject> SignReferralTransition(const ReferralTransition& transition,
                                                    const SigningKeyPair& device);
absl::StatusOr<ReferralTransition> VerifyReferralTransition(const SignedObject& transition,
                                                            const SignPublicKey& signer);

// --- Case erasure statements ("trygg/v1/erasure") --------------------------

inline constexpr size_t kErasureStatementSize = 45;

struct ErasureStatement {
  Id128 case_id;
  int64_t erased_at_ms = 0;
  Id128 device_id;
};

std::vector<uint8_t> SerializeErasureStatement(const ErasureStatement& statement);
absl::StatusOr<ErasureStatement> ParseErasureStatement(std::span<const uint8_t> bytes);
absl::StatusOr<SignedObject> SignErasureStatement(const ErasureStatement& statement,
                                                  const SigningKeyPair& device);
absl::StatusOr<ErasureStatement> VerifyErasureStatement(const SignedObject& statement,
                                                        const SignPublicKey& signer);

// --- Encrypted blobs: consent evidence and vital-interests justifications --
//
//   blob = "TEB1" || 0x01 || kind u8 || nonce(24)
//          || XChaCha20-Poly1305(key, sodium_pad(plaintext, 256),
//                                ad = "TEB1" || 0x01 || kind || object_id)
// The plaintext is padded to a multiple of kBlobPadBlockSize so the server
// learns only its length in 256-byte blocks. The AD binds the blob to its kind
// and to the consent or referral it belongs to, so it cannot be moved to
// another object or read as another kind. The signed object holds H(blob).

enum class BlobKind : uint8_t {
  kConsentEvidence = 1,        // object_id = consent_id
  kReferralJustification = 2,  // object_id = referral_id
};

inline constexpr size_t kBlobPadBlockSize = 256;
inline constexpr size_t kMaxBlobPlaintextBytes = 65535;
inline constexpr size_t kBlobOverhead = 6 + 24 + 16;  // plus the padded plaintext

// Fails with InvalidArgument (kMalformed) for a plaintext over
// kMaxBlobPlaintextBytes.
absl::StatusOr<std::vector<uint8_t>> SealBlob(BlobKind kind, const Id128& object_id,
                                              std::span<const uint8_t> plaintext,
                                              const SecretKey& key, Rng& rng);

absl::StatusOr<std::vector<uint8_t>> OpenBlob(BlobKind kind, const Id128& object_id,
                                              std::span<const uint8_t> blob,
                                              const SecretKey& key);

}  // namespace trygg

#endif  // TRYGG_WORKFLOW_H_
