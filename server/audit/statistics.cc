#include "server/audit/statistics.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <map>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "trygg/bytes.h"
#include "trygg/names.h"

namespace trygg::audit {
namespace {

// A code as the report names it: its kebab-case name (trygg/names.h), or
// "unspecified" / "unknown" for a number with no name.
std::string CodeLabel(NamedEnum kind, uint8_t code) {
  if (code == 0) return "unspecified";
  const std::string_view name = FormatName(kind, code);
  return name.empty() ? "unknown" : std::string(name);
}

enum class State { kSent, kAccepted, kDeclined, kWithdrawn, kExpired, kCompleted, kClosed };

struct Referral {
  AuditId from{};
  AuditId to{};
  uint8_t service = 0;
  bool vital = false;
  int64_t created_ms = 0;
  int64_t due_ms = 0;
  std::optional<int64_t> answered_ms;
  State state = State::kSent;
  uint8_t decline_reason = 0;
  uint8_t outcome = 0;
  bool accepted = false;
  bool declined = false;
};

// UTC calendar month "YYYY-MM" of a Unix millisecond time (H. Hinnant's
// civil_from_days), so the report does not depend on the local time zone.
std::string Month(int64_t ms) {
  int64_t days = ms / 86'400'000;
  if (ms % 86'400'000 < 0) --days;
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const int64_t doe = days - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return absl::StrFormat("%04d-%02d", year, month);
}

// Every hidden cell reads the same (kSuppressedMarker), whether it is small
// or hidden alongside a small one: distinct markers would tell which hidden
// cells are at least `threshold`, and that narrows the small ones down.
class CellMaker {
 public:
  explicit CellMaker(int64_t threshold) : threshold_(threshold) {}

  StatCell Count(int64_t c) const {
    StatCell cell;
    cell.type = StatCell::Type::kCount;
    cell.count = c;
    return cell;
  }
  static StatCell Hidden() {
    StatCell cell;
    cell.type = StatCell::Type::kSuppressed;
    cell.text = std::string(kSuppressedMarker);
    return cell;
  }
  // A value derived from `basis` referrals: hidden when the basis is small,
  // since a rate or median over two referrals describes two people, or when
  // `parts_hidden` (a count it is computed from is hidden).
  StatCell Number(double value, int64_t basis, bool parts_hidden = false) const {
    if (basis == 0) return Text("-");
    if (basis < threshold_ || parts_hidden) return Hidden();
    StatCell cell;
    cell.type = StatCell::Type::kNumber;
    cell.number = value;
    return cell;
  }
  static StatCell Text(std::string text) {
    StatCell cell;
    cell.text = std::move(text);
    return cell;
  }

 private:
  int64_t threshold_;
};

// Suppression over the whole report (docs/audit.md, "Coordinator
// statistics"). Every count is a cell. A reader who sees the shown cells also
// knows how the counts relate: a group of cells adds up to a total shown
// elsewhere (the per-pair, per-service and per-month columns of referrals,
// accepted and declined to the summary's counts; the decline reasons to the
// declined count), and some counts bound others (referrals >= accepted +
// declined in every row; in the summary, referrals >= accepted + declined +
// awaiting, awaiting >= overdue, accepted >= in progress + outcomes, referrals
// >= vital interests). Zeros are always shown, so a reader also knows every
// hidden cell is at least 1.
//
// Small counts (1 to threshold - 1) are hidden first. Then each hidden small
// count must have a witness: another assignment of whole numbers to the
// hidden cells, at least 1 each, that satisfies every relation and gives the
// count another value, so that a reader cannot tell which is the real one.
// The witness is looked for near the real counts: change the count by one,
// then repair each relation that breaks by moving another hidden cell of it
// by one, depth first, a few steps deep. When no witness turns up, the
// smallest shown non-zero cell of a relation the count is in is hidden too,
// and the counts are checked again until all have witnesses. Not finding a
// witness only ever hides more. A reader may still narrow a hidden count down
// ("1 or 2"); what it cannot do is work one out exactly.
class Suppression {
 public:
  explicit Suppression(int64_t threshold) : threshold_(threshold) {}

  size_t Count(int64_t value) {
    const bool small = value > 0 && value < threshold_;
    cells_.push_back(Cell{value, small, small, {}});
    return cells_.size() - 1;
  }
  // total = sum of parts.
  void SumOf(size_t total, const std::vector<size_t>& parts) { Relate(total, parts, true); }
  // whole >= sum of parts.
  void AtLeast(size_t whole, const std::vector<size_t>& parts) { Relate(whole, parts, false); }

