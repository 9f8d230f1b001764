// SPDX-License-Identifier: Apache-2.0

// When a consent given "until YYYY-MM-DD" ends. A caseworker who writes a
// date means the whole of that day where the survivor and the caseworker are:
// the consent lapses at the first instant of the next day in Europe/Stockholm
// (00:00 local, 23:00 or 22:00 UTC), never at UTC midnight at the start of
// the date, which would take up to 26 hours of agreed consent away. The CLI
// (`trygg consent record --expires`) and trygg-app both use this function.
//
// Ownership: the argument is read during the call only.
// Thread-safety: thread-safe (Abseil caches the loaded zone).
// Failure modes: InvalidArgument "consent expiry must be a date YYYY-MM-DD
// that exists, e.g. 2027-03-31" for anything else; Internal when the time
// zone database (Debian's tzdata) has no Europe/Stockholm, rather than
// silently counting in UTC.
#ifndef TRYGG_CONSENT_EXPIRY_H_
#define TRYGG_CONSENT_EXPIRY_H_

#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"

namespace trygg {

inline constexpr char kConsentTimeZone[] = "Europe/Stockholm";

// Unix milliseconds of the start of the day after `date` in Europe/Stockholm.
absl::StatusOr<int64_t> ConsentExpiryFromDate(std::string_view date);

}  // namespace trygg

#endif  // TRYGG_CONSENT_EXPIRY_H_
