// SPDX-License-Identifier: Apache-2.0

#include "testing/db_edit.h"

#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <functional>
#include <optional>

#include "trygg/bytes.h"

namespace trygg::testing {

void Exec(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(db_path.c_str(), &db) == SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  char* error = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  INFO(sql << ": " << (error ? error : ""));
  sqlite3_free(error);
  sqlite3_close(db);
  REQUIRE(rc == SQLITE_OK);
}

namespace {

// Runs `sql` on its own connection and calls `row` for each result row.
void ForEachRow(const std::string& db_path, const std::string& sql, const std::function<void(sqlite3_stmt*)>& row) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(db_path.c_str(), &db) == SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  sqlite3_stmt* stmt = nullptr;
  INFO(sql);
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK);
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) row(stmt);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  REQUIRE(rc == SQLITE_DONE);
}

std::vector<uint8_t> Blob(sqlite3_stmt* stmt, int col) {
  const auto* bytes = static_cast<const uint8_t*>(sqlite3_column_blob(stmt, col));
  return bytes == nullptr ? std::vector<uint8_t>() : std::vector<uint8_t>(bytes, bytes + sqlite3_column_bytes(stmt, col));
}

}  // namespace

int64_t QueryInt(const std::string& db_path, const std::string& sql) {
  std::optional<int64_t> value;
  ForEachRow(db_path, sql, [&](sqlite3_stmt* stmt) {
    if (!value.has_value()) value = sqlite3_column_int64(stmt, 0);
  });
  INFO(sql);
  REQUIRE(value.has_value());
  return *value;
}

std::string Snapshot(const std::string& db_path, const std::string& sql) {
  std::string out;
  ForEachRow(db_path, sql, [&](sqlite3_stmt* stmt) {
    for (int col = 0; col < sqlite3_column_count(stmt); ++col) {
      out += sqlite3_column_type(stmt, col) == SQLITE_NULL ? "NULL" : HexEncode(Blob(stmt, col));
      out += col + 1 < sqlite3_column_count(stmt) ? "|" : "\n";
    }
  });
  return out;
}

std::vector<std::vector<uint8_t>> QueryBlobs(const std::string& db_path, const std::string& sql) {
  std::vector<std::vector<uint8_t>> blobs;
  ForEachRow(db_path, sql, [&](sqlite3_stmt* stmt) { blobs.push_back(Blob(stmt, 0)); });
  return blobs;
}

std::string FlippedByte(const std::string& column, int offset) {
  const std::string before = std::to_string(offset);
  const std::string at = std::to_string(offset + 1);
  const std::string after = std::to_string(offset + 2);
  return "CAST(substr(" + column + ", 1, " + before + ") || CASE WHEN substr(" + column + ", " + at +
         ", 1) = x'00' THEN x'01' ELSE x'00' END || substr(" + column + ", " + after + ") AS BLOB)";
}

}  // namespace trygg::testing
