// SPDX-License-Identifier: Apache-2.0

// Fixed-size byte values and hex helpers shared by every libtrygg module.
//
// Purpose: public keys, signatures, hashes and ids are distinct types of a fixed
// length, so a BoxPublicKey cannot be passed where a SignPublicKey is expected and
// no length is ever implicit. Variable-length byte inputs cross module boundaries
// as std::span<const uint8_t>.
// Ownership: FixedBytes are plain values (copyable, no heap). They hold public data
// only; secrets live in SecretBytes (secret_bytes.h).
// Thread-safety: values; safe to share read-only.
// Failure modes: FromSpan and HexDecode return InvalidArgument on a bad length or a
// non-hex character. operator== is not constant-time: never compare secrets with it.
#ifndef TRYGG_BYTES_H_
#define TRYGG_BYTES_H_

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace trygg {

template <size_t N, typename Tag>
class FixedBytes {
 public:
  static constexpr size_t kSize = N;

  FixedBytes() : bytes_{} {}
  explicit FixedBytes(const std::array<uint8_t, N>& bytes) : bytes_(bytes) {}

  // Exactly 2 * N hex digits (either case), otherwise InvalidArgument.
  static absl::StatusOr<FixedBytes> FromHex(std::string_view hex);
  // Lower-case hex, 2 * N characters.
  std::string ToHex() const;

  // Copies `bytes`, which must be exactly N long.
  static absl::StatusOr<FixedBytes> FromSpan(std::span<const uint8_t> bytes) {
    if (bytes.size() != N) {
      return absl::InvalidArgumentError("expected " + std::to_string(N) +
                                        " bytes, got " +
                                        std::to_string(bytes.size()));
    }
    FixedBytes out;
    for (size_t i = 0; i < N; ++i) out.bytes_[i] = bytes[i];
    return out;
  }

  uint8_t* data() { return bytes_.data(); }
  const uint8_t* data() const { return bytes_.data(); }
  static constexpr size_t size() { return N; }
  std::span<uint8_t, N> span() { return bytes_; }
  std::span<const uint8_t, N> span() const { return bytes_; }
  const std::array<uint8_t, N>& array() const { return bytes_; }

  bool IsZero() const {
    for (uint8_t b : bytes_) {
      if (b != 0) return false;
    }
    return true;
  }

  friend bool operator==(const FixedBytes&, const FixedBytes&) = default;
  // Byte-wise order, so ids can key ordered maps.
  friend auto operator<=>(const FixedBytes&, const FixedBytes&) = default;

 private:
  std::array<uint8_t, N> bytes_;
};

struct SignPublicKeyTag {};
struct BoxPublicKeyTag {};
struct SignatureTag {};
struct Hash256Tag {};
struct Id128Tag {};
struct KeyIdTag {};

// Ed25519 public key (crypto_sign_PUBLICKEYBYTES).
using SignPublicKey = FixedBytes<32, SignPublicKeyTag>;
// X25519 public key (crypto_box_PUBLICKEYBYTES).
using BoxPublicKey = FixedBytes<32, BoxPublicKeyTag>;
// Ed25519 detached signature (crypto_sign_BYTES).
using Signature = FixedBytes<64, SignatureTag>;
// A 32-byte digest, the one hash type: BLAKE2b-256 for content hashes and
// ids (Blake2b256 below), SHA-256 in the audit log's Merkle tree
// (trygg/audit/hash.h). Which one a field holds is part of its format.
using Hash256 = FixedBytes<32, Hash256Tag>;
// Random 128-bit identifier: case_id, scope_id, record_id, org_id, device_id.
using Id128 = FixedBytes<16, Id128Tag>;
// Short identifier of a public key (see grant.h, BoxKeyId).
using KeyId = FixedBytes<16, KeyIdTag>;

// BLAKE2b-256 (crypto_generichash, no key) of `bytes`.
Hash256 Blake2b256(std::span<const uint8_t> bytes);

// Lower-case hex.
std::string HexEncode(std::span<const uint8_t> bytes);
// Accepts upper or lower case; rejects odd lengths and non-hex characters.
absl::StatusOr<std::vector<uint8_t>> HexDecode(std::string_view hex);

template <size_t N, typename Tag>
absl::StatusOr<FixedBytes<N, Tag>> FixedBytes<N, Tag>::FromHex(std::string_view hex) {
  if (hex.size() != 2 * N) {
    return absl::InvalidArgumentError("expected " + std::to_string(2 * N) + " hex digits, got " +
                                      std::to_string(hex.size()));
  }
  absl::StatusOr<std::vector<uint8_t>> bytes = HexDecode(hex);
  if (!bytes.ok()) return bytes.status();
  return FromSpan(*bytes);
}

template <size_t N, typename Tag>
std::string FixedBytes<N, Tag>::ToHex() const {
  return HexEncode(bytes_);
}

// Reads a string literal as bytes, e.g. for AAD built from a label.
inline std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace trygg

#endif  // TRYGG_BYTES_H_
