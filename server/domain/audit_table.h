// SPDX-License-Identifier: Apache-2.0

// AuditTable: the audit log's storage as the domain sees it inside one
// Transaction (store.h). Appending an entry here commits or rolls back with
// the state change it records, so the log can neither miss a change nor
// record one that did not happen.
//
// Ownership: obtained from Transaction::audit(); valid only while that
// transaction's function runs. It keeps no state between calls: every call
// reads the tree size from the database inside the transaction, so a
// rolled-back write can never leave a stale size behind.
// Thread-safety: that of its Transaction (one thread).
// Failure modes: a mutation on a read transaction is UNAVAILABLE or INTERNAL
// (from the store); a stored entry table that disagrees with the stored tree
// is DATA_LOSS; an index or size outside the log is INVALID_ARGUMENT.
#ifndef TRYGG_SERVER_DOMAIN_AUDIT_TABLE_H_
#define TRYGG_SERVER_DOMAIN_AUDIT_TABLE_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "trygg/audit/audit_entry.h"
#include "trygg/audit/hash.h"
#include "server/audit/node_store.h"
#include "trygg/audit/tree_head.h"
#include "trygg/bytes.h"

namespace trygg::domain {

class AuditTable {
 public:
  virtual ~AuditTable() = default;

  // Appends encoded entry bytes as the next leaf (entry and tree nodes) and
  // returns its index. If it fails, the store fails the whole write, even if
  // the caller goes on: a half-made append never commits.
  virtual absl::StatusOr<uint64_t> Append(absl::Span<const uint8_t> entry) = 0;

  // Up to `limit` entries from `start`, in index order.
  virtual absl::StatusOr<std::vector<audit::IndexedEntry>> Entries(uint64_t start,
                                                                uint64_t limit) = 0;

  // The Merkle tree's nodes, for MerkleTree (size, roots, proofs).
  virtual audit::NodeStore& nodes() = 0;

  // The most recently stored signed tree head, if any.
  virtual absl::StatusOr<std::optional<audit::SignedTreeHead>> LatestSignedHead() = 0;

  // Records a head the server has signed. Heads are stored in the order
  // they were signed; sizes never decrease.
  virtual absl::Status StoreSignedHead(const audit::SignedTreeHead& head) = 0;
};

}  // namespace trygg::domain

#endif  // TRYGG_SERVER_DOMAIN_AUDIT_TABLE_H_
