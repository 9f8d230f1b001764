// SPDX-License-Identifier: Apache-2.0

#include "server/store/sqlite/sqlite_store.h"

#include <sodium.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/store/sqlite/migrations.h"
#include "trygg/status_macros.h"

namespace trygg::store::sqlite {
namespace {

// Applied to every connection. busy_timeout covers the short moments when a
// WAL checkpoint holds a lock. secure_delete zeroes deleted content instead
// of leaving it in free pages and free space inside pages, so an erased
// case's ciphertext does not outlive its rows in the file (threat-model.md,
// "Erasure").
absl::Status Configure(Connection& db) {
  TRYGG_RETURN_IF_ERROR(db.Exec("PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; PRAGMA secure_delete = ON;"));
  TRYGG_ASSIGN_OR_RETURN(int64_t fk, db.QueryInt("PRAGMA foreign_keys"));
  if (fk != 1) return absl::InternalError("sqlite: foreign keys cannot be enabled");
  return absl::OkStatus();
}

absl::StatusOr<std::string> QueryText(Connection& db, absl::string_view sql) {
  TRYGG_ASSIGN_OR_RETURN(Statement * stmt, db.Prepare(sql));
  TRYGG_ASSIGN_OR_RETURN(bool row, stmt->Step());
  if (!row) return absl::InternalError(absl::StrCat("no row from: ", sql));
  std::string text = stmt->ColumnText(0);
  stmt->Reset();
  return text;
}

absl::Status Migrate(Connection& db, int from_version) {
  for (const Migration& m : Migrations()) {
    if (m.version <= from_version) continue;
    TRYGG_RETURN_IF_ERROR(db.Exec("BEGIN IMMEDIATE"));
    absl::Status applied = db.Exec(m.sql);
    if (applied.ok()) applied = db.Exec(absl::StrCat("PRAGMA user_version = ", m.version));
    if (applied.ok()) applied = db.Exec("COMMIT");
    if (!applied.ok()) {
      db.Exec("ROLLBACK").IgnoreError();
      return absl::Status(applied.code(), absl::StrCat("migration ", m.version, " (", m.description,
                                                       ") failed: ", applied.message()));
    }
  }
  return absl::OkStatus();
}

int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::Open(const Options& options) {
  if (sodium_init() < 0) return absl::InternalError("libsodium failed to initialise");
  std::unique_ptr<SqliteStore> store(new SqliteStore());
  TRYGG_RETURN_IF_ERROR(store->Initialise(options));
  store->completion_thread_ = std::thread([s = store.get()] { s->CompletionLoop(); });
  store->writer_thread_ = std::thread([s = store.get()] { s->WriterLoop(); });
  return store;
}

absl::Status SqliteStore::Initialise(const Options& options) {
  max_batch_ = std::max(1, options.max_batch);
  max_queued_writes_ = options.max_queued_writes;
  observer_ = options.observer;
  TRYGG_ASSIGN_OR_RETURN(writer_, Connection::Open(options.path, Connection::Mode::kReadWriteCreate));

  // The first statement that reads the file is where a corrupt or foreign
  // file shows itself, so check what it is before changing anything.
  TRYGG_ASSIGN_OR_RETURN(int64_t app_id, writer_->QueryInt("PRAGMA application_id"));
  TRYGG_ASSIGN_OR_RETURN(int64_t version, writer_->QueryInt("PRAGMA user_version"));
  TRYGG_ASSIGN_OR_RETURN(int64_t objects, writer_->QueryInt("SELECT count(*) FROM sqlite_schema"));
  if (app_id != kApplicationId && (app_id != 0 || objects != 0)) {
    return absl::FailedPreconditionError(
        absl::StrCat(options.path, " is a SQLite database, but not a Trygg database"));
  }
  if (version > LatestSchemaVersion()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "database schema version ", version, " is newer than this tryggd supports (",
        LatestSchemaVersion(), "); run the tryggd that wrote it, or a newer one"));
  }

  TRYGG_ASSIGN_OR_RETURN(std::string journal, QueryText(*writer_, "PRAGMA journal_mode = WAL"));
  if (journal != "wal") {
    return absl::UnavailableError(absl::StrCat("cannot switch ", options.path, " to WAL mode"));
  }
  TRYGG_RETURN_IF_ERROR(writer_->Exec("PRAGMA synchronous = FULL"));
  TRYGG_RETURN_IF_ERROR(
      writer_->Exec(absl::StrCat("PRAGMA wal_autocheckpoint = ", std::max(1, options.checkpoint_pages))));
  TRYGG_RETURN_IF_ERROR(Configure(*writer_));
  if (options.writer_cache_kib > 0) {
    TRYGG_RETURN_IF_ERROR(writer_->Exec(absl::StrCat("PRAGMA cache_size = -", options.writer_cache_kib)));
  }
  if (app_id == 0) {
    TRYGG_RETURN_IF_ERROR(writer_->Exec(absl::StrCat("PRAGMA application_id = ", kApplicationId)));
  }
  TRYGG_RETURN_IF_ERROR(Migrate(*writer_, static_cast<int>(version)));
  TRYGG_ASSIGN_OR_RETURN(int64_t migrated, writer_->QueryInt("PRAGMA user_version"));
  schema_version_ = static_cast<int>(migrated);

