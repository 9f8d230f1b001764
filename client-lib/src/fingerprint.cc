// SPDX-License-Identifier: Apache-2.0

#include "trygg/fingerprint.h"

#include <cstdio>
#include <vector>

#include "internal/byte_codec.h"
#include "internal/sodium.h"

namespace trygg {
namespace {

constexpr uint16_t kFingerprintVersion = 0;
constexpr int kIterations = 5200;  // as Signal: slows a search for a near-collision
constexpr std::string_view kFingerprintLabel = "trygg/v1/fingerprint";
constexpr uint8_t kKindSigning = 1;
constexpr uint8_t kKindBox = 2;
constexpr int kGroups = 12;
constexpr int kShortGroups = 4;

// SHA-512 iterated: h0 = SHA512(u16be(version) || kind || label || key),
// h_{i+1} = SHA512(h_i || key); groups are 5-byte big-endian chunks of the final
// hash, each reduced mod 100000.
std::string Render(uint8_t kind, std::span<const uint8_t, 32> key, int groups) {
  internal::EnsureSodiumInitialized();
  std::vector<uint8_t> input;
  internal::ByteWriter w(input);
  w.U16(kFingerprintVersion);
  w.U8(kind);
  w.Bytes(AsBytes(kFingerprintLabel));
  w.Bytes(key);
  uint8_t hash[crypto_hash_sha512_BYTES];
  crypto_hash_sha512(hash, input.data(), input.size());
  for (int i = 0; i < kIterations; ++i) {
    crypto_hash_sha512_state state;
    crypto_hash_sha512_init(&state);
    crypto_hash_sha512_update(&state, hash, sizeof hash);
    crypto_hash_sha512_update(&state, key.data(), key.size());
    crypto_hash_sha512_final(&state, hash);
  }
  std::string out;
  for (int g = 0; g < groups; ++g) {
    uint64_t chunk = 0;
    for (int b = 0; b < 5; ++b) chunk = (chunk << 8) | hash[5 * g + b];
    char digits[6];
    std::snprintf(digits, sizeof digits, "%05u", static_cast<unsigned>(chunk % 100000));
    if (g > 0) out.push_back(' ');
    out += digits;
  }
  return out;
}

}  // namespace

std::string SafetyNumber(const SignPublicKey& key) {
  return Render(kKindSigning, key.span(), kGroups);
}
std::string SafetyNumber(const BoxPublicKey& key) {
  return Render(kKindBox, key.span(), kGroups);
}
std::string ShortSafetyNumber(const SignPublicKey& key) {
  return Render(kKindSigning, key.span(), kShortGroups);
}
std::string ShortSafetyNumber(const BoxPublicKey& key) {
  return Render(kKindBox, key.span(), kShortGroups);
}

}  // namespace trygg
