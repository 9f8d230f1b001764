// SPDX-License-Identifier: Apache-2.0

#include "server/store/sqlite/database_copy.h"

#include <sqlite3.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "server/store/sqlite/connection.h"
#include "trygg/status_macros.h"

namespace trygg::store::sqlite {

absl::Status CopyDatabase(const std::string& source, const std::string& destination,
                          const std::function<void(const CopyProgress&)>& progress, int pages_per_step) {
  absl::StatusOr<std::unique_ptr<Connection>> src = Connection::Open(source, Connection::Mode::kReadOnly);
  if (!src.ok()) return absl::FailedPreconditionError(src.status().message());
  // A checkpoint or WAL recovery by tryggd can hold a lock for a moment.
  TRYGG_RETURN_IF_ERROR((*src)->Exec("PRAGMA busy_timeout = 5000"));
  // One read transaction for the whole copy: the snapshot the backup copies.
  TRYGG_RETURN_IF_ERROR((*src)->Exec("BEGIN"));
  absl::StatusOr<int64_t> tables = (*src)->QueryInt("SELECT count(*) FROM sqlite_schema");
  if (!tables.ok()) {
    return absl::FailedPreconditionError(absl::StrCat("cannot read ", source, ": ", tables.status().message()));
  }
  TRYGG_ASSIGN_OR_RETURN(std::unique_ptr<Connection> dst,
                         Connection::Open(destination, Connection::Mode::kReadWrite));

  sqlite3_backup* backup = sqlite3_backup_init(dst->raw(), "main", (*src)->raw(), "main");
  if (backup == nullptr) return dst->Error(sqlite3_errcode(dst->raw()), "sqlite3_backup_init");
  int rc = SQLITE_OK;
  while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
    rc = sqlite3_backup_step(backup, pages_per_step);
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) sqlite3_sleep(10);
    const int64_t total = sqlite3_backup_pagecount(backup);
    if (progress) progress(CopyProgress{total - sqlite3_backup_remaining(backup), total});
  }
  // finish returns the step's error, if any; the destination's error code
  // says what it was.
  sqlite3_backup_finish(backup);
  if (rc != SQLITE_DONE) return dst->Error(rc, "sqlite3_backup_step");
  TRYGG_RETURN_IF_ERROR((*src)->Exec("COMMIT"));
  // The copy carries the source's WAL mark; a rollback journal makes it one
  // file that opens read-only without side files.
  TRYGG_RETURN_IF_ERROR(dst->Exec("PRAGMA journal_mode = DELETE"));
  return absl::OkStatus();
}

}  // namespace trygg::store::sqlite
