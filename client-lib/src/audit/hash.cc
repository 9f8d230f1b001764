// SPDX-License-Identifier: Apache-2.0

#include "trygg/audit/hash.h"

#include <sodium.h>

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace trygg::audit {
namespace {

constexpr uint8_t kLeafPrefix = 0x00;
constexpr uint8_t kNodePrefix = 0x01;

}  // namespace

Hash256 Sha256(absl::Span<const uint8_t> data) {
  std::array<uint8_t, kHashSize> out;
  crypto_hash_sha256(out.data(), data.data(), data.size());
  return Hash256(out);
}

// The multi-part API lets the prefix byte be hashed without copying the entry
// into a fresh buffer; entries can be kilobytes and are hashed on every append.
Hash256 HashLeaf(absl::Span<const uint8_t> entry) {
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  crypto_hash_sha256_update(&state, &kLeafPrefix, 1);
  crypto_hash_sha256_update(&state, entry.data(), entry.size());
  std::array<uint8_t, kHashSize> out;
  crypto_hash_sha256_final(&state, out.data());
  return Hash256(out);
}

// Node inputs have a fixed size, so one contiguous buffer and a single call is
// cheaper than three updates; this is the hot path of appends and proofs.
Hash256 HashChildren(const Hash256& left, const Hash256& right) {
  std::array<uint8_t, 1 + 2 * kHashSize> input;
  input[0] = kNodePrefix;
  std::copy(left.array().begin(), left.array().end(), input.begin() + 1);
  std::copy(right.array().begin(), right.array().end(),
            input.begin() + 1 + kHashSize);
  std::array<uint8_t, kHashSize> out;
  crypto_hash_sha256(out.data(), input.data(), input.size());
  return Hash256(out);
}

Hash256 EmptyTreeRoot() { return Sha256({}); }

}  // namespace trygg::audit
