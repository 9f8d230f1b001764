// SPDX-License-Identifier: Apache-2.0

// Labels people read: what text another party may put in front of an admin,
// and how to print text that came from someone else on a terminal.
//
// Purpose: an enrolment request's label ("Anna's laptop") is written by the
// device asking to join and shown to the admin who approves it. Raw, it could
// carry terminal escapes (rewrite what the admin's screen shows, or the
// safety number beside it), invalid UTF-8, or Unicode bidi overrides that make
// "laptop" read as something else. CheckLabel is the one rule, applied where
// a request is made and wherever one is parsed (client and server share the
// parser); EscapeForTerminal is the second line, for whatever a tool prints.
// Ownership: pure functions over borrowed views.
// Thread-safety: thread-safe.
// Failure modes: CheckLabel returns kInvalidArgument naming the first
// offending character's position; EscapeForTerminal never fails.
#ifndef TRYGG_LABEL_H_
#define TRYGG_LABEL_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace trygg {

// OK when `text` is UTF-8 in shortest form (no surrogates, nothing past
// U+10FFFF), has at most `max_chars` code points, and holds no control
// character (C0 U+0000..U+001F, DEL U+007F, C1 U+0080..U+009F) and no bidi
// override or isolate (U+202A..U+202E, U+2066..U+2069). Else kInvalidArgument,
// "<what>: <why>".
absl::Status CheckLabel(std::string_view text, size_t max_chars, std::string_view what);

// `text` made safe to print: a byte that is not part of valid UTF-8 becomes
// \xNN, a character CheckLabel refuses becomes \u{NNNN}, and a backslash
// becomes \\ (so an escape cannot be forged); everything else is unchanged.
std::string EscapeForTerminal(std::string_view text);

}  // namespace trygg

#endif  // TRYGG_LABEL_H_
