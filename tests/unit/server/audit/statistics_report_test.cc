// SPDX-License-Identifier: Apache-2.0

#include "server/audit/statistics_report.h"

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "trygg/bytes.h"

namespace trygg::audit {
namespace {

constexpr int64_t kDayMs = 86'400'000;
constexpr int64_t kHourMs = 3'600'000;
constexpr int64_t kJan2026Ms = 1767225600000;  // 2026-01-01T00:00:00Z

AuditId OrgId(uint8_t a) {
  AuditId id{};
  id[0] = a;
  return id;
}

// `n` referrals from `from` to `to`, created on `day` of January 2026, the
// first `accepted` accepted after 2 hours and the rest declined.
void Referrals(std::vector<AuditEvent>& log, AuditId from, AuditId to, int n, int accepted, int day,
               int64_t month_offset = 0) {
  for (int i = 0; i < n; ++i) {
    AuditEvent e;
    e.kind = AuditEventKind::kReferralCreated;
    e.time_ms = kJan2026Ms + day * kDayMs + month_offset;
    e.actor_org_id = from;
    e.counterpart_org_id = to;
    e.referral_id = OrgId(200);
    e.referral_id[1] = static_cast<uint8_t>(log.size());
    e.referral_id[2] = static_cast<uint8_t>(log.size() >> 8);
    e.service = 1;
    log.push_back(e);
    AuditEvent answer = e;
    answer.kind = i < accepted ? AuditEventKind::kReferralAccepted : AuditEventKind::kReferralDeclined;
    answer.time_ms += 2 * kHourMs;
    answer.code = i < accepted ? 0 : 1;
    log.push_back(answer);
  }
}

size_t Occurrences(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

const std::string kHostile = "<script>alert(1)</script> \"Jour\" & 'Co'";
const std::string kFormula = "=HYPERLINK(\"http://evil\",\"x\")";

StatisticsReport HostileReport(int64_t threshold) {
  std::vector<AuditEvent> log;
  Referrals(log, OrgId(1), OrgId(2), 12, 8, 0);
  Referrals(log, OrgId(3), OrgId(2), 2, 1, 3);
  Referrals(log, OrgId(1), OrgId(3), 6, 6, 40);  // February
  StatisticsOptions options;
  options.threshold = threshold;
  options.now_ms = kJan2026Ms + 60 * kDayMs;
  options.org_names[OrgId(1)] = kHostile;
  options.org_names[OrgId(2)] = kFormula;
  options.org_names[OrgId(3)] = "Kvinnojouren Malmö Centrum";
  return ComputeStatistics(log, options);
}

int SuppressedCells(const StatisticsReport& r) {
  int n = 0;
  for (const StatTable& t : r.tables) {
    for (const auto& row : t.rows) {
      for (const StatCell& c : row) n += c.type == StatCell::Type::kSuppressed;
    }
  }
  return n;
}

TEST_CASE("CSV fields are quoted and never start a formula", "[audit][stats][report]") {
  CHECK(CsvField("plain") == "plain");
  CHECK(CsvField("a,b") == "\"a,b\"");
  CHECK(CsvField("say \"hi\"") == "\"say \"\"hi\"\"\"");
  CHECK(CsvField("two\nlines") == "\"two\nlines\"");
  CHECK(CsvField("=1+1") == "'=1+1");
  CHECK(CsvField("+46 8") == "'+46 8");
  CHECK(CsvField("-2") == "'-2");
  CHECK(CsvField("@SUM(A1)") == "'@SUM(A1)");
  CHECK(CsvField("\tx") == "'\tx");
  CHECK(CsvField("=A1,B1") == "\"'=A1,B1\"");
  CHECK(CsvField("Jour=bra") == "Jour=bra");
}

TEST_CASE("Organisation names are escaped in every format", "[audit][stats][report]") {
  const StatisticsReport r = HostileReport(1);
  ReportOptions options;
  options.generated_at = "2026-03-02 01:00 CET";

  const std::string html = RenderHtml(r, options);
  CHECK(html.find("<script") == std::string::npos);
  CHECK(html.find("&lt;script&gt;alert(1)&lt;/script&gt; &quot;Jour&quot; &amp; &#39;Co&#39;") != std::string::npos);
  CHECK(html.find("<bdi>=HYPERLINK(&quot;http://evil&quot;,&quot;x&quot;)</bdi>") != std::string::npos);
  // The full id is on the cell, for a reader who needs it.
  CHECK(html.find("title=\"" + HexEncode(OrgId(2)) + "\"") != std::string::npos);

  const std::string csv = RenderCsv(r);
  // The key "<from> -> <to>" of the pair 2 -> ... does not exist; pairs into
  // org 2 start with the sender's name. The receiver table's key is the
  // formula name alone: guarded and quoted.
  CHECK(csv.find("by_receiver,\"'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")\",referrals,14\n") != std::string::npos);
  for (size_t line = 0, next; line < csv.size(); line = next + 1) {
    next = csv.find('\n', line);
    const std::string row = csv.substr(line, next - line);
    const size_t key = row.find(',');
    INFO(row);
    // Every key field starts with a safe character (or a quote, then one).
    const char first = row[key + 1] == '"' ? row[key + 2] : row[key + 1];
    CHECK(std::string("=+-@").find(first) == std::string::npos);
  }

  const nlohmann::json json = nlohmann::json::parse(RenderJson(r, options));
  bool found = false;
  for (const auto& t : json["tables"]) {
    if (t["id"] != "by_pair") continue;
    for (const auto& row : t["rows"]) {
      if (row[0]["org_id"] == HexEncode(OrgId(1))) {
        CHECK(row[0]["name"] == kHostile);
        found = true;
      }
    }
  }
  CHECK(found);
}

TEST_CASE("The chart label of an organisation pair keeps both names and the arrow", "[audit][stats][report]") {
  // issue 18, item 8: the two ids ran together.
  const StatisticsReport r = HostileReport(1);
  ReportOptions options;
  options.language = ReportLanguage::kEnglish;
  const std::string html = RenderHtml(r, options);
  // Each part shortened on its own, never inside a character.
  CHECK(html.find(">Kvinnojouren Ma… → =HYPERLINK(&quot;htt…</text>") != std::string::npos);
  CHECK(html.find("<title>Kvinnojouren Malmö Centrum -&gt; =HYPERLINK(&quot;http://evil&quot;,&quot;x&quot;)</title>") !=
        std::string::npos);
  // Unnamed organisations read as the start of their id, on both sides.
  std::vector<AuditEvent> log;
  Referrals(log, OrgId(0xab), OrgId(0xcd), 5, 5, 0);
  StatisticsOptions stats;
  stats.threshold = 1;
  const std::string unnamed = RenderHtml(ComputeStatistics(log, stats), options);
  CHECK(unnamed.find(">ab000000 → cd000000</text>") != std::string::npos);
}

TEST_CASE("The HTML report is Swedish by default, English on request, printable and self-contained",
          "[audit][stats][report]") {
  const StatisticsReport r = HostileReport(5);
  ReportOptions options;
  options.generated_at = "2026-03-02 01:00 CET";
  options.from_date = "2026-01-01";
  options.to_date = "2026-02-28";
  const std::string sv = RenderHtml(r, options);
  CHECK(sv.find("<html lang=\"sv\">") != std::string::npos);
  CHECK(sv.find("<h2>Sammanfattning</h2>") != std::string::npos);
  CHECK(sv.find("<h2>Remisser per mottagande organisation</h2>") != std::string::npos);
  CHECK(sv.find("<h2>Flöde från remitterande kategori till insats</h2>") != std::string::npos);
  CHECK(sv.find("<th>svarstid, 90:e percentil (timmar)</th>") != std::string::npos);
  CHECK(sv.find("<td>skyddat boende</td>") != std::string::npos);
  CHECK(sv.find("Period: 2026-01-01 – 2026-02-28") != std::string::npos);
  CHECK(sv.find("Skapad 2026-03-02 01:00 CET") != std::string::npos);
  options.language = ReportLanguage::kEnglish;
  const std::string en = RenderHtml(r, options);
  CHECK(en.find("<html lang=\"en\">") != std::string::npos);
  CHECK(en.find("<h2>Summary</h2>") != std::string::npos);
  CHECK(en.find("<td>shelter</td>") != std::string::npos);
  CHECK(en.find("Sammanfattning") == std::string::npos);
  for (const std::string& page : {sv, en}) {
    CHECK(page.find("@media print") != std::string::npos);
    // A trend chart per monthly column: referrals, accepted, declined, withdrawn, expired.
    CHECK(Occurrences(page, "class=\"trend\"") == 5);
    for (const char* external : {"<script", "src=", "href=", "<link", "@import", "url(", "<iframe", "<object"}) {
      INFO(external);
      CHECK(page.find(external) == std::string::npos);
    }
  }
  // Every English label the statistics make has Swedish.
  for (const StatTable& t : r.tables) {
    for (const std::string& column : t.columns) {
      INFO(column);
      CHECK((column == "organisation" || sv.find("<th>" + column + "</th>") == std::string::npos));
    }
  }
}

TEST_CASE("Every format hides the same cells", "[audit][stats][report]") {
  const StatisticsReport r = HostileReport(5);
  const int hidden = SuppressedCells(r);
  REQUIRE(hidden > 0);
  ReportOptions options;
  const std::string csv = RenderCsv(r);
  CHECK(static_cast<int>(Occurrences(csv, ",x\n")) == hidden);
  const std::string json = RenderJson(r, options);
  CHECK(static_cast<int>(Occurrences(json, "\"x\"")) == hidden + 1);  // and "suppressed_marker": "x"
  const std::string html = RenderHtml(r, options);
  CHECK(static_cast<int>(Occurrences(html, "<td class=\"s\">x</td>")) == hidden);
  // A chart draws a hidden cell as a grey stub marked x, never as a bar.
  int charted_hidden = 0;
  for (const StatTable& t : r.tables) {
    std::vector<int> charted = t.trend_columns;
    if (charted.empty() && t.chart_column >= 0) charted.push_back(t.chart_column);
    for (const auto& row : t.rows) {
      for (int col : charted) charted_hidden += row[static_cast<size_t>(col)].type == StatCell::Type::kSuppressed;
    }
  }
  CHECK(static_cast<int>(Occurrences(html, "class=\"s\"><title>") + Occurrences(html, "class=\"s\"/>")) ==
        charted_hidden);
  const std::string text = RenderText(r, options);
  CHECK(text.find("Sammanfattning") != std::string::npos);
}

}  // namespace
}  // namespace trygg::audit
