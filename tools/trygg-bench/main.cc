// SPDX-License-Identifier: Apache-2.0

// trygg-bench: load against a real tryggd, reported as ratios to the floor
// measured in the same run (DESIGN.md, "Performance reference").
//
// It starts a throw-away tryggd on a loopback port with a fresh data
// directory, sets up a platform through libtrygg exactly as the tools do (a
// platform root, two member organisations, a listing per worker, a case, a
// consent and a stock of referrals), then runs closed loops of N concurrent
// callers (N = each --in-flight) for:
//   empty     grpc.health.v1.Health/Check: the empty-call floor
//   capacity  a signed capacity update: the device signs, the server verifies
//             the signer against the organisation log, commits it with its
//             audit entry (synchronous=FULL, group commit) and replies
//   accept    a referral transition SENT -> ACCEPTED, signed by the receiver:
//             verified, checked against the workflow, committed with its
//             audit entry and the receiver's grant changes
// Each is reported in calls per second and as a ratio to `empty` at the same
// N, as the median over --runs rounds (the workloads interleave within a
// round, so a burst of load elsewhere hits them alike).
//
//   trygg-bench [--tryggd PATH] [--in-flight N ...] [--seconds S] [--runs R]
//               [--referrals N] [--json]
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <grpcpp/grpcpp.h>
#include <nlohmann/json.hpp>

#include "grpc/health/v1/health.grpc.pb.h"
#include "trygg/case_client.h"
#include "trygg/client.h"
#include "trygg/directory_client.h"
#include "trygg/hardening.h"
#include "trygg/listing.h"
#include "trygg/membership.h"
#include "trygg/referral_client.h"
#include "trygg/status_macros.h"
#include "trygg/trust.h"
#include "trygg/v1/referral.grpc.pb.h"
#include "trygg/workflow.h"

extern char** environ;

namespace trygg::bench {
namespace {

using Clock = std::chrono::steady_clock;

// ---- A throw-away tryggd ------------------------------------------------------

class Server {
 public:
  ~Server() { Stop(); }

  absl::Status Start(const std::string& binary, const SignPublicKey& root) {
    char pattern[] = "/tmp/trygg-bench-XXXXXX";
    if (mkdtemp(pattern) == nullptr) return absl::InternalError("cannot create a temporary directory");
    dir_ = pattern;
    int out[2];
    if (pipe(out) != 0) return absl::InternalError("pipe failed");
    const std::string root_hex = HexEncode(root.span());
    std::vector<std::string> args = {binary,          "--listen", "127.0.0.1:0", "--data-dir", dir_,
                                     "--platform-root-key", root_hex, "--log-level", "warn"};
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    const int rc = posix_spawn(&pid_, binary.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(out[1]);
    if (rc != 0) {
      close(out[0]);
      pid_ = -1;
      return absl::NotFoundError("cannot start " + binary + " (pass --tryggd PATH)");
    }
    // tryggd prints "tryggd listening on <address>; ..." once it accepts calls.
    std::string text;
    char buffer[512];
    constexpr std::string_view kListening = "tryggd listening on ";
    const auto deadline = Clock::now() + std::chrono::seconds(20);
    while (Clock::now() < deadline) {
      const ssize_t n = read(out[0], buffer, sizeof buffer);
      if (n <= 0) break;
      text.append(buffer, static_cast<size_t>(n));
      const size_t at = text.find(kListening);
      if (at == std::string::npos) continue;
      const size_t begin = at + kListening.size();
      const size_t end = text.find_first_of(";\n", begin);
      if (end == std::string::npos) continue;
      address_ = text.substr(begin, end - begin);
      break;
    }
    // Kept open until Stop: tryggd must not meet a closed pipe (SIGPIPE). It
    // writes little to stdout after this line; its warnings go to stderr.
    stdout_fd_ = out[0];
    if (address_.empty()) return absl::UnavailableError("tryggd did not start: " + text);
    return absl::OkStatus();
  }

  void Stop() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
      pid_ = -1;
    }
    if (stdout_fd_ >= 0) {
      close(stdout_fd_);
      stdout_fd_ = -1;
    }
    if (!dir_.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(dir_, ignored);
      dir_.clear();
    }
  }

