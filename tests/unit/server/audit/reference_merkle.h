// SPDX-License-Identifier: Apache-2.0

// Test-only reference for RFC 9162 Merkle trees: the recursive definitions of
// MTH, PATH and PROOF/SUBPROOF (sections 2.1.1, 2.1.3.1, 2.1.4.1) written as
// literally as possible over an in-memory list of leaf hashes, so the
// incremental MerkleTree can be compared against the RFC text rather than
// against itself. Range hashes are memoised only to keep the exhaustive
// tests fast; the recursion is unchanged.
#ifndef TRYGG_TESTS_UNIT_SERVER_AUDIT_REFERENCE_MERKLE_H_
#define TRYGG_TESTS_UNIT_SERVER_AUDIT_REFERENCE_MERKLE_H_

#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include "trygg/audit/hash.h"

namespace trygg::audit::testing {

class ReferenceMerkle {
 public:
  explicit ReferenceMerkle(std::vector<Hash256> leaves)
      : leaves_(std::move(leaves)) {}

  // MTH(D[begin:end]).
  Hash256 Mth(uint64_t begin, uint64_t end) {
    const uint64_t n = end - begin;
    if (n == 0) return EmptyTreeRoot();
    if (n == 1) return leaves_[begin];
    auto it = memo_.find({begin, end});
    if (it != memo_.end()) return it->second;
    const uint64_t k = LargestPowerOfTwoBelow(n);
    const Hash256 h = HashChildren(Mth(begin, begin + k), Mth(begin + k, end));
    memo_.emplace(std::make_pair(begin, end), h);
    return h;
  }

  // PATH(m, D[begin:end]), m relative to begin.
  std::vector<Hash256> Path(uint64_t m, uint64_t begin, uint64_t end) {
    const uint64_t n = end - begin;
    if (n == 1) return {};
    const uint64_t k = LargestPowerOfTwoBelow(n);
    std::vector<Hash256> out;
    if (m < k) {
      out = Path(m, begin, begin + k);
      out.push_back(Mth(begin + k, end));
    } else {
      out = Path(m - k, begin + k, end);
      out.push_back(Mth(begin, begin + k));
    }
    return out;
  }

  // PROOF(m, D[0:n]) = SUBPROOF(m, D[0:n], true).
  std::vector<Hash256> Proof(uint64_t m, uint64_t n) {
    return SubProof(m, 0, n, true);
  }

  std::vector<Hash256> SubProof(uint64_t m, uint64_t begin, uint64_t end,
                             bool b) {
    const uint64_t n = end - begin;
    if (m == n) {
      if (b) return {};
      return {Mth(begin, end)};
    }
    const uint64_t k = LargestPowerOfTwoBelow(n);
    std::vector<Hash256> out;
    if (m <= k) {
      out = SubProof(m, begin, begin + k, b);
      out.push_back(Mth(begin + k, end));
    } else {
      out = SubProof(m - k, begin + k, end, false);
      out.push_back(Mth(begin, begin + k));
    }
    return out;
  }

 private:
  static uint64_t LargestPowerOfTwoBelow(uint64_t n) {
    uint64_t k = 1;
    while (k * 2 < n) k *= 2;
    return k;
  }

  std::vector<Hash256> leaves_;
  std::map<std::pair<uint64_t, uint64_t>, Hash256> memo_;
};

}  // namespace trygg::audit::testing

#endif  // TRYGG_TESTS_UNIT_SERVER_AUDIT_REFERENCE_MERKLE_H_
