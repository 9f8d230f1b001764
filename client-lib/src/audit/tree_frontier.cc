// SPDX-License-Identifier: Apache-2.0

#include "trygg/audit/tree_frontier.h"

#include <bit>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "trygg/status_macros.h"

namespace trygg::audit {

bool NodeExists(NodeId id, uint64_t size) {
  if (id.level >= 64) return false;
  // (index + 1) << level <= size, written so that it cannot overflow.
  return id.index < (size >> id.level);
}

std::vector<NodeId> TreeFrontier::PeakIds(uint64_t size) {
  std::vector<NodeId> ids;
  ids.reserve(std::popcount(size));
  for (int level = 63; level >= 0; --level) {
    if ((size >> level) & 1) {
      ids.push_back(NodeId{static_cast<uint32_t>(level), (size >> level) - 1});
    }
  }
  return ids;
}

absl::StatusOr<TreeFrontier> TreeFrontier::FromPeaks(uint64_t size,
                                                     std::vector<Hash256> peaks) {
  const size_t want = std::popcount(size);
  if (peaks.size() != want) {
    return absl::InvalidArgumentError(
        absl::StrCat("a tree of size ", size, " has ", want, " peaks, got ",
                     peaks.size()));
  }
  TreeFrontier frontier;
  frontier.size_ = size;
  frontier.peaks_ = std::move(peaks);
  return frontier;
}

void TreeFrontier::Append(const Hash256& leaf_hash,
                          std::vector<StoredNode>* completed) {
  // 2^64 leaves cannot be reached by any real log; reaching it is our bug.
  TRYGG_CHECK(size_ != UINT64_MAX);
  Hash256 hash = leaf_hash;
  uint64_t index = size_;
  uint32_t level = 0;
  if (completed != nullptr) completed->push_back({{level, index}, hash});
  // A set low bit means this node is a right child whose left sibling is the
  // lowest peak; merging repeats as long as carries propagate.
  while (index & 1) {
    hash = HashChildren(peaks_.back(), hash);
    peaks_.pop_back();
    index >>= 1;
    ++level;
    if (completed != nullptr) completed->push_back({{level, index}, hash});
  }
  peaks_.push_back(hash);
  ++size_;
}

Hash256 TreeFrontier::Root() const {
  if (peaks_.empty()) return EmptyTreeRoot();
  Hash256 root = peaks_.back();
  for (size_t i = peaks_.size() - 1; i-- > 0;) {
    root = HashChildren(peaks_[i], root);
  }
  return root;
}

Hash256 RootFromLeafHashes(absl::Span<const Hash256> leaf_hashes) {
  TreeFrontier frontier;
  for (const Hash256& leaf : leaf_hashes) frontier.Append(leaf);
  return frontier.Root();
}

}  // namespace trygg::audit
