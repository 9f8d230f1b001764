// SPDX-License-Identifier: Apache-2.0

// Verification of the audit log's Merkle proofs, independent of any store:
// what a client or an auditor runs on data it received from the server.
// Implements RFC 9162 sections 2.1.3.2 (inclusion) and 2.1.4.2 (consistency)
// exactly, with the proof lengths checked first so that a malformed proof is
// told apart from a lying one.
//
// All inputs come from outside, so every function returns a Status and none
// crashes, whatever the sizes and hashes:
//  - InvalidArgument: the question itself is malformed (index not below the
//    tree size, size 0 where a tree is needed, first size > second size, or a
//    proof of the wrong length for the given sizes). The message says which
//    and gives the numbers.
//  - DataLoss: the proof is well formed but does not lead to the given root
//    or roots, i.e. the entry is not in the tree, or the trees are not
//    consistent. The message gives the computed and the expected hash.
// Pure functions of their arguments; thread-safe.
#ifndef TRYGG_AUDIT_VERIFY_H_
#define TRYGG_AUDIT_VERIFY_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "trygg/audit/hash.h"

namespace trygg::audit {

// Number of hashes in a correct inclusion proof of leaf `leaf_index` in a tree
// of `tree_size` leaves. Requires leaf_index < tree_size (0 otherwise).
size_t InclusionProofLength(uint64_t leaf_index, uint64_t tree_size);

// Number of hashes in a correct consistency proof between the two sizes.
// Requires 0 < first_size <= second_size (0 otherwise).
size_t ConsistencyProofLength(uint64_t first_size, uint64_t second_size);

// The root that `proof` leads to from `leaf_hash` at `leaf_index`, by RFC 9162
// 2.1.3.2. InvalidArgument on a bad index or proof length.
absl::StatusOr<Hash256> RootFromInclusionProof(const Hash256& leaf_hash,
                                            uint64_t leaf_index,
                                            uint64_t tree_size,
                                            absl::Span<const Hash256> proof);

// OK when `proof` shows that `leaf_hash` is leaf `leaf_index` of the tree of
// `tree_size` leaves whose root is `root`.
absl::Status VerifyInclusion(const Hash256& leaf_hash, uint64_t leaf_index,
                             uint64_t tree_size, absl::Span<const Hash256> proof,
                             const Hash256& root);

// OK when `proof` shows that the tree of `first_size` leaves with root
// `first_root` is a prefix of the tree of `second_size` leaves with root
// `second_root` (RFC 9162 2.1.4.2). Equal sizes need an empty proof and equal
// roots. first_size == 0 is InvalidArgument: the RFC defines no proof for it,
// and a verifier that has never seen a head has nothing to check.
absl::Status VerifyConsistency(uint64_t first_size, uint64_t second_size,
                               const Hash256& first_root, const Hash256& second_root,
                               absl::Span<const Hash256> proof);

// OK when the log whose leaf hashes are `leaf_hashes` (the whole log, in
// order) has `tree_size` leaves and root `root`. For recomputing a log from
// scratch; streaming callers use TreeFrontier directly.
absl::Status VerifyLogRoot(absl::Span<const Hash256> leaf_hashes,
                           uint64_t tree_size, const Hash256& root);

}  // namespace trygg::audit

#endif  // TRYGG_AUDIT_VERIFY_H_
