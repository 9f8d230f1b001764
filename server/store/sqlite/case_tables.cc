// SPDX-License-Identifier: Apache-2.0

#include "server/store/sqlite/case_tables.h"

#include "absl/strings/str_cat.h"
#include "trygg/status_macros.h"

namespace trygg::store::sqlite {
namespace {

constexpr char kCaseColumns[] =
    "case_id, owner_org, record_id, scope_id, epoch, head_version, head_hash, created_at, updated_at, erased";

absl::StatusOr<domain::CaseRow> CaseRowOf(const Statement& stmt) {
  domain::CaseRow row;
  TRYGG_ASSIGN_OR_RETURN(row.case_id, stmt.ColumnFixed<Id128>(0));
  TRYGG_ASSIGN_OR_RETURN(row.owner_org, stmt.ColumnFixed<Id128>(1));
  TRYGG_ASSIGN_OR_RETURN(row.record_id, stmt.ColumnFixed<Id128>(2));
  TRYGG_ASSIGN_OR_RETURN(row.scope_id, stmt.ColumnFixed<Id128>(3));
  row.epoch = static_cast<uint32_t>(stmt.ColumnInt(4));
  row.head_version = static_cast<uint64_t>(stmt.ColumnInt(5));
  TRYGG_ASSIGN_OR_RETURN(row.head_hash, stmt.ColumnFixed<Hash256>(6));
  row.created_at_ms = stmt.ColumnInt(7);
  row.updated_at_ms = stmt.ColumnInt(8);
  row.erased = stmt.ColumnInt(9) != 0;
  return row;
}

absl::StatusOr<domain::StoredGrant> GrantOf(const Statement& stmt) {
  domain::StoredGrant g;
  TRYGG_ASSIGN_OR_RETURN(g.scope_id, stmt.ColumnFixed<Id128>(0));
  g.epoch = static_cast<uint32_t>(stmt.ColumnInt(1));
  TRYGG_ASSIGN_OR_RETURN(g.org_id, stmt.ColumnFixed<Id128>(2));
  g.grant.header = stmt.ColumnBlob(3);
  g.grant.sealed = stmt.ColumnBlob(4);
  TRYGG_ASSIGN_OR_RETURN(g.grant.signature, stmt.ColumnFixed<Signature>(5));
  return g;
}

}  // namespace

absl::StatusOr<std::optional<domain::CaseRow>> SqliteCaseTables::GetCase(const Id128& case_id) {
  TRYGG_ASSIGN_OR_RETURN(Statement * stmt,
                         db_.Prepare(absl::StrCat("SELECT ", kCaseColumns, " FROM cases WHERE case_id = ?1")));
  stmt->BindBlob(1, case_id.span());
  TRYGG_ASSIGN_OR_RETURN(bool row, stmt->Step());
  if (!row) return std::nullopt;
  return CaseRowOf(*stmt);
}

absl::Status SqliteCaseTables::InsertCase(const domain::CaseRow& row) {
  TRYGG_ASSIGN_OR_RETURN(Statement * stmt, db_.Prepare(absl::StrCat("INSERT INTO cases (", kCaseColumns,
                                                                    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 0)")));
  return stmt->BindBlob(1, row.case_id.span())
      .BindBlob(2, row.owner_org.span())
      .BindBlob(3, row.record_id.span())
      .BindBlob(4, row.scope_id.span())
      .Bind(5, static_cast<int64_t>(row.epoch))
      .Bind(6, static_cast<int64_t>(row.head_version))
      .BindBlob(7, row.head_hash.span())
      .Bind(8, row.created_at_ms)
      .Bind(9, row.updated_at_ms)
      .Run();
}

absl::Status SqliteCaseTables::UpdateCaseHead(const domain::CaseRow& row) {
  TRYGG_ASSIGN_OR_RETURN(Statement * stmt,
                         db_.Prepare("UPDATE cases SET epoch = ?2, head_version = ?3, head_hash = ?4, "
                                     "updated_at = ?5 WHERE case_id = ?1"));
  return stmt->BindBlob(1, row.case_id.span())
      .Bind(2, static_cast<int64_t>(row.epoch))
      .Bind(3, static_cast<int64_t>(row.head_version))
      .BindBlob(4, row.head_hash.span())
      .Bind(5, row.updated_at_ms)
      .Run();
}

absl::Status SqliteCaseTables::InsertVersion(const Id128& case_id, uint64_t version, const SealedRecord& record) {
  std::vector<uint8_t> hashes;
  for (const Hash256& h : record.attachment_hashes) hashes.insert(hashes.end(), h.array().begin(), h.array().end());
  TRYGG_ASSIGN_OR_RETURN(
      Statement * stmt,
      db_.Prepare("INSERT INTO case_versions (case_id, version, header, wrapped_dek, body, signature, "
                  "attachment_hashes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"));
  return stmt->BindBlob(1, case_id.span())
      .Bind(2, static_cast<int64_t>(version))
      .BindBlob(3, record.header)
      .BindBlob(4, record.wrapped_dek)
      .BindBlob(5, record.body)
      .BindBlob(6, record.signature.span())
      .BindBlob(7, hashes)
      .Run();
}

namespace {

// The version on the statement's current row, its columns from `first` on:
// header, wrapped_dek, body, signature, attachment_hashes.
absl::StatusOr<SealedRecord> ReadVersion(Statement& stmt, int first) {
  SealedRecord record;
  record.header = stmt.ColumnBlob(first);
  record.wrapped_dek = stmt.ColumnBlob(first + 1);
  record.body = stmt.ColumnBlob(first + 2);
  TRYGG_ASSIGN_OR_RETURN(record.signature, stmt.ColumnFixed<Signature>(first + 3));
  std::vector<uint8_t> hashes = stmt.ColumnBlob(first + 4);
  if (hashes.size() % 32 != 0) return absl::DataLossError("stored attachment hashes are malformed");
  for (size_t i = 0; i < hashes.size(); i += 32) {
    TRYGG_ASSIGN_OR_RETURN(Hash256 h, Hash256::FromSpan(std::span(hashes).subspan(i, 32)));
    record.attachment_hashes.push_back(h);
  }
  return record;
}

}  // namespace

absl::StatusOr<std::vector<SealedRecord>> SqliteCaseTables::GetVersions(const Id128& case_id,
                                                                        uint64_t after_version, int limit) {
  TRYGG_ASSIGN_OR_RETURN(Statement * stmt,
                         db_.Prepare("SELECT header, wrapped_dek, body, signature, attachment_hashes FROM "
                                     "case_versions WHERE case_id = ?1 AND version > ?2 ORDER BY version LIMIT ?3"));
  stmt->BindBlob(1, case_id.span()).Bind(2, static_cast<int64_t>(after_version)).Bind(3, limit);
  std::vector<SealedRecord> versions;
  for (;;) {
    TRYGG_ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) return versions;
    TRYGG_ASSIGN_OR_RETURN(SealedRecord record, ReadVersion(*stmt, 0));
    versions.push_back(std::move(record));
  }
}

absl::StatusOr<domain::CaseTables::VersionPage> SqliteCaseTables::GetVersionPage(const Id128& case_id,
                                                                                uint64_t after_version,
                                                                                size_t max_bytes) {
  // length() of a blob is read from the record header without loading the
  // blob, so a version past the budget is never read into memory.
  TRYGG_ASSIGN_OR_RETURN(
      Statement * stmt,
      db_.Prepare("SELECT length(header) + length(wrapped_dek) + length(body) + length(signature) + "
                  "length(attachment_hashes), header, wrapped_dek, body, signature, attachment_hashes FROM "
                  "case_versions WHERE case_id = ?1 AND version > ?2 ORDER BY version"));
  stmt->BindBlob(1, case_id.span()).Bind(2, static_cast<int64_t>(after_version));
  VersionPage page;
  size_t bytes = 0;
  for (;;) {
    TRYGG_ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) break;
    const size_t size = static_cast<size_t>(stmt->ColumnInt(0));
    if (!page.versions.empty() && bytes + size > max_bytes) {
      page.more = true;
      break;
    }
    bytes += size;
    TRYGG_ASSIGN_OR_RETURN(SealedRecord record, ReadVersion(*stmt, 1));
    page.versions.push_back(std::move(record));
  }
  stmt->Reset();
  return page;
}

absl::Status SqliteCaseTables::InsertGrant(const domain::StoredGrant& g) {
  TRYGG_ASSIGN_OR_RETURN(Statement * stmt,
                         db_.Prepare("INSERT INTO grants (scope_id, epoch, org_id, header, sealed, signature) "
                                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
  return stmt->BindBlob(1, g.scope_id.span())
      .Bind(2, static_cast<int64_t>(g.epoch))
      .BindBlob(3, g.org_id.span())
      .BindBlob(4, g.grant.header)
      .BindBlob(5, g.grant.sealed)
      .BindBlob(6, g.grant.signature.span())
      .Run();
}

absl::StatusOr<std::vector<domain::StoredGrant>> SqliteCaseTables::GetGrants(const Id128& scope_id,
                                                                             const Id128& org_id) {
  TRYGG_ASSIGN_OR_RETURN(Statement * stmt,
                         db_.Prepare("SELECT scope_id, epoch, org_id, header, sealed, signature FROM grants "
                                     "WHERE scope_id = ?1 AND org_id = ?2 ORDER BY epoch"));
  stmt->BindBlob(1, scope_id.span()).BindBlob(2, org_id.span());
  std::vector<domain::StoredGrant> grants;
  for (;;) {
    TRYGG_ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) return grants;
    TRYGG_ASSIGN_OR_RETURN(domain::StoredGrant g, GrantOf(*stmt));
    grants.push_back(std::move(g));
  }
}

absl::StatusOr<bool> SqliteCaseTables::HasGrant(const Id128& scope_id, uint32_t epoch, const Id128& org_id) {
  TRYGG_ASSIGN_OR_RETURN(Statement * stmt,
                         db_.Prepare("SELECT 1 FROM grants WHERE scope_id = ?1 AND org_id = ?2 AND epoch = ?3"));
  stmt->BindBlob(1, scope_id.span()).BindBlob(2, org_id.span()).Bind(3, static_cast<int64_t>(epoch));
  return stmt->Step();
}

absl::Status SqliteCaseTables::DeleteGrants(const Id128& scope_id, const Id128& org_id) {
  TRYGG_ASSIGN_OR_RETURN(Statement * stmt, db_.Prepare("DELETE FROM grants WHERE scope_id = ?1 AND org_id = ?2"));
  return stmt->BindBlob(1, scope_id.span()).BindBlob(2, org_id.span()).Run();
}

absl::StatusOr<std::vector<domain::CaseRow>> SqliteCaseTables::ListCasesForOrg(const Id128& org_id,
                                                                               const Id128& after, int limit) {
  TRYGG_ASSIGN_OR_RETURN(
      Statement * stmt,
      db_.Prepare(absl::StrCat("SELECT ", kCaseColumns,
                               " FROM cases c WHERE c.erased = 0 AND c.case_id > ?2 AND EXISTS (SELECT 1 FROM "
                               "grants g WHERE g.scope_id = c.scope_id AND g.org_id = ?1 AND g.epoch = c.epoch) "
                               "ORDER BY c.case_id LIMIT ?3")));
  stmt->BindBlob(1, org_id.span()).BindBlob(2, after.span()).Bind(3, limit);
  std::vector<domain::CaseRow> rows;
  for (;;) {
    TRYGG_ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) return rows;
    TRYGG_ASSIGN_OR_RETURN(domain::CaseRow r, CaseRowOf(*stmt));
    rows.push_back(std::move(r));
  }
}

namespace {

constexpr char kAttachmentColumns[] =
    "case_id, attachment_id, uploader, total_size, stored_size, parts, hash, created_at, touched_at";

absl::StatusOr<domain::AttachmentRow> AttachmentOf(const Statement& stmt) {
  domain::AttachmentRow row;
  TRYGG_ASSIGN_OR_RETURN(row.case_id, stmt.ColumnFixed<Id128>(0));
  TRYGG_ASSIGN_OR_RETURN(row.attachment_id, stmt.ColumnFixed<Id128>(1));
  TRYGG_ASSIGN_OR_RETURN(row.uploader_device, stmt.ColumnFixed<Id128>(2));
  row.total_size = static_cast<uint64_t>(stmt.ColumnInt(3));
  row.stored_size = static_cast<uint64_t>(stmt.ColumnInt(4));
  row.parts = stmt.ColumnInt(5);
  if (!stmt.ColumnIsNull(6)) {
    TRYGG_ASSIGN_OR_RETURN(row.hash, stmt.ColumnFixed<Hash256>(6));
  }
  row.created_at_ms = stmt.ColumnInt(7);
  row.touched_at_ms = stmt.ColumnInt(8);
  return row;
}

}  // namespace

absl::StatusOr<bool> SqliteCaseTables::ScopeInUse(const Id128& scope_id) {
  TRYGG_ASSIGN_OR_RETURN(Statement * stmt,
                         db_.Prepare("SELECT EXISTS (SELECT 1 FROM grants WHERE scope_id = ?1) "
                                     "OR EXISTS (SELECT 1 FROM cases WHERE scope_id = ?1) "
                                     "OR EXISTS (SELECT 1 FROM referrals WHERE scope_id = ?1)"));
  stmt->BindBlob(1, scope_id.span());
  TRYGG_ASSIGN_OR_RETURN(bool row, stmt->Step());
  return row && stmt->ColumnInt(0) != 0;
}

absl::Status SqliteCaseTables::InsertAttachment(const domain::AttachmentRow& row) {
  TRYGG_ASSIGN_OR_RETURN(Statement * stmt,
                         db_.Prepare(absl::StrCat("INSERT INTO attachments (", kAttachmentColumns,
                                                  ") VALUES (?1, ?2, ?3, ?4, 0, 0, NULL, ?5, ?5)")));
  return stmt->BindBlob(1, row.case_id.span())
      .BindBlob(2, row.attachment_id.span())
      .BindBlob(3, row.uploader_device.span())
      .Bind(4, static_cast<int64_t>(row.total_size))
      .Bind(5, row.created_at_ms)
      .Run();
}

absl::StatusOr<std::optional<domain::AttachmentRow>> SqliteCaseTables::GetAttachment(const Id128& case_id,
                                                                                     const Id128& attachment_id) {
  TRYGG_ASSIGN_OR_RETURN(Statement * stmt,
                         db_.Prepare(absl::StrCat("SELECT ", kAttachmentColumns,
                                                  " FROM attachments WHERE case_id = ?1 AND attachment_id = ?2")));
  stmt->BindBlob(1, case_id.span()).BindBlob(2, attachment_id.span());
  TRYGG_ASSIGN_OR_RETURN(bool found, stmt->Step());
  if (!found) return std::nullopt;
  return AttachmentOf(*stmt);
}

absl::StatusOr<std::optional<domain::AttachmentRow>> SqliteCaseTables::FindAttachment(const Id128& case_id,
                                                                                      const Hash256& hash) {
  TRYGG_ASSIGN_OR_RETURN(Statement * stmt,
                         db_.Prepare(absl::StrCat("SELECT ", kAttachmentColumns,
                                                  " FROM attachments WHERE case_id = ?1 AND hash = ?2 LIMIT 1")));
  stmt->BindBlob(1, case_id.span()).BindBlob(2, hash.span());
  TRYGG_ASSIGN_OR_RETURN(bool found, stmt->Step());
  if (!found) return std::nullopt;
  return AttachmentOf(*stmt);
}

absl::Status SqliteCaseTables::AppendAttachmentPart(const Id128& case_id, const Id128& attachment_id, int64_t seq,
                                                    std::span<const uint8_t> bytes, int64_t now_ms) {
  TRYGG_ASSIGN_OR_RETURN(Statement * part,
                         db_.Prepare("INSERT INTO attachment_parts (case_id, attachment_id, seq, bytes) "
                                     "VALUES (?1, ?2, ?3, ?4)"));
  TRYGG_RETURN_IF_ERROR(
      part->BindBlob(1, case_id.span()).BindBlob(2, attachment_id.span()).Bind(3, seq).BindBlob(4, bytes).Run());
  TRYGG_ASSIGN_OR_RETURN(Statement * row,
                         db_.Prepare("UPDATE attachments SET stored_size = stored_size + ?3, parts = parts + 1, "
                                     "touched_at = ?4 WHERE case_id = ?1 AND attachment_id = ?2"));
  return row->BindBlob(1, case_id.span())
      .BindBlob(2, attachment_id.span())
      .Bind(3, static_cast<int64_t>(bytes.size()))
      .Bind(4, now_ms)
      .Run();
}

absl::Status SqliteCaseTables::CompleteAttachment(const Id128& case_id, const Id128& attachment_id,
                                                  const Hash256& hash) {
  TRYGG_ASSIGN_OR_RETURN(Statement * stmt,
                         db_.Prepare("UPDATE attachments SET hash = ?3 WHERE case_id = ?1 AND attachment_id = ?2"));
  return stmt->BindBlob(1, case_id.span()).BindBlob(2, attachment_id.span()).BindBlob(3, hash.span()).Run();
}

absl::Status SqliteCaseTables::DeleteAttachment(const Id128& case_id, const Id128& attachment_id) {
  TRYGG_ASSIGN_OR_RETURN(Statement * parts,
                         db_.Prepare("DELETE FROM attachment_parts WHERE case_id = ?1 AND attachment_id = ?2"));
  TRYGG_RETURN_IF_ERROR(parts->BindBlob(1, case_id.span()).BindBlob(2, attachment_id.span()).Run());
  TRYGG_ASSIGN_OR_RETURN(Statement * row,
                         db_.Prepare("DELETE FROM attachments WHERE case_id = ?1 AND attachment_id = ?2"));
  return row->BindBlob(1, case_id.span()).BindBlob(2, attachment_id.span()).Run();
}

absl::StatusOr<uint64_t> SqliteCaseTables::AttachmentBytesOfOrg(const Id128& org_id) {
  TRYGG_ASSIGN_OR_RETURN(Statement * stmt,
                         db_.Prepare("SELECT coalesce(sum(a.total_size), 0) FROM attachments a "
                                     "JOIN devices d ON d.device_id = a.uploader WHERE d.org_id = ?1"));
  stmt->BindBlob(1, org_id.span());
  TRYGG_ASSIGN_OR_RETURN(bool row, stmt->Step());
  if (!row) return absl::InternalError("sqlite: sum() returned no row");
  return static_cast<uint64_t>(stmt->ColumnInt(0));
}

namespace {

// Steps a statement with RETURNING to its end; the number of rows it returned.
absl::StatusOr<int> CountReturned(Statement& stmt) {
  int rows = 0;
  for (;;) {
    TRYGG_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return rows;
    ++rows;
  }
}

}  // namespace

absl::StatusOr<int> SqliteCaseTables::DeleteUnfinishedAttachmentsBefore(int64_t touched_before_ms, int limit) {
  // Parts in bounded batches: one orphan of 1 GiB has some 16,000 of them,
  // and one write must not hold the writer thread for all of them.
  TRYGG_ASSIGN_OR_RETURN(
      Statement * parts,
      db_.Prepare("DELETE FROM attachment_parts WHERE (case_id, attachment_id, seq) IN ("
                  "SELECT p.case_id, p.attachment_id, p.seq FROM attachments a JOIN attachment_parts p "
                  "ON p.case_id = a.case_id AND p.attachment_id = a.attachment_id "
                  "WHERE a.hash IS NULL AND a.touched_at < ?1 LIMIT ?2) RETURNING 1"));
  parts->Bind(1, touched_before_ms).Bind(2, limit);
  TRYGG_ASSIGN_OR_RETURN(int deleted, CountReturned(*parts));
  if (deleted >= limit) return deleted;
  TRYGG_ASSIGN_OR_RETURN(
      Statement * uploads,
      db_.Prepare("DELETE FROM attachments WHERE (case_id, attachment_id) IN ("
                  "SELECT a.case_id, a.attachment_id FROM attachments a WHERE a.hash IS NULL AND a.touched_at < ?1 "
                  "AND NOT EXISTS (SELECT 1 FROM attachment_parts p "
                  "WHERE p.case_id = a.case_id AND p.attachment_id = a.attachment_id) LIMIT ?2) RETURNING 1"));
  uploads->Bind(1, touched_before_ms).Bind(2, limit - deleted);
  TRYGG_ASSIGN_OR_RETURN(int rows, CountReturned(*uploads));
  return deleted + rows;
}

absl::StatusOr<std::vector<std::vector<uint8_t>>> SqliteCaseTables::GetAttachmentParts(const Id128& case_id,
                                                                                       const Id128& attachment_id,
                                                                                       int64_t from_seq,
                                                                                       int limit) {
  TRYGG_ASSIGN_OR_RETURN(Statement * stmt,
                         db_.Prepare("SELECT bytes FROM attachment_parts WHERE case_id = ?1 AND attachment_id = ?2 "
                                     "AND seq >= ?3 ORDER BY seq LIMIT ?4"));
  stmt->BindBlob(1, case_id.span()).BindBlob(2, attachment_id.span()).Bind(3, from_seq).Bind(4, limit);
  std::vector<std::vector<uint8_t>> parts;
  while (true) {
    TRYGG_ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) break;
    parts.push_back(stmt->ColumnBlob(0));
  }
  return parts;
}

