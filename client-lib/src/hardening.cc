// SPDX-License-Identifier: Apache-2.0

#include "trygg/hardening.h"

#include <sys/prctl.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace trygg {

absl::Status DisableCoreDumps() {
  const struct rlimit no_core = {0, 0};
  if (setrlimit(RLIMIT_CORE, &no_core) != 0) {
    return absl::InternalError(std::string("setrlimit(RLIMIT_CORE, 0): ") +
                               std::strerror(errno));
  }
  // Also blocks ptrace attach by other processes of the same user.
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    return absl::InternalError(std::string("prctl(PR_SET_DUMPABLE, 0): ") +
                               std::strerror(errno));
  }
  return absl::OkStatus();
}

}  // namespace trygg
