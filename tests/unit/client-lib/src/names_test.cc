// SPDX-License-Identifier: Apache-2.0

// The one name table per enum (trygg/names.h): every value has a kebab-case
// name, names parse back to their value, and nothing else parses.
#include "trygg/names.h"

#include <catch2/catch.hpp>
#include <set>
#include <string>

#include "trygg/listing.h"
#include "trygg/referral_workflow.h"
#include "trygg/workflow.h"

namespace trygg {
namespace {

constexpr NamedEnum kEveryEnum[] = {
    NamedEnum::kReferralState,    NamedEnum::kDeclineReason,  NamedEnum::kOutcome,         NamedEnum::kUrgency,
    NamedEnum::kReferralBasis,    NamedEnum::kConsentPurpose, NamedEnum::kServiceCategory, NamedEnum::kTargetGroup,
    NamedEnum::kExploitationForm, NamedEnum::kRole,           NamedEnum::kCertificateKind,
};

bool IsKebabCase(std::string_view name) {
  if (name.empty() || name.front() == '-' || name.back() == '-') return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (c == '-' && name[i - 1] == '-') return false;
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

TEST_CASE("every name is kebab-case, unique within its enum, and parses back to its value", "[names]") {
  for (NamedEnum kind : kEveryEnum) {
    const auto names = Names(kind);
    REQUIRE(!names.empty());
    std::set<std::string_view> seen;
    for (size_t i = 0; i < names.size(); ++i) {
      const uint8_t value = static_cast<uint8_t>(i + 1);
      INFO(names[i]);
      CHECK(IsKebabCase(names[i]));
      CHECK(seen.insert(names[i]).second);
      CHECK(FormatName(kind, value) == names[i]);
      CHECK(ParseName(kind, names[i]) == value);
    }
    CHECK(FormatName(kind, 0).empty());
    CHECK(FormatName(kind, static_cast<uint8_t>(names.size() + 1)).empty());
    CHECK(FormatName(kind, 255).empty());
  }
}

TEST_CASE("names cover exactly the values the formats allow", "[names]") {
  CHECK(Names(NamedEnum::kReferralState).size() == kMaxReferralState);
  CHECK(Names(NamedEnum::kDeclineReason).size() == kMaxDeclineReason);
  CHECK(Names(NamedEnum::kOutcome).size() == kMaxOutcome);
  CHECK(Names(NamedEnum::kServiceCategory).size() == kMaxServiceCategory);
  CHECK(Names(NamedEnum::kTargetGroup).size() == kMaxTargetGroup);
  CHECK(Names(NamedEnum::kExploitationForm).size() == kMaxExploitationForm);
}

TEST_CASE("only the exact spelling parses", "[names]") {
  CHECK(DeclineReasonFromName("no-capacity") == uint8_t{1});
  CHECK_FALSE(DeclineReasonFromName("no_capacity").has_value());
  CHECK_FALSE(DeclineReasonFromName("No-Capacity").has_value());
  CHECK_FALSE(DeclineReasonFromName("").has_value());
  CHECK_FALSE(DeclineReasonFromName("unspecified").has_value());
  CHECK(ServiceCategoryFromName("legal-advice") == static_cast<uint8_t>(ServiceCategory::kLegalAdvice));
  CHECK_FALSE(ServiceCategoryFromName("legal_advice").has_value());
  CHECK(ExploitationFormName(static_cast<uint8_t>(ExploitationForm::kForcedCriminality)) == "forced-criminality");
  CHECK(ReferralBasisName(static_cast<uint8_t>(ReferralBasis::kVitalInterests)) == "vital-interests");
  CHECK(FormatName(NamedEnum::kRole, static_cast<uint8_t>(Role::kOrgAdmin)) == "org-admin");
}

TEST_CASE("NameChoices lists the names for a help text", "[names]") {
  CHECK(NameChoices(NamedEnum::kUrgency) == "routine, urgent or emergency");
  CHECK(NameChoices(NamedEnum::kReferralBasis) == "consent or vital-interests");
}

}  // namespace
}  // namespace trygg
