// SPDX-License-Identifier: Apache-2.0

#include "server/audit/statistics_report.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/substitute.h"
#include "absl/strings/str_join.h"

namespace trygg::audit {
namespace {

// Swedish for every English string the statistics and this file put before
// a reader. A string missing here is shown in English (and the unit test
// fails, so none is missing today).
const std::map<std::string_view, std::string_view>& Swedish() {
  static const auto* const kSwedish = new std::map<std::string_view, std::string_view>{
      // Tables.
      {"Summary", "Sammanfattning"},
      {"Referrals per organisation pair", "Remisser per organisationspar"},
      {"Referrals per receiving organisation", "Remisser per mottagande organisation"},
      {"Referrals per service", "Remisser per insats"},
      {"Flow from requesting category to service", "Flöde från remitterande kategori till insats"},
      {"Referrals per month", "Remisser per månad"},
      {"Decline reasons", "Skäl att tacka nej"},
      {"Outcomes", "Utfall"},
      // Columns and measures.
      {"measure", "mått"},
      {"value", "värde"},
      {"from organisation", "från organisation"},
      {"to organisation", "till organisation"},
      {"organisation", "organisation"},
      {"service", "insats"},
      {"month", "månad"},
      {"requesting category", "remitterande kategori"},
      {"reason", "skäl"},
      {"outcome", "utfall"},
      {"referrals", "remisser"},
      {"accepted", "accepterade"},
      {"declined", "nekade"},
      {"withdrawn", "återkallade"},
      {"expired", "förfallna utan svar"},
      {"overdue", "försenade"},
      {"completed", "slutförda"},
      {"closed", "stängda"},
      {"acceptance rate (%)", "andel accepterade (%)"},
      {"time to answer, median (hours)", "svarstid, median (timmar)"},
      {"time to answer, 90th percentile (hours)", "svarstid, 90:e percentil (timmar)"},
      {"vital-interests referrals", "remisser av vitalt intresse"},
      {"awaiting an answer", "väntar på svar"},
      {"overdue (past answer-by)", "försenade (svarstiden passerad)"},
      {"accepted, in progress", "accepterade, pågår"},
      // Services, reasons, outcomes, categories.
      {"shelter", "skyddat boende"},
      {"legal-advice", "juridisk rådgivning"},
      {"interpreting", "tolkning"},
      {"counselling", "samtalsstöd"},
      {"safe-return", "tryggt återvändande"},
      {"outreach", "uppsökande arbete"},
      {"healthcare", "hälso- och sjukvård"},
      {"employment-training", "arbete och utbildning"},
      {"other", "annat"},
      {"no listing", "ingen katalogpost"},
      {"unspecified", "ospecificerat"},
      {"unknown", "okänt"},
      {"no-capacity", "ingen plats"},
      {"outside-mandate", "utanför uppdraget"},
      {"not-eligible", "uppfyller inte kraven"},
      {"cannot-contact", "når inte personen"},
      {"survivor-declined", "personen tackade nej"},
      {"service-provided", "insatsen gavs"},
      {"partially-provided", "insatsen gavs delvis"},
      {"survivor-disengaged", "personen avbröt"},
      {"referred-onward", "remitterad vidare"},
  };
  return *kSwedish;
}

// The words of the page around the tables.
struct Words {
  const char* lang;
  const char* title;
  const char* generated;
  const char* period;
  const char* whole_log;
  const char* months_in;
  const char* none;
  const char* trend;
  const char* footer;  // absl::Substitute: $0 entries, $1 marker, $2 threshold - 1, $3 threshold
};

constexpr Words kSwedishWords = {
    "sv",
    "Trygg: statistik över remisser",
    "Skapad",
    "Period",
    "hela loggen",
    "Månader i tidszonen",
    "Inga.",
    "Utveckling per månad",
    "$0 granskningsposter lästa. \"$1\" markerar en siffra som inte visas för att skydda människorna "
    "bakom den: ett antal från 1 till $2, en andel eller tid över färre än $3 remisser eller över en "
    "grupp med en dold siffra, eller en siffra som döljs tillsammans med en sådan så att den inte kan "
    "räknas ut från de andra. Organisationer visas med namnet i deras rotsignerade certifikat, annars "
    "med början av deras id.",
};
constexpr Words kEnglishWords = {
    "en",
    "Trygg referral statistics",
    "Generated",
    "Period",
    "the whole log",
    "Months in the time zone",
    "None.",
    "Month over month",
    "$0 audit entries read. \"$1\" marks a number not shown to protect the people behind it: a count "
    "from 1 to $2, a rate or time over fewer than $3 referrals or over a group with a hidden count, or "
    "a number hidden with one of those so that it cannot be worked out from the others. Organisations "
    "are shown by the name in their root-signed certificate, else by the start of their id.",
};

const Words& WordsFor(ReportLanguage language) {
  return language == ReportLanguage::kSwedish ? kSwedishWords : kEnglishWords;
}

std::string Translate(ReportLanguage language, const std::string& english) {
  if (language == ReportLanguage::kEnglish) return english;
  const auto it = Swedish().find(english);
  return it == Swedish().end() ? english : std::string(it->second);
}

// A text cell as the reader reads it: organisation names as given, every
// other label translated.
std::string CellText(ReportLanguage language, const StatCell& cell) {
  if (cell.type == StatCell::Type::kText && cell.id.empty()) return Translate(language, cell.text);
  return cell.Display();
}

std::string Footer(const StatisticsReport& report, ReportLanguage language) {
  // Substitute, not StrFormat: the format is chosen at run time by language.
  return absl::Substitute(absl::string_view(WordsFor(language).footer), absl::StrCat(report.entries_read),
                          std::string(kSuppressedMarker), absl::StrCat(report.threshold - 1),
                          absl::StrCat(report.threshold));
}

std::string PeriodText(const StatisticsReport& report, const ReportOptions& options) {
  const Words& words = WordsFor(options.language);
  std::string period = options.from_date.empty() && options.to_date.empty()
                           ? words.whole_log
                           : absl::StrCat(options.from_date.empty() ? "…" : options.from_date, " – ",
                                          options.to_date.empty() ? "…" : options.to_date);
  return absl::StrCat(words.period, ": ", period, ". ", words.months_in, " ", report.zone_name, ".");
}

std::string Html(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

// The text cells of a row name it; the others are its measures.
std::vector<std::string> RowKeyParts(const StatTable& table, const std::vector<StatCell>& row,
                                     ReportLanguage language) {
  std::vector<std::string> parts;
  for (size_t i = 0; i < row.size() && i < static_cast<size_t>(table.key_columns); ++i) {
    parts.push_back(CellText(language, row[i]));
  }
  return parts;
}

std::string RowKey(const StatTable& table, const std::vector<StatCell>& row, ReportLanguage language) {
  return absl::StrJoin(RowKeyParts(table, row, language), " -> ");
}

// The first `room` characters of UTF-8 `s`, with "…" in place of the rest;
// never cuts a character in two.
std::string Shorten(const std::string& s, size_t room) {
  size_t chars = 0, cut = s.size();
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) continue;
    if (chars == room - 1) cut = i;
    if (++chars > room) return s.substr(0, cut) + "…";
  }
  return s;
}

// A chart label fits its column by shortening each part on its own, so an
// organisation pair keeps both names and its arrow: "Kvinnojoure… → Stadsmissi…".
std::string ChartLabel(const StatTable& table, const std::vector<StatCell>& row, ReportLanguage language) {
  std::vector<std::string> parts = RowKeyParts(table, row, language);
  const size_t room = parts.size() > 1 ? 16 : 36;
  for (std::string& part : parts) part = Shorten(part, room);
  return absl::StrJoin(parts, " → ");
}

std::string BarChart(const StatTable& table, ReportLanguage language) {
  if (table.chart_column < 0 || table.rows.empty()) return "";
  const size_t col = static_cast<size_t>(table.chart_column);
  int64_t max = 1;
  for (const auto& row : table.rows) {
    if (row[col].type == StatCell::Type::kCount) max = std::max(max, row[col].count);
  }
  const int bar_height = 22, label_width = 300, chart_width = 380;
  const int height = static_cast<int>(table.rows.size()) * bar_height + 10;
  std::string svg = absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" "
      "aria-label=\"%s\">",
      label_width + chart_width + 60, height, label_width + chart_width + 60, height,
      Html(Translate(language, table.title)));
  int y = 5;
  for (const auto& row : table.rows) {
    const StatCell& cell = row[col];
    absl::StrAppendFormat(&svg,
                          "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" class=\"l\"><title>%s</title>%s</text>",
                          label_width - 6, y + 15, Html(RowKey(table, row, language)),
                          Html(ChartLabel(table, row, language)));
    if (cell.type == StatCell::Type::kCount) {
      const int width = static_cast<int>(static_cast<double>(cell.count) / max * chart_width);
      absl::StrAppendFormat(&svg,
                            "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" class=\"b\"/>"
                            "<text x=\"%d\" y=\"%d\" class=\"v\">%d</text>",
                            label_width, y + 3, std::max(width, 1), bar_height - 6,
                            label_width + std::max(width, 1) + 5, y + 15, cell.count);
    } else {
      absl::StrAppendFormat(&svg,
                            "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"%d\" class=\"s\"/>"
                            "<text x=\"%d\" y=\"%d\" class=\"v\">%s</text>",
                            label_width, y + 3, bar_height - 6, label_width + 17, y + 15, Html(cell.Display()));
    }
    y += bar_height;
  }
  return svg + "</svg>";
}

