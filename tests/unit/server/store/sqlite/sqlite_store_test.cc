// SPDX-License-Identifier: Apache-2.0

#include "server/store/sqlite/sqlite_store.h"

#include <sqlite3.h>

#include <array>
#include <atomic>
#include <catch2/catch.hpp>
#include <condition_variable>
#include <filesystem>
#include <optional>
#include <mutex>
#include <fstream>
#include <future>
#include <limits>
#include <thread>

#include "server/audit/merkle_tree.h"
#include "server/store/sqlite/migrations.h"
#include "testing/temp_dir.h"
#include "trygg/audit/verify.h"
#include "trygg/status_macros.h"

namespace trygg::store::sqlite {
namespace {

using testing::TempDir;

std::unique_ptr<SqliteStore> OpenOrDie(const SqliteStore::Options& options) {
  auto store = SqliteStore::Open(options);
  REQUIRE(store.ok());
  return std::move(*store);
}

std::unique_ptr<SqliteStore> OpenOrDie(const std::string& path) {
  SqliteStore::Options options;
  options.path = path;
  return OpenOrDie(options);
}

int64_t Pragma(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(stmt) == SQLITE_ROW);
  int64_t value = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return value;
}

Connection& Db(domain::Transaction& txn) { return SqliteTransaction::Of(txn).db(); }

absl::Status CreateTestTable(SqliteStore& store) {
  return store.WriteAndWait([](domain::Transaction& txn) {
    return Db(txn).Exec("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL) STRICT");
  });
}

absl::Status Insert(domain::Transaction& txn, int64_t k, absl::string_view v) {
  auto stmt = Db(txn).Prepare("INSERT INTO t (k, v) VALUES (?1, ?2)");
  if (!stmt.ok()) return stmt.status();
  return (*stmt)->Bind(1, k).Bind(2, v).Run();
}

int64_t Count(SqliteStore& store) {
  int64_t count = -1;
  REQUIRE(store.Read([&count](domain::Transaction& txn) {
                 auto n = Db(txn).QueryInt("SELECT count(*) FROM t");
                 if (!n.ok()) return n.status();
                 count = *n;
                 return absl::OkStatus();
               }).ok());
  return count;
}

TEST_CASE("a new database gets every migration, WAL, FULL sync and an identity", "[store]") {
  TempDir dir;
  const std::string path = dir.file("trygg.db");
  domain::ServerIdentity identity;
  {
    auto store = OpenOrDie(path);
    CHECK(store->SchemaVersion() == LatestSchemaVersion());
    auto got = store->GetServerIdentity();
    REQUIRE(got.ok());
    identity = *got;
    CHECK(identity.instance_id != std::array<uint8_t, 16>{});
    CHECK(identity.created_at_ms > 1700000000000);
  }
  CHECK(Pragma(path, "PRAGMA user_version") == LatestSchemaVersion());
  CHECK(Pragma(path, "PRAGMA application_id") == kApplicationId);
  CHECK(Pragma(path, "SELECT count(*) FROM pragma_journal_mode WHERE journal_mode = 'wal'") == 1);

  // Reopening keeps the identity and applies nothing twice.
  auto store = OpenOrDie(path);
  auto again = store->GetServerIdentity();
  REQUIRE(again.ok());
  CHECK(again->instance_id == identity.instance_id);
  CHECK(again->created_at_ms == identity.created_at_ms);
}

// Whether this process has a SQLite temporary file open now (SQLite names
// them etilqs_*, and unlinks them at once).
bool TemporaryFileOpen() {
  for (const auto& fd : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    const std::string target = std::filesystem::read_symlink(fd.path(), ec).string();
    if (!ec && target.find("etilqs_") != std::string::npos) return true;
  }
  return false;
}

// A statement that may fail halfway (here: a DELETE that foreign keys must
// check) keeps the pages it changes, as they were, in a journal that spills
// to a temporary file past SQLite's 64 KiB: an erasure of large attachments
// is not held in memory whole (temp_store = MEMORY would), and the spill
// works (with SQLITE_CONFIG_STMTJRNL_SPILL above 128 KiB, SQLite 3.40.1 fails
// it with SQLITE_FULL and the write with it). threat-model.md, "Erasure".
TEST_CASE("a write whose statement journal outgrows memory spills to a file and still commits", "[store]") {
  TempDir dir;
  auto store = OpenOrDie(dir.file("trygg.db"));
  REQUIRE(CreateTestTable(*store).ok());
  REQUIRE(store->WriteAndWait([](domain::Transaction& txn) -> absl::Status {
                 TRYGG_RETURN_IF_ERROR(Db(txn).Exec("CREATE TABLE c (k INTEGER REFERENCES t (k)) STRICT"));
                 for (int k = 0; k < 4000; ++k) {  // about 8 MiB of pages
                   if (absl::Status s = Insert(txn, k, std::string(2000, 'a')); !s.ok()) return s;
                 }
                 return absl::OkStatus();
               }).ok());
  bool spilled = false;
  const absl::Status deleted = store->WriteAndWait([&spilled](domain::Transaction& txn) -> absl::Status {
    absl::Status s = Db(txn).Exec("DELETE FROM t");  // every page journaled
    spilled = TemporaryFileOpen();
    return s;
  });
  INFO(deleted.ToString());
  CHECK(deleted.ok());
  CHECK(spilled);
  CHECK(Count(*store) == 0);
}

// A transaction ends by rewinding the statements it used (only those, not
// the whole cache); one left mid-result would keep its snapshot, and with it
// the WAL, alive after the read ended.
TEST_CASE("a statement a read leaves mid-result is rewound when the read ends", "[store]") {
  TempDir dir;
  SqliteStore::Options options;
  options.path = dir.file("trygg.db");
  options.readers = 1;
  auto opened = OpenOrDie(options);
  SqliteStore& store = *opened;
  REQUIRE(CreateTestTable(store).ok());
  for (int k = 0; k < 3; ++k) {
    REQUIRE(store.WriteAndWait([k](domain::Transaction& txn) { return Insert(txn, k, "row"); }).ok());
  }
  REQUIRE(store.Read([](domain::Transaction& txn) -> absl::Status {
                 auto stmt = Db(txn).Prepare("SELECT k FROM t ORDER BY k");
                 if (!stmt.ok()) return stmt.status();
                 auto row = (*stmt)->Step();  // one row of three; not reset here
                 if (!row.ok()) return row.status();
                 return *row ? absl::OkStatus() : absl::InternalError("no row");
               }).ok());
  REQUIRE(store.WriteAndWait([](domain::Transaction& txn) { return Insert(txn, 10, "after"); }).ok());
  // A full checkpoint completes (busy = 0) only if no reader still holds a
  // snapshot older than the last write.
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(options.path.c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db, "SELECT count(*) FROM t", nullptr, nullptr, nullptr) == SQLITE_OK);  // opens the WAL
  int log_frames = -1, checkpointed = -1;
  const int rc = sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_TRUNCATE, &log_frames, &checkpointed);
  sqlite3_close(db);
  CHECK(rc == SQLITE_OK);
  CHECK(log_frames == 0);
}

