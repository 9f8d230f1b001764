#include "server/daemon/logging.h"

#include <grpc/support/log.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cstring>

namespace trygg::server {
namespace {

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

}  // namespace

void InitLogging(const std::string& level) {
  auto logger = spdlog::stderr_logger_mt("tryggd");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %-5l %v", spdlog::pattern_time_type::utc);
  logger->set_level(spdlog::level::from_str(level));
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
  gpr_set_log_verbosity(level == "trace" || level == "debug" ? GPR_LOG_SEVERITY_DEBUG
                                                             : GPR_LOG_SEVERITY_ERROR);
  gpr_set_log_function(ForwardGrpcLog);
}

}  // namespace trygg::server
