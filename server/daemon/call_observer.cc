// SPDX-License-Identifier: Apache-2.0

#include "server/daemon/call_observer.h"

#include <google/protobuf/descriptor.h>

#include <chrono>

#include "absl/status/status.h"
#include "server/api/request_id.h"
#include "server/daemon/logging.h"

namespace trygg::server {
namespace {

// The health service is served from gRPC's own upb code, so its methods are
// not in the protobuf descriptor pool.
constexpr std::string_view kHealthMethods[] = {"/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch"};
constexpr char kUnknownMethod[] = "unknown";

class CallObserver final : public grpc::experimental::Interceptor {
 public:
  CallObserver(grpc::experimental::ServerRpcInfo* info, metrics::ServerMetrics* metrics)
      : metrics_(metrics),
        method_(MethodLabel(info->method())),
        streaming_(info->type() != grpc::experimental::ServerRpcInfo::Type::UNARY),
        start_(std::chrono::steady_clock::now()) {
    if (metrics_ != nullptr && streaming_) metrics_->StreamOpened(method_);
  }

  ~CallObserver() override {
    // A call that ended without sending a status (the client went away
    // first) is still one call.
    if (!finished_) Finished(absl::StatusCodeToString(absl::StatusCode::kCancelled), "");
    if (metrics_ != nullptr && streaming_) metrics_->StreamClosed(method_);
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS) &&
        !finished_) {
      const grpc::Status status = methods->GetSendStatus();
      std::string request_id;
      if (const auto* trailing = methods->GetSendTrailingMetadata(); trailing != nullptr) {
        // Put there by api::AcceptRequestId, which validated it.
        if (auto it = trailing->find(api::kRequestIdKey); it != trailing->end()) request_id = it->second;
      }
      Finished(absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code())), request_id);
    }
    methods->Proceed();
  }

 private:
  void Finished(const std::string& code, const std::string& request_id) {
    finished_ = true;
    const auto duration = std::chrono::steady_clock::now() - start_;
    LogCall({method_, code, std::chrono::duration<double, std::milli>(duration).count(), request_id});
    if (metrics_ != nullptr) {
      metrics_->RecordCall(method_, code, std::chrono::duration_cast<std::chrono::nanoseconds>(duration));
    }
  }

  metrics::ServerMetrics* metrics_;
  const std::string method_;
  const bool streaming_;
  const std::chrono::steady_clock::time_point start_;
  bool finished_ = false;
};

}  // namespace

std::string MethodLabel(const char* method) {
  if (method == nullptr) return kUnknownMethod;
  const std::string_view name(method);
  for (std::string_view health : kHealthMethods) {
    if (name == health) return std::string(name);
  }
  // "/trygg.v1.CaseService/CreateCase" is "trygg.v1.CaseService.CreateCase"
  // in the descriptor pool.
  const size_t slash = name.rfind('/');
  if (name.size() < 4 || name.front() != '/' || slash == 0 || slash == std::string_view::npos) {
    return kUnknownMethod;
  }
  std::string full(name.substr(1));
  full[slash - 1] = '.';
  if (google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(full) == nullptr) return kUnknownMethod;
  return std::string(name);
}

grpc::experimental::Interceptor* CallObserverFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  return new CallObserver(info, metrics_);
}

}  // namespace trygg::server
