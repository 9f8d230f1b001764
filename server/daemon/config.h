// SPDX-License-Identifier: Apache-2.0

// tryggd's configuration: defaults, an optional TOML file and command-line
// flags (flags win), validated before anything is opened or bound.
//
// Failure modes: every problem is an InvalidArgument status whose message
// names the file, line or key, so the operator can fix it from one line.
#ifndef TRYGG_SERVER_DAEMON_CONFIG_H_
#define TRYGG_SERVER_DAEMON_CONFIG_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "trygg/bytes.h"

namespace trygg::server {

struct ServerConfig {
  // host:port; [v6]:port. Port 0 picks a free port (printed at start).
  std::string listen_address = "127.0.0.1:50051";
  // Directory holding trygg.db and its WAL; must exist and be writable.
  std::string data_dir = "./trygg-data";
  // The pinned platform root Ed25519 public key as 64 hex digits; empty until
  // the platform root exists.
  std::string platform_root_public_key;
  // PEM files; both or neither. Required on any non-loopback address.
  std::string tls_cert_file;
  std::string tls_key_file;
  // trace, debug, info, warn, error or off.
  std::string log_level = "info";
  // text (one line per event, for people) or json (one JSON object per line,
  // for log collectors).
  std::string log_format = "text";
  // host:port (IPv4 or localhost) serving Prometheus metrics over HTTP at
  // /metrics; empty means off. Port 0 picks a free port (printed at start).
  std::string metrics_listen;
  // The metrics endpoint has no TLS and no authentication, so a
  // metrics_listen that is not loopback is refused unless this is set: the
  // operator says on purpose that a network may read them.
  bool metrics_allow_remote = false;
  // Largest request and response messages, in bytes.
  int max_receive_message_bytes = 4 * 1024 * 1024;
  int max_send_message_bytes = 4 * 1024 * 1024;
  // How long a stop waits for in-flight calls before cancelling them.
  int drain_seconds = 10;
  // How long a bearer token is valid after login.
  int session_ttl_seconds = 30 * 60;
  // Directory capacity stated longer ago than this is shown as stale
  // (TOML `directory.capacity_stale_hours`).
  int directory_capacity_stale_hours = 24;

  // [limits]: what one caller, and all callers together, may cost the server
  // (docs/operator-guide.md, "Limits"). Bounds are in config.cc's kLimitKeys.
  // Calls anyone may make before signing in, per address (IPv6 per /64):
  // refill per second (0: no limit), burst, and how many addresses are
  // tracked at once.
  int unauthenticated_calls_per_second = 20;
  int unauthenticated_burst = 60;
  int rate_limited_addresses = 65536;
  // Open streams (watch, upload, download) per device.
  int max_streams_per_device = 16;
  // HTTP/2 streams (calls in progress) per connection.
  int max_concurrent_streams_per_connection = 100;
  // Writes waiting for the store's writer thread; past it RESOURCE_EXHAUSTED.
  int max_queued_writes = 10000;
  // The WAL's pages (4 KiB each) after which the writer checkpoints it into
  // the database file: what the WAL may grow to (SqliteStore::Options).
  int wal_checkpoint_pages = 1000;
  // gRPC's resource quota: buffer memory in MiB, and threads.
  int memory_quota_mib = 1024;
  int max_threads = 64;
  // The server pings a connection quiet for keepalive_seconds and closes it
  // when no answer comes within keepalive_timeout_seconds; a connection with
  // no call in progress for idle_connection_seconds is closed.
  int keepalive_seconds = 60;
  int keepalive_timeout_seconds = 20;
  int idle_connection_seconds = 600;
  // What unauthenticated requests, one organisation and one call may make
  // the server store; each goes into the domain's TrustLimits, SessionPolicy
  // or CaseLimits.
  int max_pending_enrolments_per_org = 20;
  int enrolment_ttl_hours = 72;
  int max_live_challenges = 10'000;
  int64_t attachment_quota_bytes_per_org = int64_t{10} << 30;
  int orphan_upload_timeout_minutes = 60;
  int max_grants_per_call = 256;
  int max_key_envelopes_per_call = 1000;
};

// Reads a TOML configuration over `config`'s values. Unknown keys are errors,
// so a misspelt key is caught rather than silently ignored.
absl::Status ApplyConfigToml(absl::string_view toml_text, absl::string_view source_name,
                             ServerConfig& config);
absl::Status ApplyConfigFile(const std::string& path, ServerConfig& config);

// Checks values and their combination (TLS on non-loopback, key format,
// limits, log level and format, metrics address: loopback unless
// metrics_allow_remote).
absl::Status ValidateConfig(const ServerConfig& config);

struct ListenAddress {
  std::string host;  // without brackets
  int port = 0;
  bool loopback = false;
};

// Parses host:port. Loopback means 127.0.0.0/8, ::1 or "localhost".
absl::StatusOr<ListenAddress> ParseListenAddress(absl::string_view address);

// Decodes the configured platform root key (empty if not configured).
absl::StatusOr<std::optional<SignPublicKey>> PlatformRootKey(const ServerConfig& config);

}  // namespace trygg::server

#endif  // TRYGG_SERVER_DAEMON_CONFIG_H_