// Writes `count` rows of 2 KiB, queued together so that they share batches,
// and waits for all of them.
void WriteRows(SqliteStore& store, int first, int count) {
  std::mutex mu;
  std::condition_variable cv;
  int done = 0, failed = 0;
  for (int i = first; i < first + count; ++i) {
    store.Write([i](domain::Transaction& txn) { return Insert(txn, i, std::string(2048, 'r')); },
                [&](absl::Status status) {
                  std::lock_guard<std::mutex> lock(mu);
                  if (!status.ok()) ++failed;
                  if (++done == count) cv.notify_all();
                });
  }
  std::unique_lock<std::mutex> lock(mu);
  REQUIRE(cv.wait_for(lock, std::chrono::seconds(60), [&] { return done == count; }));
  REQUIRE(failed == 0);
}

uintmax_t FileSize(const std::string& path) {
  std::error_code ec;
  const uintmax_t size = std::filesystem::file_size(path, ec);
  return ec ? 0 : size;
}

// The writer checkpoints once the WAL holds checkpoint_pages pages, and the
// WAL starts over after it: it stays near that size however much is written.
TEST_CASE("checkpoint_pages bounds the WAL", "[store]") {
  for (const bool bounded : {true, false}) {
    INFO((bounded ? "with" : "without") << " a bound below what is written");
    TempDir dir;
    SqliteStore::Options options;
    options.path = dir.file("trygg.db");
    options.checkpoint_pages = bounded ? 128 : 1000000;
    auto store = OpenOrDie(options);
    REQUIRE(CreateTestTable(*store).ok());
    WriteRows(*store, 0, 4000);  // about 8 MB
    const uintmax_t wal = FileSize(options.path + "-wal");
    if (bounded) {
      CHECK(wal < 2'000'000);
    } else {
      CHECK(wal > 6'000'000);  // past SQLite's own 1000 pages too: the option is what is used
    }
  }
}

// What a write does must not cost more as history grows: no statement of
// the store scans a table that grows with use. Erasing a case reaches its
// referrals through referrals_by_case (migration 11).
TEST_CASE("erasing a case finds its referrals through an index", "[store]") {
  TempDir dir;
  auto store = OpenOrDie(dir.file("trygg.db"));
  for (const char* sql : {"DELETE FROM grants WHERE scope_id IN (SELECT scope_id FROM referrals WHERE case_id = ?1)",
                          "UPDATE referrals SET packet_body = x'' WHERE case_id = ?1"}) {
    std::string plan;
    REQUIRE(store->Read([&](domain::Transaction& txn) -> absl::Status {
                   auto stmt = Db(txn).Prepare(std::string("EXPLAIN QUERY PLAN ") + sql);
                   if (!stmt.ok()) return stmt.status();
                   for (;;) {
                     auto row = (*stmt)->Step();
                     if (!row.ok()) return row.status();
                     if (!*row) break;
                     plan += (*stmt)->ColumnText(3) + "\n";
                   }
                   return absl::OkStatus();
                 }).ok());
    INFO(sql << "\n" << plan);
    CHECK(plan.find("referrals USING INDEX referrals_by_case") != std::string::npos);
  }
}

TEST_CASE("the expiry round finds lapsed consents' referrals through the consent, not every open referral",
          "[store]") {
  TempDir dir;
  auto store = OpenOrDie(dir.file("trygg.db"));
  std::string plan;
  REQUIRE(store->Read([&](domain::Transaction& txn) -> absl::Status {
                 auto stmt = Db(txn).Prepare(
                     "EXPLAIN QUERY PLAN SELECT referral_id FROM referrals INDEXED BY referrals_by_consent_state "
                     "WHERE state IN (1, 2) AND consent_id IN (SELECT consent_id FROM consents WHERE withdrawn_at "
                     "IS NULL AND expires_at <= ?1) LIMIT ?2");
                 if (!stmt.ok()) return stmt.status();
                 for (;;) {
                   auto row = (*stmt)->Step();
                   if (!row.ok()) return row.status();
                   if (!*row) break;
                   plan += (*stmt)->ColumnText(3) + "\n";
                 }
                 return absl::OkStatus();
               }).ok());
  INFO(plan);
  CHECK(plan.find("referrals USING INDEX referrals_by_consent_state (consent_id=? AND state=?)") !=
        std::string::npos);
  CHECK(plan.find("consents USING INDEX consents_by_expiry") != std::string::npos);
}

TEST_CASE("migrations are numbered from 1 without gaps", "[store]") {
  int expected = 1;
  for (const Migration& m : Migrations()) CHECK(m.version == expected++);
  CHECK(LatestSchemaVersion() == expected - 1);
}

TEST_CASE("Open refuses what it must not touch, and leaves it unchanged", "[store]") {
  TempDir dir;
  const std::string path = dir.file("trygg.db");
  SqliteStore::Options options;
  options.path = path;

  SECTION("newer schema") {
    OpenOrDie(path).reset();
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, "PRAGMA user_version = 42", nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
    auto store = SqliteStore::Open(options);
    CHECK(store.status().code() == absl::StatusCode::kFailedPrecondition);
    CHECK_THAT(std::string(store.status().message()), Catch::Contains("schema version 42 is newer"));
    CHECK(Pragma(path, "PRAGMA user_version") == 42);
  }
  SECTION("not a database") {
    std::ofstream(path) << std::string(4096, 'x');
    auto store = SqliteStore::Open(options);
    CHECK(store.status().code() == absl::StatusCode::kDataLoss);
    CHECK_THAT(std::string(store.status().message()), Catch::Contains("corrupt or not a database"));
  }
  SECTION("someone else's database") {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, "CREATE TABLE x (y)", nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
    auto store = SqliteStore::Open(options);
    CHECK(store.status().code() == absl::StatusCode::kFailedPrecondition);
    CHECK(Pragma(path, "PRAGMA application_id") == 0);
  }
}

TEST_CASE("STRICT tables and foreign keys are enforced", "[store]") {
  TempDir dir;
  auto store = OpenOrDie(dir.file("trygg.db"));
  REQUIRE(CreateTestTable(*store).ok());
  absl::Status wrong_type = store->WriteAndWait([](domain::Transaction& txn) {
    return Db(txn).Exec("INSERT INTO t (k, v) VALUES ('not a number', 'v')");
  });
  CHECK_FALSE(wrong_type.ok());
  REQUIRE(store->WriteAndWait([](domain::Transaction& txn) {
                  return Db(txn).Exec("CREATE TABLE child (k INTEGER NOT NULL REFERENCES t (k)) STRICT");
                }).ok());
  absl::Status dangling = store->WriteAndWait(
      [](domain::Transaction& txn) { return Db(txn).Exec("INSERT INTO child VALUES (7)"); });
  CHECK(dangling.code() == absl::StatusCode::kInternal);
}

