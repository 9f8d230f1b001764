// SPDX-License-Identifier: Apache-2.0

#include "server/audit/merkle_tree.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <bit>
#include <optional>
#include <string>
#include <vector>

#include "reference_merkle.h"
#include "trygg/audit/verify.h"
#include "test_util.h"
#include "test_vectors.h"

namespace trygg::audit {
namespace {

using testing::H;
using testing::Hashes;
using testing::MakeLeafHashes;
using testing::ReferenceMerkle;
using testing::TestTree;
using testing::Unwrap;

std::vector<Hash256> VectorLeafHashes() { return Hashes(testing::kLeafHashesHex); }

// Counts what MerkleTree asks of the store, to show that proofs cost one
// batched lookup of O(log n) nodes and never touch every leaf.
class CountingStore final : public NodeStore {
 public:
  explicit CountingStore(NodeStore* inner) : inner_(inner) {}
  absl::StatusOr<uint64_t> Size() const override { return inner_->Size(); }
  absl::StatusOr<std::vector<Hash256>> Get(
      absl::Span<const NodeId> ids) const override {
    ++get_calls;
    ids_read += ids.size();
    return inner_->Get(ids);
  }
  absl::Status Append(uint64_t old_size, uint64_t new_size,
                      absl::Span<const StoredNode> nodes) override {
    return inner_->Append(old_size, new_size, nodes);
  }
  mutable int get_calls = 0;
  mutable size_t ids_read = 0;

 private:
  NodeStore* inner_;
};

// A store whose every call fails, to check errors are passed through.
class BrokenStore final : public NodeStore {
 public:
  absl::StatusOr<uint64_t> Size() const override {
    return absl::UnavailableError("disk on fire");
  }
  absl::StatusOr<std::vector<Hash256>> Get(absl::Span<const NodeId>) const override {
    return absl::UnavailableError("disk on fire");
  }
  absl::Status Append(uint64_t, uint64_t, absl::Span<const StoredNode>) override {
    return absl::UnavailableError("disk on fire");
  }
};

// Answers like the store it wraps but refuses every append.
class RefusingStore final : public NodeStore {
 public:
  explicit RefusingStore(NodeStore* inner) : inner_(inner) {}
  absl::StatusOr<uint64_t> Size() const override { return inner_->Size(); }
  absl::StatusOr<std::vector<Hash256>> Get(absl::Span<const NodeId> ids) const override {
    return inner_->Get(ids);
  }
  absl::Status Append(uint64_t, uint64_t, absl::Span<const StoredNode>) override {
    return absl::UnavailableError("disk full");
  }

