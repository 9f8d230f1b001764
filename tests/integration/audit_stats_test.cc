// SPDX-License-Identifier: Apache-2.0

// `trygg-audit stats` on a database filled with synthetic referral entries:
// every format shows the same numbers, small cells are suppressed, and the
// HTML report is one self-contained file.
#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <regex>
#include <set>
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

  ToolResult table = RunAudit({"stats", "--db", db, "--now-ms", now, "--lang", "en"});
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
  // A median over 10 answers could show, but 3 of them (the declined) are
  // hidden, and a time over a group whose size is hidden describes it.
  CHECK(summary["time to answer, median (hours)"] == "x");

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

// The summary of a JSON report, measure -> value.
std::map<std::string, nlohmann::json> JsonSummary(const std::string& out) {
  std::map<std::string, nlohmann::json> summary;
  const nlohmann::json report = nlohmann::json::parse(out);
  for (const auto& t : report["tables"]) {
    if (t["id"] != "summary") continue;
    for (const auto& row : t["rows"]) summary[row[0].get<std::string>()] = row[1];
  }
  return summary;
}

TEST_CASE("stats --from and --to count the referrals created on those days in Europe/Stockholm",
          "[audit][stats]") {
  TempDir dir;
  const std::string db = dir.file("trygg.db");
  FillReferrals(db);
  auto referrals = [&](std::vector<std::string> period) {
    std::vector<std::string> args = {"stats", "--db", db, "--format", "json", "--threshold", "1"};
    args.insert(args.end(), period.begin(), period.end());
    ToolResult r = RunAudit(args, {"TZ=UTC"});  // the period's zone does not follow TZ
    INFO(Describe(r));
    REQUIRE(r.code == 0);
    return JsonSummary(r.out)["referrals"];
  };
  // Shelter referrals at 00:00 UTC = 01:00 in Stockholm on 1 to 10 January,
  // and two more on 1 January.
  CHECK(referrals({}) == 12);
  CHECK(referrals({"--from", "2026-01-05", "--to", "2026-01-06"}) == 2);
  CHECK(referrals({"--to", "2026-01-04"}) == 6);
  CHECK(referrals({"--from", "2026-01-10"}) == 1);
  CHECK(referrals({"--from", "2026-01-11"}) == 0);
  CHECK(referrals({"--from", "2026-01-03", "--to", "2026-01-03"}) == 1);
  // Midnight in Stockholm is 23:00 UTC the day before: a referral at
  // 2026-01-05T00:00Z belongs to 5 January, not 4 January.
  CHECK(referrals({"--from", "2026-01-04", "--to", "2026-01-04"}) == 1);

  ToolResult json = RunAudit({"stats", "--db", db, "--format", "json", "--from", "2026-01-05", "--to", "2026-01-06"});
  nlohmann::json parsed = nlohmann::json::parse(json.out);
  CHECK(parsed["from"] == "2026-01-05");
  CHECK(parsed["to"] == "2026-01-06");
  CHECK(parsed["from_ms"] == kJan2026 + 4 * kDay - kHour);  // 00:00 CET
  CHECK(parsed["to_ms_exclusive"] == kJan2026 + 6 * kDay - kHour);
  CHECK(parsed["time_zone"] == "Europe/Stockholm");
}

TEST_CASE("stats refuses a bad period with a usage error", "[audit][stats]") {
  TempDir dir;
  const std::string db = dir.file("trygg.db");
  FillReferrals(db);
  for (const std::vector<std::string>& period :
       std::vector<std::vector<std::string>>{{"--from", "2026-13-01"},
                                             {"--from", "2026-02-30"},
                                             {"--to", "01/02/2026"},
                                             {"--to", "2026-1-5"},
                                             {"--from", "yesterday"},
                                             {"--from=----------"},
                                             {"--to", "2026-0--101"},
                                             {"--from", "2026-02-01", "--to", "2026-01-31"}}) {
    std::vector<std::string> args = {"stats", "--db", db};
    args.insert(args.end(), period.begin(), period.end());
    ToolResult r = RunAudit(args);
    INFO(Describe(r));
    CHECK(r.code == 2);
    CHECK(r.out.empty());
    CHECK((r.err.find("must be a date YYYY-MM-DD") != std::string::npos ||
           r.err.find("is after --to") != std::string::npos));
  }
  CHECK(RunAudit({"stats", "--db", db, "--lang", "de"}).code == 2);
  CHECK(RunAudit({"stats", "--db", db, "--from", "2026-02-28", "--to", "2026-02-28"}).code == 0);
}

