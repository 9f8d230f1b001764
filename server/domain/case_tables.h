// SPDX-License-Identifier: Apache-2.0

// The cases area's view of the store: cases, their record versions (stored
// exactly as sealed on the device), scopes and the grants of scope keys to
// organisations. Declared by the domain, implemented in
// server/store/sqlite/case_tables.cc, reached as Transaction::cases().
//
// Every method runs inside the caller's transaction.
// Failure modes: storage faults as Unavailable/Internal; AlreadyExists for a
// taken id.
#ifndef TRYGG_SERVER_DOMAIN_CASE_TABLES_H_
#define TRYGG_SERVER_DOMAIN_CASE_TABLES_H_

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "trygg/bytes.h"
#include "trygg/grant.h"
#include "trygg/record.h"

namespace trygg::domain {

// Routing metadata of a case; never content.
struct CaseRow {
  Id128 case_id;
  Id128 owner_org;
  Id128 record_id;
  Id128 scope_id;
  uint32_t epoch = 0;
  uint64_t head_version = 0;
  Hash256 head_hash;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
  bool erased = false;
};

// A scope key sealed to an organisation key.
struct StoredGrant {
  Id128 scope_id;
  uint32_t epoch = 0;
  Id128 org_id;
  Grant grant;
};

// An attachment's ciphertext stream (protocol.md section 6) as uploaded: kept
// in parts of at most one gRPC chunk each, so neither upload nor download
// needs the whole stream in memory.
struct AttachmentRow {
  Id128 case_id;
  Id128 attachment_id;
  Id128 uploader_device;
  uint64_t total_size = 0;   // announced by the uploader
  uint64_t stored_size = 0;  // bytes stored so far
  int64_t parts = 0;
  std::optional<Hash256> hash;  // set once complete: BLAKE2b-256 of the stream
  int64_t created_at_ms = 0;
  // When the upload last stored a part (created_at_ms before its first):
  // an unfinished upload idle for longer than CaseLimits::
  // orphan_upload_timeout_ms was cut off and is deleted.
  int64_t touched_at_ms = 0;
};

class CaseTables {
 public:
  virtual ~CaseTables() = default;

  virtual absl::StatusOr<std::optional<CaseRow>> GetCase(const Id128& case_id) = 0;
  virtual absl::Status InsertCase(const CaseRow& row) = 0;
  virtual absl::Status UpdateCaseHead(const CaseRow& row) = 0;

  virtual absl::Status InsertVersion(const Id128& case_id, uint64_t version, const SealedRecord& record) = 0;
  // Versions above `after_version`, in order, at most `limit`.
  virtual absl::StatusOr<std::vector<SealedRecord>> GetVersions(const Id128& case_id, uint64_t after_version,
                                                                int limit) = 0;
  // Versions above `after_version`, in order, as many as fit in `max_bytes`
  // of stored size (header, wrapped DEK, body, signature and attachment
  // hashes), but at least one; `more` when versions past them remain. Sizes
  // are read before contents, so a page never holds more than `max_bytes`
  // plus one version in memory.
  struct VersionPage {
    std::vector<SealedRecord> versions;
    bool more = false;
  };
  virtual absl::StatusOr<VersionPage> GetVersionPage(const Id128& case_id, uint64_t after_version,
                                                     size_t max_bytes) = 0;

  // Stores the grant for (scope, epoch, org): a plain insert, never a
  // replacement of another grant (a clash is ALREADY_EXISTS).
  virtual absl::Status InsertGrant(const StoredGrant& grant) = 0;
  // Grants of `org_id` on `scope_id`, every epoch, in epoch order.
  virtual absl::StatusOr<std::vector<StoredGrant>> GetGrants(const Id128& scope_id, const Id128& org_id) = 0;
  // True when any case, referral or grant uses `scope_id`: scope ids are one
  // namespace, so a new case or referral must bring a fresh one.
  virtual absl::StatusOr<bool> ScopeInUse(const Id128& scope_id) = 0;
  virtual absl::StatusOr<bool> HasGrant(const Id128& scope_id, uint32_t epoch, const Id128& org_id) = 0;
  virtual absl::Status DeleteGrants(const Id128& scope_id, const Id128& org_id) = 0;

  // Cases whose current scope epoch `org_id` holds a grant for, case_id > after.
  virtual absl::StatusOr<std::vector<CaseRow>> ListCasesForOrg(const Id128& org_id, const Id128& after,
                                                               int limit) = 0;

  // Attachments. Insert starts an upload; parts are appended in order; a
  // complete attachment has its hash. Incomplete uploads are deleted whole.
  virtual absl::Status InsertAttachment(const AttachmentRow& row) = 0;
  virtual absl::StatusOr<std::optional<AttachmentRow>> GetAttachment(const Id128& case_id,
                                                                     const Id128& attachment_id) = 0;
  // The complete attachment of `case_id` whose stream hashes to `hash`.
  virtual absl::StatusOr<std::optional<AttachmentRow>> FindAttachment(const Id128& case_id, const Hash256& hash) = 0;
  // Stores part `seq` and sets the upload's touched_at to `now_ms`.
  virtual absl::Status AppendAttachmentPart(const Id128& case_id, const Id128& attachment_id, int64_t seq,
                                            std::span<const uint8_t> bytes, int64_t now_ms) = 0;
  virtual absl::Status CompleteAttachment(const Id128& case_id, const Id128& attachment_id, const Hash256& hash) = 0;
  virtual absl::Status DeleteAttachment(const Id128& case_id, const Id128& attachment_id) = 0;
  // The announced total_size of every attachment and upload, complete or
  // not, made by a device of `org_id`.
  virtual absl::StatusOr<uint64_t> AttachmentBytesOfOrg(const Id128& org_id) = 0;
  // Deletes up to `limit` rows of unfinished uploads last touched before
  // `touched_before_ms`: their parts first, then uploads left without parts.
  // Returns how many rows (parts and uploads) it deleted.
  virtual absl::StatusOr<int> DeleteUnfinishedAttachmentsBefore(int64_t touched_before_ms, int limit) = 0;
  // Parts from `from_seq` on, in order, at most `limit`.
  virtual absl::StatusOr<std::vector<std::vector<uint8_t>>> GetAttachmentParts(const Id128& case_id,
                                                                               const Id128& attachment_id,
                                                                               int64_t from_seq, int limit) = 0;

  // Crypto-shredding: deletes every version, attachment and grant of the
  // case's scope and keeps the row as an erased tombstone (the id is never
  // reused).
  virtual absl::Status EraseCase(const Id128& case_id, int64_t now_ms) = 0;
};

}  // namespace trygg::domain

#endif  // TRYGG_SERVER_DOMAIN_CASE_TABLES_H_
