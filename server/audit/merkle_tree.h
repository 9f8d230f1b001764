// SPDX-License-Identifier: Apache-2.0

// MerkleTree: the audit log's RFC 9162 Merkle tree over a NodeStore.
//
// Appending a leaf stores the O(log n) subtree hashes it completes; the root
// of any earlier size, inclusion proofs (RFC 9162 section 2.1.3) and
// consistency proofs (section 2.1.4) are then answered with one batched
// NodeStore::Get of O(log n) nodes and at most O(log n) hashes, never by
// rehashing leaves. Proofs are ordered as in the RFC: from the leaf (or the
// smaller tree) upwards, and can be checked with verify.h alone.
//
// Ownership: MerkleTree borrows `store`, which must outlive it. The tree keeps
// no state of its own, so several MerkleTree objects (in one process or in
// several replicas sharing a database) may use the same store.
//
// Thread-safety: as safe as the store; with a store that meets the NodeStore
// contract every method may be called concurrently. Two concurrent appends
// cannot fork the tree: the store accepts only the one that saw the current
// size, and the other gets Aborted and may retry.
//
// Failure modes: a size or index outside the stored tree is InvalidArgument
// or OutOfRange with the numbers in the message (these come from callers such
// as an RPC). Store errors are passed through unchanged.
#ifndef TRYGG_SERVER_AUDIT_MERKLE_TREE_H_
#define TRYGG_SERVER_AUDIT_MERKLE_TREE_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "trygg/audit/hash.h"
#include "server/audit/node_store.h"

namespace trygg::audit {

class MerkleTree {
 public:
  explicit MerkleTree(NodeStore* store) : store_(store) {}

  MerkleTree(const MerkleTree&) = delete;
  MerkleTree& operator=(const MerkleTree&) = delete;

  // Number of leaves currently in the tree.
  absl::StatusOr<uint64_t> Size() const;

  // Appends one entry (hashed with HashLeaf) and returns its leaf index.
  absl::StatusOr<uint64_t> AppendEntry(absl::Span<const uint8_t> entry);

  // Appends already computed leaf hashes, in order, in one store write, and
  // returns the index of the first. An empty batch appends nothing and
  // returns the current size.
  absl::StatusOr<uint64_t> AppendLeafHashes(absl::Span<const Hash256> leaf_hashes);

  // The same two, with the caller's copy of the tree's right edge, so that a
  // run of appends reads the peaks once instead of once each. `frontier` is
  // used only when it is the frontier of the size the store reports now
  // (otherwise the peaks are read as usual); it holds the new size's frontier
  // after a successful append and nothing after a failed one. A caller keeps
  // it only while nothing but these calls appends to the store.
  absl::StatusOr<uint64_t> AppendEntry(absl::Span<const uint8_t> entry,
                                       std::optional<TreeFrontier>* frontier);
  absl::StatusOr<uint64_t> AppendLeafHashes(absl::Span<const Hash256> leaf_hashes,
                                            std::optional<TreeFrontier>* frontier);

  // The leaf hash stored at `leaf_index`.
  absl::StatusOr<Hash256> LeafHash(uint64_t leaf_index) const;

  // The Merkle Tree Hash of the first `tree_size` leaves (0 <= tree_size <=
  // Size()); for 0 the empty tree's root.
  absl::StatusOr<Hash256> Root(uint64_t tree_size) const;

  // RFC 9162 inclusion proof of leaf `leaf_index` in the tree of the first
  // `tree_size` leaves. Requires leaf_index < tree_size <= Size().
  absl::StatusOr<std::vector<Hash256>> InclusionProof(uint64_t leaf_index,
                                                   uint64_t tree_size) const;

  // RFC 9162 consistency proof that the tree of the first `first_size` leaves
  // is a prefix of the tree of the first `second_size` leaves. Requires
  // 0 < first_size <= second_size <= Size(); equal sizes give an empty proof.
  // A proof from size 0 is not defined by the RFC and is InvalidArgument.
  absl::StatusOr<std::vector<Hash256>> ConsistencyProof(
      uint64_t first_size, uint64_t second_size) const;

 private:
  absl::Status CheckSize(uint64_t tree_size) const;

  NodeStore* store_;
};

}  // namespace trygg::audit

#endif  // TRYGG_SERVER_AUDIT_MERKLE_TREE_H_
