// SPDX-License-Identifier: Apache-2.0

// AuditLogCopy: a copy of a Trygg database (a backup, a seized file) opened
// read-only to audit its log offline (`trygg-audit verify-db`, and `tryggd
// backup` and `tryggd restore` before they accept a copy). The store's own
// code reads it: the connection wrapper and the audit tables tryggd writes
// (audit_tables.h), after the check tryggd makes at start that the file is a
// Trygg database of a schema this build knows. No tool writes SQL against the
// server's schema.
//
// Ownership: owns its read-only connection.
// Thread-safety: none; one command uses one object.
// Failure modes: a file that cannot be opened is NOT_FOUND; one that is not a
// Trygg database, or of a newer schema, is FAILED_PRECONDITION; a damaged
// table (a gap in the leaves, a malformed hash or head) is DATA_LOSS.
#ifndef TRYGG_SERVER_STORE_SQLITE_AUDIT_READER_H_
#define TRYGG_SERVER_STORE_SQLITE_AUDIT_READER_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "trygg/audit/hash.h"
#include "trygg/audit/log_diagnosis.h"
#include "trygg/audit/tree_head.h"
#include "trygg/bytes.h"

namespace trygg::store::sqlite {

class Connection;

class AuditLogCopy {
 public:
  static absl::StatusOr<std::unique_ptr<AuditLogCopy>> Open(const std::string& path);
  ~AuditLogCopy();

  // Every stored entry, in index order.
  absl::StatusOr<std::vector<audit::IndexedEntry>> Entries();
  // The stored level-0 nodes (leaf hashes), in index order.
  absl::StatusOr<std::vector<Hash256>> LeafHashes();
  // Every signed head, in the order the server stored them.
  absl::StatusOr<std::vector<audit::SignedTreeHead>> SignedHeads();
  // SQLite's `PRAGMA integrity_check` of the whole file: DATA_LOSS quoting
  // its first complaints unless it answers "ok".
  absl::Status IntegrityCheck();
  // The server key the platform root certified in this database, if any
  // (what tryggd will insist on at start); DATA_LOSS when the stored
  // certificate no longer parses.
  absl::StatusOr<std::optional<SignPublicKey>> CertifiedServerKey();

 private:
  explicit AuditLogCopy(std::unique_ptr<Connection> db);

  std::unique_ptr<Connection> db_;
};

}  // namespace trygg::store::sqlite

#endif  // TRYGG_SERVER_STORE_SQLITE_AUDIT_READER_H_