TEST_CASE("a failing write changes nothing and does not disturb its batch", "[store]") {
  TempDir dir;
  auto store = OpenOrDie(dir.file("trygg.db"));
  REQUIRE(CreateTestTable(*store).ok());

  // Queue many writes at once so that they share transactions; every third
  // one inserts a row and then fails.
  constexpr int kWrites = 300;
  // Completions run on the writer thread; the test waits for all of them on
  // a condition variable, with a deadline.
  std::mutex mu;
  std::condition_variable all_done;
  int done = 0;
  std::vector<absl::Status> results(kWrites);
  for (int i = 0; i < kWrites; ++i) {
    store->Write(
        [i](domain::Transaction& txn) -> absl::Status {
          absl::Status inserted = Insert(txn, i, "row");
          if (!inserted.ok()) return inserted;
          if (i % 3 == 0) return absl::FailedPreconditionError("refused by the rule");
          return absl::OkStatus();
        },
        [&results, &mu, &all_done, &done, i](absl::Status status) {
          std::lock_guard<std::mutex> lock(mu);
          results[i] = std::move(status);
          if (++done == kWrites) all_done.notify_all();
        });
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    REQUIRE(all_done.wait_for(lock, std::chrono::seconds(60), [&done] { return done == kWrites; }));
  }
  for (int i = 0; i < kWrites; ++i) {
    INFO(i);
    CHECK(results[i].ok() == (i % 3 != 0));
  }
  CHECK(Count(*store) == kWrites - kWrites / 3);
  int64_t refused = -1;
  REQUIRE(store->Read([&refused](domain::Transaction& txn) {
                 auto n = Db(txn).QueryInt("SELECT count(*) FROM t WHERE k % 3 = 0");
                 refused = n.ok() ? *n : -1;
                 return n.status();
               }).ok());
  CHECK(refused == 0);
}

// Runs `writes` as one batch: they are queued while the writer is held
// inside a write of its own, then let go together. Their results, in order.
std::vector<absl::Status> RunAsOneBatch(SqliteStore& store, std::vector<domain::Store::WriteFn> writes) {
  std::mutex mu;
  std::condition_variable cv;
  bool holding = false;
  bool release = false;
  size_t done = 0;
  std::vector<absl::Status> results(writes.size());
  store.Write(
      [&](domain::Transaction&) {
        std::unique_lock<std::mutex> lock(mu);
        holding = true;
        cv.notify_all();
        cv.wait(lock, [&] { return release; });
        return absl::OkStatus();
      },
      [](absl::Status) {});
  {
    std::unique_lock<std::mutex> lock(mu);
    REQUIRE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return holding; }));
  }
  for (size_t i = 0; i < writes.size(); ++i) {
    store.Write(std::move(writes[i]), [&, i](absl::Status status) {
      std::lock_guard<std::mutex> lock(mu);
      results[i] = std::move(status);
      ++done;
      cv.notify_all();
    });
  }
  REQUIRE(store.QueuedWrites() == results.size());
  std::unique_lock<std::mutex> lock(mu);
  release = true;
  cv.notify_all();
  REQUIRE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return done == results.size(); }));
  return results;
}

bool Stored(SqliteStore& store, int64_t k) {
  int64_t n = -1;
  REQUIRE(store.Read([&](domain::Transaction& txn) {
                 TRYGG_ASSIGN_OR_RETURN(Statement * stmt, Db(txn).Prepare("SELECT count(*) FROM t WHERE k = ?1"));
                 stmt->Bind(1, k);
                 TRYGG_ASSIGN_OR_RETURN(bool row, stmt->Step());
                 n = row ? stmt->ColumnInt(0) : -1;
                 stmt->Reset();
                 return absl::OkStatus();
               }).ok());
  return n == 1;
}

// What a savepoint costs, and why a batch first runs without: SQLite copies
// every page a write changes inside one, as it was, into a journal, and past
// 64 KiB into a temporary file. Row by row updates of about 8 MiB of pages
// (single-row statements, which need no statement journal) open none.
TEST_CASE("a write runs without a savepoint journal: changing many pages opens no temporary file", "[store]") {
  TempDir dir;
  auto store = OpenOrDie(dir.file("trygg.db"));
  REQUIRE(CreateTestTable(*store).ok());
  REQUIRE(store->WriteAndWait([](domain::Transaction& txn) -> absl::Status {
                 for (int k = 0; k < 4000; ++k) {
                   if (absl::Status s = Insert(txn, k, std::string(2000, 'a')); !s.ok()) return s;
                 }
                 return absl::OkStatus();
               }).ok());
  bool journaled = true;
  REQUIRE(store->WriteAndWait([&journaled](domain::Transaction& txn) -> absl::Status {
                 TRYGG_ASSIGN_OR_RETURN(Statement * update, Db(txn).Prepare("UPDATE t SET v = ?2 WHERE k = ?1"));
                 for (int k = 0; k < 4000; ++k) {
                   update->Reset();
                   TRYGG_RETURN_IF_ERROR(update->Bind(1, int64_t{k}).Bind(2, std::string(2000, 'b')).Run());
                 }
                 update->Reset();
                 journaled = TemporaryFileOpen();
                 return absl::OkStatus();
               }).ok());
  CHECK_FALSE(journaled);
}

// A batch runs without savepoints (they make SQLite copy every page a write
// changes). A write refused before it changed anything has nothing to undo,
// so its batch runs once; one that fails after changing rows cannot be undone
// alone without a savepoint, so the batch is rolled back and run again, that
// write and those after it each in its own savepoint.
TEST_CASE("a refused write sends its batch round again only if it changed rows first", "[store]") {
  TempDir dir;
  auto store = OpenOrDie(dir.file("trygg.db"));
  REQUIRE(CreateTestTable(*store).ok());
  bool changes_first = false;
  SECTION("refused before it changes anything") {}
  SECTION("refused after it changed a row") { changes_first = true; }
  std::array<std::atomic<int>, 3> runs{};
  const std::vector<absl::Status> results = RunAsOneBatch(
      *store, {[&](domain::Transaction& txn) {
                 ++runs[0];
                 return Insert(txn, 1, "first");
               },
               [&](domain::Transaction& txn) -> absl::Status {
                 ++runs[1];
                 TRYGG_RETURN_IF_ERROR(Db(txn).QueryInt("SELECT count(*) FROM t").status());
                 if (changes_first) TRYGG_RETURN_IF_ERROR(Insert(txn, 2, "second"));
                 return absl::FailedPreconditionError("refused by the rule");
               },
               [&](domain::Transaction& txn) {
                 ++runs[2];
                 return Insert(txn, 3, "third");
               }});
  CHECK(results[0].ok());
  CHECK(results[1].code() == absl::StatusCode::kFailedPrecondition);
  CHECK(results[2].ok());
  if (changes_first) {
    // The first run stopped at the failed write; the second ran them all.
    CHECK((runs[0] == 2 && runs[1] == 2 && runs[2] == 1));
    CHECK(store->BatchRetries() == 1);
  } else {
    CHECK((runs[0] == 1 && runs[1] == 1 && runs[2] == 1));
    CHECK(store->BatchRetries() == 0);
  }
  CHECK((Stored(*store, 1) && !Stored(*store, 2) && Stored(*store, 3)));
  CHECK(Count(*store) == 2);
}

