#include "server/api/unary.h"

#include <memory>
#include <string>

#include "server/domain/audit_log.h"
#include "trygg/status_macros.h"

namespace trygg::api {
namespace {

std::string EncodeReceipt(const domain::AuditRange& range) {
  std::string out(kAuditReceiptSize, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(range.first >> (56 - 8 * i));
  const auto count = static_cast<uint32_t>(range.count);
  for (int i = 0; i < 4; ++i) out[8 + i] = static_cast<char>(count >> (24 - 8 * i));
  return out;
}

}  // namespace

grpc::ServerUnaryReactor* FinishAfterWrite(grpc::CallbackServerContext* context, domain::Store& store,
                                           domain::Store::WriteFn write, std::function<void()> on_commit) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto range = std::make_shared<domain::AuditRange>();
  store.Write(
      [write = std::move(write), range](domain::Transaction& txn) -> absl::Status {
        TRYGG_ASSIGN_OR_RETURN(*range, domain::AuditLog::RecordedBy(txn, write));
        return absl::OkStatus();
      },
      [context, reactor, range, on_commit = std::move(on_commit)](absl::Status status) {
        if (status.ok()) {
          if (on_commit) on_commit();
          if (range->count > 0) context->AddTrailingMetadata(kAuditReceiptKey, EncodeReceipt(*range));
        }
        reactor->Finish(ToGrpcStatus(status));
      });
  return reactor;
}

}  // namespace trygg::api
