// SPDX-License-Identifier: Apache-2.0

// AuditLogCopy: trygg-audit's read-only view of a database copy reads what the
// store wrote, refuses what is not a Trygg database of a known schema, and
// never changes the file.
#include "server/store/sqlite/audit_reader.h"

#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "server/domain/audit_table.h"
#include "server/store/sqlite/migrations.h"
#include "server/store/sqlite/sqlite_store.h"
#include "testing/temp_dir.h"
#include "trygg/audit/hash.h"

namespace trygg::store::sqlite {
namespace {

using testing::TempDir;

std::string FileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void ExecOn(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
}

// A closed Trygg database holding three entries and two signed heads.
std::string StoreWithLog(const TempDir& dir) {
  const std::string path = dir.path() + "/trygg.db";
  SqliteStore::Options options;
  options.path = path;
  auto store = SqliteStore::Open(options);
  REQUIRE(store.ok());
  REQUIRE((*store)->WriteAndWait([](domain::Transaction& txn) -> absl::Status {
    for (const std::string entry : {"one", "two", "three"}) {
      std::vector<uint8_t> bytes(entry.begin(), entry.end());
      absl::StatusOr<uint64_t> index = txn.audit().Append(bytes);
      if (!index.ok()) return index.status();
    }
    audit::SignedTreeHead first;
    first.head.tree_size = 2;
    first.head.timestamp_ms = 1000;
    first.head.root_hash = audit::HashLeaf("root-2");
    first.signature.data()[0] = 1;
    audit::SignedTreeHead second = first;
    second.head.tree_size = 3;
    second.head.timestamp_ms = 2000;
    absl::Status stored = txn.audit().StoreSignedHead(first);
    return stored.ok() ? txn.audit().StoreSignedHead(second) : stored;
  }).ok());
  store->reset();  // checkpoints the WAL into the file
  return path;
}

TEST_CASE("AuditLogCopy reads the entries, leaves and heads the store wrote", "[store][audit_reader]") {
  TempDir dir;
  const std::string path = StoreWithLog(dir);
  const std::string before = FileBytes(path);

  auto copy = AuditLogCopy::Open(path);
  REQUIRE(copy.ok());
  auto entries = (*copy)->Entries();
  REQUIRE(entries.ok());
  REQUIRE(entries->size() == 3);
  CHECK((*entries)[2].index == 2);
  CHECK(std::string((*entries)[2].bytes.begin(), (*entries)[2].bytes.end()) == "three");
  auto leaves = (*copy)->LeafHashes();
  REQUIRE(leaves.ok());
  REQUIRE(leaves->size() == 3);
  CHECK((*leaves)[0] == audit::HashLeaf("one"));
  auto heads = (*copy)->SignedHeads();
  REQUIRE(heads.ok());
  REQUIRE(heads->size() == 2);
  CHECK((*heads)[0].head.tree_size == 2);
  CHECK((*heads)[1].head.timestamp_ms == 2000);
  copy->reset();
  CHECK(FileBytes(path) == before);
}

TEST_CASE("AuditLogCopy refuses what is not a Trygg database of a known schema", "[store][audit_reader]") {
  TempDir dir;
  SECTION("a missing file is NOT_FOUND") {
    CHECK(AuditLogCopy::Open(dir.path() + "/nothing.db").status().code() == absl::StatusCode::kNotFound);
  }
  SECTION("another SQLite database is FAILED_PRECONDITION, even with an audit_entries table") {
    const std::string path = dir.path() + "/other.db";
    ExecOn(path, "CREATE TABLE audit_entries (idx INTEGER PRIMARY KEY, entry BLOB)");
    const absl::Status status = AuditLogCopy::Open(path).status();
    CHECK(status.code() == absl::StatusCode::kFailedPrecondition);
    CHECK(status.message().find("not a Trygg database") != std::string::npos);
  }
  SECTION("a file that is not SQLite is refused") {
    const std::string path = dir.path() + "/text.db";
    std::ofstream(path) << "not a database at all, just some words in a file";
    CHECK_FALSE(AuditLogCopy::Open(path).ok());
  }
  SECTION("a newer schema than this build reads is FAILED_PRECONDITION") {
    const std::string path = StoreWithLog(dir);
    ExecOn(path, "PRAGMA user_version = " + std::to_string(LatestSchemaVersion() + 1));
    const absl::Status status = AuditLogCopy::Open(path).status();
    CHECK(status.code() == absl::StatusCode::kFailedPrecondition);
    CHECK(status.message().find("newer") != std::string::npos);
  }
  SECTION("a gap in the stored leaves is DATA_LOSS") {
    const std::string path = StoreWithLog(dir);
    ExecOn(path, "DELETE FROM audit_nodes WHERE level = 0 AND idx = 1");
    auto copy = AuditLogCopy::Open(path);
    REQUIRE(copy.ok());
    CHECK((*copy)->LeafHashes().status().code() == absl::StatusCode::kDataLoss);
  }
}

TEST_CASE("AuditLogCopy's integrity check passes a sound copy and names a damaged one", "[store][audit_reader]") {
  TempDir dir;
  const std::string path = StoreWithLog(dir);
  {
    auto copy = AuditLogCopy::Open(path);
    REQUIRE(copy.ok());
    CHECK((*copy)->IntegrityCheck().ok());
    // A database with no server certificate yet certifies no key.
    auto certified = (*copy)->CertifiedServerKey();
    REQUIRE(certified.ok());
    CHECK_FALSE(certified->has_value());
  }
  // Scramble the b-tree page header of the Merkle tree's root page: SQLite
  // still opens the file; integrity_check finds it.
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  auto query = [db](const char* sql) {
    sqlite3_stmt* stmt = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_step(stmt) == SQLITE_ROW);
    const int64_t value = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return value;
  };
  const int64_t page_size = query("PRAGMA page_size");
  const int64_t root_page = query("SELECT rootpage FROM sqlite_schema WHERE name = 'audit_nodes'");
  sqlite3_close(db);
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  file.seekp(static_cast<std::streamoff>((root_page - 1) * page_size));
  file.write(std::string(12, '\x5a').data(), 12);
  file.close();
  auto copy = AuditLogCopy::Open(path);
  REQUIRE(copy.ok());
  const absl::Status checked = (*copy)->IntegrityCheck();
  CHECK(checked.code() == absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace trygg::store::sqlite
