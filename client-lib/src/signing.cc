// SPDX-License-Identifier: Apache-2.0

#include "trygg/signing.h"

#include "internal/sodium.h"
#include "trygg/crypto_error.h"
#include "trygg/status_macros.h"

namespace trygg {

std::string_view ContextString(SigningContext context) {
  switch (context) {
    case SigningContext::kRecord: return "trygg/v1/record";
    case SigningContext::kGrant: return "trygg/v1/grant";
    case SigningContext::kOrgCert: return "trygg/v1/org-cert";
    case SigningContext::kDeviceCert: return "trygg/v1/device-cert";
    case SigningContext::kOrgLog: return "trygg/v1/org-log";
    case SigningContext::kTransition: return "trygg/v1/transition";
    case SigningContext::kTreeHead: return "trygg/v1/tree-head";
    case SigningContext::kListing: return "trygg/v1/listing";
    case SigningContext::kSession: return "trygg/v1/session";
    case SigningContext::kEnrolment: return "trygg/v1/enrolment";
    case SigningContext::kCoordinatorCert: return "trygg/v1/coordinator-cert";
    case SigningContext::kServerCert: return "trygg/v1/server-cert";
    case SigningContext::kConsent: return "trygg/v1/consent";
    case SigningContext::kReferral: return "trygg/v1/referral";
    case SigningContext::kErasure: return "trygg/v1/erasure";
    case SigningContext::kConsentWithdrawal: return "trygg/v2/consent-withdrawal";
    case SigningContext::kListingCapacity: return "trygg/v2/listing-capacity";
    case SigningContext::kListingRetirement: return "trygg/v2/listing-retirement";
    case SigningContext::kRestoreNotice: return "trygg/v1/restore-notice";
  }
  TRYGG_CHECK(false && "unknown SigningContext");
  return {};
}

SigningKeyPair SigningKeyPairFromSeed(std::span<const uint8_t, 32> seed) {
  internal::EnsureSodiumInitialized();
  static_assert(crypto_sign_SEEDBYTES == 32 && crypto_sign_SECRETKEYBYTES == 64);
  SigningKeyPair pair;
  crypto_sign_seed_keypair(pair.public_key.data(), pair.secret_key.data(), seed.data());
  return pair;
}

SigningKeyPair GenerateSigningKeyPair(Rng& rng) {
  SecretKey seed;
  rng.Fill(seed.span());
  return SigningKeyPairFromSeed(seed.span());
}

std::vector<uint8_t> SignedBytes(SigningContext context,
                                 std::span<const uint8_t> message) {
  const std::string_view label = ContextString(context);
  std::vector<uint8_t> out;
  out.reserve(label.size() + 1 + message.size());
  out.insert(out.end(), label.begin(), label.end());
  out.push_back(0x00);
  out.insert(out.end(), message.begin(), message.end());
  return out;
}

Signature Sign(const SigningKeyPair& key, SigningContext context,
               std::span<const uint8_t> message) {
  internal::EnsureSodiumInitialized();
  const std::vector<uint8_t> signed_bytes = SignedBytes(context, message);
  Signature signature;
  crypto_sign_detached(signature.data(), nullptr, signed_bytes.data(),
                       signed_bytes.size(), key.secret_key.data());
  return signature;
}

absl::Status Verify(const SignPublicKey& public_key, SigningContext context,
                    std::span<const uint8_t> message, const Signature& signature) {
  internal::EnsureSodiumInitialized();
  const std::vector<uint8_t> signed_bytes = SignedBytes(context, message);
  if (crypto_sign_verify_detached(signature.data(), signed_bytes.data(),
                                  signed_bytes.size(), public_key.data()) != 0) {
    return MakeCryptoError(absl::StatusCode::kPermissionDenied,
                           CryptoError::kBadSignature,
                           std::string(ContextString(context)) +
                               ": signature does not verify under the expected key");
  }
  return absl::OkStatus();
}

}  // namespace trygg
