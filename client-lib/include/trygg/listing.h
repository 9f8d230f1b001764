// SPDX-License-Identifier: Apache-2.0

// Directory listings: what one organisation offers (DESIGN.md, "Service
// directory"), as three small signed structures (docs/protocol.md, section
// 13), all signed with context "trygg/v1/listing" by an active admin device of
// the organisation and told apart by their magic:
//   - a Listing ("TLS1"): the service, its regions, languages, target groups,
//     forms of exploitation, places free, response time, contact hours and
//     description; each change is a new revision;
//   - a CapacityUpdate ("TLC1"): {listing id, revision, places, time}, cheap
//     and frequent;
//   - a Retirement ("TLR1"): the listing is withdrawn from the directory.
//
// Parsing checks structure only (magic, format, exact length); the meaning of
// the fields (known category, BCP 47 language tags, ISO 3166-2 region codes,
// capacity >= -1, text sizes) is checked by ValidateListing, whose
// InvalidArgument names the field, so the server can report "languages[1]:
// ..." for a well-formed but wrong listing. Verification ties a signed object
// to an organisation log that the caller verified itself (Client::FetchOrgLog).
//
// Ownership: plain values. Thread-safety: pure functions.
// Failure modes: Parse* return InvalidArgument tagged kMalformed or
// kUnknownMagic (FailedPrecondition kUnknownFormat for another format);
// Validate* return InvalidArgument naming the field; Verify* return
// PermissionDenied tagged kBadSignature or kUnauthorisedSigner, or
// InvalidArgument tagged kFieldMismatch for an object of another organisation
// or listing.
#ifndef TRYGG_LISTING_H_
#define TRYGG_LISTING_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "trygg/bytes.h"
#include "trygg/names.h"
#include "trygg/org_log.h"
#include "trygg/signing.h"
#include "trygg/trust.h"

namespace trygg {

// Numbers match trygg.v1.ServiceCategory, TargetGroup and ExploitationForm.
enum class ServiceCategory : uint8_t {
  kShelter = 1,
  kLegalAdvice = 2,
  kInterpreting = 3,
  kCounselling = 4,
  kSafeReturn = 5,
  kOutreach = 6,
  kHealthcare = 7,
  kEmploymentTraining = 8,
  kOther = 9,
};
inline constexpr uint8_t kMaxServiceCategory = 9;

enum class TargetGroup : uint8_t { kWomen = 1, kMen = 2, kChildren = 3, kFamilies = 4, kLgbtq = 5 };
inline constexpr uint8_t kMaxTargetGroup = 5;

enum class ExploitationForm : uint8_t {
  kSexual = 1,
  kLabour = 2,
  kForcedCriminality = 3,
  kBegging = 4,
  kDomesticServitude = 5,
  kOrganRemoval = 6,
};
inline constexpr uint8_t kMaxExploitationForm = 6;

// Limits, checked by ValidateListing.
inline constexpr size_t kMaxListingDescriptionBytes = 4096;
inline constexpr size_t kMaxListingContactHoursBytes = 200;
inline constexpr size_t kMaxListingRegions = 64;
inline constexpr size_t kMaxListingLanguages = 32;
inline constexpr uint32_t kMaxResponseTimeHours = 24 * 90;
// Free places when the service does not count places.
inline constexpr int32_t kCapacityNotCounted = -1;

struct Listing {
  Id128 listing_id;
  Id128 org_id;
  // 1 for the first publication; each new revision is the previous + 1.
  uint64_t revision = 1;
  // When the admin made this revision; also the time of its capacity.
  int64_t created_at_ms = 0;
  Id128 signer_device;
  // Kept as the raw number so an unknown value can be reported, not lost.
  uint8_t category = 0;
  uint32_t response_time_hours = 0;
  int32_t capacity_free = kCapacityNotCounted;
  // ISO 3166-2 codes ("SE-AB"), BCP 47 tags ("ro", "sv-SE", "sr-Latn").
  std::vector<std::string> regions;
  std::vector<std::string> languages;
  // Bit (n - 1) set for TargetGroup / ExploitationForm n.
  uint8_t target_groups = 0;
  uint8_t exploitation_forms = 0;
  std::string contact_hours;
  std::string description;