// One column of a monthly table as columns over time, oldest first. A
// hidden month is a grey stub marked like a hidden cell.
std::string TrendChart(const StatTable& table, int column, ReportLanguage language) {
  const size_t col = static_cast<size_t>(column);
  int64_t max = 1;
  for (const auto& row : table.rows) {
    if (row[col].type == StatCell::Type::kCount) max = std::max(max, row[col].count);
  }
  const int plot_height = 120, top = 22, slot = 44, left = 10;
  const int width = left * 2 + slot * static_cast<int>(table.rows.size());
  const int height = top + plot_height + 36;
  const std::string name = Translate(language, table.columns[col]);
  std::string svg = absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" class=\"trend\" viewBox=\"0 0 %d %d\" width=\"%d\" "
      "height=\"%d\" aria-label=\"%s\"><text x=\"%d\" y=\"14\" class=\"t\">%s</text>"
      "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"a\"/>",
      width, height, width, height, Html(name), left, Html(name), left, top + plot_height, width - left,
      top + plot_height);
  int x = left;
  for (const auto& row : table.rows) {
    const StatCell& cell = row[col];
    const std::string month = row[0].Display();
    if (cell.type == StatCell::Type::kCount) {
      const int h = std::max(1, static_cast<int>(static_cast<double>(cell.count) / max * plot_height));
      absl::StrAppendFormat(&svg,
                            "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" class=\"b\"><title>%s: %d</title>"
                            "</rect><text x=\"%d\" y=\"%d\" text-anchor=\"middle\" class=\"v\">%d</text>",
                            x + 8, top + plot_height - h, slot - 16, h, Html(month), cell.count, x + slot / 2,
                            top + plot_height - h - 3, cell.count);
    } else {
      absl::StrAppendFormat(&svg,
                            "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"6\" class=\"s\"><title>%s: %s</title>"
                            "</rect><text x=\"%d\" y=\"%d\" text-anchor=\"middle\" class=\"v\">%s</text>",
                            x + 8, top + plot_height - 6, slot - 16, Html(month), Html(cell.Display()),
                            x + slot / 2, top + plot_height - 9, Html(cell.Display()));
    }
    absl::StrAppendFormat(&svg, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" class=\"m\">%s</text>", x + slot / 2,
                          top + plot_height + 14, Html(month.substr(2)));
    x += slot;
  }
  return svg + "</svg>";
}

}  // namespace

