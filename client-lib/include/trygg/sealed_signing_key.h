// SPDX-License-Identifier: Apache-2.0

// A signing key's 32-byte Ed25519 seed sealed under a passphrase, for the
// server signing key carried by a backup (`tryggd backup --with-signing-key`).
//
// Purpose: the same construction as the key store (key_store.h): a header
// (magic "TRGS", version, algorithm, Argon2id limits, salt, and the public
// key in clear) that is the additional data of XChaCha20-Poly1305 under a key
// from Argon2id(passphrase), then a BLAKE2b-256 checksum trailer that
// separates accidental damage (DataLoss) from a wrong passphrase
// (PermissionDenied). The public key in the header lets a restore check the
// file belongs to the database's certified key before asking for anything;
// being additional data, it cannot be swapped without the passphrase.
// Layout: docs/protocol.md, "Sealed server signing key".
// Ownership: the opened seed is in SecretKey (locked, wiped on destruction);
// the passphrase is only borrowed.
// Thread-safety: pure functions of their inputs (and `rng`); reentrant.
// Failure modes: wrong passphrase -> PermissionDenied/kWrongPassphrase; damaged
// or truncated bytes, or a seed whose public key is not the header's ->
// DataLoss/kCorruptKeyStore; limits below INTERACTIVE -> FailedPrecondition/
// kWeakKdfLimits unless allow_weak_kdf_for_tests; an empty passphrase or limits
// out of range when sealing -> InvalidArgument; Argon2id out of memory ->
// ResourceExhausted.
#ifndef TRYGG_SEALED_SIGNING_KEY_H_
#define TRYGG_SEALED_SIGNING_KEY_H_

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "trygg/bytes.h"
#include "trygg/key_store.h"
#include "trygg/random.h"
#include "trygg/secret_bytes.h"

namespace trygg {

// The exact size of a sealed signing key: header 70, nonce 24, sealed seed
// 32 + tag 16, checksum 32.
inline constexpr size_t kSealedSigningKeySize = 174;

struct OpenedSigningKey {
  SecretKey seed;
  SignPublicKey public_key;
};

// Seals `seed` under `passphrase` with `limits`, a fresh salt and nonce from
// `rng`.
absl::StatusOr<std::vector<uint8_t>> SealSigningKey(std::span<const uint8_t, 32> seed,
                                                    std::string_view passphrase,
                                                    const KdfLimits& limits, Rng& rng);

// The public key the header names, without the passphrase (DataLoss when the
// bytes are not a sealed signing key or fail their checksum).
absl::StatusOr<SignPublicKey> SealedSigningKeyPublicKey(std::span<const uint8_t> sealed);

// Opens what SealSigningKey wrote.
absl::StatusOr<OpenedSigningKey> OpenSealedSigningKey(std::span<const uint8_t> sealed,
                                                      std::string_view passphrase,
                                                      const KeyStoreOpenOptions& options = {});

}  // namespace trygg

#endif  // TRYGG_SEALED_SIGNING_KEY_H_