// sqlite3_total_changes64 counts rows, not schema changes, and not the rows
// of a statement that failed halfway without a statement journal; the
// connection counts those itself, so a failed write that made one is undone.
TEST_CASE("a failed write's schema change or failed statement is undone though no row count moved", "[store]") {
  TempDir dir;
  auto store = OpenOrDie(dir.file("trygg.db"));
  REQUIRE(CreateTestTable(*store).ok());
  REQUIRE(store->WriteAndWait([](domain::Transaction& txn) { return Insert(txn, 1, "there"); }).ok());
  std::string table;
  domain::Store::WriteFn failing;
  SECTION("a schema change") {
    failing = [](domain::Transaction& txn) -> absl::Status {
      TRYGG_RETURN_IF_ERROR(Db(txn).Exec("CREATE TABLE made_by_a_failed_write (x INTEGER) STRICT"));
      return absl::FailedPreconditionError("refused by the rule");
    };
  }
  SECTION("a statement that failed") {
    failing = [](domain::Transaction& txn) -> absl::Status {
      const absl::Status duplicate = Insert(txn, 1, "again");
      REQUIRE(duplicate.code() == absl::StatusCode::kAlreadyExists);
      return duplicate;
    };
  }
  const std::vector<absl::Status> results =
      RunAsOneBatch(*store, {[](domain::Transaction& txn) { return Insert(txn, 2, "before"); }, failing,
                             [](domain::Transaction& txn) { return Insert(txn, 3, "after"); }});
  CHECK(results[0].ok());
  CHECK_FALSE(results[1].ok());
  CHECK(results[2].ok());
  CHECK(store->BatchRetries() == 1);
  CHECK(Count(*store) == 3);
  CHECK(Pragma(dir.file("trygg.db"), "SELECT count(*) FROM sqlite_schema WHERE name = 'made_by_a_failed_write'") ==
        0);
}

// An audit append has no savepoint of its own: if it fails it may have
// stored tree nodes without their entry, so the store fails the whole write,
// even one that ignores the failure and returns OK.
TEST_CASE("a write that goes on after its audit append failed fails whole", "[store]") {
  TempDir dir;
  auto store = OpenOrDie(dir.file("trygg.db"));
  REQUIRE(CreateTestTable(*store).ok());
  bool append_failed = false;
  const std::vector<absl::Status> results = RunAsOneBatch(
      *store, {[&](domain::Transaction& txn) -> absl::Status {
                 TRYGG_RETURN_IF_ERROR(Insert(txn, 1, "changed"));
                 // A leaf without its entry: the append then stores its own
                 // nodes and fails on finding the entries one behind.
                 TRYGG_RETURN_IF_ERROR(
                     Db(txn).Exec("INSERT INTO audit_nodes (level, idx, hash) VALUES (0, 0, zeroblob(32))"));
                 const std::vector<uint8_t> entry = {1, 2, 3};
                 append_failed = !txn.audit().Append(entry).ok();
                 return absl::OkStatus();  // as if it had not failed
               },
               [](domain::Transaction& txn) { return Insert(txn, 2, "neighbour"); }});
  CHECK(append_failed);
  CHECK(results[0].code() == absl::StatusCode::kInternal);
  CHECK(results[1].ok());
  CHECK((!Stored(*store, 1) && Stored(*store, 2)));
  int64_t nodes = -1;
  REQUIRE(store->Read([&](domain::Transaction& txn) {
                 TRYGG_ASSIGN_OR_RETURN(nodes, Db(txn).QueryInt("SELECT count(*) FROM audit_nodes"));
                 return absl::OkStatus();
               }).ok());
  CHECK(nodes == 0);
}

// Every stored audit node, checked against the tree recomputed from the
// entries alone: each leaf's inclusion proof, from the stored nodes, must lead
// to the root of the entries' own leaf hashes.
void CheckAuditTreeMatchesEntries(SqliteStore& store, const std::vector<std::string>& expected_entries) {
  REQUIRE(store.Read([&](domain::Transaction& txn) -> absl::Status {
                 TRYGG_ASSIGN_OR_RETURN(std::vector<audit::IndexedEntry> entries,
                                        txn.audit().Entries(0, std::numeric_limits<uint64_t>::max()));
                 REQUIRE(entries.size() == expected_entries.size());
                 std::vector<Hash256> leaves;
                 for (size_t i = 0; i < entries.size(); ++i) {
                   CHECK(std::string(entries[i].bytes.begin(), entries[i].bytes.end()) == expected_entries[i]);
                   leaves.push_back(audit::HashLeaf(entries[i].bytes));
                 }
                 const Hash256 root = audit::RootFromLeafHashes(leaves);
                 audit::MerkleTree tree(&txn.audit().nodes());
                 TRYGG_ASSIGN_OR_RETURN(uint64_t size, tree.Size());
                 CHECK(size == leaves.size());
                 CHECK(*tree.Root(size) == root);
                 for (uint64_t i = 0; i < size; ++i) {
                   TRYGG_ASSIGN_OR_RETURN(std::vector<Hash256> proof, tree.InclusionProof(i, size));
                   CHECK(audit::VerifyInclusion(leaves[i], i, size, proof, root).ok());
                 }
                 return absl::OkStatus();
               }).ok());
}

absl::Status AppendAudit(domain::Transaction& txn, std::string_view entry) {
  return txn.audit().Append(std::vector<uint8_t>(entry.begin(), entry.end())).status();
}

// Appends entries "e0", "e1", ... in one write.
void SeedAudit(SqliteStore& store, int entries) {
  REQUIRE(store.WriteAndWait([entries](domain::Transaction& txn) -> absl::Status {
                 for (int i = 0; i < entries; ++i) TRYGG_RETURN_IF_ERROR(AppendAudit(txn, absl::StrCat("e", i)));
                 return absl::OkStatus();
               }).ok());
}

