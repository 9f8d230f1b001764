// SPDX-License-Identifier: Apache-2.0

// MemoryNodeStore: a NodeStore held in memory, for tests, the benchmark and
// auditors that rebuild a tree from a downloaded log. Meets the whole NodeStore
// contract (node_store.h), including atomic, size-conditional appends and
// concurrent use from many threads (a reader/writer lock). Nothing is
// persisted; the store owns its hashes and lives as long as its owner keeps it.
#ifndef TRYGG_SERVER_AUDIT_MEMORY_NODE_STORE_H_
#define TRYGG_SERVER_AUDIT_MEMORY_NODE_STORE_H_

#include <cstdint>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "trygg/audit/hash.h"
#include "server/audit/node_store.h"

namespace trygg::audit {

// A NodeStore in memory: one vector of hashes per level, so a node is found by
// two array indexings. Thread-safe as the contract requires (a reader/writer
// lock). Memory use is about 2 * size * kHashSize bytes (64 MB per million
// leaves).
class MemoryNodeStore final : public NodeStore {
 public:
  MemoryNodeStore() = default;
  MemoryNodeStore(const MemoryNodeStore&) = delete;
  MemoryNodeStore& operator=(const MemoryNodeStore&) = delete;

  // Reserves room for `leaves` leaves so a benchmark does not measure vector
  // growth. Optional.
  void Reserve(uint64_t leaves);

  absl::StatusOr<uint64_t> Size() const override;
  absl::StatusOr<std::vector<Hash256>> Get(
      absl::Span<const NodeId> ids) const override;
  absl::Status Append(uint64_t old_size, uint64_t new_size,
                      absl::Span<const StoredNode> nodes) override;

 private:
  mutable absl::Mutex mu_;
  uint64_t size_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::vector<Hash256>> levels_ ABSL_GUARDED_BY(mu_);
};

}  // namespace trygg::audit

#endif  // TRYGG_SERVER_AUDIT_MEMORY_NODE_STORE_H_
