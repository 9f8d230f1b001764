// SPDX-License-Identifier: Apache-2.0

#include "trygg/hardening.h"

#include <sys/prctl.h>
#include <sys/resource.h>

#include <catch2/catch.hpp>

namespace trygg {
namespace {

TEST_CASE("DisableCoreDumps turns off core files and dumpability", "[hardening]") {
  REQUIRE(DisableCoreDumps().ok());
  struct rlimit limit;
  REQUIRE(getrlimit(RLIMIT_CORE, &limit) == 0);
  REQUIRE(limit.rlim_cur == 0);
  REQUIRE(limit.rlim_max == 0);
  REQUIRE(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0);
  REQUIRE(DisableCoreDumps().ok());  // idempotent
}

}  // namespace
}  // namespace trygg
