// SPDX-License-Identifier: Apache-2.0

#include "trygg/audit/tree_frontier.h"

#include <catch2/catch.hpp>

#include <algorithm>
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

TEST_CASE("Frontier roots match the vectors and the reference",
          "[audit][frontier]") {
  const std::vector<Hash256> vector_leaves = Hashes(testing::kLeafHashesHex);
  for (size_t n = 0; n <= vector_leaves.size(); ++n) {
    CHECK(RootFromLeafHashes(absl::MakeConstSpan(vector_leaves).first(n)) ==
          H(testing::kRootsHex[n]));
  }
  const std::vector<Hash256> leaves = MakeLeafHashes(300);
  ReferenceMerkle reference(leaves);
  TreeFrontier frontier;
  for (size_t n = 0; n <= leaves.size(); ++n) {
    REQUIRE(frontier.size() == n);
    REQUIRE(frontier.Root() == reference.Mth(0, n));
    if (n < leaves.size()) frontier.Append(leaves[n]);
  }
}

TEST_CASE("Frontier restored from peaks continues the same tree",
          "[audit][frontier]") {
  const std::vector<Hash256> leaves = MakeLeafHashes(100);
  for (uint64_t split : {0, 1, 2, 37, 64, 99}) {
    TreeFrontier full;
    std::vector<StoredNode> completed;
    for (uint64_t i = 0; i < split; ++i) full.Append(leaves[i], &completed);
    std::vector<Hash256> peaks;
    for (const NodeId& id : TreeFrontier::PeakIds(split)) {
      auto it = std::find_if(completed.begin(), completed.end(),
                             [&](const StoredNode& n) { return n.id == id; });
      REQUIRE(it != completed.end());
      peaks.push_back(it->hash);
    }
    absl::StatusOr<TreeFrontier> restored =
        TreeFrontier::FromPeaks(split, peaks);
    REQUIRE(restored.ok());
    for (uint64_t i = split; i < leaves.size(); ++i) restored->Append(leaves[i]);
    CHECK(restored->Root() == RootFromLeafHashes(leaves));
  }
  CHECK(TreeFrontier::FromPeaks(7, {}).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(TreeFrontier::PeakIds(6) ==
        std::vector<NodeId>{NodeId{2, 0}, NodeId{1, 2}});
}

// What trygg-audit relies on when it recomputes a log from scratch: any edit,
// removal, reordering or insertion of an entry changes the root.
TEST_CASE("Tampering with any entry changes the root", "[audit][frontier]") {
  constexpr size_t kLeaves = 64;
  const std::vector<Hash256> leaves = MakeLeafHashes(kLeaves);
  const Hash256 root = RootFromLeafHashes(leaves);
  REQUIRE(VerifyLogRoot(leaves, kLeaves, root).ok());
  for (size_t i = 0; i < kLeaves; ++i) {
    INFO("entry " << i);
    std::vector<Hash256> edited = leaves;
    edited[i] = HashLeaf("edited");
    CHECK(VerifyLogRoot(edited, kLeaves, root).code() ==
          absl::StatusCode::kDataLoss);

    std::vector<Hash256> removed = leaves;
    removed.erase(removed.begin() + i);
    CHECK(RootFromLeafHashes(removed) != root);
    CHECK(VerifyLogRoot(removed, kLeaves, root).code() ==
          absl::StatusCode::kInvalidArgument);

    std::vector<Hash256> inserted = leaves;
    inserted.insert(inserted.begin() + i, HashLeaf("inserted"));
    CHECK(RootFromLeafHashes(inserted) != root);
    // Even with the leaf count forged to match, the root gives it away.
    inserted.pop_back();
    if (i + 1 < kLeaves) {
      CHECK(VerifyLogRoot(inserted, kLeaves, root).code() ==
            absl::StatusCode::kDataLoss);
    }

    if (i + 1 < kLeaves) {
      std::vector<Hash256> reordered = leaves;
      std::swap(reordered[i], reordered[i + 1]);
      CHECK(VerifyLogRoot(reordered, kLeaves, root).code() ==
            absl::StatusCode::kDataLoss);
    }
  }
  const absl::Status status = VerifyLogRoot(leaves, kLeaves + 1, root);
  CHECK(status.message() == "the log has 64 entries but the tree head says 65");
}

}  // namespace
}  // namespace trygg::audit
