// SPDX-License-Identifier: Apache-2.0

// Waiting on a condition with a deadline, for tests: never sleep for a fixed
// time and hope.
//
// Use a condition variable (or a first message, such as a stream's initial
// metadata) when this process can be told that the condition holds. WaitFor is
// for conditions nothing signals, such as a state inside another process read
// over RPC: it checks `condition` every `interval` until it holds or `timeout`
// has passed, and says which. Callers REQUIRE/CHECK the result, so a condition
// that never holds fails the test at the deadline instead of hanging it.
//
// Thread-safety: `condition` runs on the calling thread only.
#ifndef TRYGG_TESTS_TESTING_WAIT_FOR_H_
#define TRYGG_TESTS_TESTING_WAIT_FOR_H_

#include <chrono>
#include <thread>

namespace trygg::testing {

template <typename Condition>
bool WaitFor(Condition&& condition, std::chrono::milliseconds timeout,
             std::chrono::milliseconds interval = std::chrono::milliseconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(interval);  // between checks of the condition, bounded by the deadline
  }
}

}  // namespace trygg::testing

#endif  // TRYGG_TESTS_TESTING_WAIT_FOR_H_