// The same contract as MemoryNodeStore's (node_store_test): an append brings
// exactly the nodes its new size completes, or is refused whole and the
// failed write changes nothing. A missing interior node used to pass here,
// because only the leaf count was checked.
TEST_CASE("the SQLite audit table refuses bad node appends and stays unchanged", "[store]") {
  TempDir dir;
  auto store = OpenOrDie(dir.file("trygg.db"));
  SeedAudit(*store, 3);
  const Hash256 h = audit::HashLeaf("x");
  std::vector<audit::StoredNode> nodes;
  uint64_t old_size = 3, new_size = 4;
  absl::StatusCode code = absl::StatusCode::kInvalidArgument;
  SECTION("a stale size") {
    old_size = 2;
    new_size = 3;
    code = absl::StatusCode::kAborted;
  }
  std::string says;
  SECTION("shrinking") {
    new_size = 2;
    says = "audit tree cannot shrink from 3 to 2";
  }
  SECTION("missing the level-2 node that size 4 completes") {
    nodes = {{{0, 3}, h}, {{1, 1}, h}};
    says = "audit append from size 3 to 4 brings 2 nodes, not 3";
  }
  SECTION("overwriting an existing node") { nodes = {{{0, 2}, h}, {{0, 3}, h}, {{1, 1}, h}, {{2, 0}, h}}; }
  SECTION("a node that does not exist at the new size") {
    nodes = {{{0, 3}, h}, {{1, 1}, h}, {{2, 0}, h}, {{0, 4}, h}};
  }
  SECTION("one node twice, so another is missing") {
    nodes = {{{0, 3}, h}, {{1, 1}, h}, {{1, 1}, h}};
    code = absl::StatusCode::kAlreadyExists;  // the primary key refuses the repeat
  }
  absl::Status appended;
  REQUIRE(store
              ->WriteAndWait([&](domain::Transaction& txn) {
                appended = txn.audit().nodes().Append(old_size, new_size, nodes);
                return appended;
              })
              .code() == code);
  CHECK(appended.code() == code);
  if (!says.empty()) CHECK(appended.message() == says);
  CheckAuditTreeMatchesEntries(*store, {"e0", "e1", "e2"});
}

// The nodes and the entry that appending `entry` to the stored tree makes,
// stored with plain SQL or, with `through_table`, the nodes through the
// table's NodeStore interface: an append that is not the writer's own.
absl::Status StoreLeafAnotherWay(domain::Transaction& txn, std::string_view entry, bool through_table) {
  TRYGG_ASSIGN_OR_RETURN(std::vector<Hash256> leaves, SqliteAuditTable(Db(txn)).LeafHashes());
  audit::TreeFrontier frontier;
  for (const Hash256& leaf : leaves) frontier.Append(leaf);
  std::vector<audit::StoredNode> nodes;
  frontier.Append(audit::HashLeaf(entry), &nodes);
  if (through_table) {
    TRYGG_RETURN_IF_ERROR(txn.audit().nodes().Append(leaves.size(), leaves.size() + 1, nodes));
  } else {
    TRYGG_ASSIGN_OR_RETURN(Statement * insert, Db(txn).Prepare("INSERT INTO audit_nodes (level, idx, hash) "
                                                               "VALUES (?1, ?2, ?3)"));
    for (const audit::StoredNode& node : nodes) {
      insert->Reset();
      TRYGG_RETURN_IF_ERROR(insert->Bind(1, static_cast<int64_t>(node.id.level))
                                .Bind(2, static_cast<int64_t>(node.id.index))
                                .BindBlob(3, node.hash.array())
                                .Run());
    }
    insert->Reset();
  }
  TRYGG_ASSIGN_OR_RETURN(Statement * entry_insert,
                         Db(txn).Prepare("INSERT INTO audit_entries (idx, entry) VALUES (?1, ?2)"));
  const std::vector<uint8_t> bytes(entry.begin(), entry.end());
  return entry_insert->Bind(1, static_cast<int64_t>(leaves.size())).BindBlob(2, bytes).Run();
}

// What keeps the writer's copy of the right edge right: it is dropped before
// a failed write is undone. Undoing a leaf and then storing another one some
// other way gives the same size with other peaks, which the size check cannot
// see; only the drop stops the next append building on the undone leaf.
TEST_CASE("the writer drops its copy of the audit tree's right edge after a failed write", "[store]") {
  TempDir dir;
  auto store = OpenOrDie(dir.file("trygg.db"));
  SeedAudit(*store, 7);
  const std::vector<absl::Status> results = RunAsOneBatch(
      *store, {[](domain::Transaction& txn) { return AppendAudit(txn, "kept"); },
               [](domain::Transaction& txn) -> absl::Status {
                 TRYGG_RETURN_IF_ERROR(AppendAudit(txn, "undone"));
                 return absl::FailedPreconditionError("refused after its append");
               },
               [](domain::Transaction& txn) { return StoreLeafAnotherWay(txn, "by hand", false); },
               [](domain::Transaction& txn) { return AppendAudit(txn, "after"); }});
  CHECK(results[0].ok());
  CHECK(results[1].code() == absl::StatusCode::kFailedPrecondition);
  CHECK(results[2].ok());
  CHECK(results[3].ok());
  CheckAuditTreeMatchesEntries(*store, {"e0", "e1", "e2", "e3", "e4", "e5", "e6", "kept", "by hand", "after"});
}

// The same inside one write: a savepoint of the write's own undoes a leaf,
// and another is stored through the table's NodeStore interface, which drops
// the copy. Six leaves first, so the next append merges with the replaced
// leaf at once.
TEST_CASE("nodes stored past the writer's own append drop its copy of the right edge", "[store]") {
  TempDir dir;
  auto store = OpenOrDie(dir.file("trygg.db"));
  REQUIRE(store->WriteAndWait([](domain::Transaction& txn) -> absl::Status {
                 for (int i = 0; i < 6; ++i) TRYGG_RETURN_IF_ERROR(AppendAudit(txn, absl::StrCat("e", i)));
                 TRYGG_RETURN_IF_ERROR(Db(txn).Exec("SAVEPOINT inner"));
                 TRYGG_RETURN_IF_ERROR(AppendAudit(txn, "undone"));
                 TRYGG_RETURN_IF_ERROR(Db(txn).Exec("ROLLBACK TO inner; RELEASE inner"));
                 TRYGG_RETURN_IF_ERROR(StoreLeafAnotherWay(txn, "through the table", true));
                 return AppendAudit(txn, "after");
               }).ok());
  CheckAuditTreeMatchesEntries(*store, {"e0", "e1", "e2", "e3", "e4", "e5", "through the table", "after"});
}

