#include "server/api/trust_service.h"

namespace trygg::api {

grpc::ServerUnaryReactor* TrustService::GetServerInfo(grpc::CallbackServerContext* context,
                                                      const trygg::v1::GetServerInfoRequest*,
                                                      trygg::v1::GetServerInfoResponse* response) {
  response->set_server_version(info_.server_version);
  response->set_schema_version(info_.schema_version);
  response->set_server_instance_id(info_.identity.instance_id.data(), info_.identity.instance_id.size());
  if (info_.platform_root_public_key.has_value()) {
    response->set_platform_root_public_key(info_.platform_root_public_key->data(),
                                           info_.platform_root_public_key->size());
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace trygg::api