  const std::string& address() const { return address_; }

 private:
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string dir_;
  std::string address_;
};

// ---- The platform, set up through libtrygg ------------------------------------

struct Member {
  KeyStoreContents keys;
  std::unique_ptr<Client> client;
};

class Platform {
 public:
  explicit Platform(std::string address) : address_(std::move(address)), root_(GenerateSigningKeyPair(rng_)) {}

  const SigningKeyPair& root() const { return root_; }
  void set_address(std::string address) { address_ = std::move(address); }
  SystemRng& rng() { return rng_; }
  SystemClock& clock() { return clock_; }

  absl::StatusOr<std::unique_ptr<Client>> Connect() {
    ClientOptions options;
    options.address = address_;
    options.platform_root = root_.public_key;
    return Client::Connect(options);
  }

  // An organisation whose first admin device (logged in) holds key generation 1.
  absl::StatusOr<Member> Admit(const std::string& name) {
    TRYGG_ASSIGN_OR_RETURN(std::unique_ptr<Client> client, Connect());
    Member m{KeyStoreContents{RandomId(), RandomId(), DeviceKeys::Generate(rng_), {}}, std::move(client)};
    RootCertificate cert;
    cert.kind = CertificateKind::kOrganisation;
    cert.subject_id = m.keys.org_id;
    cert.device_id = m.keys.device_id;
    cert.issued_at_ms = clock_.NowUnixMillis();
    cert.sign_key = m.keys.device.signing().public_key;
    cert.box_key = m.keys.device.box().public_key;
    cert.name = name;
    TRYGG_ASSIGN_OR_RETURN(SignedObject signed_cert, SignRootCertificate(cert, root_));
    TRYGG_RETURN_IF_ERROR(m.client->UploadCertificate(CertificateKind::kOrganisation, signed_cert).status());
    TRYGG_RETURN_IF_ERROR(m.client->Login(m.keys.device_id, m.keys.device.signing()).status());
    TRYGG_RETURN_IF_ERROR(RotateOrgKey(*m.client, m.keys, clock_, rng_).status());
    return m;
  }

  Id128 RandomId() {
    Id128 id;
    rng_.Fill(id.span());
    return id;
  }

 private:
  std::string address_;
  SystemRng rng_;
  SystemClock clock_;
  SigningKeyPair root_;
};

// ---- Closed loops -------------------------------------------------------------

// One call of a workload by worker `w`; false when the workload is used up.
using Call = std::function<absl::StatusOr<bool>(int w)>;

struct LoopResult {
  uint64_t calls = 0;
  double seconds = 0;
  double rate() const { return seconds > 0 ? static_cast<double>(calls) / seconds : 0; }
};

absl::StatusOr<LoopResult> RunLoop(const Call& call, int workers, double seconds) {
  std::atomic<uint64_t> calls{0};
  std::atomic<bool> stop{false};
  std::mutex mu;
  absl::Status first_error;
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&, w] {
      while (!stop.load(std::memory_order_relaxed) && Clock::now() < deadline) {
        absl::StatusOr<bool> more = call(w);
        if (!more.ok()) {
          std::lock_guard<std::mutex> lock(mu);
          if (first_error.ok()) first_error = more.status();
          stop = true;
          return;
        }
        if (!*more) return;
        calls.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  if (!first_error.ok()) return first_error;
  return LoopResult{calls.load(), elapsed};
}

absl::Status FromGrpc(const grpc::Status& status, const char* what) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      std::string(what) + ": " + status.error_message());
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

struct Options {
  std::string tryggd;
  std::vector<int> in_flight = {16, 64};
  double seconds = 2;
  int runs = 3;
  int referrals = 0;  // per accept loop; 0: as many as the loop can use
  bool json = false;
};

std::string DefaultTryggd() {
  // Beside the build tree's tools/trygg-bench: ../../server/daemon/tryggd.
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const std::filesystem::path built = self.parent_path().parent_path().parent_path() / "server/daemon/tryggd";
    if (std::filesystem::exists(built)) return built.string();
  }
  return "tryggd";
}

