// SPDX-License-Identifier: Apache-2.0

#include "server/api/unary.h"

#include <memory>
#include <string>

#include "server/domain/audit_log.h"
#include "trygg/audit/receipt.h"
#include "trygg/status_macros.h"

namespace trygg::api {

grpc::ServerUnaryReactor* FinishAfterWrite(grpc::CallbackServerContext* context, domain::Store& store,
                                           domain::Store::WriteFn write, std::function<void()> on_commit) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto receipt = std::make_shared<audit::AuditReceipt>();
  store.Write(
      [write = std::move(write), receipt](domain::Transaction& txn) -> absl::Status {
        TRYGG_ASSIGN_OR_RETURN(*receipt, domain::AuditLog::RecordedBy(txn, write));
        return absl::OkStatus();
      },
      [context, reactor, receipt, on_commit = std::move(on_commit)](absl::Status status) {
        if (status.ok()) {
          if (on_commit) on_commit();
          if (receipt->count > 0) {
            context->AddTrailingMetadata(audit::kAuditReceiptKey, audit::EncodeAuditReceipt(*receipt));
          }
        }
        reactor->Finish(ToGrpcStatus(status));
      });
  return reactor;
}

}  // namespace trygg::api
