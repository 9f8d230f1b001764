// SPDX-License-Identifier: Apache-2.0

#include "trygg/fingerprint.h"

#include <sodium.h>

#include <catch2/catch.hpp>

#include "crypto_test_util.h"
#include "trygg/keys.h"

namespace trygg {
namespace {

// "ddddd ddddd ... ddddd": twelve groups of five digits, single spaces.
bool IsSafetyNumberShape(const std::string& number) {
  if (number.size() != 12 * 6 - 1) return false;
  for (size_t i = 0; i < number.size(); ++i) {
    const bool separator = i % 6 == 5;
    if (separator ? number[i] != ' ' : (number[i] < '0' || number[i] > '9')) return false;
  }
  return true;
}

// Independent implementation of docs/protocol.md, "Fingerprints".
std::string Reference(uint8_t kind, std::span<const uint8_t, 32> key) {
  const std::string_view label = "trygg/v1/fingerprint";
  uint8_t input[3 + 20 + 32] = {0x00, 0x00, kind};
  std::copy(label.begin(), label.end(), input + 3);
  std::copy(key.begin(), key.end(), input + 3 + label.size());
  uint8_t hash[64];
  crypto_hash_sha512(hash, input, sizeof input);
  for (int i = 0; i < 5200; ++i) {
    uint8_t buf[96];
    std::copy(hash, hash + 64, buf);
    std::copy(key.begin(), key.end(), buf + 64);
    crypto_hash_sha512(hash, buf, sizeof buf);
  }
  std::string out;
  for (int g = 0; g < 12; ++g) {
    uint64_t v = 0;
    for (int b = 0; b < 5; ++b) v = (v << 8) | hash[5 * g + b];
    char digits[8];
    std::snprintf(digits, sizeof digits, "%05llu", static_cast<unsigned long long>(v % 100000));
    out += (g ? " " : "") + std::string(digits);
  }
  return out;
}

TEST_CASE("safety numbers: format, determinism, separation", "[fingerprint]") {
  DeterministicRng rng(0x66);
  const DeviceKeys device = DeviceKeys::Generate(rng);
  const std::string number = SafetyNumber(device.signing().public_key);
  REQUIRE(IsSafetyNumberShape(number));
  REQUIRE(number == SafetyNumber(device.signing().public_key));
  REQUIRE(number == Reference(1, device.signing().public_key.span()));
  REQUIRE(SafetyNumber(device.box().public_key) == Reference(2, device.box().public_key.span()));
  REQUIRE(ShortSafetyNumber(device.signing().public_key) == number.substr(0, 23));

  // The same 32 bytes as a signing key and as a box key give different numbers.
  const BoxPublicKey same_bytes(device.signing().public_key.array());
  REQUIRE(SafetyNumber(same_bytes) != number);
  const DeviceKeys other = DeviceKeys::Generate(rng);
  REQUIRE(SafetyNumber(other.signing().public_key) != number);
}

}  // namespace
}  // namespace trygg