absl::Status Run(const Options& options) {
  Platform platform("");
  Server server;
  TRYGG_RETURN_IF_ERROR(server.Start(options.tryggd, platform.root().public_key));
  platform.set_address(server.address());
  const int max_workers = *std::max_element(options.in_flight.begin(), options.in_flight.end());
  std::fprintf(stderr, "trygg-bench: tryggd on %s; setting up\n", server.address().c_str());

  TRYGG_ASSIGN_OR_RETURN(Member sender, platform.Admit("Skyddat boende (bench)"));
  TRYGG_ASSIGN_OR_RETURN(Member receiver, platform.Admit("Juridisk rådgivning (bench)"));

  // A listing per worker, so that concurrent capacity updates never race on
  // one listing's "newer than the stored update" rule.
  DirectoryClient directory(*receiver.client, receiver.keys, platform.clock(), platform.rng());
  std::vector<VerifiedListing> listings;
  for (int w = 0; w < max_workers; ++w) {
    Listing l;
    l.category = static_cast<uint8_t>(ServiceCategory::kLegalAdvice);
    l.regions = {"SE-M"};
    l.languages = {"sv"};
    l.response_time_hours = 48;
    TRYGG_ASSIGN_OR_RETURN(VerifiedListing published, directory.Publish(l));
    listings.push_back(std::move(published));
  }

  // A case with a consent to the receiver, and referrals to accept.
  CaseClient cases(*sender.client, sender.keys, platform.clock(), platform.rng());
  ReferralClient referrals(*sender.client, sender.keys, cases, platform.clock(), platform.rng());
  const std::string survivor = "bench case";
  TRYGG_ASSIGN_OR_RETURN(Id128 case_id,
                         cases.CreateCase(std::span(reinterpret_cast<const uint8_t*>(survivor.data()), survivor.size()), 1));
  ConsentTerms terms;
  terms.case_id = case_id;
  terms.to_org = receiver.keys.org_id;
  terms.services = ServiceBit(static_cast<uint8_t>(ServiceCategory::kLegalAdvice));
  terms.expires_at_ms = platform.clock().NowUnixMillis() + 7LL * 24 * 3600 * 1000;
  terms.evidence = {'b', 'e', 'n', 'c', 'h'};
  TRYGG_ASSIGN_OR_RETURN(Id128 consent_id, referrals.RecordConsent(terms));

  auto channel = receiver.client->channel();
  auto health = grpc::health::v1::Health::NewStub(channel);
  auto referral_stub = trygg::v1::ReferralService::NewStub(channel);
  std::vector<int64_t> last_update_ms(static_cast<size_t>(max_workers), 0);
  std::vector<uint32_t> capacity(static_cast<size_t>(max_workers), 0);

  const Call empty = [&](int) -> absl::StatusOr<bool> {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    grpc::health::v1::HealthCheckRequest request;
    grpc::health::v1::HealthCheckResponse response;
    TRYGG_RETURN_IF_ERROR(FromGrpc(health->Check(&context, request, &response), "Health/Check"));
    return true;
  };
  const Call capacity_update = [&](int w) -> absl::StatusOr<bool> {
    const VerifiedListing& listing = listings[static_cast<size_t>(w)];
    CapacityUpdate update;
    update.listing_id = listing.listing.listing_id;
    update.org_id = receiver.keys.org_id;
    update.revision = listing.listing.revision;
    update.capacity_free = static_cast<int32_t>(++capacity[static_cast<size_t>(w)] % 20);
    // Strictly later than this listing's last update, as the server requires.
    int64_t& last = last_update_ms[static_cast<size_t>(w)];
    last = std::max(platform.clock().NowUnixMillis(), last + 1);
    update.updated_at_ms = last;
    update.signer_device = receiver.keys.device_id;
    TRYGG_ASSIGN_OR_RETURN(SignedObject signed_update, SignCapacityUpdate(update, receiver.keys.device.signing()));
    TRYGG_RETURN_IF_ERROR(directory.UpdateCapacitySigned(update.listing_id, signed_update));
    return true;
  };

  // Referrals are used up by accepting them; each round makes what it needs.
  std::vector<Id128> stock;
  std::atomic<size_t> next{0};
  const Call accept = [&](int) -> absl::StatusOr<bool> {
    const size_t i = next.fetch_add(1);
    if (i >= stock.size()) return false;
    ReferralTransition move{stock[i],
                            static_cast<uint8_t>(ReferralStatus::kSent),
                            static_cast<uint8_t>(ReferralStatus::kAccepted),
                            0,
                            receiver.keys.device_id,
                            platform.clock().NowUnixMillis()};
    TRYGG_ASSIGN_OR_RETURN(SignedObject signed_move, SignReferralTransition(move, receiver.keys.device.signing()));
    trygg::v1::TransitionReferralRequest request;
    request.set_referral_id(std::string(stock[i].span().begin(), stock[i].span().end()));
    request.mutable_transition()->set_bytes(std::string(signed_move.bytes.begin(), signed_move.bytes.end()));
    request.mutable_transition()->set_signature(
        std::string(signed_move.signature.span().begin(), signed_move.signature.span().end()));
    request.mutable_transition()->set_signer_id(
        std::string(receiver.keys.device_id.span().begin(), receiver.keys.device_id.span().end()));
    trygg::v1::TransitionReferralResponse response;
    auto context = receiver.client->NewCallContext();
    TRYGG_RETURN_IF_ERROR(FromGrpc(referral_stub->TransitionReferral(context.get(), request, &response),
                                   "TransitionReferral"));
    return true;
  };
  const double rate_guess = 2000;  // referrals per second a round may accept; refilled as measured
  // Made by a few threads, each with its own case and referral clients over
  // the sender's one session (Client is thread-safe; those clients are not).
  auto refill = [&](size_t wanted) -> absl::Status {
    stock.assign(wanted, Id128());
    next = 0;
    std::atomic<size_t> made{0};
    std::mutex mu;
    absl::Status error;
    std::vector<std::thread> makers;
    for (int t = 0; t < 4; ++t) {
      makers.emplace_back([&] {
        SystemRng rng;
        CaseClient own_cases(*sender.client, sender.keys, platform.clock(), rng);
        ReferralClient own_referrals(*sender.client, sender.keys, own_cases, platform.clock(), rng);
        ReferralDraft draft;
        draft.case_id = case_id;
        draft.listing_id = listings[0].listing.listing_id;
        draft.to_org = receiver.keys.org_id;
        draft.service = static_cast<uint8_t>(ServiceCategory::kLegalAdvice);
        draft.consent_id = consent_id;
        draft.packet = {'b', 'e', 'n', 'c', 'h'};
        for (size_t i = made.fetch_add(1); i < wanted; i = made.fetch_add(1)) {
          absl::StatusOr<Id128> id = own_referrals.Refer(draft);
          if (!id.ok()) {
            std::lock_guard<std::mutex> lock(mu);
            if (error.ok()) error = id.status();
            return;
          }
          stock[i] = *id;
        }
      });
    }
    for (std::thread& t : makers) t.join();
    return error;
  };

  // rates[workload][in_flight] = one rate per round.
  std::map<std::string, std::map<int, std::vector<double>>> rates;
  std::map<int, double> accept_rate_seen;
  for (int round = 1; round <= options.runs; ++round) {
    for (int n : options.in_flight) {
      std::fprintf(stderr, "trygg-bench: round %d/%d, %d in flight\n", round, options.runs, n);
      TRYGG_ASSIGN_OR_RETURN(LoopResult e, RunLoop(empty, n, options.seconds));
      rates["empty"][n].push_back(e.rate());
      TRYGG_ASSIGN_OR_RETURN(LoopResult c, RunLoop(capacity_update, n, options.seconds));
      rates["capacity"][n].push_back(c.rate());
      // Enough referrals for the loop at the rate seen so far (plus margin),
      // unless --referrals fixes the number.
      const double expect = accept_rate_seen.count(n) ? accept_rate_seen[n] : rate_guess;
      const size_t wanted = options.referrals > 0 ? static_cast<size_t>(options.referrals)
                                                  : static_cast<size_t>(expect * options.seconds * 1.3) + 100;
      TRYGG_RETURN_IF_ERROR(refill(wanted));
      TRYGG_ASSIGN_OR_RETURN(LoopResult a, RunLoop(accept, n, options.seconds));
      if (next.load() >= stock.size() && options.referrals == 0) {
        std::fprintf(stderr, "trygg-bench: note: the stock of %zu referrals ran out before %.1f s\n", stock.size(),
                     options.seconds);
      }
      rates["accept"][n].push_back(a.rate());
      accept_rate_seen[n] = a.rate();
    }
  }

  // The median of each, and its ratio to the empty-call floor at the same N.
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  out["runs"] = options.runs;
  out["seconds_per_loop"] = options.seconds;
  out["results"] = nlohmann::ordered_json::array();
  std::printf("%-10s %10s %14s %12s\n", "workload", "in flight", "calls/s (med)", "x empty");
  for (int n : options.in_flight) {
    const double floor = Median(rates["empty"][n]);
    for (const char* name : {"empty", "capacity", "accept"}) {
      const double rate = Median(rates[name][n]);
      const double ratio = floor > 0 ? rate / floor : 0;
      std::printf("%-10s %10d %14.0f %12.2f\n", name, n, rate, ratio);
      out["results"].push_back({{"workload", name},
                                {"in_flight", n},
                                {"calls_per_second_median", rate},
                                {"ratio_to_empty", ratio},
                                {"calls_per_second_runs", rates[name][n]}});
    }
  }
  if (options.json) std::cout << out.dump() << "\n";
  return absl::OkStatus();
}

}  // namespace
}  // namespace trygg::bench

