#include "tools/trygg-audit/report.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cli_support.h"

namespace trygg::audit_tool {
namespace {

using audit::StatCell;
using audit::StatisticsReport;
using audit::StatTable;

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string Html(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

// The text cells of a row name it; the others are its measures.
std::vector<std::string> RowKeyParts(const StatTable& table, const std::vector<StatCell>& row) {
  std::vector<std::string> parts;
  for (size_t i = 0; i < row.size() && i < table.columns.size(); ++i) {
    if (row[i].type == StatCell::Type::kText) parts.push_back(row[i].text);
  }
  return parts;
}

std::string RowKey(const StatTable& table, const std::vector<StatCell>& row) {
  return absl::StrJoin(RowKeyParts(table, row), " -> ");
}

// A chart label fits its column by shortening each part on its own, so an
// organisation pair keeps its arrow: "1a2b3c4d… → 5e6f7a8b…".
std::string ChartLabel(const StatTable& table, const std::vector<StatCell>& row) {
  std::vector<std::string> parts = RowKeyParts(table, row);
  const size_t room = parts.size() > 1 ? 12 : 36;
  for (std::string& part : parts) {
    if (part.size() > room) part = part.substr(0, room - 3) + "…";
  }
  return absl::StrJoin(parts, " → ");
}

std::string Footer(const StatisticsReport& report) {
  return absl::StrCat(report.entries_read, " audit entries read. \"", std::string(audit::kSuppressedMarker),
                      "\" marks a number not shown to protect the people behind it: a count from 1 to ",
                      report.threshold - 1, ", a rate or time over fewer than ", report.threshold,
                      " referrals, or a number hidden with one of those so that it cannot be worked out "
                      "from the others.");
}

std::string BarChart(const StatTable& table) {
  if (table.chart_column < 0 || table.rows.empty()) return "";
  const size_t col = static_cast<size_t>(table.chart_column);
  int64_t max = 1;
  for (const auto& row : table.rows) {
    if (row[col].type == StatCell::Type::kCount) max = std::max(max, row[col].count);
  }
  const int bar_height = 22, label_width = 260, chart_width = 420;
  const int height = static_cast<int>(table.rows.size()) * bar_height + 10;
  std::string svg = absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" width=\"%d\" height=\"%d\" "
      "aria-label=\"%s\">",
      label_width + chart_width + 60, height, Html(table.title));
  int y = 5;
  for (const auto& row : table.rows) {
    const StatCell& cell = row[col];
    absl::StrAppendFormat(&svg,
                          "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" class=\"l\"><title>%s</title>%s</text>",
                          label_width - 6, y + 15, Html(RowKey(table, row)), Html(ChartLabel(table, row)));
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
                            label_width, y + 3, bar_height - 6, label_width + 17, y + 15,
                            Html(cell.Display()));
    }
    y += bar_height;
  }
  return svg + "</svg>";
}

}  // namespace

std::string RenderText(const StatisticsReport& report) {
  std::string out;
  for (const StatTable& table : report.tables) {
    std::vector<size_t> width(table.columns.size());
    for (size_t i = 0; i < table.columns.size(); ++i) width[i] = table.columns[i].size();
    for (const auto& row : table.rows) {
      for (size_t i = 0; i < row.size() && i < width.size(); ++i) {
        width[i] = std::max(width[i], row[i].Display().size());
      }
    }
    absl::StrAppend(&out, table.title, "\n");
    auto line = [&](const std::vector<std::string>& cells) {
      std::string text;
      for (size_t i = 0; i < cells.size(); ++i) {
        absl::StrAppend(&text, i == 0 ? "  " : "  ", cells[i],
                        std::string(width[i] - std::min(width[i], cells[i].size()), ' '));
      }
      while (!text.empty() && text.back() == ' ') text.pop_back();
      absl::StrAppend(&out, text, "\n");
    };
    line(table.columns);
    if (table.rows.empty()) absl::StrAppend(&out, "  (none)\n");
    for (const auto& row : table.rows) {
      std::vector<std::string> cells;
      for (const StatCell& cell : row) cells.push_back(cell.Display());
      line(cells);
    }
    absl::StrAppend(&out, "\n");
  }
  absl::StrAppend(&out, Footer(report), "\n");
  return out;
}

