// SPDX-License-Identifier: Apache-2.0

#include "server/audit/statistics.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "trygg/bytes.h"
#include "trygg/names.h"

namespace trygg::audit {
namespace {

constexpr int64_t kDay = 86'400'000;
constexpr int64_t kHour = 3'600'000;
constexpr int64_t kJan2026 = 1767225600000;  // 2026-01-01T00:00:00Z

AuditId Id(uint8_t a, uint8_t b = 0) {
  AuditId id{};
  id[0] = a;
  id[1] = b;
  return id;
}

struct Synthetic {
  std::vector<AuditEvent> events;
  uint8_t next = 1;

  AuditId Refer(AuditId from, AuditId to, uint8_t service, int64_t at, int64_t due = 0,
                bool vital = false) {
    AuditEvent e;
    e.kind = AuditEventKind::kReferralCreated;
    e.time_ms = at;
    e.actor_org_id = from;
    e.counterpart_org_id = to;
    e.referral_id = Id(200, next++);
    e.service = service;
    e.due_ms = due;
    e.flags = vital ? kFlagVitalInterests : 0;
    events.push_back(e);
    return e.referral_id;
  }
  // A directory listing of `category` published by `org`; `listing`: a
  // new version of that listing.
  void List(AuditId org, uint8_t category, std::optional<AuditId> listing = std::nullopt) {
    AuditEvent e;
    e.kind = AuditEventKind::kListingPublished;
    e.actor_org_id = org;
    e.listing_id = listing.value_or(Id(150, next++));
    e.service = category;
    events.push_back(e);
  }
  void Answer(AuditId referral, AuditEventKind kind, int64_t at, uint8_t code = 0) {
    AuditEvent e;
    e.kind = kind;
    e.time_ms = at;
    e.referral_id = referral;
    e.code = code;
    events.push_back(e);
  }
};

const StatTable& Table(const StatisticsReport& r, const std::string& id) {
  for (const StatTable& t : r.tables) {
    if (t.id == id) return t;
  }
  FAIL("no table " << id);
  return r.tables.front();
}

std::string Summary(const StatisticsReport& r, const std::string& measure) {
  for (const auto& row : Table(r, "summary").rows) {
    if (row[0].text == measure) return row[1].Display();
  }
  FAIL("no measure " << measure);
  return "";
}

TEST_CASE("Statistics from synthetic entries, with small cells suppressed", "[audit][stats]") {
  Synthetic s;
  const AuditId a = Id(1), b = Id(2), c = Id(3);
  // A -> B: 12 shelter referrals in January, answered after 1..12 hours;
  // 8 accepted, 4 declined for lack of capacity.
  for (int i = 0; i < 12; ++i) {
    AuditId r = s.Refer(a, b, 1, kJan2026 + i * kDay);
    if (i < 8) {
      s.Answer(r, AuditEventKind::kReferralAccepted, kJan2026 + i * kDay + (i + 1) * kHour);
      if (i < 6) s.Answer(r, AuditEventKind::kReferralCompleted, kJan2026 + 20 * kDay, 1);
    } else {
      s.Answer(r, AuditEventKind::kReferralDeclined, kJan2026 + i * kDay + (i + 1) * kHour, 1);
    }
  }
  // A -> C: 3 legal-advice referrals in February, unanswered; 2 overdue, 1 vital interests.
  const int64_t feb = kJan2026 + 31 * kDay;
  s.Refer(a, c, 2, feb, feb + kDay, true);
  s.Refer(a, c, 2, feb, feb + kDay);
  s.Refer(a, c, 2, feb, feb + 30 * kDay);
  // Noise the statistics must ignore: other kinds, an answer to an unknown referral.
  s.Answer(Id(99), AuditEventKind::kReferralAccepted, feb);
  AuditEvent other;
  other.kind = AuditEventKind::kCaseCreated;
  s.events.push_back(other);

  StatisticsOptions options;
  options.now_ms = feb + 2 * kDay;
  const StatisticsReport r = ComputeStatistics(s.events, options);

  CHECK(Summary(r, "referrals") == "15");
  CHECK(Summary(r, "accepted") == "8");
  CHECK(Summary(r, "declined") == "x");
  // 66.7 % of answers with 8 accepted would give away the 4 declined.
  CHECK(Summary(r, "acceptance rate (%)") == "x");
  CHECK(Summary(r, "awaiting an answer") == "x");
  CHECK(Summary(r, "overdue (past answer-by)") == "x");
  CHECK(Summary(r, "vital-interests referrals") == "x");
  // The times are over the 12 answers, and the 4 declined among them are
  // hidden; a 90th percentile of 12 would be the slowest two anyway.
  CHECK(Summary(r, "time to answer, median (hours)") == "x");
  CHECK(Summary(r, "time to answer, 90th percentile (hours)") == "x");

  const StatTable& pairs = Table(r, "by_pair");
  REQUIRE(pairs.rows.size() == 2);
  CHECK(pairs.rows[1][2].Display() == "x");  // the 3 referrals A -> C
  CHECK(pairs.rows[1][2].type == StatCell::Type::kSuppressed);
  CHECK(pairs.rows[1][2].count == 0);  // the hidden number is not carried at all
  // 15 referrals in all minus 12 shown would give the 3 away: the 12 is
  // hidden too, and reads the same.
  CHECK(pairs.rows[0][2].Display() == "x");
  CHECK(pairs.rows[0][2].count == 0);
  CHECK(pairs.rows[0][3].Display() == "8");

  const StatTable& months = Table(r, "by_month");
  REQUIRE(months.rows.size() == 2);
  CHECK(months.rows[0][0].text == "2026-01");
  CHECK(months.rows[1][0].text == "2026-02");

  const StatTable& services = Table(r, "by_service");
  CHECK(services.rows[0][0].text == "shelter");
  REQUIRE(services.columns[7] == "acceptance rate (%)");
  CHECK(services.rows[0][7].Display() == "x");  // 8 accepted of 12 answered: the 4 declined
  CHECK(services.rows[1][0].text == "legal-advice");
  CHECK(services.rows[1][7].Display() == "-");  // no answers: no rate

  CHECK(Table(r, "decline_reasons").rows[0][0].text == "no-capacity");
  // Every completed referral has an outcome and none was closed, so the 6
  // "service provided" would be the completed count, and 8 accepted minus it
  // the 2 in progress: it is hidden too.
  CHECK(Table(r, "outcomes").rows[0][1].Display() == "x");

  SECTION("threshold 1 shows every count") {
    options.threshold = 1;
    const StatisticsReport all = ComputeStatistics(s.events, options);
    CHECK(Summary(all, "declined") == "4");
    CHECK(Summary(all, "overdue (past answer-by)") == "2");
    CHECK(Summary(all, "vital-interests referrals") == "1");
    CHECK(Summary(all, "acceptance rate (%)") == "66.7");
    CHECK(Table(all, "by_pair").rows[0][2].Display() == "12");
    // Answer times 1..12 h: median 6.5 h; nearest-rank p90 of 12 is the 11th.
    CHECK(Summary(all, "time to answer, median (hours)") == "6.5");
    CHECK(Summary(all, "time to answer, 90th percentile (hours)") == "11.0");
  }
  SECTION("a high threshold hides rates and times over too few referrals") {
    options.threshold = 20;
    const StatisticsReport hidden = ComputeStatistics(s.events, options);
    CHECK(Summary(hidden, "acceptance rate (%)") == "x");
    CHECK(Summary(hidden, "time to answer, median (hours)") == "x");
    CHECK(Summary(hidden, "referrals") == "x");
  }
}

TEST_CASE("Withdrawn, expired, completed and closed referrals, and answer times per group", "[audit][stats]") {
  Synthetic s;
  const AuditId a = Id(1), b = Id(2), c = Id(3);
  s.List(a, 4);  // a is known as counselling in the directory
  s.List(a, 4);
  s.List(a, 1);
  // a -> b: 10 shelter referrals, answered after i + 1 hours: 6 accepted (3
  // completed, 1 closed, 2 in progress), 4 declined.
  for (int i = 0; i < 10; ++i) {
    AuditId r = s.Refer(a, b, 1, kJan2026 + i * kHour);
    const int64_t answer = kJan2026 + i * kHour + (i + 1) * kHour;
    if (i < 6) {
      s.Answer(r, AuditEventKind::kReferralAccepted, answer);
      if (i < 3) s.Answer(r, AuditEventKind::kReferralCompleted, answer + kDay, 1);
      if (i == 3) s.Answer(r, AuditEventKind::kReferralClosed, answer + kDay);
    } else {
      s.Answer(r, AuditEventKind::kReferralDeclined, answer, 2);
    }
  }
  // c -> b: 7 legal-advice referrals: 5 withdrawn, 2 expired.
  for (int i = 0; i < 7; ++i) {
    AuditId r = s.Refer(c, b, 2, kJan2026, kJan2026 + kDay);
    s.Answer(r, i < 5 ? AuditEventKind::kReferralWithdrawn : AuditEventKind::kReferralExpired, kJan2026 + kDay);
  }
  StatisticsOptions options;
  options.threshold = 1;
  options.now_ms = kJan2026 + 40 * kDay;
  const StatisticsReport r = ComputeStatistics(s.events, options);
  CHECK(Summary(r, "referrals") == "17");
  CHECK(Summary(r, "withdrawn") == "5");
  CHECK(Summary(r, "expired") == "2");
  CHECK(Summary(r, "completed") == "3");
  CHECK(Summary(r, "closed") == "1");
  CHECK(Summary(r, "accepted, in progress") == "2");
  CHECK(Summary(r, "awaiting an answer") == "0");

  const StatTable& receivers = Table(r, "by_receiver");
  REQUIRE(receivers.rows.size() == 1);
  CHECK(receivers.columns == std::vector<std::string>{"organisation", "referrals", "accepted", "declined", "withdrawn",
                                                      "expired", "overdue", "acceptance rate (%)",
                                                      "time to answer, median (hours)",
                                                      "time to answer, 90th percentile (hours)"});
  // Answer times 1..10 h: median 5.5, nearest-rank p90 the 9th.
  CHECK(receivers.rows[0][8].Display() == "5.5");
  CHECK(receivers.rows[0][9].Display() == "9.0");
  CHECK(receivers.rows[0][4].Display() == "5");
  const StatTable& services = Table(r, "by_service");
  REQUIRE(services.rows.size() == 2);
  CHECK(services.rows[1][0].text == "legal-advice");
  CHECK(services.rows[1][4].Display() == "5");   // withdrawn
  CHECK(services.rows[1][5].Display() == "2");   // expired
  CHECK(services.rows[1][8].Display() == "-");   // never answered: no time
  const StatTable& flow = Table(r, "flow");
  REQUIRE(flow.rows.size() == 2);
  CHECK(flow.rows[0][0].text == "no listing");  // c lists nothing
  CHECK(flow.rows[0][1].text == "legal-advice");
  CHECK(flow.rows[0][2].Display() == "7");
  CHECK(flow.rows[1][0].text == "counselling");  // what a lists most
  CHECK(flow.rows[1][1].text == "shelter");
  CHECK(flow.rows[1][2].Display() == "10");

  SECTION("a time over a group with a hidden count is hidden") {
    options.threshold = 5;
    const StatisticsReport hidden = ComputeStatistics(s.events, options);
    const StatTable& t = Table(hidden, "by_service");
    // Shelter: 10 answered, but its 4 declined are hidden, and with them its times.
    CHECK(t.rows[0][3].Display() == "x");
    CHECK(t.rows[0][7].Display() == "x");
    CHECK(t.rows[0][8].Display() == "x");
  }
}

TEST_CASE("The requesting category is what the sender lists most, each listing once", "[audit][stats]") {
  Synthetic s;
  const AuditId a = Id(1), b = Id(2);
  // a publishes one shelter listing and its three new versions, and two
  // counselling listings: it is known as counselling.
  const AuditId shelter = Id(151, 1);
  for (int version = 0; version < 4; ++version) s.List(a, 1, shelter);
  s.List(a, 4);
  s.List(a, 4);
  s.Refer(a, b, 2, kJan2026);
  StatisticsOptions options;
  options.threshold = 1;
  const StatisticsReport r = ComputeStatistics(s.events, options);
  const StatTable& flow = Table(r, "flow");
  REQUIRE(flow.rows.size() == 1);
  CHECK(flow.rows[0][0].text == "counselling");
  CHECK(flow.rows[0][1].text == "legal-advice");
}

TEST_CASE("The period counts referrals created in it, in the caller's time zone", "[audit][stats]") {
  Synthetic s;
  absl::TimeZone stockholm;
  REQUIRE(absl::LoadTimeZone("Europe/Stockholm", &stockholm));
  // 2026-01-31 23:30 UTC is 2026-02-01 00:30 in Stockholm.
  const int64_t late_january_utc = kJan2026 + 30 * kDay + 23 * kHour + 30 * 60'000;
  s.Refer(Id(1), Id(2), 1, kJan2026 + kDay);
  s.Refer(Id(1), Id(2), 1, late_january_utc);
  s.Refer(Id(1), Id(2), 1, kJan2026 + 40 * kDay);
  StatisticsOptions options;
  options.threshold = 1;
  options.zone = stockholm;
  const StatisticsReport whole = ComputeStatistics(s.events, options);
  CHECK(Summary(whole, "referrals") == "3");
  const StatTable& months = Table(whole, "by_month");
  REQUIRE(months.rows.size() == 2);
  CHECK(months.rows[0][0].text == "2026-01");
  CHECK(months.rows[0][1].Display() == "1");
  CHECK(months.rows[1][0].text == "2026-02");
  CHECK(months.rows[1][1].Display() == "2");
  CHECK(whole.zone_name == "Europe/Stockholm");

  options.from_ms = late_january_utc;
  options.to_ms = late_january_utc + 1;
  const StatisticsReport one = ComputeStatistics(s.events, options);
  CHECK(Summary(one, "referrals") == "1");
  options.to_ms = late_january_utc;  // the end is not in the period
  CHECK(Summary(ComputeStatistics(s.events, options), "referrals") == "0");
}

TEST_CASE("Organisations read by their certified names, else by a short id", "[audit][stats]") {
  Synthetic s;
  const AuditId a = Id(0xab, 0xcd), b = Id(2), c = Id(3), d = Id(4);
  s.Refer(a, b, 1, kJan2026);
  s.Refer(c, d, 1, kJan2026);
  s.Refer(b, d, 1, kJan2026);
  StatisticsOptions options;
  options.threshold = 1;
  options.org_names[b] = "Kvinnojouren\n Malm\xc3\xb6\xe2\x80\xae";  // a newline and a right-to-left override
  options.org_names[c] = "Samma";
  options.org_names[d] = "Samma";
  options.org_names[Id(9)] = "\xff\xfe";  // invalid UTF-8, and not in the log
  const StatisticsReport r = ComputeStatistics(s.events, options);
  const StatTable& pairs = Table(r, "by_pair");
  REQUIRE(pairs.rows.size() == 3);
  std::map<std::string, std::string> by_id;
  for (const auto& row : pairs.rows) {
    by_id[row[0].id] = row[0].text;
    by_id[row[1].id] = row[1].text;
  }
  CHECK(by_id[HexEncode(a)] == "abcd0000");
  CHECK(by_id[HexEncode(b)] == "Kvinnojouren Malm\xc3\xb6");
  // One name for two organisations: each gets its short id.
  CHECK(by_id[HexEncode(c)] == "Samma (03000000)");
  CHECK(by_id[HexEncode(d)] == "Samma (04000000)");
}

// An attacker with exact integer reasoning, independent of the library's
// suppression: every count of a report is a variable, fixed where shown and
// at least 1 where hidden (zeros are shown), tied by the relations a reader
// knows (each a sum of +/-1 terms that is == 0 or >= 0). Feasible() says
// whether some assignment satisfies them all with one variable fixed,
// searching exhaustively with bounds propagation at each step.
class Attacker {
 public:
  int Variable(const StatCell& cell, int64_t cap) {
    vars_.push_back(cell.type == StatCell::Type::kSuppressed ? Bounds{1, cap} : Bounds{cell.count, cell.count});
    return static_cast<int>(vars_.size()) - 1;
  }
  // whole - sum(parts) == 0, or >= 0.
  void Relate(int whole, const std::vector<int>& parts, bool equal) {
    Linear l{{{whole, 1}}, equal};
    for (int p : parts) l.terms.push_back({p, -1});
    lins_.push_back(std::move(l));
  }
  // sum(greater) - sum(smaller) >= 0.
  void NoLess(const std::vector<int>& greater, const std::vector<int>& smaller) {
    Linear l{{}, false};
    for (int p : greater) l.terms.push_back({p, 1});
    for (int p : smaller) l.terms.push_back({p, -1});
    lins_.push_back(std::move(l));
  }
  // sum(left) == sum(right).
  void Balance(const std::vector<int>& left, const std::vector<int>& right) {
    Linear l{{}, true};
    for (int p : left) l.terms.push_back({p, 1});
    for (int p : right) l.terms.push_back({p, -1});
    lins_.push_back(std::move(l));
  }
  // Whether `var` can take a value in [lo, hi]; nullopt when the search ran
  // out of budget. A search that settles does so in far fewer steps; nearly
  // all the time goes to the few that never settle, so the budget (20,000
  // steps) bounds the suite's time (about 90 s for the 300 random logs, where
  // 200,000 took ten minutes) and the test bounds the share left undecided.
  std::optional<bool> Feasible(int var, int64_t lo, int64_t hi) {
    std::vector<Bounds> v = vars_;
    v[var] = {std::max(lo, v[var].lo), std::min(hi, v[var].hi)};
    if (v[var].lo > v[var].hi) return false;
    budget_ = 20'000;
    return Search(v);
  }
  // Each variable's bounds after propagation alone (no search): sound, and
  // fast enough for a platform-sized report. nullopt: the relations
  // contradict each other. At most `passes` rounds over the relations.
  std::optional<std::pair<int64_t, int64_t>> Bounded(int var, int passes) const {
    if (!propagated_) {
      propagated_ = vars_;
      if (!Propagate(*propagated_, passes)) return std::nullopt;
    }
    return std::pair{(*propagated_)[var].lo, (*propagated_)[var].hi};
  }
  // The fewest unknowns in an equality that has any: 1 gives that one away.
  int FewestHiddenInAnEquality() const {
    int fewest = -1;
    for (const Linear& l : lins_) {
      if (!l.equal) continue;
      int hidden = 0;
      for (const auto& [x, c] : l.terms) hidden += vars_[x].lo < vars_[x].hi;
      if (hidden > 0 && (fewest < 0 || hidden < fewest)) fewest = hidden;
    }
    return fewest;
  }

