// SPDX-License-Identifier: Apache-2.0

#include "server/domain/directory.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "trygg/audit/audit_entry.h"
#include "server/domain/audit_log.h"
#include "server/directory/hsds_export.h"
#include "server/domain/trust_tables.h"
#include "trygg/status_macros.h"

namespace trygg::domain {
namespace {

constexpr std::string_view kNotListingAdmin = "only an admin device of the listing's organisation may change it";

constexpr char kTokenPrefix[] = "dl1.";

// Structural failures of the signed bytes name the request field.
absl::Status BadSigned(absl::string_view field, const absl::Status& status) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", status.message()));
}

bool SameObject(const SignedObject& a, const SignedObject& b) {
  return a.bytes == b.bytes && a.signature == b.signature;
}

}  // namespace

absl::Status Directory::CheckSigner(Transaction& txn, const Caller& caller, const Id128& org_id,
                                    const Id128& signer, const SignedObject& object) const {
  TRYGG_ASSIGN_OR_RETURN(std::optional<DeviceRow> device, txn.trust().GetDevice(signer));
  if (!device.has_value() || device->revoked || device->org_id != org_id || device->role != Role::kOrgAdmin) {
    return absl::PermissionDeniedError("the signer is not an active admin device of the listing's organisation");
  }
  if (!SignatureValid(caller.prechecked.get(), SignedKind::kDirectoryObject, device->sign_key, object)) return absl::PermissionDeniedError("the signature does not verify under the signer's key");
  return absl::OkStatus();
}

absl::StatusOr<std::pair<Id128, uint64_t>> Directory::Publish(Transaction& txn, const Caller& caller,
                                                              const SignedObject& signed_listing) const {
  absl::StatusOr<Listing> parsed = ParseListing(signed_listing.bytes);
  if (!parsed.ok()) return BadSigned("listing.signed", parsed.status());
  const Listing& listing = *parsed;
  TRYGG_RETURN_IF_ERROR(RequireOrgAdmin(caller, listing.org_id, kNotListingAdmin));
  TRYGG_RETURN_IF_ERROR(ValidateListing(listing));
  if (listing.listing_id.IsZero()) return absl::InvalidArgumentError("listing_id: must not be all zero");
  const int64_t now_ms = clock_.NowUnixMillis();
  if (listing.created_at_ms > now_ms + options_.max_future_skew_ms) {
    return absl::InvalidArgumentError("capacity_updated_at: the listing's time is in the future");
  }
  TRYGG_RETURN_IF_ERROR(CheckSigner(txn, caller, listing.org_id, listing.signer_device, signed_listing));

  TRYGG_ASSIGN_OR_RETURN(std::optional<ListingRow> stored, txn.directory().GetListing(listing.listing_id));
  if (stored.has_value()) {
    if (stored->org_id != listing.org_id) {
      return absl::PermissionDeniedError("the listing id belongs to another organisation");
    }
    if (stored->revision == listing.revision && SameObject(stored->listing.object, signed_listing)) {
      return std::make_pair(listing.listing_id, listing.revision);
    }
    if (stored->retired) return absl::FailedPreconditionError("the listing is retired");
    if (listing.revision != stored->revision + 1) {
      return absl::AbortedError(absl::StrCat("revision: the stored revision is ", stored->revision,
                                             "; publish revision ", stored->revision + 1));
    }
  } else if (listing.revision != 1) {
    return absl::InvalidArgumentError("revision: a new listing starts at revision 1");
  }

  ListingRow row;
  row.listing_id = listing.listing_id;
  row.org_id = listing.org_id;
  row.revision = listing.revision;
  row.category = listing.category;
  row.response_time_hours = listing.response_time_hours;
  row.capacity_free = listing.capacity_free;
  row.capacity_at_ms = listing.created_at_ms;
  row.target_groups = listing.target_groups;
  row.exploitation_forms = listing.exploitation_forms;
  row.regions = listing.regions;
  for (const std::string& tag : listing.languages) row.languages.emplace_back(tag);
  row.listing = SignedBy{signed_listing, listing.signer_device};
  TRYGG_RETURN_IF_ERROR(txn.directory().PutListing(row));
  TRYGG_RETURN_IF_ERROR(AuditLog::Record(txn, ListingPublishedEvent(caller, now_ms, listing.listing_id,
                                                                   listing.category, listing.capacity_free))
                            .status());
  return std::make_pair(listing.listing_id, listing.revision);
}

