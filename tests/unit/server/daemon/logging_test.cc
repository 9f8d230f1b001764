// SPDX-License-Identifier: Apache-2.0

// The JSON log formatter (server/daemon/logging.h): every line is one JSON
// object with time, level and event, whatever the message holds, and `rpc`
// events carry their fields as members.
#include "server/daemon/logging.h"

#include <catch2/catch.hpp>
#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

namespace trygg::server {
namespace {

struct CapturedLog {
  std::ostringstream out;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  CapturedLog() { sink->set_formatter(MakeJsonFormatter()); }
  spdlog::logger Logger(const std::string& name) { return spdlog::logger(name, sink); }
};

TEST_CASE("the JSON formatter writes one parseable object per line, whatever the message", "[logging]") {
  CapturedLog log;
  spdlog::logger logger = log.Logger("tryggd");
  const std::string nasty = std::string("quote \" backslash \\ newline \n tab \t nul ") + '\0' +
                            " bell \x07 bad utf-8 \xff\xfe end \xc3\xa5";
  logger.info("{}", nasty);
  logger.warn("internal error: {}", "disk full");
  logger.error("plain");
  std::istringstream lines(log.out.str());
  std::vector<nlohmann::json> parsed;
  for (std::string line; std::getline(lines, line);) {
    INFO(line);
    REQUIRE_NOTHROW(parsed.push_back(nlohmann::json::parse(line)));
  }
  REQUIRE(parsed.size() == 3);
  for (const nlohmann::json& line : parsed) {
    CHECK(line.at("event") == "log");
    CHECK(std::regex_match(line.at("time").get<std::string>(),
                           std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")));
  }
  // Valid text survives exactly; invalid bytes become U+FFFD.
  const std::string first = parsed[0].at("message");
  CHECK(first.find("quote \" backslash \\ newline \n tab \t nul ") == 0);
  CHECK(first.find("\xef\xbf\xbd") != std::string::npos);
  CHECK(first.find("end \xc3\xa5") != std::string::npos);
  CHECK(parsed[0].at("level") == "info");
  CHECK(parsed[1].at("level") == "warning");
  CHECK(parsed[1].at("message") == "internal error: disk full");
  CHECK(parsed[2].at("level") == "error");
}

TEST_CASE("an rpc line's members sit beside time, level and event", "[logging]") {
  CapturedLog log;
  spdlog::logger logger = log.Logger(kCallLoggerName);
  logger.info("{}", R"("method":"/trygg.v1.CaseService/CreateCase","status":"OK","duration_ms":1.5)");
  nlohmann::json line = nlohmann::json::parse(log.out.str());
  CHECK(line.at("event") == "rpc");
  CHECK(line.at("method") == "/trygg.v1.CaseService/CreateCase");
  CHECK(line.at("status") == "OK");
  CHECK(line.at("duration_ms") == 1.5);
  CHECK(!line.contains("message"));
}

}  // namespace
}  // namespace trygg::server
