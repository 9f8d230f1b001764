// SPDX-License-Identifier: Apache-2.0

#include "trygg/listing.h"

#include <algorithm>
#include <cstring>
#include <set>

#include "internal/byte_codec.h"
#include "internal/signed_layout.h"
#include "internal/utf8.h"
#include "trygg/crypto_error.h"
#include "trygg/status_macros.h"

namespace trygg {
namespace {

using internal::ByteReader;
using internal::ByteWriter;
using internal::kFormatV1;
using internal::kFormatV2;
using internal::Malformed;
using internal::ReadFixed;
using internal::ReadPreamble;

constexpr uint8_t kListingMagic[4] = {'T', 'L', 'S', '1'};
constexpr uint8_t kCapacityMagic[4] = {'T', 'L', 'C', '1'};
constexpr uint8_t kRetireMagic[4] = {'T', 'L', 'R', '1'};

constexpr Subdivision kSwedishCounties[] = {
    {"SE-AB", "Stockholms län"},       {"SE-AC", "Västerbottens län"}, {"SE-BD", "Norrbottens län"},
    {"SE-C", "Uppsala län"},           {"SE-D", "Södermanlands län"},  {"SE-E", "Östergötlands län"},
    {"SE-F", "Jönköpings län"},        {"SE-G", "Kronobergs län"},     {"SE-H", "Kalmar län"},
    {"SE-I", "Gotlands län"},          {"SE-K", "Blekinge län"},       {"SE-M", "Skåne län"},
    {"SE-N", "Hallands län"},          {"SE-O", "Västra Götalands län"}, {"SE-S", "Värmlands län"},
    {"SE-T", "Örebro län"},            {"SE-U", "Västmanlands län"},   {"SE-W", "Dalarnas län"},
    {"SE-X", "Gävleborgs län"},        {"SE-Y", "Västernorrlands län"}, {"SE-Z", "Jämtlands län"},
};

std::string ReadString(ByteReader& in, size_t length) {
  std::string s(length, '\0');
  in.Bytes(std::span<uint8_t>(reinterpret_cast<uint8_t*>(s.data()), s.size()));
  return s;
}

absl::Status Field(std::string_view field, std::string_view why) {
  return absl::InvalidArgumentError(std::string(field) + ": " + std::string(why));
}

bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
char Upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }
bool AllOf(std::string_view s, bool (*pred)(char)) { return std::all_of(s.begin(), s.end(), pred); }

absl::Status CheckText(std::string_view field, const std::string& text, size_t max) {
  if (text.size() > max) {
    return Field(field, "at most " + std::to_string(max) + " bytes, got " + std::to_string(text.size()));
  }
  if (!internal::IsUtf8(text)) return Field(field, "not valid UTF-8");
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 && c != '\n' && c != '\t') return Field(field, "control characters are not allowed");
  }
  return absl::OkStatus();
}

absl::Status WriteCodes(ByteWriter& out, const std::vector<std::string>& codes, std::string_view what) {
  if (codes.size() > 255) return Malformed("listing", std::string(what) + ": more than 255 entries");
  out.U8(static_cast<uint8_t>(codes.size()));
  for (const std::string& code : codes) {
    if (code.size() > 255) return Malformed("listing", std::string(what) + ": a code longer than 255 bytes");
    out.U8(static_cast<uint8_t>(code.size()));
    out.Bytes(AsBytes(code));
  }
  return absl::OkStatus();
}

std::vector<std::string> ReadCodes(ByteReader& in) {
  const uint8_t count = in.U8();
  std::vector<std::string> codes;
  for (uint8_t i = 0; i < count && !in.failed(); ++i) codes.push_back(ReadString(in, in.U8()));
  return codes;
}

absl::Status WriteText(ByteWriter& out, const std::string& text, std::string_view what) {
  if (text.size() > 0xFFFF) return Malformed("listing", std::string(what) + ": longer than 65535 bytes");
  out.U16(static_cast<uint16_t>(text.size()));
  out.Bytes(AsBytes(text));
  return absl::OkStatus();
}