  void Protect() {
    for (bool hid_more = true; hid_more;) {
      hid_more = false;
      for (size_t c = 0; c < cells_.size(); ++c) {
        if (!cells_[c].small || HasWitness(c)) continue;
        std::optional<size_t> next;
        for (const auto& [rel, coef] : cells_[c].relations) {
          for (const auto& [other, other_coef] : relations_[rel].terms) Consider(other, next);
        }
        if (!next) {  // nothing near it left to hide: hide every count
          for (Cell& cell : cells_) cell.hidden = cell.hidden || cell.value > 0;
          return;
        }
        cells_[*next].hidden = true;
        hid_more = true;
      }
    }
  }

  bool hidden(size_t cell) const { return cells_[cell].hidden; }
  int64_t value(size_t cell) const { return cells_[cell].value; }

 private:
  static constexpr int kMaxSteps = 8;          // cells changed in one witness
  static constexpr int kSearchBudget = 20'000;  // nodes per count
  struct Cell {
    int64_t value;
    bool hidden;
    bool small;
    std::vector<std::pair<size_t, int>> relations;  // relation, +1 as whole or -1 as part
  };
  // sum of coef * value over the terms: == 0, or >= 0.
  struct Relation {
    std::vector<std::pair<size_t, int>> terms;
    bool equal;
  };
  using Changes = std::vector<std::pair<size_t, int64_t>>;  // cell, its change

  void Relate(size_t whole, const std::vector<size_t>& parts, bool equal) {
    Relation r{{{whole, 1}}, equal};
    for (size_t p : parts) r.terms.push_back({p, -1});
    for (const auto& [c, coef] : r.terms) cells_[c].relations.push_back({relations_.size(), coef});
    relations_.push_back(std::move(r));
  }

  void Consider(size_t c, std::optional<size_t>& best) const {
    if (!cells_[c].hidden && cells_[c].value > 0 && (!best || cells_[c].value < cells_[*best].value)) best = c;
  }

  int64_t Changed(const Changes& changes, size_t c) const {
    for (const auto& [cell, delta] : changes) {
      if (cell == c) return delta;
    }
    return 0;
  }

  // The relation's sum with `changes` applied.
  int64_t Slack(size_t rel, const Changes& changes) const {
    int64_t sum = 0;
    for (const auto& [c, coef] : relations_[rel].terms) sum += coef * (cells_[c].value + Changed(changes, c));
    return sum;
  }
  bool Holds(size_t rel, const Changes& changes) const {
    const int64_t slack = Slack(rel, changes);
    return relations_[rel].equal ? slack == 0 : slack >= 0;
  }

  bool HasWitness(size_t c) const {
    for (const int64_t delta : {int64_t{1}, int64_t{-1}}) {
      if (cells_[c].value + delta < 1) continue;
      Changes changes{{c, delta}};
      int budget = kSearchBudget;
      if (Repair(changes, budget)) return true;
    }
    return false;
  }

  // Depth first: find a relation the changes break and move one more hidden
  // cell of it by one in the direction that mends it.
  bool Repair(Changes& changes, int& budget) const {
    std::optional<size_t> broken;
    for (size_t i = 0; i < changes.size() && !broken; ++i) {
      for (const auto& [rel, coef] : cells_[changes[i].first].relations) {
        if (!Holds(rel, changes)) {
          broken = rel;
          break;
        }
      }
    }
    if (!broken) return true;
    if (static_cast<int>(changes.size()) >= kMaxSteps || --budget < 0) return false;
    const int64_t slack = Slack(*broken, changes);
    for (const auto& [cell, coef] : relations_[*broken].terms) {
      if (!cells_[cell].hidden || Changed(changes, cell) != 0) continue;
      // Moves the sum towards 0: down when it is over (== only), up when under.
      const int64_t delta = slack > 0 ? -coef : coef;
      if (cells_[cell].value + delta < 1) continue;
      changes.push_back({cell, delta});
      if (Repair(changes, budget)) return true;
      changes.pop_back();
      if (budget < 0) return false;
    }
    return false;
  }

