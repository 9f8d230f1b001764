// SPDX-License-Identifier: Apache-2.0

// Error-propagation macros shared by libtrygg and tryggd.
//
// Abseil 20220623 (Debian 12) ships absl::Status but neither status macros nor
// absl/log, so these three are defined once, here. absl::Status/StatusOr is the
// one error channel across module boundaries; TRYGG_CHECK is for broken
// invariants of our own code and aborts with the message (never for input from
// outside, which gets a Status).
#ifndef TRYGG_STATUS_MACROS_H_
#define TRYGG_STATUS_MACROS_H_

#include <cstdio>
#include <cstdlib>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define TRYGG_INTERNAL_CONCAT_(a, b) a##b
#define TRYGG_INTERNAL_CONCAT(a, b) TRYGG_INTERNAL_CONCAT_(a, b)

// Returns the status from the enclosing function if `expr` is not OK.
#define TRYGG_RETURN_IF_ERROR(expr)                 \
  do {                                              \
    ::absl::Status trygg_status_ = (expr);          \
    if (!trygg_status_.ok()) return trygg_status_;  \
  } while (false)

// `TRYGG_ASSIGN_OR_RETURN(auto x, F());` assigns the value of a StatusOr or
// returns its status from the enclosing function.
#define TRYGG_ASSIGN_OR_RETURN(lhs, expr) \
  TRYGG_INTERNAL_ASSIGN_OR_RETURN(TRYGG_INTERNAL_CONCAT(trygg_statusor_, __LINE__), lhs, expr)
#define TRYGG_INTERNAL_ASSIGN_OR_RETURN(tmp, lhs, expr) \
  auto tmp = (expr);                                    \
  if (!tmp.ok()) return std::move(tmp).status();        \
  lhs = std::move(tmp).value()

// Aborts with file, line and message when an invariant of our own is broken.
#define TRYGG_CHECK(cond)                                                      \
  do {                                                                         \
    if (!(cond)) {                                                             \
      std::fprintf(stderr, "%s:%d: invariant violated: %s\n", __FILE__,       \
                   __LINE__, #cond);                                           \
      std::abort();                                                            \
    }                                                                          \
  } while (false)

#endif  // TRYGG_STATUS_MACROS_H_
