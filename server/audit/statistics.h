// SPDX-License-Identifier: Apache-2.0

// Coordinator statistics computed from audit entries alone: referrals per
// organisation pair, per service, per receiving organisation and per month;
// acceptance and decline reasons; withdrawn, expired, completed and closed
// referrals; time to answer (median, 90th percentile), also per service and
// per receiving organisation; referrals awaiting an answer, overdue and in
// progress; outcomes; vital-interests referrals; and the flow from the
// requesting organisation's category (the service category it lists in the
// directory most, each listing once: organisation certificates carry no
// category) to the service requested.
//
// Organisations read by the names the caller passes (which must come from
// verified root-signed certificates), else by the first 8 hex digits of their
// id; the full id stays in StatCell::id. Names are untrusted text: control
// and bidirectional-override characters and invalid UTF-8 are replaced here,
// and each renderer escapes for its format.
//
// Small cells are suppressed here, once, so every output format shows the
// same thing. A count c with 0 < c < threshold is hidden (primary
// suppression), and so is a rate computed from fewer than `threshold`
// referrals, and a time to answer without `threshold` answers at or below it
// and as many at or above it (a median needs 2 * threshold - 1 answers, a
// 90th percentile 10 * (threshold - 1)). Then more cells are hidden until no
// hidden small count can be worked out exactly from the cells shown and the
// relations a reader knows between them (sums, and bounds such as referrals
// >= accepted + declined); statistics.cc says how. Every hidden cell reads
// kSuppressedMarker and carries no number at all, so no renderer can leak it.
//
// Services, decline reasons and outcomes are named as trygg/names.h names
// them (kebab-case: "legal-advice", "no-capacity"); a code with no name reads
// "unspecified" (0) or "unknown".
//
// Pure functions of their inputs; thread-safe. Entries that are not about
// referrals are ignored; a referral whose creation is not in the entries
// (e.g. a partial range) is ignored too.
#ifndef TRYGG_SERVER_AUDIT_STATISTICS_H_
#define TRYGG_SERVER_AUDIT_STATISTICS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "absl/types/span.h"
#include "trygg/audit/audit_entry.h"

namespace trygg::audit {

// How every hidden cell reads, small or hidden alongside a small one.
inline constexpr std::string_view kSuppressedMarker = "x";

struct StatisticsOptions {
  // Counts below this are suppressed (at least 1; 1 disables suppression).
  int64_t threshold = 5;
  // "Now" for overdue referrals, Unix milliseconds.
  int64_t now_ms = 0;
  // The period: only referrals created at or after `from_ms` and before
  // `to_ms` are counted, with everything the entries say happened to them
  // since (also after `to_ms`). Unset: no bound.
  std::optional<int64_t> from_ms;
  std::optional<int64_t> to_ms;
  // Organisation names by id, from verified certificates. Others read as the
  // short hex id; two organisations with one name get their short id added.
  std::map<AuditId, std::string> org_names;
  // Calendar months are those of this zone.
  absl::TimeZone zone = absl::UTCTimeZone();
};

// One table cell: a shown number, a suppressed number, or text.
struct StatCell {
  enum class Type { kText, kCount, kSuppressed, kNumber };
  Type type = Type::kText;
  std::string text;   // kText; for kSuppressed kSuppressedMarker
  std::string id;     // kText naming an organisation: its full id in hex
  int64_t count = 0;  // kCount
  double number = 0;  // kNumber (a rate or a duration in hours)

  // How the cell reads in a table: the text, the count, or the number.
  std::string Display() const;
};

// Titles, columns and the measures of the summary are English; renderers
// translate them by these exact strings (statistics_report.h).
struct StatTable {
  std::string id;      // stable machine name, e.g. "by_service"
  std::string title;   // for people
  std::vector<std::string> columns;
  std::vector<std::vector<StatCell>> rows;
  // Index of the column that holds the main count, for bar charts; -1 none.
  int chart_column = -1;
  // Columns charted month over month (by_month only): a trend chart each.
  std::vector<int> trend_columns;
  // The first key_columns cells of a row name it (text); the rest are its
  // measures (counts, numbers, or "-" where there is nothing to measure).
  int key_columns = 1;
};

struct StatisticsReport {
  int64_t threshold = 5;
  int64_t generated_at_ms = 0;
  uint64_t entries_read = 0;
  std::optional<int64_t> from_ms;  // the period, as in StatisticsOptions
  std::optional<int64_t> to_ms;
  std::string zone_name = "UTC";   // of the months
  std::vector<StatTable> tables;
};

StatisticsReport ComputeStatistics(absl::Span<const AuditEvent> events,
                                   const StatisticsOptions& options);

}  // namespace trygg::audit

#endif  // TRYGG_SERVER_AUDIT_STATISTICS_H_
