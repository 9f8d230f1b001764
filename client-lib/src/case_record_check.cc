// SPDX-License-Identifier: Apache-2.0

#include "trygg/case_record_check.h"

#include <algorithm>
#include <iterator>
#include <string>

#include "trygg/listing.h"

namespace trygg {
namespace {

// ISO 3166-1 alpha-2, every officially assigned code, sorted: from Debian's
// iso-codes 4.15.0 (/usr/share/iso-codes/json/iso_3166-1.json). Compiled in so
// that a partner app needs no data file to check a case record.
constexpr std::string_view kCountryCodes[] = {
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
};

bool IsDecimalDigit(char c) { return c >= '0' && c <= '9'; }

bool IsLeapYear(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

bool IsIsoDate(std::string_view v) {
  if (v.size() != 10 || v[4] != '-' || v[7] != '-') return false;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i != 4 && i != 7 && !IsDecimalDigit(v[i])) return false;
  }
  const int year = (v[0] - '0') * 1000 + (v[1] - '0') * 100 + (v[2] - '0') * 10 + (v[3] - '0');
  const int month = (v[5] - '0') * 10 + (v[6] - '0');
  const int day = (v[8] - '0') * 10 + (v[9] - '0');
  if (year < 1 || month < 1 || month > 12 || day < 1) return false;
  constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const int days = kDays[month - 1] + (month == 2 && IsLeapYear(year) ? 1 : 0);
  return day <= days;
}

bool IsE164(std::string_view v) {
  if (v.size() < 3 || v.size() > 16 || v[0] != '+' || v[1] == '0') return false;
  return std::all_of(v.begin() + 1, v.end(), IsDecimalDigit);
}

bool IsEmail(std::string_view v) {
  const size_t at = v.find('@');
  if (at == std::string_view::npos || at == 0 || v.find('@', at + 1) != std::string_view::npos) return false;
  const std::string_view domain = v.substr(at + 1);
  const size_t dot = domain.rfind('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == domain.size()) return false;
  return std::none_of(v.begin(), v.end(), [](char c) { return static_cast<unsigned char>(c) <= ' ' || c == 0x7f; });
}

}  // namespace

bool IsCountryCode(std::string_view code) {
  return std::binary_search(std::begin(kCountryCodes), std::end(kCountryCodes), code);
}

absl::Status CheckFieldFormat(FieldFormat format, std::string_view field, std::string_view value) {
  if (value.empty()) return absl::OkStatus();
  bool ok = false;
  std::string_view expected;
  switch (format) {
    case FieldFormat::kDate:
      ok = IsIsoDate(value);
      expected = "an ISO 8601 date YYYY-MM-DD, e.g. 1999-04-02";
      break;
    case FieldFormat::kCountryCode:
      ok = IsCountryCode(value);
      expected = "an ISO 3166-1 alpha-2 country code in capitals, e.g. RO for Romania";
      break;
    case FieldFormat::kLanguageTag:
      ok = CanonicalLanguageTag(value).ok();  // the directory's one BCP 47 check
      expected = "a BCP 47 language tag, language[-Script][-REGION], e.g. ro or sv-SE";
      break;
    case FieldFormat::kPhoneNumber:
      ok = IsE164(value);
      expected = "an E.164 phone number: + and at most 15 digits, no spaces, e.g. +46701234567";
      break;
    case FieldFormat::kEmail:
      ok = IsEmail(value);
      expected = "an e-mail address, e.g. name@example.org";
      break;
  }
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(std::string(field) + " must be " + std::string(expected));
}

}  // namespace trygg
