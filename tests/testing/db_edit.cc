#include "testing/db_edit.h"

#include <sqlite3.h>

#include <catch2/catch.hpp>

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

int64_t QueryInt(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(db_path.c_str(), &db) == SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  sqlite3_stmt* stmt = nullptr;
  INFO(sql);
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(stmt) == SQLITE_ROW);
  int64_t value = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return value;
}

std::string Snapshot(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(db_path.c_str(), &db) == SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  sqlite3_stmt* stmt = nullptr;
  INFO(sql);
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK);
  std::string out;
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    for (int col = 0; col < sqlite3_column_count(stmt); ++col) {
      const auto* bytes = static_cast<const uint8_t*>(sqlite3_column_blob(stmt, col));
      const size_t size = static_cast<size_t>(sqlite3_column_bytes(stmt, col));
      out += sqlite3_column_type(stmt, col) == SQLITE_NULL ? "NULL" : HexEncode(std::span(bytes, size));
      out += col + 1 < sqlite3_column_count(stmt) ? "|" : "\n";
    }
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  REQUIRE(rc == SQLITE_DONE);
  return out;
}

std::vector<std::vector<uint8_t>> QueryBlobs(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(db_path.c_str(), &db) == SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  sqlite3_stmt* stmt = nullptr;
  INFO(sql);
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK);
  std::vector<std::vector<uint8_t>> blobs;
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    const auto* bytes = static_cast<const uint8_t*>(sqlite3_column_blob(stmt, 0));
    blobs.emplace_back(bytes, bytes + sqlite3_column_bytes(stmt, 0));
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  REQUIRE(rc == SQLITE_DONE);
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