  // The identity is made once, with the database.
  TRYGG_ASSIGN_OR_RETURN(int64_t has_identity,
                         writer_->QueryInt("SELECT count(*) FROM meta WHERE key = 'instance_id'"));
  if (has_identity == 0) {
    std::array<uint8_t, 16> instance_id;
    randombytes_buf(instance_id.data(), instance_id.size());
    TRYGG_ASSIGN_OR_RETURN(Statement * insert,
                           writer_->Prepare("INSERT INTO meta (key, value) VALUES "
                                            "('instance_id', ?1), ('created_at_ms', ?2)"));
    TRYGG_RETURN_IF_ERROR(insert->BindBlob(1, instance_id).Bind(2, NowMillis()).Run());
  }

  TRYGG_RETURN_IF_ERROR(WatchTrustTables());

  for (int i = 0; i < std::max(1, options.readers); ++i) {
    TRYGG_ASSIGN_OR_RETURN(auto reader, Connection::Open(options.path, Connection::Mode::kReadOnly));
    TRYGG_RETURN_IF_ERROR(Configure(*reader));
    idle_readers_.push_back(std::move(reader));
  }
  return absl::OkStatus();
}

SqliteStore::~SqliteStore() {
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    stopping_ = true;
  }
  queue_cv_.notify_all();
  if (writer_thread_.joinable()) writer_thread_.join();
  {
    std::lock_guard<std::mutex> lock(done_mu_);
    done_stopping_ = true;
  }
  done_cv_.notify_all();
  if (completion_thread_.joinable()) completion_thread_.join();
  idle_readers_.clear();
  if (writer_ != nullptr) {
    // Folds the WAL back into the main file so a backup of the .db alone is
    // complete after a clean stop.
    writer_->Exec("PRAGMA wal_checkpoint(TRUNCATE)").IgnoreError();
  }
}

absl::StatusOr<domain::ServerIdentity> SqliteStore::GetServerIdentity() {
  domain::ServerIdentity identity;
  TRYGG_RETURN_IF_ERROR(Read([&identity](domain::Transaction& txn) -> absl::Status {
    Connection& db = SqliteTransaction::Of(txn).db();
    TRYGG_ASSIGN_OR_RETURN(Statement * stmt,
                           db.Prepare("SELECT key, value FROM meta WHERE key IN "
                                      "('instance_id', 'created_at_ms')"));
    for (;;) {
      TRYGG_ASSIGN_OR_RETURN(bool row, stmt->Step());
      if (!row) break;
      std::string key = stmt->ColumnText(0);
      if (key == "instance_id") {
        std::vector<uint8_t> value = stmt->ColumnBlob(1);
        if (value.size() != identity.instance_id.size()) {
          return absl::DataLossError("meta.instance_id has the wrong size");
        }
        std::copy(value.begin(), value.end(), identity.instance_id.begin());
      } else {
        identity.created_at_ms = stmt->ColumnInt(1);
      }
    }
    return absl::OkStatus();
  }));
  return identity;
}

void SqliteStore::Write(WriteFn write, DoneFn done) {
  absl::Status refused;
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    if (stopping_) {
      refused = absl::UnavailableError("the store is shutting down");
    } else if (max_queued_writes_ > 0 && queue_.size() >= max_queued_writes_) {
      ++refused_writes_;
      refused = absl::ResourceExhaustedError("the server is busy (its write queue is full); try again shortly");
    } else {
      queue_.push_back({std::move(write), std::move(done)});
      queue_cv_.notify_one();
      return;
    }
  }
  done(refused);
}

size_t SqliteStore::QueuedWrites() {
  std::lock_guard<std::mutex> lock(queue_mu_);
  return queue_.size();
}

uint64_t SqliteStore::RefusedWrites() {
  std::lock_guard<std::mutex> lock(queue_mu_);
  return refused_writes_;
}

