// SPDX-License-Identifier: Apache-2.0

#include "trygg/audit/restore_notice.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "internal/byte_codec.h"
#include "trygg/audit/verify.h"

namespace trygg::audit {

EncodedRestoreNotice EncodeRestoreNotice(const RestoreNotice& notice) {
  std::vector<uint8_t> bytes;
  bytes.reserve(kEncodedRestoreNoticeSize);
  internal::ByteWriter out(bytes);
  out.U8(kRestoreNoticeVersion);
  out.U64(notice.restored_tree_size);
  out.Bytes(notice.restored_root_hash.span());
  out.I64(notice.restored_at_ms);
  const TreeHead superseded = notice.superseded.value_or(TreeHead{});
  out.U8(notice.superseded.has_value() ? 1 : 0);
  out.U64(superseded.tree_size);
  out.I64(superseded.timestamp_ms);
  out.Bytes(superseded.root_hash.span());
  EncodedRestoreNotice encoded;
  std::copy(bytes.begin(), bytes.end(), encoded.begin());
  return encoded;
}

absl::StatusOr<RestoreNotice> DecodeRestoreNotice(absl::Span<const uint8_t> bytes) {
  if (bytes.size() != kEncodedRestoreNoticeSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("a restore notice must be ", kEncodedRestoreNoticeSize, " bytes, got ", bytes.size()));
  }
  internal::ByteReader in(std::span<const uint8_t>(bytes.data(), bytes.size()));
  if (const uint8_t version = in.U8(); version != kRestoreNoticeVersion) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown restore notice version ", version, "; expected ", kRestoreNoticeVersion));
  }
  RestoreNotice notice;
  notice.restored_tree_size = in.U64();
  in.Bytes(notice.restored_root_hash.span());
  notice.restored_at_ms = in.I64();
  const uint8_t has_superseded = in.U8();
  TreeHead superseded;
  superseded.tree_size = in.U64();
  superseded.timestamp_ms = in.I64();
  in.Bytes(superseded.root_hash.span());
  if (has_superseded > 1) {
    return absl::InvalidArgumentError(absl::StrCat("a restore notice's superseded flag is ", has_superseded, ", not 0 or 1"));
  }
  // One encoding per notice: without a superseded head its fields are zero.
  if (has_superseded == 0 && (superseded != TreeHead{})) {
    return absl::InvalidArgumentError("a restore notice without a superseded head has non-zero superseded fields");
  }
  if (has_superseded == 1) notice.superseded = superseded;
  return notice;
}

SignedRestoreNotice SignRestoreNotice(const SigningKeyPair& server_key, const RestoreNotice& notice) {
  return {notice, Sign(server_key, SigningContext::kRestoreNotice, EncodeRestoreNotice(notice))};
}

absl::Status VerifyRestoreNoticeSignature(const SignedRestoreNotice& signed_notice, const SignPublicKey& server_key) {
  if (!Verify(server_key, SigningContext::kRestoreNotice, EncodeRestoreNotice(signed_notice.notice),
              signed_notice.signature)
           .ok()) {
    return absl::PermissionDeniedError(
        absl::StrCat("the restore notice is not signed by server key ", HexEncode(server_key.span())));
  }
  return absl::OkStatus();
}

absl::Status CheckRestoreExplains(const RestoreNotice& notice, const TreeHead& saved, const TreeHead& latest,
                                  absl::Span<const Hash256> proof) {
  if (saved.timestamp_ms >= notice.restored_at_ms) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the saved head of size ", saved.tree_size, " was signed at ", saved.timestamp_ms,
        " ms, not before the restore at ", notice.restored_at_ms,
        " ms: this notice does not explain it (an older notice never covers a later rollback)"));
  }
  if (notice.superseded.has_value() && notice.superseded->tree_size < saved.tree_size) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the notice says the restore abandoned a log of size ", notice.superseded->tree_size,
        ", smaller than the saved head of size ", saved.tree_size, ": it does not explain the saved head"));
  }
  if (latest.tree_size < notice.restored_tree_size) {
    return absl::DataLossError(absl::StrCat("the signed log of size ", latest.tree_size,
                                            " is smaller than the restored log of size ", notice.restored_tree_size));
  }
  if (notice.restored_tree_size == 0) return absl::OkStatus();
  if (absl::Status extends = VerifyConsistency(notice.restored_tree_size, latest.tree_size, notice.restored_root_hash,
                                               latest.root_hash, proof);
      !extends.ok()) {
    return absl::DataLossError(absl::StrCat("the signed log of size ", latest.tree_size,
                                            " does not extend the restored log of size ", notice.restored_tree_size,
                                            " the notice names: ", extends.message()));
  }
  return absl::OkStatus();
}

}  // namespace trygg::audit
