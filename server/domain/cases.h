// SPDX-License-Identifier: Apache-2.0

// The rules for cases on the server: who may create a case, add a version,
// read it, share it and erase it. The server cannot read a case; it checks
// what it can without keys (the author's signature, the version chain, that
// grants are signed by the caller and sealed to the organisation's current
// key) and decides access by grants: an organisation may see a case only while
// it holds a grant for the case scope's current epoch. An organisation without
// one gets NOT_FOUND, whatever the id, so a denial does not reveal existence.
//
// Every function runs inside a store Transaction.
// Thread-safety: immutable after construction.
// Failure modes: INVALID_ARGUMENT malformed envelope or grant; PERMISSION_DENIED
// the caller's role, a signature not by the calling device, or erasure by an
// organisation that does not own the case; NOT_FOUND no such case for this
// caller; ALREADY_EXISTS a different case under the id; FAILED_PRECONDITION a
// version that does not extend the head; INVALID_ARGUMENT also for more grants
// in one call than CaseLimits::max_grants_per_call; RESOURCE_EXHAUSTED an
// upload that would take the organisation past its attachment quota.
#ifndef TRYGG_SERVER_DOMAIN_CASES_H_
#define TRYGG_SERVER_DOMAIN_CASES_H_

#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "server/domain/caller.h"
#include "server/domain/case_tables.h"
#include "server/domain/store.h"
#include "trygg/attachment.h"
#include "trygg/random.h"

namespace trygg::domain {

// The largest attachment stream accepted: 1 GiB of content, padded (Padmé)
// and cut into 64 KiB chunks of 17 bytes' overhead after the 96-byte preamble
// (protocol.md 6).
inline constexpr uint64_t kMaxAttachmentStreamBytes = kMaxAttachmentStreamSize;
// The largest part of an upload (a gRPC message): one chunk, or the preamble
// and one chunk.
inline constexpr size_t kMaxAttachmentPartBytes = 96 + 65536 + 17;
// The smallest: the preamble and one final chunk of an empty attachment.
inline constexpr uint64_t kAttachmentMinStreamBytes = kMinAttachmentStreamSize;

// What one organisation, and one call, may cost the server (tryggd.toml
// [limits], operator-guide.md).
struct CaseLimits {
  // Grants in one CreateCase, AppendVersion or PutGrants call: each costs a
  // signature check and a row, and an honest case is shared with a handful
  // of organisations.
  int max_grants_per_call = 256;
  // The announced sizes of all attachments and unfinished uploads made by
  // the organisation's devices together. Reserved when an upload begins, so
  // its parts can never take the organisation past it.
  uint64_t attachment_quota_bytes_per_org = uint64_t{10} << 30;
  // An unfinished upload that stored no part for this long was cut off (by
  // its client, or by a restart of tryggd) and is deleted.
  int64_t orphan_upload_timeout_ms = int64_t{60} * 60 * 1000;
};

struct CaseView {
  CaseRow row;
  // One page of versions, in order (GetCase).
  std::vector<SealedRecord> versions;
  // Versions after the last of `versions` remain.
  bool more = false;
  // The caller's organisation's grants on the case scope, every epoch.
  std::vector<StoredGrant> grants;
};

class Cases {
 public:
  explicit Cases(Clock& clock, CaseLimits limits = CaseLimits()) : clock_(clock), limits_(limits) {}

  absl::StatusOr<Id128> CreateCase(Transaction& txn, const Caller& caller, const SealedRecord& first_version,
                                   const std::vector<StoredGrant>& grants) const;
  absl::StatusOr<uint64_t> AppendVersion(Transaction& txn, const Caller& caller, const SealedRecord& version,
                                         const std::vector<StoredGrant>& grants) const;
  // The versions after `after_version` whose stored bytes add up to at most
  // `page_bytes` (always at least one, so that a version larger than a page
  // still reads), with `more` set when versions remain.
  absl::StatusOr<CaseView> GetCase(Transaction& txn, const Caller& caller, const Id128& case_id,
                                   uint64_t after_version, size_t page_bytes) const;
  absl::StatusOr<std::vector<CaseRow>> ListCases(Transaction& txn, const Caller& caller, const Id128& after,
                                                 int limit) const;
  absl::Status PutGrants(Transaction& txn, const Caller& caller, const Id128& case_id,
                         const std::vector<StoredGrant>& grants) const;
  // `statement` is the erasing device's signed erasure statement (kept in
  // the audit trail's place: the entry records that it happened).
  absl::Status EraseCase(Transaction& txn, const Caller& caller, const Id128& case_id,
                         const SignedObject& statement) const;

