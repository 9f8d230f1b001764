// SPDX-License-Identifier: Apache-2.0

// NodeStore: where the audit Merkle tree keeps the hashes of its complete
// subtrees. MerkleTree (merkle_tree.h) is written against this interface only,
// so the same tree code runs over memory (MemoryNodeStore in
// memory_node_store.h: tests, benchmark, trygg-audit) and over the server's
// database.
//
// What is stored. For a tree of `size` leaves, node (level k, index i) is the
// RFC 9162 hash of the complete, aligned subtree over leaves
// [i * 2^k, (i + 1) * 2^k). It exists exactly when (i + 1) * 2^k <= size.
// Level 0 holds the leaf hashes. Nothing else is stored: hashes of incomplete
// subtrees on the right edge are recomputed from stored nodes when needed.
//
// Append-only. A node, once stored, never changes and is never deleted, and
// `size` only grows. Readers therefore need no snapshot: after reading
// Size() == s, every node that exists at size s can be read later, even while
// appends continue.
//
// Contract for implementations:
//  - Size(): the number of leaves. Errors (I/O, corruption) are returned as a
//    Status; they are never OK with a made-up value.
//  - Get(ids): the hashes of the given nodes, in the same order. Any id that
//    does not exist (see above) is NotFound; a stored value that is not
//    kHashSize bytes is DataLoss. Batched so a database can answer a proof's
//    O(log n) lookups with one query.
//  - Append(old_size, new_size, nodes): atomically stores `nodes` and sets the
//    size to `new_size`, only if the size is still `old_size`; otherwise it
//    changes nothing and returns Aborted (another writer appended first; the
//    caller may re-read and retry). `nodes` are exactly the nodes that exist
//    at new_size and not at old_size, in the order they were completed:
//    within one level indices increase, levels interleave. A missing node, or
//    one that would overwrite an existing node, is InvalidArgument. Either
//    everything is stored or nothing is.
//  - Thread-safety: Size() and Get() may be called concurrently from many
//    threads, also concurrently with Append(). Append() calls are serialised
//    by the old_size check, not by the caller.
//  - Ownership: the store does not keep references to its arguments after a
//    call returns. Whoever creates a store owns it; MerkleTree only borrows.
#ifndef TRYGG_SERVER_AUDIT_NODE_STORE_H_
#define TRYGG_SERVER_AUDIT_NODE_STORE_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "trygg/audit/hash.h"
#include "trygg/audit/tree_frontier.h"  // NodeId, StoredNode, NodeExists

namespace trygg::audit {

class NodeStore {
 public:
  virtual ~NodeStore() = default;

  virtual absl::StatusOr<uint64_t> Size() const = 0;
  virtual absl::StatusOr<std::vector<Hash256>> Get(
      absl::Span<const NodeId> ids) const = 0;
  virtual absl::Status Append(uint64_t old_size, uint64_t new_size,
                              absl::Span<const StoredNode> nodes) = 0;
};

}  // namespace trygg::audit

#endif  // TRYGG_SERVER_AUDIT_NODE_STORE_H_