 private:
  struct Bounds {
    int64_t lo, hi;
  };
  struct Linear {
    std::vector<std::pair<int, int>> terms;
    bool equal;
  };

  bool Propagate(std::vector<Bounds>& v, int passes = -1) const {
    for (bool changed = true; changed && passes-- != 0;) {
      changed = false;
      for (const Linear& l : lins_) {
        // The sum's bounds once, then each term's rest without it (a
        // variable appears at most once in a relation).
        int64_t sum_min = 0, sum_max = 0;
        for (const auto& [y, d] : l.terms) {
          sum_min += d > 0 ? v[y].lo : -v[y].hi;
          sum_max += d > 0 ? v[y].hi : -v[y].lo;
        }
        for (const auto& [x, c] : l.terms) {
          const int64_t rest_min = sum_min - (c > 0 ? v[x].lo : -v[x].hi);
          const int64_t rest_max = sum_max - (c > 0 ? v[x].hi : -v[x].lo);
          // c*x + rest (==|>=) 0, c = +1 or -1.
          int64_t lo = v[x].lo, hi = v[x].hi;
          if (c > 0) {
            lo = std::max(lo, -rest_max);
            if (l.equal) hi = std::min(hi, -rest_min);
          } else {
            hi = std::min(hi, rest_max);
            if (l.equal) lo = std::max(lo, rest_min);
          }
          if (lo > hi) return false;
          if (lo != v[x].lo || hi != v[x].hi) {
            sum_min += c > 0 ? lo - v[x].lo : v[x].hi - hi;
            sum_max += c > 0 ? hi - v[x].hi : v[x].lo - lo;
            v[x] = {lo, hi};
            changed = true;
          }
        }
      }
    }
    return true;
  }