// The signer named inside the object must be an active admin of the
// organisation in the caller's verified log, and must have made the signature.
absl::Status CheckSignedByAdmin(const SignedObject& object, SigningContext context, const Id128& org_id,
                                const Id128& signer, const OrgLogState& org, std::string_view what) {
  if (org_id != org.org_id()) {
    return MakeCryptoError(absl::StatusCode::kInvalidArgument, CryptoError::kFieldMismatch,
                           std::string(what) + " is for another organisation");
  }
  const DeviceRecord* device = org.ActiveDevice(signer);
  if (device == nullptr || device->role != Role::kOrgAdmin) {
    return MakeCryptoError(absl::StatusCode::kPermissionDenied, CryptoError::kUnauthorisedSigner,
                           std::string(what) + " is not signed by an active admin device of its organisation");
  }
  return Verify(device->sign_key, context, object.bytes, object.signature);
}

absl::Status CheckSameListing(const Id128& listing_id, const Id128& org_id, uint64_t revision,
                              const Listing& listing, std::string_view what) {
  if (listing_id != listing.listing_id || org_id != listing.org_id || revision != listing.revision) {
    return MakeCryptoError(absl::StatusCode::kInvalidArgument, CryptoError::kFieldMismatch,
                           std::string(what) + " is for another listing or revision");
  }
  return absl::OkStatus();
}

}  // namespace

// --- Codes ------------------------------------------------------------------

absl::StatusOr<std::string> CanonicalLanguageTag(std::string_view tag) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (;;) {
    const size_t dash = tag.find('-', start);
    parts.push_back(tag.substr(start, dash == std::string_view::npos ? std::string_view::npos : dash - start));
    if (dash == std::string_view::npos) break;
    start = dash + 1;
  }
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError("'" + std::string(tag.substr(0, 40)) + "' is not a BCP 47 tag of the form " +
                                      "language[-Script][-REGION]: " + std::string(why));
  };
  if (parts.size() > 3) return bad("too many subtags");
  const std::string_view language = parts[0];
  if (language.size() < 2 || language.size() > 3 || !AllOf(language, IsAlpha)) {
    return bad("the language subtag must be 2 or 3 letters (ISO 639-1 or 639-3)");
  }
  std::string out;
  for (char c : language) out += Lower(c);
  size_t i = 1;
  if (i < parts.size() && parts[i].size() == 4) {
    if (!AllOf(parts[i], IsAlpha)) return bad("a script subtag is 4 letters");
    out += '-';
    out += Upper(parts[i][0]);
    for (size_t k = 1; k < 4; ++k) out += Lower(parts[i][k]);
    ++i;
  }
  if (i < parts.size()) {
    const std::string_view region = parts[i];
    const bool alpha2 = region.size() == 2 && AllOf(region, IsAlpha);
    const bool digit3 = region.size() == 3 && AllOf(region, IsDigit);
    if (!alpha2 && !digit3) return bad("a region subtag is 2 letters or 3 digits");
    out += '-';
    for (char c : region) out += Upper(c);
    ++i;
  }
  if (i != parts.size()) return bad("unexpected subtag");
  return out;
}

std::string_view PrimaryLanguage(std::string_view canonical_tag) {
  return canonical_tag.substr(0, canonical_tag.find('-'));
}

absl::StatusOr<std::string> CanonicalRegionCode(std::string_view code) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError("'" + std::string(code.substr(0, 40)) +
                                      "' is not an ISO 3166-2 code such as SE-AB: " + std::string(why));
  };
  const size_t dash = code.find('-');
  if (dash != 2 || !IsAlpha(code[0]) || !IsAlpha(code[1])) return bad("it must start with a 2-letter country and '-'");
  const std::string_view sub = code.substr(3);
  if (sub.empty() || sub.size() > 3 || !std::all_of(sub.begin(), sub.end(), [](char c) {
        return IsAlpha(c) || IsDigit(c);
      })) {
    return bad("the subdivision part is 1 to 3 letters or digits");
  }
  std::string out;
  for (char c : code) out += Upper(c);
  if (out.starts_with("SE-")) {
    bool known = false;
    for (const Subdivision& county : kSwedishCounties) known = known || county.code == out;
    if (!known) return bad("not a Swedish county (SE-AB ... SE-Z)");
  }
  return out;
}

