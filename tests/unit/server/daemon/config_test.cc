// SPDX-License-Identifier: Apache-2.0

#include "server/daemon/config.h"

#include <catch2/catch.hpp>

#include "absl/strings/str_cat.h"

namespace trygg::server {
namespace {

TEST_CASE("ParseListenAddress recognises loopback addresses", "[config]") {
  struct Case {
    const char* address;
    const char* host;
    int port;
    bool loopback;
  };
  for (const Case& c : {Case{"127.0.0.1:50051", "127.0.0.1", 50051, true},
                        Case{"127.8.9.10:0", "127.8.9.10", 0, true},
                        Case{"localhost:1", "localhost", 1, true},
                        Case{"[::1]:443", "::1", 443, true},
                        Case{"0.0.0.0:50051", "0.0.0.0", 50051, false},
                        Case{"10.0.0.1:50051", "10.0.0.1", 50051, false},
                        Case{"[::]:50051", "::", 50051, false},
                        Case{"[::ffff:127.0.0.1]:1", "::ffff:127.0.0.1", 1, false},
                        Case{"trygg.example:443", "trygg.example", 443, false}}) {
    INFO(c.address);
    auto parsed = ParseListenAddress(c.address);
    REQUIRE(parsed.ok());
    CHECK(parsed->host == c.host);
    CHECK(parsed->port == c.port);
    CHECK(parsed->loopback == c.loopback);
  }
  for (const char* bad : {"", "127.0.0.1", ":50051", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1",
                          "::1:50051", "[::1]50051", "[::1", "host:port"}) {
    INFO(bad);
    CHECK(ParseListenAddress(bad).status().code() == absl::StatusCode::kInvalidArgument);
  }
}

TEST_CASE("ApplyConfigToml reads every key and keeps defaults for the rest", "[config]") {
  ServerConfig config;
  const std::string toml = R"(
listen = "[::1]:6000"
data_dir = "/var/lib/trygg"
platform_root_public_key = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
log_level = "debug"
log_format = "json"
metrics_listen = "127.0.0.1:9464"
drain_seconds = 3

[tls]
cert_file = "/etc/trygg/cert.pem"
key_file = "/etc/trygg/key.pem"

[limits]
max_receive_message_bytes = 1048576
)";
  REQUIRE(ApplyConfigToml(toml, "t.toml", config).ok());
  CHECK(config.listen_address == "[::1]:6000");
  CHECK(config.data_dir == "/var/lib/trygg");
  CHECK(config.log_level == "debug");
  CHECK(config.log_format == "json");
  CHECK(config.metrics_listen == "127.0.0.1:9464");
  CHECK(config.drain_seconds == 3);
  CHECK(config.tls_cert_file == "/etc/trygg/cert.pem");
  CHECK(config.tls_key_file == "/etc/trygg/key.pem");
  CHECK(config.max_receive_message_bytes == 1048576);
  CHECK(config.max_send_message_bytes == ServerConfig().max_send_message_bytes);
  CHECK(ValidateConfig(config).ok());
  auto key = PlatformRootKey(config);
  REQUIRE(key.ok());
  REQUIRE(key->has_value());
  CHECK((*key)->array()[0] == 0x00);
  CHECK((*key)->array()[31] == 0xff);
}

TEST_CASE("ApplyConfigToml reads every [limits] key, and each is bounded both ways", "[config]") {
  ServerConfig config;
  const std::string toml = R"(
[limits]
unauthenticated_calls_per_second = 5
unauthenticated_burst = 7
rate_limited_addresses = 1000
max_streams_per_device = 4
max_concurrent_streams_per_connection = 50
max_queued_writes = 2000
wal_checkpoint_pages = 2000
memory_quota_mib = 256
max_threads = 16
keepalive_seconds = 30
keepalive_timeout_seconds = 5
idle_connection_seconds = 120
)";
  REQUIRE(ApplyConfigToml(toml, "t.toml", config).ok());
  CHECK(config.unauthenticated_calls_per_second == 5);
  CHECK(config.unauthenticated_burst == 7);
  CHECK(config.rate_limited_addresses == 1000);
  CHECK(config.max_streams_per_device == 4);
  CHECK(config.max_concurrent_streams_per_connection == 50);
  CHECK(config.max_queued_writes == 2000);
  CHECK(config.wal_checkpoint_pages == 2000);
  CHECK(config.memory_quota_mib == 256);
  CHECK(config.max_threads == 16);
  CHECK(config.keepalive_seconds == 30);
  CHECK(config.keepalive_timeout_seconds == 5);
  CHECK(config.idle_connection_seconds == 120);
  CHECK(ValidateConfig(config).ok());

