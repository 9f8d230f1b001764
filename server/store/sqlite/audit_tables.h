// SPDX-License-Identifier: Apache-2.0

// SqliteAuditTable: the audit log in SQLite (migration 2), implementing the
// domain's AuditTable and the Merkle tree's NodeStore over the connection of
// the transaction it belongs to.
//
//   audit_entries(idx, entry)         one row per leaf, the entry bytes
//   audit_nodes(level, idx, hash)     complete aligned subtrees (node_store.h)
//   audit_tree_heads(seq, ...)        every head the server signed, in order
//
// An Append runs inside the caller's write, so the entry commits exactly when
// the state change it records commits; a failed Append fails that whole write
// even if the caller goes on (SqliteTransaction::audit_failed). The writer's
// group commit runs several writes in one transaction, each all or nothing.
// The size is read from audit_nodes on every append. The tree's right edge
// (its peaks) may come from the writer's `frontier` instead of being read
// again. The copy is right because it is dropped before anything can undo
// or bypass it: SqliteStore drops it after every failed write (before its
// undo) and at every run of a batch, and a NodeStore Append from anyone but
// the writer's own MerkleTree drops it here. As a second line, it is used
// only when it is the frontier of the size just read, and the table refuses
// an append that does not bring exactly the nodes its new size completes.
//
// Ownership: borrows the Connection of one SqliteTransaction; lives no longer.
// Thread-safety: none; used on the transaction's thread only. Concurrent
// appends from several processes are still safe: the NodeStore Append is
// conditional on the size it read (ABORTED otherwise), and SQLite serialises
// writers.
// Failure modes: SQLite errors become Status (connection.h); a stored hash of
// the wrong length, or an entry table out of step with the tree, is DATA_LOSS.
#ifndef TRYGG_SERVER_STORE_SQLITE_AUDIT_TABLES_H_
#define TRYGG_SERVER_STORE_SQLITE_AUDIT_TABLES_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "server/audit/node_store.h"
#include "server/domain/audit_table.h"
#include "server/store/sqlite/connection.h"

namespace trygg::store::sqlite {

class SqliteAuditTable final : public domain::AuditTable, public audit::NodeStore {
 public:
  // `failed`, if given, is set when an append fails: it may have stored part
  // of itself, and the write must then fail whole (SqliteStore::RunWrites).
  // `frontier`, if given, is the writer's copy of the tree's right edge
  // (MerkleTree::AppendEntry), kept from one append to the next.
  explicit SqliteAuditTable(Connection& db, bool* failed = nullptr,
                            std::optional<audit::TreeFrontier>* frontier = nullptr)
      : db_(db), failed_(failed), frontier_(frontier) {}

  // domain::AuditTable
  absl::StatusOr<uint64_t> Append(absl::Span<const uint8_t> entry) override;
  absl::StatusOr<std::vector<audit::IndexedEntry>> Entries(uint64_t start,
                                                                uint64_t limit) override;
  audit::NodeStore& nodes() override { return *this; }
  absl::StatusOr<std::optional<audit::SignedTreeHead>> LatestSignedHead() override;
  absl::Status StoreSignedHead(const audit::SignedTreeHead& head) override;

  // For an offline audit of a database copy (audit_reader.h): every stored
  // level-0 node in index order (a gap or a malformed hash is DATA_LOSS), and
  // every signed head in the order it was stored.
  absl::StatusOr<std::vector<Hash256>> LeafHashes();
  absl::StatusOr<std::vector<audit::SignedTreeHead>> SignedHeads();

  // audit::NodeStore
  absl::StatusOr<uint64_t> Size() const override;
  absl::StatusOr<std::vector<Hash256>> Get(
      absl::Span<const audit::NodeId> ids) const override;
  absl::Status Append(uint64_t old_size, uint64_t new_size,
                      absl::Span<const audit::StoredNode> nodes) override;

 private:
  absl::StatusOr<uint64_t> AppendEntry(absl::Span<const uint8_t> entry);
  absl::Status AppendNodes(uint64_t old_size, uint64_t new_size, absl::Span<const audit::StoredNode> nodes);

  Connection& db_;
  bool* failed_;
  std::optional<audit::TreeFrontier>* frontier_;
};

}  // namespace trygg::store::sqlite

#endif  // TRYGG_SERVER_STORE_SQLITE_AUDIT_TABLES_H_
