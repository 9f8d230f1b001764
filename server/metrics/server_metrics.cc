// SPDX-License-Identifier: Apache-2.0

#include "server/metrics/server_metrics.h"

#include <exception>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/net/bind_probe.h"

namespace trygg::metrics {
namespace {

double Seconds(std::chrono::nanoseconds d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

// Gauges whose value is read when Prometheus scrapes, so that a file size or
// a row count is never stale and costs nothing between scrapes.
class ScrapeGauges final : public prometheus::Collectable {
 public:
  void Add(std::string name, std::string help, prometheus::MetricType type,
           std::function<std::optional<double>()> read) {
    std::lock_guard<std::mutex> lock(mu_);
    gauges_.push_back({std::move(name), std::move(help), type, std::move(read)});
  }

  std::vector<prometheus::MetricFamily> Collect() const override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<prometheus::MetricFamily> families;
    for (const Gauge& gauge : gauges_) {
      std::optional<double> value = gauge.read();
      if (!value.has_value()) continue;
      prometheus::MetricFamily family;
      family.name = gauge.name;
      family.help = gauge.help;
      family.type = gauge.type;
      prometheus::ClientMetric metric;
      if (gauge.type == prometheus::MetricType::Counter) {
        metric.counter.value = *value;
      } else {
        metric.gauge.value = *value;
      }
      family.metric.push_back(std::move(metric));
      families.push_back(std::move(family));
    }
    return families;
  }

 private:
  struct Gauge {
    std::string name;
    std::string help;
    prometheus::MetricType type;
    std::function<std::optional<double>()> read;
  };
  mutable std::mutex mu_;
  std::vector<Gauge> gauges_;
};

struct ServerMetrics::Impl {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  std::shared_ptr<ScrapeGauges> scrape_gauges = std::make_shared<ScrapeGauges>();
  std::unique_ptr<prometheus::Exposer> exposer;

  prometheus::Family<prometheus::Counter>& calls =
      prometheus::BuildCounter()
          .Name("trygg_rpc_total")
          .Help("gRPC calls finished, by method and status code")
          .Register(*registry);
  prometheus::Family<prometheus::Histogram>& call_seconds =
      prometheus::BuildHistogram()
          .Name("trygg_rpc_duration_seconds")
          .Help("Time from a call's start to its status, by method and status code")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& open_streams =
      prometheus::BuildGauge()
          .Name("trygg_rpc_open_streams")
          .Help("Streaming calls open now, by method")
          .Register(*registry);
  prometheus::Histogram& batch_writes =
      prometheus::BuildHistogram()
          .Name("trygg_store_batch_writes")
          .Help("Writes committed together in one group-commit batch")
          .Register(*registry)
          .Add({}, prometheus::Histogram::BucketBoundaries{1, 2, 4, 8, 16, 32, 64, 128, 256});
  prometheus::Histogram& batch_seconds =
      prometheus::BuildHistogram()
          .Name("trygg_store_batch_duration_seconds")
          .Help("Time the writer thread spent on one batch, from BEGIN to the end of COMMIT")
          .Register(*registry)
          .Add({}, prometheus::Histogram::BucketBoundaries{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                           0.1, 0.25, 0.5, 1, 2.5});
  prometheus::Histogram& commit_seconds =
      prometheus::BuildHistogram()
          .Name("trygg_store_commit_duration_seconds")
          .Help("Time of one batch's COMMIT alone (the fsync that makes it durable)")
          .Register(*registry)
          .Add({}, prometheus::Histogram::BucketBoundaries{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                           0.1, 0.25, 0.5, 1, 2.5});
  prometheus::Counter& commit_failures =
      prometheus::BuildCounter()
          .Name("trygg_store_commit_failures_total")
          .Help("Batches whose transaction failed to commit (every write in them failed)")
          .Register(*registry)
          .Add({});
};

ServerMetrics::ServerMetrics(std::unique_ptr<Impl> impl, int port) : impl_(std::move(impl)), port_(port) {}

ServerMetrics::~ServerMetrics() { StopServing(); }

absl::StatusOr<std::unique_ptr<ServerMetrics>> ServerMetrics::Serve(const std::string& address) {
  const size_t colon = address.rfind(':');
  int port = -1;
  if (!address.empty() && address.front() == '[') {
    return absl::InvalidArgumentError(absl::StrCat(
        "metrics address ", address, ": IPv6 is not supported by the metrics HTTP server; use an IPv4 address"));
  }
  if (colon == std::string::npos || colon == 0 || !absl::SimpleAtoi(address.substr(colon + 1), &port) ||
      port < 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("metrics address '", address, "' is not host:port"));
  }
  const std::string host = address.substr(0, colon);
  // civetweb says only "possible problem binding to port"; the probe gives
  // the operator the real reason.
  if (absl::Status probe = net::ProbeBind(host, port, net::AddressFamily::kIpv4); !probe.ok()) {
    return absl::IsInvalidArgument(probe)
               ? absl::InvalidArgumentError(
                     absl::StrCat("cannot resolve metrics address ", address, " as IPv4: ", probe.message()))
               : absl::UnavailableError(absl::StrCat("cannot serve metrics on ", address, ": ", probe.message()));
  }
  auto impl = std::make_unique<Impl>();
  try {
    // Two threads: a scrape never waits behind another for long, and a
    // flood of connections cannot take more.
    impl->exposer = std::make_unique<prometheus::Exposer>(address, 2);
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("cannot serve metrics on ", address, ": ", e.what()));
  }
  std::vector<int> ports = impl->exposer->GetListeningPorts();
  if (ports.empty()) return absl::UnavailableError(absl::StrCat("cannot serve metrics on ", address));
  impl->exposer->RegisterCollectable(impl->registry);
  impl->exposer->RegisterCollectable(impl->scrape_gauges);
  return std::unique_ptr<ServerMetrics>(new ServerMetrics(std::move(impl), ports.front()));
}