std::span<const Subdivision> SwedishCounties() { return kSwedishCounties; }

// --- Listings ---------------------------------------------------------------

absl::Status ValidateListing(const Listing& listing) {
  if (listing.revision == 0) return Field("revision", "revisions start at 1");
  if (listing.category == 0 || listing.category > kMaxServiceCategory) {
    return Field("category", "unknown service category " + std::to_string(listing.category));
  }
  if (listing.regions.empty()) return Field("regions", "at least one ISO 3166-2 region is required");
  if (listing.regions.size() > kMaxListingRegions) {
    return Field("regions", "at most " + std::to_string(kMaxListingRegions) + " regions");
  }
  std::set<std::string> seen;
  for (size_t i = 0; i < listing.regions.size(); ++i) {
    const std::string field = "regions[" + std::to_string(i) + "]";
    absl::StatusOr<std::string> code = CanonicalRegionCode(listing.regions[i]);
    if (!code.ok()) return Field(field, std::string(code.status().message()));
    if (*code != listing.regions[i]) return Field(field, "write the code in upper case: " + *code);
    if (!seen.insert(*code).second) return Field(field, "listed twice");
  }
  if (listing.languages.size() > kMaxListingLanguages) {
    return Field("languages", "at most " + std::to_string(kMaxListingLanguages) + " languages");
  }
  seen.clear();
  for (size_t i = 0; i < listing.languages.size(); ++i) {
    const std::string field = "languages[" + std::to_string(i) + "]";
    absl::StatusOr<std::string> tag = CanonicalLanguageTag(listing.languages[i]);
    if (!tag.ok()) return Field(field, std::string(tag.status().message()));
    if (*tag != listing.languages[i]) return Field(field, "write the tag in canonical case: " + *tag);
    if (!seen.insert(*tag).second) return Field(field, "listed twice");
  }
  if ((listing.target_groups >> kMaxTargetGroup) != 0) return Field("target_groups", "unknown target group");
  if ((listing.exploitation_forms >> kMaxExploitationForm) != 0) {
    return Field("exploitation_forms", "unknown form of exploitation");
  }
  if (listing.capacity_free < kCapacityNotCounted) {
    return Field("capacity_free", "must be the number of free places, or -1 when places are not counted");
  }
  if (listing.response_time_hours == 0 || listing.response_time_hours > kMaxResponseTimeHours) {
    return Field("response_time_hours", "must be between 1 and " + std::to_string(kMaxResponseTimeHours));
  }
  TRYGG_RETURN_IF_ERROR(CheckText("contact_hours", listing.contact_hours, kMaxListingContactHoursBytes));
  TRYGG_RETURN_IF_ERROR(CheckText("description", listing.description, kMaxListingDescriptionBytes));
  return absl::OkStatus();
}

absl::Status NormaliseListing(Listing& listing) {
  for (size_t i = 0; i < listing.regions.size(); ++i) {
    absl::StatusOr<std::string> code = CanonicalRegionCode(listing.regions[i]);
    if (!code.ok()) return Field("regions[" + std::to_string(i) + "]", std::string(code.status().message()));
    listing.regions[i] = *code;
  }
  for (size_t i = 0; i < listing.languages.size(); ++i) {
    absl::StatusOr<std::string> tag = CanonicalLanguageTag(listing.languages[i]);
    if (!tag.ok()) return Field("languages[" + std::to_string(i) + "]", std::string(tag.status().message()));
    listing.languages[i] = *tag;
  }
  return ValidateListing(listing);
}

