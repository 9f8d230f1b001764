// SPDX-License-Identifier: Apache-2.0

// Small helpers shared by the audit tests: hex parsing that fails the test on
// bad input, deterministic leaves, and trees built by appending.
#ifndef TRYGG_TESTS_UNIT_SERVER_AUDIT_TEST_UTIL_H_
#define TRYGG_TESTS_UNIT_SERVER_AUDIT_TEST_UTIL_H_

#include <catch2/catch.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "trygg/audit/hash.h"
#include "server/audit/memory_node_store.h"
#include "server/audit/merkle_tree.h"
#include "server/audit/node_store.h"

namespace trygg::audit::testing {

inline Hash256 H(std::string_view hex) {
  absl::StatusOr<Hash256> hash = Hash256::FromHex(hex);
  REQUIRE(hash.ok());
  return *hash;
}

inline std::vector<Hash256> Hashes(const std::vector<std::string_view>& hex) {
  std::vector<Hash256> out;
  for (std::string_view h : hex) out.push_back(H(h));
  return out;
}

inline std::vector<uint8_t> Bytes(std::string_view hex) {
  std::vector<uint8_t> out;
  REQUIRE(hex.size() % 2 == 0);
  for (size_t i = 0; i < hex.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(
        std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

// Distinct, deterministic entries: "entry <i>".
inline std::vector<Hash256> MakeLeafHashes(uint64_t n) {
  std::vector<Hash256> out;
  out.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    out.push_back(HashLeaf("entry " + std::to_string(i)));
  }
  return out;
}

// A store and a tree over it, filled by appending one leaf at a time.
struct TestTree {
  explicit TestTree(const std::vector<Hash256>& leaves) : tree(&store) {
    for (const Hash256& leaf : leaves) {
      REQUIRE(tree.AppendLeafHashes(absl::MakeConstSpan(&leaf, 1)).ok());
    }
  }
  MemoryNodeStore store;
  MerkleTree tree;
};

template <typename T>
T Unwrap(absl::StatusOr<T> value) {
  INFO(value.status().ToString());
  REQUIRE(value.ok());
  return *std::move(value);
}

}  // namespace trygg::audit::testing

#endif  // TRYGG_TESTS_UNIT_SERVER_AUDIT_TEST_UTIL_H_
