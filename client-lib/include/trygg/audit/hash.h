// SPDX-License-Identifier: Apache-2.0

// RFC 9162 Merkle tree hashing for the audit log: the three hash functions
// tryggd, every device and any independent auditor must agree on. Their
// values are trygg::Hash256 (bytes.h), the one 32-byte digest type.
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
// Bytes from outside become a Hash256 only through Hash256::FromSpan /
// Hash256::FromHex, which return InvalidArgument on a wrong length or bad hex,
// never crash.
#ifndef TRYGG_AUDIT_HASH_H_
#define TRYGG_AUDIT_HASH_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "trygg/bytes.h"

namespace trygg::audit {

inline constexpr size_t kHashSize = 32;

// Plain SHA-256 of `data` (libsodium crypto_hash_sha256).
Hash256 Sha256(absl::Span<const uint8_t> data);

// RFC 9162 leaf hash of one log entry's bytes: SHA-256(0x00 || entry).
Hash256 HashLeaf(absl::Span<const uint8_t> entry);
inline Hash256 HashLeaf(std::string_view entry) {
  return HashLeaf(absl::Span<const uint8_t>(
      reinterpret_cast<const uint8_t*>(entry.data()), entry.size()));
}

// RFC 9162 interior node hash: SHA-256(0x01 || left || right).
Hash256 HashChildren(const Hash256& left, const Hash256& right);

// Root of the tree with no leaves: SHA-256 of the empty string.
Hash256 EmptyTreeRoot();

}  // namespace trygg::audit

#endif  // TRYGG_AUDIT_HASH_H_
