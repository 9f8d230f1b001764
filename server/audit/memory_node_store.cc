// SPDX-License-Identifier: Apache-2.0

#include "server/audit/memory_node_store.h"

#include <array>

#include "absl/strings/str_cat.h"

namespace trygg::audit {

void MemoryNodeStore::Reserve(uint64_t leaves) {
  absl::MutexLock lock(&mu_);
  for (uint32_t level = 0; level < 64 && (leaves >> level) > 0; ++level) {
    if (levels_.size() <= level) levels_.resize(level + 1);
    levels_[level].reserve(leaves >> level);
  }
}

absl::StatusOr<uint64_t> MemoryNodeStore::Size() const {
  absl::ReaderMutexLock lock(&mu_);
  return size_;
}

absl::StatusOr<std::vector<Hash256>> MemoryNodeStore::Get(
    absl::Span<const NodeId> ids) const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<Hash256> out;
  out.reserve(ids.size());
  for (const NodeId& id : ids) {
    if (!NodeExists(id, size_)) {
      return absl::NotFoundError(absl::StrCat("node (level ", id.level,
                                              ", index ", id.index,
                                              ") does not exist at size ",
                                              size_));
    }
    out.push_back(levels_[id.level][id.index]);
  }
  return out;
}

absl::Status MemoryNodeStore::Append(uint64_t old_size, uint64_t new_size,
                                     absl::Span<const StoredNode> nodes) {
  absl::MutexLock lock(&mu_);
  if (old_size != size_) {
    return absl::AbortedError(absl::StrCat("append expected size ", old_size,
                                           " but the store has ", size_));
  }
  if (new_size < old_size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "append would shrink the tree from ", old_size, " to ", new_size));
  }
  // Validate everything before touching the vectors so a bad batch leaves the
  // store unchanged, as the contract promises.
  std::array<uint64_t, 64> next{};
  for (uint32_t level = 0; level < levels_.size(); ++level) {
    next[level] = levels_[level].size();
  }
  for (const StoredNode& node : nodes) {
    const NodeId& id = node.id;
    if (!NodeExists(id, new_size) || NodeExists(id, old_size)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "node (level ", id.level, ", index ", id.index,
          ") is not new between sizes ", old_size, " and ", new_size));
    }
    if (id.index != next[id.level]) {
      return absl::InvalidArgumentError(absl::StrCat(
          "node (level ", id.level, ", index ", id.index,
          ") is out of order; expected index ", next[id.level]));
    }
    ++next[id.level];
  }
  for (uint32_t level = 0; level < 64; ++level) {
    if (next[level] != (new_size >> level)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "append to size ", new_size, " is missing nodes at level ", level));
    }
  }
  for (const StoredNode& node : nodes) {
    if (levels_.size() <= node.id.level) levels_.resize(node.id.level + 1);
    levels_[node.id.level].push_back(node.hash);
  }
  size_ = new_size;
  return absl::OkStatus();
}

}  // namespace trygg::audit