  int64_t threshold_;
  std::vector<Cell> cells_;
  std::vector<Relation> relations_;
};

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Nearest-rank percentile: the smallest value with at least p% at or below.
double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  return v[std::max<size_t>(rank, 1) - 1];
}

// --- The steps of ComputeStatistics -----------------------------------------

// Each referral as the entries leave it. Log order is the order the server
// applied the changes, so the first answer seen is the answer.
std::map<AuditId, Referral> ReplayReferrals(absl::Span<const AuditEvent> events) {
  std::map<AuditId, Referral> referrals;
  for (const AuditEvent& e : events) {
    if (e.kind == AuditEventKind::kReferralCreated) {
      Referral& r = referrals[e.referral_id];
      r.from = e.actor_org_id;
      r.to = e.counterpart_org_id;
      r.service = e.service;
      r.vital = e.vital_interests();
      r.created_ms = e.time_ms;
      r.due_ms = e.due_ms;
      continue;
    }
    auto it = referrals.find(e.referral_id);
    if (it == referrals.end()) continue;
    Referral& r = it->second;
    switch (e.kind) {
      case AuditEventKind::kReferralAccepted:
        if (!r.answered_ms) r.answered_ms = e.time_ms;
        r.accepted = true;
        r.state = State::kAccepted;
        break;
      case AuditEventKind::kReferralDeclined:
        if (!r.answered_ms) r.answered_ms = e.time_ms;
        r.declined = true;
        r.decline_reason = e.code;
        r.state = State::kDeclined;
        break;
      case AuditEventKind::kReferralWithdrawn:
        r.state = State::kWithdrawn;
        break;
      case AuditEventKind::kReferralExpired:
        r.state = State::kExpired;
        break;
      case AuditEventKind::kReferralCompleted:
        r.state = State::kCompleted;
        r.outcome = e.code;
        break;
      case AuditEventKind::kReferralClosed:
        r.state = State::kClosed;
        if (e.code != 0) r.outcome = e.code;
        break;
      default:
        break;
    }
  }
  return referrals;
}

// Referrals, and how many of them were accepted and declined.
struct Tally {
  int64_t referrals = 0;
  int64_t accepted = 0;
  int64_t declined = 0;
};

// Every count the report shows, before suppression.
struct ReferralCounts {
  Tally total;
  int64_t vital = 0;
  int64_t awaiting = 0;
  int64_t overdue = 0;
  int64_t in_progress = 0;
  std::vector<double> answer_hours;
  std::map<std::pair<AuditId, AuditId>, Tally> by_pair;
  std::map<uint8_t, Tally> by_service;
  std::map<std::string, Tally> by_month;
  std::map<uint8_t, int64_t> declines;
  std::map<uint8_t, int64_t> outcomes;
};

ReferralCounts CountReferrals(const std::map<AuditId, Referral>& referrals, int64_t now_ms) {
  ReferralCounts counts;
  for (const auto& [id, r] : referrals) {
    const Tally delta{1, r.accepted ? 1 : 0, r.declined ? 1 : 0};
    for (Tally* t : {&counts.total, &counts.by_pair[{r.from, r.to}], &counts.by_service[r.service],
                     &counts.by_month[Month(r.created_ms)]}) {
      t->referrals += delta.referrals;
      t->accepted += delta.accepted;
      t->declined += delta.declined;
    }
    if (r.vital) ++counts.vital;
    if (r.state == State::kSent) {
      ++counts.awaiting;
      if (r.due_ms > 0 && now_ms > r.due_ms) ++counts.overdue;
    }
    if (r.state == State::kAccepted) ++counts.in_progress;
    if (r.answered_ms) counts.answer_hours.push_back(static_cast<double>(*r.answered_ms - r.created_ms) / 3.6e6);
    if (r.declined) ++counts.declines[r.decline_reason];
    if (r.outcome != 0) ++counts.outcomes[r.outcome];
  }
  return counts;
}

// The Suppression cells of one Tally.
struct TallyCells {
  size_t referrals, accepted, declined;
};

// The Suppression cell of every count, in the order of ReferralCounts' maps.
struct CountCells {
  TallyCells total;
  size_t vital, awaiting, overdue, in_progress;
  std::vector<TallyCells> pairs, services, months;
  std::vector<size_t> declines, outcomes;
};

// Registers every count with `suppress`, and how a reader knows they relate
// (the class comment of Suppression lists the relations).
CountCells RelateCounts(const ReferralCounts& counts, Suppression& suppress) {
  auto tally_cells = [&](const Tally& t) {
    TallyCells row{suppress.Count(t.referrals), suppress.Count(t.accepted), suppress.Count(t.declined)};
    suppress.AtLeast(row.referrals, {row.accepted, row.declined});
    return row;
  };
  CountCells ids;
  ids.total = tally_cells(counts.total);
  ids.vital = suppress.Count(counts.vital);
  ids.awaiting = suppress.Count(counts.awaiting);
  ids.overdue = suppress.Count(counts.overdue);
  ids.in_progress = suppress.Count(counts.in_progress);
  suppress.AtLeast(ids.total.referrals, {ids.total.accepted, ids.total.declined, ids.awaiting});
  suppress.AtLeast(ids.awaiting, {ids.overdue});
  suppress.AtLeast(ids.total.referrals, {ids.vital});
  for (const auto& [key, t] : counts.by_pair) ids.pairs.push_back(tally_cells(t));
  for (const auto& [key, t] : counts.by_service) ids.services.push_back(tally_cells(t));
  for (const auto& [key, t] : counts.by_month) ids.months.push_back(tally_cells(t));
  for (const std::vector<TallyCells>* rows : {&ids.pairs, &ids.services, &ids.months}) {
    std::vector<size_t> referrals_column, accepted_column, declined_column;
    for (const TallyCells& row : *rows) {
      referrals_column.push_back(row.referrals);
      accepted_column.push_back(row.accepted);
      declined_column.push_back(row.declined);
    }
    suppress.SumOf(ids.total.referrals, referrals_column);
    suppress.SumOf(ids.total.accepted, accepted_column);
    suppress.SumOf(ids.total.declined, declined_column);
  }
  for (const auto& [code, c] : counts.declines) ids.declines.push_back(suppress.Count(c));
  for (const auto& [code, c] : counts.outcomes) ids.outcomes.push_back(suppress.Count(c));
  suppress.SumOf(ids.total.declined, ids.declines);
  // An outcome is recorded only on a referral that was accepted and has
  // since ended, so those still in progress are not among them.
  std::vector<size_t> after_acceptance = ids.outcomes;
  after_acceptance.push_back(ids.in_progress);
  suppress.AtLeast(ids.total.accepted, after_acceptance);
  return ids;
}

// Table cells after suppression: a count as shown or hidden, and rates over
// shown counts only.
class ShownCells {
 public:
  ShownCells(const Suppression& suppress, const CellMaker& cells) : suppress_(suppress), cells_(cells) {}

