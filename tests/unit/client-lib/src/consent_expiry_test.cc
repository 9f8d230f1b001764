// SPDX-License-Identifier: Apache-2.0

// A consent "until 2027-03-31" lasts to the end of that day in Swedish time
// (trygg/consent_expiry.h), in winter, in summer and across the DST changes.
#include "trygg/consent_expiry.h"

#include <catch2/catch.hpp>

namespace trygg {
namespace {

// Unix milliseconds of a UTC time, computed by hand from the calendar.
constexpr int64_t kHour = 3600 * 1000;

TEST_CASE("a consent date ends at midnight after that day in Europe/Stockholm") {
  // 2027-01-15 ends 2027-01-16 00:00 CET = 2027-01-15 23:00 UTC.
  // 2027-01-15T00:00Z is 1799971200 s.
  const int64_t jan15_utc_midnight = int64_t{1799971200} * 1000;
  absl::StatusOr<int64_t> winter = ConsentExpiryFromDate("2027-01-15");
  REQUIRE(winter.ok());
  CHECK(*winter == jan15_utc_midnight + 23 * kHour);
  // Not the old UTC midnight at the start of the date.
  CHECK(*winter != jan15_utc_midnight);

  // 2027-07-15 ends 2027-07-16 00:00 CEST = 2027-07-15 22:00 UTC.
  // 2027-07-15T00:00Z is 1815609600 s.
  absl::StatusOr<int64_t> summer = ConsentExpiryFromDate("2027-07-15");
  REQUIRE(summer.ok());
  CHECK(*summer == int64_t{1815609600} * 1000 + 22 * kHour);
}

TEST_CASE("a consent date on the day summer time begins still ends at the next midnight") {
  // Summer time begins 2027-03-28 at 02:00 CET; the day after starts at
  // 2027-03-29 00:00 CEST = 2027-03-28 22:00 UTC. 2027-03-28T00:00Z is 1806192000 s.
  absl::StatusOr<int64_t> expiry = ConsentExpiryFromDate("2027-03-28");
  REQUIRE(expiry.ok());
  CHECK(*expiry == int64_t{1806192000} * 1000 + 22 * kHour);
}

TEST_CASE("a consent expiry that is not a date is refused") {
  for (const char* bad : {"", "2027-02-30", "31/03/2027", "2027-3-31", "2027-03-31T00:00:00Z", "tomorrow"}) {
    absl::StatusOr<int64_t> expiry = ConsentExpiryFromDate(bad);
    INFO(bad);
    CHECK(absl::IsInvalidArgument(expiry.status()));
  }
}

}  // namespace
}  // namespace trygg
