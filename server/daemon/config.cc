// SPDX-License-Identifier: Apache-2.0

#include "server/daemon/config.h"

#include <arpa/inet.h>

#include <fstream>
#include <sstream>

#include <toml++/toml.h>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "trygg/status_macros.h"

namespace trygg::server {
namespace {

constexpr int kMinMessageBytes = 64 * 1024;
constexpr int kMaxMessageBytes = 64 * 1024 * 1024;
constexpr int kMaxDrainSeconds = 3600;
constexpr int kMinSessionTtlSeconds = 1;
constexpr int kMaxSessionTtlSeconds = 24 * 3600;
constexpr int kMinCapacityStaleHours = 1;
constexpr int kMaxCapacityStaleHours = 24 * 365;

constexpr int64_t kMinAttachmentQuotaBytes = int64_t{1} << 20;
constexpr int64_t kMaxAttachmentQuotaBytes = int64_t{1} << 50;

absl::Status KeyError(absl::string_view source, const toml::source_region& where,
                      absl::string_view key, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(source, ":", static_cast<int>(where.begin.line), ": ", key, ": ", what));
}

absl::Status ReadString(const toml::node& node, absl::string_view source, absl::string_view key,
                        std::string& out) {
  const auto* value = node.as_string();
  if (value == nullptr) return KeyError(source, node.source(), key, "must be a string");
  out = value->get();
  return absl::OkStatus();
}

absl::Status ReadBool(const toml::node& node, absl::string_view source, absl::string_view key, bool& out) {
  const auto* value = node.as_boolean();
  if (value == nullptr) return KeyError(source, node.source(), key, "must be true or false");
  out = value->get();
  return absl::OkStatus();
}

// The bounds are ValidateConfig's, checked here too so that a value out of
// range in the file is reported at its file and line.
absl::Status ReadInt(const toml::node& node, absl::string_view source, absl::string_view key,
                     int64_t min, int64_t max, int& out) {
  const auto* value = node.as_integer();
  if (value == nullptr) return KeyError(source, node.source(), key, "must be an integer");
  int64_t v = value->get();
  if (v < min || v > max) {
    return KeyError(source, node.source(), key, absl::StrCat("must be between ", min, " and ", max));
  }
  out = static_cast<int>(v);
  return absl::OkStatus();
}

absl::Status ReadInt64(const toml::node& node, absl::string_view source, absl::string_view key, int64_t min,
                       int64_t max, int64_t& out) {
  const auto* value = node.as_integer();
  if (value == nullptr) return KeyError(source, node.source(), key, "must be an integer");
  if (value->get() < min || value->get() > max) {
    return KeyError(source, node.source(), key, absl::StrCat("must be between ", min, " and ", max));
  }
  out = value->get();
  return absl::OkStatus();
}

// The integer keys of [limits], with their bounds: the parser and
// ValidateConfig both read this one table.
struct LimitKey {
  const char* name;
  int64_t min;
  int64_t max;
  int ServerConfig::*field;
};
constexpr LimitKey kLimitKeys[] = {
    {"limits.max_receive_message_bytes", kMinMessageBytes, kMaxMessageBytes, &ServerConfig::max_receive_message_bytes},
    {"limits.max_send_message_bytes", kMinMessageBytes, kMaxMessageBytes, &ServerConfig::max_send_message_bytes},
    {"limits.unauthenticated_calls_per_second", 0, 100000, &ServerConfig::unauthenticated_calls_per_second},
    {"limits.unauthenticated_burst", 1, 1000000, &ServerConfig::unauthenticated_burst},
    {"limits.rate_limited_addresses", 16, 1000000, &ServerConfig::rate_limited_addresses},
    {"limits.max_streams_per_device", 1, 10000, &ServerConfig::max_streams_per_device},
    {"limits.max_concurrent_streams_per_connection", 1, 100000,
     &ServerConfig::max_concurrent_streams_per_connection},
    {"limits.max_queued_writes", 1, 10000000, &ServerConfig::max_queued_writes},
    // 100 pages (400 KiB) to 1,000,000 (4 GiB): below, the writer would
    // checkpoint every few batches; above, the WAL could outgrow the disk.
    {"limits.wal_checkpoint_pages", 100, 1'000'000, &ServerConfig::wal_checkpoint_pages},
    {"limits.memory_quota_mib", 64, 1024 * 1024, &ServerConfig::memory_quota_mib},
    {"limits.max_threads", 4, 10000, &ServerConfig::max_threads},
    {"limits.keepalive_seconds", 10, 24 * 3600, &ServerConfig::keepalive_seconds},
    {"limits.keepalive_timeout_seconds", 1, 3600, &ServerConfig::keepalive_timeout_seconds},
    {"limits.idle_connection_seconds", 10, 7 * 24 * 3600, &ServerConfig::idle_connection_seconds},
    // Stored costs: below the minimums honest use breaks (a device could not
    // enrol over a weekend, an upload over a slow link would be cut off);
    // above the maximums the limit protects nothing.
    {"limits.max_pending_enrolments_per_org", 1, 10'000, &ServerConfig::max_pending_enrolments_per_org},
    {"limits.enrolment_ttl_hours", 1, 24 * 90, &ServerConfig::enrolment_ttl_hours},
    {"limits.max_live_challenges", 10, 1'000'000, &ServerConfig::max_live_challenges},
    {"limits.orphan_upload_timeout_minutes", 1, 7 * 24 * 60, &ServerConfig::orphan_upload_timeout_minutes},
    {"limits.max_grants_per_call", 1, 10'000, &ServerConfig::max_grants_per_call},
    {"limits.max_key_envelopes_per_call", 1, 100'000, &ServerConfig::max_key_envelopes_per_call},
};

const LimitKey* FindLimitKey(absl::string_view name) {
  for (const LimitKey& key : kLimitKeys) {
    if (name == key.name) return &key;
  }
  return nullptr;
}

}  // namespace

absl::Status ApplyConfigToml(absl::string_view toml_text, absl::string_view source_name,
                             ServerConfig& config) {
  toml::table root;
  try {
    root = toml::parse(std::string_view(toml_text.data(), toml_text.size()),
                       std::string_view(source_name.data(), source_name.size()));
  } catch (const toml::parse_error& e) {
    return absl::InvalidArgumentError(absl::StrCat(source_name, ":", static_cast<int>(e.source().begin.line),
                                                   ": malformed TOML: ", std::string(e.description())));
  }
  for (const auto& [key, node] : root) {
    const std::string k(key.str());
    if (k == "listen") {
      TRYGG_RETURN_IF_ERROR(ReadString(node, source_name, k, config.listen_address));
    } else if (k == "data_dir") {
      TRYGG_RETURN_IF_ERROR(ReadString(node, source_name, k, config.data_dir));
    } else if (k == "platform_root_public_key") {
      TRYGG_RETURN_IF_ERROR(ReadString(node, source_name, k, config.platform_root_public_key));
    } else if (k == "log_level") {
      TRYGG_RETURN_IF_ERROR(ReadString(node, source_name, k, config.log_level));
    } else if (k == "log_format") {
      TRYGG_RETURN_IF_ERROR(ReadString(node, source_name, k, config.log_format));
    } else if (k == "metrics_listen") {
      TRYGG_RETURN_IF_ERROR(ReadString(node, source_name, k, config.metrics_listen));
    } else if (k == "metrics_allow_remote") {
      TRYGG_RETURN_IF_ERROR(ReadBool(node, source_name, k, config.metrics_allow_remote));
    } else if (k == "drain_seconds") {
      TRYGG_RETURN_IF_ERROR(ReadInt(node, source_name, k, 0, kMaxDrainSeconds, config.drain_seconds));
    } else if (k == "session_ttl_seconds") {
      TRYGG_RETURN_IF_ERROR(ReadInt(node, source_name, k, kMinSessionTtlSeconds, kMaxSessionTtlSeconds,
                                     config.session_ttl_seconds));
    } else if (k == "directory") {
      const toml::table* table = node.as_table();
      if (table == nullptr) return KeyError(source_name, node.source(), k, "must be a table");
      for (const auto& [sub_key, sub] : *table) {
        const std::string name = absl::StrCat(k, ".", std::string(sub_key.str()));
        if (name == "directory.capacity_stale_hours") {
          TRYGG_RETURN_IF_ERROR(ReadInt(sub, source_name, name, kMinCapacityStaleHours, kMaxCapacityStaleHours,
                                       config.directory_capacity_stale_hours));
        } else {
          return KeyError(source_name, sub.source(), name, "unknown key");
        }
      }
    } else if (k == "tls" || k == "limits") {
      const toml::table* table = node.as_table();
      if (table == nullptr) return KeyError(source_name, node.source(), k, "must be a table");
      for (const auto& [sub_key, sub] : *table) {
        const std::string name = absl::StrCat(k, ".", std::string(sub_key.str()));
        if (name == "tls.cert_file") {
          TRYGG_RETURN_IF_ERROR(ReadString(sub, source_name, name, config.tls_cert_file));
        } else if (name == "tls.key_file") {
          TRYGG_RETURN_IF_ERROR(ReadString(sub, source_name, name, config.tls_key_file));
        } else if (const LimitKey* limit = FindLimitKey(name); limit != nullptr) {
          TRYGG_RETURN_IF_ERROR(ReadInt(sub, source_name, name, limit->min, limit->max, config.*limit->field));
        } else if (name == "limits.attachment_quota_bytes_per_org") {
          TRYGG_RETURN_IF_ERROR(ReadInt64(sub, source_name, name, kMinAttachmentQuotaBytes, kMaxAttachmentQuotaBytes,
                                         config.attachment_quota_bytes_per_org));
        } else {
          return KeyError(source_name, sub.source(), name, "unknown key");
        }
      }
    } else {
      return KeyError(source_name, node.source(), k, "unknown key");
    }
  }
  return absl::OkStatus();
}

absl::Status ApplyConfigFile(const std::string& path, ServerConfig& config) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("cannot read config file ", path));
  std::stringstream text;
  text << in.rdbuf();
  if (in.bad()) return absl::InvalidArgumentError(absl::StrCat("cannot read config file ", path));
  return ApplyConfigToml(text.str(), path, config);
}

absl::StatusOr<ListenAddress> ParseListenAddress(absl::string_view address) {
  ListenAddress parsed;
  absl::string_view host;
  absl::string_view port;
  if (!address.empty() && address.front() == '[') {
    size_t close = address.find(']');
    if (close == absl::string_view::npos || close + 1 >= address.size() || address[close + 1] != ':') {
      return absl::InvalidArgumentError(absl::StrCat("listen address '", address, "' is not [host]:port"));
    }
    host = address.substr(1, close - 1);
    port = address.substr(close + 2);
  } else {
    size_t colon = address.rfind(':');
    if (colon == absl::string_view::npos || address.find(':') != colon) {
      return absl::InvalidArgumentError(
          absl::StrCat("listen address '", address, "' is not host:port (write IPv6 as [::1]:port)"));
    }
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
  }
  if (host.empty() || !absl::SimpleAtoi(port, &parsed.port) || parsed.port < 0 || parsed.port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("listen address '", address, "' has no valid host and port"));
  }
  parsed.host = std::string(host);
  in_addr v4;
  in6_addr v6;
  if (absl::AsciiStrToLower(parsed.host) == "localhost") {
    parsed.loopback = true;
  } else if (inet_pton(AF_INET, parsed.host.c_str(), &v4) == 1) {
    parsed.loopback = (ntohl(v4.s_addr) >> 24) == 127;
  } else if (inet_pton(AF_INET6, parsed.host.c_str(), &v6) == 1) {
    parsed.loopback = IN6_IS_ADDR_LOOPBACK(&v6);
  }
  return parsed;
}