  StatCell Count(size_t cell) const {
    return suppress_.hidden(cell) ? CellMaker::Hidden() : cells_.Count(suppress_.value(cell));
  }
  // Accepted as a percentage of the answered (accepted or declined).
  StatCell AcceptanceRate(const Tally& t, const TallyCells& row) const {
    const int64_t answered = t.accepted + t.declined;
    return cells_.Number(answered == 0 ? 0 : 100.0 * static_cast<double>(t.accepted) / answered, answered,
                         suppress_.hidden(row.accepted) || suppress_.hidden(row.declined));
  }
  StatCell Number(double value, int64_t basis) const { return cells_.Number(value, basis); }

 private:
  const Suppression& suppress_;
  CellMaker cells_;
};

StatTable SummaryTable(const ReferralCounts& counts, const CountCells& ids, const ShownCells& shown) {
  StatTable summary{"summary", "Summary", {"measure", "value"}, {}, -1};
  auto add = [&](std::string name, StatCell value) {
    summary.rows.push_back({CellMaker::Text(std::move(name)), std::move(value)});
  };
  const int64_t answered = static_cast<int64_t>(counts.answer_hours.size());
  add("referrals", shown.Count(ids.total.referrals));
  add("vital-interests referrals", shown.Count(ids.vital));
  add("accepted", shown.Count(ids.total.accepted));
  add("declined", shown.Count(ids.total.declined));
  add("acceptance rate (%)", shown.AcceptanceRate(counts.total, ids.total));
  add("awaiting an answer", shown.Count(ids.awaiting));
  add("overdue (past answer-by)", shown.Count(ids.overdue));
  add("accepted, in progress", shown.Count(ids.in_progress));
  add("time to answer, median (hours)", shown.Number(answered ? Median(counts.answer_hours) : 0, answered));
  add("time to answer, 90th percentile (hours)",
      shown.Number(answered ? Percentile(counts.answer_hours, 90) : 0, answered));
  return summary;
}

StatTable PairTable(const ReferralCounts& counts, const CountCells& ids, const ShownCells& shown) {
  StatTable pairs{"by_pair", "Referrals per organisation pair",
                  {"from organisation", "to organisation", "referrals", "accepted", "declined"}, {}, 2};
  size_t i = 0;
  for (const auto& [key, t] : counts.by_pair) {
    const TallyCells& row = ids.pairs[i++];
    pairs.rows.push_back({CellMaker::Text(HexEncode(key.first)), CellMaker::Text(HexEncode(key.second)),
                          shown.Count(row.referrals), shown.Count(row.accepted), shown.Count(row.declined)});
  }
  return pairs;
}

StatTable ServiceTable(const ReferralCounts& counts, const CountCells& ids, const ShownCells& shown) {
  StatTable services{"by_service", "Referrals per service",
                     {"service", "referrals", "accepted", "declined", "acceptance rate (%)"}, {}, 1};
  size_t i = 0;
  for (const auto& [service, t] : counts.by_service) {
    const TallyCells& row = ids.services[i++];
    services.rows.push_back({CellMaker::Text(CodeLabel(NamedEnum::kServiceCategory, service)),
                             shown.Count(row.referrals), shown.Count(row.accepted), shown.Count(row.declined),
                             shown.AcceptanceRate(t, row)});
  }
  return services;
}

StatTable MonthTable(const ReferralCounts& counts, const CountCells& ids, const ShownCells& shown) {
  StatTable months{"by_month", "Referrals per month (UTC)", {"month", "referrals", "accepted", "declined"}, {}, 1};
  size_t i = 0;
  for (const auto& [month, t] : counts.by_month) {
    const TallyCells& row = ids.months[i++];
    months.rows.push_back(
        {CellMaker::Text(month), shown.Count(row.referrals), shown.Count(row.accepted), shown.Count(row.declined)});
  }
  return months;
}

StatTable DeclineReasonTable(const ReferralCounts& counts, const CountCells& ids, const ShownCells& shown) {
  StatTable reasons{"decline_reasons", "Decline reasons", {"reason", "referrals"}, {}, 1};
  size_t i = 0;
  for (const auto& [code, c] : counts.declines) {
    reasons.rows.push_back({CellMaker::Text(CodeLabel(NamedEnum::kDeclineReason, code)), shown.Count(ids.declines[i++])});
  }
  return reasons;
}

StatTable OutcomeTable(const ReferralCounts& counts, const CountCells& ids, const ShownCells& shown) {
  StatTable outcome_table{"outcomes", "Outcomes", {"outcome", "referrals"}, {}, 1};
  size_t i = 0;
  for (const auto& [code, c] : counts.outcomes) {
    outcome_table.rows.push_back({CellMaker::Text(CodeLabel(NamedEnum::kOutcome, code)), shown.Count(ids.outcomes[i++])});
  }
  return outcome_table;
}

}  // namespace

