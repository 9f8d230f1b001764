// TrustService handlers: translate gRPC to domain calls and back, nothing else.
// The RPCs of later milestones answer UNIMPLEMENTED through the generated
// base class until they are built.
//
// Thread-safety: handlers run concurrently on gRPC's callback threads.
#ifndef TRYGG_SERVER_API_TRUST_SERVICE_H_
#define TRYGG_SERVER_API_TRUST_SERVICE_H_

#include <string>

#include "server/domain/server_info.h"
#include "trygg/v1/trust.grpc.pb.h"

namespace trygg::api {

class TrustService final : public trygg::v1::TrustService::CallbackService {
 public:
  // `info` must outlive the service.
  explicit TrustService(const domain::ServerInfo& info) : info_(info) {}

  grpc::ServerUnaryReactor* GetServerInfo(grpc::CallbackServerContext* context,
                                          const trygg::v1::GetServerInfoRequest* request,
                                          trygg::v1::GetServerInfoResponse* response) override;

 private:
  const domain::ServerInfo& info_;
};

}  // namespace trygg::api

#endif  // TRYGG_SERVER_API_TRUST_SERVICE_H_