  // Attachments (protocol.md section 6), uploaded in parts: Begin checks the
  // caller may write to the case, that `max_size` is within the limit and
  // that the id was never used (a retry takes a fresh one); each part
  // must follow the last and stay within `max_size`; Complete records the
  // stream's hash, by which readers of a version that signs it find it.
  // Abandon deletes an unfinished upload of the calling device. Begin is
  // RESOURCE_EXHAUSTED, storing nothing, when `max_size` would take the
  // caller's organisation past CaseLimits::attachment_quota_bytes_per_org.
  absl::Status BeginAttachment(Transaction& txn, const Caller& caller, const Id128& case_id,
                               const Id128& attachment_id, uint64_t max_size) const;
  absl::Status AppendAttachmentPart(Transaction& txn, const Caller& caller, const Id128& case_id,
                                    const Id128& attachment_id, std::span<const uint8_t> bytes) const;
  // AppendAttachmentPart for each of `parts`, in order; the first refused
  // part refuses the batch (and the write it runs in stores none of them).
  absl::Status AppendAttachmentParts(Transaction& txn, const Caller& caller, const Id128& case_id,
                                     const Id128& attachment_id,
                                     const std::vector<std::vector<uint8_t>>& parts) const;
  absl::Status CompleteAttachment(Transaction& txn, const Caller& caller, const Id128& case_id,
                                  const Id128& attachment_id, const Hash256& hash) const;
  absl::Status AbandonAttachment(Transaction& txn, const Caller& caller, const Id128& case_id,
                                 const Id128& attachment_id) const;
  // Deletes up to `limit` rows (parts, then uploads) of unfinished uploads
  // idle for longer than CaseLimits::orphan_upload_timeout_ms; returns how
  // many. For the server's expiry loop, which calls it until it returns
  // fewer than `limit`.
  absl::StatusOr<int> DeleteOrphanedUploads(Transaction& txn, int limit) const;
  // The complete attachment with this hash, for an organisation that may see
  // the case; NOT_FOUND otherwise.
  absl::StatusOr<AttachmentRow> FindAttachment(Transaction& txn, const Caller& caller, const Id128& case_id,
                                               const Hash256& hash) const;
  // Up to `limit` stored parts of `attachment` (a row FindAttachment gave
  // this caller), from part `from_seq` (0 is the first) on; fewer at the
  // end, none past it. Access was decided by FindAttachment: a download in
  // progress is ended by its stream's authority, not by each read.
  absl::StatusOr<std::vector<std::vector<uint8_t>>> AttachmentParts(Transaction& txn, const AttachmentRow& attachment,
                                                                    int64_t from_seq, int limit) const;

  // The case, if `org_id` may see it now; NOT_FOUND otherwise.
  static absl::StatusOr<CaseRow> VisibleCase(Transaction& txn, const Id128& org_id, const Id128& case_id);
  // The calling device's signing key, from the registry.
  static absl::StatusOr<SignPublicKey> CallerKey(Transaction& txn, const Caller& caller);
  // Parses an envelope sent by `caller` and checks that the calling device
  // authored and signed it.
  static absl::StatusOr<RecordHeader> CheckAuthoredEnvelope(Transaction& txn, const Caller& caller,
                                                            const SealedRecord& record);
  // Checks a grant of (scope, epoch) made by the caller: signed by the calling
  // device and sealed to the receiving organisation's current key.
  static absl::Status CheckGrant(Transaction& txn, const Caller& caller, const StoredGrant& grant,
                                 const Id128& scope_id, uint32_t epoch);

 private:
  absl::Status CheckGrantCount(const std::vector<StoredGrant>& grants) const;

  Clock& clock_;
  const CaseLimits limits_;
};

}  // namespace trygg::domain

#endif  // TRYGG_SERVER_DOMAIN_CASES_H_
