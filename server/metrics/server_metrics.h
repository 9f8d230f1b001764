// SPDX-License-Identifier: Apache-2.0

// ServerMetrics: tryggd's Prometheus metrics and the HTTP endpoint that serves
// them (GET /metrics, text exposition format). The daemon reports calls,
// streams and store batches to it and registers gauges that are read at each
// scrape (file sizes, queue depth, audit tree size, live sessions).
//
// Privacy: metrics carry no personal data. The only labels are `method` (a
// gRPC method name the server registers, or "unknown") and `code` (a gRPC
// status code name); callers must pass values from those fixed sets, never an
// id, a name or anything a client chose. docs/operator-guide.md, "Metrics",
// lists every metric.
//
// Ownership: Serve returns the owner; gauge readers registered with
// AddScrapeGauge must stay valid until StopServing (or destruction).
// Thread-safety: every method may be called from any thread.
// Failure modes: Serve fails (UNAVAILABLE, or INVALID_ARGUMENT for an IPv6
// address) when it cannot listen; a gauge whose reader fails is left out of
// that scrape.
#ifndef TRYGG_SERVER_METRICS_SERVER_METRICS_H_
#define TRYGG_SERVER_METRICS_SERVER_METRICS_H_

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace trygg::metrics {

class ServerMetrics {
 public:
  // Listens on `address` (host:port, IPv4 or "localhost"; port 0 picks a free
  // port) and serves /metrics at once.
  static absl::StatusOr<std::unique_ptr<ServerMetrics>> Serve(const std::string& address);
  ~ServerMetrics();
  ServerMetrics(const ServerMetrics&) = delete;
  ServerMetrics& operator=(const ServerMetrics&) = delete;

  // The port bound (the chosen one when 0 was asked for).
  int port() const { return port_; }

  // One finished call: trygg_rpc_total and trygg_rpc_duration_seconds.
  void RecordCall(absl::string_view method, absl::string_view code, std::chrono::nanoseconds duration);
  // A streaming call opened or ended: trygg_rpc_open_streams.
  void StreamOpened(absl::string_view method);
  void StreamClosed(absl::string_view method);
  // One group-commit batch of the store's writer.
  void RecordBatch(size_t writes, std::chrono::nanoseconds batch_duration,
                   std::chrono::nanoseconds commit_duration, bool committed);

  // A gauge read at each scrape: `read` returns its value, or nullopt when it
  // cannot be read now (the gauge is then left out). `read` runs on the HTTP
  // server's thread.
  void AddScrapeGauge(std::string name, std::string help, std::function<std::optional<double>()> read);
  // The same for a counter kept elsewhere (a count that only grows).
  void AddScrapeCounter(std::string name, std::string help, std::function<std::optional<double>()> read);

  // Stops serving (idempotent): after it returns no gauge reader runs again.
  // Recording stays valid until destruction.
  void StopServing();

 private:
  struct Impl;
  explicit ServerMetrics(std::unique_ptr<Impl> impl, int port);

  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

}  // namespace trygg::metrics

#endif  // TRYGG_SERVER_METRICS_SERVER_METRICS_H_
