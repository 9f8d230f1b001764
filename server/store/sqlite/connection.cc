// SPDX-License-Identifier: Apache-2.0

#include "server/store/sqlite/connection.h"

#include <sqlite3.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "trygg/status_macros.h"

namespace trygg::store::sqlite {
namespace {

absl::StatusCode CodeFor(int rc) {
  switch (rc & 0xff) {
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      return absl::StatusCode::kDataLoss;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
      return absl::StatusCode::kUnavailable;
    case SQLITE_CONSTRAINT:
      // The domain checks its rules before writing; a constraint that still
      // fires is a duplicate (a race the caller may report) or our own bug.
      if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE) {
        return absl::StatusCode::kAlreadyExists;
      }
      return absl::StatusCode::kInternal;
    default:
      return absl::StatusCode::kInternal;
  }
}

}  // namespace

Statement::Statement(Connection* db, sqlite3_stmt* stmt)
    : db_(db), stmt_(stmt), may_write_(sqlite3_stmt_readonly(stmt) == 0) {}

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement& Statement::Bind(int index, int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK && bind_status_.ok()) bind_status_ = db_->Error(rc, "bind");
  return *this;
}

Statement& Statement::Bind(int index, absl::string_view text) {
  int rc = sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK && bind_status_.ok()) bind_status_ = db_->Error(rc, "bind");
  return *this;
}

Statement& Statement::BindBlob(int index, std::span<const uint8_t> blob) {
  // A zero-length blob must still bind as a blob, not NULL.
  static const uint8_t kEmpty = 0;
  const void* data = blob.empty() ? &kEmpty : blob.data();
  int rc = sqlite3_bind_blob64(stmt_, index, data, blob.size(), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK && bind_status_.ok()) bind_status_ = db_->Error(rc, "bind");
  return *this;
}

Statement& Statement::BindNull(int index) {
  int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK && bind_status_.ok()) bind_status_ = db_->Error(rc, "bind");
  return *this;
}

absl::StatusOr<bool> Statement::Step() {
  if (!bind_status_.ok()) return bind_status_;
  if (absl::Status gone = db_->TransactionGone(); !gone.ok()) return gone;
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  if (may_write_) ++db_->uncounted_writes_;
  return db_->Error(rc, sqlite3_sql(stmt_));
}

absl::Status Statement::Run() {
  for (;;) {
    absl::StatusOr<bool> row = Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::OkStatus();
  }
}

absl::Status Statement::RunChangingOne() {
  if (absl::Status run = Run(); !run.ok()) return run;
  const int changed = sqlite3_changes(db_->raw());
  if (changed != 1) {
    return absl::InternalError(absl::StrCat("expected to change one row, changed ", changed, ": ", sqlite3_sql(stmt_)));
  }
  return absl::OkStatus();
}

int64_t Statement::ColumnInt(int col) const { return sqlite3_column_int64(stmt_, col); }

std::string Statement::ColumnText(int col) const {
  const unsigned char* text = sqlite3_column_text(stmt_, col);
  return text == nullptr ? std::string()
                         : std::string(reinterpret_cast<const char*>(text),
                                       static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
}

std::vector<uint8_t> Statement::ColumnBlob(int col) const {
  const auto* data = static_cast<const uint8_t*>(sqlite3_column_blob(stmt_, col));
  size_t size = static_cast<size_t>(sqlite3_column_bytes(stmt_, col));
  return data == nullptr ? std::vector<uint8_t>() : std::vector<uint8_t>(data, data + size);
}

bool Statement::ColumnIsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

absl::Status Statement::WrongSize(int col) const {
  const char* name = sqlite3_column_name(stmt_, col);
  return absl::DataLossError(
      absl::StrCat("stored ", name != nullptr ? name : "value", " has the wrong size"));
}

void Statement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bind_status_ = absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Connection>> Connection::Open(const std::string& path, Mode mode) {
  int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
  switch (mode) {
    case Mode::kReadWriteCreate:
      flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
      break;
    case Mode::kReadWrite:
      flags |= SQLITE_OPEN_READWRITE;
      break;
    case Mode::kReadOnly:
      flags |= SQLITE_OPEN_READONLY;
      break;
  }
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    return absl::Status(CodeFor(rc), absl::StrCat("cannot open database ", path, ": ", message));
  }
  return std::unique_ptr<Connection>(new Connection(db));
}

Connection::~Connection() {
  cache_.clear();  // finalizes every statement before the close
  sqlite3_close_v2(db_);
}

absl::Status Connection::TransactionGone() const {
  if (inside_transaction_ && sqlite3_get_autocommit(db_) != 0) {
    return absl::UnavailableError("sqlite: the write's transaction has ended; nothing more runs in it");
  }
  return absl::OkStatus();
}

absl::Status Connection::Exec(absl::string_view sql) {
  if (sql.find(';') == absl::string_view::npos) {
    // One statement (SAVEPOINT, RELEASE, BEGIN, COMMIT: several per write):
    // the cached prepared statement, not a parse on every call.
    TRYGG_ASSIGN_OR_RETURN(Statement * stmt, Prepare(sql));
    if (stmt->may_write_) ++uncounted_writes_;
    absl::Status ran = stmt->Run();
    stmt->Reset();
    return ran;
  }
  std::string owned(sql);
  if (absl::Status gone = TransactionGone(); !gone.ok()) return gone;
  ++uncounted_writes_;  // several statements: whatever they hold
  int rc = sqlite3_exec(db_, owned.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return Error(rc, sql);
  return absl::OkStatus();
}

absl::StatusOr<Statement*> Connection::Prepare(absl::string_view sql) {
  std::string key(sql);
  auto it = cache_.find(key);
  if (it != cache_.end()) {
    it->second->Reset();
    MarkUsed(it->second.get());
    return it->second.get();
  }
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, key.data(), static_cast<int>(key.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) return Error(rc, sql);
  if (stmt == nullptr) return absl::InvalidArgumentError(absl::StrCat("sqlite: no statement in [", sql, "]"));
  auto owned = std::make_unique<Statement>(this, stmt);
  Statement* result = owned.get();
  cache_.emplace(std::move(key), std::move(owned));
  MarkUsed(result);
  return result;
}

void Connection::MarkUsed(Statement* statement) {
  if (statement->used_) return;
  statement->used_ = true;
  used_.push_back(statement);
}

void Connection::ResetStatements() {
  for (Statement* statement : used_) {
    statement->Reset();
    statement->used_ = false;
  }
  used_.clear();
}

absl::StatusOr<int64_t> Connection::QueryInt(absl::string_view sql) {
  absl::StatusOr<Statement*> stmt = Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  absl::StatusOr<bool> row = (*stmt)->Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::InternalError(absl::StrCat("no row from: ", sql));
  int64_t value = (*stmt)->ColumnInt(0);
  (*stmt)->Reset();
  return value;
}

absl::Status Connection::Error(int rc, absl::string_view what) const {
  const char* message = sqlite3_errmsg(db_);
  if ((rc & 0xff) == SQLITE_NOTADB || (rc & 0xff) == SQLITE_CORRUPT) {
    return absl::DataLossError(
        absl::StrCat("database file is corrupt or not a database (", message, ")"));
  }
  if (CodeFor(rc) == absl::StatusCode::kAlreadyExists) {
    // This message can reach a caller: it names neither SQL nor values.
    return absl::AlreadyExistsError("a record with this id already exists");
  }
  return absl::Status(CodeFor(rc), absl::StrCat("sqlite: ", message, " [", what, "]"));
}

}  // namespace trygg::store::sqlite
