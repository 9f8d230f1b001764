// SPDX-License-Identifier: Apache-2.0

// CallObserver: a gRPC server interceptor that sees every call tryggd serves
// (its own services, health checking and reflection) and, when the call ends,
// logs one `rpc` event (method, status, duration, request_id; logging.h) and
// records it in the metrics, if they are on. Streaming calls are counted as
// open streams while they last.
//
// Privacy: it reads the method name, the status code and the trailing
// request_id (api/request_id.h) only: never a message, a header or a status
// message. A method name this server does not serve is logged and counted as
// "unknown", so a client cannot put text of its own into labels or logs.
//
// Ownership: `metrics` (may be null) must outlive the gRPC server.
// Thread-safety: the factory is called by gRPC from any thread.
#ifndef TRYGG_SERVER_DAEMON_CALL_OBSERVER_H_
#define TRYGG_SERVER_DAEMON_CALL_OBSERVER_H_

#include <grpcpp/support/server_interceptor.h>

#include <string>
#include <string_view>

#include "server/metrics/server_metrics.h"

namespace trygg::server {

class CallObserverFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit CallObserverFactory(metrics::ServerMetrics* metrics) : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(grpc::experimental::ServerRpcInfo* info) override;

 private:
  metrics::ServerMetrics* metrics_;
};

// The name a call is logged and counted under: `method` ("/pkg.Service/Method")
// if a service this server links defines it, else "unknown".
std::string MethodLabel(const char* method);

}  // namespace trygg::server

#endif  // TRYGG_SERVER_DAEMON_CALL_OBSERVER_H_
