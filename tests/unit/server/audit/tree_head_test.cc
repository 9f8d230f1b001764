// SPDX-License-Identifier: Apache-2.0

#include "trygg/audit/tree_head.h"

#include <catch2/catch.hpp>

#include <string>

#include "test_util.h"
#include "trygg/random.h"
#include "trygg/signing.h"

namespace trygg::audit {
namespace {

using testing::Bytes;
using testing::H;

TreeHead ExampleHead() {
  TreeHead head;
  head.tree_size = 0x0102030405060708;
  head.timestamp_ms = 1700000000123;  // 2023-11-14T22:13:20.123Z
  head.root_hash =
      H("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328");
  return head;
}

// Byte-exact vector for docs/audit.md, so another implementation can check
// its encoder against ours.
TEST_CASE("Tree head encoding is byte exact", "[audit][tree_head]") {
  const EncodedTreeHead encoded = EncodeTreeHead(ExampleHead());
  const std::vector<uint8_t> want = Bytes(
      "01"
      "0102030405060708"
      "0000018bcfe5687b"
      "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328");
  REQUIRE(want.size() == kEncodedTreeHeadSize);
  CHECK(std::vector<uint8_t>(encoded.begin(), encoded.end()) == want);
}

TEST_CASE("Tree head round-trips, including extreme values",
          "[audit][tree_head]") {
  for (const int64_t timestamp :
       {int64_t{0}, int64_t{-1}, INT64_MIN, INT64_MAX, int64_t{1700000000123}}) {
    for (const uint64_t size : {uint64_t{0}, uint64_t{1}, UINT64_MAX}) {
      TreeHead head = ExampleHead();
      head.tree_size = size;
      head.timestamp_ms = timestamp;
      const EncodedTreeHead encoded = EncodeTreeHead(head);
      const absl::StatusOr<TreeHead> decoded = DecodeTreeHead(encoded);
      REQUIRE(decoded.ok());
      CHECK(*decoded == head);
    }
  }
}

TEST_CASE("Tree head decoding is strict", "[audit][tree_head]") {
  const EncodedTreeHead encoded = EncodeTreeHead(ExampleHead());
  std::vector<uint8_t> bytes(encoded.begin(), encoded.end());

  SECTION("every wrong length is refused") {
    for (size_t length = 0; length <= kEncodedTreeHeadSize + 16; ++length) {
      if (length == kEncodedTreeHeadSize) continue;
      std::vector<uint8_t> resized = bytes;
      resized.resize(length, 0);
      const absl::Status status = DecodeTreeHead(resized).status();
      INFO("length " << length);
      CHECK(status.code() == absl::StatusCode::kInvalidArgument);
      CHECK(status.message().find("49 bytes") != std::string::npos);
    }
  }
  SECTION("an unknown version is refused") {
    for (int version : {0, 2, 255}) {
      bytes[0] = static_cast<uint8_t>(version);
      const absl::Status status = DecodeTreeHead(bytes).status();
      CHECK(status.code() == absl::StatusCode::kInvalidArgument);
      CHECK(status.message().find("version") != std::string::npos);
    }
  }
}

TEST_CASE("A tree head signature verifies under the server key and nothing else",
          "[audit][tree_head]") {
  DeterministicRng rng(uint8_t{7});
  const SigningKeyPair server = GenerateSigningKeyPair(rng);
  const SigningKeyPair other = GenerateSigningKeyPair(rng);
  audit::SignedTreeHead signed_head{ExampleHead(), {}};
  const EncodedTreeHead bytes = EncodeTreeHead(signed_head.head);
  signed_head.signature = Sign(server, SigningContext::kTreeHead, bytes);
  CHECK(VerifyTreeHeadSignature(signed_head, server.public_key).ok());

  const absl::Status wrong_key = VerifyTreeHeadSignature(signed_head, other.public_key);
  CHECK(wrong_key.code() == absl::StatusCode::kPermissionDenied);
  CHECK(wrong_key.message().find("size 72623859790382856") != std::string::npos);

  audit::SignedTreeHead grown = signed_head;
  grown.head.tree_size += 1;
  CHECK(VerifyTreeHeadSignature(grown, server.public_key).code() == absl::StatusCode::kPermissionDenied);

  // The same bytes signed in another context are not a tree head signature.
  audit::SignedTreeHead listing = signed_head;
  listing.signature = Sign(server, SigningContext::kListing, bytes);
  CHECK(VerifyTreeHeadSignature(listing, server.public_key).code() == absl::StatusCode::kPermissionDenied);
}

}  // namespace
}  // namespace trygg::audit
