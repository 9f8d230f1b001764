// SPDX-License-Identifier: Apache-2.0

// Ed25519 signatures with a context string, and the key pair types.
//
// Purpose: every Trygg signature is Ed25519 (crypto_sign_detached) over
//   context_string || 0x00 || message
// where the context names the kind of object (docs/protocol.md, "Signatures").
// A signature made for one kind can never verify as another. All context strings
// are listed here and nowhere else.
// Ownership: key pairs own their secret half (SecretBytes); public halves are values.
// Thread-safety: functions are pure; a key pair may be used from several threads
// read-only.
// Failure modes: Verify returns PermissionDenied tagged kBadSignature.
#ifndef TRYGG_SIGNING_H_
#define TRYGG_SIGNING_H_

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "trygg/bytes.h"
#include "trygg/random.h"
#include "trygg/secret_bytes.h"

namespace trygg {

enum class SigningContext {
  kRecord,      // "trygg/v1/record"      record envelopes
  kGrant,       // "trygg/v1/grant"       scope-key and org-seed grants
  kOrgCert,     // "trygg/v1/org-cert"    root-signed organisation certificate
  kDeviceCert,  // "trygg/v1/device-cert" device certificates
  kOrgLog,      // "trygg/v1/org-log"     organisation log links
  kTransition,  // "trygg/v1/transition"  referral state transitions
  kTreeHead,    // "trygg/v1/tree-head"   audit log signed tree heads
  kListing,     // "trygg/v1/listing"     directory listings (not their updates)
  kSession,     // "trygg/v1/session"     session challenge responses
  kEnrolment,   // "trygg/v1/enrolment"   device enrolment requests
  kCoordinatorCert,  // "trygg/v1/coordinator-cert" root-signed coordinator certificate
  kServerCert,       // "trygg/v1/server-cert"      root-signed server certificate
  kConsent,    // "trygg/v1/consent"    consent records
  kReferral,   // "trygg/v1/referral"   referral records
  kErasure,    // "trygg/v1/erasure"    case erasure statements
  kConsentWithdrawal,  // "trygg/v2/consent-withdrawal"  consent withdrawals (format 2)
  kListingCapacity,    // "trygg/v2/listing-capacity"    listing capacity updates (format 2)
  kListingRetirement,  // "trygg/v2/listing-retirement"  listing retirements (format 2)
  kRestoreNotice,      // "trygg/v1/restore-notice"      the operator's signed restore notices
};

// The exact ASCII context string, without the 0x00 separator.
std::string_view ContextString(SigningContext context);

struct SigningKeyPair {
  SignPublicKey public_key;
  SecretBytes<64> secret_key;  // libsodium layout: seed(32) || public key(32)
};

// Ed25519 key pair from a 32-byte seed (crypto_sign_seed_keypair).
SigningKeyPair SigningKeyPairFromSeed(std::span<const uint8_t, 32> seed);
SigningKeyPair GenerateSigningKeyPair(Rng& rng);

// context_string || 0x00 || message: the exact bytes that are signed.
std::vector<uint8_t> SignedBytes(SigningContext context,
                                 std::span<const uint8_t> message);

Signature Sign(const SigningKeyPair& key, SigningContext context,
               std::span<const uint8_t> message);

absl::Status Verify(const SignPublicKey& public_key, SigningContext context,
                    std::span<const uint8_t> message, const Signature& signature);

}  // namespace trygg

#endif  // TRYGG_SIGNING_H_