absl::Status Directory::UpdateCapacity(Transaction& txn, const Caller& caller, const Id128& listing_id,
                                       const SignedObject& signed_update) const {
  absl::StatusOr<CapacityUpdate> parsed = ParseCapacityUpdate(signed_update.bytes);
  if (!parsed.ok()) return BadSigned("signed", parsed.status());
  const CapacityUpdate& update = *parsed;
  if (update.listing_id != listing_id) {
    return absl::InvalidArgumentError("listing_id: differs from the listing id inside the signed update");
  }
  if (update.capacity_free < kCapacityNotCounted) {
    return absl::InvalidArgumentError(
        "capacity_free: must be the number of free places, or -1 when places are not counted");
  }
  TRYGG_ASSIGN_OR_RETURN(std::optional<ListingRow> stored, txn.directory().GetListing(listing_id));
  if (!stored.has_value()) return absl::NotFoundError("no such listing");
  TRYGG_RETURN_IF_ERROR(RequireOrgAdmin(caller, stored->org_id, kNotListingAdmin));
  if (update.org_id != stored->org_id) {
    return absl::InvalidArgumentError("org_id: the signed update names another organisation");
  }
  if (stored->capacity.has_value() && SameObject(stored->capacity->object, signed_update)) {
    return absl::OkStatus();
  }
  if (stored->retired) return absl::FailedPreconditionError("the listing is retired");
  if (update.revision != stored->revision) {
    return absl::AbortedError(
        absl::StrCat("revision: the listing is at revision ", stored->revision, "; update that revision"));
  }
  const int64_t now_ms = clock_.NowUnixMillis();
  if (update.updated_at_ms > now_ms + options_.max_future_skew_ms) {
    return absl::InvalidArgumentError("capacity_updated_at: the update's time is in the future");
  }
  if (update.updated_at_ms <= stored->capacity_at_ms) {
    return absl::AbortedError("capacity_updated_at: a capacity stated at the same time or later is stored");
  }
  TRYGG_RETURN_IF_ERROR(CheckSigner(txn, caller, update.org_id, update.signer_device, signed_update));
  TRYGG_RETURN_IF_ERROR(txn.directory().PutCapacity(listing_id, stored->org_id, update.capacity_free, update.updated_at_ms,
                                                    SignedBy{signed_update, update.signer_device}));
  return AuditLog::Record(
             txn, ListingCapacityUpdatedEvent(caller, now_ms, listing_id, stored->category, update.capacity_free))
      .status();
}

absl::Status Directory::Retire(Transaction& txn, const Caller& caller, const Id128& listing_id,
                               const SignedObject& signed_retirement) const {
  absl::StatusOr<Retirement> parsed = ParseRetirement(signed_retirement.bytes);
  if (!parsed.ok()) return BadSigned("signed", parsed.status());
  const Retirement& retirement = *parsed;
  if (retirement.listing_id != listing_id) {
    return absl::InvalidArgumentError("listing_id: differs from the listing id inside the signed retirement");
  }
  TRYGG_ASSIGN_OR_RETURN(std::optional<ListingRow> stored, txn.directory().GetListing(listing_id));
  if (!stored.has_value()) return absl::NotFoundError("no such listing");
  TRYGG_RETURN_IF_ERROR(RequireOrgAdmin(caller, stored->org_id, kNotListingAdmin));
  if (retirement.org_id != stored->org_id) {
    return absl::InvalidArgumentError("org_id: the signed retirement names another organisation");
  }
  if (stored->retirement.has_value() && SameObject(stored->retirement->object, signed_retirement)) {
    return absl::OkStatus();
  }
  if (stored->retired) return absl::FailedPreconditionError("the listing is already retired");
  if (retirement.revision != stored->revision) {
    return absl::AbortedError(
        absl::StrCat("revision: the listing is at revision ", stored->revision, "; retire that revision"));
  }
  const int64_t now_ms = clock_.NowUnixMillis();
  if (retirement.retired_at_ms > now_ms + options_.max_future_skew_ms) {
    return absl::InvalidArgumentError("retired_at: the retirement's time is in the future");
  }
  TRYGG_RETURN_IF_ERROR(CheckSigner(txn, caller, retirement.org_id, retirement.signer_device, signed_retirement));
  TRYGG_RETURN_IF_ERROR(
      txn.directory().PutRetirement(listing_id, stored->org_id, SignedBy{signed_retirement, retirement.signer_device}));
  return AuditLog::Record(txn, ListingRetiredEvent(caller, now_ms, listing_id, stored->category)).status();
}

