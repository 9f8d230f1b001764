// Finishing unary callback-API calls: at once, or after a store write has
// committed (so a reply never reports data that is not yet durable).
#ifndef TRYGG_SERVER_API_UNARY_H_
#define TRYGG_SERVER_API_UNARY_H_

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>

#include "absl/status/status.h"
#include "server/api/status.h"
#include "server/domain/store.h"

namespace trygg::api {

inline grpc::ServerUnaryReactor* Finish(grpc::CallbackServerContext* context, const absl::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

// `write` runs on the store's writer thread and may fill the response, which
// gRPC keeps alive until Finish.
inline grpc::ServerUnaryReactor* FinishAfterWrite(grpc::CallbackServerContext* context, domain::Store& store,
                                                  domain::Store::WriteFn write) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  store.Write(std::move(write), [reactor](absl::Status status) { reactor->Finish(ToGrpcStatus(status)); });
  return reactor;
}

}  // namespace trygg::api

#endif  // TRYGG_SERVER_API_UNARY_H_
