// SPDX-License-Identifier: Apache-2.0

// DirectoryService handlers: translate gRPC to domain::Directory calls and
// back, nothing else. Rules live in server/domain/directory.cc.
//
// Every call needs a session (UNAUTHENTICATED otherwise); writes finish after
// their store write is durable.
// Thread-safety: handlers run concurrently on gRPC's callback threads.
#ifndef TRYGG_SERVER_API_DIRECTORY_SERVICE_H_
#define TRYGG_SERVER_API_DIRECTORY_SERVICE_H_

#include "server/api/authenticator.h"
#include "server/domain/directory.h"
#include "server/domain/store.h"
#include "trygg/v1/directory.grpc.pb.h"

namespace trygg::api {

class DirectoryService final : public trygg::v1::DirectoryService::CallbackService {
 public:
  // `store`, `authenticator` and `clock` must outlive the service.
  DirectoryService(domain::Store& store, const Authenticator& authenticator, Clock& clock,
                   domain::DirectoryOptions options)
      : store_(store), auth_(authenticator), directory_(clock, options) {}

  grpc::ServerUnaryReactor* PublishListing(grpc::CallbackServerContext* context,
                                           const trygg::v1::PublishListingRequest* request,
                                           trygg::v1::PublishListingResponse* response) override;
  grpc::ServerUnaryReactor* UpdateCapacity(grpc::CallbackServerContext* context,
                                           const trygg::v1::UpdateCapacityRequest* request,
                                           trygg::v1::UpdateCapacityResponse* response) override;
  grpc::ServerUnaryReactor* RetireListing(grpc::CallbackServerContext* context,
                                          const trygg::v1::RetireListingRequest* request,
                                          trygg::v1::RetireListingResponse* response) override;
  grpc::ServerUnaryReactor* GetListing(grpc::CallbackServerContext* context,
                                       const trygg::v1::GetListingRequest* request,
                                       trygg::v1::GetListingResponse* response) override;
  grpc::ServerUnaryReactor* SearchListings(grpc::CallbackServerContext* context,
                                           const trygg::v1::SearchListingsRequest* request,
                                           trygg::v1::SearchListingsResponse* response) override;
  grpc::ServerUnaryReactor* ExportHsds(grpc::CallbackServerContext* context,
                                       const trygg::v1::ExportHsdsRequest* request,
                                       trygg::v1::ExportHsdsResponse* response) override;

 private:
  domain::Store& store_;
  const Authenticator& auth_;
  const domain::Directory directory_;
};

}  // namespace trygg::api

#endif  // TRYGG_SERVER_API_DIRECTORY_SERVICE_H_