TEST_CASE("stats speaks Swedish by default and English on request, with times in the reader's zone",
          "[audit][stats]") {
  TempDir dir;
  const std::string db = dir.file("trygg.db");
  FillReferrals(db);
  // 2026-02-10T00:00Z: 01:00 in Stockholm, the default zone (issue 18, item 8:
  // no raw milliseconds, and the zone named).
  const std::string now = std::to_string(kJan2026 + 40 * kDay);
  const std::string sv_path = dir.file("sv.html"), en_path = dir.file("en.html");
  REQUIRE(RunAudit({"stats", "--db", db, "--now-ms", now, "--format", "html", "-o", sv_path}, {"TZ="}).code == 0);
  REQUIRE(RunAudit({"stats", "--db", db, "--now-ms", now, "--format", "html", "--lang", "en", "-o", en_path},
                   {"TZ=Asia/Tokyo"})
              .code == 0);
  const std::string sv = ReadFile(sv_path), en = ReadFile(en_path);
  CHECK(sv.find("<html lang=\"sv\">") != std::string::npos);
  CHECK(sv.find("Skapad 2026-02-10 01:00 CET") != std::string::npos);
  CHECK(sv.find(now) == std::string::npos);
  CHECK(en.find("<html lang=\"en\">") != std::string::npos);
  CHECK(en.find("Generated 2026-02-10 09:00 JST") != std::string::npos);
  // The months stay Stockholm's whatever the reader's zone.
  CHECK(en.find("Months in the time zone Europe/Stockholm") != std::string::npos);
  // The pair chart's label: two short ids and an arrow, not one run of hex.
  CHECK(en.find(">01000000 → 02000000</text>") != std::string::npos);
  CHECK(en.find(">01000000 → 03000000</text>") != std::string::npos);

  ToolResult table = RunAudit({"stats", "--db", db, "--now-ms", now});
  CHECK(table.out.find("Remisser per organisationspar") != std::string::npos);
  ToolResult english = RunAudit({"stats", "--db", db, "--now-ms", now, "--lang", "en"});
  CHECK(english.out.find("Referrals per organisation pair") != std::string::npos);
  // CSV keys stay English in every language, so scripts read one format.
  ToolResult csv = RunAudit({"stats", "--db", db, "--now-ms", now, "--format", "csv", "--lang", "sv"});
  CHECK(csv.out.find("summary,referrals,value,12\n") != std::string::npos);
}

// The long options a text names.
std::set<std::string> Flags(const std::string& text) {
  std::set<std::string> flags;
  const std::regex flag(R"((^|[^a-z-])(--[a-z][a-z-]*))");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), flag); it != std::sregex_iterator(); ++it) {
    flags.insert((*it)[2]);
  }
  return flags;
}

TEST_CASE("docs/audit.md documents every stats flag, and stats has every flag its synopsis names",
          "[audit][stats][docs]") {
  ToolResult help = RunAudit({"stats", "--help"});
  REQUIRE(help.code == 0);
  const std::string doc = ReadFile(std::string(std::getenv("TRYGG_SOURCE_DIR")) + "/docs/audit.md");
  REQUIRE(!doc.empty());
  std::set<std::string> in_help = Flags(help.out);
  in_help.erase("--help");
  CHECK(in_help.count("--from") == 1);
  const std::set<std::string> in_doc = Flags(doc);
  for (const std::string& flag : in_help) {
    INFO("in trygg-audit stats --help but not in docs/audit.md: " << flag);
    CHECK(in_doc.count(flag) == 1);
  }
  const size_t begin = doc.find("- `trygg-audit stats [");
  REQUIRE(begin != std::string::npos);
  const std::string synopsis = doc.substr(begin, doc.find("`:", begin) - begin);
  for (const std::string& flag : Flags(synopsis)) {
    INFO("in docs/audit.md's stats synopsis but not in trygg-audit stats --help: " << flag);
    CHECK(in_help.count(flag) == 1);
  }
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
