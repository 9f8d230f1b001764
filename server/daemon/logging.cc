// SPDX-License-Identifier: Apache-2.0

#include "server/daemon/logging.h"

#include <grpc/support/log.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <map>
#include <mutex>
#include <utility>

#include <nlohmann/json.hpp>

namespace trygg::server {
namespace {

// Set once by InitLogging before other threads exist; read-only afterwards.
std::shared_ptr<spdlog::logger> call_logger;
bool json_format = false;

// Calls refused by a limit (RESOURCE_EXHAUSTED) come in floods, and a line
// for each would let a flood fill the disk through the log. The first in each
// window is logged as any call; the rest are counted per method (a method
// name this server serves, or "unknown": never text a caller chose), and the
// counts are logged with the next call after the window.
constexpr auto kExhaustedWindow = std::chrono::seconds(10);
std::mutex exhausted_mu;
std::chrono::steady_clock::time_point exhausted_window_start;
std::map<std::string, uint64_t, std::less<>> exhausted_unlogged;

void LogUnlogged(const std::map<std::string, uint64_t, std::less<>>& unlogged, spdlog::logger& logger) {
  uint64_t total = 0;
  for (const auto& [method, n] : unlogged) total += n;
  if (json_format) {
    nlohmann::ordered_json fields;
    fields["status"] = "RESOURCE_EXHAUSTED";
    fields["refused_unlogged"] = total;
    fields["unlogged_by_method"] = unlogged;
    std::string members = fields.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    logger.info("{}", members.substr(1, members.size() - 2));
    return;
  }
  std::string methods;
  for (const auto& [method, n] : unlogged) {
    if (!methods.empty()) methods += ',';
    methods += method + ":" + std::to_string(n);
  }
  logger.info("rpc status=RESOURCE_EXHAUSTED refused_unlogged={} methods={} (refusals by a limit are logged one "
              "line per 10 s)",
              total, methods);
}

// Whether `event` gets its own line; may log the counts of those that did not.
bool ShouldLogCall(const CallEvent& event, spdlog::logger& logger) {
  const bool exhausted = event.status == "RESOURCE_EXHAUSTED";
  const auto now = std::chrono::steady_clock::now();
  std::map<std::string, uint64_t, std::less<>> unlogged;
  bool log = true;
  {
    std::lock_guard<std::mutex> lock(exhausted_mu);
    if (now - exhausted_window_start >= kExhaustedWindow) {
      unlogged.swap(exhausted_unlogged);
      if (exhausted) exhausted_window_start = now;
    } else if (exhausted) {
      auto it = exhausted_unlogged.find(event.method);
      if (it == exhausted_unlogged.end()) it = exhausted_unlogged.emplace(std::string(event.method), 0).first;
      ++it->second;
      log = false;
    }
  }
  if (!unlogged.empty()) LogUnlogged(unlogged, logger);
  return log;
}

// gRPC's INFO lines are chatter about its internals; they are debug for us.
void ForwardGrpcLog(gpr_log_func_args* args) {
  const char* file = std::strrchr(args->file, '/');
  file = file != nullptr ? file + 1 : args->file;
  switch (args->severity) {
    case GPR_LOG_SEVERITY_ERROR:
      spdlog::error("grpc: {} ({}:{})", args->message, file, args->line);
      break;
    default:
      spdlog::debug("grpc: {} ({}:{})", args->message, file, args->line);
      break;
  }
}

// A JSON string literal for `text`; bytes that are not UTF-8 become U+FFFD.
std::string JsonString(std::string_view text) {
  return nlohmann::json(std::string(text)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const auto since_epoch = msg.time.time_since_epoch();
    const std::time_t seconds = std::chrono::duration_cast<std::chrono::seconds>(since_epoch).count();
    const int millis =
        static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch).count() % 1000);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char time_text[96];
    std::snprintf(time_text, sizeof(time_text), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                  utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, millis);
    const std::string_view level_name(spdlog::level::to_string_view(msg.level).data(),
                                      spdlog::level::to_string_view(msg.level).size());
    const std::string_view payload(msg.payload.data(), msg.payload.size());
    std::string line = "{\"time\":\"";
    line += time_text;
    line += "\",\"level\":";
    line += JsonString(level_name);
    if (std::string_view(msg.logger_name.data(), msg.logger_name.size()) == kCallLoggerName) {
      // LogCall built these members with nlohmann::json: already escaped.
      line += ",\"event\":\"rpc\",";
      line.append(payload.data(), payload.size());
    } else {
      line += ",\"event\":\"log\",\"message\":";
      line += JsonString(payload);
    }
    line += "}\n";
    dest.append(line.data(), line.data() + line.size());
  }

  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonFormatter>(); }
};

}  // namespace

std::unique_ptr<spdlog::formatter> MakeJsonFormatter() { return std::make_unique<JsonFormatter>(); }

void InitLogging(const std::string& level, const std::string& format) {
  json_format = format == "json";
  // One sink for both loggers: one formatter, one lock, whole lines.
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto logger = std::make_shared<spdlog::logger>("tryggd", sink);
  call_logger = std::make_shared<spdlog::logger>(kCallLoggerName, sink);
  if (json_format) {
    sink->set_formatter(MakeJsonFormatter());
  } else {
    sink->set_formatter(
        std::make_unique<spdlog::pattern_formatter>("%Y-%m-%dT%H:%M:%S.%eZ %-5l %v", spdlog::pattern_time_type::utc));
  }
  for (const auto& l : {logger, call_logger}) {
    l->set_level(spdlog::level::from_str(level));
    l->flush_on(spdlog::level::trace);
  }
  spdlog::set_default_logger(logger);
  gpr_set_log_verbosity(level == "trace" || level == "debug" ? GPR_LOG_SEVERITY_DEBUG
                                                             : GPR_LOG_SEVERITY_ERROR);
  gpr_set_log_function(ForwardGrpcLog);
}

void LogCall(const CallEvent& event) {
  const std::shared_ptr<spdlog::logger>& logger = call_logger != nullptr ? call_logger : spdlog::default_logger();
  if (!logger->should_log(spdlog::level::info)) return;
  if (!ShouldLogCall(event, *logger)) return;
  // Milliseconds with microsecond resolution: enough to see a slow fsync.
  const double duration_ms = static_cast<double>(static_cast<int64_t>(event.duration_ms * 1000)) / 1000;
  if (json_format) {
    nlohmann::ordered_json fields;
    fields["method"] = std::string(event.method);
    fields["status"] = std::string(event.status);
    fields["duration_ms"] = duration_ms;
    if (!event.request_id.empty()) fields["request_id"] = std::string(event.request_id);
    std::string members = fields.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    // "{...}" without its braces: the formatter adds time, level and event.
    members = members.substr(1, members.size() - 2);
    logger->info("{}", members);
  } else if (event.request_id.empty()) {
    logger->info("rpc method={} status={} duration_ms={:.3f}", event.method, event.status, duration_ms);
  } else {
    logger->info("rpc method={} status={} duration_ms={:.3f} request_id={}", event.method, event.status,
                 duration_ms, event.request_id);
  }
}

}  // namespace trygg::server