// The writer keeps the audit tree's right edge from one append of a batch to
// the next instead of reading the peaks each time. A write that appended and
// was then undone leaves that copy one leaf ahead of the table; the next
// append must build on the table, not on the copy.
TEST_CASE("an audit append after a write undone with its own append builds on what is stored", "[store]") {
  TempDir dir;
  auto store = OpenOrDie(dir.file("trygg.db"));
  REQUIRE(CreateTestTable(*store).ok());
  // Seven leaves first, so the undone append changes the peaks a lot.
  SeedAudit(*store, 7);
  const std::vector<absl::Status> results = RunAsOneBatch(
      *store, {[](domain::Transaction& txn) { return AppendAudit(txn, "kept 1"); },
               [](domain::Transaction& txn) -> absl::Status {
                 TRYGG_RETURN_IF_ERROR(AppendAudit(txn, "undone"));
                 return absl::FailedPreconditionError("refused after its append");
               },
               [](domain::Transaction& txn) { return AppendAudit(txn, "kept 2"); },
               [](domain::Transaction& txn) { return AppendAudit(txn, "kept 3"); }});
  CHECK(results[0].ok());
  CHECK(results[1].code() == absl::StatusCode::kFailedPrecondition);
  CHECK(results[2].ok());
  CHECK(results[3].ok());
  // The second run put the undone write in a savepoint: the copy was ahead.
  CHECK(store->BatchRetries() == 1);
  REQUIRE(store->WriteAndWait([](domain::Transaction& txn) { return AppendAudit(txn, "next batch"); }).ok());
  CheckAuditTreeMatchesEntries(*store, {"e0", "e1", "e2", "e3", "e4", "e5", "e6", "kept 1", "kept 2", "kept 3",
                                        "next batch"});
}

// SQLite rolls a transaction back itself after some errors (I/O, a full disk,
// no memory); a write ending it stands in for those here. The writes after it
// must not run outside any transaction, each committing on its own while the
// batch reports failure: none of the batch is stored, and all of it fails.
TEST_CASE("a batch whose transaction SQLite ended fails whole, and nothing after it runs", "[store]") {
  TempDir dir;
  auto store = OpenOrDie(dir.file("trygg.db"));
  REQUIRE(CreateTestTable(*store).ok());
  bool savepoint = false;
  bool goes_on = false;
  SECTION("without savepoints") {}
  SECTION("in the savepoint run, after a write failed having changed rows") { savepoint = true; }
  // Its next statement would run outside any transaction and commit on its
  // own; the connection refuses it.
  SECTION("and the write that ended it goes on") { goes_on = true; }
  std::atomic<int> ran_after{0};
  std::vector<domain::Store::WriteFn> writes;
  writes.push_back([](domain::Transaction& txn) { return Insert(txn, 1, "first"); });
  if (savepoint) {
    writes.push_back([](domain::Transaction& txn) -> absl::Status {
      TRYGG_RETURN_IF_ERROR(Insert(txn, 2, "second"));
      return absl::FailedPreconditionError("refused by the rule");
    });
  }
  writes.push_back([&goes_on](domain::Transaction& txn) -> absl::Status {
    TRYGG_RETURN_IF_ERROR(Db(txn).Exec("ROLLBACK"));
    if (goes_on) Insert(txn, 3, "went on").IgnoreError();
    return absl::OkStatus();
  });
  writes.push_back([&](domain::Transaction& txn) {
    ++ran_after;
    return Insert(txn, 4, "after");
  });
  const std::vector<absl::Status> results = RunAsOneBatch(*store, std::move(writes));
  for (const absl::Status& status : results) CHECK_FALSE(status.ok());
  CHECK(ran_after == 0);
  CHECK(Count(*store) == 0);
  // The writer goes on: the next write commits.
  CHECK(store->WriteAndWait([](domain::Transaction& txn) { return Insert(txn, 5, "next"); }).ok());
  CHECK(Count(*store) == 1);
}

// In the savepoint run a failed write is rolled back to its savepoint and
// every write's savepoint released. If either fails (an I/O error reading the
// statement journal back, say; here the write releases its savepoint itself),
// a RELEASE after a failed ROLLBACK TO would keep the refused write's
// changes, and an unreleased savepoint would stay open under the next
// write's: the whole batch fails instead.
TEST_CASE("a write whose savepoint cannot be closed fails its whole batch, and nothing of it is stored", "[store]") {
  TempDir dir;
  auto store = OpenOrDie(dir.file("trygg.db"));
  REQUIRE(CreateTestTable(*store).ok());
  bool refused = false;
  SECTION("a refused write whose savepoint cannot be rolled back") { refused = true; }
  SECTION("a write whose savepoint cannot be released") {}
  std::atomic<int> runs{0};
  const std::vector<absl::Status> results = RunAsOneBatch(
      *store, {[](domain::Transaction& txn) { return Insert(txn, 1, "first"); },
               [&](domain::Transaction& txn) -> absl::Status {
                 // The first run changes a row and is refused, so the batch
                 // runs again with this write in a savepoint.
                 if (++runs == 1) {
                   TRYGG_RETURN_IF_ERROR(Insert(txn, 2, "second"));
                   return absl::FailedPreconditionError("refused by the rule");
                 }
                 TRYGG_RETURN_IF_ERROR(Db(txn).Exec("RELEASE write"));
                 TRYGG_RETURN_IF_ERROR(Insert(txn, 20, "kept past its savepoint"));
                 return refused ? absl::FailedPreconditionError("refused by the rule") : absl::OkStatus();
               },
               [](domain::Transaction& txn) { return Insert(txn, 3, "third"); }});
  CHECK(runs == 2);
  for (const absl::Status& status : results) {
    CHECK(status.code() == absl::StatusCode::kUnavailable);
    CHECK(status.message().find("savepoint could not be closed") != absl::string_view::npos);
  }
  CHECK(Count(*store) == 0);
  // The writer goes on: the next write commits.
  CHECK(store->WriteAndWait([](domain::Transaction& txn) { return Insert(txn, 5, "next"); }).ok());
  CHECK(Count(*store) == 1);
}

TEST_CASE("concurrent writers and readers all see committed, durable data", "[store]") {
  TempDir dir;
  const std::string path = dir.file("trygg.db");
  {
    auto store = OpenOrDie(path);
    REQUIRE(CreateTestTable(*store).ok());
    constexpr int kThreads = 8;
    constexpr int kPerThread = 50;
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) {
          int64_t key = t * kPerThread + i;
          if (!store->WriteAndWait([key](domain::Transaction& txn) { return Insert(txn, key, "v"); }).ok()) {
            failures++;
          }
          int64_t seen = -1;
          // A write is visible to every reader once Write has returned.
          absl::Status read = store->Read([&](domain::Transaction& txn) {
            auto n = Db(txn).QueryInt("SELECT count(*) FROM t WHERE k = " + std::to_string(key));
            seen = n.ok() ? *n : -1;
            return n.status();
          });
          if (!read.ok() || seen != 1) failures++;
        }
      });
    }
    for (auto& th : threads) th.join();
    CHECK(failures.load() == 0);
    CHECK(Count(*store) == kThreads * kPerThread);
  }
  CHECK(Pragma(path, "SELECT count(*) FROM t") == 8 * 50);
}