 private:
  NodeStore* inner_;
};

TEST_CASE("Incremental roots match the RFC 6962 vectors for sizes 0..8",
          "[audit][merkle_tree]") {
  const std::vector<Hash256> leaves = VectorLeafHashes();
  MemoryNodeStore store;
  MerkleTree tree(&store);
  CHECK(Unwrap(tree.Root(0)) == H(testing::kRootsHex[0]));
  for (size_t i = 0; i < testing::kLeafInputsHex.size(); ++i) {
    const std::vector<uint8_t> entry = testing::Bytes(testing::kLeafInputsHex[i]);
    CHECK(Unwrap(tree.AppendEntry(entry)) == i);
    CHECK(Unwrap(tree.Root(i + 1)) == H(testing::kRootsHex[i + 1]));
  }
  // Roots of every earlier size stay available after later appends.
  for (size_t size = 0; size <= 8; ++size) {
    INFO("size " << size);
    CHECK(Unwrap(tree.Root(size)) == H(testing::kRootsHex[size]));
  }
  for (size_t i = 0; i < 8; ++i) CHECK(Unwrap(tree.LeafHash(i)) == leaves[i]);
}

TEST_CASE("Stored subtree hashes match the published node hashes",
          "[audit][merkle_tree]") {
  TestTree t(VectorLeafHashes());
  // transparency-dev/merkle testonly/constants.go NodeHashes(), levels 1..3.
  const std::vector<std::pair<NodeId, std::string_view>> nodes = {
      {{1, 0}, "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"},
      {{1, 1}, "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"},
      {{1, 2}, "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"},
      {{1, 3}, "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"},
      {{2, 0}, "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"},
      {{2, 1}, "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"},
      {{3, 0}, "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"},
  };
  for (const auto& [id, hex] : nodes) {
    INFO("level " << id.level << " index " << id.index);
    const std::vector<Hash256> got = Unwrap(t.store.Get({id}));
    CHECK(got.at(0) == H(hex));
  }
}

TEST_CASE("Inclusion proofs match the published vectors",
          "[audit][merkle_tree]") {
  TestTree t(VectorLeafHashes());
  for (const testing::InclusionVector& v : testing::kInclusionVectors) {
    INFO("leaf " << v.leaf_index << " size " << v.tree_size);
    CHECK(Unwrap(t.tree.InclusionProof(v.leaf_index, v.tree_size)) ==
          Hashes(v.proof_hex));
  }
}

TEST_CASE("Consistency proofs match the published vectors",
          "[audit][merkle_tree]") {
  TestTree t(VectorLeafHashes());
  for (const testing::ConsistencyVector& v : testing::kConsistencyVectors) {
    INFO("from " << v.first_size << " to " << v.second_size);
    CHECK(Unwrap(t.tree.ConsistencyProof(v.first_size, v.second_size)) ==
          Hashes(v.proof_hex));
  }
}

// The exhaustive comparison: every root, every inclusion proof and every
// consistency proof of every tree up to kMax leaves, against the RFC's own
// recursive definitions.
TEST_CASE("Incremental tree equals the recursive RFC definitions up to 300",
          "[audit][merkle_tree]") {
  constexpr uint64_t kMax = 300;
  const std::vector<Hash256> leaves = MakeLeafHashes(kMax);
  ReferenceMerkle reference(leaves);
  TestTree t(leaves);
  size_t compared = 0;
  for (uint64_t n = 0; n <= kMax; ++n) {
    REQUIRE(Unwrap(t.tree.Root(n)) == reference.Mth(0, n));
    for (uint64_t m = 0; m < n; ++m) {
      const std::vector<Hash256> proof = Unwrap(t.tree.InclusionProof(m, n));
      REQUIRE(proof == reference.Path(m, 0, n));
      REQUIRE(proof.size() == InclusionProofLength(m, n));
      const std::vector<Hash256> consistency =
          Unwrap(t.tree.ConsistencyProof(m + 1, n));
      REQUIRE(consistency == reference.Proof(m + 1, n));
      REQUIRE(consistency.size() == ConsistencyProofLength(m + 1, n));
      compared += 2;
    }
  }
  CHECK(compared == kMax * (kMax + 1));
}

TEST_CASE("Batched appends store the same tree as single appends",
          "[audit][merkle_tree]") {
  constexpr uint64_t kLeaves = 1000;
  const std::vector<Hash256> leaves = MakeLeafHashes(kLeaves);
  TestTree single(leaves);
  for (const size_t batch : {size_t{2}, size_t{3}, size_t{7}, size_t{64},
                             size_t{333}, size_t{kLeaves}}) {
    INFO("batch " << batch);
    MemoryNodeStore store;
    MerkleTree tree(&store);
    for (size_t i = 0; i < kLeaves; i += batch) {
      const size_t count = std::min(batch, kLeaves - i);
      CHECK(Unwrap(tree.AppendLeafHashes(
                absl::MakeConstSpan(leaves).subspan(i, count))) == i);
    }
    CHECK(Unwrap(tree.Size()) == kLeaves);
    for (uint64_t size : {uint64_t{1}, uint64_t{511}, uint64_t{512},
                          uint64_t{999}, kLeaves}) {
      CHECK(Unwrap(tree.Root(size)) == Unwrap(single.tree.Root(size)));
    }
    CHECK(Unwrap(tree.InclusionProof(517, kLeaves)) ==
          Unwrap(single.tree.InclusionProof(517, kLeaves)));
  }
  MemoryNodeStore store;
  MerkleTree tree(&store);
  CHECK(Unwrap(tree.AppendLeafHashes({})) == 0);
  CHECK(Unwrap(tree.Size()) == 0);
}

TEST_CASE("Proofs cost one batched lookup of O(log n) nodes",
          "[audit][merkle_tree]") {
  constexpr uint64_t kLeaves = 5000;
  TestTree t(MakeLeafHashes(kLeaves));
  CountingStore counting(&t.store);
  MerkleTree tree(&counting);
  for (uint64_t n : {uint64_t{1}, uint64_t{2}, uint64_t{1000}, uint64_t{4095},
                     uint64_t{4096}, uint64_t{4097}, kLeaves}) {
    const size_t log_n = std::bit_width(n);
    for (uint64_t m : {uint64_t{0}, n / 3, n / 2, n - 1}) {
      counting.get_calls = 0;
      counting.ids_read = 0;
      REQUIRE(tree.InclusionProof(m, n).ok());
      CHECK(counting.get_calls == (n > 1 ? 1 : 0));
      CHECK(counting.ids_read <= 2 * log_n);
      counting.get_calls = 0;
      counting.ids_read = 0;
      REQUIRE(tree.ConsistencyProof(m + 1, n).ok());
      CHECK(counting.get_calls <= 1);
      CHECK(counting.ids_read <= 2 * log_n);
    }
    counting.get_calls = 0;
    counting.ids_read = 0;
    REQUIRE(tree.Root(n).ok());
    CHECK(counting.get_calls == 1);
    CHECK(counting.ids_read == static_cast<size_t>(std::popcount(n)));
  }
  // An append reads only the peaks it may merge with.
  counting.get_calls = 0;
  counting.ids_read = 0;
  const Hash256 leaf = HashLeaf("one more");
  REQUIRE(tree.AppendLeafHashes(absl::MakeConstSpan(&leaf, 1)).ok());
  CHECK(counting.get_calls == 1);
  CHECK(counting.ids_read == static_cast<size_t>(std::popcount(kLeaves)));
}

// The writer keeps the tree's right edge between the appends of a batch; it
// must give the same tree, read no peaks while it is current, and never be
// used for a tree of another size.
TEST_CASE("Appends with a kept frontier store the same tree and read no peaks",
          "[audit][merkle_tree]") {
  constexpr uint64_t kLeaves = 300;
  const std::vector<Hash256> leaves = MakeLeafHashes(kLeaves);
  TestTree single(leaves);
  MemoryNodeStore store;
  CountingStore counting(&store);
  MerkleTree tree(&counting);
  std::optional<TreeFrontier> frontier;
  for (uint64_t i = 0; i < kLeaves; ++i) {
    CHECK(Unwrap(tree.AppendLeafHashes(absl::MakeConstSpan(&leaves[i], 1), &frontier)) == i);
    REQUIRE(frontier.has_value());
    CHECK(frontier->size() == i + 1);
  }
  // Only the first append read peaks (of the empty tree: none).
  CHECK(counting.get_calls == 0);
  for (uint64_t size : {uint64_t{1}, uint64_t{255}, uint64_t{256}, kLeaves}) {
    CHECK(Unwrap(tree.Root(size)) == Unwrap(single.tree.Root(size)));
  }

  SECTION("a frontier of another size is not used") {
    // As after a rolled-back append: one leaf more than the store holds.
    std::optional<TreeFrontier> ahead = frontier;
    ahead->Append(HashLeaf("rolled back"));
    const Hash256 next = HashLeaf("next");
    counting.get_calls = 0;
    CHECK(Unwrap(tree.AppendLeafHashes(absl::MakeConstSpan(&next, 1), &ahead)) == kLeaves);
    CHECK(counting.get_calls == 1);
    TestTree expected(leaves);
    REQUIRE(expected.tree.AppendLeafHashes(absl::MakeConstSpan(&next, 1)).ok());
    CHECK(Unwrap(tree.Root(kLeaves + 1)) == Unwrap(expected.tree.Root(kLeaves + 1)));
    REQUIRE(ahead.has_value());
    CHECK(ahead->Root() == Unwrap(expected.tree.Root(kLeaves + 1)));
  }
  SECTION("a failed append leaves no frontier, whichever step failed") {
    const Hash256 next = HashLeaf("next");
    BrokenStore broken;  // fails at the first step, the size
    MerkleTree broken_tree(&broken);
    CHECK(broken_tree.AppendLeafHashes(absl::MakeConstSpan(&next, 1), &frontier).status().code() ==
          absl::StatusCode::kUnavailable);
    CHECK_FALSE(frontier.has_value());
    // Fails at the last step, storing the nodes, with a current frontier.
    std::optional<TreeFrontier> current = TreeFrontier();
    for (const Hash256& leaf : leaves) current->Append(leaf);
    RefusingStore refusing(&store);
    MerkleTree refusing_tree(&refusing);
    CHECK(refusing_tree.AppendLeafHashes(absl::MakeConstSpan(&next, 1), &current).status().code() ==
          absl::StatusCode::kUnavailable);
    CHECK_FALSE(current.has_value());
    CHECK(Unwrap(tree.Size()) == kLeaves);
  }
}

TEST_CASE("Requests outside the stored tree are refused with the numbers",
          "[audit][merkle_tree]") {
  TestTree t(MakeLeafHashes(10));
  const auto code = [](const absl::Status& s) { return s.code(); };
  CHECK(code(t.tree.Root(11).status()) == absl::StatusCode::kOutOfRange);
  CHECK(t.tree.Root(11).status().message() ==
        "tree size 11 is larger than the log's 10");
  CHECK(code(t.tree.LeafHash(10).status()) == absl::StatusCode::kOutOfRange);
  CHECK(code(t.tree.InclusionProof(10, 10).status()) ==
        absl::StatusCode::kInvalidArgument);
  CHECK(code(t.tree.InclusionProof(0, 0).status()) ==
        absl::StatusCode::kInvalidArgument);
  CHECK(code(t.tree.InclusionProof(3, 11).status()) ==
        absl::StatusCode::kOutOfRange);
  CHECK(code(t.tree.ConsistencyProof(0, 5).status()) ==
        absl::StatusCode::kInvalidArgument);
  CHECK(code(t.tree.ConsistencyProof(6, 5).status()) ==
        absl::StatusCode::kInvalidArgument);
  CHECK(code(t.tree.ConsistencyProof(5, 11).status()) ==
        absl::StatusCode::kOutOfRange);
  CHECK(Unwrap(t.tree.ConsistencyProof(7, 7)).empty());
}

TEST_CASE("A stale writer cannot fork the tree", "[audit][merkle_tree]") {
  TestTree t(MakeLeafHashes(5));
  const Hash256 root = Unwrap(t.tree.Root(5));
  // A second writer that read size 5 earlier tries to append at 5 after the
  // first writer already moved the tree to 6.
  const Hash256 first = HashLeaf("first writer");
  REQUIRE(t.tree.AppendLeafHashes(absl::MakeConstSpan(&first, 1)).ok());
  const Hash256 stale_leaf = HashLeaf("second writer");
  const StoredNode stale{{0, 5}, stale_leaf};
  const absl::Status status = t.store.Append(5, 6, {stale});
  CHECK(status.code() == absl::StatusCode::kAborted);
  CHECK(Unwrap(t.tree.Size()) == 6);
  CHECK(Unwrap(t.tree.LeafHash(5)) == first);
  CHECK(Unwrap(t.tree.Root(5)) == root);
}

TEST_CASE("Store failures are passed through", "[audit][merkle_tree]") {
  BrokenStore broken;
  MerkleTree tree(&broken);
  const Hash256 leaf = HashLeaf("x");
  CHECK(tree.Size().status().code() == absl::StatusCode::kUnavailable);
  CHECK(tree.AppendLeafHashes(absl::MakeConstSpan(&leaf, 1)).status().code() ==
        absl::StatusCode::kUnavailable);
  CHECK(tree.Root(0).status().code() == absl::StatusCode::kUnavailable);
  CHECK(tree.InclusionProof(0, 1).status().code() ==
        absl::StatusCode::kUnavailable);
  CHECK(tree.ConsistencyProof(1, 2).status().code() ==
        absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace trygg::audit
