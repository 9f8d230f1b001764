// SPDX-License-Identifier: Apache-2.0

// The audit log's tree head and its fixed binary encoding: the exact bytes the
// server signs with its certified Ed25519 key and every verifier re-derives.
// Signing and signature checking happen elsewhere; this file only defines and
// parses the bytes.
//
// Encoding, 49 bytes, integers big-endian (docs/audit.md):
//   offset  0  u8    version        kTreeHeadVersion (1)
//   offset  1  u64   tree_size      number of leaves
//   offset  9  i64   timestamp_ms   milliseconds since the Unix epoch, UTC
//   offset 17  32 B  root_hash      RFC 9162 root of the first tree_size leaves
// The server signs these 49 bytes with SigningContext::kTreeHead (signing.h),
// so a tree head signature is never valid as any other message the same key
// signs.
//
// DecodeTreeHead takes bytes from outside and returns InvalidArgument, with
// the reason, for a wrong length or an unknown version; it never crashes.
// Pure functions; thread-safe.
#ifndef TRYGG_AUDIT_TREE_HEAD_H_
#define TRYGG_AUDIT_TREE_HEAD_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "trygg/audit/hash.h"
#include "trygg/bytes.h"

namespace trygg::audit {

inline constexpr uint8_t kTreeHeadVersion = 1;
inline constexpr size_t kEncodedTreeHeadSize = 1 + 8 + 8 + kHashSize;

struct TreeHead {
  uint64_t tree_size = 0;
  // Milliseconds since 1970-01-01T00:00:00Z. Any int64 is encodable;
  // judging whether a time is plausible is the verifier's policy.
  int64_t timestamp_ms = 0;
  Hash256 root_hash;

  friend bool operator==(const TreeHead&, const TreeHead&) = default;
};

using EncodedTreeHead = std::array<uint8_t, kEncodedTreeHeadSize>;

EncodedTreeHead EncodeTreeHead(const TreeHead& head);

// Exactly kEncodedTreeHeadSize bytes with version kTreeHeadVersion.
absl::StatusOr<TreeHead> DecodeTreeHead(absl::Span<const uint8_t> bytes);

// A tree head with the server key's signature over its encoding.
struct SignedTreeHead {
  TreeHead head;
  Signature signature;

  friend bool operator==(const SignedTreeHead&, const SignedTreeHead&) = default;
};

// OK when `signed_head.signature` is `server_key`'s kTreeHead signature over
// EncodeTreeHead(signed_head.head); PermissionDenied naming the size and key
// otherwise.
absl::Status VerifyTreeHeadSignature(const SignedTreeHead& signed_head, const SignPublicKey& server_key);

}  // namespace trygg::audit

#endif  // TRYGG_AUDIT_TREE_HEAD_H_
