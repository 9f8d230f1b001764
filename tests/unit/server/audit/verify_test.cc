// SPDX-License-Identifier: Apache-2.0

#include "trygg/audit/verify.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "server/audit/merkle_tree.h"
#include "test_util.h"
#include "test_vectors.h"

namespace trygg::audit {
namespace {

using testing::H;
using testing::Hashes;
using testing::MakeLeafHashes;
using testing::TestTree;
using testing::Unwrap;

bool Contains(const absl::Status& status, const std::string& text) {
  return std::string(status.message()).find(text) != std::string::npos;
}

// Flips each bit of each hash in `proof` in turn and requires `verify` to
// fail every time; returns how many flips were tried.
template <typename Verify>
size_t RequireEveryBitFlipFails(std::vector<Hash256> proof, Verify verify) {
  size_t flips = 0;
  for (size_t i = 0; i < proof.size(); ++i) {
    for (size_t bit = 0; bit < 8 * kHashSize; ++bit) {
      proof[i].data()[bit / 8] ^= static_cast<uint8_t>(1 << (bit % 8));
      const absl::Status status = verify(proof);
      if (status.ok()) FAIL("bit " << bit << " of proof hash " << i);
      REQUIRE(status.code() == absl::StatusCode::kDataLoss);
      proof[i].data()[bit / 8] ^= static_cast<uint8_t>(1 << (bit % 8));
      ++flips;
    }
  }
  return flips;
}

TEST_CASE("Published inclusion proofs verify, and every mutation fails",
          "[audit][verify]") {
  const std::vector<Hash256> leaves = Hashes(testing::kLeafHashesHex);
  for (const testing::InclusionVector& v : testing::kInclusionVectors) {
    INFO("leaf " << v.leaf_index << " size " << v.tree_size);
    const std::vector<Hash256> proof = Hashes(v.proof_hex);
    const Hash256 root = H(testing::kRootsHex[v.tree_size]);
    const Hash256 leaf = leaves[v.leaf_index];
    REQUIRE(VerifyInclusion(leaf, v.leaf_index, v.tree_size, proof, root).ok());

    RequireEveryBitFlipFails(proof, [&](const std::vector<Hash256>& p) {
      return VerifyInclusion(leaf, v.leaf_index, v.tree_size, p, root);
    });
    // Flipping a bit of the leaf or of the root fails too.
    for (size_t bit = 0; bit < 8 * kHashSize; ++bit) {
      Hash256 bad_leaf = leaf;
      bad_leaf.data()[bit / 8] ^= static_cast<uint8_t>(1 << (bit % 8));
      REQUIRE_FALSE(
          VerifyInclusion(bad_leaf, v.leaf_index, v.tree_size, proof, root).ok());
      Hash256 bad_root = root;
      bad_root.data()[bit / 8] ^= static_cast<uint8_t>(1 << (bit % 8));
      REQUIRE_FALSE(
          VerifyInclusion(leaf, v.leaf_index, v.tree_size, proof, bad_root).ok());
    }
    // The mutations certificate-transparency-go's verifier test makes.
    for (const uint64_t index :
         {v.leaf_index - 1, v.leaf_index + 1, v.leaf_index ^ 2}) {
      CHECK_FALSE(VerifyInclusion(leaf, index, v.tree_size, proof, root).ok());
    }
    CHECK_FALSE(
        VerifyInclusion(leaf, v.leaf_index, v.tree_size * 2, proof, root).ok());
    CHECK_FALSE(
        VerifyInclusion(leaf, v.leaf_index, v.tree_size / 2, proof, root).ok());
    CHECK_FALSE(VerifyInclusion(HashLeaf("WrongLeaf"), v.leaf_index,
                                v.tree_size, proof, root)
                    .ok());
    CHECK_FALSE(VerifyInclusion(leaf, v.leaf_index, v.tree_size, proof,
                                EmptyTreeRoot())
                    .ok());
    std::vector<Hash256> longer = proof;
    longer.push_back(root);
    CHECK(VerifyInclusion(leaf, v.leaf_index, v.tree_size, longer, root)
              .code() == absl::StatusCode::kInvalidArgument);
    std::vector<Hash256> front = {root};
    front.insert(front.end(), proof.begin(), proof.end());
    CHECK_FALSE(
        VerifyInclusion(leaf, v.leaf_index, v.tree_size, front, root).ok());
    if (!proof.empty()) {
      std::vector<Hash256> shorter(proof.begin(), proof.end() - 1);
      CHECK(VerifyInclusion(leaf, v.leaf_index, v.tree_size, shorter, root)
                .code() == absl::StatusCode::kInvalidArgument);
    }
  }
}

TEST_CASE("Published consistency proofs verify, and every mutation fails",
          "[audit][verify]") {
  for (const testing::ConsistencyVector& v : testing::kConsistencyVectors) {
    INFO("from " << v.first_size << " to " << v.second_size);
    const std::vector<Hash256> proof = Hashes(v.proof_hex);
    const Hash256 root1 = H(testing::kRootsHex[v.first_size]);
    const Hash256 root2 = H(testing::kRootsHex[v.second_size]);
    REQUIRE(VerifyConsistency(v.first_size, v.second_size, root1, root2, proof)
                .ok());
    if (proof.empty()) continue;

    RequireEveryBitFlipFails(proof, [&](const std::vector<Hash256>& p) {
      return VerifyConsistency(v.first_size, v.second_size, root1, root2, p);
    });
    for (size_t bit = 0; bit < 8 * kHashSize; ++bit) {
      Hash256 bad1 = root1;
      bad1.data()[bit / 8] ^= static_cast<uint8_t>(1 << (bit % 8));
      REQUIRE_FALSE(
          VerifyConsistency(v.first_size, v.second_size, bad1, root2, proof)
              .ok());
      Hash256 bad2 = root2;
      bad2.data()[bit / 8] ^= static_cast<uint8_t>(1 << (bit % 8));
      REQUIRE_FALSE(
          VerifyConsistency(v.first_size, v.second_size, root1, bad2, proof)
              .ok());
    }
    for (const uint64_t first :
         {v.first_size - 1, v.first_size + 1, v.first_size ^ 2}) {
      CHECK_FALSE(
          VerifyConsistency(first, v.second_size, root1, root2, proof).ok());
    }
    CHECK_FALSE(
        VerifyConsistency(v.first_size, v.second_size * 2, root1, root2, proof)
            .ok());
    CHECK_FALSE(
        VerifyConsistency(v.first_size, v.second_size / 2, root1, root2, proof)
            .ok());
    CHECK_FALSE(
        VerifyConsistency(v.first_size, v.second_size, root2, root1, proof)
            .ok());
    CHECK_FALSE(
        VerifyConsistency(v.first_size, v.second_size, root1, root2, {}).ok());
    std::vector<Hash256> longer = proof;
    longer.push_back(root1);
    CHECK_FALSE(
        VerifyConsistency(v.first_size, v.second_size, root1, root2, longer)
            .ok());
    std::vector<Hash256> shorter(proof.begin(), proof.end() - 1);
    CHECK_FALSE(
        VerifyConsistency(v.first_size, v.second_size, root1, root2, shorter)
            .ok());
    std::vector<Hash256> front = {proof[0]};
    front.insert(front.end(), proof.begin(), proof.end());
    CHECK_FALSE(
        VerifyConsistency(v.first_size, v.second_size, root1, root2, front)
            .ok());
  }
}

// Every proof the tree produces for sizes up to kMax verifies; every bit flip
// of every proof hash, a proof for another leaf, another leaf for the proof,
// and every other index fail.
TEST_CASE("Generated proofs verify and every bit flip fails, sizes 1..40",
          "[audit][verify]") {
  constexpr uint64_t kMax = 40;
  const std::vector<Hash256> leaves = MakeLeafHashes(kMax);
  TestTree t(leaves);
  size_t flips = 0;
  for (uint64_t n = 1; n <= kMax; ++n) {
    const Hash256 root = Unwrap(t.tree.Root(n));
    std::vector<std::vector<Hash256>> proofs;
    for (uint64_t m = 0; m < n; ++m) {
      proofs.push_back(Unwrap(t.tree.InclusionProof(m, n)));
    }
    for (uint64_t m = 0; m < n; ++m) {
      INFO("leaf " << m << " size " << n);
      const std::vector<Hash256>& proof = proofs[m];
      REQUIRE(VerifyInclusion(leaves[m], m, n, proof, root).ok());
      flips += RequireEveryBitFlipFails(proof, [&](const std::vector<Hash256>& p) {
        return VerifyInclusion(leaves[m], m, n, p, root);
      });
      for (uint64_t j = 0; j < n; ++j) {
        if (j == m) continue;
        // Another leaf's hash at this position.
        REQUIRE_FALSE(VerifyInclusion(leaves[j], m, n, proof, root).ok());
        // This leaf with another leaf's proof.
        REQUIRE_FALSE(VerifyInclusion(leaves[m], m, n, proofs[j], root).ok());
        // This leaf and proof claimed at another index.
        REQUIRE_FALSE(VerifyInclusion(leaves[m], j, n, proof, root).ok());
      }
      // Any size whose proof would have another length is refused as such.
      for (uint64_t other = m + 1; other <= kMax + 8; ++other) {
        if (InclusionProofLength(m, other) == proof.size()) continue;
        REQUIRE(VerifyInclusion(leaves[m], m, other, proof, root).code() ==
                absl::StatusCode::kInvalidArgument);
      }
    }
    for (uint64_t first = 1; first < n; ++first) {
      INFO("from " << first << " to " << n);
      const Hash256 first_root = Unwrap(t.tree.Root(first));
      const std::vector<Hash256> proof = Unwrap(t.tree.ConsistencyProof(first, n));
      REQUIRE(VerifyConsistency(first, n, first_root, root, proof).ok());
      flips += RequireEveryBitFlipFails(proof, [&](const std::vector<Hash256>& p) {
        return VerifyConsistency(first, n, first_root, root, p);
      });
      // The same proof with any other first size fails.
      for (uint64_t other = 1; other < n; ++other) {
        if (other == first) continue;
        REQUIRE_FALSE(VerifyConsistency(other, n, first_root, root, proof).ok());
      }
    }
  }
  CHECK(flips > 100000);
}

TEST_CASE("Every generated proof verifies for sizes up to 300",
          "[audit][verify]") {
  constexpr uint64_t kMax = 300;
  const std::vector<Hash256> leaves = MakeLeafHashes(kMax);
  TestTree t(leaves);
  std::vector<Hash256> roots;
  for (uint64_t n = 0; n <= kMax; ++n) roots.push_back(Unwrap(t.tree.Root(n)));
  for (uint64_t n = 1; n <= kMax; ++n) {
    for (uint64_t m = 0; m < n; ++m) {
      REQUIRE(VerifyInclusion(leaves[m], m, n,
                              Unwrap(t.tree.InclusionProof(m, n)), roots[n])
                  .ok());
    }
    for (uint64_t first = 1; first <= n; ++first) {
      REQUIRE(VerifyConsistency(first, n, roots[first], roots[n],
                                Unwrap(t.tree.ConsistencyProof(first, n)))
                  .ok());
    }
  }
}

TEST_CASE("Malformed inclusion questions get precise errors",
          "[audit][verify]") {
  const Hash256 leaf = HashLeaf("a");
  const Hash256 root = EmptyTreeRoot();
  absl::Status s = VerifyInclusion(leaf, 0, 0, {}, root);
  CHECK(s.code() == absl::StatusCode::kInvalidArgument);
  CHECK(Contains(s, "empty tree"));
  s = VerifyInclusion(leaf, 5, 5, {}, root);
  CHECK(s.code() == absl::StatusCode::kInvalidArgument);
  CHECK(s.message() == "leaf index 5 is out of range for tree size 5");
  s = VerifyInclusion(leaf, UINT64_MAX, 3, {}, root);
  CHECK(s.code() == absl::StatusCode::kInvalidArgument);
  s = VerifyInclusion(leaf, 0, 8, {root, root}, root);
  CHECK(s.code() == absl::StatusCode::kInvalidArgument);
  CHECK(s.message() ==
        "wrong inclusion proof length for leaf 0 in tree size 8: expected 3 "
        "hashes, got 2");
  s = VerifyInclusion(leaf, 0, 1, {}, root);
  CHECK(s.code() == absl::StatusCode::kDataLoss);
  CHECK(Contains(s, "does not lead to the root"));
  CHECK(Contains(s, root.ToHex()));
  // Sizes near the top of the range do not overflow anything.
  s = VerifyInclusion(leaf, UINT64_MAX - 1, UINT64_MAX,
                      std::vector<Hash256>(InclusionProofLength(UINT64_MAX - 1,
                                                             UINT64_MAX),
                                        root),
                      root);
  CHECK(s.code() == absl::StatusCode::kDataLoss);
  CHECK(InclusionProofLength(0, UINT64_MAX) == 64);
}

TEST_CASE("Malformed consistency questions get precise errors",
          "[audit][verify]") {
  const Hash256 a = HashLeaf("a");
  const Hash256 b = HashLeaf("b");
  absl::Status s = VerifyConsistency(0, 5, EmptyTreeRoot(), a, {});
  CHECK(s.code() == absl::StatusCode::kInvalidArgument);
  CHECK(Contains(s, "tree size 0"));
  s = VerifyConsistency(0, 0, EmptyTreeRoot(), EmptyTreeRoot(), {});
  CHECK(s.code() == absl::StatusCode::kInvalidArgument);
  s = VerifyConsistency(6, 5, a, b, {a});
  CHECK(s.code() == absl::StatusCode::kInvalidArgument);
  CHECK(s.message() ==
        "first tree size 6 is larger than second tree size 5: a log never "
        "shrinks");
  CHECK(VerifyConsistency(5, 5, a, a, {}).ok());
  s = VerifyConsistency(5, 5, a, b, {});
  CHECK(s.code() == absl::StatusCode::kDataLoss);
  CHECK(Contains(s, "different roots"));
  s = VerifyConsistency(5, 5, a, a, {a});
  CHECK(s.code() == absl::StatusCode::kInvalidArgument);
  s = VerifyConsistency(1, 2, a, b, {});
  CHECK(s.code() == absl::StatusCode::kInvalidArgument);
  CHECK(s.message() ==
        "wrong consistency proof length from tree size 1 to 2: expected 1 "
        "hashes, got 0");
  s = VerifyConsistency(1, 2, a, b, {b});
  CHECK(s.code() == absl::StatusCode::kDataLoss);
  CHECK(Contains(s, "second root"));
  s = VerifyConsistency(3, 4, a, b,
                        std::vector<Hash256>(ConsistencyProofLength(3, 4), a));
  CHECK(s.code() == absl::StatusCode::kDataLoss);
  CHECK(Contains(s, "first root"));
  s = VerifyConsistency(UINT64_MAX - 1, UINT64_MAX, a, b,
                        std::vector<Hash256>(ConsistencyProofLength(
                                              UINT64_MAX - 1, UINT64_MAX),
                                          a));
  CHECK(s.code() == absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace trygg::audit
