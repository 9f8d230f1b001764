// SPDX-License-Identifier: Apache-2.0

// Thin RAII wrappers over the SQLite C API: a Connection and its prepared
// Statements. Used only inside server/store/sqlite/.
//
// Ownership: a Statement borrows its Connection and must not outlive it.
// Thread-safety: none; a Connection and its Statements are used by one thread
// at a time (the store's writer thread, or a reader borrowed from the pool).
// Failure modes: every SQLite error becomes an absl::Status carrying SQLite's
// message and the SQL that failed (never bound values, which may be secret).
#ifndef TRYGG_SERVER_STORE_SQLITE_CONNECTION_H_
#define TRYGG_SERVER_STORE_SQLITE_CONNECTION_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

struct sqlite3;
struct sqlite3_stmt;

namespace trygg::store::sqlite {

class Connection;

// A prepared statement. Bind parameters are 1-based, columns 0-based.
class Statement {
 public:
  Statement(Connection* db, sqlite3_stmt* stmt);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& Bind(int index, int64_t value);
  Statement& Bind(int index, absl::string_view text);
  Statement& BindBlob(int index, std::span<const uint8_t> blob);
  Statement& BindNull(int index);

  // Steps once: true when a row is available, false when done.
  absl::StatusOr<bool> Step();
  // Steps to completion, expecting no rows.
  absl::Status Run();
  // Runs an UPDATE or DELETE that the domain expects to change exactly one
  // row (a row it has just read and checked, scoped to the caller's
  // organisation). Any other count is our own bug or a race, and fails with
  // INTERNAL so that the write is rolled back and nothing changes.
  absl::Status RunChangingOne();

  int64_t ColumnInt(int col) const;
  std::string ColumnText(int col) const;
  std::vector<uint8_t> ColumnBlob(int col) const;
  bool ColumnIsNull(int col) const;
  // A fixed-size value (id, key, hash, signature) from a BLOB column;
  // DATA_LOSS naming the column when the stored bytes have another size.
  template <typename Fixed>
  absl::StatusOr<Fixed> ColumnFixed(int col) const {
    absl::StatusOr<Fixed> value = Fixed::FromSpan(ColumnBlob(col));
    if (!value.ok()) return WrongSize(col);
    return value;
  }

  // Clears bindings and rewinds, so a cached statement can be reused.
  void Reset();

 private:
  absl::Status WrongSize(int col) const;

  friend class Connection;

  Connection* db_;
  sqlite3_stmt* stmt_;
  // Not a read or a transaction statement (sqlite3_stmt_readonly).
  bool may_write_;
  absl::Status bind_status_;
  // In Connection::used_ (each statement at most once).
  bool used_ = false;
};

class Connection {
 public:
  enum class Mode { kReadWriteCreate, kReadWrite, kReadOnly };

  static absl::StatusOr<std::unique_ptr<Connection>> Open(const std::string& path, Mode mode);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs one or more statements without parameters. A single statement (no
  // ';') runs through the statement cache, so the SAVEPOINT, RELEASE, BEGIN
  // and COMMIT of every write are parsed once per connection.
  absl::Status Exec(absl::string_view sql);

  // Returns a cached prepared statement for `sql`, reset and ready to bind.
  // The reference stays valid for the life of the connection; use it within
  // the transaction it was prepared in (ResetStatements rewinds only the
  // statements prepared since its last call).
  absl::StatusOr<Statement*> Prepare(absl::string_view sql);

  // Rewinds every statement Prepare returned since the last call. A
  // statement left mid-result keeps its read snapshot open past COMMIT, so
  // every transaction ends with this. (Only those: walking the whole cache
  // after every write cost the writer a few percent.)
  void ResetStatements();

  // Reads a single integer (e.g. a PRAGMA).
  absl::StatusOr<int64_t> QueryInt(absl::string_view sql);

  // The status for SQLite result code `rc`, with context.
  absl::Status Error(int rc, absl::string_view what) const;

  sqlite3* raw() { return db_; }

  // Changes sqlite3_total_changes64 may not count, counted here instead: a
  // statement that may write (anything but a read or a transaction
  // statement) that failed (SQLite undoes a failed statement's changes only
  // when it planned for the failure and kept a statement journal), and every
  // such statement run through Exec (schema changes are never counted; a
  // string of several statements counts whatever it holds; a schema change
  // stepped through Prepare would not be counted, so schema changes go through
  // Exec, as migrations do). A write during
  // which neither this nor sqlite3_total_changes64 moved changed nothing:
  // SqliteStore then needs no savepoint to undo it.
  uint64_t uncounted_writes() const { return uncounted_writes_; }

  // While set, no statement runs once the connection has left its
  // transaction (SQLite rolls one back itself after an I/O error, a full disk
  // or no memory): each would otherwise run, and commit, on its own. The
  // writer sets it around each write of a batch.
  void set_inside_transaction(bool inside) { inside_transaction_ = inside; }

 private:
  friend class Statement;
  explicit Connection(sqlite3* db) : db_(db) {}
  void MarkUsed(Statement* statement);

  sqlite3* db_;
  uint64_t uncounted_writes_ = 0;
  bool inside_transaction_ = false;
  // The refusal when inside_transaction_ holds and the transaction is gone.
  absl::Status TransactionGone() const;
  std::unordered_map<std::string, std::unique_ptr<Statement>> cache_;
  // Statements Prepare returned since the last ResetStatements.
  std::vector<Statement*> used_;
};

}  // namespace trygg::store::sqlite

#endif  // TRYGG_SERVER_STORE_SQLITE_CONNECTION_H_
