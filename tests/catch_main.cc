// SPDX-License-Identifier: Apache-2.0

// The main of every Catch2 test executable. Tests find the source tree (test
// vectors) and the build tree (tryggd and the tools) through TRYGG_SOURCE_DIR
// and TRYGG_BUILD_DIR; when they are not set, the directories of the build
// that compiled the test are used.
#define CATCH_CONFIG_RUNNER
#include <cstdlib>

#include <catch2/catch.hpp>

int main(int argc, char* argv[]) {
  setenv("TRYGG_SOURCE_DIR", TRYGG_DEFAULT_SOURCE_DIR, /*overwrite=*/0);
  setenv("TRYGG_BUILD_DIR", TRYGG_DEFAULT_BUILD_DIR, /*overwrite=*/0);
  return Catch::Session().run(argc, argv);
}
