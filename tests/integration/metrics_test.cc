// SPDX-License-Identifier: Apache-2.0

// tryggd's Prometheus endpoint (--metrics-listen; server/metrics) end to end:
// a real tryggd on loopback with a real SQLite file, scraped over HTTP before
// and after real calls. The figures must move by what the calls did, and no
// label may carry an id, a name or anything else a client chose.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <condition_variable>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include "testing/http_get.h"
#include "testing/temp_dir.h"
#include "testing/trust_world.h"
#include "testing/wait_for.h"
#include "trygg/case_client.h"
#include "trygg/v1/referral.grpc.pb.h"

namespace trygg {
namespace {

using testing::TestDevice;
using testing::TrustWorld;

constexpr char kShelterName[] = "Metrikhemmet Norrland";
constexpr char kLegalName[] = "Juristbyrån Metrik";

struct Series {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

// Prometheus text exposition format, the subset prometheus-cpp writes:
// `name{label="value",...} number` lines and # comments.
std::vector<Series> ParseExposition(const std::string& text) {
  static const std::regex kLine(R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$)");
  static const std::regex kLabel(R"re(([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)")re");
  std::vector<Series> series;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::smatch m;
    INFO(line);
    REQUIRE(std::regex_match(line, m, kLine));
    Series s;
    s.name = m[1];
    const std::string labels = m[3];
    for (auto it = std::sregex_iterator(labels.begin(), labels.end(), kLabel); it != std::sregex_iterator(); ++it) {
      s.labels[(*it)[1]] = (*it)[2];
    }
    s.value = std::stod(m[4]);
    series.push_back(std::move(s));
  }
  return series;
}

struct Scrape {
  std::vector<Series> series;

  // The value of the one series `name` with exactly `labels`; -1 if absent.
  double Value(const std::string& name, const std::map<std::string, std::string>& labels = {}) const {
    for (const Series& s : series) {
      if (s.name == name && s.labels == labels) return s.value;
    }
    return -1;
  }
  double Calls(const std::string& method, const std::string& code) const {
    double v = Value("trygg_rpc_total", {{"code", code}, {"method", method}});
    return v < 0 ? 0 : v;
  }
};

int MetricsPort(const testing::TryggdProcess& server) {
  static const std::regex kLine(R"(tryggd metrics on http://127\.0\.0\.1:(\d+)/metrics)");
  std::smatch m;
  const std::string& out = server.stdout_text();
  REQUIRE(std::regex_search(out, m, kLine));
  return std::stoi(m[1]);
}

Scrape ScrapeMetrics(int port) {
  auto response = testing::HttpGet("127.0.0.1", port, "/metrics");
  REQUIRE(response.has_value());
  REQUIRE(response->status == 200);
  return Scrape{ParseExposition(response->body)};
}

std::vector<uint8_t> Text(std::string_view s) { return {s.begin(), s.end()}; }

TEST_CASE("metrics move with the calls and carry no ids or names", "[metrics]") {
  TrustWorld world({"--metrics-listen", "127.0.0.1:0"});
  REQUIRE(world.ok());
  const int port = MetricsPort(world.server());
  TestDevice& shelter = world.AdmitOrganisation(kShelterName);
  TestDevice& anna = world.AddDevice(shelter, Role::kCaseworker);
  TestDevice& legal = world.AdmitOrganisation(kLegalName);
  CaseClient anna_cases{*anna.client, anna.keys, world.clock(), world.rng()};
  CaseClient legal_cases{*legal.client, legal.keys, world.clock(), world.rng()};

  const Scrape before = ScrapeMetrics(port);
  const std::string kCreate = "/trygg.v1.CaseService/CreateCase";
  const std::string kGet = "/trygg.v1.CaseService/GetCase";

  auto case_id = anna_cases.CreateCase(Text("Behov: skyddat boende"), 1);
  REQUIRE(case_id.ok());
  REQUIRE(anna_cases.ReadCase(*case_id).ok());
  // Another organisation's read is refused: a NOT_FOUND call.
  CHECK(legal_cases.ReadCase(*case_id).status().code() == absl::StatusCode::kNotFound);

  const Scrape after = ScrapeMetrics(port);
  CHECK(after.Calls(kCreate, "OK") - before.Calls(kCreate, "OK") == 1);
  CHECK(after.Calls(kGet, "OK") - before.Calls(kGet, "OK") >= 1);
  CHECK(after.Calls(kGet, "NOT_FOUND") - before.Calls(kGet, "NOT_FOUND") == 1);
  const std::map<std::string, std::string> create_ok{{"code", "OK"}, {"method", kCreate}};
  CHECK(after.Value("trygg_rpc_duration_seconds_count", create_ok) -
            std::max(0.0, before.Value("trygg_rpc_duration_seconds_count", create_ok)) ==
        1);
  CHECK(after.Value("trygg_rpc_duration_seconds_sum", create_ok) > 0);
  // Every write is one batch of at least one write.
  CHECK(after.Value("trygg_store_batch_writes_count") > before.Value("trygg_store_batch_writes_count"));
  CHECK(after.Value("trygg_store_batch_writes_sum") > before.Value("trygg_store_batch_writes_sum"));
  CHECK(after.Value("trygg_store_commit_duration_seconds_count") >
        before.Value("trygg_store_commit_duration_seconds_count"));
  CHECK(after.Value("trygg_store_commit_failures_total") == 0);
  // No write here failed after changing rows, so no batch ran twice.
  CHECK(after.Value("trygg_store_batch_retries_total") == 0);
  // The case creation was audited.
  CHECK(after.Value("trygg_audit_tree_size") > before.Value("trygg_audit_tree_size"));
  CHECK(before.Value("trygg_audit_tree_size") > 0);
  // At least three devices are logged in: two admins and a caseworker.
  CHECK(after.Value("trygg_sessions") >= 3);
  CHECK(after.Value("trygg_store_database_bytes") > 0);
  CHECK(after.Value("trygg_store_wal_bytes") >= 0);
  CHECK(after.Value("trygg_store_write_queue_depth") == 0);

  // A watch stream is counted while it is open.
  const std::string kWatch = "/trygg.v1.ReferralService/WatchReferrals";
  {
    auto context = anna.client->NewCallContext();
    auto stub = trygg::v1::ReferralService::NewStub(anna.client->channel());
    auto reader = stub->WatchReferrals(context.get(), trygg::v1::WatchReferralsRequest());
    reader->WaitForInitialMetadata();  // the server has registered the stream
    CHECK(ScrapeMetrics(port).Value("trygg_rpc_open_streams", {{"method", kWatch}}) == 1);
    context->TryCancel();
    reader->Finish().IgnoreError();
  }
  CHECK(testing::WaitFor(
      [&] { return ScrapeMetrics(port).Value("trygg_rpc_open_streams", {{"method", kWatch}}) == 0; },
      std::chrono::seconds(10)));

  // A method the server does not serve is counted as "unknown", under no
  // name the client chose.
  {
    grpc::GenericStub generic(anna.client->channel());
    grpc::ClientContext context;
    grpc::Slice empty("");
    grpc::ByteBuffer request(&empty, 1);
    grpc::ByteBuffer reply;
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    grpc::Status status;
    generic.UnaryCall(&context, "/Anna.Andersson/0123456789abcdef0123", grpc::StubOptions(), &request, &reply,
                      [&](grpc::Status s) {
                        std::lock_guard<std::mutex> lock(mu);
                        status = s;
                        done = true;
                        cv.notify_all();
                      });
    std::unique_lock<std::mutex> lock(mu);
    REQUIRE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return done; }));
    CHECK(status.error_code() == grpc::StatusCode::UNIMPLEMENTED);
  }

  // No label value is an id (16+ hex digits), names an organisation or
  // carries what the client put in a method name.
  const Scrape last = ScrapeMetrics(port);
  CHECK(last.Calls("unknown", "UNIMPLEMENTED") == 1);
  const std::regex kHexId("[0-9a-fA-F]{16,}");
  std::set<std::string> label_names;
  for (const Series& s : last.series) {
    for (const auto& [label, value] : s.labels) {
      INFO(s.name << " " << label << "=" << value);
      label_names.insert(label);
      CHECK_FALSE(std::regex_search(value, kHexId));
      CHECK(value.find("Metrik") == std::string::npos);
      CHECK(value.find("Anna") == std::string::npos);
    }
    CHECK(s.name.find("Metrik") == std::string::npos);
  }
  // method and code (ours), le and quantile (histograms and the exporter's
  // own summary): nothing else.
  for (const std::string& label : label_names) {
    INFO(label);
    CHECK((label == "method" || label == "code" || label == "le" || label == "quantile"));
  }
  CHECK(label_names.count("method") == 1);
  CHECK(label_names.count("code") == 1);
}

