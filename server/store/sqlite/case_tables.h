// SPDX-License-Identifier: Apache-2.0

// SqliteCaseTables: domain::CaseTables over one SQLite connection, inside the
// transaction SqliteStore opened. See migration 5 for the tables.
//
// Ownership: borrows the connection for one transaction.
// Thread-safety: none; used on the transaction's thread only.
#ifndef TRYGG_SERVER_STORE_SQLITE_CASE_TABLES_H_
#define TRYGG_SERVER_STORE_SQLITE_CASE_TABLES_H_

#include "server/domain/case_tables.h"
#include "server/store/sqlite/connection.h"

namespace trygg::store::sqlite {

class SqliteCaseTables final : public domain::CaseTables {
 public:
  explicit SqliteCaseTables(Connection& db) : db_(db) {}

  absl::StatusOr<std::optional<domain::CaseRow>> GetCase(const Id128& case_id) override;
  absl::Status InsertCase(const domain::CaseRow& row) override;
  absl::Status UpdateCaseHead(const domain::CaseRow& row) override;
  absl::Status InsertVersion(const Id128& case_id, uint64_t version, const SealedRecord& record) override;
  absl::StatusOr<std::vector<SealedRecord>> GetVersions(const Id128& case_id, uint64_t after_version,
                                                        int limit) override;
  absl::StatusOr<VersionPage> GetVersionPage(const Id128& case_id, uint64_t after_version,
                                             size_t max_bytes) override;
  absl::Status InsertGrant(const domain::StoredGrant& grant) override;
  absl::StatusOr<std::vector<domain::StoredGrant>> GetGrants(const Id128& scope_id, const Id128& org_id) override;
  absl::StatusOr<bool> ScopeInUse(const Id128& scope_id) override;
  absl::StatusOr<bool> HasGrant(const Id128& scope_id, uint32_t epoch, const Id128& org_id) override;
  absl::Status DeleteGrants(const Id128& scope_id, const Id128& org_id) override;
  absl::StatusOr<std::vector<domain::CaseRow>> ListCasesForOrg(const Id128& org_id, const Id128& after,
                                                               int limit) override;
  absl::Status InsertAttachment(const domain::AttachmentRow& row) override;
  absl::StatusOr<std::optional<domain::AttachmentRow>> GetAttachment(const Id128& case_id,
                                                                     const Id128& attachment_id) override;
  absl::StatusOr<std::optional<domain::AttachmentRow>> FindAttachment(const Id128& case_id,
                                                                      const Hash256& hash) override;
  absl::Status AppendAttachmentPart(const Id128& case_id, const Id128& attachment_id, int64_t seq,
                                    std::span<const uint8_t> bytes, int64_t now_ms) override;
  absl::Status CompleteAttachment(const Id128& case_id, const Id128& attachment_id, const Hash256& hash) override;
  absl::Status DeleteAttachment(const Id128& case_id, const Id128& attachment_id) override;
  absl::StatusOr<uint64_t> AttachmentBytesOfOrg(const Id128& org_id) override;
  absl::StatusOr<int> DeleteUnfinishedAttachmentsBefore(int64_t touched_before_ms, int limit) override;
  absl::StatusOr<std::vector<std::vector<uint8_t>>> GetAttachmentParts(const Id128& case_id,
                                                                       const Id128& attachment_id, int64_t from_seq,
                                                                       int limit) override;
  absl::Status EraseCase(const Id128& case_id, int64_t now_ms) override;

 private:
  Connection& db_;
};

}  // namespace trygg::store::sqlite

#endif  // TRYGG_SERVER_STORE_SQLITE_CASE_TABLES_H_
