// SPDX-License-Identifier: Apache-2.0

// SqliteTransaction: domain::Transaction over one SQLite connection, inside a
// write of a batch's transaction or a snapshot (reads) opened by SqliteStore. Each area's
// table accessors are built on db().
//
// Ownership: borrows the connection for the duration of one Write or Read.
#ifndef TRYGG_SERVER_STORE_SQLITE_SQLITE_TRANSACTION_H_
#define TRYGG_SERVER_STORE_SQLITE_SQLITE_TRANSACTION_H_

#include <optional>

#include "server/domain/store.h"
#include "server/store/sqlite/audit_tables.h"
#include "server/store/sqlite/case_tables.h"
#include "server/store/sqlite/connection.h"
#include "server/store/sqlite/directory_tables.h"
#include "server/store/sqlite/referral_tables.h"
#include "server/store/sqlite/trust_tables.h"

namespace trygg::store::sqlite {

class SqliteTransaction final : public domain::Transaction {
 public:
  // `audit_frontier`: the writer's copy of the audit tree's right edge
  // (SqliteAuditTable), or null.
  explicit SqliteTransaction(Connection& db, std::optional<audit::TreeFrontier>* audit_frontier = nullptr)
      : db_(db),
        audit_(db, &audit_failed_, audit_frontier),
        trust_(db),
        cases_(db),
        referrals_(db),
        directory_(db) {}

  // The transaction SqliteStore passed to a domain function.
  static SqliteTransaction& Of(domain::Transaction& txn) { return static_cast<SqliteTransaction&>(txn); }

  Connection& db() { return db_; }

  domain::AuditTable& audit() override { return audit_; }
  domain::TrustTables& trust() override { return trust_; }
  domain::CaseTables& cases() override { return cases_; }
  domain::ReferralTables& referrals() override { return referrals_; }
  domain::DirectoryTables& directory() override { return directory_; }
  // Deleted content is zeroed in place (secure_delete, on every connection);
  // what remains is the WAL's copies of the pages as they were, which the
  // writer checkpoints and truncates after the commit.
  void ScrubAfterCommit() override { scrub_requested_ = true; }
  bool scrub_requested() const { return scrub_requested_; }
  // An audit append failed in this write (it may have stored part of itself).
  bool audit_failed() const { return audit_failed_; }

 private:
  bool audit_failed_ = false;
  Connection& db_;
  SqliteAuditTable audit_;
  SqliteTrustTables trust_;
  SqliteCaseTables cases_;
  SqliteReferralTables referrals_;
  SqliteDirectoryTables directory_;
  bool scrub_requested_ = false;
};

}  // namespace trygg::store::sqlite

#endif  // TRYGG_SERVER_STORE_SQLITE_SQLITE_TRANSACTION_H_