std::string RenderCsv(const StatisticsReport& report) {
  std::string out = "table,key,measure,value\n";
  for (const StatTable& table : report.tables) {
    for (const auto& row : table.rows) {
      const std::string key = RowKey(table, row);
      for (size_t i = 0; i < row.size() && i < table.columns.size(); ++i) {
        if (row[i].type == StatCell::Type::kText) continue;
        absl::StrAppend(&out, table.id, ",", CsvField(key), ",", CsvField(table.columns[i]), ",",
                        CsvField(row[i].Display()), "\n");
      }
    }
  }
  return out;
}

std::string RenderJson(const StatisticsReport& report) {
  nlohmann::json tables = nlohmann::json::array();
  for (const StatTable& table : report.tables) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& row : table.rows) {
      nlohmann::json cells = nlohmann::json::array();
      for (const StatCell& cell : row) {
        switch (cell.type) {
          case StatCell::Type::kCount: cells.push_back(cell.count); break;
          case StatCell::Type::kNumber: cells.push_back(std::round(cell.number * 10) / 10); break;
          default: cells.push_back(cell.text);
        }
      }
      rows.push_back(cells);
    }
    tables.push_back({{"id", table.id}, {"title", table.title}, {"columns", table.columns}, {"rows", rows}});
  }
  nlohmann::json json = {{"threshold", report.threshold},
                         {"generated_at_ms", report.generated_at_ms},
                         {"entries_read", report.entries_read},
                         {"suppressed_marker", std::string(audit::kSuppressedMarker)},
                         {"tables", tables}};
  return json.dump(2) + "\n";
}

std::string RenderHtml(const StatisticsReport& report) {
  std::string out = R"(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Trygg referral statistics</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:60rem;color:#1d2430;padding:0 1rem}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #d5dbe3}
table{border-collapse:collapse;margin:.5rem 0}th,td{padding:.25rem .75rem;border-bottom:1px solid #e8ecf1;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}td.s{text-align:right;color:#7a8494;font-style:italic}
code{font-size:.85em}.note{color:#55606e;font-size:.9rem}
svg .b{fill:#3b6ea5}svg .s{fill:#c3c9d1}svg text{font-size:12px;fill:#1d2430}
@media print{body{margin:0}}
</style></head><body>
<h1>Trygg referral statistics</h1>
)";
  absl::StrAppend(&out, "<p class=\"note\">Generated ", Html(cli::FormatLocalTime(report.generated_at_ms)),
                  " from the audit log. ", Html(Footer(report)),
                  " Organisations are shown by their id.</p>\n");
  for (const StatTable& table : report.tables) {
    absl::StrAppend(&out, "<h2>", Html(table.title), "</h2>\n");
    if (table.rows.empty()) {
      absl::StrAppend(&out, "<p class=\"note\">None.</p>\n");
      continue;
    }
    absl::StrAppend(&out, BarChart(table), "\n<table><thead><tr>");
    for (const std::string& column : table.columns) absl::StrAppend(&out, "<th>", Html(column), "</th>");
    absl::StrAppend(&out, "</tr></thead><tbody>\n");
    for (const auto& row : table.rows) {
      absl::StrAppend(&out, "<tr>");
      for (const StatCell& cell : row) {
        const char* cls = cell.type == StatCell::Type::kText         ? ""
                          : cell.type == StatCell::Type::kSuppressed ? " class=\"s\""
                                                                     : " class=\"n\"";
        const bool id = cell.type == StatCell::Type::kText && cell.text.size() == 32;
        absl::StrAppend(&out, "<td", cls, ">", id ? "<code>" : "", Html(cell.Display()),
                        id ? "</code>" : "", "</td>");
      }
      absl::StrAppend(&out, "</tr>\n");
    }
    absl::StrAppend(&out, "</tbody></table>\n");
  }
  absl::StrAppend(&out, "</body></html>\n");
  return out;
}

}  // namespace trygg::audit_tool
