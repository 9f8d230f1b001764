// SPDX-License-Identifier: Apache-2.0

// CopyDatabase: the copy is the snapshot the copy began with, however much
// another connection writes between its steps (it never restarts and never
// blocks the writer), and it is one self-contained file.
#include "server/store/sqlite/database_copy.h"

#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "testing/temp_dir.h"

namespace trygg::store::sqlite {
namespace {

using testing::TempDir;

int64_t QueryInt(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(stmt) == SQLITE_ROW);
  const int64_t value = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  return value;
}

void Exec(sqlite3* db, const std::string& sql) {
  INFO(sql);
  REQUIRE(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
}

TEST_CASE("CopyDatabase copies one snapshot while another connection keeps writing", "[store][database_copy]") {
  TempDir dir;
  const std::string source = dir.file("trygg.db");
  sqlite3* writer = nullptr;
  REQUIRE(sqlite3_open(source.c_str(), &writer) == SQLITE_OK);
  Exec(writer, "PRAGMA journal_mode = WAL");
  Exec(writer, "CREATE TABLE rows (n INTEGER PRIMARY KEY, padding BLOB)");
  // Some hundreds of pages, so that the copy takes many steps of 8.
  Exec(writer, "WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k WHERE n < 500) "
               "INSERT INTO rows SELECT n, randomblob(2000) FROM k");
  const int64_t rows_before = QueryInt(writer, "SELECT count(*) FROM rows");

  const std::string destination = dir.file("copy.db");
  { std::ofstream create(destination); }
  int steps = 0;
  int64_t written = 0;
  absl::Status copied = CopyDatabase(
      source, destination,
      [&](const CopyProgress& progress) {
        ++steps;
        CHECK(progress.pages_copied <= progress.pages_total);
        // A write between steps commits at once: the copy blocks no writer.
        Exec(writer, "INSERT INTO rows (padding) VALUES (randomblob(2000))");
        ++written;
      },
      /*pages_per_step=*/8);
  INFO(copied.ToString());
  REQUIRE(copied.ok());
  CHECK(steps > 10);
  CHECK(QueryInt(writer, "SELECT count(*) FROM rows") == rows_before + written);
  sqlite3_close(writer);

  // The copy holds the rows of the snapshot, is sound, and is in
  // rollback-journal mode: no -wal or -shm beside it, before or after a read.
  CHECK_FALSE(std::filesystem::exists(destination + "-wal"));
  sqlite3* copy = nullptr;
  REQUIRE(sqlite3_open_v2(destination.c_str(), &copy, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  CHECK(QueryInt(copy, "SELECT count(*) FROM rows") == rows_before);
  sqlite3_stmt* check = nullptr;
  REQUIRE(sqlite3_prepare_v2(copy, "PRAGMA integrity_check", -1, &check, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(check) == SQLITE_ROW);
  CHECK(std::string(reinterpret_cast<const char*>(sqlite3_column_text(check, 0))) == "ok");
  sqlite3_finalize(check);
  sqlite3_close(copy);
  CHECK_FALSE(std::filesystem::exists(destination + "-wal"));
  CHECK_FALSE(std::filesystem::exists(destination + "-shm"));
}

TEST_CASE("CopyDatabase refuses a source that is not a database", "[store][database_copy]") {
  TempDir dir;
  const std::string source = dir.file("not.db");
  {
    std::ofstream out(source);
    out << std::string(8192, 'x');
  }
  const std::string destination = dir.file("copy.db");
  { std::ofstream create(destination); }
  absl::Status copied = CopyDatabase(source, destination, nullptr);
  CHECK_FALSE(copied.ok());
}

}  // namespace
}  // namespace trygg::store::sqlite
