// SPDX-License-Identifier: Apache-2.0

// Tampering with a real database behind the server's back: entries are
// appended through the real store and signed, then edited, removed,
// reordered or inserted with raw SQL, and `trygg-audit verify-db` must fail
// with exit status 3 and say what was done and at which index.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "audit_test_util.h"
#include "testing/temp_dir.h"

namespace trygg::audit_testing {
namespace {

using testing::TempDir;

constexpr uint32_t kEntries = 20;

struct TamperFixture {
  TamperFixture() : db(dir.file("trygg.db")) {
    LogBuilder builder(db);
    for (uint32_t i = 0; i < 8; ++i) builder.Record(CaseVersion(i));
    builder.Sign();
    for (uint32_t i = 8; i < kEntries; ++i) builder.Record(CaseVersion(i));
    builder.Sign();
    key = builder.KeyHex();
  }
  ToolResult VerifyDb(bool json = false) {
    std::vector<std::string> args = {"verify-db", "--db", db, "--server-key", key};
    if (json) args.push_back("--json");
    return RunAudit(args);
  }
  void ExpectTampered(const std::string& what) {
    ToolResult r = VerifyDb();
    INFO(Describe(r));
    CHECK(r.code == 3);
    CHECK(r.out.find("TAMPERED: " + what) != std::string::npos);
  }

  TempDir dir;
  std::string db;
  std::string key;
};

TEST_CASE("verify-db passes an untouched database", "[audit][tamper]") {
  TamperFixture f;
  ToolResult r = f.VerifyDb();
  INFO(Describe(r));
  CHECK(r.code == 0);
  CHECK(r.out.find("OK: 20 entries") != std::string::npos);
  CHECK(r.out.find("signed tree head of size 20") != std::string::npos);
}

TEST_CASE("verify-db names an edited entry", "[audit][tamper]") {
  TamperFixture f;
  Sql(f.db, "UPDATE audit_entries SET entry = x'" + EntryHex(900) + "' WHERE idx = 7");
  f.ExpectTampered("entry 7 was edited");

  ToolResult json = f.VerifyDb(/*json=*/true);
  CHECK(json.code == 3);
  nlohmann::json parsed = nlohmann::json::parse(json.out);
  CHECK(parsed["ok"] == false);
  CHECK(parsed["findings"][0]["kind"] == "edited");
  CHECK(parsed["findings"][0]["index"] == 7);
}

TEST_CASE("verify-db names a removed entry", "[audit][tamper]") {
  TamperFixture f;
  SECTION("row deleted") {
    Sql(f.db, "DELETE FROM audit_entries WHERE idx = 11");
    f.ExpectTampered("entry 11 was removed from the log (no row is stored under index 11)");
  }
  SECTION("row deleted and later rows renumbered") {
    std::string sql = "DELETE FROM audit_entries WHERE idx = 11;";
    for (uint32_t i = 12; i < kEntries; ++i) {
      sql += "UPDATE audit_entries SET idx = " + std::to_string(i - 1) + " WHERE idx = " +
             std::to_string(i) + ";";
    }
    Sql(f.db, sql);
    f.ExpectTampered("entry 11 was removed from the log (later entries were renumbered)");
  }
  SECTION("last row deleted") {
    Sql(f.db, "DELETE FROM audit_entries WHERE idx = 19");
    f.ExpectTampered("entry 19 was removed from the end of the log");
  }
}

TEST_CASE("verify-db names reordered entries", "[audit][tamper]") {
  TamperFixture f;
  Sql(f.db,
      "UPDATE audit_entries SET idx = 1000000 WHERE idx = 3;"
      "UPDATE audit_entries SET idx = 3 WHERE idx = 9;"
      "UPDATE audit_entries SET idx = 9 WHERE idx = 1000000;");
  f.ExpectTampered("entries 3 and 9 were reordered");
}

TEST_CASE("verify-db names an inserted entry", "[audit][tamper]") {
  TamperFixture f;
  SECTION("in the middle, later rows shifted up") {
    std::string sql;
    for (uint32_t i = kEntries; i-- > 5;) {
      sql += "UPDATE audit_entries SET idx = " + std::to_string(i + 1) + " WHERE idx = " +
             std::to_string(i) + ";";
    }
    sql += "INSERT INTO audit_entries (idx, entry) VALUES (5, x'" + EntryHex(777) + "');";
    Sql(f.db, sql);
    f.ExpectTampered("an entry was inserted at index 5");
  }
  SECTION("after the end") {
    Sql(f.db, "INSERT INTO audit_entries (idx, entry) VALUES (20, x'" + EntryHex(777) + "')");
    f.ExpectTampered("an entry was appended at index 20 outside the log's Merkle tree");
  }
}

TEST_CASE("verify-db sees through a rewritten Merkle tree and forged heads", "[audit][tamper]") {
  TamperFixture f;
  SECTION("entry and its leaf node both rewritten") {
    Sql(f.db, "UPDATE audit_entries SET entry = x'" + EntryHex(900) +
                  "' WHERE idx = 12; UPDATE audit_nodes SET hash = zeroblob(32) WHERE level = 0 AND "
                  "idx = 12");
    ToolResult r = f.VerifyDb();
    INFO(Describe(r));
    CHECK(r.code == 3);
    CHECK(r.out.find("the stored Merkle tree does not reproduce the signed roots") != std::string::npos);
    // Without a trustworthy tree, the signed heads of size 8 and 20 bound it.
    CHECK(r.out.find("an entry below index 20 and at or above 8 was changed") != std::string::npos);
  }
  SECTION("a stored head's signature altered") {
    Sql(f.db, "UPDATE audit_tree_heads SET signature = zeroblob(64) WHERE seq = 1");
    f.ExpectTampered("stored tree head #1 (size 8) is not signed by the server key");
  }
  SECTION("the wrong server key") {
    ToolResult r = RunAudit({"verify-db", "--db", f.db, "--server-key", std::string(64, 'a')});
    CHECK(r.code == 3);
    CHECK(r.out.find("is not signed by the server key") != std::string::npos);
  }
}

TEST_CASE("verify-db usage errors exit 2 and bad keys exit 1", "[audit][tamper]") {
  TamperFixture f;
  CHECK(RunAudit({"verify-db", "--db", f.db}).code == 2);
  CHECK(RunAudit({"verify-db", "--db", f.dir.file("missing.db"), "--server-key", f.key}).code == 2);
  ToolResult bad_key = RunAudit({"verify-db", "--db", f.db, "--server-key", "abcd"});
  CHECK(bad_key.code == 1);
  CHECK(bad_key.err.find("64 hex digits") != std::string::npos);
  ToolResult help = RunAudit({"verify-db", "--help"});
  CHECK(help.code == 0);
  CHECK(help.out.find("--server-key") != std::string::npos);
}

}  // namespace
}  // namespace trygg::audit_testing