absl::Status SqliteCaseTables::EraseCase(const Id128& case_id, int64_t now_ms) {
  TRYGG_ASSIGN_OR_RETURN(Statement * versions, db_.Prepare("DELETE FROM case_versions WHERE case_id = ?1"));
  TRYGG_RETURN_IF_ERROR(versions->BindBlob(1, case_id.span()).Run());
  TRYGG_ASSIGN_OR_RETURN(Statement * parts, db_.Prepare("DELETE FROM attachment_parts WHERE case_id = ?1"));
  TRYGG_RETURN_IF_ERROR(parts->BindBlob(1, case_id.span()).Run());
  TRYGG_ASSIGN_OR_RETURN(Statement * attachments, db_.Prepare("DELETE FROM attachments WHERE case_id = ?1"));
  TRYGG_RETURN_IF_ERROR(attachments->BindBlob(1, case_id.span()).Run());
  TRYGG_ASSIGN_OR_RETURN(
      Statement * grants,
      db_.Prepare("DELETE FROM grants WHERE scope_id = (SELECT scope_id FROM cases WHERE case_id = ?1)"));
  TRYGG_RETURN_IF_ERROR(grants->BindBlob(1, case_id.span()).Run());
  TRYGG_ASSIGN_OR_RETURN(Statement * tombstone,
                         db_.Prepare("UPDATE cases SET erased = 1, head_hash = zeroblob(32), updated_at = ?2 "
                                     "WHERE case_id = ?1"));
  return tombstone->BindBlob(1, case_id.span()).Bind(2, now_ms).Run();
}

}  // namespace trygg::store::sqlite
