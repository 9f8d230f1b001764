// RFC 9162 Merkle tree hashing for the audit log: the 32-byte `Hash` value
// type and the three hash functions every other part of server/audit/ and any
// independent auditor must agree on.
//
//   leaf hash  = SHA-256(0x00 || entry bytes)
//   node hash  = SHA-256(0x01 || left || right)
//   empty tree = SHA-256("")
//
// The distinct leaf and node prefixes (RFC 9162 section 2.1.1) make it
// impossible to present an interior node as a leaf or the reverse, so a
// second preimage cannot be built from a tree's own nodes.
//
// Everything here is a pure function of its arguments and is thread-safe.
// `Hash` is a plain value type (copyable, 32 bytes, no heap). Bytes from
// outside become a `Hash` only through `Hash::FromBytes` / `Hash::FromHex`,
// which return InvalidArgument on a wrong length or bad hex, never crash.
#ifndef TRYGG_AUDIT_HASH_H_
#define TRYGG_AUDIT_HASH_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace trygg::audit {

inline constexpr size_t kHashSize = 32;

// A SHA-256 digest: a leaf hash, an interior node hash or a tree root.
class Hash {
 public:
  // All-zero bytes; never the hash of anything in practice, and never
  // produced by the functions below.
  constexpr Hash() : bytes_{} {}
  explicit constexpr Hash(const std::array<uint8_t, kHashSize>& bytes)
      : bytes_(bytes) {}

  // Exactly kHashSize bytes, otherwise InvalidArgument.
  static absl::StatusOr<Hash> FromBytes(absl::Span<const uint8_t> bytes);
  // Exactly 2 * kHashSize hex digits (either case), otherwise InvalidArgument.
  static absl::StatusOr<Hash> FromHex(std::string_view hex);

  const std::array<uint8_t, kHashSize>& bytes() const { return bytes_; }
  absl::Span<const uint8_t> span() const { return bytes_; }
  // Mutable access so tests and decoders can fill or corrupt a hash in place.
  uint8_t* mutable_data() { return bytes_.data(); }

  // Lower-case hex, 64 characters.
  std::string ToHex() const;

  friend bool operator==(const Hash& a, const Hash& b) = default;

 private:
  std::array<uint8_t, kHashSize> bytes_;
};

// Plain SHA-256 of `data` (libsodium crypto_hash_sha256).
Hash Sha256(absl::Span<const uint8_t> data);

// RFC 9162 leaf hash of one log entry's bytes: SHA-256(0x00 || entry).
Hash HashLeaf(absl::Span<const uint8_t> entry);
inline Hash HashLeaf(std::string_view entry) {
  return HashLeaf(absl::Span<const uint8_t>(
      reinterpret_cast<const uint8_t*>(entry.data()), entry.size()));
}

// RFC 9162 interior node hash: SHA-256(0x01 || left || right).
Hash HashChildren(const Hash& left, const Hash& right);

// Root of the tree with no leaves: SHA-256 of the empty string.
Hash EmptyTreeRoot();

}  // namespace trygg::audit

#endif  // TRYGG_AUDIT_HASH_H_
