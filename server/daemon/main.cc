// SPDX-License-Identifier: Apache-2.0

// tryggd: the Trygg referral server, and its offline subcommands `tryggd
// backup` and `tryggd restore` (server/daemon/backup.h).
//
// Exit status: 0 after a clean stop (SIGINT/SIGTERM) or a done subcommand, 2
// for a usage or configuration error, 1 when the server cannot start (port,
// data directory, database, TLS files, server key) or a subcommand cannot do
// its work (a running server, an existing file, a wrong passphrase), 3 when a
// database or backup fails its checks (damaged, or its audit log does not
// verify). Every failure is one line on stderr.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "server/daemon/backup.h"
#include "server/daemon/config.h"
#include "server/daemon/logging.h"
#include "server/daemon/tryggd.h"

namespace {

constexpr int kExitStartFailure = 1;
constexpr int kExitUsage = 2;
constexpr int kExitCheckFailed = 3;

int Fail(int code, const std::string& message) {
  std::fprintf(stderr, "tryggd: error: %s\n", message.c_str());
  return code;
}

// A subcommand's failure: one line on stderr, and with --json the same as
// {"ok": false, "error": ...} on stdout for a script.
int FailCommand(const absl::Status& status, bool json) {
  if (json) std::cout << nlohmann::json({{"ok", false}, {"error", std::string(status.message())}}).dump(2) << "\n";
  const int code = status.code() == absl::StatusCode::kDataLoss          ? kExitCheckFailed
                   : status.code() == absl::StatusCode::kInvalidArgument ? kExitUsage
                                                                         : kExitStartFailure;
  return Fail(code, std::string(status.message()));
}

nlohmann::json CopyJson(const trygg::server::CheckedCopy& copy) {
  nlohmann::json signed_head = nullptr;
  if (copy.signed_head.has_value()) {
    signed_head = {{"tree_size", copy.signed_head->tree_size},
                   {"root_hash", copy.signed_head->root_hash.ToHex()},
                   {"signed_at_ms", copy.signed_head->timestamp_ms}};
  }
  return {{"tree_size", copy.tree_size},
          {"root_hash", copy.root_hash.ToHex()},
          {"signed_head", signed_head},
          {"server_key", trygg::HexEncode(copy.server_key.span())}};
}

std::string DescribeCopy(const trygg::server::CheckedCopy& copy) {
  std::string text = absl::StrCat("an audit log of ", copy.tree_size, " entries, root ", copy.root_hash.ToHex(),
                                  ", that verifies under server key ", trygg::HexEncode(copy.server_key.span()));
  if (copy.signed_head.has_value()) {
    absl::StrAppend(&text, " (the latest signed head in it: size ", copy.signed_head->tree_size, ")");
  }
  return text;
}

// Progress of a long copy on stderr: after two seconds, once a second.
class CopyProgressReport {
 public:
  void operator()(int64_t copied, int64_t total) {
    const auto now = std::chrono::steady_clock::now();
    if (now - start_ < std::chrono::seconds(2) || now - last_ < std::chrono::seconds(1)) return;
    last_ = now;
    std::fprintf(stderr, "tryggd backup: %lld of %lld pages copied\n", static_cast<long long>(copied),
                 static_cast<long long>(total));
  }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_;
};

int RunBackup(trygg::server::BackupOptions options, bool json) {
  CopyProgressReport report;
  options.progress = [&report](int64_t copied, int64_t total) { report(copied, total); };
  trygg::SystemRng rng;
  absl::StatusOr<trygg::server::BackupSummary> done = trygg::server::Backup(options, rng);
  if (!done.ok()) return FailCommand(done.status(), json);
  if (json) {
    std::cout << nlohmann::json({{"ok", true},
                                 {"backup", done->path},
                                 {"sealed_key", done->key_path.empty() ? nlohmann::json(nullptr)
                                                                       : nlohmann::json(done->key_path)},
                                 {"bytes", done->bytes},
                                 {"audit_log", CopyJson(done->copy)}})
                     .dump(2)
              << "\n";
  } else {
    std::printf("backed up to %s (%llu bytes), %s\n", done->path.c_str(),
                static_cast<unsigned long long>(done->bytes), DescribeCopy(done->copy).c_str());
    if (!done->key_path.empty()) {
      std::printf("the server signing key is sealed under the passphrase in %s\n", done->key_path.c_str());
    }
  }
  return 0;
}

int RunRestore(const trygg::server::RestoreOptions& options, bool json) {
  absl::StatusOr<trygg::server::RestoreSummary> done = trygg::server::Restore(options);
  if (!done.ok()) return FailCommand(done.status(), json);
  if (json) {
    std::cout << nlohmann::json({{"ok", true},
                                 {"database", done->database_path},
                                 {"key_restored", done->key_restored},
                                 {"kept_aside", done->kept_aside},
                                 {"audit_log", CopyJson(done->copy)},
                                 {"restore_notice", done->notice_path}})
                     .dump(2)
              << "\n";
  } else {
    std::printf("restored %s from %s, %s\n", done->database_path.c_str(), options.from.c_str(),
                DescribeCopy(done->copy).c_str());
    if (done->key_restored) std::printf("restored the server signing key from %s\n", done->key_from.c_str());
    for (const std::string& aside : done->kept_aside) std::printf("kept the old file as %s\n", aside.c_str());
    std::printf("signed the restore notice %s\n", done->notice_path.c_str());
    std::printf("devices and auditors whose last verified head is larger than %llu entries will see the log "
                "shrink: announce the restore and publish the notice (docs/operator-guide.md, "
                "\"Restoring\")\n",
                static_cast<unsigned long long>(done->copy.tree_size));
  }
  return 0;
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
  // Debian builds Abseil without NDEBUG, which leaves its mutex deadlock
  // detector on: every lock of every absl::Mutex (gRPC's among them) then
  // consults one global lock graph. A debugging aid, about 1 % of the CPU
  // under load; off.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
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

  trygg::server::BackupOptions backup;
  bool json = false;
  CLI::App* backup_cmd = app.add_subcommand(
      "backup", "copy the database consistently while tryggd runs");
  backup_cmd->footer(
      "Copy the database of a data directory into one file, consistently, while tryggd runs (SQLite's online\n"
      "backup API; tryggd is not stopped or locked). The copy is written with mode 0600 to a temporary name and\n"
      "renamed to --out only after it passed SQLite's integrity check and the checks of `trygg-audit verify-db`.\n"
      "With --with-signing-key the server signing key is sealed under the passphrase (Argon2id, XChaCha20-Poly1305)\n"
      "into OUT.key; without it the backup holds no key. Never replaces an existing file.");
  backup_cmd->add_option("-d,--data-dir", backup.data_dir, "the data directory of the (running) server")->required();
  backup_cmd->add_option("-o,--out", backup.out, "the backup file to write (must not exist)")->required();
  auto* with_key = backup_cmd->add_flag("--with-signing-key", backup.with_signing_key,
                                        "also write OUT.key: the server signing key sealed under a passphrase");
  backup_cmd->add_option("--passphrase-file", backup.passphrase_file,
                         "file whose first line is the passphrase that seals the key")
      ->needs(with_key);
  backup_cmd->add_flag("--json", json, "print the result (or the error) as JSON on stdout");

  trygg::server::RestoreOptions restore;
  CLI::App* restore_cmd = app.add_subcommand(
      "restore", "put a backup in place, with tryggd stopped");
  restore_cmd->footer(
      "Put a backup in place as a data directory's database, with tryggd stopped. The backup is copied into the\n"
      "directory and checked there (SQLite's integrity check and the checks of `trygg-audit verify-db`) before\n"
      "anything changes. Refuses a directory where tryggd runs, or that holds a database unless --force (the old\n"
      "files are then kept beside, renamed *.before-restore-<time>). With --passphrase-file, also restores the\n"
      "sealed server signing key (FROM.key, or --sealed-key); otherwise the directory's own server-signing.key\n"
      "is kept. Devices and auditors then see a log shorter than the head they verified: announce the restore.");
  restore_cmd->add_option("--from", restore.from, "the backup file (from `tryggd backup`)")->required();
  restore_cmd->add_option("-d,--data-dir", restore.data_dir, "the data directory to restore into")->required();
  auto* restore_passphrase = restore_cmd->add_option("--passphrase-file", restore.passphrase_file,
                                                     "file whose first line is the passphrase of the sealed key");
  restore_cmd->add_option("--sealed-key", restore.sealed_key, "the sealed server signing key (default: FROM.key)")
      ->needs(restore_passphrase);
  restore_cmd->add_flag("--force", restore.force, "replace an existing database, keeping it beside");
  restore_cmd->add_flag("--json", json, "print the result (or the error) as JSON on stdout");
  app.require_subcommand(0, 1);

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
  if (backup_cmd->parsed() || restore_cmd->parsed()) {
    // The seed and the passphrase pass through this process.
    HardenProcess();
    return backup_cmd->parsed() ? RunBackup(backup, json) : RunRestore(restore, json);
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
