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
  const Hash left = H(testing::kLeafHashesHex[0]);
  const Hash right = H(testing::kLeafHashesHex[1]);
  CHECK(HashChildren(left, right) == H(testing::kRootsHex[2]));
  // Order matters: swapping children is a different node.
  CHECK(HashChildren(right, left) != H(testing::kRootsHex[2]));
  // A node is never equal to the leaf hash of its own preimage bytes.
  std::vector<uint8_t> concat(left.bytes().begin(), left.bytes().end());
  concat.insert(concat.end(), right.bytes().begin(), right.bytes().end());
  CHECK(HashLeaf(concat) != HashChildren(left, right));
}

TEST_CASE("Hash::FromBytes rejects wrong lengths", "[audit][hash]") {
  const std::vector<uint8_t> short_bytes(31, 0);
  const std::vector<uint8_t> long_bytes(33, 0);
  CHECK(Hash::FromBytes(short_bytes).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(Hash::FromBytes(long_bytes).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(Hash::FromBytes({}).status().code() ==
        absl::StatusCode::kInvalidArgument);
  const std::vector<uint8_t> exact(32, 7);
  REQUIRE(Hash::FromBytes(exact).ok());
  CHECK(Hash::FromBytes(exact)->bytes()[31] == 7);
}

TEST_CASE("Hash::FromHex round-trips and rejects bad input", "[audit][hash]") {
  const std::string hex(testing::kRootsHex[8]);
  CHECK(H(hex).ToHex() == hex);
  std::string upper = hex;
  for (char& c : upper) c = static_cast<char>(std::toupper(c));
  CHECK(H(upper) == H(hex));
  CHECK_FALSE(Hash::FromHex(hex.substr(1)).ok());
  CHECK_FALSE(Hash::FromHex(hex + "0").ok());
  std::string bad = hex;
  bad[10] = 'g';
  const absl::Status status = Hash::FromHex(bad).status();
  CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  CHECK(status.message().find("offset 10") != std::string::npos);
}

}  // namespace
}  // namespace trygg::audit
