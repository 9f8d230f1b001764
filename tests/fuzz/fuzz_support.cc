// SPDX-License-Identifier: Apache-2.0

#include <cstdio>
#include <cstdlib>

#include "fuzz/fuzz_input.h"

namespace trygg::fuzz {

void Fail(const char* what) {
  std::fprintf(stderr, "fuzz check failed: %s\n", what);
  std::abort();
}

}  // namespace trygg::fuzz