  // 0 turns the rate limit off; nothing else may be 0.
  CHECK(ApplyConfigToml("[limits]\nunauthenticated_calls_per_second = 0\n", "t.toml", config).ok());
  for (const char* key : {"unauthenticated_burst", "rate_limited_addresses", "max_streams_per_device",
                          "max_concurrent_streams_per_connection", "max_queued_writes", "wal_checkpoint_pages",
                          "memory_quota_mib", "max_threads", "keepalive_seconds", "keepalive_timeout_seconds",
                          "idle_connection_seconds"}) {
    INFO(key);
    ServerConfig fresh;
    absl::Status status = ApplyConfigToml(absl::StrCat("[limits]\n", key, " = 0\n"), "t.toml", fresh);
    CHECK(status.code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(status.message()), Catch::StartsWith(absl::StrCat("t.toml:2: limits.", key, ": must be between")));
    CHECK(fresh.max_queued_writes == ServerConfig().max_queued_writes);  // nothing taken from a refused file
    status = ApplyConfigToml(absl::StrCat("[limits]\n", key, " = 100000000000\n"), "t.toml", fresh);
    CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  }
  ServerConfig bad;
  bad.max_streams_per_device = 0;
  CHECK(ValidateConfig(bad).message() == "limits.max_streams_per_device must be between 1 and 10000");
  // A device's streams must leave room on its one connection for other calls.
  ServerConfig crowded;
  crowded.max_streams_per_device = 100;
  crowded.max_concurrent_streams_per_connection = 100;
  CHECK(ValidateConfig(crowded).code() == absl::StatusCode::kInvalidArgument);
  crowded.max_concurrent_streams_per_connection = 101;
  CHECK(ValidateConfig(crowded).ok());
}

TEST_CASE("ApplyConfigToml names the line and key of every mistake", "[config]") {
  struct Case {
    const char* toml;
    const char* message;
  };
  for (const Case& c : {Case{"listen = 5\n", "t.toml:1: listen: must be a string"},
                        Case{"\nport = 1\n", "t.toml:2: port: unknown key"},
                        Case{"[tls]\ncert = \"x\"\n", "t.toml:2: tls.cert: unknown key"},
                        Case{"tls = 1\n", "t.toml:1: tls: must be a table"},
                        Case{"drain_seconds = -1\n", "t.toml:1: drain_seconds: must be between 0 and 3600"},
                        Case{"\nsession_ttl_seconds = 0\n", "t.toml:2: session_ttl_seconds: must be between 1 and 86400"},
                        Case{"[directory]\ncapacity_stale_hours = 9000\n",
                             "t.toml:2: directory.capacity_stale_hours: must be between 1 and 8760"},
                        Case{"[limits]\nmax_receive_message_bytes = 10\n",
                             "t.toml:2: limits.max_receive_message_bytes: must be between 65536 and 67108864"},
                        Case{"[limits]\nmax_send_message_bytes = \"big\"\n",
                             "t.toml:2: limits.max_send_message_bytes: must be an integer"},
                        Case{"log_format = 1\n", "t.toml:1: log_format: must be a string"},
                        Case{"\nmetrics_listen = 9464\n", "t.toml:2: metrics_listen: must be a string"},
                        Case{"listen = \n", "t.toml:1: malformed TOML"}}) {
    INFO(c.toml);
    ServerConfig config;
    absl::Status status = ApplyConfigToml(c.toml, "t.toml", config);
    CHECK(status.code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(status.message()), Catch::StartsWith(c.message));
  }
}

