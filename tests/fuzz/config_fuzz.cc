// SPDX-License-Identifier: Apache-2.0

// tryggd's TOML configuration file (server/daemon/config.h): an operator's
// typing errors and a hostile file alike must end in a clear error naming
// the file, never a crash, and a file that is accepted must give a config
// that ValidateConfig either accepts or refuses with INVALID_ARGUMENT.
#include <cstdint>
#include <string>

#include "fuzz/fuzz_input.h"
#include "server/daemon/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  trygg::server::ServerConfig config;
  const absl::Status applied = trygg::server::ApplyConfigToml(text, "fuzz.toml", config);
  if (!applied.ok()) {
    TRYGG_FUZZ_CHECK(applied.message().find("fuzz.toml") != std::string::npos);
    return 0;
  }
  const absl::Status valid = trygg::server::ValidateConfig(config);
  TRYGG_FUZZ_CHECK(valid.ok() || valid.code() == absl::StatusCode::kInvalidArgument);
  return 0;
}