absl::StatusOr<ListingView> Directory::View(ListingRow row, int64_t now_ms) const {
  absl::StatusOr<Listing> listing = ParseListing(row.listing.object.bytes);
  if (!listing.ok()) return absl::DataLossError("a stored listing no longer parses");
  ListingView view;
  view.listing = *std::move(listing);
  view.capacity_stale = row.capacity_free != kCapacityNotCounted &&
                        now_ms - row.capacity_at_ms > options_.capacity_stale_ms;
  view.row = std::move(row);
  return view;
}

absl::StatusOr<ListingView> Directory::Get(Transaction& txn, const Caller&, const Id128& listing_id) const {
  TRYGG_ASSIGN_OR_RETURN(std::optional<ListingRow> stored, txn.directory().GetListing(listing_id));
  if (!stored.has_value()) return absl::NotFoundError("no such listing");
  return View(*std::move(stored), clock_.NowUnixMillis());
}

absl::StatusOr<ListingPage> Directory::Search(Transaction& txn, const Caller&, const ListingSearch& search,
                                              int page_size, const std::string& page_token) const {
  ListingFilter filter;
  if (search.category > kMaxServiceCategory) return absl::InvalidArgumentError("category: unknown service category");
  filter.category = search.category;
  if (!search.region.empty()) {
    absl::StatusOr<std::string> region = CanonicalRegionCode(search.region);
    if (!region.ok()) return absl::InvalidArgumentError(absl::StrCat("region: ", region.status().message()));
    filter.region = *region;
  }
  if (!search.language.empty()) {
    absl::StatusOr<std::string> tag = CanonicalLanguageTag(search.language);
    if (!tag.ok()) return absl::InvalidArgumentError(absl::StrCat("language: ", tag.status().message()));
    filter.primary_language = std::string(PrimaryLanguage(*tag));
  }
  if (search.target_group > kMaxTargetGroup) return absl::InvalidArgumentError("target_group: unknown target group");
  if (search.target_group != 0) filter.target_groups = static_cast<uint8_t>(1u << (search.target_group - 1));
  if (search.exploitation_form > kMaxExploitationForm) {
    return absl::InvalidArgumentError("exploitation_form: unknown form of exploitation");
  }
  if (search.exploitation_form != 0) {
    filter.exploitation_forms = static_cast<uint8_t>(1u << (search.exploitation_form - 1));
  }
  filter.open_capacity_only = search.open_capacity_only;
  if (page_size < 0) return absl::InvalidArgumentError("page_size: must not be negative");
  const int limit = page_size == 0 ? kDefaultListingPageSize : std::min(page_size, kMaxListingPageSize);
  std::optional<ListingCursor> after;
  if (!page_token.empty()) {
    TRYGG_ASSIGN_OR_RETURN(after, DecodeListingPageToken(page_token));
  }

  TRYGG_ASSIGN_OR_RETURN(std::vector<ListingRow> rows, txn.directory().Search(filter, after, limit + 1));
  ListingPage page;
  const bool more = rows.size() > static_cast<size_t>(limit);
  if (more) rows.resize(limit);
  const int64_t now_ms = clock_.NowUnixMillis();
  for (ListingRow& row : rows) {
    TRYGG_ASSIGN_OR_RETURN(ListingView view, View(std::move(row), now_ms));
    page.listings.push_back(std::move(view));
  }
  if (more) {
    const ListingRow& last = page.listings.back().row;
    page.next_page_token = EncodeListingPageToken({last.capacity_free > 0, last.capacity_at_ms, last.listing_id});
  }
  return page;
}

