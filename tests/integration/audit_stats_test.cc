// `trygg-audit stats` on a database filled with synthetic referral entries:
// every format shows the same numbers, small cells are suppressed, and the
// HTML report is one self-contained file.
#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "audit_test_util.h"
#include "testing/temp_dir.h"

namespace trygg::audit_testing {
namespace {

using testing::TempDir;

constexpr int64_t kDay = 86'400'000;
constexpr int64_t kHour = 3'600'000;
constexpr int64_t kJan2026 = 1767225600000;

void FillReferrals(const std::string& db) {
  LogBuilder builder(db);
  uint8_t next = 1;
  auto refer = [&](uint8_t from, uint8_t to, uint8_t service, int64_t at, int64_t due, bool vital) {
    audit::AuditEvent e;
    e.kind = audit::AuditEventKind::kReferralCreated;
    e.time_ms = at;
    e.actor_org_id[0] = from;
    e.counterpart_org_id[0] = to;
    e.referral_id[0] = next++;
    e.service = service;
    e.due_ms = due;
    e.flags = vital ? audit::kFlagVitalInterests : 0;
    builder.Record(e);
    return e.referral_id;
  };
  auto answer = [&](audit::AuditId referral, audit::AuditEventKind kind, int64_t at, uint8_t code) {
    audit::AuditEvent e;
    e.kind = kind;
    e.time_ms = at;
    e.referral_id = referral;
    e.code = code;
    builder.Record(e);
  };
  // Org 1 -> org 2: 10 shelter referrals, 7 accepted within 2 h, 3 declined.
  for (int i = 0; i < 10; ++i) {
    audit::AuditId r = refer(1, 2, 1, kJan2026 + i * kDay, 0, false);
    answer(r, i < 7 ? audit::AuditEventKind::kReferralAccepted : audit::AuditEventKind::kReferralDeclined,
           kJan2026 + i * kDay + 2 * kHour, i < 7 ? 0 : 1);
  }
  // Org 1 -> org 3: 2 counselling referrals, unanswered and overdue, one vital interests.
  refer(1, 3, 4, kJan2026, kJan2026 + kDay, true);
  refer(1, 3, 4, kJan2026, kJan2026 + kDay, false);
  builder.Sign();
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST_CASE("stats renders table, CSV, JSON and HTML with suppression", "[audit][stats]") {
  TempDir dir;
  const std::string db = dir.file("trygg.db");
  FillReferrals(db);
  const std::string now = std::to_string(kJan2026 + 40 * kDay);

  ToolResult table = RunAudit({"stats", "--db", db, "--now-ms", now});
  INFO(Describe(table));
  REQUIRE(table.code == 0);
  CHECK(table.out.find("Referrals per organisation pair") != std::string::npos);
  CHECK(table.out.find(" x ") != std::string::npos);
  CHECK(table.out.find("\"x\" marks a number not shown") != std::string::npos);

  ToolResult json_run = RunAudit({"stats", "--db", db, "--now-ms", now, "--format", "json"});
  REQUIRE(json_run.code == 0);
  nlohmann::json json = nlohmann::json::parse(json_run.out);
  CHECK(json["threshold"] == 5);
  std::map<std::string, nlohmann::json> summary;
  for (const auto& t : json["tables"]) {
    if (t["id"] == "summary") {
      for (const auto& row : t["rows"]) summary[row[0].get<std::string>()] = row[1];
    }
    if (t["id"] == "by_pair") {
      REQUIRE(t["rows"].size() == 2);
      CHECK(t["rows"][1][2] == "x");  // the 2 referrals to org 3
      CHECK(t["rows"][0][2] == "x");  // 12 in all minus 10 would give them away
    }
  }
  CHECK(summary["referrals"] == 12);
  CHECK(json["suppressed_marker"] == "x");
  CHECK(summary["declined"] == "x");
  // 7 accepted may show: with the declined and awaiting counts hidden, the 3
  // declined could as well be 1, 2 or 4. The rate would give them away.
  CHECK(summary["accepted"] == 7);
  CHECK(summary["overdue (past answer-by)"] == "x");
  CHECK(summary["vital-interests referrals"] == "x");
  CHECK(summary["acceptance rate (%)"] == "x");
  CHECK(summary["time to answer, median (hours)"] == 2.0);

  ToolResult csv = RunAudit({"stats", "--db", db, "--now-ms", now, "--format", "csv"});
  REQUIRE(csv.code == 0);
  CHECK(csv.out.rfind("table,key,measure,value\n", 0) == 0);
  CHECK(csv.out.find("summary,referrals,value,12\n") != std::string::npos);
  CHECK(csv.out.find("summary,declined,value,x\n") != std::string::npos);

  // With suppression off, the hidden cells appear.
  ToolResult all = RunAudit({"stats", "--db", db, "--now-ms", now, "--format", "csv", "--threshold", "1"});
  CHECK(all.out.find("summary,declined,value,3\n") != std::string::npos);
  CHECK(all.out.find("summary,overdue (past answer-by),value,2\n") != std::string::npos);
  CHECK(all.out.find("summary,accepted,value,7\n") != std::string::npos);

  const std::string html_path = dir.file("report.html");
  ToolResult html = RunAudit({"stats", "--db", db, "--now-ms", now, "--format", "html", "-o", html_path});
  REQUIRE(html.code == 0);
  const std::string page = ReadFile(html_path);
  CHECK(page.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK(page.find("<svg") != std::string::npos);
  CHECK(page.find("<style>") != std::string::npos);
  CHECK(page.find("<td class=\"s\">x</td>") != std::string::npos);
  // Self-contained: nothing is fetched from anywhere.
  for (const char* external : {"src=", "href=", "<link", "@import", "url("}) {
    INFO(external);
    CHECK(page.find(external) == std::string::npos);
  }
}

TEST_CASE("stats refuses bad arguments with usage errors", "[audit][stats]") {
  TempDir dir;
  const std::string db = dir.file("trygg.db");
  FillReferrals(db);
  CHECK(RunAudit({"stats", "--db", db, "--server", "127.0.0.1:1"}).code == 2);
  CHECK(RunAudit({"stats", "--db", db, "--format", "pdf"}).code == 2);
  CHECK(RunAudit({"stats", "--db", db, "--threshold", "0"}).code == 2);
  CHECK(RunAudit({"stats", "--help"}).code == 0);
  // Without --db it asks a server, signed in with a device's key store:
  // with none configured, it says so and checks nothing.
  const std::vector<std::string> empty_home = {"HOME=" + dir.path(), "XDG_CONFIG_HOME=" + dir.path()};
  ToolResult no_keystore = RunAudit({"stats", "--root-key", std::string(64, 'a')}, empty_home);
  CHECK(no_keystore.code == 1);
  CHECK(no_keystore.err.find("no key store at") != std::string::npos);
  ToolResult no_root = RunAudit({"stats"}, empty_home);
  CHECK(no_root.code == 1);
  CHECK(no_root.err.find("no pinned platform root key") != std::string::npos);
}

TEST_CASE("stats --db checks the entries against the stored heads when given the server key",
          "[audit][stats]") {
  TempDir dir;
  const std::string db = dir.file("trygg.db");
  FillReferrals(db);
  const std::string key = LogBuilder(db).KeyHex();
  ToolResult unchecked = RunAudit({"stats", "--db", db, "--format", "json"});
  CHECK(unchecked.code == 0);
  CHECK(unchecked.err.find("not checked against a signed tree head") != std::string::npos);
  ToolResult checked = RunAudit({"stats", "--db", db, "--format", "json", "--server-key", key});
  INFO(Describe(checked));
  CHECK(checked.code == 0);
  CHECK(checked.err.find("not checked") == std::string::npos);

  // Entries appended after the last signed head are not counted.
  {
    LogBuilder more(db);
    audit::AuditEvent e;
    e.kind = audit::AuditEventKind::kReferralCreated;
    e.time_ms = kJan2026;
    e.referral_id[0] = 200;
    for (int i = 0; i < 7; ++i) {
      e.referral_id[1] = static_cast<uint8_t>(i);
      more.Record(e);
    }
  }
  ToolResult unsigned_tail = RunAudit({"stats", "--db", db, "--format", "json", "--server-key", key});
  INFO(Describe(unsigned_tail));
  CHECK(unsigned_tail.code == 0);
  CHECK(unsigned_tail.err.find("left out 7 entries after the last signed tree head") != std::string::npos);
  CHECK(nlohmann::json::parse(unsigned_tail.out)["entries_read"] ==
        nlohmann::json::parse(checked.out)["entries_read"]);

  ToolResult other_key = RunAudit({"stats", "--db", db, "--server-key", std::string(64, 'b')});
  CHECK(other_key.code == 3);
  CHECK(other_key.out.find("no tree head signed by server key") != std::string::npos);
  Sql(db, "UPDATE audit_entries SET entry = x'" + EntryHex(900) + "' WHERE idx = 3");
  ToolResult edited = RunAudit({"stats", "--db", db, "--server-key", key});
  CHECK(edited.code == 3);
  CHECK(edited.out.find("run `trygg-audit verify-db` for details") != std::string::npos);
}

}  // namespace
}  // namespace trygg::audit_testing