absl::Status SqliteStore::Read(const ReadFn& read) {
  std::unique_ptr<Connection> db;
  {
    std::unique_lock<std::mutex> lock(readers_mu_);
    readers_cv_.wait(lock, [this] { return !idle_readers_.empty(); });
    db = std::move(idle_readers_.back());
    idle_readers_.pop_back();
  }
  absl::Status status = db->Exec("BEGIN");
  if (status.ok()) {
    SqliteTransaction txn(*db);
    status = read(txn);
    db->ResetStatements();
    absl::Status end = db->Exec("COMMIT");
    if (status.ok()) status = end;
  }
  {
    std::lock_guard<std::mutex> lock(readers_mu_);
    idle_readers_.push_back(std::move(db));
  }
  readers_cv_.notify_one();
  return status;
}

void SqliteStore::WriterLoop() {
  std::vector<PendingWrite> batch;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(queue_mu_);
      queue_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and every write is done
      while (!queue_.empty() && static_cast<int>(batch.size()) < max_batch_) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    CommitBatch(batch);
    batch.clear();
  }
}

void SqliteStore::CompletionLoop() {
  for (;;) {
    std::deque<std::pair<DoneFn, absl::Status>> ready;
    {
      std::unique_lock<std::mutex> lock(done_mu_);
      done_cv_.wait(lock, [this] { return done_stopping_ || !done_queue_.empty(); });
      if (done_queue_.empty()) return;  // stopping, and every callback has run
      ready.swap(done_queue_);
    }
    for (auto& [done, status] : ready) done(std::move(status));
  }
}

bool SqliteStore::ScrubWal() {
  // The WAL still holds the pages an erasure changed, as they were before.
  // TRUNCATE copies every frame into the database (where secure_delete has
  // zeroed the deleted content) and empties the WAL file; busy_timeout lets
  // open read snapshots finish first. If a reader holds on longer, the
  // checkpoint is incomplete (its first column is 1) and is retried after
  // the next commit.
  absl::StatusOr<int64_t> busy = writer_->QueryInt("PRAGMA wal_checkpoint(TRUNCATE)");
  return busy.ok() && *busy == 0;
}

absl::Status SqliteStore::WatchTrustTables() {
  // A function only this connection knows, called by TEMP triggers: they
  // live in this connection's temp schema, never in the file, so other
  // tools opening the database neither see nor need them. Triggers, unlike
  // sqlite3_update_hook, also fire for WITHOUT ROWID tables (sessions is
  // one), for a DELETE without WHERE, and for rows a foreign key cascade
  // changes.
  int rc = sqlite3_create_function_v2(
      writer_->raw(), "trygg_trust_touched", 0, SQLITE_UTF8, this,
      [](sqlite3_context* context, int, sqlite3_value**) {
        static_cast<SqliteStore*>(sqlite3_user_data(context))->trust_touched_ = true;
        sqlite3_result_null(context);
      },
      nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) {
    return absl::InternalError(absl::StrCat("sqlite: cannot register trygg_trust_touched: ", sqlite3_errstr(rc)));
  }
  std::string sql;
  for (const char* table : {"sessions", "devices"}) {
    for (const char* event : {"INSERT", "UPDATE", "DELETE"}) {
      absl::StrAppend(&sql, "CREATE TEMP TRIGGER trust_touched_", table, "_", event, " AFTER ", event,
                      " ON main.", table, " BEGIN SELECT trygg_trust_touched(); END;\n");
    }
  }
  return writer_->Exec(sql);
}

// A batch runs in one transaction, and each write's changes stand or fall
// alone. It runs first without savepoints: a savepoint makes SQLite copy every
// page the write then changes, as it was, into a journal (past 64 KiB a
// temporary file), about sixteen pages for a referral transition, and almost
// every write either succeeds or is refused before it changes anything. A
// refused write that changed no row and ran no failed or uncounted write
// (sqlite3_total_changes64, Connection::uncounted_writes) leaves nothing to
// undo. When a write failed after changing something, the whole transaction
// is rolled back and the batch run again with that write and every one after
// it in its own savepoint; the writes before it needed no undo the first time
// and run without a savepoint again. So a write may run more than once
// (domain::Store::Write).
SqliteStore::BatchRun SqliteStore::RunWrites(std::vector<PendingWrite>& batch, size_t guard_from,
                                             std::vector<absl::Status>& results, size_t& undo_at, bool& scrub) {
  results.clear();
  scrub = false;
  audit_frontier_.reset();
  sqlite3* db = writer_->raw();
  for (size_t i = 0; i < batch.size(); ++i) {
    const bool guarded = i >= guard_from;
    absl::Status status = guarded ? writer_->Exec("SAVEPOINT write") : absl::OkStatus();
    if (status.ok()) {
      const int64_t changes_before = sqlite3_total_changes64(db);
      const uint64_t uncounted_before = writer_->uncounted_writes();
      SqliteTransaction write_txn(*writer_, &audit_frontier_);
      writer_->set_inside_transaction(true);
      status = batch[i].write(write_txn);
      writer_->set_inside_transaction(false);
      writer_->ResetStatements();
      if (status.ok() && write_txn.audit_failed()) {
        status = absl::InternalError("store: a write went on after its audit append failed");
      }
      if (guarded) {
        // A failed write whose savepoint cannot be rolled back would keep
        // its changes through the RELEASE, and a savepoint that cannot be
        // released stays open under the next write's: either way nothing of
        // this batch may commit.
        absl::Status closed = status.ok() ? absl::OkStatus() : writer_->Exec("ROLLBACK TO write");
        if (closed.ok()) closed = writer_->Exec("RELEASE write");
        if (!closed.ok()) {
          audit_frontier_.reset();
          results.push_back(std::move(closed));
          return sqlite3_get_autocommit(db) != 0 ? BatchRun::kLost : BatchRun::kStuck;
        }
      } else if (!status.ok() && sqlite3_get_autocommit(db) == 0 &&
                 (sqlite3_total_changes64(db) != changes_before || writer_->uncounted_writes() != uncounted_before)) {
        undo_at = i;
        return BatchRun::kUndo;
      }
      scrub = scrub || (status.ok() && write_txn.scrub_requested());
    }
    // Whatever a failed write appended to the audit tree is undone (or is
    // about to be).
    if (!status.ok()) audit_frontier_.reset();
    results.push_back(std::move(status));
    // SQLite rolls a transaction back itself after some errors (I/O, a full
    // disk, no memory). Running on would run the next writes outside any
    // transaction, each committing on its own.
    if (sqlite3_get_autocommit(db) != 0) return BatchRun::kLost;
  }
  return BatchRun::kRan;
}

