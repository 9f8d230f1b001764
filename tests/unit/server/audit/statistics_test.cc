#include "server/audit/statistics.h"

#include <catch2/catch.hpp>

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
  CHECK(Summary(r, "declined") == "<5");
  CHECK(Summary(r, "acceptance rate (%)") == "66.7");
  CHECK(Summary(r, "awaiting an answer") == "<5");
  CHECK(Summary(r, "overdue (past answer-by)") == "<5");
  CHECK(Summary(r, "vital-interests referrals") == "<5");
  // Answer times 1..12 h: median 6.5 h; nearest-rank p90 of 12 is the 11th.
  CHECK(Summary(r, "time to answer, median (hours)") == "6.5");
  CHECK(Summary(r, "time to answer, 90th percentile (hours)") == "11.0");

  const StatTable& pairs = Table(r, "by_pair");
  REQUIRE(pairs.rows.size() == 2);
  CHECK(pairs.rows[0][2].Display() == "12");
  CHECK(pairs.rows[1][2].Display() == "<5");
  CHECK(pairs.rows[1][2].type == StatCell::Type::kSuppressed);
  CHECK(pairs.rows[1][2].count == 0);  // the hidden number is not carried at all

  const StatTable& months = Table(r, "by_month");
  REQUIRE(months.rows.size() == 2);
  CHECK(months.rows[0][0].text == "2026-01");
  CHECK(months.rows[1][0].text == "2026-02");

  const StatTable& services = Table(r, "by_service");
  CHECK(services.rows[0][0].text == "shelter");
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
  }
  SECTION("a high threshold hides rates and times over too few referrals") {
    options.threshold = 20;
    const StatisticsReport hidden = ComputeStatistics(s.events, options);
    CHECK(Summary(hidden, "acceptance rate (%)") == "<20");
    CHECK(Summary(hidden, "time to answer, median (hours)") == "<20");
    CHECK(Summary(hidden, "referrals") == "<20");
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