std::string CsvField(std::string_view field) {
  // A leading = + - @ tab or CR would start a spreadsheet formula. (Built by
  // appending: GCC 12 at -O3 warns falsely about inserting at the front.)
  const bool formula = !field.empty() && std::string_view("=+-@\t\r").find(field[0]) != std::string_view::npos;
  std::string s;
  s.reserve(field.size() + 1);
  if (formula) s.push_back('\'');
  s.append(field);
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string RenderText(const StatisticsReport& report, const ReportOptions& options) {
  const ReportLanguage language = options.language;
  std::string out = absl::StrCat(PeriodText(report, options), "\n\n");
  for (const StatTable& table : report.tables) {
    std::vector<std::string> columns;
    for (const std::string& c : table.columns) columns.push_back(Translate(language, c));
    std::vector<std::vector<std::string>> rows;
    for (const auto& row : table.rows) {
      std::vector<std::string> cells;
      for (const StatCell& cell : row) cells.push_back(CellText(language, cell));
      rows.push_back(std::move(cells));
    }
    // Widths in characters, not bytes, so "månad" lines up.
    auto length = [](const std::string& s) {
      return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) {
        return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
      }));
    };
    std::vector<size_t> width(columns.size());
    for (size_t i = 0; i < columns.size(); ++i) width[i] = length(columns[i]);
    for (const auto& row : rows) {
      for (size_t i = 0; i < row.size() && i < width.size(); ++i) width[i] = std::max(width[i], length(row[i]));
    }
    absl::StrAppend(&out, Translate(language, table.title), "\n");
    auto line = [&](const std::vector<std::string>& cells) {
      std::string text;
      for (size_t i = 0; i < cells.size(); ++i) {
        absl::StrAppend(&text, "  ", cells[i], std::string(width[i] - std::min(width[i], length(cells[i])), ' '));
      }
      while (!text.empty() && text.back() == ' ') text.pop_back();
      absl::StrAppend(&out, text, "\n");
    };
    line(columns);
    if (rows.empty()) absl::StrAppend(&out, "  ", WordsFor(language).none, "\n");
    for (const auto& row : rows) line(row);
    absl::StrAppend(&out, "\n");
  }
  absl::StrAppend(&out, Footer(report, language), "\n");
  return out;
}

