// SPDX-License-Identifier: Apache-2.0

// trygg-bench: load against a real tryggd, reported as ratios to the floor
// measured in the same run (DESIGN.md, "Performance reference";
// docs/benchmarks.md).
//
// It starts a throw-away tryggd and the reference server trygg-bench-floor
// (floor_server.cc) on loopback ports with fresh data directories, sets up a
// platform through libtrygg exactly as the tools do (a platform root, two
// member organisations, a listing and a case per worker, a consent), then, in
// each round and at each N (--in-flight), runs exactly --calls calls of each
// workload with N concurrent callers in a closed loop:
//   empty, floor            the empty call (Health/Check) and the floor's
//                           minimal durable signed write
//   capacity_update, case_create, case_version (4 KiB), consent_record,
//   referral_create, referral_accept, referral_complete, referral_decline
//                           the signed writes, each one call of libtrygg or
//                           of the generated stub
//   read_inbox, read_outbox, read_directory_search, read_case
//                           reads (--no-reads leaves them out)
// A counted loop never runs out of stock: the referrals a loop uses up are
// made before it (by `referral_create`, or unmeasured for `decline`).
// Reported per workload and N: calls per second (median over --runs rounds),
// its ratio to the floor and to the empty call at the same N, and latency
// p50, p90 and p99 (medians over the rounds).
// --preload N runs the rounds again after N referrals are stored; they are
// added by trygg-bench-preload (server/bench/preload.cc) through the server's own store
// while tryggd is stopped, or through the API (--preload-through-api).
//
// --workload NAME runs and reports only the named workloads (with the floor
// and the empty call, and, unreported, what they need), and --tryggd-arg
// passes an argument to tryggd (e.g. --metrics-listen): both for profiling.
//
//   trygg-bench [--tryggd PATH] [--floor PATH] [--in-flight N ...] [--calls C]
//               [--runs R] [--preload N ...] [--check-preload] [--no-reads]
//               [--workload NAME ...] [--tryggd-arg ARG ...] [--json]
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/client_unary_call.h>
#include <grpcpp/impl/rpc_method.h>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "trygg/case_client.h"
#include "trygg/client.h"
#include "trygg/directory_client.h"
#include "trygg/hardening.h"
#include "trygg/keys.h"
#include "trygg/listing.h"
#include "trygg/membership.h"
#include "trygg/referral_client.h"
#include "trygg/status_macros.h"
#include "trygg/trust.h"
#include "trygg/v1/case.grpc.pb.h"
#include "trygg/v1/directory.grpc.pb.h"
#include "trygg/v1/referral.grpc.pb.h"
#include "trygg/workflow.h"

extern char** environ;

namespace trygg::bench {
namespace {

using Clock = std::chrono::steady_clock;

// ---- A throw-away server (tryggd or the floor) ------------------------------------------------------

class Server {
 public:
  ~Server() { Stop(); }

  // Starts `binary` with `args` (after the binary's name) plus
  // `--data-dir <fresh directory>`, and waits for its "<banner> listening on
  // <address>" line.
  absl::Status Start(const std::string& binary, std::vector<std::string> args, std::string_view banner) {
    char pattern[] = "/tmp/trygg-bench-XXXXXX";
    if (mkdtemp(pattern) == nullptr) return absl::InternalError("cannot create a temporary directory");
    dir_ = pattern;
    binary_ = binary;
    args_ = std::move(args);
    banner_ = std::string(banner);
    return Spawn();
  }

  // Stops the server and keeps its data directory, for Restart.
  void Halt() {
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
  }

  // Starts it again after Halt, on the same data directory and address, so
  // that open channels reconnect to it.
  absl::Status Restart() {
    for (size_t i = 0; i + 1 < args_.size(); ++i) {
      if (args_[i] == "--listen") args_[i + 1] = address_;
    }
    address_.clear();
    return Spawn();
  }

  void Stop() {
    Halt();
    if (!dir_.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(dir_, ignored);
      dir_.clear();
    }
  }

  const std::string& dir() const { return dir_; }
  const std::string& address() const { return address_; }

