// SPDX-License-Identifier: Apache-2.0

#include "server/store/sqlite/audit_reader.h"

#include <limits>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/store/sqlite/audit_tables.h"
#include "server/store/sqlite/connection.h"
#include "server/store/sqlite/migrations.h"
#include "server/store/sqlite/trust_tables.h"
#include "trygg/trust.h"
#include "trygg/status_macros.h"

namespace trygg::store::sqlite {

AuditLogCopy::AuditLogCopy(std::unique_ptr<Connection> db) : db_(std::move(db)) {}
AuditLogCopy::~AuditLogCopy() = default;

absl::StatusOr<std::unique_ptr<AuditLogCopy>> AuditLogCopy::Open(const std::string& path) {
  absl::StatusOr<std::unique_ptr<Connection>> db = Connection::Open(path, Connection::Mode::kReadOnly);
  if (!db.ok()) return absl::NotFoundError(db.status().message());
  // The same identity checks as SqliteStore::Initialise, read-only.
  absl::StatusOr<int64_t> app_id = (*db)->QueryInt("PRAGMA application_id");
  absl::StatusOr<int64_t> audit_tables =
      (*db)->QueryInt("SELECT count(*) FROM sqlite_schema WHERE name = 'audit_entries'");
  if (!app_id.ok() || !audit_tables.ok() || *app_id != kApplicationId || *audit_tables != 1) {
    return absl::FailedPreconditionError(absl::StrCat(path, " is not a Trygg database with an audit log"));
  }
  TRYGG_ASSIGN_OR_RETURN(int64_t version, (*db)->QueryInt("PRAGMA user_version"));
  if (version > LatestSchemaVersion()) {
    return absl::FailedPreconditionError(absl::StrCat(path, " has schema version ", version,
                                                      ", newer than this build reads (",
                                                      LatestSchemaVersion(), ")"));
  }
  return std::unique_ptr<AuditLogCopy>(new AuditLogCopy(*std::move(db)));
}

absl::StatusOr<std::vector<audit::IndexedEntry>> AuditLogCopy::Entries() {
  return SqliteAuditTable(*db_).Entries(0, std::numeric_limits<uint64_t>::max());
}

absl::StatusOr<std::vector<Hash256>> AuditLogCopy::LeafHashes() {
  return SqliteAuditTable(*db_).LeafHashes();
}

absl::StatusOr<std::vector<audit::SignedTreeHead>> AuditLogCopy::SignedHeads() {
  return SqliteAuditTable(*db_).SignedHeads();
}

absl::Status AuditLogCopy::IntegrityCheck() {
  TRYGG_ASSIGN_OR_RETURN(Statement * check, db_->Prepare("PRAGMA integrity_check(10)"));
  std::string complaints;
  for (;;) {
    absl::StatusOr<bool> row = check->Step();
    if (!row.ok()) {
      check->Reset();
      return absl::DataLossError(absl::StrCat("integrity_check failed: ", row.status().message()));
    }
    if (!*row) break;
    const std::string line = check->ColumnText(0);
    if (line == "ok") continue;
    if (!complaints.empty()) complaints.append("; ");
    complaints.append(line);
  }
  check->Reset();
  if (!complaints.empty()) return absl::DataLossError(absl::StrCat("integrity_check: ", complaints));
  return absl::OkStatus();
}

absl::StatusOr<std::optional<SignPublicKey>> AuditLogCopy::CertifiedServerKey() {
  SqliteTrustTables trust(*db_);
  TRYGG_ASSIGN_OR_RETURN(std::vector<domain::StoredCertificate> servers,
                         trust.ListCertificates(CertificateKind::kServer, Id128(), 1));
  db_->ResetStatements();
  if (servers.empty()) return std::nullopt;
  absl::StatusOr<RootCertificate> cert = ParseRootCertificate(servers.front().certificate.bytes);
  if (!cert.ok()) return absl::DataLossError("the stored server certificate no longer parses");
  return cert->sign_key;
}

}  // namespace trygg::store::sqlite
