// SPDX-License-Identifier: Apache-2.0

#include "trygg/keys.h"

#include <utility>

#include "internal/byte_codec.h"
#include "internal/sodium.h"
#include "trygg/crypto_error.h"
#include "trygg/status_macros.h"

namespace trygg {
namespace {

// crypto_kdf contexts are exactly 8 bytes; one per purpose (docs/protocol.md).
constexpr char kOrgBoxContext[] = "trgorgbx";
constexpr char kOrgChainContext[] = "trgochan";
constexpr std::string_view kOrgChainLabel = "trygg/v1/org-chain";

std::vector<uint8_t> OrgChainAd(const Id128& org_id, uint32_t previous_generation,
                                uint32_t current_generation) {
  std::vector<uint8_t> ad;
  internal::ByteWriter w(ad);
  w.Bytes(AsBytes(kOrgChainLabel));
  w.Bytes(org_id.span());
  w.U32(previous_generation);
  w.U32(current_generation);
  return ad;
}

}  // namespace

BoxKeyPair BoxKeyPairFromSeed(std::span<const uint8_t, 32> seed) {
  internal::EnsureSodiumInitialized();
  static_assert(crypto_box_SEEDBYTES == 32 && crypto_box_SECRETKEYBYTES == 32);
  BoxKeyPair pair;
  crypto_box_seed_keypair(pair.public_key.data(), pair.secret_key.data(), seed.data());
  return pair;
}

DeviceKeys::DeviceKeys(SecretKey sign_seed, SecretKey box_seed)
    : sign_seed_(std::move(sign_seed)),
      box_seed_(std::move(box_seed)),
      signing_(SigningKeyPairFromSeed(sign_seed_.span())),
      box_(BoxKeyPairFromSeed(box_seed_.span())) {}

DeviceKeys DeviceKeys::Generate(Rng& rng) {
  SecretKey sign_seed;
  SecretKey box_seed;
  rng.Fill(sign_seed.span());
  rng.Fill(box_seed.span());
  return DeviceKeys(std::move(sign_seed), std::move(box_seed));
}

DeviceKeys DeviceKeys::FromSeeds(const SecretKey& sign_seed, const SecretKey& box_seed) {
  return DeviceKeys(sign_seed.Clone(), box_seed.Clone());
}

OrgKey GenerateOrgKey(uint32_t generation, Rng& rng) {
  OrgKey key;
  key.generation = generation;
  rng.Fill(key.seed.span());
  return key;
}

BoxKeyPair DeriveOrgBoxKeyPair(const OrgKey& key) {
  const SecretKey box_seed = internal::DeriveSubkey(key.seed.span(), 1, kOrgBoxContext);
  return BoxKeyPairFromSeed(box_seed.span());
}

std::vector<uint8_t> ChainPreviousOrgKey(const Id128& org_id, const OrgKey& current,
                                         const OrgKey& previous, Rng& rng) {
  TRYGG_CHECK(previous.generation >= 1 &&
              previous.generation + 1 == current.generation);
  const SecretKey chain_key =
      internal::DeriveSubkey(current.seed.span(), 1, kOrgChainContext);
  return internal::AeadSeal(chain_key.span(), previous.seed.span(),
                            OrgChainAd(org_id, previous.generation, current.generation),
                            rng);
}

absl::StatusOr<OrgKey> UnchainPreviousOrgKey(const Id128& org_id,
                                             const OrgKey& current,
                                             std::span<const uint8_t> chained) {
  if (chained.size() != internal::kAeadNonceSize + 32 + internal::kAeadTagSize) {
    return MakeCryptoError(absl::StatusCode::kInvalidArgument, CryptoError::kMalformed,
                           "chained organisation key has the wrong length");
  }
  if (current.generation < 2) {
    return absl::InvalidArgumentError(
        "organisation key generation 1 has no previous generation");
  }
  const SecretKey chain_key =
      internal::DeriveSubkey(current.seed.span(), 1, kOrgChainContext);
  OrgKey previous;
  previous.generation = current.generation - 1;
  if (!internal::AeadOpen(chain_key.span(), chained,
                          OrgChainAd(org_id, previous.generation, current.generation),
                          previous.seed.span())) {
    return MakeCryptoError(
        absl::StatusCode::kPermissionDenied, CryptoError::kDecryptFailed,
        "chained organisation key does not decrypt under generation " +
            std::to_string(current.generation) + " of this organisation");
  }
  return previous;
}

}  // namespace trygg
