// SPDX-License-Identifier: Apache-2.0

// The auditor's memory: the last tree head trygg-audit verified, with the
// server key it was verified under, kept as a small JSON file
// (default ~/.local/state/trygg/audit-head.json) so the next run can prove
// the log only grew since.
//
// Failure modes: a missing file is NOT_FOUND (first run); an unreadable or
// malformed one is FAILED_PRECONDITION naming the file; writes are atomic
// (temporary file, fsync, rename) and the file is mode 0600.
#ifndef TRYGG_TOOLS_TRYGG_AUDIT_STATE_H_
#define TRYGG_TOOLS_TRYGG_AUDIT_STATE_H_

#include <string>

#include "absl/status/statusor.h"
#include "tools/trygg-audit/log_source.h"

namespace trygg::audit_tool {

struct AuditorState {
  std::string server;  // address it was fetched from, for people
  SignPublicKey server_key;
  audit::SignedTreeHead head;
};

std::string DefaultStatePath();
absl::StatusOr<AuditorState> LoadState(const std::string& path);
absl::Status SaveState(const std::string& path, const AuditorState& state);

}  // namespace trygg::audit_tool

#endif  // TRYGG_TOOLS_TRYGG_AUDIT_STATE_H_
