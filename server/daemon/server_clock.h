// SPDX-License-Identifier: Apache-2.0

// The clock tryggd runs on.
//
// Purpose: every rule takes its time from one injected Clock (trygg/random.h).
// Production builds run on the system clock. Test builds only (TRYGG_TEST_HOOKS,
// cmake/TryggTestHooks.cmake) honour TRYGG_TEST_CLOCK_FILE: the path of a file
// holding a decimal number of milliseconds (possibly negative) added to the
// system clock, read again at every reading. An integration test moves the
// server's time forward by rewriting the file (atomically: write a temporary
// file, then rename it over), so it can pass a session's lifetime or a
// referral's answer-by time without sleeping. A missing or empty file is an
// offset of 0; a file that does not hold a number is a broken test, and the
// server aborts with a message. A Release or MinSizeRel binary does not contain
// the hook (scripts/check-test-hooks, tests/build).
//
// Ownership: the caller owns the returned clock.
// Thread-safety: the returned clock may be read from any thread.
#ifndef TRYGG_SERVER_DAEMON_SERVER_CLOCK_H_
#define TRYGG_SERVER_DAEMON_SERVER_CLOCK_H_

#include <memory>

#include "trygg/random.h"

namespace trygg::server {

// The system clock, or in a test build with TRYGG_TEST_CLOCK_FILE set, the
// system clock plus the file's offset.
std::unique_ptr<Clock> MakeServerClock();

}  // namespace trygg::server

#endif  // TRYGG_SERVER_DAEMON_SERVER_CLOCK_H_
