// SPDX-License-Identifier: Apache-2.0

// A restore notice: the operator's signed statement that the server's audit
// log was restored from a backup, so that devices and coordinators who hold a
// head the restored log no longer extends can tell an announced restore from a
// silent rollback (docs/audit.md, section 10; docs/threat-model.md).
//
// `tryggd restore` signs one with the server's certified key, under its own
// context (SigningContext::kRestoreNotice), after every check of the backup
// has passed. It names the log that was put in place (its size and Merkle
// root), when, and, when a database was replaced, that database's latest
// signed head: what the restore abandoned.
//
// Encoding, 98 bytes, integers big-endian:
//   offset  0  u8    version                 kRestoreNoticeVersion (1)
//   offset  1  u64   restored tree_size      entries in the restored log
//   offset  9  32 B  restored root_hash      RFC 9162 root of those entries
//   offset 41  i64   restored_at_ms          when the restore ran (UTC ms)
//   offset 49  u8    has_superseded          0 or 1
//   offset 50  u64   superseded tree_size    } the replaced database's latest
//   offset 58  i64   superseded timestamp_ms } signed head; all zero when
//   offset 66  32 B  superseded root_hash    } has_superseded is 0
//
// A notice does not make a rollback harmless: it makes it attributable. The
// server key signs an admission that the entries past the restored size are
// gone; an auditor keeps the notice beside the superseded head as evidence.
// What it may excuse is bounded by CheckRestoreExplains: only heads signed
// before the restore, only a log that extends the restored one, and never a
// head larger than the superseded head the notice itself names.
//
// DecodeRestoreNotice takes bytes from outside and returns InvalidArgument,
// with the reason, for a wrong length, an unknown version or a malformed
// flag; it never crashes. Pure functions; thread-safe.
#ifndef TRYGG_AUDIT_RESTORE_NOTICE_H_
#define TRYGG_AUDIT_RESTORE_NOTICE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "trygg/audit/hash.h"
#include "trygg/audit/tree_head.h"
#include "trygg/bytes.h"
#include "trygg/signing.h"

namespace trygg::audit {

inline constexpr uint8_t kRestoreNoticeVersion = 1;
inline constexpr size_t kEncodedRestoreNoticeSize = 1 + 8 + 32 + 8 + 1 + 8 + 8 + 32;

struct RestoreNotice {
  uint64_t restored_tree_size = 0;
  Hash256 restored_root_hash;
  int64_t restored_at_ms = 0;
  // The replaced database's latest signed head, when there was one whose
  // signature verified under the same key.
  std::optional<TreeHead> superseded;

  friend bool operator==(const RestoreNotice&, const RestoreNotice&) = default;
};

using EncodedRestoreNotice = std::array<uint8_t, kEncodedRestoreNoticeSize>;

EncodedRestoreNotice EncodeRestoreNotice(const RestoreNotice& notice);
absl::StatusOr<RestoreNotice> DecodeRestoreNotice(absl::Span<const uint8_t> bytes);

struct SignedRestoreNotice {
  RestoreNotice notice;
  Signature signature;
};

SignedRestoreNotice SignRestoreNotice(const SigningKeyPair& server_key, const RestoreNotice& notice);

// OK when `signed_notice.signature` is `server_key`'s kRestoreNotice
// signature over its encoding; PermissionDenied otherwise.
absl::Status VerifyRestoreNoticeSignature(const SignedRestoreNotice& signed_notice, const SignPublicKey& server_key);

// Whether a signature-checked notice explains why `latest` does not extend
// `saved` (two heads signed by the notice's key). `proof` is the consistency
// proof from the restored log (its size) to `latest`; empty when the sizes are
// equal. FailedPrecondition naming the reason when:
//   - `saved` was signed at or after the restore (a notice cannot excuse what
//     came after it, so an old notice does not cover a new rollback);
//   - the notice names a superseded head smaller than `saved` (the operator
//     admits to abandoning less than the auditor saw);
//   - `latest` does not extend the restored log (the proof fails), which is
//     DataLoss, as for any head that does not extend another.
absl::Status CheckRestoreExplains(const RestoreNotice& notice, const TreeHead& saved, const TreeHead& latest,
                                  absl::Span<const Hash256> proof);

}  // namespace trygg::audit

#endif  // TRYGG_AUDIT_RESTORE_NOTICE_H_
