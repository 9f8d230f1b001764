// SPDX-License-Identifier: Apache-2.0

#include "server/store/sqlite/audit_tables.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "server/audit/merkle_tree.h"
#include "trygg/status_macros.h"

namespace trygg::store::sqlite {
namespace {

// A leaf index or level must fit SQLite's signed 64-bit integer.
constexpr uint64_t kMaxIndex = static_cast<uint64_t>(INT64_MAX);

}  // namespace

absl::StatusOr<uint64_t> SqliteAuditTable::Size() const {
  // The largest level-0 index is found through the primary key in O(log n);
  // count(*) would scan every leaf.
  TRYGG_ASSIGN_OR_RETURN(int64_t next,
                         db_.QueryInt("SELECT coalesce(max(idx) + 1, 0) FROM audit_nodes "
                                      "WHERE level = 0"));
  return static_cast<uint64_t>(next);
}

absl::StatusOr<std::vector<Hash256>> SqliteAuditTable::Get(
    absl::Span<const audit::NodeId> ids) const {
  TRYGG_ASSIGN_OR_RETURN(Statement * stmt,
                         db_.Prepare("SELECT hash FROM audit_nodes WHERE level = ?1 AND idx = ?2"));
  std::vector<Hash256> out;
  out.reserve(ids.size());
  for (const audit::NodeId& id : ids) {
    if (id.index > kMaxIndex) {
      return absl::NotFoundError(absl::StrCat("audit node (", id.level, ", ", id.index, ")"));
    }
    stmt->Reset();
    stmt->Bind(1, static_cast<int64_t>(id.level)).Bind(2, static_cast<int64_t>(id.index));
    absl::StatusOr<bool> row = stmt->Step();
    // Rewound at once so no read stays open after the caller's statement.
    std::vector<uint8_t> bytes = row.ok() && *row ? stmt->ColumnBlob(0) : std::vector<uint8_t>();
    stmt->Reset();
    if (!row.ok()) return row.status();
    if (!*row) {
      return absl::NotFoundError(
          absl::StrCat("audit node (", id.level, ", ", id.index, ") is not stored"));
    }
    absl::StatusOr<Hash256> hash = Hash256::FromSpan(bytes);
    if (!hash.ok()) {
      return absl::DataLossError(absl::StrCat("audit node (", id.level, ", ", id.index,
                                              ") holds ", bytes.size(), " bytes, not a hash"));
    }
    out.push_back(*hash);
  }
  return out;
}

absl::Status SqliteAuditTable::Append(uint64_t old_size, uint64_t new_size,
                                      absl::Span<const audit::StoredNode> nodes) {
  // Nodes stored by anyone but the writer's MerkleTree (which took the copy
  // out before it came here and puts the new one back after) leave the
  // writer's copy of the right edge behind.
  if (frontier_ != nullptr) frontier_->reset();
  absl::Status appended = AppendNodes(old_size, new_size, nodes);
  if (!appended.ok() && failed_ != nullptr) *failed_ = true;  // see Append(entry)
  return appended;
}

absl::Status SqliteAuditTable::AppendNodes(uint64_t old_size, uint64_t new_size,
                                           absl::Span<const audit::StoredNode> nodes) {
  TRYGG_ASSIGN_OR_RETURN(uint64_t size, Size());
  if (size != old_size) {
    return absl::AbortedError(
        absl::StrCat("audit tree grew from ", old_size, " to ", size, " meanwhile"));
  }
  if (new_size > kMaxIndex) return absl::InvalidArgumentError("audit tree size overflow");
  if (new_size < old_size) {
    return absl::InvalidArgumentError(absl::StrCat("audit tree cannot shrink from ", old_size, " to ", new_size));
  }
  // Exactly the nodes that exist at new_size and not at old_size: each one
  // new (checked below, and the primary key refuses a repeat) and as many as
  // there are, so none is missing. A tree with a hole would verify nowhere.
  uint64_t expected = 0;
  for (int level = 0; level < 64; ++level) expected += (new_size >> level) - (old_size >> level);
  if (nodes.size() != expected) {
    return absl::InvalidArgumentError(absl::StrCat("audit append from size ", old_size, " to ", new_size, " brings ",
                                                   nodes.size(), " nodes, not ", expected));
  }
  TRYGG_ASSIGN_OR_RETURN(Statement * insert,
                         db_.Prepare("INSERT INTO audit_nodes (level, idx, hash) VALUES (?1, ?2, ?3)"));
  for (const audit::StoredNode& node : nodes) {
    if (audit::NodeExists(node.id, old_size) || !audit::NodeExists(node.id, new_size)) {
      return absl::InvalidArgumentError(absl::StrCat("audit node (", node.id.level, ", ",
                                                     node.id.index, ") is not new at size ",
                                                     new_size));
    }
    insert->Reset();
    insert->Bind(1, static_cast<int64_t>(node.id.level))
        .Bind(2, static_cast<int64_t>(node.id.index))
        .BindBlob(3, node.hash.array());
    TRYGG_RETURN_IF_ERROR(insert->Run());
  }
  insert->Reset();
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> SqliteAuditTable::Append(absl::Span<const uint8_t> entry) {
  // No savepoint of its own (it would copy every page the append changes):
  // a failed append may have stored nodes without their entry, so the whole
  // write fails, even if its caller ignored this failure and went on.
  absl::StatusOr<uint64_t> index = AppendEntry(entry);
  if (!index.ok() && failed_ != nullptr) *failed_ = true;
  return index;
}

absl::StatusOr<uint64_t> SqliteAuditTable::AppendEntry(absl::Span<const uint8_t> entry) {
  TRYGG_ASSIGN_OR_RETURN(int64_t entries,
                         db_.QueryInt("SELECT coalesce(max(idx) + 1, 0) FROM audit_entries"));
  audit::MerkleTree tree(this);
  TRYGG_ASSIGN_OR_RETURN(uint64_t index, tree.AppendEntry(entry, frontier_));
  if (static_cast<uint64_t>(entries) != index) {
    return absl::DataLossError(absl::StrCat("audit_entries ends at ", entries,
                                            " but the audit tree has ", index, " leaves"));
  }
  TRYGG_ASSIGN_OR_RETURN(Statement * insert,
                         db_.Prepare("INSERT INTO audit_entries (idx, entry) VALUES (?1, ?2)"));
  TRYGG_RETURN_IF_ERROR(insert->Bind(1, static_cast<int64_t>(index))
                            .BindBlob(2, std::span<const uint8_t>(entry.data(), entry.size()))
                            .Run());
  return index;
}

absl::StatusOr<std::vector<audit::IndexedEntry>> SqliteAuditTable::Entries(uint64_t start,
                                                                                uint64_t limit) {
  std::vector<audit::IndexedEntry> out;
  if (start > kMaxIndex || limit == 0) return out;
  TRYGG_ASSIGN_OR_RETURN(Statement * stmt,
                         db_.Prepare("SELECT idx, entry FROM audit_entries WHERE idx >= ?1 "
                                     "ORDER BY idx LIMIT ?2"));
  stmt->Bind(1, static_cast<int64_t>(start))
      .Bind(2, static_cast<int64_t>(std::min<uint64_t>(limit, kMaxIndex)));
  for (;;) {
    TRYGG_ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) break;
    out.push_back({static_cast<uint64_t>(stmt->ColumnInt(0)), stmt->ColumnBlob(1)});
  }
  stmt->Reset();
  return out;
}

absl::StatusOr<std::optional<audit::SignedTreeHead>> SqliteAuditTable::LatestSignedHead() {
  TRYGG_ASSIGN_OR_RETURN(Statement * stmt,
                         db_.Prepare("SELECT tree_size, timestamp_ms, root_hash, signature "
                                     "FROM audit_tree_heads ORDER BY seq DESC LIMIT 1"));
  TRYGG_ASSIGN_OR_RETURN(bool row, stmt->Step());
  if (!row) {
    stmt->Reset();
    return std::optional<audit::SignedTreeHead>();
  }
  audit::SignedTreeHead head;
  head.head.tree_size = static_cast<uint64_t>(stmt->ColumnInt(0));
  head.head.timestamp_ms = stmt->ColumnInt(1);
  absl::StatusOr<Hash256> root = Hash256::FromSpan(stmt->ColumnBlob(2));
  absl::StatusOr<Signature> signature = Signature::FromSpan(stmt->ColumnBlob(3));
  stmt->Reset();
  if (!root.ok() || !signature.ok()) {
    return absl::DataLossError("the latest stored signed tree head is malformed");
  }
  head.head.root_hash = *root;
  head.signature = *signature;
  return std::optional<audit::SignedTreeHead>(head);
}

absl::StatusOr<std::vector<Hash256>> SqliteAuditTable::LeafHashes() {
  TRYGG_ASSIGN_OR_RETURN(Statement * stmt,
                         db_.Prepare("SELECT idx, hash FROM audit_nodes WHERE level = 0 ORDER BY idx"));
  std::vector<Hash256> out;
  for (;;) {
    TRYGG_ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) break;
    if (stmt->ColumnInt(0) != static_cast<int64_t>(out.size())) {
      stmt->Reset();
      return absl::DataLossError(absl::StrCat("the stored tree has no leaf ", out.size()));
    }
    absl::StatusOr<Hash256> hash = Hash256::FromSpan(stmt->ColumnBlob(1));
    if (!hash.ok()) {
      stmt->Reset();
      return absl::DataLossError(absl::StrCat("stored leaf ", out.size(), " is malformed"));
    }
    out.push_back(*hash);
  }
  stmt->Reset();
  return out;
}

