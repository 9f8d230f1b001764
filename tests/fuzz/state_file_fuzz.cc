// SPDX-License-Identifier: Apache-2.0

// The client state file (docs/protocol.md section 14): the organisation log
// heads, case and history heads and the audit-trail witness JSON that a device
// keeps beside its key store. Anyone with the disk may have rewritten it, and
// a rewritten file must never crash the client or pass as a clean state: it
// opens, or fails with DATA_LOSS ("is damaged") or FAILED_PRECONDITION (an
// older format), and nothing else.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>

#include "fuzz/fuzz_input.h"
#include "trygg/client.h"

namespace {

const std::string& StatePath() {
  static const std::string* path = [] {
    char name[] = "/tmp/trygg-fuzz-state.XXXXXX";
    const int fd = mkstemp(name);
    if (fd < 0) std::abort();
    close(fd);
    return new std::string(name);
  }();
  return *path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  {
    std::ofstream out(StatePath(), std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  trygg::ClientOptions options;
  options.address = "127.0.0.1:9";  // never dialled: Connect only opens the state
  options.state_file = StatePath();
  absl::StatusOr<std::unique_ptr<trygg::Client>> client = trygg::Client::Connect(options);
  if (!client.ok()) {
    const absl::StatusCode code = client.status().code();
    TRYGG_FUZZ_CHECK(code == absl::StatusCode::kDataLoss || code == absl::StatusCode::kFailedPrecondition);
  }
  return 0;
}
