// SPDX-License-Identifier: Apache-2.0

#include "trygg/sealed_signing_key.h"

#include <catch2/catch.hpp>

#include "crypto_test_util.h"
#include "trygg/crypto_error.h"
#include "trygg/signing.h"

namespace trygg {
namespace {

constexpr std::string_view kPassphrase = "correct horse battery staple";

KeyStoreOpenOptions WeakAllowed() {
  KeyStoreOpenOptions options;
  options.allow_weak_kdf_for_tests = true;
  return options;
}

SecretKey SeedOf(uint8_t byte) {
  SecretKey seed;
  for (uint8_t& b : seed.span()) b = byte;
  return seed;
}

TEST_CASE("a sealed signing key opens under its passphrase to the same seed and public key",
          "[sealed_signing_key]") {
  DeterministicRng rng(7);
  const SecretKey seed = SeedOf(0x42);
  auto sealed = SealSigningKey(seed.span(), kPassphrase, MinimumKdfLimitsForTests(), rng);
  REQUIRE(sealed.ok());
  CHECK(sealed->size() == kSealedSigningKeySize);
  const SignPublicKey expected = SigningKeyPairFromSeed(seed.span()).public_key;
  auto named = SealedSigningKeyPublicKey(*sealed);
  REQUIRE(named.ok());
  CHECK(*named == expected);
  auto opened = OpenSealedSigningKey(*sealed, kPassphrase, WeakAllowed());
  REQUIRE(opened.ok());
  CHECK(opened->public_key == expected);
  CHECK(std::equal(opened->seed.span().begin(), opened->seed.span().end(), seed.span().begin()));
}

TEST_CASE("a sealed signing key refuses a wrong passphrase, damage, an altered header and weak limits",
          "[sealed_signing_key]") {
  DeterministicRng rng(8);
  const SecretKey seed = SeedOf(0x17);
  auto sealed = SealSigningKey(seed.span(), kPassphrase, MinimumKdfLimitsForTests(), rng);
  REQUIRE(sealed.ok());

  auto wrong = OpenSealedSigningKey(*sealed, "not the passphrase", WeakAllowed());
  CHECK(wrong.status().code() == absl::StatusCode::kPermissionDenied);
  CHECK(testing::ReasonOf(wrong.status()) == "WRONG_PASSPHRASE");

  std::vector<uint8_t> damaged = *sealed;
  damaged[100] ^= 1;  // inside the ciphertext: the checksum catches it
  CHECK(OpenSealedSigningKey(damaged, kPassphrase, WeakAllowed()).status().code() == absl::StatusCode::kDataLoss);
  CHECK(SealedSigningKeyPublicKey(damaged).status().code() == absl::StatusCode::kDataLoss);

  // Another public key in the header, with the checksum recomputed: the AEAD
  // refuses it, since the header is its additional data.
  std::vector<uint8_t> swapped = *sealed;
  swapped[40] ^= 1;
  const Hash256 checksum = Blake2b256(std::span(swapped).first(swapped.size() - 32));
  std::copy(checksum.span().begin(), checksum.span().end(), swapped.end() - 32);
  CHECK(OpenSealedSigningKey(swapped, kPassphrase, WeakAllowed()).status().code() ==
        absl::StatusCode::kPermissionDenied);

  std::vector<uint8_t> truncated(sealed->begin(), sealed->end() - 1);
  CHECK(OpenSealedSigningKey(truncated, kPassphrase, WeakAllowed()).status().code() == absl::StatusCode::kDataLoss);

  auto weak = OpenSealedSigningKey(*sealed, kPassphrase);
  CHECK(weak.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(testing::ReasonOf(weak.status()) == "WEAK_KDF_LIMITS");

  CHECK(SealSigningKey(seed.span(), "", MinimumKdfLimitsForTests(), rng).status().code() ==
        absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace trygg
