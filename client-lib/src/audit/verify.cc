// SPDX-License-Identifier: Apache-2.0

#include "trygg/audit/verify.h"

#include <bit>
#include <string>

#include "absl/strings/str_cat.h"
#include "trygg/audit/tree_frontier.h"
#include "trygg/status_macros.h"

namespace trygg::audit {
namespace {

// The path from leaf `index` to the root of a `size`-leaf tree first climbs
// through complete subtrees ("inner" levels, where index and size - 1 still
// differ) and then along the right edge, where each set bit of the remaining
// index contributes one left sibling.
struct ProofShape {
  size_t inner;
  size_t border;
};

ProofShape InclusionShape(uint64_t index, uint64_t size) {
  const size_t inner = std::bit_width(index ^ (size - 1));
  const size_t border = inner >= 64 ? 0 : std::popcount(index >> inner);
  return {inner, border};
}

absl::Status Mismatch(const std::string& what, const Hash256& computed,
                      const Hash256& expected) {
  return absl::DataLossError(absl::StrCat(what, ": computed ",
                                          computed.ToHex(), ", expected ",
                                          expected.ToHex()));
}

}  // namespace

size_t InclusionProofLength(uint64_t leaf_index, uint64_t tree_size) {
  if (leaf_index >= tree_size) return 0;
  const ProofShape shape = InclusionShape(leaf_index, tree_size);
  return shape.inner + shape.border;
}

size_t ConsistencyProofLength(uint64_t first_size, uint64_t second_size) {
  if (first_size == 0 || first_size >= second_size) return 0;
  // The old tree's last leaf decides the path; the levels below the largest
  // complete subtree shared by both trees are implied by that subtree, and
  // its hash is sent unless it is the old root itself (first_size a power of
  // two), which the verifier already has.
  const size_t shift = std::countr_zero(first_size);
  const ProofShape shape = InclusionShape(first_size - 1, second_size);
  const size_t seed = std::has_single_bit(first_size) ? 0 : 1;
  return seed + (shape.inner - shift) + shape.border;
}

absl::StatusOr<Hash256> RootFromInclusionProof(const Hash256& leaf_hash,
                                            uint64_t leaf_index,
                                            uint64_t tree_size,
                                            absl::Span<const Hash256> proof) {
  if (tree_size == 0) {
    return absl::InvalidArgumentError(
        "inclusion proof for an empty tree: it has no leaves");
  }
  if (leaf_index >= tree_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("leaf index ", leaf_index,
                     " is out of range for tree size ", tree_size));
  }
  const size_t want = InclusionProofLength(leaf_index, tree_size);
  if (proof.size() != want) {
    return absl::InvalidArgumentError(absl::StrCat(
        "wrong inclusion proof length for leaf ", leaf_index, " in tree size ",
        tree_size, ": expected ", want, " hashes, got ", proof.size()));
  }
  // RFC 9162 2.1.3.2, step by step.
  uint64_t fn = leaf_index;
  uint64_t sn = tree_size - 1;
  Hash256 r = leaf_hash;
  for (const Hash256& p : proof) {
    if (sn == 0) {
      return absl::InvalidArgumentError("inclusion proof is too long");
    }
    if ((fn & 1) || fn == sn) {
      r = HashChildren(p, r);
      while (!(fn & 1) && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      r = HashChildren(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) {
    return absl::InvalidArgumentError("inclusion proof is too short");
  }
  return r;
}

absl::Status VerifyInclusion(const Hash256& leaf_hash, uint64_t leaf_index,
                             uint64_t tree_size, absl::Span<const Hash256> proof,
                             const Hash256& root) {
  TRYGG_ASSIGN_OR_RETURN(
      const Hash256 computed,
      RootFromInclusionProof(leaf_hash, leaf_index, tree_size, proof));
  if (computed != root) {
    return Mismatch(absl::StrCat("inclusion proof of leaf ", leaf_index,
                                 " does not lead to the root of tree size ",
                                 tree_size),
                    computed, root);
  }
  return absl::OkStatus();
}

absl::Status VerifyConsistency(uint64_t first_size, uint64_t second_size,
                               const Hash256& first_root, const Hash256& second_root,
                               absl::Span<const Hash256> proof) {
  if (first_size == 0) {
    return absl::InvalidArgumentError(
        "consistency proof from tree size 0 is not defined; accept the first "
        "tree head on its signature alone");
  }
  if (first_size > second_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("first tree size ", first_size,
                     " is larger than second tree size ", second_size,
                     ": a log never shrinks"));
  }
  if (first_size == second_size) {
    if (!proof.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "wrong consistency proof length for equal tree sizes ", first_size,
          ": expected 0 hashes, got ", proof.size()));
    }
    if (first_root != second_root) {
      return Mismatch(absl::StrCat("two tree heads of size ", first_size,
                                   " have different roots"),
                      second_root, first_root);
    }
    return absl::OkStatus();
  }
  const size_t want = ConsistencyProofLength(first_size, second_size);
  if (proof.size() != want) {
    return absl::InvalidArgumentError(absl::StrCat(
        "wrong consistency proof length from tree size ", first_size, " to ",
        second_size, ": expected ", want, " hashes, got ", proof.size()));
  }
  // RFC 9162 2.1.4.2, step by step. Step 2 prepends the old root when the
  // old tree is a single complete subtree; an index keeps that without a copy.
  const bool prepend = std::has_single_bit(first_size);
  auto at = [&](size_t i) -> const Hash256& {
    return prepend ? (i == 0 ? first_root : proof[i - 1])
                   : proof[i];
  };
  const size_t count = proof.size() + (prepend ? 1 : 0);
  uint64_t fn = first_size - 1;
  uint64_t sn = second_size - 1;
  while (fn & 1) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash256 fr = at(0);
  Hash256 sr = at(0);
  for (size_t i = 1; i < count; ++i) {
    const Hash256& c = at(i);
    if (sn == 0) {
      return absl::InvalidArgumentError("consistency proof is too long");
    }
    if ((fn & 1) || fn == sn) {
      fr = HashChildren(c, fr);
      sr = HashChildren(c, sr);
      while (!(fn & 1) && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      sr = HashChildren(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) {
    return absl::InvalidArgumentError("consistency proof is too short");
  }
  if (fr != first_root) {
    return Mismatch(absl::StrCat("consistency proof from tree size ",
                                 first_size, " to ", second_size,
                                 " does not lead to the first root"),
                    fr, first_root);
  }
  if (sr != second_root) {
    return Mismatch(absl::StrCat("consistency proof from tree size ",
                                 first_size, " to ", second_size,
                                 " does not lead to the second root"),
                    sr, second_root);
  }
  return absl::OkStatus();
}

absl::Status VerifyLogRoot(absl::Span<const Hash256> leaf_hashes,
                           uint64_t tree_size, const Hash256& root) {
  if (leaf_hashes.size() != tree_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("the log has ", leaf_hashes.size(),
                     " entries but the tree head says ", tree_size));
  }
  const Hash256 computed = RootFromLeafHashes(leaf_hashes);
  if (computed != root) {
    return Mismatch(absl::StrCat("root of the ", tree_size, "-entry log"),
                    computed, root);
  }
  return absl::OkStatus();
}

}  // namespace trygg::audit