absl::StatusOr<std::vector<ListingView>> Directory::AllActive(Transaction& txn, const Caller&) const {
  TRYGG_ASSIGN_OR_RETURN(std::vector<ListingRow> rows, txn.directory().AllActive());
  std::vector<ListingView> views;
  const int64_t now_ms = clock_.NowUnixMillis();
  for (ListingRow& row : rows) {
    TRYGG_ASSIGN_OR_RETURN(ListingView view, View(std::move(row), now_ms));
    views.push_back(std::move(view));
  }
  return views;
}

absl::StatusOr<std::string> Directory::ExportHsds(Transaction& txn, const Caller& caller) const {
  TRYGG_ASSIGN_OR_RETURN(std::vector<ListingView> views, AllActive(txn, caller));
  std::map<Id128, directory::ExportedOrganisation> orgs;
  std::vector<directory::ExportedListing> listings;
  for (ListingView& view : views) {
    if (!orgs.contains(view.row.org_id)) {
      TRYGG_ASSIGN_OR_RETURN(std::optional<StoredCertificate> cert, txn.trust().GetCertificate(view.row.org_id));
      if (!cert.has_value()) return absl::DataLossError("a listing's organisation has no certificate");
      absl::StatusOr<RootCertificate> parsed = ParseRootCertificate(cert->certificate.bytes);
      if (!parsed.ok()) return absl::DataLossError("a stored certificate no longer parses");
      orgs[view.row.org_id] = directory::ExportedOrganisation{view.row.org_id, parsed->name};
    }
    listings.push_back(directory::ExportedListing{std::move(view.listing), view.row.capacity_free,
                                                  view.row.capacity_at_ms, view.capacity_stale});
  }
  std::vector<directory::ExportedOrganisation> org_list;
  for (auto& [id, org] : orgs) org_list.push_back(std::move(org));
  return directory::ExportHsdsJson(org_list, listings, clock_.NowUnixMillis());
}

absl::StatusOr<ListingRoute> Directory::RouteFor(Transaction& txn, const Id128& listing_id) {
  TRYGG_ASSIGN_OR_RETURN(std::optional<ListingRow> stored, txn.directory().GetListing(listing_id));
  if (!stored.has_value()) return absl::NotFoundError("no such listing");
  return ListingRoute{stored->org_id, stored->category, stored->response_time_hours, stored->retired};
}

std::string EncodeListingPageToken(const ListingCursor& cursor) {
  std::vector<uint8_t> bytes;
  bytes.push_back(cursor.open ? 1 : 0);
  for (int i = 7; i >= 0; --i) bytes.push_back(static_cast<uint8_t>(static_cast<uint64_t>(cursor.capacity_at_ms) >> (8 * i)));
  bytes.insert(bytes.end(), cursor.listing_id.array().begin(), cursor.listing_id.array().end());
  return kTokenPrefix + HexEncode(bytes);
}

absl::StatusOr<ListingCursor> DecodeListingPageToken(const std::string& token) {
  const absl::Status bad = absl::InvalidArgumentError("page_token: not a token this server made");
  if (token.rfind(kTokenPrefix, 0) != 0) return bad;
  absl::StatusOr<std::vector<uint8_t>> bytes = HexDecode(std::string_view(token).substr(sizeof(kTokenPrefix) - 1));
  if (!bytes.ok() || bytes->size() != 1 + 8 + 16 || (*bytes)[0] > 1) return bad;
  ListingCursor cursor;
  cursor.open = (*bytes)[0] == 1;
  uint64_t at = 0;
  for (int i = 1; i <= 8; ++i) at = (at << 8) | (*bytes)[i];
  cursor.capacity_at_ms = static_cast<int64_t>(at);
  std::copy(bytes->begin() + 9, bytes->end(), cursor.listing_id.data());
  return cursor;
}

}  // namespace trygg::domain