TEST_CASE("TrustVersion moves after every write that touches a session or a device, and only then", "[store]") {
  TempDir dir;
  auto store = OpenOrDie(dir.file("trygg.db"));
  REQUIRE(CreateTestTable(*store).ok());
  auto write = [&store](const std::string& sql, bool fail = false) {
    return store->WriteAndWait([&sql, fail](domain::Transaction& txn) -> absl::Status {
      TRYGG_RETURN_IF_ERROR(Db(txn).Exec(sql));
      return fail ? absl::FailedPreconditionError("refused after the change") : absl::OkStatus();
    });
  };
  const uint64_t start = store->TrustVersion();
  // Writes elsewhere leave it alone: the session cache survives them.
  REQUIRE(write("INSERT INTO t (k, v) VALUES (1, 'x')").ok());
  REQUIRE(write("INSERT INTO certificates (subject_id, kind, bytes, signature) "
                "VALUES (zeroblob(16), 1, x'00', zeroblob(64))").ok());
  CHECK(store->TrustVersion() == start);

  // Each statement a caller's authority hangs on, including the ones
  // sqlite3_update_hook would miss: sessions is WITHOUT ROWID, and a DELETE
  // without WHERE is SQLite's truncate optimisation.
  const std::vector<std::string> changes = {
      "INSERT INTO devices (device_id, org_id, role, sign_key, box_key) "
      "VALUES (x'01000000000000000000000000000000', zeroblob(16), 1, zeroblob(32), zeroblob(32))",
      "INSERT INTO sessions (token_hash, device_id, expires_at) "
      "VALUES (x'aa', x'01000000000000000000000000000000', 9)",
      "UPDATE sessions SET expires_at = 10",
      "UPDATE devices SET role = 2",
      "UPDATE devices SET revoked = 1",
      "DELETE FROM sessions",
      "DELETE FROM devices",
  };
  uint64_t last = start;
  for (const std::string& sql : changes) {
    INFO(sql);
    REQUIRE(write(sql).ok());
    CHECK(store->TrustVersion() > last);
    CHECK(store->TrustVersion() % 2 == 0);
    last = store->TrustVersion();
  }
  // A statement that matches no row changes nothing, and says so.
  REQUIRE(write("DELETE FROM sessions WHERE expires_at < 0").ok());
  CHECK(store->TrustVersion() == last);
  // A write that changed a device and then failed moves it too: a spurious
  // move only costs a cache miss.
  CHECK(write("INSERT INTO devices (device_id, org_id, role, sign_key, box_key) "
              "VALUES (x'02000000000000000000000000000000', zeroblob(16), 1, zeroblob(32), zeroblob(32))",
              true)
            .code() == absl::StatusCode::kFailedPrecondition);
  CHECK(store->TrustVersion() > last);

  SECTION("the triggers live on the writer's connection only, not in the file") {
    store.reset();
    CHECK(Pragma(dir.file("trygg.db"), "SELECT count(*) FROM sqlite_schema WHERE type = 'trigger'") == 0);
  }
}

// What the session cache relies on (session_cache.h): the version is odd
// from before a trust change can be read until after it, and even again
// before the batch is reported done. SQLite calls a WAL hook after a commit
// is in the WAL and the write lock released, when readers can see it; the
// observer hears of the batch before its done callbacks are queued.
TEST_CASE("TrustVersion is odd while a trust change commits, and even again before its batch is done", "[store]") {
  struct Observer final : WriterObserver {
    void BatchDone(size_t, std::chrono::nanoseconds, std::chrono::nanoseconds, bool) override {
      seen.push_back(store->TrustVersion());
    }
    SqliteStore* store = nullptr;
    std::vector<uint64_t> seen;  // writer thread only, read after WriteAndWait
  } observer;
  // Declared before the store, so that it outlives the WAL hook pointing at it.
  struct Committed {
    SqliteStore* store = nullptr;
    std::vector<uint64_t> seen;
  } committed;
  TempDir dir;
  SqliteStore::Options options;
  options.path = dir.file("trygg.db");
  options.observer = &observer;
  auto store = OpenOrDie(options);
  observer.store = store.get();
  committed.store = store.get();
  REQUIRE(CreateTestTable(*store).ok());
  REQUIRE(store->WriteAndWait([&committed](domain::Transaction& txn) {
                  // Only on this test's store: a WAL hook replaces the
                  // writer's automatic checkpoints.
                  sqlite3_wal_hook(
                      Db(txn).raw(),
                      [](void* arg, sqlite3*, const char*, int) {
                        auto* c = static_cast<Committed*>(arg);
                        c->seen.push_back(c->store->TrustVersion());
                        return SQLITE_OK;
                      },
                      &committed);
                  return absl::OkStatus();
                }).ok());
  const uint64_t start = store->TrustVersion();
  REQUIRE(store->WriteAndWait([](domain::Transaction& txn) { return Insert(txn, 1, "x"); }).ok());
  REQUIRE(store->WriteAndWait([](domain::Transaction& txn) {
                  return Db(txn).Exec(
                      "INSERT INTO certificates (subject_id, kind, bytes, signature) "
                      "VALUES (zeroblob(16), 1, x'00', zeroblob(64)); "
                      "INSERT INTO devices (device_id, org_id, role, sign_key, box_key) "
                      "VALUES (zeroblob(16), zeroblob(16), 1, zeroblob(32), zeroblob(32))");
                }).ok());
  // The write that installed the hook changed nothing, so wrote no WAL
  // frame: an unrelated write commits at an even version, the trust change
  // at an odd one.
  REQUIRE(committed.seen.size() == 2);
  CHECK(committed.seen[0] == start);
  CHECK(committed.seen[1] == start + 1);
  REQUIRE(observer.seen.size() >= 3);
  CHECK(observer.seen.back() == start + 2);
  CHECK(store->TrustVersion() == start + 2);
}

TEST_CASE("a duplicate key is ALREADY_EXISTS", "[store]") {
  TempDir dir;
  auto store = OpenOrDie(dir.file("trygg.db"));
  REQUIRE(CreateTestTable(*store).ok());
  REQUIRE(store->WriteAndWait([](domain::Transaction& txn) { return Insert(txn, 1, "a"); }).ok());
  absl::Status duplicate = store->WriteAndWait([](domain::Transaction& txn) { return Insert(txn, 1, "b"); });
  CHECK(duplicate.code() == absl::StatusCode::kAlreadyExists);
  // The message may reach a client: no SQL, no values.
  CHECK(duplicate.message() == "a record with this id already exists");
}

}  // namespace
// What a WriterObserver hears: one call per batch with its size.
class RecordingObserver final : public WriterObserver {
 public:
  void BatchDone(size_t writes, std::chrono::nanoseconds batch_duration, std::chrono::nanoseconds commit_duration,
                 bool committed) override {
    std::lock_guard<std::mutex> lock(mu_);
    batches_.push_back(writes);
    durations_ok_ = durations_ok_ && batch_duration.count() >= 0 && commit_duration <= batch_duration;
    all_committed_ = all_committed_ && committed;
    cv_.notify_all();
  }
  // Waits until `total` writes have been reported; their batch sizes.
  std::vector<size_t> WaitForWrites(size_t total) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(30), [&] { return Sum() >= total; });
    return batches_;
  }
  bool durations_ok() {
    std::lock_guard<std::mutex> lock(mu_);
    return durations_ok_;
  }
  bool all_committed() {
    std::lock_guard<std::mutex> lock(mu_);
    return all_committed_;
  }

 private:
  size_t Sum() const {
    size_t sum = 0;
    for (size_t n : batches_) sum += n;
    return sum;
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<size_t> batches_;
  bool durations_ok_ = true;
  bool all_committed_ = true;
};

