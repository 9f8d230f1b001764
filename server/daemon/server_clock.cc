// SPDX-License-Identifier: Apache-2.0

#include "server/daemon/server_clock.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include <spdlog/spdlog.h>

namespace trygg::server {
namespace {

#if defined(TRYGG_TEST_HOOKS)
// Test builds only: the system clock moved by the offset in a file, so that
// tests move the server's time instead of sleeping through it.
class OffsetFileClock final : public Clock {
 public:
  explicit OffsetFileClock(std::string path) : path_(std::move(path)) {}

  int64_t NowUnixMillis() override { return system_.NowUnixMillis() + Offset(); }

 private:
  int64_t Offset() const {
    std::ifstream in(path_);
    if (!in) return 0;  // not written yet
    std::stringstream text;
    text << in.rdbuf();
    const std::string value = text.str();
    if (value.find_first_not_of(" \t\r\n") == std::string::npos) return 0;
    char* end = nullptr;
    const long long offset = std::strtoll(value.c_str(), &end, 10);
    if (end == value.c_str() || std::string_view(end).find_first_not_of(" \t\r\n") != std::string_view::npos) {
      spdlog::critical("TRYGG_TEST_CLOCK_FILE {} does not hold a number of milliseconds", path_);
      std::abort();
    }
    return offset;
  }

  const std::string path_;
  SystemClock system_;
};
#endif

}  // namespace

std::unique_ptr<Clock> MakeServerClock() {
#if defined(TRYGG_TEST_HOOKS)
  if (const char* path = std::getenv("TRYGG_TEST_CLOCK_FILE"); path != nullptr && *path != '\0') {
    spdlog::warn("TRYGG_TEST_CLOCK_FILE={}: this server's clock is moved by a test (test builds only)", path);
    return std::make_unique<OffsetFileClock>(path);
  }
#endif
  return std::make_unique<SystemClock>();
}

}  // namespace trygg::server