void SqliteStore::CommitBatch(std::vector<PendingWrite>& batch) {
  std::vector<absl::Status> results;
  results.reserve(batch.size());
  bool scrub = false;
  const auto batch_start = std::chrono::steady_clock::now();
  auto commit_start = batch_start;
  bool trust_odd = false;
  absl::Status txn = writer_->Exec("BEGIN IMMEDIATE");
  size_t guard_from = batch.size();
  while (txn.ok()) {
    size_t undo_at = 0;
    const BatchRun run = RunWrites(batch, guard_from, results, undo_at, scrub);
    if (run == BatchRun::kLost) {
      // Every write of the batch fails alike, whatever the last one said
      // (a write may have turned the I/O error into a refusal of its own).
      const std::string cause = results.empty() ? std::string("?") : results.back().ToString();
      txn = absl::UnavailableError(
          absl::StrCat("sqlite: SQLite rolled the batch's transaction back after an error: ", cause));
    }
    if (run == BatchRun::kStuck) {
      txn = absl::UnavailableError(
          absl::StrCat("sqlite: a write's savepoint could not be closed, so its batch is rolled back: ",
                       results.back().ToString()));
    }
    if (run != BatchRun::kUndo) break;
    // Only a write before guard_from can ask for this, so guard_from falls
    // with every round: the loop ends (in practice after one round).
    batch_retries_.fetch_add(1, std::memory_order_relaxed);
    guard_from = undo_at;
    txn = writer_->Exec("ROLLBACK");
    if (txn.ok()) txn = writer_->Exec("BEGIN IMMEDIATE");
  }
  if (txn.ok()) {
    // A batch that changed a session or a device makes the version odd for
    // its COMMIT: readers may see the change from some moment inside it (and
    // SQLite may then run a checkpoint, fsync included, before COMMIT
    // returns), and while it is odd no session is served from a cache or put
    // into one.
    if (trust_touched_) {
      trust_version_.fetch_add(1, std::memory_order_acq_rel);
      trust_odd = true;
    }
    commit_start = std::chrono::steady_clock::now();
    txn = writer_->Exec("COMMIT");
  }
  if (!txn.ok() && sqlite3_get_autocommit(writer_->raw()) == 0) writer_->Exec("ROLLBACK").IgnoreError();
  // Even again at once after it, and before the `done` callbacks: a
  // revocation's reply follows the move, and every entry stamped before
  // the batch is retired.
  if (trust_odd) trust_version_.fetch_add(1, std::memory_order_release);
  trust_touched_ = false;
  if (observer_ != nullptr) {
    const auto end = std::chrono::steady_clock::now();
    observer_->BatchDone(batch.size(), end - batch_start, end - commit_start, txn.ok());
  }
  if (txn.ok() && (scrub || scrub_pending_)) scrub_pending_ = !ScrubWal();
  {
    std::lock_guard<std::mutex> lock(done_mu_);
    for (size_t i = 0; i < batch.size(); ++i) {
      done_queue_.emplace_back(std::move(batch[i].done), txn.ok() ? std::move(results[i]) : txn);
    }
  }
  done_cv_.notify_one();
}

}  // namespace trygg::store::sqlite
