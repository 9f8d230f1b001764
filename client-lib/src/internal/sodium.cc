// SPDX-License-Identifier: Apache-2.0

#include "internal/sodium.h"

#include <cstdio>
#include <cstdlib>

#include "trygg/status_macros.h"

namespace trygg::internal {

void EnsureSodiumInitialized() {
  static const bool initialised = [] {
    if (sodium_init() < 0) {
      std::fprintf(stderr, "trygg: sodium_init() failed; refusing to run\n");
      std::abort();
    }
    return true;
  }();
  (void)initialised;
}

bool DerivePassphraseKey(std::string_view passphrase,
                         std::span<const uint8_t, crypto_pwhash_SALTBYTES> salt,
                         uint64_t opslimit, uint64_t memlimit, SecretKey& key) {
  EnsureSodiumInitialized();
  return crypto_pwhash(key.data(), key.size(), passphrase.data(), passphrase.size(), salt.data(),
                       opslimit, static_cast<size_t>(memlimit), crypto_pwhash_ALG_ARGON2ID13) == 0;
}

std::vector<uint8_t> AeadSeal(std::span<const uint8_t, 32> key,
                              std::span<const uint8_t> plaintext,
                              std::span<const uint8_t> ad, Rng& rng) {
  EnsureSodiumInitialized();
  std::vector<uint8_t> out(kAeadNonceSize + plaintext.size() + kAeadTagSize);
  rng.Fill(std::span(out.data(), kAeadNonceSize));
  unsigned long long ciphertext_len = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      out.data() + kAeadNonceSize, &ciphertext_len, plaintext.data(),
      plaintext.size(), ad.data(), ad.size(), nullptr, out.data(), key.data());
  TRYGG_CHECK(ciphertext_len == plaintext.size() + kAeadTagSize);
  return out;
}

bool AeadOpen(std::span<const uint8_t, 32> key, std::span<const uint8_t> sealed,
              std::span<const uint8_t> ad, std::span<uint8_t> out) {
  EnsureSodiumInitialized();
  if (sealed.size() < kAeadNonceSize + kAeadTagSize ||
      out.size() != sealed.size() - kAeadNonceSize - kAeadTagSize) {
    return false;
  }
  unsigned long long plaintext_len = 0;
  const int rc = crypto_aead_xchacha20poly1305_ietf_decrypt(
      out.data(), &plaintext_len, nullptr, sealed.data() + kAeadNonceSize,
      sealed.size() - kAeadNonceSize, ad.data(), ad.size(), sealed.data(),
      key.data());
  if (rc != 0) {
    sodium_memzero(out.data(), out.size());
    return false;
  }
  return true;
}

SecretKey DeriveSubkey(std::span<const uint8_t, 32> master, uint64_t subkey_id,
                       const char (&context)[crypto_kdf_CONTEXTBYTES + 1]) {
  EnsureSodiumInitialized();
  static_assert(crypto_kdf_KEYBYTES == 32);
  SecretKey subkey;
  crypto_kdf_derive_from_key(subkey.data(), subkey.size(), subkey_id, context,
                             master.data());
  return subkey;
}

}  // namespace trygg::internal
