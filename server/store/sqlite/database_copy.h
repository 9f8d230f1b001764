// SPDX-License-Identifier: Apache-2.0

// CopyDatabase: a consistent copy of a Trygg database with SQLite's online
// backup API, for `tryggd backup` (from the live database, while tryggd runs)
// and `tryggd restore` (from a backup file into the data directory).
//
// The source is opened read-only and never locked against tryggd: it holds
// one WAL read transaction for the whole copy, so every page comes from one
// snapshot and the copy never restarts however much tryggd writes meanwhile;
// tryggd's writer is never blocked, only checkpoints wait past that snapshot
// (the WAL grows for the length of the copy). Pages are copied in steps of
// kPagesPerStep so that `progress` can be reported. The copy is left in
// rollback-journal mode, one self-contained file that opens read-only without
// creating -wal or -shm files (tryggd switches a database to WAL when it opens
// it).
//
// Ownership: borrows the paths; `destination` must be a new, empty file the
// caller created (with the mode it wants) and removes on failure.
// Thread-safety: reentrant; each call uses its own connections.
// Failure modes: a source that cannot be opened, or is not a database, is
// FAILED_PRECONDITION; an I/O error or a full disk while writing is the
// SQLite error's status; the caller removes the partial destination.
#ifndef TRYGG_SERVER_STORE_SQLITE_DATABASE_COPY_H_
#define TRYGG_SERVER_STORE_SQLITE_DATABASE_COPY_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"

namespace trygg::store::sqlite {

inline constexpr int kPagesPerStep = 1024;

struct CopyProgress {
  int64_t pages_copied = 0;
  int64_t pages_total = 0;
};

// `pages_per_step`: tests make it small to write between steps.
absl::Status CopyDatabase(const std::string& source, const std::string& destination,
                          const std::function<void(const CopyProgress&)>& progress,
                          int pages_per_step = kPagesPerStep);

}  // namespace trygg::store::sqlite

#endif  // TRYGG_SERVER_STORE_SQLITE_DATABASE_COPY_H_
