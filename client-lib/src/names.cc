// SPDX-License-Identifier: Apache-2.0

#include "trygg/names.h"

#include <iterator>

#include "trygg/listing.h"
#include "trygg/referral_workflow.h"
#include "trygg/workflow.h"

namespace trygg {
namespace {

// Index = wire number; [0], "unspecified" on the wire, has no name.
constexpr std::string_view kReferralStateNames[] = {"",        "sent",    "accepted",  "declined",
                                                    "withdrawn", "expired", "completed", "closed"};
constexpr std::string_view kDeclineReasonNames[] = {
    "", "no-capacity", "outside-mandate", "not-eligible", "cannot-contact", "survivor-declined", "other"};
constexpr std::string_view kOutcomeNames[] = {
    "", "service-provided", "partially-provided", "survivor-disengaged", "referred-onward", "other"};
constexpr std::string_view kUrgencyNames[] = {"", "routine", "urgent", "emergency"};
constexpr std::string_view kReferralBasisNames[] = {"", "consent", "vital-interests"};
constexpr std::string_view kConsentPurposeNames[] = {
    "", "referral-for-services", "coordination-of-support", "safe-return-planning", "legal-proceedings", "other"};
constexpr std::string_view kServiceCategoryNames[] = {
    "",         "shelter",    "legal-advice",        "interpreting", "counselling", "safe-return",
    "outreach", "healthcare", "employment-training", "other"};
constexpr std::string_view kTargetGroupNames[] = {"", "women", "men", "children", "families", "lgbtq"};
constexpr std::string_view kExploitationFormNames[] = {
    "", "sexual", "labour", "forced-criminality", "begging", "domestic-servitude", "organ-removal"};
constexpr std::string_view kRoleNames[] = {"", "caseworker", "org-admin", "coordinator"};
constexpr std::string_view kCertificateKindNames[] = {"", "organisation", "coordinator", "server"};

static_assert(std::size(kReferralStateNames) == kMaxReferralState + 1);
static_assert(std::size(kDeclineReasonNames) == kMaxDeclineReason + 1);
static_assert(std::size(kOutcomeNames) == kMaxOutcome + 1);
static_assert(std::size(kUrgencyNames) == static_cast<size_t>(ReferralUrgency::kEmergency) + 1);
static_assert(std::size(kReferralBasisNames) == static_cast<size_t>(ReferralBasis::kVitalInterests) + 1);
static_assert(std::size(kConsentPurposeNames) == static_cast<size_t>(ConsentPurpose::kOther) + 1);
static_assert(std::size(kServiceCategoryNames) == kMaxServiceCategory + 1);
static_assert(std::size(kTargetGroupNames) == kMaxTargetGroup + 1);
static_assert(std::size(kExploitationFormNames) == kMaxExploitationForm + 1);
static_assert(std::size(kRoleNames) == static_cast<size_t>(Role::kCoordinator) + 1);
static_assert(std::size(kCertificateKindNames) == static_cast<size_t>(CertificateKind::kServer) + 1);

std::span<const std::string_view> TableOf(NamedEnum kind) {
  switch (kind) {
    case NamedEnum::kReferralState: return kReferralStateNames;
    case NamedEnum::kDeclineReason: return kDeclineReasonNames;
    case NamedEnum::kOutcome: return kOutcomeNames;
    case NamedEnum::kUrgency: return kUrgencyNames;
    case NamedEnum::kReferralBasis: return kReferralBasisNames;
    case NamedEnum::kConsentPurpose: return kConsentPurposeNames;
    case NamedEnum::kServiceCategory: return kServiceCategoryNames;
    case NamedEnum::kTargetGroup: return kTargetGroupNames;
    case NamedEnum::kExploitationForm: return kExploitationFormNames;
    case NamedEnum::kRole: return kRoleNames;
    case NamedEnum::kCertificateKind: return kCertificateKindNames;
  }
  return {};
}

}  // namespace

std::string_view FormatName(NamedEnum kind, uint8_t value) {
  const std::span<const std::string_view> table = TableOf(kind);
  return value < table.size() ? table[value] : std::string_view();
}

std::optional<uint8_t> ParseName(NamedEnum kind, std::string_view name) {
  const std::span<const std::string_view> table = TableOf(kind);
  for (size_t value = 1; value < table.size(); ++value) {
    if (table[value] == name) return static_cast<uint8_t>(value);
  }
  return std::nullopt;
}

std::span<const std::string_view> Names(NamedEnum kind) {
  const std::span<const std::string_view> table = TableOf(kind);
  return table.empty() ? table : table.subspan(1);
}

std::string NameChoices(NamedEnum kind) {
  const std::span<const std::string_view> names = Names(kind);
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += i + 1 == names.size() ? " or " : ", ";
    out += names[i];
  }
  return out;
}

}  // namespace trygg
