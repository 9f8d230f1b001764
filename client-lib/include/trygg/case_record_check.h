// SPDX-License-Identifier: Apache-2.0

// The formats that a case record's fields must have (docs/case-record.md),
// from the HTCDS 2.0 field standard (../shared/standards/htcds/): dates ISO
// 8601 YYYY-MM-DD (prs_Birthdate, spl_PlannedEndDate), countries ISO 3166-1
// alpha-2 (prs_Citizenship, prs_MailingCountry), languages BCP 47
// (prs_PrimaryLanguage, prs_SecondaryLanguage), mobile phones E.164
// (prs_MobilePhone) and an e-mail address (prs_Email). `trygg case create` and
// `case append` check every field of a case file before it is sealed, so a
// wrong form is refused on the device instead of being carried in
// ciphertext nobody can check later; partner apps call the same function.
//
// An empty value is a field left out and is always accepted.
//
// Ownership: the arguments are read during the call only.
// Thread-safety: pure functions over constant tables; thread-safe.
// Failure modes: InvalidArgument "<field> must be <the expected form>, e.g.
// <an example>". The message names the field and never repeats the value,
// which may be about a survivor.
#ifndef TRYGG_CASE_RECORD_CHECK_H_
#define TRYGG_CASE_RECORD_CHECK_H_

#include <string_view>

#include "absl/status/status.h"

namespace trygg {

enum class FieldFormat {
  kDate,         // ISO 8601 calendar date YYYY-MM-DD that exists (1999-04-02)
  kCountryCode,  // ISO 3166-1 alpha-2, upper case, an assigned code (RO)
  kLanguageTag,  // BCP 47 language[-Script][-REGION], as listing.h's CanonicalLanguageTag (ro, sv-SE)
  kPhoneNumber,  // E.164: "+", country code and number, at most 15 digits
  kEmail,        // local@domain.tld, no spaces
};

// OK when `value` is empty or has `format`; otherwise InvalidArgument naming
// `field` (as the case file spells it, e.g. "person.citizenship[1]").
absl::Status CheckFieldFormat(FieldFormat format, std::string_view field, std::string_view value);

// True for an assigned ISO 3166-1 alpha-2 code ("RO"; not "ro", "ROU").
bool IsCountryCode(std::string_view code);

}  // namespace trygg

#endif  // TRYGG_CASE_RECORD_CHECK_H_
