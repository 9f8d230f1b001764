// Renders coordinator statistics (server/audit/statistics.h) as an aligned
// text table, CSV (one tidy table: table,key,measure,value), JSON, or a
// self-contained HTML page (inline CSS and SVG bar charts, no external
// resource, so it can be mailed or archived as one file).
//
// Suppression has already happened in ComputeStatistics; these functions only
// show cells, so every format hides the same numbers.
// Pure functions; thread-safe.
#ifndef TRYGG_TOOLS_TRYGG_AUDIT_REPORT_H_
#define TRYGG_TOOLS_TRYGG_AUDIT_REPORT_H_

#include <string>

#include "server/audit/statistics.h"

namespace trygg::audit_tool {

std::string RenderText(const audit::StatisticsReport& report);
std::string RenderCsv(const audit::StatisticsReport& report);
std::string RenderJson(const audit::StatisticsReport& report);
std::string RenderHtml(const audit::StatisticsReport& report);

}  // namespace trygg::audit_tool

#endif  // TRYGG_TOOLS_TRYGG_AUDIT_REPORT_H_
