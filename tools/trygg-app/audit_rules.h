// SPDX-License-Identifier: Apache-2.0

// How trygg-app judges a failed check of the server's audit log, and how it
// makes an error's words fit to show: kept apart from the vault's threads so
// that the rules can be tested on their own (trygg_app_unit_test).
#ifndef TRYGG_TOOLS_TRYGG_APP_AUDIT_RULES_H_
#define TRYGG_TOOLS_TRYGG_APP_AUDIT_RULES_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace trygg::app {

// A failure that passes by itself: the server away, busy or slow, or the
// session ended (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED,
// UNAUTHENTICATED, ABORTED, CANCELLED).
bool PassingFailure(absl::StatusCode code);

// Whether a failed check is an alarm the overview keeps until a check
// passes: a log that disagrees with what the device saw or did (DATA_LOSS),
// always; and once the device has verified a head, anything but a passing
// failure, since refusing to be checked is the cheapest way for a server to
// hide a rollback. (A failure on this computer, such as a state file it
// cannot save, is an alarm too: the message says which it is.)
bool AlarmingFailure(const absl::Status& failed, bool has_verified_head);

// Words that may be a server's, made fit for the log and the page (which
// escapes them as well): one line of at most `max_bytes`, cut at a
// character boundary, with every control character (C0, DEL, C1), line and
// paragraph separator and every character that reorders text (U+061C,
// U+200E, U+200F, U+202A to U+202E, U+2066 to U+2069) turned into a space,
// and every byte that is not part of well-formed UTF-8 into '?'. "..." marks a
// cut.
std::string PrintableText(absl::string_view text, size_t max_bytes = 300);

}  // namespace trygg::app

#endif  // TRYGG_TOOLS_TRYGG_APP_AUDIT_RULES_H_
