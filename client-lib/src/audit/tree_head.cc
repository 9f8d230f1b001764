// SPDX-License-Identifier: Apache-2.0

#include "trygg/audit/tree_head.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "trygg/signing.h"

namespace trygg::audit {
namespace {

void PutU64(uint64_t value, uint8_t* out) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<uint8_t>(value);
    value >>= 8;
  }
}

uint64_t GetU64(const uint8_t* in) {
  uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value = value << 8 | in[i];
  return value;
}

}  // namespace

EncodedTreeHead EncodeTreeHead(const TreeHead& head) {
  EncodedTreeHead out;
  out[0] = kTreeHeadVersion;
  PutU64(head.tree_size, &out[1]);
  // Two's complement by definition in C++20, so the cast is the encoding.
  PutU64(static_cast<uint64_t>(head.timestamp_ms), &out[9]);
  std::copy(head.root_hash.array().begin(), head.root_hash.array().end(),
            out.begin() + 17);
  return out;
}

absl::StatusOr<TreeHead> DecodeTreeHead(absl::Span<const uint8_t> bytes) {
  if (bytes.size() != kEncodedTreeHeadSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("tree head must be ", kEncodedTreeHeadSize,
                     " bytes, got ", bytes.size()));
  }
  if (bytes[0] != kTreeHeadVersion) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown tree head version ", bytes[0], "; expected ",
                     kTreeHeadVersion));
  }
  TreeHead head;
  head.tree_size = GetU64(&bytes[1]);
  head.timestamp_ms = static_cast<int64_t>(GetU64(&bytes[9]));
  std::copy(bytes.begin() + 17, bytes.end(), head.root_hash.data());
  return head;
}

absl::Status VerifyTreeHeadSignature(const SignedTreeHead& signed_head, const SignPublicKey& server_key) {
  const EncodedTreeHead bytes = EncodeTreeHead(signed_head.head);
  if (!Verify(server_key, SigningContext::kTreeHead, bytes, signed_head.signature).ok()) {
    return absl::PermissionDeniedError(absl::StrCat("the tree head of size ", signed_head.head.tree_size,
                                                    " is not signed by server key ", HexEncode(server_key.span())));
  }
  return absl::OkStatus();
}

}  // namespace trygg::audit