int main(int argc, char** argv) {
  using trygg::bench::Options;
  if (!trygg::DisableCoreDumps().ok()) {
    std::fprintf(stderr, "trygg-bench: cannot disable core dumps\n");
    return 1;
  }
  Options options;
  options.tryggd = trygg::bench::DefaultTryggd();
  CLI::App app{
      "trygg-bench: load against a throw-away tryggd on loopback (empty call, signed capacity update, referral "
      "accept), reported as calls per second and as a ratio to the empty-call floor measured in the same run"};
  app.add_option("--tryggd", options.tryggd, "tryggd binary to start (default: the one in this build tree)");
  app.add_option("--in-flight", options.in_flight, "Concurrent callers; repeat for several (default 16 64)")
      ->check(CLI::Range(1, 512));
  app.add_option("--seconds", options.seconds, "Length of each measured loop (default 2)")->check(CLI::Range(0.2, 600.0));
  app.add_option("--runs", options.runs, "Rounds; medians are over them (default 3)")->check(CLI::Range(1, 100));
  app.add_option("--referrals", options.referrals,
                 "Referrals made for each accept loop (default: enough for --seconds at the rate seen)")
      ->check(CLI::Range(1, 10000000));
  app.add_flag("--json", options.json, "Also print the results as one JSON object on stdout");
  CLI11_PARSE(app, argc, argv);
  absl::Status status = trygg::bench::Run(options);
  if (!status.ok()) {
    std::fprintf(stderr, "trygg-bench: error: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}