absl::StatusOr<std::optional<SignPublicKey>> PlatformRootKey(const ServerConfig& config) {
  if (config.platform_root_public_key.empty()) return std::nullopt;
  absl::StatusOr<SignPublicKey> key = SignPublicKey::FromHex(config.platform_root_public_key);
  if (!key.ok()) return absl::InvalidArgumentError("platform_root_public_key must be 64 hex digits (32 bytes)");
  return *key;
}

absl::Status ValidateConfig(const ServerConfig& config) {
  TRYGG_ASSIGN_OR_RETURN(ListenAddress address, ParseListenAddress(config.listen_address));
  const bool tls = !config.tls_cert_file.empty() || !config.tls_key_file.empty();
  if (tls && (config.tls_cert_file.empty() || config.tls_key_file.empty())) {
    return absl::InvalidArgumentError("TLS needs both tls.cert_file and tls.key_file");
  }
  if (!address.loopback && !tls) {
    return absl::InvalidArgumentError(absl::StrCat(
        "refusing to listen on non-loopback address ", config.listen_address,
        " without TLS; set tls.cert_file and tls.key_file (plaintext is for 127.0.0.1 and ::1 only)"));
  }
  if (config.data_dir.empty()) return absl::InvalidArgumentError("data_dir must not be empty");
  TRYGG_RETURN_IF_ERROR(PlatformRootKey(config).status());
  for (const LimitKey& key : kLimitKeys) {
    const int value = config.*key.field;
    if (value < key.min || value > key.max) {
      return absl::InvalidArgumentError(absl::StrCat(key.name, " must be between ", key.min, " and ", key.max));
    }
  }
  // A client talks over one connection: one holding its streams must still
  // have room for its other calls.
  if (config.max_concurrent_streams_per_connection <= config.max_streams_per_device) {
    return absl::InvalidArgumentError(
        "limits.max_concurrent_streams_per_connection must be above limits.max_streams_per_device");
  }
  if (config.drain_seconds < 0 || config.drain_seconds > kMaxDrainSeconds) {
    return absl::InvalidArgumentError(absl::StrCat("drain_seconds must be between 0 and ", kMaxDrainSeconds));
  }
  if (config.session_ttl_seconds < kMinSessionTtlSeconds || config.session_ttl_seconds > kMaxSessionTtlSeconds) {
    return absl::InvalidArgumentError(absl::StrCat("session_ttl_seconds must be between ", kMinSessionTtlSeconds,
                                                   " and ", kMaxSessionTtlSeconds));
  }
  if (config.directory_capacity_stale_hours < kMinCapacityStaleHours ||
      config.directory_capacity_stale_hours > kMaxCapacityStaleHours) {
    return absl::InvalidArgumentError(absl::StrCat("directory.capacity_stale_hours must be between ",
                                                   kMinCapacityStaleHours, " and ", kMaxCapacityStaleHours));
  }
  if (config.attachment_quota_bytes_per_org < kMinAttachmentQuotaBytes ||
      config.attachment_quota_bytes_per_org > kMaxAttachmentQuotaBytes) {
    return absl::InvalidArgumentError(absl::StrCat("limits.attachment_quota_bytes_per_org must be between ",
                                                   kMinAttachmentQuotaBytes, " and ", kMaxAttachmentQuotaBytes));
  }
  if (!config.metrics_listen.empty()) {
    absl::StatusOr<ListenAddress> metrics = ParseListenAddress(config.metrics_listen);
    if (!metrics.ok()) return absl::InvalidArgumentError(absl::StrCat("metrics_listen: ", metrics.status().message()));
    in6_addr v6;
    if (inet_pton(AF_INET6, metrics->host.c_str(), &v6) == 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "metrics_listen ", config.metrics_listen,
          ": the metrics HTTP server (Debian's prometheus-cpp) has no IPv6; use an IPv4 address or localhost"));
    }
    // Review finding H3: the endpoint has neither TLS nor authentication, and
    // its counts are still operational data (load, errors, traffic by hour).
    if (!metrics->loopback && !config.metrics_allow_remote) {
      return absl::InvalidArgumentError(absl::StrCat(
          "refusing to serve metrics on non-loopback address ", config.metrics_listen,
          " (no TLS, no authentication); use 127.0.0.1, or set metrics_allow_remote = true "
          "(--metrics-allow-remote) to let that network read them"));
    }
  }
  if (config.log_format != "text" && config.log_format != "json") {
    return absl::InvalidArgumentError(absl::StrCat("log_format '", config.log_format, "' is not text or json"));
  }
  static constexpr const char* kLevels[] = {"trace", "debug", "info", "warn", "error", "off"};
  for (const char* level : kLevels) {
    if (config.log_level == level) return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat("log_level '", config.log_level,
                                                 "' is not one of trace, debug, info, warn, error, off"));
}

}  // namespace trygg::server
