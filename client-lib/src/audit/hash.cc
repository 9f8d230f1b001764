#include "trygg/audit/hash.h"

#include <sodium.h>

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace trygg::audit {
namespace {

constexpr uint8_t kLeafPrefix = 0x00;
constexpr uint8_t kNodePrefix = 0x01;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

absl::StatusOr<Hash> Hash::FromBytes(absl::Span<const uint8_t> bytes) {
  if (bytes.size() != kHashSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("hash must be ", kHashSize, " bytes, got ", bytes.size()));
  }
  Hash hash;
  std::copy(bytes.begin(), bytes.end(), hash.bytes_.begin());
  return hash;
}

absl::StatusOr<Hash> Hash::FromHex(std::string_view hex) {
  if (hex.size() != 2 * kHashSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "hex hash must be ", 2 * kHashSize, " digits, got ", hex.size()));
  }
  Hash hash;
  for (size_t i = 0; i < kHashSize; ++i) {
    const int hi = HexValue(hex[2 * i]);
    const int lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("hex hash has a non-hex character at offset ",
                       hi < 0 ? 2 * i : 2 * i + 1));
    }
    hash.bytes_[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return hash;
}

std::string Hash::ToHex() const {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(2 * kHashSize, '0');
  for (size_t i = 0; i < kHashSize; ++i) {
    out[2 * i] = kDigits[bytes_[i] >> 4];
    out[2 * i + 1] = kDigits[bytes_[i] & 0x0f];
  }
  return out;
}

Hash Sha256(absl::Span<const uint8_t> data) {
  std::array<uint8_t, kHashSize> out;
  crypto_hash_sha256(out.data(), data.data(), data.size());
  return Hash(out);
}

// The multi-part API lets the prefix byte be hashed without copying the entry
// into a fresh buffer; entries can be kilobytes and are hashed on every append.
Hash HashLeaf(absl::Span<const uint8_t> entry) {
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  crypto_hash_sha256_update(&state, &kLeafPrefix, 1);
  crypto_hash_sha256_update(&state, entry.data(), entry.size());
  std::array<uint8_t, kHashSize> out;
  crypto_hash_sha256_final(&state, out.data());
  return Hash(out);
}

// Node inputs have a fixed size, so one contiguous buffer and a single call is
// cheaper than three updates; this is the hot path of appends and proofs.
Hash HashChildren(const Hash& left, const Hash& right) {
  std::array<uint8_t, 1 + 2 * kHashSize> input;
  input[0] = kNodePrefix;
  std::copy(left.bytes().begin(), left.bytes().end(), input.begin() + 1);
  std::copy(right.bytes().begin(), right.bytes().end(),
            input.begin() + 1 + kHashSize);
  std::array<uint8_t, kHashSize> out;
  crypto_hash_sha256(out.data(), input.data(), input.size());
  return Hash(out);
}

Hash EmptyTreeRoot() { return Sha256({}); }

}  // namespace trygg::audit
