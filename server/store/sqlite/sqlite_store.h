// SPDX-License-Identifier: Apache-2.0

// SqliteStore: the embedded default implementation of domain::Store.
//
// One database file in WAL mode with synchronous=FULL and foreign keys on.
// Writes go through a single writer thread that commits queued writes
// together (group commit) in one transaction; a failing write changes nothing
// while the others in the batch commit (CommitBatch says how, without a
// savepoint per write), and the batch costs one fsync. The writes' `done` callbacks
// (replying, publishing watch notices) run on a completion thread, in commit
// order, so the writer goes on to the next batch at once. Reads use a pool of
// read-only connections, each in its own snapshot transaction.
//
// Thread-safety: all public methods are thread-safe.
// Ownership: Write/Read callbacks get a Connection valid only for the call.
// Failure modes: Open refuses a file that is corrupt, not a Trygg database, or
// whose schema is newer than this binary, with a message an operator can act
// on. A failed commit fails every write of its batch (nothing is stored).
//
// Observability: an optional WriterObserver hears about every batch (for
// metrics); QueuedWrites() is the writer queue's depth at the moment.
#ifndef TRYGG_SERVER_STORE_SQLITE_SQLITE_STORE_H_
#define TRYGG_SERVER_STORE_SQLITE_SQLITE_STORE_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/domain/store.h"
#include "server/store/sqlite/connection.h"
#include "server/store/sqlite/sqlite_transaction.h"

namespace trygg::store::sqlite {

// Told about each batch the writer thread commits, for metrics. Counts and
// durations only: nothing of what the writes wrote.
class WriterObserver {
 public:
  virtual ~WriterObserver() = default;
  // Runs on the writer thread after each batch: how many writes it held, how
  // long the whole batch took (BEGIN to COMMIT, the writes included), how long
  // the COMMIT alone took (the fsync), and whether it committed. Must be
  // quick and must not call the store.
  virtual void BatchDone(size_t writes, std::chrono::nanoseconds batch_duration,
                         std::chrono::nanoseconds commit_duration, bool committed) = 0;
};

class SqliteStore final : public domain::Store {
 public:
  struct Options {
    // Path of the database file; created if absent.
    std::string path;
    // Read-only connections in the pool.
    int readers = 4;
    // Most writes committed in one transaction.
    int max_batch = 256;
    // Most writes waiting for the writer thread; past it Write refuses at
    // once with RESOURCE_EXHAUSTED instead of letting the queue, and every
    // caller's wait, grow without limit. 0: no bound.
    size_t max_queued_writes = 10000;
    // SQLite's page cache for the writer connection, in KiB; 0 keeps SQLite's
    // default (2 MiB). The writer reads index and audit-tree pages for every
    // write; once the database outgrows the cache they come from the OS by
    // pread.
    int writer_cache_kib = 0;
    // The writer checkpoints (copies the WAL's pages into the database file
    // and fsyncs it) after a commit that leaves this many pages in the WAL;
    // SQLite starts the WAL over at the next write. 1000 (4 MiB) is SQLite's
    // own default. Larger copies fewer pages per write (a checkpoint copies a
    // page once however often the WAL holds it) but stalls the writer longer
    // when it comes: in trygg-bench 16000 made transitions up to 10 % faster
    // at 16 in flight and tripled p99 at 64 (docs/benchmarks.md). A
    // checkpoint on a thread of its own was slower on two cores: it competes
    // with the writer for the CPU and for the disk the commits fsync.
    int checkpoint_pages = 1000;
    // Told about each committed batch; must outlive the store. May be null.
    WriterObserver* observer = nullptr;
  };

  static absl::StatusOr<std::unique_ptr<SqliteStore>> Open(const Options& options);

  // Finishes the queued writes, then closes every connection.
  ~SqliteStore() override;

  // Odd from just before the COMMIT of a batch in which a write touched the
  // sessions or devices table until just after it, and so moved on by two
  // before the batch's `done` callbacks are queued. Temporary triggers on
  // the writer connection, which no other connection sees and the file does
  // not keep, notice every such row change, whichever statement made it.
  uint64_t TrustVersion() const override { return trust_version_.load(std::memory_order_acquire); }
  int SchemaVersion() const override { return schema_version_; }
  absl::StatusOr<domain::ServerIdentity> GetServerIdentity() override;

  void Write(WriteFn write, DoneFn done) override;
  // Runs `read` on a pooled read-only connection inside a snapshot.
  absl::Status Read(const ReadFn& read) override;

  // Writes queued and not yet taken by the writer thread.
  size_t QueuedWrites();
  // Writes refused so far because the queue was full.
  uint64_t RefusedWrites();
  // Batches run again, from the failed write on in savepoints, because a
  // write failed after changing something (CommitBatch).
  uint64_t BatchRetries() const { return batch_retries_.load(std::memory_order_relaxed); }

 private:
  struct PendingWrite {
    WriteFn write;
    DoneFn done;
  };

  SqliteStore() = default;
  absl::Status Initialise(const Options& options);
  void WriterLoop();
  // Runs the `done` callbacks of committed batches, in order.
  void CompletionLoop();
  void CommitBatch(std::vector<PendingWrite>& batch);
  // How RunWrites ended.
  enum class BatchRun {
    kRan,   // every write ran; `results` has one status per write
    kUndo,  // a write before `guard_from` failed after a write step (`undo_at`)
    kLost,  // the transaction is gone (SQLite rolled it back after an error)
    kStuck,  // a write's savepoint could not be rolled back or released (the last result says why)
  };
  // Runs the writes of `batch` inside the open transaction, those from
  // `guard_from` on each in its own savepoint, the others without one.
  BatchRun RunWrites(std::vector<PendingWrite>& batch, size_t guard_from, std::vector<absl::Status>& results,
                     size_t& undo_at, bool& scrub);
  // Checkpoints and truncates the WAL; false if a reader kept it from
  // completing.
  bool ScrubWal();
  // Installs the triggers behind TrustVersion on the writer connection.
  absl::Status WatchTrustTables();

  int schema_version_ = 0;
  // An erasure's WAL scrub could not complete; retried after the next commit.
  bool scrub_pending_ = false;
  int max_batch_ = 256;
  size_t max_queued_writes_ = 0;
  WriterObserver* observer_ = nullptr;
  std::unique_ptr<Connection> writer_;
  // Set by the trust tables' triggers during a batch (writer thread only).
  bool trust_touched_ = false;
  // The audit tree's right edge as the last append of this batch left it, so
  // each append need not read the peaks again (writer thread only). Dropped
  // at the start of every run of a batch and after every failed write; the
  // audit table also checks it against the stored size before use.
  std::optional<audit::TreeFrontier> audit_frontier_;
  std::atomic<uint64_t> trust_version_{0};
  std::atomic<uint64_t> batch_retries_{0};

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<PendingWrite> queue_;
  uint64_t refused_writes_ = 0;
  bool stopping_ = false;
  std::thread writer_thread_;

  // Committed writes' callbacks with their results, for the completion thread.
  std::mutex done_mu_;
  std::condition_variable done_cv_;
  std::deque<std::pair<DoneFn, absl::Status>> done_queue_;
  bool done_stopping_ = false;
  std::thread completion_thread_;

  std::mutex readers_mu_;
  std::condition_variable readers_cv_;
  std::vector<std::unique_ptr<Connection>> idle_readers_;
};

}  // namespace trygg::store::sqlite

#endif  // TRYGG_SERVER_STORE_SQLITE_SQLITE_STORE_H_
