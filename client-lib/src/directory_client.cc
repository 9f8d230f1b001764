// SPDX-License-Identifier: Apache-2.0

#include "trygg/directory_client.h"

#include <algorithm>

#include <grpcpp/grpcpp.h>

#include "internal/audit_witness.h"
#include "internal/wire.h"
#include "trygg/crypto_error.h"
#include "trygg/status_macros.h"
#include "trygg/v1/directory.grpc.pb.h"

namespace trygg {

using internal::FromGrpc;
using internal::RandomId;
using internal::SignedToProto;
using internal::ToProto;

namespace {

absl::StatusOr<SignedObject> SignedPartFromServer(const trygg::v1::SignedBlob& blob, std::string_view what) {
  SignedObject object;
  object.bytes.assign(blob.bytes().begin(), blob.bytes().end());
  absl::StatusOr<Signature> signature =
      Signature::FromSpan(internal::AsSpan(blob.signature()));
  if (!signature.ok()) {
    return MakeCryptoError(absl::StatusCode::kInvalidArgument, CryptoError::kMalformed,
                           std::string(what) + ": the server sent a signature of the wrong size");
  }
  object.signature = *signature;
  return object;
}

absl::StatusOr<SignedListingObjects> ObjectsFromProto(const trygg::v1::Listing& listing) {
  SignedListingObjects objects;
  TRYGG_ASSIGN_OR_RETURN(objects.listing, SignedPartFromServer(listing.signed_(), "listing"));
  if (listing.has_capacity_signed()) {
    TRYGG_ASSIGN_OR_RETURN(objects.capacity_update, SignedPartFromServer(listing.capacity_signed(), "capacity update"));
  }
  if (listing.has_retire_signed()) {
    TRYGG_ASSIGN_OR_RETURN(objects.retirement, SignedPartFromServer(listing.retire_signed(), "retirement"));
  }
  if (listing.retired() != objects.retirement.has_value()) {
    return MakeCryptoError(absl::StatusCode::kInvalidArgument, CryptoError::kFieldMismatch,
                           "the server says the listing is retired without a signed retirement, or the reverse");
  }
  return objects;
}

}  // namespace

absl::StatusOr<VerifiedListing> DirectoryClient::Verify(const SignedListingObjects& objects, bool capacity_stale,
                                                        std::map<Id128, OrgLogState>& logs) {
  TRYGG_ASSIGN_OR_RETURN(Listing unverified, ParseListing(objects.listing.bytes));
  auto log = logs.find(unverified.org_id);
  if (log == logs.end()) {
    TRYGG_ASSIGN_OR_RETURN(OrgLogState state, client_.FetchOrgLog(unverified.org_id));
    log = logs.emplace(unverified.org_id, std::move(state)).first;
  }
  VerifiedListing verified;
  TRYGG_ASSIGN_OR_RETURN(verified.listing, VerifyListing(objects.listing, log->second));
  verified.capacity_free = verified.listing.capacity_free;
  verified.capacity_updated_at_ms = verified.listing.created_at_ms;
  if (objects.capacity_update.has_value()) {
    TRYGG_ASSIGN_OR_RETURN(CapacityUpdate update,
                           VerifyCapacityUpdate(*objects.capacity_update, verified.listing, log->second));
    verified.capacity_free = update.capacity_free;
    verified.capacity_updated_at_ms = update.updated_at_ms;
    verified.capacity_update = update;
  }
  if (objects.retirement.has_value()) {
    TRYGG_ASSIGN_OR_RETURN(verified.retirement, VerifyRetirement(*objects.retirement, verified.listing, log->second));
  }
  verified.capacity_stale = capacity_stale;
  return verified;
}

absl::StatusOr<std::pair<Id128, uint64_t>> DirectoryClient::PublishSigned(const SignedObject& signed_listing) {
  trygg::v1::PublishListingRequest request;
  request.set_request_id(HexEncode(RandomId(rng_).span()));
  SignedToProto(signed_listing, self_.device_id, request.mutable_listing()->mutable_signed_());
  trygg::v1::PublishListingResponse response;
  // The entry is about the listing this device signed, not the id the server
  // answers with. Bytes that do not parse are the server's to refuse, with
  // its own message (partner apps and tests send such through this call).
  const absl::StatusOr<Listing> signed_fields = ParseListing(signed_listing.bytes);
  const AuditWriteStart audit_start = client_.BeginAuditedWrite();
  auto context = client_.NewCallContext();
  TRYGG_RETURN_IF_ERROR(FromGrpc(
      trygg::v1::DirectoryService::NewStub(client_.channel())->PublishListing(context.get(), request, &response)));
  absl::StatusOr<Id128> id = internal::IdFromServer(response.listing_id(), "listing id");
  if (!id.ok()) return id.status();
  if (!signed_fields.ok()) return absl::DataLossError("the server accepted a listing that does not parse");
  AuditExpectation expected =
      internal::Expecting("listing", {audit::AuditEventKind::kListingPublished}, AuditSubject::kListing,
                          signed_fields->listing_id,
                          // The entry records uncounted places (-1) as 0.
                          static_cast<uint32_t>(std::max(signed_fields->capacity_free, 0)));
  expected.service = signed_fields->category;
  client_.ExpectAuditEntries(*context, audit_start, self_.org_id, std::move(expected));
  if (*id != signed_fields->listing_id) return absl::DataLossError("the server answered with another listing's id");
  return std::make_pair(*id, response.revision());
}

absl::Status DirectoryClient::UpdateCapacitySigned(const Id128& listing_id, const SignedObject& signed_update) {
  trygg::v1::UpdateCapacityRequest request;
  request.set_request_id(HexEncode(RandomId(rng_).span()));
  request.set_listing_id(ToProto(listing_id.span()));
  SignedToProto(signed_update, self_.device_id, request.mutable_signed_());
  absl::StatusOr<CapacityUpdate> parsed = ParseCapacityUpdate(signed_update.bytes);
  if (parsed.ok()) request.set_capacity_free(parsed->capacity_free);
  trygg::v1::UpdateCapacityResponse response;
  const AuditWriteStart audit_start = client_.BeginAuditedWrite();
  auto context = client_.NewCallContext();
  TRYGG_RETURN_IF_ERROR(FromGrpc(
      trygg::v1::DirectoryService::NewStub(client_.channel())->UpdateCapacity(context.get(), request, &response)));
  client_.ExpectAuditEntries(
      *context, audit_start, self_.org_id, internal::Expecting("capacity update", {audit::AuditEventKind::kListingCapacityUpdated},
                                    AuditSubject::kListing, listing_id,
                                    // The entry records uncounted places (-1) as 0.
                                    parsed.ok() ? std::optional<uint32_t>(std::max(parsed->capacity_free, 0))
                                                : std::nullopt));
  return absl::OkStatus();
}

absl::Status DirectoryClient::RetireSigned(const Id128& listing_id, const SignedObject& signed_retirement) {
  trygg::v1::RetireListingRequest request;
  request.set_request_id(HexEncode(RandomId(rng_).span()));
  request.set_listing_id(ToProto(listing_id.span()));
  SignedToProto(signed_retirement, self_.device_id, request.mutable_signed_());
  trygg::v1::RetireListingResponse response;
  const AuditWriteStart audit_start = client_.BeginAuditedWrite();
  auto context = client_.NewCallContext();
  TRYGG_RETURN_IF_ERROR(FromGrpc(
      trygg::v1::DirectoryService::NewStub(client_.channel())->RetireListing(context.get(), request, &response)));
  client_.ExpectAuditEntries(*context, audit_start, self_.org_id, internal::Expecting("listing retirement", {audit::AuditEventKind::kListingRetired},
                                                           AuditSubject::kListing, listing_id));
  return absl::OkStatus();
}

absl::StatusOr<SignedListingObjects> DirectoryClient::GetSigned(const Id128& listing_id) {
  trygg::v1::GetListingRequest request;
  request.set_listing_id(ToProto(listing_id.span()));
  trygg::v1::GetListingResponse response;
  auto context = client_.NewCallContext();
  TRYGG_RETURN_IF_ERROR(FromGrpc(
      trygg::v1::DirectoryService::NewStub(client_.channel())->GetListing(context.get(), request, &response)));
  return ObjectsFromProto(response.listing());
}

absl::StatusOr<VerifiedListing> DirectoryClient::Get(const Id128& listing_id) {
  trygg::v1::GetListingRequest request;
  request.set_listing_id(ToProto(listing_id.span()));
  trygg::v1::GetListingResponse response;
  auto context = client_.NewCallContext();
  TRYGG_RETURN_IF_ERROR(FromGrpc(
      trygg::v1::DirectoryService::NewStub(client_.channel())->GetListing(context.get(), request, &response)));
  TRYGG_ASSIGN_OR_RETURN(SignedListingObjects objects, ObjectsFromProto(response.listing()));
  std::map<Id128, OrgLogState> logs;
  TRYGG_ASSIGN_OR_RETURN(VerifiedListing verified, Verify(objects, response.listing().capacity_stale(), logs));
  if (verified.listing.listing_id != listing_id) {
    return MakeCryptoError(absl::StatusCode::kInvalidArgument, CryptoError::kFieldMismatch,
                           "the server returned another listing than the one asked for");
  }
  return verified;
}

absl::StatusOr<ListingResults> DirectoryClient::Search(const ListingQuery& query) {
  trygg::v1::SearchListingsRequest request;
  request.set_category(static_cast<trygg::v1::ServiceCategory>(query.category));
  request.set_region(query.region);
  request.set_language(query.language);
  request.set_target_group(static_cast<trygg::v1::TargetGroup>(query.target_group));
  request.set_exploitation_form(static_cast<trygg::v1::ExploitationForm>(query.exploitation_form));
  request.set_open_capacity_only(query.open_capacity_only);
  request.set_page_size(query.page_size);
  request.set_page_token(query.page_token);
  trygg::v1::SearchListingsResponse response;
  auto context = client_.NewCallContext();
  TRYGG_RETURN_IF_ERROR(FromGrpc(
      trygg::v1::DirectoryService::NewStub(client_.channel())->SearchListings(context.get(), request, &response)));
  ListingResults results;
  std::map<Id128, OrgLogState> logs;
  for (const trygg::v1::Listing& listing : response.listings()) {
    absl::StatusOr<SignedListingObjects> objects = ObjectsFromProto(listing);
    absl::StatusOr<VerifiedListing> verified =
        objects.ok() ? Verify(*objects, listing.capacity_stale(), logs) : objects.status();
    if (verified.ok()) {
      results.listings.push_back(*std::move(verified));
    } else {
      if (results.rejected++ == 0) results.first_rejection = verified.status();
    }
  }
  results.next_page_token = response.next_page_token();
  return results;
}

absl::StatusOr<std::string> DirectoryClient::ExportHsds() {
  trygg::v1::ExportHsdsRequest request;
  trygg::v1::ExportHsdsResponse response;
  auto context = client_.NewCallContext();
  TRYGG_RETURN_IF_ERROR(FromGrpc(
      trygg::v1::DirectoryService::NewStub(client_.channel())->ExportHsds(context.get(), request, &response)));
  return response.hsds_json();
}

absl::StatusOr<VerifiedListing> DirectoryClient::Publish(Listing listing) {
  listing.org_id = self_.org_id;
  listing.signer_device = self_.device_id;
  listing.created_at_ms = clock_.NowUnixMillis();
  if (listing.listing_id.IsZero()) {
    listing.listing_id = RandomId(rng_);
    listing.revision = 1;
  } else {
    TRYGG_ASSIGN_OR_RETURN(SignedListingObjects current, GetSigned(listing.listing_id));
    TRYGG_ASSIGN_OR_RETURN(Listing stored, ParseListing(current.listing.bytes));
    listing.revision = stored.revision + 1;
  }
  TRYGG_RETURN_IF_ERROR(NormaliseListing(listing));
  TRYGG_ASSIGN_OR_RETURN(SignedObject signed_listing, SignListing(listing, self_.device.signing()));
  TRYGG_RETURN_IF_ERROR(PublishSigned(signed_listing).status());
  return Get(listing.listing_id);
}

absl::Status DirectoryClient::UpdateCapacity(const Id128& listing_id, int32_t capacity_free) {
  TRYGG_ASSIGN_OR_RETURN(SignedListingObjects current, GetSigned(listing_id));
  TRYGG_ASSIGN_OR_RETURN(Listing stored, ParseListing(current.listing.bytes));
  CapacityUpdate update;
  update.listing_id = listing_id;
  update.org_id = stored.org_id;
  update.revision = stored.revision;
  update.capacity_free = capacity_free;
  update.updated_at_ms = clock_.NowUnixMillis();
  update.signer_device = self_.device_id;
  TRYGG_ASSIGN_OR_RETURN(SignedObject signed_update, SignCapacityUpdate(update, self_.device.signing()));
  return UpdateCapacitySigned(listing_id, signed_update);
}

absl::Status DirectoryClient::Retire(const Id128& listing_id) {
  TRYGG_ASSIGN_OR_RETURN(SignedListingObjects current, GetSigned(listing_id));
  TRYGG_ASSIGN_OR_RETURN(Listing stored, ParseListing(current.listing.bytes));
  Retirement retirement;
  retirement.listing_id = listing_id;
  retirement.org_id = stored.org_id;
  retirement.revision = stored.revision;
  retirement.retired_at_ms = clock_.NowUnixMillis();
  retirement.signer_device = self_.device_id;
  return RetireSigned(listing_id, SignRetirement(retirement, self_.device.signing()));
}

}  // namespace trygg
