// SPDX-License-Identifier: Apache-2.0

#include "trygg/stream_hash.h"

#include <sodium.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <vector>

#include "trygg/random.h"

namespace trygg {
namespace {

// Independent of libtrygg: libsodium's one-shot BLAKE2b-256.
Hash256 OneShot(std::span<const uint8_t> bytes) {
  Hash256 out;
  crypto_generichash(out.data(), out.size(), bytes.data(), bytes.size(), nullptr, 0);
  return out;
}

TEST_CASE("stream hash: pieces in order hash as their concatenation", "[stream_hash]") {
  DeterministicRng rng(0x5a);
  std::vector<uint8_t> data(200'000);
  rng.Fill(data);

  for (size_t piece : {size_t{1}, size_t{7}, size_t{4096}, size_t{65536 + 113}, data.size()}) {
    StreamHasher hasher;
    for (size_t at = 0; at < data.size(); at += piece) {
      hasher.Update(std::span(data).subspan(at, std::min(piece, data.size() - at)));
    }
    REQUIRE(hasher.Finish() == OneShot(data));
  }
  REQUIRE(Blake2b256(data) == OneShot(data));
}

TEST_CASE("stream hash: empty stream and empty pieces", "[stream_hash]") {
  StreamHasher empty;
  REQUIRE(empty.Finish() == OneShot({}));

  // BLAKE2b-256("abc"), RFC 7693's test input, at a 32-byte digest.
  StreamHasher abc;
  abc.Update(AsBytes("a"));
  abc.Update({});
  abc.Update(AsBytes("bc"));
  REQUIRE(HexEncode(abc.Finish().span()) == "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
}

TEST_CASE("stream hash: a moved hasher carries its state", "[stream_hash]") {
  StreamHasher first;
  first.Update(AsBytes("trygg/"));
  StreamHasher second = std::move(first);
  second.Update(AsBytes("v1"));
  REQUIRE(second.Finish() == OneShot(AsBytes("trygg/v1")));
}

}  // namespace
}  // namespace trygg
