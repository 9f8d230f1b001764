// SPDX-License-Identifier: Apache-2.0

// Device identity and organisation keys.
//
// Purpose:
//  - DeviceKeys: a device's Ed25519 signing pair and X25519 encryption pair, each
//    derived from a 32-byte seed made on the device (crypto_sign_seed_keypair,
//    crypto_box_seed_keypair). Only the two seeds are ever stored.
//  - OrgKey: organisation key generation g, a 32-byte seed. Its X25519 pair is
//    crypto_box_seed_keypair(KDF(seed, 1, "trgorgbx")). The seed of g-1 is kept
//    encrypted under KDF(seed_g, 1, "trgochan") ("chaining"), so a device holding
//    the current seed can walk back through every earlier generation.
// Exact derivations and byte layouts: docs/protocol.md, "Keys".
// Ownership: all secrets in SecretBytes (locked, wiped); types are move-only.
// Thread-safety: pure functions; objects are not internally synchronised.
// Failure modes: UnchainPreviousOrgKey returns PermissionDenied/kDecryptFailed
// for a wrong key or tampered chain, InvalidArgument/kMalformed for bad lengths.
#ifndef TRYGG_KEYS_H_
#define TRYGG_KEYS_H_

#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "trygg/bytes.h"
#include "trygg/random.h"
#include "trygg/secret_bytes.h"
#include "trygg/signing.h"

namespace trygg {

struct BoxKeyPair {
  BoxPublicKey public_key;
  SecretBytes<32> secret_key;
};

// X25519 key pair from a 32-byte seed (crypto_box_seed_keypair).
BoxKeyPair BoxKeyPairFromSeed(std::span<const uint8_t, 32> seed);

class DeviceKeys {
 public:
  static DeviceKeys Generate(Rng& rng);
  static DeviceKeys FromSeeds(const SecretKey& sign_seed, const SecretKey& box_seed);

  const SigningKeyPair& signing() const { return signing_; }
  const BoxKeyPair& box() const { return box_; }
  const SecretKey& sign_seed() const { return sign_seed_; }
  const SecretKey& box_seed() const { return box_seed_; }

 private:
  DeviceKeys(SecretKey sign_seed, SecretKey box_seed);

  SecretKey sign_seed_;
  SecretKey box_seed_;
  SigningKeyPair signing_;
  BoxKeyPair box_;
};

// Organisation key of one generation (generation numbers start at 1).
struct OrgKey {
  uint32_t generation = 0;
  SecretKey seed;
};

OrgKey GenerateOrgKey(uint32_t generation, Rng& rng);

// The organisation's X25519 key pair for this generation.
BoxKeyPair DeriveOrgBoxKeyPair(const OrgKey& key);

// nonce(24) || XChaCha20-Poly1305(KDF(current.seed, 1, "trgochan"), previous.seed,
//   ad = "trygg/v1/org-chain" || org_id || u32be(previous.generation) ||
//        u32be(current.generation)).
// Requires previous.generation + 1 == current.generation (checked; aborts).
std::vector<uint8_t> ChainPreviousOrgKey(const Id128& org_id, const OrgKey& current,
                                         const OrgKey& previous, Rng& rng);

// Recovers generation current.generation - 1 from the output of ChainPreviousOrgKey.
absl::StatusOr<OrgKey> UnchainPreviousOrgKey(const Id128& org_id,
                                             const OrgKey& current,
                                             std::span<const uint8_t> chained);

}  // namespace trygg

#endif  // TRYGG_KEYS_H_
