// SPDX-License-Identifier: Apache-2.0

#include "tools/trygg-audit/bisect.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "trygg/audit/hash.h"
#include "server/audit/memory_node_store.h"
#include "server/audit/merkle_tree.h"
#include "trygg/audit/verify.h"

namespace trygg::audit_tool {

std::optional<audit::LogFinding> LocateFirstDifference(ServerLog& log, const std::vector<audit::IndexedEntry>& entries,
                                                       const audit::TreeHead& head) {
  const uint64_t n = head.tree_size;
  if (n == 0 || entries.empty()) return std::nullopt;
  std::vector<Hash256> leaves;
  for (const auto& e : entries) leaves.push_back(audit::HashLeaf(e.bytes));
  audit::MemoryNodeStore store;
  audit::MerkleTree tree(&store);
  if (!tree.AppendLeafHashes(leaves).ok()) return std::nullopt;
  auto prefix_intact = [&](uint64_t k) {
    if (k > leaves.size()) return false;
    absl::StatusOr<Hash256> root = tree.Root(k);
    absl::StatusOr<std::vector<Hash256>> proof = log.ConsistencyProof(k, n);
    return root.ok() && proof.ok() && audit::VerifyConsistency(k, n, *root, head.root_hash, *proof).ok();
  };
  uint64_t good = 0;
  uint64_t bad = std::min<uint64_t>(n, leaves.size()) + 1;
  while (bad - good > 1) {
    const uint64_t mid = good + (bad - good) / 2;
    (prefix_intact(mid) ? good : bad) = mid;
  }
  if (good >= std::min<uint64_t>(n, leaves.size())) return std::nullopt;
  const uint64_t i = good;
  auto included = [&](uint64_t index, const Hash256& leaf) {
    if (index >= n) return false;
    absl::StatusOr<std::vector<Hash256>> proof = log.InclusionProof(index, n);
    return proof.ok() && audit::VerifyInclusion(leaf, index, n, *proof, head.root_hash).ok();
  };
  audit::LogFinding finding{audit::LogFinding::Kind::kEdited, i, 0, 1, ""};
  if (i + 1 < leaves.size() && included(i, leaves[i + 1])) {
    finding.kind = audit::LogFinding::Kind::kInserted;
    finding.message = absl::StrCat("an entry was inserted at index ", i, " that the signed log does not contain");
  } else if (included(i + 1, leaves[i])) {
    finding.kind = audit::LogFinding::Kind::kRemoved;
    finding.message = absl::StrCat("entry ", i, " was removed from the log");
  } else {
    finding.message = absl::StrCat("entry ", i, " differs from the signed log (edited, or moved from elsewhere)");
  }
  return finding;
}

}  // namespace trygg::audit_tool
