// SPDX-License-Identifier: Apache-2.0

// The HTCDS field forms of a case record (trygg/case_record_check.h): what is
// accepted, what is refused, and that a refusal names the field and the form
// but never the value.
#include "trygg/case_record_check.h"

#include <catch2/catch.hpp>
#include <string>

namespace trygg {
namespace {

bool Accepts(FieldFormat format, std::string_view value) { return CheckFieldFormat(format, "f", value).ok(); }

TEST_CASE("an empty field is a field left out") {
  for (FieldFormat f : {FieldFormat::kDate, FieldFormat::kCountryCode, FieldFormat::kLanguageTag,
                        FieldFormat::kPhoneNumber, FieldFormat::kEmail}) {
    CHECK(Accepts(f, ""));
  }
}

TEST_CASE("dates are ISO 8601 YYYY-MM-DD and exist") {
  CHECK(Accepts(FieldFormat::kDate, "1999-04-02"));
  CHECK(Accepts(FieldFormat::kDate, "2024-02-29"));
  CHECK(Accepts(FieldFormat::kDate, "2000-02-29"));
  CHECK_FALSE(Accepts(FieldFormat::kDate, "02/04/1999"));
  CHECK_FALSE(Accepts(FieldFormat::kDate, "1999-4-2"));
  CHECK_FALSE(Accepts(FieldFormat::kDate, "1999-04-02T00:00:00Z"));
  CHECK_FALSE(Accepts(FieldFormat::kDate, "1999-13-01"));
  CHECK_FALSE(Accepts(FieldFormat::kDate, "1999-04-31"));
  CHECK_FALSE(Accepts(FieldFormat::kDate, "1900-02-29"));
  CHECK_FALSE(Accepts(FieldFormat::kDate, "0000-01-01"));
  CHECK_FALSE(Accepts(FieldFormat::kDate, "1999-04-00"));
}

TEST_CASE("countries are assigned ISO 3166-1 alpha-2 codes in capitals") {
  CHECK(Accepts(FieldFormat::kCountryCode, "RO"));
  CHECK(Accepts(FieldFormat::kCountryCode, "SE"));
  CHECK(Accepts(FieldFormat::kCountryCode, "AD"));  // first in the table
  CHECK(Accepts(FieldFormat::kCountryCode, "ZW"));  // last
  CHECK_FALSE(Accepts(FieldFormat::kCountryCode, "Romania"));
  CHECK_FALSE(Accepts(FieldFormat::kCountryCode, "ro"));
  CHECK_FALSE(Accepts(FieldFormat::kCountryCode, "ROU"));
  CHECK_FALSE(Accepts(FieldFormat::kCountryCode, "XX"));
  CHECK_FALSE(Accepts(FieldFormat::kCountryCode, "UK"));  // not assigned: GB
  CHECK(IsCountryCode("GB"));
  CHECK_FALSE(IsCountryCode(""));
}

TEST_CASE("languages are BCP 47 tags") {
  CHECK(Accepts(FieldFormat::kLanguageTag, "ro"));
  CHECK(Accepts(FieldFormat::kLanguageTag, "sv-SE"));
  CHECK(Accepts(FieldFormat::kLanguageTag, "sr-Latn-RS"));
  CHECK_FALSE(Accepts(FieldFormat::kLanguageTag, "Romanian"));
  CHECK_FALSE(Accepts(FieldFormat::kLanguageTag, "r"));
  CHECK_FALSE(Accepts(FieldFormat::kLanguageTag, "ro_RO"));
}

TEST_CASE("mobile phones are E.164") {
  CHECK(Accepts(FieldFormat::kPhoneNumber, "+46701234567"));
  CHECK(Accepts(FieldFormat::kPhoneNumber, "+407000000000"));
  CHECK_FALSE(Accepts(FieldFormat::kPhoneNumber, "0701234567"));
  CHECK_FALSE(Accepts(FieldFormat::kPhoneNumber, "+46 70 123 45 67"));
  CHECK_FALSE(Accepts(FieldFormat::kPhoneNumber, "+0701234567"));
  CHECK_FALSE(Accepts(FieldFormat::kPhoneNumber, "+1234567890123456"));  // 16 digits
}

TEST_CASE("e-mail addresses have one @ and a domain with a dot") {
  CHECK(Accepts(FieldFormat::kEmail, "ioana@example.org"));
  CHECK_FALSE(Accepts(FieldFormat::kEmail, "ioana"));
  CHECK_FALSE(Accepts(FieldFormat::kEmail, "ioana@example"));
  CHECK_FALSE(Accepts(FieldFormat::kEmail, "@example.org"));
  CHECK_FALSE(Accepts(FieldFormat::kEmail, "a@b@example.org"));
  CHECK_FALSE(Accepts(FieldFormat::kEmail, "io ana@example.org"));
}

TEST_CASE("a refusal names the field and the form, never the value") {
  const absl::Status status = CheckFieldFormat(FieldFormat::kCountryCode, "person.citizenship[0]", "Romania");
  REQUIRE(status.code() == absl::StatusCode::kInvalidArgument);
  const std::string message(status.message());
  CHECK(message.find("person.citizenship[0]") != std::string::npos);
  CHECK(message.find("ISO 3166-1 alpha-2") != std::string::npos);
  const absl::Status date = CheckFieldFormat(FieldFormat::kDate, "person.birthdate", "02/04/1999");
  CHECK(std::string(date.message()).find("02/04/1999") == std::string::npos);
  CHECK(std::string(date.message()).find("YYYY-MM-DD") != std::string::npos);
}

}  // namespace
}  // namespace trygg
