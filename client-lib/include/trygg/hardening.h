// SPDX-License-Identifier: Apache-2.0

// Process hardening for programs that hold key material.
//
// Purpose: core dumps would write sodium-locked secrets to disk. Tools call
// DisableCoreDumps() first thing in main().
// Thread-safety: call once, before starting threads.
// Failure modes: Internal with the errno text if setrlimit or prctl fails; the
// caller should refuse to continue.
#ifndef TRYGG_HARDENING_H_
#define TRYGG_HARDENING_H_

#include "absl/status/status.h"

namespace trygg {

// setrlimit(RLIMIT_CORE, 0) and prctl(PR_SET_DUMPABLE, 0).
absl::Status DisableCoreDumps();

}  // namespace trygg

#endif  // TRYGG_HARDENING_H_