absl::StatusOr<std::vector<uint8_t>> SerializeListing(const Listing& listing) {
  std::vector<uint8_t> bytes;
  ByteWriter out(bytes);
  out.Bytes(kListingMagic);
  out.U8(kFormatV1);
  out.Bytes(listing.listing_id.span());
  out.Bytes(listing.org_id.span());
  out.U64(listing.revision);
  out.I64(listing.created_at_ms);
  out.Bytes(listing.signer_device.span());
  out.U8(listing.category);
  out.U32(listing.response_time_hours);
  out.U32(static_cast<uint32_t>(listing.capacity_free));
  out.U8(listing.target_groups);
  out.U8(listing.exploitation_forms);
  TRYGG_RETURN_IF_ERROR(WriteCodes(out, listing.regions, "regions"));
  TRYGG_RETURN_IF_ERROR(WriteCodes(out, listing.languages, "languages"));
  TRYGG_RETURN_IF_ERROR(WriteText(out, listing.contact_hours, "contact_hours"));
  TRYGG_RETURN_IF_ERROR(WriteText(out, listing.description, "description"));
  return bytes;
}

absl::StatusOr<Listing> ParseListing(std::span<const uint8_t> bytes) {
  ByteReader in(bytes);
  TRYGG_RETURN_IF_ERROR(ReadPreamble(in, kListingMagic, "listing"));
  Listing listing;
  listing.listing_id = ReadFixed<Id128>(in);
  listing.org_id = ReadFixed<Id128>(in);
  listing.revision = in.U64();
  listing.created_at_ms = in.I64();
  listing.signer_device = ReadFixed<Id128>(in);
  listing.category = in.U8();
  listing.response_time_hours = in.U32();
  listing.capacity_free = static_cast<int32_t>(in.U32());
  listing.target_groups = in.U8();
  listing.exploitation_forms = in.U8();
  listing.regions = ReadCodes(in);
  listing.languages = ReadCodes(in);
  listing.contact_hours = ReadString(in, in.U16());
  listing.description = ReadString(in, in.U16());
  if (!in.exhausted()) return Malformed("listing", in.failed() ? "too short" : "trailing bytes");
  return listing;
}

absl::StatusOr<SignedObject> SignListing(const Listing& listing, const SigningKeyPair& signer) {
  TRYGG_RETURN_IF_ERROR(ValidateListing(listing));
  SignedObject signed_listing;
  TRYGG_ASSIGN_OR_RETURN(signed_listing.bytes, SerializeListing(listing));
  signed_listing.signature = Sign(signer, SigningContext::kListing, signed_listing.bytes);
  return signed_listing;
}

std::vector<uint8_t> SerializeCapacityUpdate(const CapacityUpdate& update) {
  std::vector<uint8_t> bytes;
  ByteWriter out(bytes);
  out.Bytes(kCapacityMagic);
  out.U8(kFormatV2);
  out.Bytes(update.listing_id.span());
  out.Bytes(update.org_id.span());
  out.U64(update.revision);
  out.U32(static_cast<uint32_t>(update.capacity_free));
  out.I64(update.updated_at_ms);
  out.Bytes(update.signer_device.span());
  return bytes;
}

absl::StatusOr<CapacityUpdate> ParseCapacityUpdate(std::span<const uint8_t> bytes) {
  ByteReader in(bytes);
  TRYGG_RETURN_IF_ERROR(ReadPreamble(in, kCapacityMagic, "capacity update", kFormatV2));
  CapacityUpdate update;
  update.listing_id = ReadFixed<Id128>(in);
  update.org_id = ReadFixed<Id128>(in);
  update.revision = in.U64();
  update.capacity_free = static_cast<int32_t>(in.U32());
  update.updated_at_ms = in.I64();
  update.signer_device = ReadFixed<Id128>(in);
  if (!in.exhausted()) return Malformed("capacity update", "wrong length");
  return update;
}

absl::StatusOr<SignedObject> SignCapacityUpdate(const CapacityUpdate& update, const SigningKeyPair& signer) {
  if (update.capacity_free < kCapacityNotCounted) {
    return Field("capacity_free", "must be the number of free places, or -1 when places are not counted");
  }
  SignedObject object;
  object.bytes = SerializeCapacityUpdate(update);
  object.signature = Sign(signer, SigningContext::kListingCapacity, object.bytes);
  return object;
}

std::vector<uint8_t> SerializeRetirement(const Retirement& retirement) {
  std::vector<uint8_t> bytes;
  ByteWriter out(bytes);
  out.Bytes(kRetireMagic);
  out.U8(kFormatV2);
  out.Bytes(retirement.listing_id.span());
  out.Bytes(retirement.org_id.span());
  out.U64(retirement.revision);
  out.I64(retirement.retired_at_ms);
  out.Bytes(retirement.signer_device.span());
  return bytes;
}

