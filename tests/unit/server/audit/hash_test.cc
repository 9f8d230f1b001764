// SPDX-License-Identifier: Apache-2.0

#include "trygg/audit/hash.h"

#include <catch2/catch.hpp>

#include "test_util.h"
#include "test_vectors.h"

namespace trygg::audit {
namespace {

using testing::Bytes;
using testing::H;

TEST_CASE("Leaf hashes match the RFC 6962 vectors", "[audit][hash]") {
  for (size_t i = 0; i < testing::kLeafInputsHex.size(); ++i) {
    INFO("leaf " << i);
    const std::vector<uint8_t> entry = Bytes(testing::kLeafInputsHex[i]);
    CHECK(HashLeaf(entry) == H(testing::kLeafHashesHex[i]));
  }
}

TEST_CASE("Empty tree root is SHA-256 of the empty string", "[audit][hash]") {
  CHECK(EmptyTreeRoot() == H(testing::kRootsHex[0]));
}

TEST_CASE("Node hash uses the 0x01 prefix", "[audit][hash]") {
  const Hash256 left = H(testing::kLeafHashesHex[0]);
  const Hash256 right = H(testing::kLeafHashesHex[1]);
  CHECK(HashChildren(left, right) == H(testing::kRootsHex[2]));
  // Order matters: swapping children is a different node.
  CHECK(HashChildren(right, left) != H(testing::kRootsHex[2]));
  // A node is never equal to the leaf hash of its own preimage bytes.
  std::vector<uint8_t> concat(left.array().begin(), left.array().end());
  concat.insert(concat.end(), right.array().begin(), right.array().end());
  CHECK(HashLeaf(concat) != HashChildren(left, right));
}

TEST_CASE("Hash256::FromSpan rejects wrong lengths", "[audit][hash]") {
  const std::vector<uint8_t> short_bytes(31, 0);
  const std::vector<uint8_t> long_bytes(33, 0);
  CHECK(Hash256::FromSpan(short_bytes).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(Hash256::FromSpan(long_bytes).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(Hash256::FromSpan({}).status().code() ==
        absl::StatusCode::kInvalidArgument);
  const std::vector<uint8_t> exact(32, 7);
  REQUIRE(Hash256::FromSpan(exact).ok());
  CHECK(Hash256::FromSpan(exact)->array()[31] == 7);
}

TEST_CASE("Hash256::FromHex round-trips and rejects bad input", "[audit][hash]") {
  const std::string hex(testing::kRootsHex[8]);
  CHECK(H(hex).ToHex() == hex);
  std::string upper = hex;
  for (char& c : upper) c = static_cast<char>(std::toupper(c));
  CHECK(H(upper) == H(hex));
  CHECK_FALSE(Hash256::FromHex(hex.substr(1)).ok());
  CHECK_FALSE(Hash256::FromHex(hex + "0").ok());
  std::string bad = hex;
  bad[10] = 'g';
  const absl::Status status = Hash256::FromHex(bad).status();
  CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  CHECK(status.message().find("offset 10") != std::string::npos);
}

}  // namespace
}  // namespace trygg::audit