TEST_CASE("metrics are off unless asked for, and a bad metrics address is refused", "[metrics]") {
  testing::TempDir dir;
  {
    testing::TryggdProcess server({"--listen", "127.0.0.1:0", "--data-dir", dir.path()});
    REQUIRE(server.ok());
    CHECK(server.stdout_text().find("metrics") == std::string::npos);
    CHECK(server.Stop(SIGTERM).code == 0);
  }
  {
    auto exit =
        testing::RunTryggd({"--listen", "127.0.0.1:0", "--data-dir", dir.path(), "--metrics-listen", "[::1]:0"});
    CHECK(exit.exited);
    CHECK(exit.code == 2);
    CHECK(exit.stderr_text.find("metrics_listen [::1]:0") != std::string::npos);
  }
  {
    auto exit = testing::RunTryggd({"--listen", "127.0.0.1:0", "--data-dir", dir.path(), "--metrics-listen", "9464"});
    CHECK(exit.code == 2);
    CHECK(exit.stderr_text.find("metrics_listen: ") != std::string::npos);
  }
  {
    // A port in use: the start fails with the reason, like the gRPC port.
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    REQUIRE(listen(fd, 1) == 0);
    socklen_t len = sizeof(addr);
    REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    const std::string taken = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
    auto exit = testing::RunTryggd({"--listen", "127.0.0.1:0", "--data-dir", dir.path(), "--metrics-listen", taken});
    close(fd);
    CHECK(exit.code == 1);
    CHECK(exit.stderr_text.find("cannot serve metrics on " + taken) != std::string::npos);
    CHECK(exit.stderr_text.find("in use") != std::string::npos);
  }
}

}  // namespace
}  // namespace trygg
