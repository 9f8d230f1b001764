// SPDX-License-Identifier: Apache-2.0

// The names people read and type for the values of Trygg's enums: referral
// states, decline reasons, outcomes, urgencies, referral bases, consent
// purposes, service categories, target groups, forms of exploitation, device
// roles and root certificate kinds. One table per enum, here, and one spelling: kebab-case
// ("no-capacity", "legal-advice", "org-admin"), as docs/api.md says. The
// tools print and parse them, the coordinator statistics print them, the
// HSDS export uses them as taxonomy codes.
//
// Values are the enums' wire numbers (trygg.v1 and the signed formats), as
// uint8_t, so that a number read from the wire can be named before it is
// known to be valid; 0 is "unspecified" in every trygg.v1 enum and has no
// name.
//
// Ownership: the names are static strings; a returned string_view lives as
// long as the program.
// Thread-safety: pure functions over constant tables; thread-safe.
// Failure modes: none. FormatName returns "" for 0 and for a number the enum
// does not have; ParseName returns nullopt for any string that is not
// exactly one of the names (so "", "unspecified", "no_capacity" and
// "No-Capacity" are all refused).
#ifndef TRYGG_NAMES_H_
#define TRYGG_NAMES_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace trygg {

enum class NamedEnum : uint8_t {
  kReferralState,     // ReferralState / ReferralStatus: sent ... closed
  kDeclineReason,     // DeclineReason: no-capacity ... other
  kOutcome,           // ReferralOutcome: service-provided ... other
  kUrgency,           // ReferralUrgency: routine, urgent, emergency
  kReferralBasis,     // ReferralBasis: consent, vital-interests
  kConsentPurpose,    // ConsentPurpose: referral-for-services ... other
  kServiceCategory,   // ServiceCategory: shelter ... other
  kTargetGroup,       // TargetGroup: women ... lgbtq
  kExploitationForm,  // ExploitationForm: sexual ... organ-removal
  kRole,              // Role: caseworker, org-admin, coordinator
  kCertificateKind,   // CertificateKind: organisation, coordinator, server
};

// The name of `value`; "" for 0 and for a number out of range.
std::string_view FormatName(NamedEnum kind, uint8_t value);
// The value named exactly `name`; nullopt for anything else.
std::optional<uint8_t> ParseName(NamedEnum kind, std::string_view name);
// Every name of `kind`, value 1 first, in number order.
std::span<const std::string_view> Names(NamedEnum kind);
// The names for a help text or an error: "routine, urgent or emergency".
std::string NameChoices(NamedEnum kind);

// Shorthands for one enum each.
inline std::string_view ReferralStatusName(uint8_t state) { return FormatName(NamedEnum::kReferralState, state); }
inline std::string_view DeclineReasonName(uint8_t reason) { return FormatName(NamedEnum::kDeclineReason, reason); }
inline std::string_view OutcomeName(uint8_t outcome) { return FormatName(NamedEnum::kOutcome, outcome); }
inline std::string_view UrgencyName(uint8_t urgency) { return FormatName(NamedEnum::kUrgency, urgency); }
inline std::string_view ReferralBasisName(uint8_t basis) { return FormatName(NamedEnum::kReferralBasis, basis); }
inline std::string_view ConsentPurposeName(uint8_t purpose) { return FormatName(NamedEnum::kConsentPurpose, purpose); }
inline std::string_view ServiceCategoryName(uint8_t category) {
  return FormatName(NamedEnum::kServiceCategory, category);
}
inline std::string_view TargetGroupName(uint8_t group) { return FormatName(NamedEnum::kTargetGroup, group); }
inline std::string_view ExploitationFormName(uint8_t form) { return FormatName(NamedEnum::kExploitationForm, form); }

inline std::optional<uint8_t> ReferralStatusFromName(std::string_view name) {
  return ParseName(NamedEnum::kReferralState, name);
}
inline std::optional<uint8_t> DeclineReasonFromName(std::string_view name) {
  return ParseName(NamedEnum::kDeclineReason, name);
}
inline std::optional<uint8_t> OutcomeFromName(std::string_view name) { return ParseName(NamedEnum::kOutcome, name); }
inline std::optional<uint8_t> UrgencyFromName(std::string_view name) { return ParseName(NamedEnum::kUrgency, name); }
inline std::optional<uint8_t> ConsentPurposeFromName(std::string_view name) {
  return ParseName(NamedEnum::kConsentPurpose, name);
}
inline std::optional<uint8_t> ServiceCategoryFromName(std::string_view name) {
  return ParseName(NamedEnum::kServiceCategory, name);
}
inline std::optional<uint8_t> TargetGroupFromName(std::string_view name) {
  return ParseName(NamedEnum::kTargetGroup, name);
}
inline std::optional<uint8_t> ExploitationFormFromName(std::string_view name) {
  return ParseName(NamedEnum::kExploitationForm, name);
}

}  // namespace trygg

#endif  // TRYGG_NAMES_H_
