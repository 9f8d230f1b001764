// SPDX-License-Identifier: Apache-2.0

#include "trygg/alias_index.h"

#include <sodium.h>
#include <stdlib.h>

#include <fstream>

#include <catch2/catch.hpp>

#include "crypto_test_util.h"
#include "trygg/atomic_file.h"

namespace trygg {
namespace {

using absl::StatusCode;
using testing::IdFromByte;

// Deterministic, so two encodings of one index can be compared.
class CountingRng : public Rng {
 public:
  void Fill(std::span<uint8_t> out) override {
    for (uint8_t& b : out) b = next_++;
  }

 private:
  uint8_t next_ = 1;
};

KeyStoreContents Device(uint8_t seed_byte, uint8_t org_byte = 0x0a, uint8_t device_byte = 0x0d) {
  SecretKey sign_seed;
  SecretKey box_seed;
  for (uint8_t& b : sign_seed.span()) b = seed_byte;
  for (uint8_t& b : box_seed.span()) b = static_cast<uint8_t>(seed_byte + 1);
  KeyStoreContents keys{IdFromByte(org_byte), IdFromByte(device_byte), DeviceKeys::FromSeeds(sign_seed, box_seed), {}};
  return keys;
}

std::vector<uint8_t> Sample(const KeyStoreContents& keys) {
  AliasIndex index = AliasIndex::Empty(keys);
  REQUIRE(index.Set(IdFromByte(1), "Ioana P.").ok());
  REQUIRE(index.Set(IdFromByte(2), "Åsa Öberg").ok());
  CountingRng rng;
  absl::StatusOr<std::vector<uint8_t>> file = index.Encode(rng);
  REQUIRE(file.ok());
  return *file;
}

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "trygg-alias-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::filesystem::path operator/(std::string_view name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

TEST_CASE("alias index: round trip through a file beside the key store", "[alias]") {
  TempDir dir;
  const KeyStoreContents keys = Device(7);
  const std::filesystem::path path = AliasIndexPathFor(dir / "device.keystore");
  CHECK(path.filename() == "device.keystore.aliases");

  absl::StatusOr<AliasIndex> empty = AliasIndex::Load(path, keys);
  REQUIRE(empty.ok());
  CHECK(empty->size() == 0);
  CHECK(!std::filesystem::exists(path));  // loading creates nothing

  AliasIndex index = AliasIndex::Empty(keys);
  REQUIRE(index.Set(IdFromByte(1), "Ioana P.").ok());
  REQUIRE(index.Set(IdFromByte(2), "Åsa Öberg").ok());
  REQUIRE(index.Set(IdFromByte(3), "temporary").ok());
  REQUIRE(index.Set(IdFromByte(3), "").ok());  // removes
  SystemRng rng;
  REQUIRE(index.Save(path, rng).ok());

  absl::StatusOr<AliasIndex> loaded = AliasIndex::Load(path, keys);
  REQUIRE(loaded.ok());
  CHECK(loaded->size() == 2);
  CHECK(loaded->Get(IdFromByte(1)) == "Ioana P.");
  CHECK(loaded->Get(IdFromByte(2)) == "Åsa Öberg");
  CHECK(loaded->Get(IdFromByte(3)).empty());

  // The alias is not in the file in any form.
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(bytes.find("Ioana") == std::string::npos);
  CHECK(bytes.find("Öberg") == std::string::npos);
  // Padded: magic, version, nonce, 1 KiB of plaintext, tag, checksum.
  CHECK(bytes.size() == 9 + 24 + 1024 + 16 + 32);
}

TEST_CASE("alias index: the same index encodes the same with the same randomness", "[alias]") {
  const KeyStoreContents keys = Device(7);
  CHECK(Sample(keys) == Sample(keys));
}

TEST_CASE("alias index: another device's key does not open it and nothing is returned", "[alias]") {
  const std::vector<uint8_t> file = Sample(Device(7));
  absl::StatusOr<AliasIndex> other = AliasIndex::Decode(file, Device(9));
  REQUIRE_CRYPTO_ERROR(other.status(), StatusCode::kPermissionDenied, CryptoError::kDecryptFailed);
}

TEST_CASE("alias index: the same key under another device or organisation id does not open", "[alias]") {
  const std::vector<uint8_t> file = Sample(Device(7));
  REQUIRE_CRYPTO_ERROR(AliasIndex::Decode(file, Device(7, 0x0a, 0x0e)).status(), StatusCode::kPermissionDenied,
                       CryptoError::kDecryptFailed);
  REQUIRE_CRYPTO_ERROR(AliasIndex::Decode(file, Device(7, 0x0b, 0x0d)).status(), StatusCode::kPermissionDenied,
                       CryptoError::kDecryptFailed);
}

TEST_CASE("alias index: every flipped byte is refused", "[alias]") {
  const KeyStoreContents keys = Device(7);
  const std::vector<uint8_t> file = Sample(keys);
  for (size_t i = 0; i < file.size(); ++i) {
    std::vector<uint8_t> bad = file;
    bad[i] ^= 0x01;
    absl::StatusOr<AliasIndex> opened = AliasIndex::Decode(bad, keys);
    INFO("byte " << i);
    REQUIRE(!opened.ok());
    CHECK(opened.status().code() == StatusCode::kDataLoss);  // the checksum catches it first
  }
}

TEST_CASE("alias index: altered with a recomputed checksum does not open", "[alias]") {
  const KeyStoreContents keys = Device(7);
  for (size_t at : {size_t{9}, size_t{9 + 24}, size_t{9 + 24 + 100}, size_t{9 + 24 + 1024 + 3}}) {
    std::vector<uint8_t> bad = Sample(keys);
    bad[at] ^= 0x80;
    const Hash256 sum = Blake2b256(std::span<const uint8_t>(bad).first(bad.size() - 32));
    std::copy(sum.array().begin(), sum.array().end(), bad.end() - 32);
    INFO("byte " << at);
    REQUIRE_CRYPTO_ERROR(AliasIndex::Decode(bad, keys).status(), StatusCode::kPermissionDenied,
                         CryptoError::kDecryptFailed);
  }
  // Another version number, with a good checksum: refused by its version.
  std::vector<uint8_t> v2 = Sample(keys);
  v2[8] = 2;
  const Hash256 sum = Blake2b256(std::span<const uint8_t>(v2).first(v2.size() - 32));
  std::copy(sum.array().begin(), sum.array().end(), v2.end() - 32);
  REQUIRE_CRYPTO_ERROR(AliasIndex::Decode(v2, keys).status(), StatusCode::kDataLoss, CryptoError::kUnknownFormat);
}

TEST_CASE("alias index: a truncated file is damaged, and Load leaves it in place", "[alias]") {
  TempDir dir;
  const KeyStoreContents keys = Device(7);
  const std::vector<uint8_t> file = Sample(keys);
  for (size_t len : {size_t{0}, size_t{5}, size_t{9}, size_t{60}, file.size() - 1}) {
    INFO("length " << len);
    REQUIRE_CRYPTO_ERROR(AliasIndex::Decode(std::span<const uint8_t>(file).first(len), keys).status(),
                         StatusCode::kDataLoss, CryptoError::kCorruptKeyStore);
  }
  const std::filesystem::path path = dir / "k.aliases";
  const std::vector<uint8_t> cut(file.begin(), file.end() - 10);
  REQUIRE(WriteFileAtomically(path, cut, IfExists::kReplace).ok());
  CHECK(AliasIndex::Load(path, keys).status().code() == StatusCode::kDataLoss);
  CHECK(std::filesystem::file_size(path) == cut.size());  // not replaced
}

TEST_CASE("alias index: bad aliases are refused and change nothing", "[alias]") {
  AliasIndex index = AliasIndex::Empty(Device(7));
  REQUIRE(index.Set(IdFromByte(1), "Lina").ok());
  CHECK(index.Set(IdFromByte(1), std::string(kMaxAliasBytes + 1, 'a')).code() == StatusCode::kInvalidArgument);
  CHECK(index.Set(IdFromByte(1), "\xff\xfe").code() == StatusCode::kInvalidArgument);
  CHECK(index.Set(IdFromByte(1), "a\nb").code() == StatusCode::kInvalidArgument);
  CHECK(index.Set(IdFromByte(1), "\xc3\x28").code() == StatusCode::kInvalidArgument);
  CHECK(index.Set(IdFromByte(1), "\xc0\xaf").code() == StatusCode::kInvalidArgument);  // overlong
  CHECK(index.Get(IdFromByte(1)) == "Lina");
  CHECK(index.Set(IdFromByte(2), std::string(kMaxAliasBytes, 'a')).ok());
}

TEST_CASE("alias index: search folds case, Swedish letters included", "[alias]") {
  AliasIndex index = AliasIndex::Empty(Device(7));
  REQUIRE(index.Set(IdFromByte(1), "Åsa Öberg").ok());
  REQUIRE(index.Set(IdFromByte(2), "ÄLVA ÅKESSON").ok());
  REQUIRE(index.Set(IdFromByte(3), "Ioana").ok());
  CHECK(index.Find("åsa") == std::vector<Id128>{IdFromByte(1)});
  CHECK(index.Find("ÖBERG") == std::vector<Id128>{IdFromByte(1)});
  CHECK(index.Find("älva åk") == std::vector<Id128>{IdFromByte(2)});
  CHECK(index.Find("IOANA") == std::vector<Id128>{IdFromByte(3)});
  CHECK(index.Find("a").size() == 3);
  CHECK(index.Find("").size() == 3);
  CHECK(index.Find("asa").empty());  // å is its own letter, not a
  CHECK(FoldAliasForSearch("ÅÄÖÉÜ Łódź ×") == "åäöéü łódź ×");
}

TEST_CASE("alias index: Wipe empties it and stops it sealing", "[alias]") {
  AliasIndex index = AliasIndex::Empty(Device(7));
  REQUIRE(index.Set(IdFromByte(1), "Ioana").ok());
  index.Wipe();
  CHECK(index.wiped());
  CHECK(index.size() == 0);
  CHECK(index.Get(IdFromByte(1)).empty());
  CountingRng rng;
  CHECK(index.Encode(rng).status().code() == StatusCode::kFailedPrecondition);
  CHECK(index.Set(IdFromByte(1), "x").code() == StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace trygg
