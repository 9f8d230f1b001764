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

namespace trygg::audit {
namespace {

constexpr std::string_view kServiceNames[] = {
    "unspecified", "shelter",     "legal_advice", "interpreting",       "counselling",
    "safe_return", "outreach",    "healthcare",   "employment_training", "other"};
constexpr std::string_view kDeclineNames[] = {
    "unspecified",    "no_capacity",        "outside_mandate", "not_eligible",
    "cannot_contact", "survivor_declined", "other"};
constexpr std::string_view kOutcomeNames[] = {
    "unspecified",         "service_provided", "partially_provided",
    "survivor_disengaged", "referred_onward",  "other"};

template <size_t N>
std::string_view NameOf(const std::string_view (&names)[N], uint8_t code) {
  return code < N ? names[code] : std::string_view("unknown");
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

std::string Hex(const AuditId& id) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : id) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

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

std::string_view ServiceName(uint8_t service) { return NameOf(kServiceNames, service); }
std::string_view DeclineReasonName(uint8_t code) { return NameOf(kDeclineNames, code); }
std::string_view OutcomeName(uint8_t code) { return NameOf(kOutcomeNames, code); }

StatisticsReport ComputeStatistics(absl::Span<const AuditEvent> events,
                                   const StatisticsOptions& options) {
  const int64_t threshold = std::max<int64_t>(1, options.threshold);
  const CellMaker cells(threshold);
  StatisticsReport report;
  report.threshold = threshold;
  report.generated_at_ms = options.now_ms;
  report.entries_read = events.size();

  // Log order is the order the server applied the changes, so the first
  // answer seen is the answer.
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

  struct Tally {
    int64_t referrals = 0;
    int64_t accepted = 0;
    int64_t declined = 0;
  };
  Tally total;
  int64_t vital = 0, awaiting = 0, overdue = 0, in_progress = 0;
  std::vector<double> answer_hours;
  std::map<std::pair<AuditId, AuditId>, Tally> by_pair;
  std::map<uint8_t, Tally> by_service;
  std::map<std::string, Tally> by_month;
  std::map<uint8_t, int64_t> declines;
  std::map<uint8_t, int64_t> outcomes;
  for (const auto& [id, r] : referrals) {
    Tally delta{1, r.accepted ? 1 : 0, r.declined ? 1 : 0};
    for (Tally* t : {&total, &by_pair[{r.from, r.to}], &by_service[r.service],
                     &by_month[Month(r.created_ms)]}) {
      t->referrals += delta.referrals;
      t->accepted += delta.accepted;
      t->declined += delta.declined;
    }
    if (r.vital) ++vital;
    if (r.state == State::kSent) {
      ++awaiting;
      if (r.due_ms > 0 && options.now_ms > r.due_ms) ++overdue;
    }
    if (r.state == State::kAccepted) ++in_progress;
    if (r.answered_ms) answer_hours.push_back(static_cast<double>(*r.answered_ms - r.created_ms) / 3.6e6);
    if (r.declined) ++declines[r.decline_reason];
    if (r.outcome != 0) ++outcomes[r.outcome];
  }

  // The counts of every table and how they relate, then the suppression over
  // all of them, then the cells.
  Suppression suppress(threshold);
  struct Row {
    size_t referrals, accepted, declined;
  };
  auto make_row = [&](const Tally& t) {
    Row row{suppress.Count(t.referrals), suppress.Count(t.accepted), suppress.Count(t.declined)};
    suppress.AtLeast(row.referrals, {row.accepted, row.declined});
    return row;
  };
  const Row sum = make_row(total);
  const size_t vital_cell = suppress.Count(vital), awaiting_cell = suppress.Count(awaiting),
               overdue_cell = suppress.Count(overdue), in_progress_cell = suppress.Count(in_progress);
  suppress.AtLeast(sum.referrals, {sum.accepted, sum.declined, awaiting_cell});
  suppress.AtLeast(awaiting_cell, {overdue_cell});
  suppress.AtLeast(sum.referrals, {vital_cell});
  std::vector<Row> pair_rows, service_rows, month_rows;
  for (const auto& [key, t] : by_pair) pair_rows.push_back(make_row(t));
  for (const auto& [key, t] : by_service) service_rows.push_back(make_row(t));
  for (const auto& [key, t] : by_month) month_rows.push_back(make_row(t));
  for (const std::vector<Row>* rows : {&pair_rows, &service_rows, &month_rows}) {
    std::vector<size_t> referrals_column, accepted_column, declined_column;
    for (const Row& row : *rows) {
      referrals_column.push_back(row.referrals);
      accepted_column.push_back(row.accepted);
      declined_column.push_back(row.declined);
    }
    suppress.SumOf(sum.referrals, referrals_column);
    suppress.SumOf(sum.accepted, accepted_column);
    suppress.SumOf(sum.declined, declined_column);
  }
  std::vector<size_t> decline_cells, outcome_cells;
  for (const auto& [code, c] : declines) decline_cells.push_back(suppress.Count(c));
  for (const auto& [code, c] : outcomes) outcome_cells.push_back(suppress.Count(c));
  suppress.SumOf(sum.declined, decline_cells);
  // An outcome is recorded only on a referral that was accepted and has
  // since ended, so those still in progress are not among them.
  std::vector<size_t> after_acceptance = outcome_cells;
  after_acceptance.push_back(in_progress_cell);
  suppress.AtLeast(sum.accepted, after_acceptance);
  suppress.Protect();

  auto cell = [&](size_t c) { return suppress.hidden(c) ? CellMaker::Hidden() : cells.Count(suppress.value(c)); };
  auto rate = [&](const Tally& t, const Row& row) {
    const int64_t answered = t.accepted + t.declined;
    return cells.Number(answered == 0 ? 0 : 100.0 * static_cast<double>(t.accepted) / answered, answered,
                        suppress.hidden(row.accepted) || suppress.hidden(row.declined));
  };
  const int64_t answered = static_cast<int64_t>(answer_hours.size());

  StatTable summary{"summary", "Summary", {"measure", "value"}, {}, -1};
  auto add = [&](std::string name, StatCell value) {
    summary.rows.push_back({CellMaker::Text(std::move(name)), std::move(value)});
  };
  add("referrals", cell(sum.referrals));
  add("vital-interests referrals", cell(vital_cell));
  add("accepted", cell(sum.accepted));
  add("declined", cell(sum.declined));
  add("acceptance rate (%)", rate(total, sum));
  add("awaiting an answer", cell(awaiting_cell));
  add("overdue (past answer-by)", cell(overdue_cell));
  add("accepted, in progress", cell(in_progress_cell));
  add("time to answer, median (hours)", cells.Number(answered ? Median(answer_hours) : 0, answered));
  add("time to answer, 90th percentile (hours)",
      cells.Number(answered ? Percentile(answer_hours, 90) : 0, answered));
  report.tables.push_back(std::move(summary));

  StatTable pairs{"by_pair", "Referrals per organisation pair",
                  {"from organisation", "to organisation", "referrals", "accepted", "declined"}, {}, 2};
  size_t i = 0;
  for (const auto& [key, t] : by_pair) {
    const Row& row = pair_rows[i++];
    pairs.rows.push_back({CellMaker::Text(Hex(key.first)), CellMaker::Text(Hex(key.second)),
                          cell(row.referrals), cell(row.accepted), cell(row.declined)});
  }
  report.tables.push_back(std::move(pairs));

  StatTable services{"by_service", "Referrals per service",
                     {"service", "referrals", "accepted", "declined", "acceptance rate (%)"}, {}, 1};
  i = 0;
  for (const auto& [service, t] : by_service) {
    const Row& row = service_rows[i++];
    services.rows.push_back({CellMaker::Text(std::string(ServiceName(service))), cell(row.referrals),
                             cell(row.accepted), cell(row.declined), rate(t, row)});
  }
  report.tables.push_back(std::move(services));

  StatTable months{"by_month", "Referrals per month (UTC)", {"month", "referrals", "accepted", "declined"}, {}, 1};
  i = 0;
  for (const auto& [month, t] : by_month) {
    const Row& row = month_rows[i++];
    months.rows.push_back(
        {CellMaker::Text(month), cell(row.referrals), cell(row.accepted), cell(row.declined)});
  }
  report.tables.push_back(std::move(months));

  StatTable reasons{"decline_reasons", "Decline reasons", {"reason", "referrals"}, {}, 1};
  i = 0;
  for (const auto& [code, c] : declines) {
    reasons.rows.push_back({CellMaker::Text(std::string(DeclineReasonName(code))), cell(decline_cells[i++])});
  }
  report.tables.push_back(std::move(reasons));

  StatTable outcome_table{"outcomes", "Outcomes", {"outcome", "referrals"}, {}, 1};
  i = 0;
  for (const auto& [code, c] : outcomes) {
    outcome_table.rows.push_back({CellMaker::Text(std::string(OutcomeName(code))), cell(outcome_cells[i++])});
  }
  report.tables.push_back(std::move(outcome_table));
  return report;
}

}  // namespace trygg::audit
