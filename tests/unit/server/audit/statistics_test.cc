#include "server/audit/statistics.h"

#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

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
  // Answer times 1..12 h: median 6.5 h; nearest-rank p90 of 12 is the 11th.
  CHECK(Summary(r, "time to answer, median (hours)") == "6.5");
  CHECK(Summary(r, "time to answer, 90th percentile (hours)") == "11.0");

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
  CHECK(services.rows[0][4].Display() == "x");  // 8 accepted of 12 answered: the 4 declined
  CHECK(services.rows[1][0].text == "legal_advice");
  CHECK(services.rows[1][4].Display() == "-");  // no answers: no rate

  CHECK(Table(r, "decline_reasons").rows[0][0].text == "no_capacity");
  CHECK(Table(r, "outcomes").rows[0][1].Display() == "6");

  SECTION("threshold 1 shows every count") {
    options.threshold = 1;
    const StatisticsReport all = ComputeStatistics(s.events, options);
    CHECK(Summary(all, "declined") == "4");
    CHECK(Summary(all, "overdue (past answer-by)") == "2");
    CHECK(Summary(all, "vital-interests referrals") == "1");
    CHECK(Summary(all, "acceptance rate (%)") == "66.7");
    CHECK(Table(all, "by_pair").rows[0][2].Display() == "12");
  }
  SECTION("a high threshold hides rates and times over too few referrals") {
    options.threshold = 20;
    const StatisticsReport hidden = ComputeStatistics(s.events, options);
    CHECK(Summary(hidden, "acceptance rate (%)") == "x");
    CHECK(Summary(hidden, "time to answer, median (hours)") == "x");
    CHECK(Summary(hidden, "referrals") == "x");
  }
}

// With every count known (threshold 1), checks that the cells `r` shows give
// none of its hidden small counts away: no group of cells adding up to a shown
// total has exactly one hidden; a row's hidden accepted or declined count is
// not pinned down by its referrals and the other one; a shown rate has both
// its counts shown.
void CheckNothingDerivable(const StatisticsReport& r, const StatisticsReport& all, int64_t threshold) {
  auto count = [&](const StatisticsReport& rep, const std::string& table, size_t row, size_t col) {
    return Table(rep, table).rows[row][col];
  };
  auto summary_cell = [&](const StatisticsReport& rep, const std::string& measure) {
    for (const auto& row : Table(rep, "summary").rows) {
      if (row[0].text == measure) return row[1];
    }
    FAIL("no measure " << measure);
    return StatCell();
  };
  const std::vector<std::pair<std::string, std::string>> totals = {
      {"referrals", "referrals"}, {"accepted", "accepted"}, {"declined", "declined"}};
  for (const auto& [table, first_count] : std::vector<std::pair<std::string, size_t>>{
           {"by_pair", 2}, {"by_service", 1}, {"by_month", 1}}) {
    const StatTable& t = Table(r, table);
    for (size_t k = 0; k < 3; ++k) {
      const size_t col = first_count + k;
      int hidden = summary_cell(r, totals[k].second).type == StatCell::Type::kSuppressed ? 1 : 0;
      for (size_t row = 0; row < t.rows.size(); ++row) {
        if (t.rows[row][col].type == StatCell::Type::kSuppressed) ++hidden;
      }
      INFO(table << " column " << t.columns[col]);
      CHECK(hidden != 1);
    }
    for (size_t row = 0; row < t.rows.size(); ++row) {
      const StatCell& referrals = t.rows[row][first_count];
      const StatCell& accepted = t.rows[row][first_count + 1];
      const StatCell& declined = t.rows[row][first_count + 2];
      INFO(table << " row " << row);
      if (referrals.type != StatCell::Type::kSuppressed &&
          (accepted.type == StatCell::Type::kSuppressed) != (declined.type == StatCell::Type::kSuppressed)) {
        const StatCell& shown = accepted.type == StatCell::Type::kSuppressed ? declined : accepted;
        CHECK(referrals.count - shown.count >= threshold - 1);
      }
      if (table == "by_service" && t.rows[row][4].type == StatCell::Type::kNumber) {
        CHECK(accepted.type == StatCell::Type::kCount);
        CHECK(declined.type == StatCell::Type::kCount);
      }
      // Every hidden count really is hidden: a small one, or one shown
      // when nothing is suppressed.
      for (size_t col = first_count; col < first_count + 3; ++col) {
        const int64_t truth = count(all, table, row, col).count;
        if (truth > 0 && truth < threshold) CHECK(t.rows[row][col].type == StatCell::Type::kSuppressed);
      }
    }
  }
  const StatTable& reasons = Table(r, "decline_reasons");
  int hidden = summary_cell(r, "declined").type == StatCell::Type::kSuppressed ? 1 : 0;
  for (const auto& row : reasons.rows) {
    if (row[1].type == StatCell::Type::kSuppressed) ++hidden;
  }
  CHECK(hidden != 1);
  if (summary_cell(r, "acceptance rate (%)").type == StatCell::Type::kNumber) {
    CHECK(summary_cell(r, "accepted").type == StatCell::Type::kCount);
    CHECK(summary_cell(r, "declined").type == StatCell::Type::kCount);
  }
}

TEST_CASE("No hidden count can be worked out from the cells shown", "[audit][stats]") {
  // Many random logs of a few organisations, services and months, with
  // counts around the threshold where subtraction attacks bite.
  std::mt19937 random(20261202);
  for (int run = 0; run < 300; ++run) {
    Synthetic s;
    const int orgs = 2 + static_cast<int>(random() % 3);
    const int referrals = static_cast<int>(random() % 40);
    for (int i = 0; i < referrals; ++i) {
      const AuditId from = Id(static_cast<uint8_t>(1 + random() % orgs));
      const AuditId to = Id(static_cast<uint8_t>(10 + random() % orgs));
      const int64_t at = kJan2026 + static_cast<int64_t>(random() % 3) * 31 * kDay;
      AuditId r = s.Refer(from, to, static_cast<uint8_t>(1 + random() % 3), at);
      switch (random() % 3) {
        case 0: s.Answer(r, AuditEventKind::kReferralAccepted, at + kHour); break;
        case 1: s.Answer(r, AuditEventKind::kReferralDeclined, at + kHour,
                         static_cast<uint8_t>(1 + random() % 3)); break;
        default: break;
      }
    }
    for (int64_t threshold : {3, 5}) {
      StatisticsOptions options;
      options.threshold = threshold;
      options.now_ms = kJan2026 + 100 * kDay;
      StatisticsOptions everything = options;
      everything.threshold = 1;
      INFO("run " << run << ", threshold " << threshold << ", " << referrals << " referrals");
      CheckNothingDerivable(ComputeStatistics(s.events, options), ComputeStatistics(s.events, everything),
                            threshold);
    }
  }
}

TEST_CASE("Statistics of an empty log are zeros, not errors", "[audit][stats]") {
  const StatisticsReport r = ComputeStatistics({}, {});
  CHECK(Summary(r, "referrals") == "0");
  CHECK(Summary(r, "acceptance rate (%)") == "-");
  CHECK(Table(r, "by_pair").rows.empty());
}

}  // namespace
}  // namespace trygg::audit
