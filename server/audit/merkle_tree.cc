// SPDX-License-Identifier: Apache-2.0

#include "server/audit/merkle_tree.h"

#include <algorithm>
#include <bit>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "trygg/audit/tree_frontier.h"
#include "trygg/status_macros.h"

namespace trygg::audit {
namespace {

// Largest power of two strictly less than n (n >= 2): the RFC's split point k.
uint64_t SplitPoint(uint64_t n) { return std::bit_floor(n - 1); }

// The subtree hashes a proof needs, collected first and read from the store
// in one Get so that a database answers a proof with one query.
//
// Every range the RFC recursion produces, [begin, end), starts at a multiple
// of a power of two that is at least its length. Such a range is the
// concatenation of complete aligned subtrees, one per set bit of its length,
// largest first, and its Merkle Tree Hash is their right-to-left fold. A
// complete range is one node; only ranges on the right edge of the tree need
// more than one.
class ProofPlan {
 public:
  void AddRange(uint64_t begin, uint64_t end) {
    const size_t first = ids_.size();
    uint64_t position = begin;
    for (int level = 63; level >= 0; --level) {
      const uint64_t width = uint64_t{1} << level;
      if ((end - begin) & width) {
        ids_.push_back(NodeId{static_cast<uint32_t>(level), position >> level});
        position += width;
      }
    }
    ranges_.emplace_back(first, ids_.size());
  }

  // Hashes of the ranges in the order they were added, reversed when
  // `reverse`: the recursion walks top-down, proofs are listed bottom-up.
  absl::StatusOr<std::vector<Hash256>> Resolve(const NodeStore& store,
                                            bool reverse) const {
    std::vector<Hash256> nodes;
    if (!ids_.empty()) {
      TRYGG_ASSIGN_OR_RETURN(nodes, store.Get(ids_));
    }
    if (nodes.size() != ids_.size()) {
      return absl::InternalError(absl::StrCat("node store returned ",
                                              nodes.size(), " hashes for ",
                                              ids_.size(), " ids"));
    }
    std::vector<Hash256> out;
    out.reserve(ranges_.size());
    for (const auto& [first, last] : ranges_) {
      Hash256 hash = nodes[last - 1];
      for (size_t i = last - 1; i-- > first;) hash = HashChildren(nodes[i], hash);
      out.push_back(hash);
    }
    if (reverse) std::reverse(out.begin(), out.end());
    return out;
  }

