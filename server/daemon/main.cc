// SPDX-License-Identifier: Apache-2.0

// tryggd: the Trygg referral server.
//
// Exit status: 0 after a clean stop (SIGINT/SIGTERM), 2 for a usage or
// configuration error, 1 when the server cannot start (port, data directory,
// database, TLS files, server key). Every failure is one line on stderr.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "server/daemon/config.h"
#include "server/daemon/logging.h"
#include "server/daemon/tryggd.h"

namespace {

constexpr int kExitStartFailure = 1;
constexpr int kExitUsage = 2;

int Fail(int code, const std::string& message) {
  std::fprintf(stderr, "tryggd: error: %s\n", message.c_str());
  return code;
}

// The server will hold its signing key and session secrets in memory: no core
// files, and no ptrace by other processes of the same user.
void HardenProcess() {
  rlimit none{0, 0};
  setrlimit(RLIMIT_CORE, &none);
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  umask(077);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "tryggd: the Trygg referral server. Routes end-to-end encrypted referrals between member\n"
      "organisations, enforces the workflow and consent, keeps the service directory and a\n"
      "tamper-evident audit log. Plaintext gRPC is allowed on loopback addresses only.",
      "tryggd"};
  std::string config_path;
  trygg::server::ServerConfig flags;
  app.add_option("-c,--config", config_path, "TOML configuration file (flags override it)");
  auto* listen = app.add_option("-l,--listen", flags.listen_address,
                                "host:port to listen on; port 0 picks a free port")
                     ->capture_default_str();
  auto* data_dir = app.add_option("-d,--data-dir", flags.data_dir,
                                  "directory holding trygg.db (must exist)")
                       ->capture_default_str();
  auto* root_key = app.add_option("--platform-root-key", flags.platform_root_public_key,
                                  "pinned platform root public key, 64 hex digits");
  auto* cert = app.add_option("--tls-cert", flags.tls_cert_file, "TLS certificate chain (PEM)");
  auto* key = app.add_option("--tls-key", flags.tls_key_file, "TLS private key (PEM)");
  auto* level = app.add_option("--log-level", flags.log_level,
                               "trace, debug, info, warn, error or off")
                    ->capture_default_str();
  auto* log_format = app.add_option("--log-format", flags.log_format,
                                    "text, or json for one JSON object per line")
                         ->capture_default_str();
  auto* metrics_listen = app.add_option("--metrics-listen", flags.metrics_listen,
                                        "host:port serving Prometheus metrics at /metrics (default: off)");
  bool metrics_allow_remote = false;
  auto* allow_remote = app.add_flag("--metrics-allow-remote", metrics_allow_remote,
                                    "let --metrics-listen be a non-loopback address (no TLS, no authentication)");
  auto* max_recv = app.add_option("--max-receive-message-bytes", flags.max_receive_message_bytes,
                                  "largest accepted request message")
                       ->capture_default_str();
  auto* max_send = app.add_option("--max-send-message-bytes", flags.max_send_message_bytes,
                                  "largest response message")
                       ->capture_default_str();
  auto* drain = app.add_option("--drain-seconds", flags.drain_seconds,
                               "how long a stop waits for in-flight calls")
                    ->capture_default_str();
  auto* session_ttl = app.add_option("--session-ttl-seconds", flags.session_ttl_seconds,
                                     "how long a login lasts")
                          ->capture_default_str();
  auto* stale_hours = app.add_option("--directory-capacity-stale-hours", flags.directory_capacity_stale_hours,
                                     "directory capacity older than this is shown as stale")
                          ->capture_default_str();
  bool print_version = false;
  app.add_flag("--version", print_version, "print the version and exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : kExitUsage;
  }
  if (print_version) {
    std::printf("tryggd %s\n", TRYGG_VERSION);
    return 0;
  }

  trygg::server::ServerConfig config;
  if (!config_path.empty()) {
    absl::Status loaded = trygg::server::ApplyConfigFile(config_path, config);
    if (!loaded.ok()) return Fail(kExitUsage, std::string(loaded.message()));
  }
  if (*listen) config.listen_address = flags.listen_address;
  if (*data_dir) config.data_dir = flags.data_dir;
  if (*root_key) config.platform_root_public_key = flags.platform_root_public_key;
  if (*cert) config.tls_cert_file = flags.tls_cert_file;
  if (*key) config.tls_key_file = flags.tls_key_file;
  if (*level) config.log_level = flags.log_level;
  if (*log_format) config.log_format = flags.log_format;
  if (*metrics_listen) config.metrics_listen = flags.metrics_listen;
  if (*allow_remote) config.metrics_allow_remote = metrics_allow_remote;
  if (*max_recv) config.max_receive_message_bytes = flags.max_receive_message_bytes;
  if (*max_send) config.max_send_message_bytes = flags.max_send_message_bytes;
  if (*drain) config.drain_seconds = flags.drain_seconds;
  if (*session_ttl) config.session_ttl_seconds = flags.session_ttl_seconds;
  if (*stale_hours) config.directory_capacity_stale_hours = flags.directory_capacity_stale_hours;

  absl::Status valid = trygg::server::ValidateConfig(config);
  if (!valid.ok()) return Fail(kExitUsage, std::string(valid.message()));

  HardenProcess();
  trygg::server::InitLogging(config.log_level, config.log_format);

  // Block the stop signals in every thread (gRPC's included) before any is
  // started; main waits for them with sigwait.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto server = trygg::server::Tryggd::Start(config);
  if (!server.ok()) {
    // A log collector reading JSON sees the reason as a log line too.
    if (config.log_format == "json") spdlog::critical("cannot start: {}", std::string(server.status().message()));
    return Fail(kExitStartFailure, std::string(server.status().message()));
  }

  if (!(*server)->metrics_address().empty()) {
    spdlog::info("serving metrics on http://{}/metrics", (*server)->metrics_address());
    // Before the "listening" line, which tells a supervisor (and the tests)
    // that everything is up.
    std::printf("tryggd metrics on http://%s/metrics\n", (*server)->metrics_address().c_str());
  }
  spdlog::info("listening on {} ({})", (*server)->listening_address(),
               (*server)->tls() ? "TLS" : "plaintext, loopback only");
  std::printf("tryggd listening on %s; stop with Ctrl-C or: kill -TERM %d\n",
              (*server)->listening_address().c_str(), static_cast<int>(getpid()));
  std::fflush(stdout);

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  spdlog::info("received {}, draining in-flight calls (up to {} s)",
               signal_number == SIGINT ? "SIGINT" : "SIGTERM", config.drain_seconds);
  (*server)->Shutdown(std::chrono::seconds(config.drain_seconds));
  server->reset();
  spdlog::info("stopped cleanly");
  return 0;
}
