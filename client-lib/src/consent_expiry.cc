// SPDX-License-Identifier: Apache-2.0

#include "trygg/consent_expiry.h"

#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "trygg/case_record_check.h"

namespace trygg {

absl::StatusOr<int64_t> ConsentExpiryFromDate(std::string_view date) {
  // CheckFieldFormat accepts an empty value as "left out"; an expiry is required.
  if (date.empty() || !CheckFieldFormat(FieldFormat::kDate, "consent expiry", date).ok()) {
    return absl::InvalidArgumentError("consent expiry must be a date YYYY-MM-DD that exists, e.g. 2027-03-31");
  }
  absl::CivilDay day;
  if (!absl::ParseCivilTime(absl::string_view(date.data(), date.size()), &day)) {
    return absl::InvalidArgumentError("consent expiry must be a date YYYY-MM-DD that exists, e.g. 2027-03-31");
  }
  absl::TimeZone zone;
  if (!absl::LoadTimeZone(kConsentTimeZone, &zone)) {
    return absl::InternalError(std::string("the time zone database has no ") + kConsentTimeZone +
                               "; install tzdata");
  }
  // The day after, at its first instant: a civil day boundary can be skipped
  // by a DST change in some zones, and `pre` is the instant that day begins.
  return absl::ToUnixMillis(zone.At(absl::CivilSecond(day + 1)).pre);
}

}  // namespace trygg
