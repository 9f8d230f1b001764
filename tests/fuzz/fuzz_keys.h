// SPDX-License-Identifier: Apache-2.0

// Fixed keys for fuzz targets: a target signs what the fuzzer made with these,
// so that the parsing and checking behind a signature check is reached too
// (a fuzzer cannot forge Ed25519). Derived from constant seeds, so every run
// and every replay sees the same keys.
#ifndef TRYGG_TESTS_FUZZ_FUZZ_KEYS_H_
#define TRYGG_TESTS_FUZZ_FUZZ_KEYS_H_

#include <array>
#include <cstdint>

#include <sodium.h>

#include <span>

#include "trygg/keys.h"
#include "trygg/secret_bytes.h"
#include "trygg/signing.h"

namespace trygg::fuzz {

inline std::array<uint8_t, 32> Seed(uint8_t n) {
  std::array<uint8_t, 32> seed{};
  seed.fill(n);
  return seed;
}

// The n-th fixed signing key (n < 8).
inline const SigningKeyPair& FixedSigningKey(uint8_t n) {
  static const auto* keys = [] {
    auto* k = new std::array<SigningKeyPair, 8>();
    for (uint8_t i = 0; i < 8; ++i) (*k)[i] = SigningKeyPairFromSeed(Seed(0x10 + i));
    return k;
  }();
  return (*keys)[n % 8];
}

// The n-th fixed X25519 key pair (n < 8).
inline const BoxKeyPair& FixedBoxKey(uint8_t n) {
  static const auto* keys = [] {
    auto* k = new std::array<BoxKeyPair, 8>();
    for (uint8_t i = 0; i < 8; ++i) (*k)[i] = BoxKeyPairFromSeed(Seed(0x20 + i));
    return k;
  }();
  return (*keys)[n % 8];
}

// A fixed 32-byte symmetric key.
inline SecretKey FixedSecretKey(uint8_t n) {
  SecretKey key;
  for (size_t i = 0; i < key.size(); ++i) key.data()[i] = static_cast<uint8_t>(0x40 + n + i);
  return key;
}

// A signature over exactly `signed_bytes`, which already begin with their
// context string (RecordSignedBytes, GrantSignedBytes).
inline Signature SignExact(const SigningKeyPair& key, std::span<const uint8_t> signed_bytes) {
  Signature signature;
  crypto_sign_detached(signature.data(), nullptr, signed_bytes.data(), signed_bytes.size(), key.secret_key.data());
  return signature;
}

}  // namespace trygg::fuzz

#endif  // TRYGG_TESTS_FUZZ_FUZZ_KEYS_H_