absl::StatusOr<std::vector<audit::SignedTreeHead>> SqliteAuditTable::SignedHeads() {
  TRYGG_ASSIGN_OR_RETURN(Statement * stmt,
                         db_.Prepare("SELECT tree_size, timestamp_ms, root_hash, signature "
                                     "FROM audit_tree_heads ORDER BY seq"));
  std::vector<audit::SignedTreeHead> out;
  for (;;) {
    TRYGG_ASSIGN_OR_RETURN(bool row, stmt->Step());
    if (!row) break;
    audit::SignedTreeHead head;
    head.head.tree_size = static_cast<uint64_t>(stmt->ColumnInt(0));
    head.head.timestamp_ms = stmt->ColumnInt(1);
    absl::StatusOr<Hash256> root = Hash256::FromSpan(stmt->ColumnBlob(2));
    absl::StatusOr<Signature> signature = Signature::FromSpan(stmt->ColumnBlob(3));
    if (!root.ok() || !signature.ok()) {
      stmt->Reset();
      return absl::DataLossError("a stored tree head is malformed");
    }
    head.head.root_hash = *root;
    head.signature = *signature;
    out.push_back(head);
  }
  stmt->Reset();
  return out;
}

absl::Status SqliteAuditTable::StoreSignedHead(const audit::SignedTreeHead& head) {
  if (head.head.tree_size > kMaxIndex) return absl::InvalidArgumentError("tree size overflow");
  TRYGG_ASSIGN_OR_RETURN(Statement * insert,
                         db_.Prepare("INSERT INTO audit_tree_heads (tree_size, timestamp_ms, "
                                     "root_hash, signature) VALUES (?1, ?2, ?3, ?4)"));
  return insert->Bind(1, static_cast<int64_t>(head.head.tree_size))
      .Bind(2, head.head.timestamp_ms)
      .BindBlob(3, head.head.root_hash.array())
      .BindBlob(4, head.signature.span())
      .Run();
}

}  // namespace trygg::store::sqlite