  bool HasTargetGroup(TargetGroup g) const { return (target_groups >> (static_cast<int>(g) - 1)) & 1; }
  bool HasExploitationForm(ExploitationForm f) const {
    return (exploitation_forms >> (static_cast<int>(f) - 1)) & 1;
  }
  friend bool operator==(const Listing&, const Listing&) = default;
};

struct CapacityUpdate {
  Id128 listing_id;
  Id128 org_id;
  // The listing revision this update applies to.
  uint64_t revision = 0;
  int32_t capacity_free = kCapacityNotCounted;
  int64_t updated_at_ms = 0;
  Id128 signer_device;
  friend bool operator==(const CapacityUpdate&, const CapacityUpdate&) = default;
};

struct Retirement {
  Id128 listing_id;
  Id128 org_id;
  // The listing revision being retired.
  uint64_t revision = 0;
  int64_t retired_at_ms = 0;
  Id128 signer_device;
  friend bool operator==(const Retirement&, const Retirement&) = default;
};

// --- Codes ------------------------------------------------------------------

// A BCP 47 tag of the form language[-Script][-REGION]: language 2-3 letters
// (an ISO 639-1 or 639-3 code, as HSDS needs), script 4 letters, region 2
// letters or 3 digits. Returns the canonical spelling ("sr-Latn-RS": language
// lower case, script title case, region upper case), or InvalidArgument.
// Extended language subtags, variants, extensions, private use and
// grandfathered tags are refused: the directory needs a language to match on.
absl::StatusOr<std::string> CanonicalLanguageTag(std::string_view tag);
// The language subtag of a canonical tag ("ro" for "ro-MD"): an ISO 639 code.
std::string_view PrimaryLanguage(std::string_view canonical_tag);

// An ISO 3166-2 subdivision code "CC-XXX": an ISO 3166-1 alpha-2 country,
// '-', 1-3 letters or digits. Swedish codes must be one of the 21 counties
// (SE-AB ... SE-Z); other countries are checked against the pattern only.
// Returns the code upper-cased, or InvalidArgument.
absl::StatusOr<std::string> CanonicalRegionCode(std::string_view code);
// The Swedish county codes, in order, with their names (for the docs and tools).
struct Subdivision {
  std::string_view code;
  std::string_view name;
};
std::span<const Subdivision> SwedishCounties();

// The names of categories, target groups and forms of exploitation, as the
// CLI and the HSDS export spell them, are in names.h.

// --- Listings ---------------------------------------------------------------

// Checks every field's meaning. The error names the field as the API does:
// "category", "regions[2]", "languages[0]", "capacity_free",
// "response_time_hours", "contact_hours", "description", "target_groups",
// "exploitation_forms", "revision". Regions and languages must already be
// canonical (CanonicalRegionCode / CanonicalLanguageTag) and unique.
absl::Status ValidateListing(const Listing& listing);
// Canonicalises regions and languages in place (for tools taking user input),
// then validates.
absl::Status NormaliseListing(Listing& listing);

// Fails only when a text does not fit the format (more than 65535 bytes, more
// than 255 regions or languages, a code longer than 255 bytes); does not
// validate, so tests can make well-formed bad listings.
absl::StatusOr<std::vector<uint8_t>> SerializeListing(const Listing& listing);
absl::StatusOr<Listing> ParseListing(std::span<const uint8_t> bytes);
// Validates, serialises and signs with `signer` (the device named in
// listing.signer_device).
absl::StatusOr<SignedObject> SignListing(const Listing& listing, const SigningKeyPair& signer);

std::vector<uint8_t> SerializeCapacityUpdate(const CapacityUpdate& update);
absl::StatusOr<CapacityUpdate> ParseCapacityUpdate(std::span<const uint8_t> bytes);
// capacity_free must be >= -1 (InvalidArgument "capacity_free").
absl::StatusOr<SignedObject> SignCapacityUpdate(const CapacityUpdate& update, const SigningKeyPair& signer);

std::vector<uint8_t> SerializeRetirement(const Retirement& retirement);
absl::StatusOr<Retirement> ParseRetirement(std::span<const uint8_t> bytes);
SignedObject SignRetirement(const Retirement& retirement, const SigningKeyPair& signer);

// Verifies `signed_listing` against an organisation log the caller verified:
// same organisation, signed by a device that is an active admin now, good
// signature, valid fields. Returns the listing.
absl::StatusOr<Listing> VerifyListing(const SignedObject& signed_listing, const OrgLogState& org);
// As VerifyListing, for an update or retirement of `listing` (same listing,
// organisation and revision).
absl::StatusOr<CapacityUpdate> VerifyCapacityUpdate(const SignedObject& signed_update, const Listing& listing,
                                                    const OrgLogState& org);
absl::StatusOr<Retirement> VerifyRetirement(const SignedObject& signed_retirement, const Listing& listing,
                                            const OrgLogState& org);

// The signature check alone, with a known signer key (the server uses its
// device registry). Parses first; PermissionDenied kBadSignature on failure.
absl::Status VerifyListingSignature(const SignedObject& object, const SignPublicKey& signer_key);

}  // namespace trygg

#endif  // TRYGG_LISTING_H_
