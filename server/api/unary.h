// SPDX-License-Identifier: Apache-2.0

// Finishing unary callback-API calls: at once, or after a store write has
// committed (so a reply never reports data that is not yet durable).
//
// Every write finished here carries an audit receipt: the range of audit log
// entries the write appended, as the binary trailing metadata entry
// kAuditReceiptKey, encoded by libtrygg's one codec (trygg/audit/receipt.h;
// docs/api.md, "Audit receipts"). The domain measures the range (AuditLog::RecordedBy);
// a client checks that those entries say what it did and are included
// under a signed tree head (libtrygg: Client::VerifyAuditTrail).
#ifndef TRYGG_SERVER_API_UNARY_H_
#define TRYGG_SERVER_API_UNARY_H_

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>

#include <functional>

#include "absl/status/status.h"
#include "server/api/status.h"
#include "server/domain/store.h"

namespace trygg::api {

inline grpc::ServerUnaryReactor* Finish(grpc::CallbackServerContext* context, const absl::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

// Runs `body` (a read, or a call that changes nothing) and finishes the call
// with the status it returns.
template <typename Body>
grpc::ServerUnaryReactor* FinishWith(grpc::CallbackServerContext* context, Body body) {
  return Finish(context, body());
}

// Runs `write` on the store's writer thread; `write` may fill the response,
// which gRPC keeps alive until Finish. After a successful commit,
// `on_commit` (if any) runs on the store's completion thread (not the
// writer's: replying and publishing watch notices never hold up the next
// batch), the audit receipt is attached, and the call finishes.
grpc::ServerUnaryReactor* FinishAfterWrite(grpc::CallbackServerContext* context, domain::Store& store,
                                           domain::Store::WriteFn write,
                                           std::function<void()> on_commit = nullptr);

}  // namespace trygg::api

#endif  // TRYGG_SERVER_API_UNARY_H_
