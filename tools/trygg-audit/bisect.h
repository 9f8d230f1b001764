// SPDX-License-Identifier: Apache-2.0

// Where a log that fails verification first differs from the log the server
// signed, when the server is the only other party to ask: bisection over
// consistency proofs finds the first entry that differs (the first k entries
// are intact exactly when their recomputed root is consistent with the signed
// root), then inclusion proofs tell an inserted or removed entry from an
// edited one. `trygg-audit verify` puts the finding first in its report.
//
// Ownership: borrows the ServerLog, the entries and the head for the call.
// Thread-safety: none; one call at a time per ServerLog.
// Failure modes: none reported. nullopt when nothing could be located: an
// empty log, every entry consistent with the signed head, or proofs the server
// would not give (a failed proof counts as "differs", so a server that refuses
// only moves the finding earlier, never hides it).
#ifndef TRYGG_TOOLS_TRYGG_AUDIT_BISECT_H_
#define TRYGG_TOOLS_TRYGG_AUDIT_BISECT_H_

#include <optional>
#include <vector>

#include "trygg/audit/log_diagnosis.h"
#include "trygg/audit/tree_head.h"
#include "tools/trygg-audit/log_source.h"

namespace trygg::audit_tool {

// The first of `entries` (as fetched) that the log signed in `head` does not
// hold at that index: kInserted, kRemoved or kEdited, with its index.
std::optional<audit::LogFinding> LocateFirstDifference(ServerLog& log, const std::vector<audit::IndexedEntry>& entries,
                                                       const audit::TreeHead& head);

}  // namespace trygg::audit_tool

#endif  // TRYGG_TOOLS_TRYGG_AUDIT_BISECT_H_
