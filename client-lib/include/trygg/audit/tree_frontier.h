// SPDX-License-Identifier: Apache-2.0

// TreeFrontier: the right edge of an RFC 9162 Merkle tree, i.e. the hashes of
// its maximal complete subtrees (one per set bit of the size, at most 64).
// It is enough to append more leaves and to compute the root, so it turns a
// stream of leaf hashes into a root with O(1) memory. Used by MerkleTree to
// compute the nodes an append completes, and by auditors to recompute a whole
// log's root from scratch.
//
// A value type; not thread-safe (copy it per thread). No failure modes other
// than FromPeaks rejecting a peak list of the wrong length.
#ifndef TRYGG_AUDIT_TREE_FRONTIER_H_
#define TRYGG_AUDIT_TREE_FRONTIER_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "trygg/audit/hash.h"

namespace trygg::audit {

// Names one complete, aligned subtree: leaves [index << level,
// (index + 1) << level). level <= 63.
struct NodeId {
  uint32_t level = 0;
  uint64_t index = 0;

  friend bool operator==(const NodeId&, const NodeId&) = default;
};

struct StoredNode {
  NodeId id;
  Hash256 hash;
};

// True when node `id` exists in a tree of `size` leaves.
bool NodeExists(NodeId id, uint64_t size);

class TreeFrontier {
 public:
  // The empty tree.
  TreeFrontier() = default;

  // The ids of the peaks of a tree of `size` leaves, highest level (leftmost)
  // first: node (k, (size >> k) - 1) for every set bit k of size.
  static std::vector<NodeId> PeakIds(uint64_t size);

  // Restores the frontier of a tree of `size` leaves from the hashes of
  // PeakIds(size), in that order. InvalidArgument if the count is wrong.
  static absl::StatusOr<TreeFrontier> FromPeaks(uint64_t size,
                                                std::vector<Hash256> peaks);

  // Appends one leaf. When `completed` is not null, appends to it every node
  // that this leaf completes: the leaf itself at level 0, then each parent
  // that now has both children, lowest level first.
  void Append(const Hash256& leaf_hash, std::vector<StoredNode>* completed);
  void Append(const Hash256& leaf_hash) { Append(leaf_hash, nullptr); }

  uint64_t size() const { return size_; }

  // The RFC 9162 Merkle Tree Hash of the leaves appended so far; the empty
  // tree's root when there are none. Costs popcount(size) - 1 hashes.
  Hash256 Root() const;

 private:
  uint64_t size_ = 0;
  // Highest level first, so the back is the lowest-level peak, the one the
  // next append may merge with.
  std::vector<Hash256> peaks_;
};

// Root of the tree whose leaf hashes are `leaf_hashes`, in order.
Hash256 RootFromLeafHashes(absl::Span<const Hash256> leaf_hashes);

}  // namespace trygg::audit

#endif  // TRYGG_AUDIT_TREE_FRONTIER_H_
