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

// A count as computed, before it becomes a cell. `hidden` is set for a
// primary suppression (0 < value < threshold) and for a complementary one.
struct Figure {
  int64_t value = 0;
  bool hidden = false;
  bool primary = false;
};

// Complementary suppression (docs/audit.md, "Coordinator statistics"), so
// that no small count can be worked out from the numbers that are shown:
//
// 1. Within a row, referrals >= accepted + declined. With one of the two
//    hidden and the other shown, the hidden one lies in
//    [1, referrals - shown]; when that is narrower than [1, threshold - 1],
//    the shown one is hidden too.
// 2. A group of cells that add up to a total shown in the same report (a
//    column of the per-pair, per-service or per-month table with its summary
//    count; the decline reasons with the declined count) gives away its one
//    hidden cell by subtraction. So no group keeps exactly one hidden cell:
//    the smallest shown non-zero one is hidden too, until no group has one
//    (a total hidden for one group is hidden in the others it belongs to).
// 3. A rate is hidden when a count it is computed from is hidden
//    (rate and accepted give declined).
struct Suppressor {
  int64_t threshold;

  Figure Make(int64_t value) const {
    const bool small = value > 0 && value < threshold;
    return Figure{value, small, small};
  }

  void ProtectRow(const Figure& referrals, Figure& accepted, Figure& declined) const {
    auto guard = [&](const Figure& hidden, Figure& shown) {
      if (!hidden.primary || shown.hidden || referrals.hidden) return;
      if (referrals.value - shown.value < threshold - 1) shown.hidden = true;
    };
    guard(declined, accepted);
    guard(accepted, declined);
  }

  // Each group is a total and the cells that add up to it.
  struct Group {
    Figure* total;
    std::vector<Figure*> parts;
  };
  static void ProtectGroups(const std::vector<Group>& groups) {
    for (bool changed = true; changed;) {
      changed = false;
      for (const Group& g : groups) {
        int hidden = g.total->hidden ? 1 : 0;
        Figure* smallest = g.total->hidden || g.total->value == 0 ? nullptr : g.total;
        for (Figure* f : g.parts) {
          if (f->hidden) {
            ++hidden;
          } else if (f->value > 0 && (smallest == nullptr || f->value < smallest->value)) {
            smallest = f;
          }
        }
        if (hidden == 1 && smallest != nullptr) {
          smallest->hidden = true;
          changed = true;
        }
      }
    }
  }
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

  // The counts of every table, then the suppression over all of them, then
  // the cells.
  const Suppressor suppress{threshold};
  struct Row {
    Figure referrals, accepted, declined;
  };
  auto make_row = [&](const Tally& t) {
    Row row{suppress.Make(t.referrals), suppress.Make(t.accepted), suppress.Make(t.declined)};
    suppress.ProtectRow(row.referrals, row.accepted, row.declined);
    return row;
  };
  Row sum = make_row(total);
  std::vector<Row> pair_rows, service_rows, month_rows;
  for (const auto& [key, t] : by_pair) pair_rows.push_back(make_row(t));
  for (const auto& [key, t] : by_service) service_rows.push_back(make_row(t));
  for (const auto& [key, t] : by_month) month_rows.push_back(make_row(t));
  std::vector<Figure> decline_rows;
  for (const auto& [code, c] : declines) decline_rows.push_back(suppress.Make(c));
  std::vector<Suppressor::Group> groups;
  for (std::vector<Row>* rows : {&pair_rows, &service_rows, &month_rows}) {
    Suppressor::Group referrals_group{&sum.referrals, {}}, accepted_group{&sum.accepted, {}},
        declined_group{&sum.declined, {}};
    for (Row& row : *rows) {
      referrals_group.parts.push_back(&row.referrals);
      accepted_group.parts.push_back(&row.accepted);
      declined_group.parts.push_back(&row.declined);
    }
    groups.insert(groups.end(), {referrals_group, accepted_group, declined_group});
  }
  Suppressor::Group reasons_group{&sum.declined, {}};
  for (Figure& f : decline_rows) reasons_group.parts.push_back(&f);
  groups.push_back(reasons_group);
  Suppressor::ProtectGroups(groups);

  auto cell = [&](const Figure& f) { return f.hidden ? CellMaker::Hidden() : cells.Count(f.value); };
  auto rate = [&](const Tally& t, const Row& row) {
    const int64_t answered = t.accepted + t.declined;
    return cells.Number(answered == 0 ? 0 : 100.0 * static_cast<double>(t.accepted) / answered, answered,
                        row.accepted.hidden || row.declined.hidden);
  };
  const int64_t answered = static_cast<int64_t>(answer_hours.size());

  StatTable summary{"summary", "Summary", {"measure", "value"}, {}, -1};
  auto add = [&](std::string name, StatCell value) {
    summary.rows.push_back({CellMaker::Text(std::move(name)), std::move(value)});
  };
  add("referrals", cell(sum.referrals));
  add("vital-interests referrals", cell(suppress.Make(vital)));
  add("accepted", cell(sum.accepted));
  add("declined", cell(sum.declined));
  add("acceptance rate (%)", rate(total, sum));
  add("awaiting an answer", cell(suppress.Make(awaiting)));
  add("overdue (past answer-by)", cell(suppress.Make(overdue)));
  add("accepted, in progress", cell(suppress.Make(in_progress)));
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
    reasons.rows.push_back({CellMaker::Text(std::string(DeclineReasonName(code))), cell(decline_rows[i++])});
  }
  report.tables.push_back(std::move(reasons));

  // Outcomes add up to no total the report shows; primary suppression only.
  StatTable outcome_table{"outcomes", "Outcomes", {"outcome", "referrals"}, {}, 1};
  for (const auto& [code, c] : outcomes) {
    outcome_table.rows.push_back({CellMaker::Text(std::string(OutcomeName(code))), cell(suppress.Make(c))});
  }
  report.tables.push_back(std::move(outcome_table));
  return report;
}

}  // namespace trygg::audit
