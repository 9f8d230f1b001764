// SPDX-License-Identifier: Apache-2.0

#include "server/audit/node_store.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>
#include <vector>

#include "server/audit/memory_node_store.h"
#include "server/audit/merkle_tree.h"
#include "test_util.h"

namespace trygg::audit {
namespace {

using testing::MakeLeafHashes;
using testing::TestTree;
using testing::Unwrap;

TEST_CASE("NodeExists follows the complete-subtree rule", "[audit][store]") {
  CHECK_FALSE(NodeExists({0, 0}, 0));
  CHECK(NodeExists({0, 0}, 1));
  CHECK_FALSE(NodeExists({1, 0}, 1));
  CHECK(NodeExists({1, 0}, 2));
  CHECK(NodeExists({2, 1}, 8));
  CHECK_FALSE(NodeExists({2, 1}, 7));
  CHECK(NodeExists({63, 0}, UINT64_MAX));
  CHECK_FALSE(NodeExists({64, 0}, UINT64_MAX));
  CHECK_FALSE(NodeExists({1000, 0}, UINT64_MAX));
}

TEST_CASE("MemoryNodeStore reports missing nodes", "[audit][store]") {
  TestTree t(MakeLeafHashes(6));
  CHECK(t.store.Get({{0, 5}}).ok());
  CHECK(t.store.Get({{0, 6}}).status().code() == absl::StatusCode::kNotFound);
  CHECK(t.store.Get({{1, 2}}).ok());
  CHECK(t.store.Get({{2, 1}}).status().code() == absl::StatusCode::kNotFound);
  CHECK(t.store.Get({{70, 0}}).status().code() == absl::StatusCode::kNotFound);
  CHECK(Unwrap(t.store.Get({})).empty());
}

TEST_CASE("MemoryNodeStore refuses bad appends and stays unchanged",
          "[audit][store]") {
  TestTree t(MakeLeafHashes(3));
  const Hash256 root = Unwrap(t.tree.Root(3));
  const Hash256 h = HashLeaf("x");
  // Stale size.
  CHECK(t.store.Append(2, 3, {}).code() == absl::StatusCode::kAborted);
  // Shrinking.
  CHECK(t.store.Append(3, 2, {}).code() == absl::StatusCode::kInvalidArgument);
  // Missing the level-2 node that size 4 completes.
  CHECK(t.store.Append(3, 4, {{{0, 3}, h}, {{1, 1}, h}}).code() ==
        absl::StatusCode::kInvalidArgument);
  // Overwriting an existing node.
  CHECK(t.store.Append(3, 4, {{{0, 2}, h}, {{0, 3}, h}, {{1, 1}, h},
                              {{2, 0}, h}})
            .code() == absl::StatusCode::kInvalidArgument);
  // A node that does not exist at the new size.
  CHECK(t.store.Append(3, 4, {{{0, 3}, h}, {{1, 1}, h}, {{2, 0}, h},
                              {{0, 4}, h}})
            .code() == absl::StatusCode::kInvalidArgument);
  CHECK(Unwrap(t.store.Size()) == 3);
  CHECK(Unwrap(t.tree.Root(3)) == root);
  // The correct batch is accepted.
  CHECK(t.store.Append(3, 4, {{{0, 3}, h}, {{1, 1}, h}, {{2, 0}, h}}).ok());
  CHECK(Unwrap(t.store.Size()) == 4);
}

TEST_CASE("Concurrent writers and readers keep one consistent tree",
          "[audit][store]") {
  MemoryNodeStore store;
  constexpr int kWriters = 2;
  constexpr int kPerWriter = 2000;
  // Catch2 assertions are not thread-safe; threads only record failures.
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&store, &failures, w] {
      MerkleTree tree(&store);
      for (int i = 0; i < kPerWriter; ++i) {
        const Hash256 leaf = HashLeaf(std::to_string(w) + "/" + std::to_string(i));
        // Aborted means the other writer won the race; retry on the new size.
        absl::StatusOr<uint64_t> index;
        do {
          index = tree.AppendLeafHashes(absl::MakeConstSpan(&leaf, 1));
        } while (index.status().code() == absl::StatusCode::kAborted);
        if (!index.ok()) ++failures;
      }
    });
  }
  threads.emplace_back([&store, &failures] {
    MerkleTree tree(&store);
    for (int i = 0; i < 2000; ++i) {
      const absl::StatusOr<uint64_t> size = tree.Size();
      if (!size.ok()) ++failures;
      if (!size.ok() || *size == 0) continue;
      if (!tree.InclusionProof(*size / 2, *size).ok()) ++failures;
    }
  });
  for (std::thread& t : threads) t.join();
  CHECK(failures == 0);
  MerkleTree tree(&store);
  const uint64_t size = Unwrap(tree.Size());
  REQUIRE(size == kWriters * kPerWriter);
  std::vector<Hash256> leaves;
  for (uint64_t i = 0; i < size; ++i) leaves.push_back(Unwrap(tree.LeafHash(i)));
  MemoryNodeStore fresh;
  MerkleTree rebuilt(&fresh);
  REQUIRE(rebuilt.AppendLeafHashes(leaves).ok());
  CHECK(Unwrap(rebuilt.Root(size)) == Unwrap(tree.Root(size)));
}

}  // namespace
}  // namespace trygg::audit