void ServerMetrics::RecordCall(absl::string_view method, absl::string_view code,
                               std::chrono::nanoseconds duration) {
  const std::map<std::string, std::string> labels{{"method", std::string(method)}, {"code", std::string(code)}};
  impl_->calls.Add(labels).Increment();
  impl_->call_seconds
      .Add(labels, prometheus::Histogram::BucketBoundaries{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                           0.5, 1, 2.5, 5, 10})
      .Observe(Seconds(duration));
}

void ServerMetrics::StreamOpened(absl::string_view method) {
  impl_->open_streams.Add({{"method", std::string(method)}}).Increment();
}

void ServerMetrics::StreamClosed(absl::string_view method) {
  impl_->open_streams.Add({{"method", std::string(method)}}).Decrement();
}

void ServerMetrics::RecordBatch(size_t writes, std::chrono::nanoseconds batch_duration,
                                std::chrono::nanoseconds commit_duration, bool committed) {
  impl_->batch_writes.Observe(static_cast<double>(writes));
  impl_->batch_seconds.Observe(Seconds(batch_duration));
  if (committed) {
    impl_->commit_seconds.Observe(Seconds(commit_duration));
  } else {
    impl_->commit_failures.Increment();
  }
}

void ServerMetrics::AddScrapeGauge(std::string name, std::string help,
                                   std::function<std::optional<double>()> read) {
  impl_->scrape_gauges->Add(std::move(name), std::move(help), prometheus::MetricType::Gauge, std::move(read));
}

void ServerMetrics::AddScrapeCounter(std::string name, std::string help,
                                     std::function<std::optional<double>()> read) {
  impl_->scrape_gauges->Add(std::move(name), std::move(help), prometheus::MetricType::Counter, std::move(read));
}

void ServerMetrics::StopServing() {
  // Joins the HTTP server's threads: no scrape, so no gauge reader, runs after.
  impl_->exposer.reset();
}

}  // namespace trygg::metrics
