// SPDX-License-Identifier: Apache-2.0

// TrustService handlers: translate gRPC to domain::Trust calls and back,
// nothing else. Rules live in server/domain/trust.cc.
//
// Thread-safety: handlers run concurrently on gRPC's callback threads.
#ifndef TRYGG_SERVER_API_TRUST_SERVICE_H_
#define TRYGG_SERVER_API_TRUST_SERVICE_H_

#include "server/api/authenticator.h"
#include "trygg/server_info.h"
#include "server/domain/store.h"
#include "server/domain/trust.h"
#include "trygg/v1/trust.grpc.pb.h"

namespace trygg::api {

class TrustService final : public trygg::v1::TrustService::CallbackService {
 public:
  // All arguments must outlive the service.
  TrustService(const ServerInfo& info, domain::Store& store, const domain::Trust& trust,
               const Authenticator& authenticator)
      : info_(info), store_(store), trust_(trust), auth_(authenticator) {}

  grpc::ServerUnaryReactor* GetServerInfo(grpc::CallbackServerContext* context,
                                          const trygg::v1::GetServerInfoRequest* request,
                                          trygg::v1::GetServerInfoResponse* response) override;
  grpc::ServerUnaryReactor* UploadCertificate(grpc::CallbackServerContext* context,
                                              const trygg::v1::UploadCertificateRequest* request,
                                              trygg::v1::UploadCertificateResponse* response) override;
  grpc::ServerUnaryReactor* ListOrganisations(grpc::CallbackServerContext* context,
                                              const trygg::v1::ListOrganisationsRequest* request,
                                              trygg::v1::ListOrganisationsResponse* response) override;
  grpc::ServerUnaryReactor* AppendOrgLogLink(grpc::CallbackServerContext* context,
                                             const trygg::v1::AppendOrgLogLinkRequest* request,
                                             trygg::v1::AppendOrgLogLinkResponse* response) override;
  grpc::ServerUnaryReactor* GetOrgLog(grpc::CallbackServerContext* context,
                                      const trygg::v1::GetOrgLogRequest* request,
                                      trygg::v1::GetOrgLogResponse* response) override;
  grpc::ServerUnaryReactor* SubmitEnrolmentRequest(grpc::CallbackServerContext* context,
                                                   const trygg::v1::SubmitEnrolmentRequestRequest* request,
                                                   trygg::v1::SubmitEnrolmentRequestResponse* response) override;
  grpc::ServerUnaryReactor* ListEnrolmentRequests(grpc::CallbackServerContext* context,
                                                  const trygg::v1::ListEnrolmentRequestsRequest* request,
                                                  trygg::v1::ListEnrolmentRequestsResponse* response) override;
  grpc::ServerUnaryReactor* PutKeyEnvelopes(grpc::CallbackServerContext* context,
                                            const trygg::v1::PutKeyEnvelopesRequest* request,
                                            trygg::v1::PutKeyEnvelopesResponse* response) override;
  grpc::ServerUnaryReactor* GetKeyEnvelopes(grpc::CallbackServerContext* context,
                                            const trygg::v1::GetKeyEnvelopesRequest* request,
                                            trygg::v1::GetKeyEnvelopesResponse* response) override;

 private:
  const ServerInfo& info_;
  domain::Store& store_;
  const domain::Trust& trust_;
  const Authenticator& auth_;
};

}  // namespace trygg::api

#endif  // TRYGG_SERVER_API_TRUST_SERVICE_H_