TEST_CASE("the writer reports each batch to its observer, and the queue depth is visible", "[store]") {
  TempDir dir;
  RecordingObserver observer;
  SqliteStore::Options options;
  options.path = dir.file("trygg.db");
  options.observer = &observer;
  auto opened = OpenOrDie(options);
  SqliteStore& store = *opened;
  REQUIRE(CreateTestTable(store).ok());
  REQUIRE(observer.WaitForWrites(1) == std::vector<size_t>{1});

  // Hold the writer inside one write while more are queued behind it.
  std::mutex mu;
  std::condition_variable cv;
  bool holding = false;
  bool release = false;
  store.Write(
      [&](domain::Transaction& txn) {
        std::unique_lock<std::mutex> lock(mu);
        holding = true;
        cv.notify_all();
        cv.wait(lock, [&] { return release; });
        return Insert(txn, 0, "first");
      },
      [](absl::Status) {});
  {
    std::unique_lock<std::mutex> lock(mu);
    REQUIRE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return holding; }));
  }
  constexpr int kQueued = 5;
  for (int i = 1; i <= kQueued; ++i) {
    store.Write([i](domain::Transaction& txn) { return Insert(txn, i, "queued"); }, [](absl::Status) {});
  }
  CHECK(store.QueuedWrites() == kQueued);
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
  // The held write alone, then the five queued behind it in one batch.
  CHECK(observer.WaitForWrites(1 + 1 + kQueued) == std::vector<size_t>{1, 1, kQueued});
  CHECK(store.QueuedWrites() == 0);
  CHECK(observer.durations_ok());
  CHECK(observer.all_committed());
  CHECK(Count(store) == 1 + kQueued);
}

// Replies and watch notices run in the writes' `done` callbacks; they run on
// the completion thread, so a slow one never holds up the next commit.
TEST_CASE("a write's done callback runs off the writer thread: the next batch commits while it runs", "[store]") {
  TempDir dir;
  RecordingObserver observer;
  SqliteStore::Options options;
  options.path = dir.file("trygg.db");
  options.observer = &observer;
  auto opened = OpenOrDie(options);
  SqliteStore& store = *opened;
  REQUIRE(CreateTestTable(store).ok());
  REQUIRE(observer.WaitForWrites(1) == std::vector<size_t>{1});

  std::mutex mu;
  std::condition_variable cv;
  bool first_done_running = false;
  bool second_committed = false;
  bool second_done = false;
  absl::Status first_status = absl::UnknownError("not run");
  absl::Status second_status = absl::UnknownError("not run");
  // The first write's callback waits until the second write has committed:
  // on the writer thread it would keep that commit from happening.
  store.Write([](domain::Transaction& txn) { return Insert(txn, 1, "first"); },
              [&](absl::Status status) {
                std::unique_lock<std::mutex> lock(mu);
                first_status = status;
                first_done_running = true;
                cv.notify_all();
                cv.wait_for(lock, std::chrono::seconds(30), [&] { return second_committed; });
              });
  {
    std::unique_lock<std::mutex> lock(mu);
    REQUIRE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return first_done_running; }));
  }
  store.Write([](domain::Transaction& txn) { return Insert(txn, 2, "second"); },
              [&](absl::Status status) {
                std::lock_guard<std::mutex> lock(mu);
                second_status = status;
                second_done = true;
                cv.notify_all();
              });
  // The second batch commits while the first callback still runs.
  CHECK(observer.WaitForWrites(3) == std::vector<size_t>{1, 1, 1});
  {
    std::lock_guard<std::mutex> lock(mu);
    second_committed = true;
    CHECK_FALSE(second_done);  // callbacks run in commit order
  }
  cv.notify_all();
  {
    std::unique_lock<std::mutex> lock(mu);
    REQUIRE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return second_done; }));
  }
  CHECK(first_status.ok());
  CHECK(second_status.ok());
  CHECK(Count(store) == 2);
}

TEST_CASE("past max_queued_writes a write is refused at once with RESOURCE_EXHAUSTED and never runs", "[store]") {
  TempDir dir;
  SqliteStore::Options options;
  options.path = dir.file("trygg.db");
  options.max_queued_writes = 3;
  auto opened = OpenOrDie(options);
  SqliteStore& store = *opened;
  REQUIRE(CreateTestTable(store).ok());

  // The writer holds one write (taken off the queue) while three fill it.
  std::mutex mu;
  std::condition_variable cv;
  bool holding = false;
  bool release = false;
  store.Write(
      [&](domain::Transaction& txn) {
        std::unique_lock<std::mutex> lock(mu);
        holding = true;
        cv.notify_all();
        cv.wait(lock, [&] { return release; });
        return Insert(txn, 0, "held");
      },
      [](absl::Status) {});
  {
    std::unique_lock<std::mutex> lock(mu);
    REQUIRE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return holding; }));
  }
  int queued_done = 0;
  for (int i = 1; i <= 3; ++i) {
    store.Write([i](domain::Transaction& txn) { return Insert(txn, i, "queued"); },
                [&](absl::Status status) {
                  CHECK(status.ok());
                  std::lock_guard<std::mutex> lock(mu);
                  ++queued_done;
                  cv.notify_all();
                });
  }
  REQUIRE(store.QueuedWrites() == 3);

  // The fourth is answered on this thread, before Write returns.
  bool ran = false;
  std::optional<absl::Status> answer;
  store.Write(
      [&ran](domain::Transaction& txn) {
        ran = true;
        return Insert(txn, 4, "refused");
      },
      [&answer](absl::Status status) { answer = status; });
  REQUIRE(answer.has_value());
  CHECK(answer->code() == absl::StatusCode::kResourceExhausted);
  CHECK(store.RefusedWrites() == 1);
  CHECK(store.QueuedWrites() == 3);

  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
  {
    std::unique_lock<std::mutex> lock(mu);
    REQUIRE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return queued_done == 3; }));
  }
  // Once the queue has drained, writes are taken again; the refused one never ran.
  REQUIRE(store.WriteAndWait([](domain::Transaction& txn) { return Insert(txn, 5, "later"); }).ok());
  CHECK_FALSE(ran);
  CHECK(Count(store) == 5);  // held, three queued, later
}

}  // namespace trygg::store::sqlite