std::string StatCell::Display() const {
  switch (type) {
    case Type::kText:
    case Type::kSuppressed:
      return text;
    case Type::kCount:
      return absl::StrCat(count);
    case Type::kNumber:
      return absl::StrFormat("%.1f", number);
  }
  return text;
}

StatisticsReport ComputeStatistics(absl::Span<const AuditEvent> events,
                                   const StatisticsOptions& options) {
  const int64_t threshold = std::max<int64_t>(1, options.threshold);
  StatisticsReport report;
  report.threshold = threshold;
  report.generated_at_ms = options.now_ms;
  report.entries_read = events.size();

  const ReferralCounts counts = CountReferrals(ReplayReferrals(events), options.now_ms);
  Suppression suppress(threshold);
  const CountCells ids = RelateCounts(counts, suppress);
  suppress.Protect();
  const ShownCells shown(suppress, CellMaker(threshold));

  report.tables.push_back(SummaryTable(counts, ids, shown));
  report.tables.push_back(PairTable(counts, ids, shown));
  report.tables.push_back(ServiceTable(counts, ids, shown));
  report.tables.push_back(MonthTable(counts, ids, shown));
  report.tables.push_back(DeclineReasonTable(counts, ids, shown));
  report.tables.push_back(OutcomeTable(counts, ids, shown));
  return report;
}

}  // namespace trygg::audit
