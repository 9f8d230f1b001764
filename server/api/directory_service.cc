// SPDX-License-Identifier: Apache-2.0

#include "server/api/directory_service.h"

#include "server/api/convert.h"
#include "server/api/request_id.h"
#include "server/api/unary.h"
#include "trygg/status_macros.h"

namespace trygg::api {
namespace {

void ListingToProto(const domain::ListingView& view, trygg::v1::Listing* out) {
  const Listing& l = view.listing;
  const domain::ListingRow& row = view.row;
  out->set_listing_id(BytesToProto(row.listing_id.span()));
  out->set_org_id(BytesToProto(row.org_id.span()));
  out->set_category(static_cast<trygg::v1::ServiceCategory>(l.category));
  for (const std::string& region : l.regions) out->add_regions(region);
  for (const std::string& language : l.languages) out->add_languages(language);
  for (uint8_t g = 1; g <= kMaxTargetGroup; ++g) {
    if (l.HasTargetGroup(static_cast<TargetGroup>(g))) out->add_target_groups(static_cast<trygg::v1::TargetGroup>(g));
  }
  for (uint8_t f = 1; f <= kMaxExploitationForm; ++f) {
    if (l.HasExploitationForm(static_cast<ExploitationForm>(f))) {
      out->add_exploitation_forms(static_cast<trygg::v1::ExploitationForm>(f));
    }
  }
  out->set_capacity_free(row.capacity_free);
  TimeToProto(row.capacity_at_ms, out->mutable_capacity_updated_at());
  out->set_response_time_hours(l.response_time_hours);
  out->set_contact_hours(l.contact_hours);
  out->set_description(l.description);
  out->set_revision(row.revision);
  out->set_retired(row.retired);
  SignedToProto(row.listing.object, row.listing.signer_device.span(), out->mutable_signed_());
  out->set_capacity_stale(view.capacity_stale);
  if (row.capacity.has_value()) {
    SignedToProto(row.capacity->object, row.capacity->signer_device.span(), out->mutable_capacity_signed());
  }
  if (row.retirement.has_value()) {
    SignedToProto(row.retirement->object, row.retirement->signer_device.span(), out->mutable_retire_signed());
  }
}

}  // namespace

grpc::ServerUnaryReactor* DirectoryService::PublishListing(grpc::CallbackServerContext* context,
                                                           const trygg::v1::PublishListingRequest* request,
                                                           trygg::v1::PublishListingResponse* response) {
  if (absl::Status id = AcceptRequestId(*context, request->request_id()); !id.ok()) return Finish(context, id);
  absl::StatusOr<domain::Caller> caller = auth_.Authenticate(*context);
  if (!caller.ok()) return Finish(context, caller.status());
  absl::StatusOr<SignedObject> listing = SignedFromProto(request->listing().signed_(), "listing.signed");
  if (!listing.ok()) return Finish(context, listing.status());
  const domain::Caller checked = domain::PrecheckSignature(*caller, domain::SignedKind::kDirectoryObject, *listing);
  return FinishAfterWrite(context, store_,
                          [this, caller = checked, listing = *std::move(listing), response](domain::Transaction& txn) {
                            auto published = directory_.Publish(txn, caller, listing);
                            if (!published.ok()) return published.status();
                            response->set_listing_id(BytesToProto(published->first.span()));
                            response->set_revision(published->second);
                            return absl::OkStatus();
                          });
}

grpc::ServerUnaryReactor* DirectoryService::UpdateCapacity(grpc::CallbackServerContext* context,
                                                           const trygg::v1::UpdateCapacityRequest* request,
                                                           trygg::v1::UpdateCapacityResponse*) {
  if (absl::Status id = AcceptRequestId(*context, request->request_id()); !id.ok()) return Finish(context, id);
  absl::StatusOr<domain::Caller> caller = auth_.Authenticate(*context);
  if (!caller.ok()) return Finish(context, caller.status());
  absl::StatusOr<Id128> listing_id = IdFromProto(request->listing_id(), "listing_id");
  if (!listing_id.ok()) return Finish(context, listing_id.status());
  absl::StatusOr<SignedObject> update = SignedFromProto(request->signed_(), "signed");
  if (!update.ok()) return Finish(context, update.status());
  const domain::Caller checked = domain::PrecheckSignature(*caller, domain::SignedKind::kDirectoryObject, *update);
  return FinishAfterWrite(context, store_,
                          [this, caller = checked, listing_id = *listing_id,
                           update = *std::move(update)](domain::Transaction& txn) {
                            return directory_.UpdateCapacity(txn, caller, listing_id, update);
                          });
}

grpc::ServerUnaryReactor* DirectoryService::RetireListing(grpc::CallbackServerContext* context,
                                                          const trygg::v1::RetireListingRequest* request,
                                                          trygg::v1::RetireListingResponse*) {
  if (absl::Status id = AcceptRequestId(*context, request->request_id()); !id.ok()) return Finish(context, id);
  absl::StatusOr<domain::Caller> caller = auth_.Authenticate(*context);
  if (!caller.ok()) return Finish(context, caller.status());
  absl::StatusOr<Id128> listing_id = IdFromProto(request->listing_id(), "listing_id");
  if (!listing_id.ok()) return Finish(context, listing_id.status());
  absl::StatusOr<SignedObject> retirement = SignedFromProto(request->signed_(), "signed");
  if (!retirement.ok()) return Finish(context, retirement.status());
  const domain::Caller checked =
      domain::PrecheckSignature(*caller, domain::SignedKind::kDirectoryObject, *retirement);
  return FinishAfterWrite(context, store_,
                          [this, caller = checked, listing_id = *listing_id,
                           retirement = *std::move(retirement)](domain::Transaction& txn) {
                            return directory_.Retire(txn, caller, listing_id, retirement);
                          });
}

grpc::ServerUnaryReactor* DirectoryService::GetListing(grpc::CallbackServerContext* context,
                                                       const trygg::v1::GetListingRequest* request,
                                                       trygg::v1::GetListingResponse* response) {
  return FinishWith(context, [&]() -> absl::Status {
    TRYGG_ASSIGN_OR_RETURN(domain::Caller caller, auth_.Authenticate(*context));
    TRYGG_ASSIGN_OR_RETURN(Id128 listing_id, IdFromProto(request->listing_id(), "listing_id"));
    return store_.Read([&](domain::Transaction& txn) -> absl::Status {
      TRYGG_ASSIGN_OR_RETURN(domain::ListingView view, directory_.Get(txn, caller, listing_id));
      ListingToProto(view, response->mutable_listing());
      return absl::OkStatus();
    });
  });
}

grpc::ServerUnaryReactor* DirectoryService::SearchListings(grpc::CallbackServerContext* context,
                                                           const trygg::v1::SearchListingsRequest* request,
                                                           trygg::v1::SearchListingsResponse* response) {
  return FinishWith(context, [&]() -> absl::Status {
    TRYGG_ASSIGN_OR_RETURN(domain::Caller caller, auth_.Authenticate(*context));
    domain::ListingSearch search;
    if (request->category() < 0 || request->category() > 255) {
      return absl::InvalidArgumentError("category: unknown service category");
    }
    if (request->target_group() < 0 || request->target_group() > 255) {
      return absl::InvalidArgumentError("target_group: unknown target group");
    }
    if (request->exploitation_form() < 0 || request->exploitation_form() > 255) {
      return absl::InvalidArgumentError("exploitation_form: unknown form of exploitation");
    }
    search.category = static_cast<uint8_t>(request->category());
    search.region = request->region();
    search.language = request->language();
    search.target_group = static_cast<uint8_t>(request->target_group());
    search.exploitation_form = static_cast<uint8_t>(request->exploitation_form());
    search.open_capacity_only = request->open_capacity_only();
    return store_.Read([&](domain::Transaction& txn) -> absl::Status {
      TRYGG_ASSIGN_OR_RETURN(domain::ListingPage page, directory_.Search(txn, caller, search, request->page_size(),
                                                                         request->page_token()));
      for (const domain::ListingView& view : page.listings) ListingToProto(view, response->add_listings());
      response->set_next_page_token(page.next_page_token);
      return absl::OkStatus();
    });
  });
}

grpc::ServerUnaryReactor* DirectoryService::ExportHsds(grpc::CallbackServerContext* context,
                                                       const trygg::v1::ExportHsdsRequest*,
                                                       trygg::v1::ExportHsdsResponse* response) {
  return FinishWith(context, [&]() -> absl::Status {
    TRYGG_ASSIGN_OR_RETURN(domain::Caller caller, auth_.Authenticate(*context));
    return store_.Read([&](domain::Transaction& txn) -> absl::Status {
      TRYGG_ASSIGN_OR_RETURN(std::string json, directory_.ExportHsds(txn, caller));
      response->set_hsds_json(std::move(json));
      return absl::OkStatus();
    });
  });
}

}  // namespace trygg::api