// Issue 12's [limits] on stored costs: read, bounded, and kept apart from
// the other [limits] keys only by name.
TEST_CASE("ApplyConfigToml reads the [limits] on enrolments, challenges, uploads and grants", "[config][limits]") {
  ServerConfig config;
  const std::string toml = R"([limits]
max_pending_enrolments_per_org = 5
enrolment_ttl_hours = 24
max_live_challenges = 500
attachment_quota_bytes_per_org = 21474836480
orphan_upload_timeout_minutes = 30
max_grants_per_call = 64
max_key_envelopes_per_call = 200
)";
  REQUIRE(ApplyConfigToml(toml, "t.toml", config).ok());
  CHECK(config.max_pending_enrolments_per_org == 5);
  CHECK(config.enrolment_ttl_hours == 24);
  CHECK(config.max_live_challenges == 500);
  CHECK(config.attachment_quota_bytes_per_org == int64_t{20} << 30);
  CHECK(config.orphan_upload_timeout_minutes == 30);
  CHECK(config.max_grants_per_call == 64);
  CHECK(config.max_key_envelopes_per_call == 200);
  CHECK(ValidateConfig(config).ok());

  for (const auto& [text, message] : {std::pair<const char*, const char*>{
                                          "[limits]\nmax_pending_enrolments_per_org = 0\n",
                                          "t.toml:2: limits.max_pending_enrolments_per_org: must be between 1 and 10000"},
                                      {"[limits]\nattachment_quota_bytes_per_org = 1024\n",
                                       "t.toml:2: limits.attachment_quota_bytes_per_org: must be between 1048576 and "
                                       "1125899906842624"},
                                      {"[limits]\nmax_grants_per_call = \"many\"\n",
                                       "t.toml:2: limits.max_grants_per_call: must be an integer"},
                                      {"[limits]\nmax_pending_enrolments = 3\n",
                                       "t.toml:2: limits.max_pending_enrolments: unknown key"}}) {
    INFO(text);
    ServerConfig bad;
    absl::Status status = ApplyConfigToml(text, "t.toml", bad);
    CHECK(status.code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(status.message()), Catch::StartsWith(message));
  }
  ServerConfig out_of_range;
  out_of_range.enrolment_ttl_hours = 0;
  CHECK(ValidateConfig(out_of_range).code() == absl::StatusCode::kInvalidArgument);
  out_of_range = ServerConfig();
  out_of_range.attachment_quota_bytes_per_org = 0;
  CHECK(ValidateConfig(out_of_range).code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("ValidateConfig refuses unsafe or impossible combinations", "[config]") {
  auto invalid = [](auto mutate) {
    ServerConfig config;
    mutate(config);
    return ValidateConfig(config);
  };
  CHECK(ValidateConfig(ServerConfig()).ok());
  CHECK(invalid([](ServerConfig& c) { c.listen_address = "0.0.0.0:1"; }).code() ==
        absl::StatusCode::kInvalidArgument);
  // With TLS, any address is allowed.
  CHECK(invalid([](ServerConfig& c) {
          c.listen_address = "0.0.0.0:1";
          c.tls_cert_file = "c";
          c.tls_key_file = "k";
        }).ok());
  CHECK_FALSE(invalid([](ServerConfig& c) { c.tls_cert_file = "c"; }).ok());
  CHECK_FALSE(invalid([](ServerConfig& c) { c.data_dir = ""; }).ok());
  CHECK_FALSE(invalid([](ServerConfig& c) { c.log_level = "verbose"; }).ok());
  CHECK_FALSE(invalid([](ServerConfig& c) { c.max_receive_message_bytes = 10; }).ok());
  CHECK_FALSE(invalid([](ServerConfig& c) { c.max_send_message_bytes = 1 << 30; }).ok());
  CHECK_FALSE(invalid([](ServerConfig& c) { c.drain_seconds = 100000; }).ok());
  CHECK_FALSE(invalid([](ServerConfig& c) { c.platform_root_public_key = std::string(64, 'g'); }).ok());
  CHECK_FALSE(invalid([](ServerConfig& c) { c.platform_root_public_key = std::string(62, 'a'); }).ok());
}

TEST_CASE("ValidateConfig checks the log format and the metrics address", "[config]") {
  auto check = [](auto mutate) {
    ServerConfig config;
    mutate(config);
    return ValidateConfig(config);
  };
  CHECK(ServerConfig().log_format == "text");
  CHECK(ServerConfig().metrics_listen.empty());  // off by default
  CHECK(check([](ServerConfig& c) { c.log_format = "json"; }).ok());
  absl::Status format = check([](ServerConfig& c) { c.log_format = "JSON"; });
  CHECK(format.code() == absl::StatusCode::kInvalidArgument);
  CHECK(format.message() == "log_format 'JSON' is not text or json");
  // Loopback serves metrics as it is; another address only when the
  // operator allows it (review finding H3: no TLS, no authentication).
  CHECK_FALSE(ServerConfig().metrics_allow_remote);
  for (const char* good : {"127.0.0.1:9464", "127.1.2.3:0", "localhost:9464"}) {
    INFO(good);
    CHECK(check([&](ServerConfig& c) { c.metrics_listen = good; }).ok());
  }
  for (const char* remote : {"0.0.0.0:9464", "10.1.2.3:0", "192.168.1.10:9464"}) {
    INFO(remote);
    absl::Status refused = check([&](ServerConfig& c) { c.metrics_listen = remote; });
    CHECK(refused.code() == absl::StatusCode::kInvalidArgument);
    CHECK(refused.message() ==
          absl::StrCat("refusing to serve metrics on non-loopback address ", remote,
                       " (no TLS, no authentication); use 127.0.0.1, or set metrics_allow_remote = true "
                       "(--metrics-allow-remote) to let that network read them"));
    CHECK(check([&](ServerConfig& c) {
            c.metrics_listen = remote;
            c.metrics_allow_remote = true;
          }).ok());
  }
  for (const char* bad : {"9464", "127.0.0.1:", "127.0.0.1:70000", "[::1]:9464", "[::]:9464", ":9464"}) {
    INFO(bad);
    absl::Status status = check([&](ServerConfig& c) { c.metrics_listen = bad; });
    CHECK(status.code() == absl::StatusCode::kInvalidArgument);
    CHECK(status.message().find("metrics_listen") != absl::string_view::npos);
  }
}

TEST_CASE("metrics_allow_remote is read from the file as a boolean", "[config]") {
  ServerConfig config;
  REQUIRE(ApplyConfigToml("metrics_listen = \"0.0.0.0:9464\"\nmetrics_allow_remote = true\n", "t.toml", config).ok());
  CHECK(config.metrics_allow_remote);
  CHECK(ValidateConfig(config).ok());
  absl::Status status = ApplyConfigToml("\nmetrics_allow_remote = \"yes\"\n", "t.toml", config);
  CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  CHECK(status.message() == "t.toml:2: metrics_allow_remote: must be true or false");
}

}  // namespace
}  // namespace trygg::server
