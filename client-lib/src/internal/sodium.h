// SPDX-License-Identifier: Apache-2.0

// Private: libsodium initialisation and small AEAD/KDF wrappers shared by the
// libtrygg sources. Not part of the public API.
#ifndef TRYGG_SRC_INTERNAL_SODIUM_H_
#define TRYGG_SRC_INTERNAL_SODIUM_H_

#include <sodium.h>

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "trygg/random.h"
#include "trygg/secret_bytes.h"

namespace trygg::internal {

// Calls sodium_init() once per process; aborts with a message if it fails
// (no safe fallback exists without a working CSPRNG).
void EnsureSodiumInitialized();

inline constexpr size_t kAeadNonceSize = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
inline constexpr size_t kAeadTagSize = crypto_aead_xchacha20poly1305_ietf_ABYTES;

// nonce(24, from rng) || XChaCha20-Poly1305-IETF(key, plaintext, ad).
std::vector<uint8_t> AeadSeal(std::span<const uint8_t, 32> key,
                              std::span<const uint8_t> plaintext,
                              std::span<const uint8_t> ad, Rng& rng);

// Inverse of AeadSeal; `out` must be sealed.size() - 40 bytes. Returns false if
// the input is too short or does not authenticate (and leaves `out` zeroed).
[[nodiscard]] bool AeadOpen(std::span<const uint8_t, 32> key,
                            std::span<const uint8_t> sealed,
                            std::span<const uint8_t> ad, std::span<uint8_t> out);

// Argon2id limits a stored file (a key store, a sealed server key) may ask
// for: from crypto_pwhash_*_MIN up to these bounds, so a planted file cannot
// make opening exhaust memory or hang (SENSITIVE is 4 passes / 1 GiB).
inline constexpr uint64_t kMaxPwhashOpslimit = 16;
inline constexpr uint64_t kMaxPwhashMemlimit = uint64_t{4} << 30;

// Argon2id13(passphrase, salt, opslimit, memlimit) into `key`, the key of a
// file sealed under a passphrase. False when Argon2id cannot allocate
// `memlimit` bytes.
[[nodiscard]] bool DerivePassphraseKey(std::string_view passphrase,
                                       std::span<const uint8_t, crypto_pwhash_SALTBYTES> salt,
                                       uint64_t opslimit, uint64_t memlimit, SecretKey& key);

// crypto_kdf_derive_from_key(32 bytes, subkey_id, context, master).
SecretKey DeriveSubkey(std::span<const uint8_t, 32> master, uint64_t subkey_id,
                       const char (&context)[crypto_kdf_CONTEXTBYTES + 1]);

}  // namespace trygg::internal

#endif  // TRYGG_SRC_INTERNAL_SODIUM_H_