 private:
  absl::Status Spawn() {
    int out[2];
    if (pipe(out) != 0) return absl::InternalError("pipe failed");
    std::vector<std::string> args = args_;
    args.insert(args.begin(), binary_);
    args.push_back("--data-dir");
    args.push_back(dir_);
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    const int rc = posix_spawn(&pid_, binary_.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(out[1]);
    if (rc != 0) {
      close(out[0]);
      pid_ = -1;
      return absl::NotFoundError("cannot start " + binary_);
    }
    // It prints "<banner> listening on <address>; ..." once it accepts calls.
    std::string text;
    char buffer[512];
    const std::string kListening = banner_ + " listening on ";
    const auto deadline = Clock::now() + std::chrono::seconds(60);
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
    // Kept open until Halt: the server must not meet a closed pipe (SIGPIPE). It
    // writes little to stdout after this line; its warnings go to stderr.
    stdout_fd_ = out[0];
    if (address_.empty()) return absl::UnavailableError(binary_ + " did not start: " + text);
    return absl::OkStatus();
  }

  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string binary_;
  std::vector<std::string> args_;
  std::string banner_;
  std::string dir_;
  std::string address_;
};

// Runs `binary` with `args` to its end; OK if it exits with 0.
absl::Status RunToEnd(const std::string& binary, std::vector<std::string> args) {
  args.insert(args.begin(), binary);
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawn(&pid, binary.c_str(), nullptr, nullptr, argv.data(), environ) != 0) {
    return absl::NotFoundError("cannot start " + binary);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return absl::InternalError(binary + " failed");
  return absl::OkStatus();
}

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

// ---- Counted loops ------------------------------------------------------------

// Call number `i` (0 <= i < count) of a workload, made by worker `w`.
using Call = std::function<absl::Status(int w, size_t i)>;

struct LoopResult {
  double seconds = 0;
  size_t calls = 0;
  std::vector<double> latencies_ms;  // one per call, sorted
  double rate() const { return seconds > 0 ? static_cast<double>(calls) / seconds : 0; }
  double Percentile(double p) const {
    if (latencies_ms.empty()) return 0;
    const size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(latencies_ms.size())));
    return latencies_ms[std::min(latencies_ms.size(), std::max<size_t>(rank, 1)) - 1];
  }
};

// Exactly `count` calls by `workers` concurrent callers, each taking the next
// call number as it finishes one (a closed loop). A fixed count, not a fixed
// time: a workload that uses up stock (referrals to accept) has exactly what
// it needs made before the loop, so it never runs out in the middle.
absl::StatusOr<LoopResult> RunCounted(const Call& call, int workers, size_t count) {
  std::atomic<size_t> next{0};
  std::mutex mu;
  absl::Status first_error;
  std::vector<std::vector<double>> latencies(static_cast<size_t>(workers));
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&, w] {
      std::vector<double>& mine = latencies[static_cast<size_t>(w)];
      for (size_t i = next.fetch_add(1); i < count; i = next.fetch_add(1)) {
        const auto t0 = Clock::now();
        absl::Status status = call(w, i);
        mine.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        if (!status.ok()) {
          std::lock_guard<std::mutex> lock(mu);
          if (first_error.ok()) first_error = status;
          next = count;
          return;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  LoopResult result;
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (!first_error.ok()) return first_error;
  for (std::vector<double>& v : latencies) result.latencies_ms.insert(result.latencies_ms.end(), v.begin(), v.end());
  std::sort(result.latencies_ms.begin(), result.latencies_ms.end());
  result.calls = result.latencies_ms.size();
  return result;
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

std::string ToProto(const Id128& id) { return std::string(id.span().begin(), id.span().end()); }

// The workloads --workload may name (main() checks the names against it
// before anything starts; Run makes one Workload of each).
const std::vector<std::string> kWorkloadNames = {
    "capacity_update",   "case_create",       "case_version",     "consent_record",
    "referral_create",   "referral_accept",   "referral_complete", "referral_decline",
    "read_inbox",        "read_outbox",       "read_directory_search", "read_case"};

struct Options {
  std::string tryggd;
  std::string floor;
  std::vector<int> in_flight = {16, 64};
  size_t calls = 2000;
  int runs = 3;
  std::vector<size_t> preload = {0};
  // trygg-bench-preload, the fast path; empty: through the API.
  std::string preloader;
  bool check_preload = false;
  bool reads = true;
  bool json = false;
  // Extra arguments for tryggd (e.g. --metrics-listen while profiling).
  std::vector<std::string> tryggd_args;
  // Workloads to report; empty: all. The ones a chosen workload needs still
  // run (unreported), e.g. referral_create before referral_accept.
  std::vector<std::string> only;
};

// A sibling of this binary in the build tree: ../../<relative>.
std::string BuiltBeside(const std::string& relative, const std::string& fallback) {
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const std::filesystem::path built = self.parent_path().parent_path().parent_path() / relative;
    if (std::filesystem::exists(built)) return built.string();
  }
  return fallback;
}

// ---- The floor's one call -----------------------------------------------------

// The minimal durable signed write, made as the generated stubs make every
// other call here (a blocking unary call on a channel of the same kind): sign
// a transition-sized message, send signature || message, wait for the commit.
class FloorClient {
 public:
  FloorClient() { crypto_sign_keypair(public_key_.data(), secret_key_.data()); }
  ~FloorClient() { sodium_memzero(secret_key_.data(), secret_key_.size()); }

  std::string PublicKeyHex() const { return HexEncode(public_key_); }
  void Connect(const std::string& address) {
    channel_ = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
    method_ = std::make_unique<grpc::internal::RpcMethod>("/trygg.bench.Floor/Write",
                                                          grpc::internal::RpcMethod::NORMAL_RPC, channel_);
  }

  absl::Status Write(size_t i) const {
    // About the size of a signed referral transition.
    std::array<uint8_t, 96> message{};
    std::memcpy(message.data(), &i, sizeof i);
    randombytes_buf(message.data() + sizeof i, 16);
    std::array<uint8_t, crypto_sign_BYTES> signature;
    crypto_sign_detached(signature.data(), nullptr, message.data(), message.size(), secret_key_.data());
    std::array<grpc::Slice, 2> slices = {grpc::Slice(signature.data(), signature.size()),
                                         grpc::Slice(message.data(), message.size())};
    grpc::ByteBuffer request(slices.data(), slices.size());
    grpc::ByteBuffer response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return FromGrpc(grpc::internal::BlockingUnaryCall<grpc::ByteBuffer, grpc::ByteBuffer>(
                        channel_.get(), *method_, &context, request, &response),
                    "floor write");
  }

 private:
  std::array<uint8_t, crypto_sign_PUBLICKEYBYTES> public_key_{};
  std::array<uint8_t, crypto_sign_SECRETKEYBYTES> secret_key_{};
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<grpc::internal::RpcMethod> method_;
};

// ---- The run ------------------------------------------------------------------

// What one worker owns: libtrygg's case and referral clients are not
// thread-safe (Client is), so each caller has its own, its own case to
// append versions to, and a case of one version to read.
struct Worker {
  SystemRng rng;
  std::unique_ptr<CaseClient> cases;
  std::unique_ptr<ReferralClient> referrals;
  Id128 own_case;
  Id128 read_case;
};

// Per workload and N: one entry per round.
struct Measured {
  std::vector<double> rates, p50, p90, p99;
  void Add(const LoopResult& r) {
    rates.push_back(r.rate());
    p50.push_back(r.Percentile(0.50));
    p90.push_back(r.Percentile(0.90));
    p99.push_back(r.Percentile(0.99));
  }
};

absl::Status Run(const Options& options) {
  if (sodium_init() < 0) return absl::InternalError("libsodium failed to initialise");
  Platform platform("");
  Server server;
  TRYGG_RETURN_IF_ERROR(server.Start(
      options.tryggd,
      [&] {
        std::vector<std::string> args = {"--listen", "127.0.0.1:0", "--platform-root-key",
                                         HexEncode(platform.root().public_key.span()), "--log-level", "warn"};
        args.insert(args.end(), options.tryggd_args.begin(), options.tryggd_args.end());
        return args;
      }(),
      "tryggd"));
  platform.set_address(server.address());
  FloorClient floor;
  Server floor_server;
  TRYGG_RETURN_IF_ERROR(floor_server.Start(options.floor, {"--listen", "127.0.0.1:0", "--key", floor.PublicKeyHex()},
                                           "trygg-bench-floor"));
  floor.Connect(floor_server.address());
  const int max_workers = *std::max_element(options.in_flight.begin(), options.in_flight.end());
  std::fprintf(stderr, "trygg-bench: tryggd on %s, floor on %s; setting up\n", server.address().c_str(),
               floor_server.address().c_str());

  {
    // The platform root certifies the server's key, as trygg-admin does, so
    // that clients can verify its signed audit heads (--check-preload).
    TRYGG_ASSIGN_OR_RETURN(std::unique_ptr<Client> admin, platform.Connect());
    TRYGG_ASSIGN_OR_RETURN(ServerInfo info, admin->GetServerInfo());
    RootCertificate cert;
    cert.kind = CertificateKind::kServer;
    cert.subject_id = platform.RandomId();
    cert.issued_at_ms = platform.clock().NowUnixMillis();
    cert.sign_key = info.server_public_key;
    cert.name = "tryggd (bench)";
    TRYGG_ASSIGN_OR_RETURN(SignedObject signed_cert, SignRootCertificate(cert, platform.root()));
    TRYGG_RETURN_IF_ERROR(admin->UploadCertificate(CertificateKind::kServer, signed_cert).status());
  }
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

  // The sender's workers, each with its own case; the first case carries the
  // consent every referral is made on.
  std::vector<Worker> workers(static_cast<size_t>(max_workers));
  const std::string survivor = "bench case";
  const std::span<const uint8_t> survivor_bytes(reinterpret_cast<const uint8_t*>(survivor.data()), survivor.size());
  for (Worker& w : workers) {
    w.cases = std::make_unique<CaseClient>(*sender.client, sender.keys, platform.clock(), w.rng);
    w.referrals = std::make_unique<ReferralClient>(*sender.client, sender.keys, *w.cases, platform.clock(), w.rng);
    TRYGG_ASSIGN_OR_RETURN(w.own_case, w.cases->CreateCase(survivor_bytes, 1));
    TRYGG_ASSIGN_OR_RETURN(w.read_case, w.cases->CreateCase(survivor_bytes, 1));
  }
  // The case every consent and referral is made on, one that no loop
  // appends to: each worker reads and verifies it on its first use, and a
  // case the case_version loop had grown would make that first call in the
  // consent loop a whole history's work (p99 of 200 ms at 64 in flight).
  TRYGG_ASSIGN_OR_RETURN(const Id128 case_id, workers[0].cases->CreateCase(survivor_bytes, 1));
  ConsentTerms terms;
  terms.case_id = case_id;
  terms.to_org = receiver.keys.org_id;
  terms.services = ServiceBit(static_cast<uint8_t>(ServiceCategory::kLegalAdvice));
  terms.expires_at_ms = platform.clock().NowUnixMillis() + 7LL * 24 * 3600 * 1000;
  terms.evidence = {'b', 'e', 'n', 'c', 'h'};
  TRYGG_ASSIGN_OR_RETURN(Id128 consent_id, workers[0].referrals->RecordConsent(terms));
  ReferralDraft draft;
  draft.case_id = case_id;
  draft.listing_id = listings[0].listing.listing_id;
  draft.to_org = receiver.keys.org_id;
  draft.service = static_cast<uint8_t>(ServiceCategory::kLegalAdvice);
  draft.consent_id = consent_id;
  draft.packet = {'b', 'e', 'n', 'c', 'h'};

  auto channel = receiver.client->channel();
  auto health = grpc::health::v1::Health::NewStub(channel);
  auto referral_stub = trygg::v1::ReferralService::NewStub(channel);
  auto case_stub = trygg::v1::CaseService::NewStub(sender.client->channel());
  auto directory_stub = trygg::v1::DirectoryService::NewStub(channel);
  std::vector<int64_t> last_update_ms(static_cast<size_t>(max_workers), 0);
  std::vector<uint32_t> capacity(static_cast<size_t>(max_workers), 0);

  // Referrals in flight between workloads: `create` fills `sent`, `accept`
  // accepts them, `complete` completes them; `decline` gets its own.
  std::vector<Id128> sent, to_decline;

  // Makes `n` referrals with all workers (not measured).
  auto make_referrals = [&](size_t n, std::vector<Id128>& into) -> absl::Status {
    into.assign(n, Id128());
    return RunCounted(
               [&](int w, size_t i) -> absl::Status {
                 TRYGG_ASSIGN_OR_RETURN(into[i], workers[static_cast<size_t>(w)].referrals->Refer(draft));
                 return absl::OkStatus();
               },
               max_workers, n)
        .status();
  };
  auto move = [&](const Id128& referral_id, ReferralStatus from, ReferralStatus to, uint8_t code) -> absl::Status {
    ReferralTransition t{referral_id, static_cast<uint8_t>(from), static_cast<uint8_t>(to), code,
                         receiver.keys.device_id, platform.clock().NowUnixMillis()};
    TRYGG_ASSIGN_OR_RETURN(SignedObject signed_move, SignReferralTransition(t, receiver.keys.device.signing()));
    trygg::v1::TransitionReferralRequest request;
    request.set_referral_id(ToProto(referral_id));
    request.mutable_transition()->set_bytes(std::string(signed_move.bytes.begin(), signed_move.bytes.end()));
    request.mutable_transition()->set_signature(
        std::string(signed_move.signature.span().begin(), signed_move.signature.span().end()));
    request.mutable_transition()->set_signer_id(ToProto(receiver.keys.device_id));
    trygg::v1::TransitionReferralResponse response;
    auto context = receiver.client->NewCallContext();
    return FromGrpc(referral_stub->TransitionReferral(context.get(), request, &response), "TransitionReferral");
  };

  struct Workload {
    const char* name;
    bool signed_write;
    Call call;
    std::function<absl::Status()> before;  // unmeasured preparation, or empty
    // Workloads whose loops make this one's stock (run even if not chosen).
    std::vector<std::string> needs = {};
  };
  const std::vector<uint8_t> record_4k(4096, 'x');
  std::vector<Workload> workloads = {
      {"empty", false,
       [&](int, size_t) -> absl::Status {
         grpc::ClientContext context;
         context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
         grpc::health::v1::HealthCheckRequest request;
         grpc::health::v1::HealthCheckResponse response;
         return FromGrpc(health->Check(&context, request, &response), "Health/Check");
       },
       {}},
      {"floor", false, [&](int, size_t i) { return floor.Write(i); }, {}},
      {"capacity_update", true,
       [&](int w, size_t) -> absl::Status {
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
         return directory.UpdateCapacitySigned(update.listing_id, signed_update);
       },
       {}},
      {"case_create", true,
       [&](int w, size_t) -> absl::Status {
         return workers[static_cast<size_t>(w)].cases->CreateCase(survivor_bytes, 1).status();
       },
       {}},
      {"case_version", true,
       [&](int w, size_t) -> absl::Status {
         Worker& worker = workers[static_cast<size_t>(w)];
         return worker.cases->AppendVersion(worker.own_case, record_4k, 1).status();
       },
       {}},
      {"consent_record", true,
       [&](int w, size_t) -> absl::Status {
         return workers[static_cast<size_t>(w)].referrals->RecordConsent(terms).status();
       },
       {}},
      {"referral_create", true,
       [&](int w, size_t i) -> absl::Status {
         TRYGG_ASSIGN_OR_RETURN(sent[i], workers[static_cast<size_t>(w)].referrals->Refer(draft));
         return absl::OkStatus();
       },
       [&] {
         sent.assign(options.calls, Id128());
         return absl::OkStatus();
       }},
      {"referral_accept", true,
       [&](int, size_t i) { return move(sent[i], ReferralStatus::kSent, ReferralStatus::kAccepted, 0); },
       {},
       {"referral_create"}},
      {"referral_complete", true,
       [&](int, size_t i) {
         return move(sent[i], ReferralStatus::kAccepted, ReferralStatus::kCompleted,
                     static_cast<uint8_t>(ReferralOutcome::kServiceProvided));
       },
       {},
       {"referral_create", "referral_accept"}},
      {"referral_decline", true,
       [&](int, size_t i) {
         return move(to_decline[i], ReferralStatus::kSent, ReferralStatus::kDeclined,
                     static_cast<uint8_t>(DeclineReason::kNoCapacity));
       },
       [&] { return make_referrals(options.calls, to_decline); }},
  };
  if (options.reads) {
    // Reads at scale: a page of the inbox and the outbox, a directory search
    // and a case read, each one call.
    std::vector<Workload> reads = {
        {"read_inbox", false,
         [&](int, size_t) {
           trygg::v1::ListInboxRequest request;
           request.set_page_size(50);
           trygg::v1::ListInboxResponse response;
           auto context = receiver.client->NewCallContext();
           return FromGrpc(referral_stub->ListInbox(context.get(), request, &response), "ListInbox");
         },
         {}},
        {"read_outbox", false,
         [&](int, size_t) {
           trygg::v1::ListOutboxRequest request;
           request.set_page_size(50);
           trygg::v1::ListOutboxResponse response;
           auto context = sender.client->NewCallContext();
           return FromGrpc(trygg::v1::ReferralService::NewStub(sender.client->channel())
                               ->ListOutbox(context.get(), request, &response),
                           "ListOutbox");
         },
         {}},
        {"read_directory_search", false,
         [&](int, size_t) {
           trygg::v1::SearchListingsRequest request;
           request.set_region("SE-M");
           request.set_page_size(50);
           trygg::v1::SearchListingsResponse response;
           auto context = receiver.client->NewCallContext();
           return FromGrpc(directory_stub->SearchListings(context.get(), request, &response), "SearchListings");
         },
         {}},
        {"read_case", false,
         [&](int w, size_t) {
           trygg::v1::GetCaseRequest request;
           request.set_case_id(ToProto(workers[static_cast<size_t>(w)].read_case));
           trygg::v1::GetCaseResponse response;
           auto context = sender.client->NewCallContext();
           return FromGrpc(case_stub->GetCase(context.get(), request, &response), "GetCase");
         },
         {}},
    };
    for (Workload& r : reads) workloads.push_back(std::move(r));
  }
  // --workload: the chosen ones, the floor and the empty call (the ratios'
  // denominators) are reported; what they need runs unreported.
  std::set<std::string> reported, run;
  for (const Workload& w : workloads) {
    if (std::string_view(w.name) != "floor" && std::string_view(w.name) != "empty" &&
        std::find(kWorkloadNames.begin(), kWorkloadNames.end(), w.name) == kWorkloadNames.end()) {
      return absl::InternalError(absl::StrCat("workload ", w.name, " is missing from kWorkloadNames"));
    }
    const bool chosen = options.only.empty() || std::find(options.only.begin(), options.only.end(), w.name) !=
                                                    options.only.end();
    if (chosen || std::string_view(w.name) == "floor" || std::string_view(w.name) == "empty") {
      reported.insert(w.name);
      run.insert(w.name);
      run.insert(w.needs.begin(), w.needs.end());
    }
  }

  // Rounds at each history level: before the rounds of a level, referrals
  // (with their audit entries) are made through the same API and store as
  // every other write until that many are preloaded.
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  out["runs"] = options.runs;
  out["calls_per_loop"] = options.calls;
  out["results"] = nlohmann::ordered_json::array();
  std::vector<size_t> levels = options.preload;
  std::sort(levels.begin(), levels.end());
  size_t preloaded = 0;
  // The fast path (trygg-bench-preload, preload.cc): tryggd stops, the loader
  // writes through the server's own store, tryggd starts again on the same
  // database and address, and the open channels reconnect.
  auto preload_fast = [&](size_t n) -> absl::Status {
    nlohmann::json spec;
    spec["sender_seed"] = HexEncode(sender.keys.device.signing().secret_key.span().first<32>());
    spec["sender_org"] = sender.keys.org_id.ToHex();
    spec["sender_device"] = sender.keys.device_id.ToHex();
    spec["receiver_org"] = receiver.keys.org_id.ToHex();
    spec["case_id"] = draft.case_id.ToHex();
    spec["listing_id"] = draft.listing_id.ToHex();
    spec["consent_id"] = consent_id.ToHex();
    spec["sender_org_box_key"] = DeriveOrgBoxKeyPair(sender.keys.org_keys.back()).public_key.ToHex();
    spec["receiver_org_box_key"] = DeriveOrgBoxKeyPair(receiver.keys.org_keys.back()).public_key.ToHex();
    spec["service"] = draft.service;
    spec["response_time_hours"] = listings[0].listing.response_time_hours;
    const std::string spec_path = server.dir() + "/bench-preload.json";
    {
      const int fd = open(spec_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      if (fd < 0) return absl::InternalError("cannot write " + spec_path);
      const std::string text = spec.dump();
      const bool written = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
      close(fd);
      if (!written) return absl::InternalError("cannot write " + spec_path);
    }
    server.Halt();
    absl::Status loaded = RunToEnd(options.preloader, {"--data-dir", server.dir(), "--spec", spec_path, "--count",
                                                       std::to_string(n)});
    std::filesystem::remove(spec_path);
    TRYGG_RETURN_IF_ERROR(loaded);
    TRYGG_RETURN_IF_ERROR(server.Restart());
    const auto deadline = std::chrono::system_clock::now() + std::chrono::seconds(30);
    for (const auto& c : {receiver.client->channel(), sender.client->channel()}) {
      if (!c->WaitForConnected(deadline)) return absl::UnavailableError("tryggd did not come back after the preload");
    }
    return absl::OkStatus();
  };
  // What --check-preload checks after a preload: the audit log the sender has
  // verified is extended, not rewritten, by at least three entries a
  // referral, and the receiver's inbox lists at least `expected` referrals.
  auto check_preload = [&](size_t n, size_t expected, uint64_t head_before) -> absl::Status {
    TRYGG_ASSIGN_OR_RETURN(AuditTrailReport report, sender.client->VerifyAuditTrail());
    if (report.head.tree_size < head_before + 3 * n) {
      return absl::DataLossError(absl::StrCat("the audit log holds ", report.head.tree_size, " entries after the preload, "
                                              "expected at least ", head_before + 3 * n));
    }
    size_t listed = 0;
    std::string token;
    do {
      trygg::v1::ListInboxRequest request;
      request.set_page_size(500);
      request.set_page_token(token);
      trygg::v1::ListInboxResponse response;
      auto context = receiver.client->NewCallContext();
      TRYGG_RETURN_IF_ERROR(FromGrpc(referral_stub->ListInbox(context.get(), request, &response), "ListInbox"));
      listed += static_cast<size_t>(response.referrals_size());
      token = response.next_page_token();
    } while (!token.empty());
    if (listed < expected) {
      return absl::DataLossError(absl::StrCat("the inbox lists ", listed, " referrals, expected at least ", expected));
    }
    std::fprintf(stderr, "trygg-bench: preload checked: audit log of %llu entries verified, %zu referrals listed\n",
                 static_cast<unsigned long long>(report.head.tree_size), listed);
    return absl::OkStatus();
  };

  for (size_t level : levels) {
    if (level > preloaded) {
      std::fprintf(stderr, "trygg-bench: preloading to %zu referrals\n", level);
      const auto t0 = Clock::now();
      if (options.preloader.empty()) {
        std::vector<Id128> made;
        constexpr size_t kChunk = 20000;
        while (preloaded < level) {
          const size_t n = std::min(kChunk, level - preloaded);
          TRYGG_RETURN_IF_ERROR(make_referrals(n, made));
          preloaded += n;
          std::fprintf(stderr, "trygg-bench: %zu preloaded\n", preloaded);
        }
      } else {
        uint64_t head_before = 0;
        if (options.check_preload) {
          TRYGG_ASSIGN_OR_RETURN(AuditTrailReport before, sender.client->VerifyAuditTrail());
          head_before = before.head.tree_size;
        }
        TRYGG_RETURN_IF_ERROR(preload_fast(level - preloaded));
        if (options.check_preload) TRYGG_RETURN_IF_ERROR(check_preload(level - preloaded, level, head_before));
        preloaded = level;
      }
      std::fprintf(stderr, "trygg-bench: preloading took %.0f s\n",
                   std::chrono::duration<double>(Clock::now() - t0).count());
    }

    // measured[workload][in_flight]
    std::map<std::string, std::map<int, Measured>> measured;
    for (int round = 1; round <= options.runs; ++round) {
      for (int n : options.in_flight) {
        std::fprintf(stderr, "trygg-bench: preload %zu, round %d/%d, %d in flight\n", level, round, options.runs, n);
        for (const Workload& workload : workloads) {
          if (run.count(workload.name) == 0) continue;
          if (workload.before) TRYGG_RETURN_IF_ERROR(workload.before());
          // A line as each loop starts (a profiler can wait for it).
          std::fprintf(stderr, "trygg-bench:   %s\n", workload.name);
          absl::StatusOr<LoopResult> result = RunCounted(workload.call, n, options.calls);
          if (!result.ok()) {
            return absl::Status(result.status().code(), absl::StrCat(workload.name, ": ", result.status().message()));
          }
          measured[workload.name][n].Add(*result);
        }
      }
    }

    // Medians over the rounds; ratios of medians at the same N.
    // With --json, stdout is the JSON object alone (for a script) and the
    // table goes to stderr with the progress.
    FILE* table = options.json ? stderr : stdout;
    std::fprintf(table, "preload %zu\n%-22s %5s %10s %8s %8s %8s %8s %8s\n", level, "workload", "N", "calls/s",
                 "x floor", "x empty", "p50 ms", "p90 ms", "p99 ms");
    for (int n : options.in_flight) {
      const double floor_rate = Median(measured["floor"][n].rates);
      const double empty_rate = Median(measured["empty"][n].rates);
      for (const Workload& workload : workloads) {
        if (reported.count(workload.name) == 0) continue;
        const Measured& m = measured[workload.name][n];
        const double rate = Median(m.rates);
        const double to_floor = floor_rate > 0 ? rate / floor_rate : 0;
        const double to_empty = empty_rate > 0 ? rate / empty_rate : 0;
        std::fprintf(table, "%-22s %5d %10.0f %8.2f %8.2f %8.2f %8.2f %8.2f\n", workload.name, n, rate, to_floor,
                     to_empty, Median(m.p50), Median(m.p90), Median(m.p99));
        out["results"].push_back({{"workload", workload.name},
                                  {"in_flight", n},
                                  {"preload", level},
                                  {"signed_write", workload.signed_write},
                                  {"calls_per_second", rate},
                                  {"ratio_to_floor", to_floor},
                                  {"ratio_to_empty", to_empty},
                                  {"p50_ms", Median(m.p50)},
                                  {"p90_ms", Median(m.p90)},
                                  {"p99_ms", Median(m.p99)},
                                  {"calls_per_second_runs", m.rates}});
      }
    }
    std::fflush(table);
  }
  if (options.json) std::cout << out.dump() << "\n";
  return absl::OkStatus();
}

}  // namespace
}  // namespace trygg::bench

int main(int argc, char** argv) {
  using trygg::bench::Options;
  // As tryggd does (server/daemon/main.cc): the client's gRPC mutexes too.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  if (!trygg::DisableCoreDumps().ok()) {
    std::fprintf(stderr, "trygg-bench: cannot disable core dumps\n");
    return 1;
  }
  Options options;
  options.tryggd = trygg::bench::BuiltBeside("server/daemon/tryggd", "tryggd");
  options.floor = trygg::bench::BuiltBeside("tools/trygg-bench/trygg-bench-floor", "trygg-bench-floor");
  options.preloader = trygg::bench::BuiltBeside("server/bench/trygg-bench-preload", "trygg-bench-preload");
  bool no_reads = false;
  bool preload_through_api = false;
  CLI::App app{
      "trygg-bench: load against a throw-away tryggd on loopback: every signed write (capacity update, case create, "
      "case version, consent, referral create, accept, complete, decline) and the reads, as calls per second, "
      "latency p50/p90/p99, and ratios to the floor (a minimal durable signed write, trygg-bench-floor) and to the "
      "empty call, measured in the same run"};
  app.add_option("--tryggd", options.tryggd, "tryggd binary to start (default: the one in this build tree)");
  app.add_option("--floor", options.floor,
                 "trygg-bench-floor binary to start (default: the one in this build tree)");
  app.add_option("--in-flight", options.in_flight, "Concurrent callers; repeat for several (default 16 64)")
      ->check(CLI::Range(1, 512));
  app.add_option("--calls", options.calls, "Calls in each measured loop (default 2000)")
      ->check(CLI::Range(1, 10000000));
  app.add_option("--runs", options.runs, "Rounds; medians are over them (default 3)")->check(CLI::Range(1, 100));
  app.add_option("--preload", options.preload,
                 "History levels: before the rounds at each, referrals (with their audit entries and grants) are "
                 "added until that many are stored, by trygg-bench-preload through the server's own store while "
                 "tryggd is stopped; repeat for a curve, e.g. --preload 10000 --preload 1000000 (default 0)")
      ->check(CLI::Range(0, 100000000));
  app.add_option("--preloader", options.preloader,
                 "trygg-bench-preload binary (default: the one in this build tree)");
  app.add_flag("--preload-through-api", preload_through_api,
               "Preload through the API instead (Refer with all callers; about 200 referrals a second)");
  app.add_flag("--check-preload", options.check_preload,
               "After each fast preload, verify the sender's audit trail across it and list the whole inbox");
  app.add_flag("--no-reads", no_reads, "Leave out the read workloads");
  app.add_option("--workload", options.only,
                 "Run and report only this workload (repeat for several; the floor and the empty call are always "
                 "reported, and what a workload needs runs unreported, e.g. referral_create before referral_accept)")
      ->check(CLI::IsMember(trygg::bench::kWorkloadNames));
  app.add_option("--tryggd-arg", options.tryggd_args,
                 "One more argument for the tryggd the bench starts, e.g. --tryggd-arg=--metrics-listen=127.0.0.1:9464 "
                 "while profiling (repeat for several)")
      ->allow_extra_args(false);
  app.add_flag("--json", options.json, "Print the results as one JSON object on stdout (the table goes to stderr)");
  CLI11_PARSE(app, argc, argv);
  options.reads = !no_reads;
  for (const std::string& name : options.only) {
    if (no_reads && name.rfind("read_", 0) == 0) {
      std::fprintf(stderr, "trygg-bench: error: --workload %s is a read, and --no-reads leaves the reads out\n",
                   name.c_str());
      return 2;
    }
  }
  if (preload_through_api) options.preloader.clear();
  absl::Status status = trygg::bench::Run(options);
  if (!status.ok()) {
    std::fprintf(stderr, "trygg-bench: error: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}
