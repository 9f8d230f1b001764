// SPDX-License-Identifier: Apache-2.0

// Renders coordinator statistics (statistics.h) for people and programs: an
// aligned text table, CSV (one tidy table: table,key,measure,value), JSON, or
// one self-contained HTML page (inline CSS and SVG charts, no script and no
// external resource, printable, so it can be mailed, archived or printed as
// one file).
//
// Suppression has already happened in ComputeStatistics; these functions only
// show cells, so every format hides the same numbers: a hidden cell reads
// kSuppressedMarker everywhere and a chart draws it as a grey stub marked the
// same, never as a bar of any length.
//
// Text and HTML are in the report's language (Swedish by default, or
// English): titles, columns, measures and the names of services, reasons and
// outcomes are translated; organisation names are shown as given. CSV and
// JSON keep the stable English keys in every language, so scripts read one
// format.
//
// Organisation names are untrusted text (statistics.h cleans them of control
// characters): HTML escapes them and isolates their direction (<bdi>); CSV
// quotes them and puts an apostrophe before a leading = + - @ (or tab or
// carriage return) so a spreadsheet never reads a name as a formula; JSON
// escapes them.
//
// Pure functions; thread-safe.
#ifndef TRYGG_SERVER_AUDIT_STATISTICS_REPORT_H_
#define TRYGG_SERVER_AUDIT_STATISTICS_REPORT_H_

#include <string>
#include <string_view>

#include "server/audit/statistics.h"

namespace trygg::audit {

enum class ReportLanguage { kSwedish, kEnglish };

struct ReportOptions {
  ReportLanguage language = ReportLanguage::kSwedish;
  // When the report was made, as its reader reads time ("2026-02-10 01:00
  // CET"); the caller formats it in the reader's zone.
  std::string generated_at;
  // The period as the coordinator gave it (YYYY-MM-DD, both inclusive), or
  // empty for no bound.
  std::string from_date;
  std::string to_date;
};

std::string RenderText(const StatisticsReport& report, const ReportOptions& options);
std::string RenderCsv(const StatisticsReport& report);
std::string RenderJson(const StatisticsReport& report, const ReportOptions& options);
std::string RenderHtml(const StatisticsReport& report, const ReportOptions& options);

// A CSV field: quoted when it holds a comma, quote or line break, and with an
// apostrophe in front when a spreadsheet would read it as a formula.
std::string CsvField(std::string_view field);

}  // namespace trygg::audit

#endif  // TRYGG_SERVER_AUDIT_STATISTICS_REPORT_H_