  std::optional<bool> Search(std::vector<Bounds> v) {
    if (--budget_ < 0) return std::nullopt;
    if (!Propagate(v)) return false;
    int pick = -1;
    for (int i = 0; i < static_cast<int>(v.size()); ++i) {
      if (v[i].lo < v[i].hi && (pick < 0 || v[i].hi - v[i].lo < v[pick].hi - v[pick].lo)) pick = i;
    }
    if (pick < 0) return true;  // all fixed and consistent
    for (int64_t value = v[pick].lo; value <= v[pick].hi; ++value) {
      std::vector<Bounds> next = v;
      next[pick] = {value, value};
      std::optional<bool> found = Search(std::move(next));
      if (!found.has_value() || *found) return found;
    }
    return false;
  }

  std::vector<Bounds> vars_;
  std::vector<Linear> lins_;
  long budget_ = 0;
  mutable std::optional<std::vector<Bounds>> propagated_;
};

struct Disclosures {
  int checked = 0;     // hidden small counts tried
  int undecided = 0;   // searches that ran out of budget
};

// The counts of one row of a grouped table, by column name.
struct RowVars {
  std::map<std::string, int> count;
  const std::vector<StatCell>* cells = nullptr;
};

// Whether a time to answer over `answers` answers may be shown: with at
// least `threshold` answers at or below it and as many at or above it, a
// median needs 2 * threshold - 1 answers and a 90th percentile (nearest
// rank) 10 * (threshold - 1): its top tenth must hold threshold - 1 answers.
bool EnoughAnswers(const std::string& column, int64_t answers, int64_t threshold) {
  if (column.find("median") != std::string::npos) return answers >= 2 * threshold - 1;
  REQUIRE(column.find("90th percentile") != std::string::npos);
  return answers >= std::max<int64_t>(1, 10 * (threshold - 1));
}

// How hard the attacker tries: an exhaustive integer search for each hidden
// small count (small reports), or, for a platform-sized one, the structure
// (every sum with a hidden cell has at least two) and bounds propagation.
enum class Attack { kExhaustive, kBounds };

// With every count known (`all`, threshold 1), checks that no hidden count
// from 1 to threshold - 1 in `r` can be worked out exactly: given everything
// `r` shows, some other value stays possible for it. `categories`: each
// sending organisation's directory category (by full hex id), which a reader
// knows from the directory; the flow table is tied to the pairs by it. Also
// checks that a time to answer is shown only over enough answers, and never
// over a group with a hidden count.
void CheckNothingDerivable(const StatisticsReport& r, const StatisticsReport& all, int64_t threshold,
                           const std::map<std::string, std::string>& categories, Disclosures& tally,
                           Attack attack = Attack::kExhaustive) {
  Attacker attacker;
  std::vector<std::pair<int, int64_t>> small;  // hidden small counts and their true values
  const int64_t cap = 2 * Table(all, "summary").rows[0][1].count + threshold;
  auto add = [&](const StatCell& shown, const StatCell& truth) {
    const int v = attacker.Variable(shown, cap);
    if (shown.type == StatCell::Type::kSuppressed && truth.count > 0 && truth.count < threshold) {
      small.push_back({v, truth.count});
    }
    return v;
  };
  std::map<std::string, int> summary;
  const StatTable& sr = Table(r, "summary");
  const StatTable& sa = Table(all, "summary");
  REQUIRE(sr.rows.size() == sa.rows.size());
  for (size_t row = 0; row < sr.rows.size(); ++row) {
    if (sr.rows[row][1].type == StatCell::Type::kNumber || sa.rows[row][1].type == StatCell::Type::kNumber) continue;
    if (sr.rows[row][1].type == StatCell::Type::kText) continue;  // "-"
    summary[sr.rows[row][0].text] = add(sr.rows[row][1], sa.rows[row][1]);
  }
  // No time over all referrals when a count it is computed from is hidden,
  // or over too few answers.
  auto summary_cell = [&](const StatTable& t, const std::string& measure) -> const StatCell& {
    for (const auto& row : t.rows) {
      if (row[0].text == measure) return row[1];
    }
    FAIL("no measure " << measure);
    return t.rows[0][1];
  };
  const int64_t all_answers = summary_cell(sa, "accepted").count + summary_cell(sa, "declined").count;
  for (const auto& row : sr.rows) {
    if (row[0].text.rfind("time to answer", 0) != 0 || row[1].type != StatCell::Type::kNumber) continue;
    INFO(row[0].text << " over " << all_answers << " answers");
    for (const std::string count : {"referrals", "accepted", "declined"}) {
      CHECK(summary_cell(sr, count).type == StatCell::Type::kCount);
    }
    CHECK(EnoughAnswers(row[0].text, all_answers, threshold));
  }
  const int R = summary.at("referrals"), A = summary.at("accepted"), D = summary.at("declined"),
            Wd = summary.at("withdrawn"), E = summary.at("expired"), W = summary.at("awaiting an answer"),
            O = summary.at("overdue (past answer-by)"), P = summary.at("accepted, in progress"),
            C = summary.at("completed"), Cl = summary.at("closed"), V = summary.at("vital-interests referrals");
  // The referral workflow: the first move out of "sent" is one of four, and
  // an accepted referral is in progress, completed or closed.
  attacker.Relate(R, {A, D, Wd, E, W}, true);
  attacker.Relate(A, {P, C, Cl}, true);
  attacker.Relate(W, {O}, false);
  attacker.Relate(R, {V}, false);
  const std::map<std::string, int> totals = {{"referrals", R}, {"accepted", A},  {"declined", D},
                                             {"withdrawn", Wd}, {"expired", E}, {"overdue", O}};

  // Every grouped table: each row's referrals bound its other counts, and
  // each column adds up to the summary.
  std::map<std::string, std::vector<RowVars>> grouped;
  for (const std::string table : {"by_pair", "by_receiver", "by_service", "by_month", "flow"}) {
    const StatTable& t = Table(r, table);
    const StatTable& truth = Table(all, table);
    REQUIRE(t.rows.size() == truth.rows.size());
    REQUIRE(t.columns == truth.columns);
    std::map<std::string, std::vector<int>> columns;
    for (size_t row = 0; row < t.rows.size(); ++row) {
      RowVars vars;
      vars.cells = &t.rows[row];
      bool any_hidden = false;
      for (size_t col = 0; col < t.columns.size(); ++col) {
        if (!totals.count(t.columns[col])) continue;
        const int v = add(t.rows[row][col], truth.rows[row][col]);
        vars.count[t.columns[col]] = v;
        columns[t.columns[col]].push_back(v);
        any_hidden = any_hidden || t.rows[row][col].type == StatCell::Type::kSuppressed;
      }
      std::vector<int> others;
      for (const auto& [name, v] : vars.count) {
        if (name != "referrals") others.push_back(v);
      }
      attacker.Relate(vars.count.at("referrals"), others, false);
      // A time over a group with a hidden count is hidden too; a shown
      // rate gives accepted / answered, so it comes with both shown.
      for (size_t col = 0; col < t.columns.size(); ++col) {
        INFO(table << " row " << row << " column " << t.columns[col]);
        if (t.rows[row][col].type != StatCell::Type::kNumber) continue;
        if (t.columns[col] == "acceptance rate (%)") {
          for (const std::string part : {"accepted", "declined"}) {
            const size_t at = std::find(t.columns.begin(), t.columns.end(), part) - t.columns.begin();
            REQUIRE(at < t.columns.size());
            CHECK(t.rows[row][at].type == StatCell::Type::kCount);
          }
        } else {
          CHECK_FALSE(any_hidden);
          const auto column = [&](const std::string& name) {
            return static_cast<size_t>(std::find(t.columns.begin(), t.columns.end(), name) - t.columns.begin());
          };
          const int64_t answers =
              truth.rows[row][column("accepted")].count + truth.rows[row][column("declined")].count;
          CHECK(EnoughAnswers(t.columns[col], answers, threshold));
        }
      }
      grouped[table].push_back(std::move(vars));
    }
    for (const auto& [name, vars] : columns) attacker.Relate(totals.at(name), vars, true);
  }
  // The pairs into one organisation add up to its row as a receiver.
  for (const RowVars& receiver : grouped["by_receiver"]) {
    for (const std::string measure : {"referrals", "accepted", "declined"}) {
      std::vector<int> parts;
      for (const RowVars& pair : grouped["by_pair"]) {
        if ((*pair.cells)[1].id == (*receiver.cells)[0].id) parts.push_back(pair.count.at(measure));
      }
      CHECK_FALSE(parts.empty());
      attacker.Relate(receiver.count.at(measure), parts, true);
    }
  }
  // The flow into one service adds up to the service's referrals, and the
  // flow out of one requesting category to the pairs sent from it.
  for (const RowVars& service : grouped["by_service"]) {
    std::vector<int> parts;
    for (const RowVars& flow : grouped["flow"]) {
      if ((*flow.cells)[1].text == (*service.cells)[0].text) parts.push_back(flow.count.at("referrals"));
    }
    attacker.Relate(service.count.at("referrals"), parts, true);
  }
  std::map<std::string, std::pair<std::vector<int>, std::vector<int>>> by_category;
  for (const RowVars& flow : grouped["flow"]) by_category[(*flow.cells)[0].text].first.push_back(flow.count.at("referrals"));
  for (const RowVars& pair : grouped["by_pair"]) {
    const auto it = categories.find((*pair.cells)[0].id);
    by_category[it == categories.end() ? "no listing" : it->second].second.push_back(pair.count.at("referrals"));
  }
  for (const auto& [category, sides] : by_category) attacker.Balance(sides.first, sides.second);

  std::vector<int> reasons, outcomes;
  for (size_t row = 0; row < Table(r, "decline_reasons").rows.size(); ++row) {
    reasons.push_back(add(Table(r, "decline_reasons").rows[row][1], Table(all, "decline_reasons").rows[row][1]));
  }
  for (size_t row = 0; row < Table(r, "outcomes").rows.size(); ++row) {
    outcomes.push_back(add(Table(r, "outcomes").rows[row][1], Table(all, "outcomes").rows[row][1]));
  }
  attacker.Relate(D, reasons, true);
  // Completing needs an outcome; closing may carry one.
  attacker.NoLess(outcomes, {C});
  attacker.NoLess({C, Cl}, outcomes);
  outcomes.push_back(P);
  attacker.Relate(A, outcomes, false);

  if (attack == Attack::kBounds) {
    // Every sum with a hidden count has at least two.
    const int fewest = attacker.FewestHiddenInAnEquality();
    CHECK(fewest != 1);
    for (const auto& [var, truth] : small) {
      ++tally.checked;
      const auto bounds = attacker.Bounded(var, 2'000);
      REQUIRE(bounds.has_value());  // the real log satisfies every relation
      INFO("a hidden count of " << truth << " is bounded to [" << bounds->first << ", " << bounds->second << "]");
      CHECK(bounds->first <= truth);
      CHECK(truth <= bounds->second);
      CHECK(bounds->first < bounds->second);
    }
    return;
  }
  for (const auto& [var, truth] : small) {
    // The relations hold for the real log.
    CHECK(attacker.Feasible(var, truth, truth).value_or(true));
    // Some other value is possible too.
    ++tally.checked;
    std::optional<bool> other = attacker.Feasible(var, 1, truth - 1);
    if (other.has_value() && !*other) other = attacker.Feasible(var, truth + 1, cap);
    if (!other.has_value()) {
      ++tally.undecided;
      continue;
    }
    INFO("a hidden count of " << truth << " can be worked out exactly");
    CHECK(*other);
  }
}

// Each organisation's directory category as a reader knows it, worked out
// here the way the statistics document it: the category of most of its
// listings, each listing once by its last category (ties: the lower number).
std::map<std::string, std::string> ListedCategories(const std::vector<AuditEvent>& log) {
  std::map<std::string, std::pair<std::string, uint8_t>> listings;
  for (const AuditEvent& e : log) {
    if (e.kind == AuditEventKind::kListingPublished) listings[HexEncode(e.listing_id)] = {HexEncode(e.actor_org_id), e.service};
  }
  std::map<std::string, std::map<uint8_t, int>> listed;
  for (const auto& [listing, org_category] : listings) ++listed[org_category.first][org_category.second];
  std::map<std::string, std::string> out;
  for (const auto& [org, counts] : listed) {
    int most = 0;
    for (const auto& [service, n] : counts) {
      if (n > most) most = n, out[org] = std::string(FormatName(NamedEnum::kServiceCategory, service));
    }
  }
  return out;
}

// Reports of `log` at thresholds 3 and 5, each attacked with the counts it
// hides known from the same report at threshold 1.
void AttackAtThresholds(const std::vector<AuditEvent>& log, int64_t now, Disclosures& tally) {
  const std::map<std::string, std::string> categories = ListedCategories(log);
  for (int64_t threshold : {3, 5}) {
    StatisticsOptions options;
    options.threshold = threshold;
    options.now_ms = now;
    StatisticsOptions everything = options;
    everything.threshold = 1;
    INFO("threshold " << threshold);
    CheckNothingDerivable(ComputeStatistics(log, options), ComputeStatistics(log, everything), threshold, categories,
                          tally);
  }
}

// A random log of a few organisations, services and months, with counts
// around the threshold, every way a referral can go, and directory listings
// that give some senders a category.
std::vector<AuditEvent> RandomLog(std::mt19937& random, int64_t now) {
  Synthetic s;
  const int orgs = 2 + static_cast<int>(random() % 3);
  for (int org = 1; org <= orgs; ++org) {
    const uint8_t category = static_cast<uint8_t>(random() % 3);  // 0: lists nothing
    if (category != 0) s.List(Id(static_cast<uint8_t>(org)), category);
  }
  const int referrals = static_cast<int>(random() % 30);
  for (int i = 0; i < referrals; ++i) {
    const AuditId from = Id(static_cast<uint8_t>(1 + random() % orgs));
    const AuditId to = Id(static_cast<uint8_t>(10 + random() % orgs));
    const int64_t at = kJan2026 + static_cast<int64_t>(random() % 3) * 31 * kDay;
    const int64_t due = random() % 2 ? at + kDay : now + kDay;
    AuditId r = s.Refer(from, to, static_cast<uint8_t>(1 + random() % 3), at, due, random() % 5 == 0);
    const int64_t answer = at + static_cast<int64_t>(1 + random() % 48) * kHour;
    switch (random() % 8) {
      case 0: case 1: break;  // awaiting (overdue when due has passed)
      case 2: s.Answer(r, AuditEventKind::kReferralDeclined, answer, static_cast<uint8_t>(1 + random() % 3)); break;
      case 3: s.Answer(r, AuditEventKind::kReferralWithdrawn, at + kHour); break;
      case 4: s.Answer(r, AuditEventKind::kReferralExpired, at + kDay); break;
      default:
        s.Answer(r, AuditEventKind::kReferralAccepted, answer);
        switch (random() % 4) {
          case 0: break;  // in progress
          case 1: s.Answer(r, AuditEventKind::kReferralClosed, at + 3 * kDay); break;
          case 2: s.Answer(r, AuditEventKind::kReferralClosed, at + 3 * kDay, static_cast<uint8_t>(1 + random() % 3)); break;
          default: s.Answer(r, AuditEventKind::kReferralCompleted, at + 3 * kDay, static_cast<uint8_t>(1 + random() % 3));
        }
    }
  }
  return s.events;
}

TEST_CASE("Known ways of working a hidden count out are closed", "[audit][stats]") {
  const int64_t now = kJan2026 + 100 * kDay;
  Synthetic s;
  auto refer = [&](uint8_t from, int n, AuditEventKind answer, uint8_t code = 0) {
    for (int i = 0; i < n; ++i) {
      AuditId r = s.Refer(Id(from), Id(50), 1, kJan2026, now + kDay);
      if (answer == AuditEventKind::kReferralCreated) continue;  // left unanswered
      s.Answer(r, answer == AuditEventKind::kReferralCompleted ? AuditEventKind::kReferralAccepted : answer,
               kJan2026 + kHour, answer == AuditEventKind::kReferralDeclined ? 1 : 0);
      if (answer == AuditEventKind::kReferralCompleted) s.Answer(r, answer, kJan2026 + kDay, code);
    }
  };
  SECTION("a group's other hidden cell is bounded by its own row") {
    // A: 1 unanswered; B: 5 accepted, 5 declined; C: 10 and 10. Hiding B's
    // referrals alone leaves B >= 10 from its row, and A = 31 - 20 - B = 1.
    refer(1, 1, AuditEventKind::kReferralCreated);
    refer(2, 5, AuditEventKind::kReferralAccepted);
    refer(2, 5, AuditEventKind::kReferralDeclined);
    refer(3, 10, AuditEventKind::kReferralAccepted);
    refer(3, 10, AuditEventKind::kReferralDeclined);
  }
  SECTION("the summary: referrals >= accepted + declined + awaiting") {
    refer(1, 10, AuditEventKind::kReferralAccepted);
    refer(1, 19, AuditEventKind::kReferralCreated);
    refer(1, 1, AuditEventKind::kReferralDeclined);
  }
  SECTION("outcomes: completed <= the outcomes <= completed + closed") {
    // 12 completed, none closed, 10 service provided: the hidden other
    // outcome is 12 - 10 = 2 unless more is hidden.
    refer(1, 10, AuditEventKind::kReferralCompleted, 1);  // service provided
    refer(2, 2, AuditEventKind::kReferralCompleted, 2);   // partially provided
    refer(3, 10, AuditEventKind::kReferralAccepted);      // in progress
  }
  SECTION("outcomes: accepted >= in progress + outcomes") {
    // 30 accepted, 20 in progress, 9 service provided: the one "other"
    // outcome is at most 30 - 20 - 9 = 1.
    refer(1, 10, AuditEventKind::kReferralAccepted);     // in progress
    refer(2, 10, AuditEventKind::kReferralAccepted);     // in progress
    refer(1, 9, AuditEventKind::kReferralCompleted, 1);  // service provided
    refer(1, 1, AuditEventKind::kReferralCompleted, 5);  // other
  }
  Disclosures tally;
  AttackAtThresholds(s.events, now, tally);
  CHECK(tally.checked > 0);
  CHECK(tally.undecided == 0);
}

TEST_CASE("No hidden count can be worked out exactly from the cells shown", "[audit][stats]") {
  std::mt19937 random(20261202);
  Disclosures tally;
  for (int run = 0; run < 300; ++run) {
    const int64_t now = kJan2026 + 100 * kDay;
    INFO("run " << run);
    AttackAtThresholds(RandomLog(random, now), now, tally);
  }
  // The search settled nearly every question it was asked.
  CHECK(tally.checked > 500);
  CHECK(tally.undecided * 100 <= tally.checked);
}

TEST_CASE("Statistics of an empty log are zeros, not errors", "[audit][stats]") {
  const StatisticsReport r = ComputeStatistics({}, {});
  CHECK(Summary(r, "referrals") == "0");
  CHECK(Summary(r, "acceptance rate (%)") == "-");
  CHECK(Table(r, "by_pair").rows.empty());
}

// A platform-sized log: 20,000 referrals over two years between 40 sending
// and 60 receiving organisations (about 2,250 pairs, most of them small, a
// few large: a few organisations receive most referrals), with directory
// listings that give most senders a category, and every way a referral can
// go. Answer times are skewed too: most within a day, some after weeks.
std::vector<AuditEvent> PlatformLog(std::mt19937& random, int64_t now) {
  std::vector<AuditEvent> events;
  for (uint8_t org = 1; org <= 40; ++org) {
    for (uint32_t listings = random() % 3; listings > 0; --listings) {  // 0 to 2
      AuditEvent e;
      e.kind = AuditEventKind::kListingPublished;
      e.actor_org_id = Id(org);
      e.listing_id = Id(150, static_cast<uint8_t>(org * 3 + listings));
      e.service = static_cast<uint8_t>(1 + random() % 9);
      events.push_back(e);
    }
  }
  for (int i = 0; i < 20'000; ++i) {
    AuditEvent e;
    e.kind = AuditEventKind::kReferralCreated;
    const int64_t at = kJan2026 + static_cast<int64_t>(random() % 730) * kDay;
    e.time_ms = at;
    e.actor_org_id = Id(static_cast<uint8_t>(1 + random() % 40));
    e.counterpart_org_id = Id(static_cast<uint8_t>(100 + std::min<uint32_t>(random() % 60, random() % 60)));
    e.referral_id = Id(static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i));
    e.referral_id[2] = static_cast<uint8_t>(i >> 16);
    e.referral_id[3] = 1;
    e.service = static_cast<uint8_t>(1 + std::min<uint32_t>(random() % 9, random() % 9));
    e.due_ms = at + 7 * kDay;
    e.flags = random() % 40 == 0 ? kFlagVitalInterests : 0;
    events.push_back(e);
    AuditEvent a = e;
    a.flags = 0;
    // Hours to answer: 1 to 24 mostly, up to three weeks for one in ten.
    a.time_ms = at + static_cast<int64_t>(random() % 10 == 0 ? 24 + random() % 480 : 1 + random() % 24) * kHour;
    const uint32_t fate = random() % 100;
    if (fate < 4) continue;  // awaiting; overdue unless created in the last week
    if (fate < 8) {
      a.kind = AuditEventKind::kReferralWithdrawn;
    } else if (fate < 12) {
      a.kind = AuditEventKind::kReferralExpired;
      a.time_ms = e.due_ms;
    } else if (fate < 35) {
      a.kind = AuditEventKind::kReferralDeclined;
      a.code = static_cast<uint8_t>(1 + std::min<uint32_t>(random() % 6, random() % 6));
    } else {
      a.kind = AuditEventKind::kReferralAccepted;
    }
    events.push_back(a);
    if (a.kind != AuditEventKind::kReferralAccepted || at + 60 * kDay > now) continue;  // recent: in progress
    a.time_ms += 30 * kDay;
    a.code = static_cast<uint8_t>(1 + std::min<uint32_t>(random() % 5, random() % 5));
    switch (random() % 8) {
      case 0: a.kind = AuditEventKind::kReferralClosed; a.code = 0; break;
      case 1: a.kind = AuditEventKind::kReferralClosed; break;
      case 2: continue;  // still in progress
      default: a.kind = AuditEventKind::kReferralCompleted;
    }
    events.push_back(a);
  }
  return events;
}

// The report of a platform-sized log: suppression hides only what it has to,
// in seconds, and still lets no hidden count be worked out (by the structure
// and bounds propagation; the exhaustive attacker is for small logs). Prints
// its figures: `trygg_audit_test "[scale]" -s`.
TEST_CASE("Statistics over a platform-sized log", "[audit][stats][scale]") {
  std::mt19937 random(7);
  const int64_t now = kJan2026 + 730 * kDay;
  const std::vector<AuditEvent> log = PlatformLog(random, now);
  StatisticsOptions options;
  options.now_ms = now;
  StatisticsOptions everything = options;
  everything.threshold = 1;
  const StatisticsReport all = ComputeStatistics(log, everything);
  const auto start = std::chrono::steady_clock::now();
  const StatisticsReport r = ComputeStatistics(log, options);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  int64_t counts = 0, hidden = 0, small = 0, times = 0, times_shown = 0;
  for (size_t t = 0; t < r.tables.size(); ++t) {
    for (size_t row = 0; row < r.tables[t].rows.size(); ++row) {
      for (size_t col = 0; col < r.tables[t].rows[row].size(); ++col) {
        const StatCell& shown = r.tables[t].rows[row][col];
        const StatCell& truth = all.tables[t].rows[row][col];
        if (truth.type == StatCell::Type::kNumber) {
          ++times;
          times_shown += shown.type == StatCell::Type::kNumber;
        }
        if (truth.type != StatCell::Type::kCount) continue;
        ++counts;
        hidden += shown.type == StatCell::Type::kSuppressed;
        small += truth.count > 0 && truth.count < options.threshold;
      }
    }
  }
  WARN(log.size() << " entries, " << Table(r, "by_pair").rows.size() << " organisation pairs: suppression in "
                  << seconds << " s; " << hidden << " of " << counts << " counts hidden, " << small
                  << " of them small; " << times_shown << " of " << times << " rates and times shown");
  CHECK(Table(r, "by_pair").rows.size() > 2'000);
  // Primary suppression is most of it: the complementary cells are fewer
  // than the small ones (an all-or-nothing fallback would hide every
  // non-zero count).
  CHECK(small > 500);
  CHECK(hidden >= small);
  CHECK(hidden - small < small);
  // The summary and the large rows stay readable.
  CHECK(Summary(r, "referrals") == "20000");
  CHECK(Summary(r, "time to answer, 90th percentile (hours)") != "x");
  CHECK(seconds < 120);  // a guard against hanging, not a benchmark

  Disclosures tally;
  CheckNothingDerivable(r, all, options.threshold, ListedCategories(log), tally, Attack::kBounds);
  CHECK(tally.checked == small);
}

TEST_CASE("A time to answer needs enough answers on each side of it", "[audit][stats]") {
  // One service, one pair: n answers after 1..n hours, all accepted.
  auto report = [](int answers, int64_t threshold) {
    Synthetic s;
    s.next = 0;
    for (int i = 0; i < answers; ++i) {
      AuditId r = s.Refer(Id(1), Id(2), 1, kJan2026);
      s.Answer(r, AuditEventKind::kReferralAccepted, kJan2026 + (i + 1) * kHour);
    }
    StatisticsOptions options;
    options.threshold = threshold;
    options.now_ms = kJan2026 + kDay;
    return ComputeStatistics(s.events, options);
  };
  const std::string median = "time to answer, median (hours)";
  const std::string p90 = "time to answer, 90th percentile (hours)";
  // The 90th percentile of 9 answers is the slowest of them: one case.
  CHECK(Summary(report(9, 5), median) == "5.0");
  CHECK(Summary(report(9, 5), p90) == "x");
  CHECK(Summary(report(8, 5), median) == "x");  // 4 at or below the lower middle
  CHECK(Summary(report(10, 5), median) == "5.5");
  CHECK(Summary(report(39, 5), p90) == "x");  // 36th of 39: 4 at or above it
  CHECK(Summary(report(40, 5), p90) == "36.0");
  CHECK(Summary(report(20, 3), p90) == "18.0");
  CHECK(Summary(report(19, 3), p90) == "x");
  // Per row too: the same rule, and a row's count shown.
  const StatisticsReport r39 = report(39, 5);
  const StatTable& services = Table(r39, "by_service");
  REQUIRE(services.columns[9] == p90);
  CHECK(services.rows[0][1].Display() == "39");
  CHECK(services.rows[0][8].Display() == "20.0");
  CHECK(services.rows[0][9].Display() == "x");
  const StatisticsReport r40 = report(40, 5);
  CHECK(Table(r40, "by_service").rows[0][9].Display() == "36.0");
  CHECK(Summary(report(4, 1), p90) == "4.0");  // threshold 1 shows everything

  SECTION("the summary time is hidden when the answers are, not only the referrals") {
    // 40 accepted after 1..40 hours and 2 declined: the declined count is
    // hidden, and the 42 answers with it, though the referrals are shown.
    Synthetic s;
    s.next = 0;
    for (int i = 0; i < 42; ++i) {
      AuditId r = s.Refer(Id(1), Id(2), 1, kJan2026);
      s.Answer(r, i < 40 ? AuditEventKind::kReferralAccepted : AuditEventKind::kReferralDeclined,
               kJan2026 + (i + 1) * kHour, 1);
    }
    StatisticsOptions options;
    options.now_ms = kJan2026 + kDay;
    const StatisticsReport r = ComputeStatistics(s.events, options);
    CHECK(Summary(r, "referrals") != "x");
    CHECK(Summary(r, "declined") == "x");
    CHECK(Summary(r, median) == "x");
    CHECK(Summary(r, p90) == "x");
  }
}

}  // namespace
}  // namespace trygg::audit