std::string RenderCsv(const StatisticsReport& report) {
  std::string out = "table,key,measure,value\n";
  for (const StatTable& table : report.tables) {
    for (const auto& row : table.rows) {
      const std::string key = RowKey(table, row, ReportLanguage::kEnglish);
      for (size_t i = static_cast<size_t>(table.key_columns); i < row.size() && i < table.columns.size(); ++i) {
        // Values are ours (a count, a number, the marker or "-"): never a formula.
        absl::StrAppend(&out, table.id, ",", CsvField(key), ",", CsvField(table.columns[i]), ",", row[i].Display(),
                        "\n");
      }
    }
  }
  return out;
}

std::string RenderJson(const StatisticsReport& report, const ReportOptions& options) {
  nlohmann::json tables = nlohmann::json::array();
  for (const StatTable& table : report.tables) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& row : table.rows) {
      nlohmann::json cells = nlohmann::json::array();
      for (const StatCell& cell : row) {
        switch (cell.type) {
          case StatCell::Type::kCount: cells.push_back(cell.count); break;
          case StatCell::Type::kNumber: cells.push_back(std::round(cell.number * 10) / 10); break;
          default:
            if (cell.id.empty()) {
              cells.push_back(cell.text);
            } else {
              cells.push_back({{"org_id", cell.id}, {"name", cell.text}});
            }
        }
      }
      rows.push_back(cells);
    }
    tables.push_back({{"id", table.id}, {"title", table.title}, {"columns", table.columns}, {"rows", rows}});
  }
  nlohmann::json json = {{"threshold", report.threshold},
                         {"generated_at_ms", report.generated_at_ms},
                         {"entries_read", report.entries_read},
                         {"from", options.from_date.empty() ? nlohmann::json(nullptr) : nlohmann::json(options.from_date)},
                         {"to", options.to_date.empty() ? nlohmann::json(nullptr) : nlohmann::json(options.to_date)},
                         {"from_ms", report.from_ms ? nlohmann::json(*report.from_ms) : nlohmann::json(nullptr)},
                         {"to_ms_exclusive", report.to_ms ? nlohmann::json(*report.to_ms) : nlohmann::json(nullptr)},
                         {"time_zone", report.zone_name},
                         {"suppressed_marker", std::string(kSuppressedMarker)},
                         {"tables", tables}};
  // Names are cleaned to valid UTF-8 already; replace anything else rather
  // than throw.
  return json.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string RenderHtml(const StatisticsReport& report, const ReportOptions& options) {
  const ReportLanguage language = options.language;
  const Words& words = WordsFor(language);
  std::string out = absl::StrCat(R"(<!DOCTYPE html>
<html lang=")", words.lang, R"("><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>)", Html(words.title), R"(</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:60rem;color:#1d2430;padding:0 1rem}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #d5dbe3}
table{border-collapse:collapse;margin:.5rem 0}th,td{padding:.25rem .75rem;border-bottom:1px solid #e8ecf1;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}td.s{text-align:right;color:#7a8494;font-style:italic}
code{font-size:.85em}.note{color:#55606e;font-size:.9rem}svg{max-width:100%;height:auto}
svg .b{fill:#3b6ea5}svg .s{fill:#c3c9d1}svg text{font-size:12px;fill:#1d2430}svg .t{font-weight:600}
svg .m{font-size:10px;fill:#55606e}svg .a{stroke:#8a94a3;stroke-width:1}.trends{display:flex;flex-wrap:wrap;gap:1rem}
@page{size:A4;margin:15mm}
@media print{body{margin:0;max-width:none;font-size:10pt;color:#000}h2{break-after:avoid;page-break-after:avoid}
table,svg,.trends{break-inside:avoid;page-break-inside:avoid}svg .b{fill:#444}svg .s{fill:#bbb}td.s{color:#555}}
</style></head><body>
<h1>)", Html(words.title), "</h1>\n");
  absl::StrAppend(&out, "<p class=\"note\">", Html(PeriodText(report, options)), " ", words.generated, " ",
                  Html(options.generated_at), ".</p>\n<p class=\"note\">", Html(Footer(report, language)), "</p>\n");
  for (const StatTable& table : report.tables) {
    absl::StrAppend(&out, "<h2>", Html(Translate(language, table.title)), "</h2>\n");
    if (table.rows.empty()) {
      absl::StrAppend(&out, "<p class=\"note\">", words.none, "</p>\n");
      continue;
    }
    if (!table.trend_columns.empty()) {
      absl::StrAppend(&out, "<p class=\"note\">", words.trend, "</p>\n<div class=\"trends\">");
      for (int column : table.trend_columns) absl::StrAppend(&out, TrendChart(table, column, language));
      absl::StrAppend(&out, "</div>\n");
    } else {
      absl::StrAppend(&out, BarChart(table, language), "\n");
    }
    absl::StrAppend(&out, "<table><thead><tr>");
    for (const std::string& column : table.columns) {
      absl::StrAppend(&out, "<th>", Html(Translate(language, column)), "</th>");
    }
    absl::StrAppend(&out, "</tr></thead><tbody>\n");
    for (const auto& row : table.rows) {
      absl::StrAppend(&out, "<tr>");
      for (const StatCell& cell : row) {
        const char* cls = cell.type == StatCell::Type::kText         ? ""
                          : cell.type == StatCell::Type::kSuppressed ? " class=\"s\""
                                                                     : " class=\"n\"";
        if (!cell.id.empty()) {
          // An organisation: its name isolated, its full id on hover.
          absl::StrAppend(&out, "<td title=\"", Html(cell.id), "\"><bdi>", Html(cell.text), "</bdi></td>");
        } else {
          absl::StrAppend(&out, "<td", cls, ">", Html(CellText(language, cell)), "</td>");
        }
      }
      absl::StrAppend(&out, "</tr>\n");
    }
    absl::StrAppend(&out, "</tbody></table>\n");
  }
  absl::StrAppend(&out, "</body></html>\n");
  return out;
}

}  // namespace trygg::audit