 private:
  std::vector<NodeId> ids_;
  std::vector<std::pair<size_t, size_t>> ranges_;
};

}  // namespace

absl::StatusOr<uint64_t> MerkleTree::Size() const { return store_->Size(); }

absl::Status MerkleTree::CheckSize(uint64_t tree_size) const {
  TRYGG_ASSIGN_OR_RETURN(const uint64_t size, store_->Size());
  if (tree_size > size) {
    return absl::OutOfRangeError(absl::StrCat(
        "tree size ", tree_size, " is larger than the log's ", size));
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> MerkleTree::AppendEntry(
    absl::Span<const uint8_t> entry) {
  return AppendEntry(entry, nullptr);
}

absl::StatusOr<uint64_t> MerkleTree::AppendEntry(
    absl::Span<const uint8_t> entry, std::optional<TreeFrontier>* frontier) {
  const Hash256 leaf = HashLeaf(entry);
  return AppendLeafHashes(absl::MakeConstSpan(&leaf, 1), frontier);
}

absl::StatusOr<uint64_t> MerkleTree::AppendLeafHashes(
    absl::Span<const Hash256> leaf_hashes) {
  return AppendLeafHashes(leaf_hashes, nullptr);
}

absl::StatusOr<uint64_t> MerkleTree::AppendLeafHashes(
    absl::Span<const Hash256> leaf_hashes, std::optional<TreeFrontier>* known) {
  // Taken out at once: whatever fails below leaves the caller no frontier.
  std::optional<TreeFrontier> given;
  if (known != nullptr) given.swap(*known);
  TRYGG_ASSIGN_OR_RETURN(const uint64_t old_size, store_->Size());
  if (leaf_hashes.empty()) return old_size;
  if (leaf_hashes.size() > UINT64_MAX - old_size) {
    return absl::InvalidArgumentError("append would overflow the tree size");
  }
  TreeFrontier frontier;
  if (given.has_value() && given->size() == old_size) {
    frontier = std::move(*given);
  } else {
    // The peaks of the current tree are exactly the left siblings the new
    // leaves can merge with, so popcount(size) lookups suffice per batch.
    std::vector<Hash256> peaks;
    const std::vector<NodeId> peak_ids = TreeFrontier::PeakIds(old_size);
    if (!peak_ids.empty()) {
      TRYGG_ASSIGN_OR_RETURN(peaks, store_->Get(peak_ids));
    }
    TRYGG_ASSIGN_OR_RETURN(frontier, TreeFrontier::FromPeaks(old_size, std::move(peaks)));
  }
  std::vector<StoredNode> completed;
  // Each leaf completes itself plus, amortised, one parent; the carry out of
  // the existing peaks adds at most one node per level.
  completed.reserve(2 * leaf_hashes.size() + std::bit_width(old_size));
  for (const Hash256& leaf : leaf_hashes) frontier.Append(leaf, &completed);
  TRYGG_RETURN_IF_ERROR(store_->Append(old_size, frontier.size(), completed));
  if (known != nullptr) *known = std::move(frontier);
  return old_size;
}

absl::StatusOr<Hash256> MerkleTree::LeafHash(uint64_t leaf_index) const {
  TRYGG_ASSIGN_OR_RETURN(const uint64_t size, store_->Size());
  if (leaf_index >= size) {
    return absl::OutOfRangeError(absl::StrCat(
        "leaf index ", leaf_index, " is not in a log of size ", size));
  }
  const NodeId id{0, leaf_index};
  TRYGG_ASSIGN_OR_RETURN(std::vector<Hash256> hashes,
                         store_->Get(absl::MakeConstSpan(&id, 1)));
  if (hashes.size() != 1) {
    return absl::InternalError("node store returned the wrong number of hashes");
  }
  return hashes[0];
}

absl::StatusOr<Hash256> MerkleTree::Root(uint64_t tree_size) const {
  TRYGG_RETURN_IF_ERROR(CheckSize(tree_size));
  if (tree_size == 0) return EmptyTreeRoot();
  ProofPlan plan;
  plan.AddRange(0, tree_size);
  TRYGG_ASSIGN_OR_RETURN(std::vector<Hash256> hashes,
                         plan.Resolve(*store_, /*reverse=*/false));
  return hashes[0];
}

// RFC 9162 2.1.3.1, PATH(m, D[n]), unrolled: each step halves the range that
// holds leaf m and records the other half as the sibling.
absl::StatusOr<std::vector<Hash256>> MerkleTree::InclusionProof(
    uint64_t leaf_index, uint64_t tree_size) const {
  if (leaf_index >= tree_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("leaf index ", leaf_index,
                     " is not in a tree of size ", tree_size));
  }
  TRYGG_RETURN_IF_ERROR(CheckSize(tree_size));
  ProofPlan plan;
  uint64_t begin = 0;
  uint64_t end = tree_size;
  while (end - begin > 1) {
    const uint64_t mid = begin + SplitPoint(end - begin);
    if (leaf_index < mid) {
      plan.AddRange(mid, end);
      end = mid;
    } else {
      plan.AddRange(begin, mid);
      begin = mid;
    }
  }
  return plan.Resolve(*store_, /*reverse=*/true);
}

// RFC 9162 2.1.4.1, SUBPROOF(m, D[n], b), unrolled the same way; `whole`
// is the RFC's b: true while the current range is still a prefix of the old
// tree's own root, whose hash the verifier already has.
absl::StatusOr<std::vector<Hash256>> MerkleTree::ConsistencyProof(
    uint64_t first_size, uint64_t second_size) const {
  if (first_size == 0) {
    return absl::InvalidArgumentError(
        "a consistency proof from an empty tree is not defined (RFC 9162 "
        "2.1.4); every tree extends the empty tree");
  }
  if (first_size > second_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("first tree size ", first_size,
                     " is larger than second tree size ", second_size));
  }
  TRYGG_RETURN_IF_ERROR(CheckSize(second_size));
  ProofPlan plan;
  uint64_t begin = 0;
  uint64_t end = second_size;
  bool whole = true;
  while (true) {
    if (first_size == end) {
      if (!whole) plan.AddRange(begin, end);
      break;
    }
    const uint64_t mid = begin + SplitPoint(end - begin);
    if (first_size <= mid) {
      plan.AddRange(mid, end);
      end = mid;
    } else {
      plan.AddRange(begin, mid);
      begin = mid;
      whole = false;
    }
  }
  return plan.Resolve(*store_, /*reverse=*/true);
}

}  // namespace trygg::audit