absl::StatusOr<Retirement> ParseRetirement(std::span<const uint8_t> bytes) {
  ByteReader in(bytes);
  TRYGG_RETURN_IF_ERROR(ReadPreamble(in, kRetireMagic, "retirement", kFormatV2));
  Retirement retirement;
  retirement.listing_id = ReadFixed<Id128>(in);
  retirement.org_id = ReadFixed<Id128>(in);
  retirement.revision = in.U64();
  retirement.retired_at_ms = in.I64();
  retirement.signer_device = ReadFixed<Id128>(in);
  if (!in.exhausted()) return Malformed("retirement", "wrong length");
  return retirement;
}

SignedObject SignRetirement(const Retirement& retirement, const SigningKeyPair& signer) {
  SignedObject object;
  object.bytes = SerializeRetirement(retirement);
  object.signature = Sign(signer, SigningContext::kListingRetirement, object.bytes);
  return object;
}

absl::StatusOr<Listing> VerifyListing(const SignedObject& signed_listing, const OrgLogState& org) {
  TRYGG_ASSIGN_OR_RETURN(Listing listing, ParseListing(signed_listing.bytes));
  TRYGG_RETURN_IF_ERROR(
      CheckSignedByAdmin(signed_listing, SigningContext::kListing, listing.org_id, listing.signer_device, org, "listing"));
  TRYGG_RETURN_IF_ERROR(ValidateListing(listing));
  return listing;
}

absl::StatusOr<CapacityUpdate> VerifyCapacityUpdate(const SignedObject& signed_update, const Listing& listing,
                                                    const OrgLogState& org) {
  TRYGG_ASSIGN_OR_RETURN(CapacityUpdate update, ParseCapacityUpdate(signed_update.bytes));
  TRYGG_RETURN_IF_ERROR(
      CheckSameListing(update.listing_id, update.org_id, update.revision, listing, "capacity update"));
  TRYGG_RETURN_IF_ERROR(
      CheckSignedByAdmin(signed_update, SigningContext::kListingCapacity, update.org_id, update.signer_device, org, "capacity update"));
  if (update.capacity_free < kCapacityNotCounted) return Field("capacity_free", "below -1");
  return update;
}

absl::StatusOr<Retirement> VerifyRetirement(const SignedObject& signed_retirement, const Listing& listing,
                                            const OrgLogState& org) {
  TRYGG_ASSIGN_OR_RETURN(Retirement retirement, ParseRetirement(signed_retirement.bytes));
  TRYGG_RETURN_IF_ERROR(
      CheckSameListing(retirement.listing_id, retirement.org_id, retirement.revision, listing, "retirement"));
  TRYGG_RETURN_IF_ERROR(
      CheckSignedByAdmin(signed_retirement, SigningContext::kListingRetirement, retirement.org_id, retirement.signer_device, org, "retirement"));
  return retirement;
}

absl::Status VerifyListingSignature(const SignedObject& object, const SignPublicKey& signer_key) {
  // Each kind has its own context, chosen by the magic the bytes start with;
  // the parsers have checked the rest of the layout.
  const std::span<const uint8_t> bytes = object.bytes;
  auto starts_with = [&bytes](const uint8_t (&magic)[4]) {
    return bytes.size() >= 4 && std::equal(std::begin(magic), std::end(magic), bytes.begin());
  };
  SigningContext context;
  if (starts_with(kListingMagic)) {
    context = SigningContext::kListing;
  } else if (starts_with(kCapacityMagic)) {
    context = SigningContext::kListingCapacity;
  } else if (starts_with(kRetireMagic)) {
    context = SigningContext::kListingRetirement;
  } else {
    return MakeCryptoError(absl::StatusCode::kInvalidArgument, CryptoError::kUnknownMagic,
                           "not a listing, capacity update or retirement");
  }
  return Verify(signer_key, context, object.bytes, object.signature);
}

}  // namespace trygg
