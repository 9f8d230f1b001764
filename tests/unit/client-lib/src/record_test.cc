// SPDX-License-Identifier: Apache-2.0

#include "trygg/record.h"

#include <sodium.h>

#include <catch2/catch.hpp>

#include "crypto_test_util.h"
#include "trygg/signing.h"

namespace trygg {
namespace {

using testing::IdFromByte;
using testing::Text;
using absl::StatusCode;

struct RecordFixture {
  DeterministicRng rng{0x11};
  FixedClock clock{1767225600000};
  SigningKeyPair author = GenerateSigningKeyPair(rng);
  SecretKey scope_key = GenerateDataKey(rng);
  RecordDraft draft;
  RecordExpectation expected;

  RecordFixture() {
    draft.case_id = IdFromByte(1);
    draft.scope_id = IdFromByte(2);
    draft.epoch = 3;
    draft.record_id = IdFromByte(4);
    draft.author_org = IdFromByte(5);
    draft.author_device = IdFromByte(6);
    draft.content_type = 7;
    expected.case_id = draft.case_id;
    expected.scope_id = draft.scope_id;
    expected.epoch = draft.epoch;
  }

  SealedRecord Seal(uint64_t version, const Hash256& prev_hash, std::string_view text,
                    std::vector<Hash256> attachments = {}) {
    RecordDraft d = draft;
    d.version = version;
    d.prev_hash = prev_hash;
    const SecretKey dek = GenerateDataKey(rng);
    auto record = SealRecord(d, Text(text), attachments, dek, scope_key, author, clock, rng);
    REQUIRE(record.ok());
    return *std::move(record);
  }

  absl::Status Open(const SealedRecord& record) {
    RecordChainState chain;
    return OpenRecord(record, expected, author.public_key, scope_key, chain).status();
  }
};

TEST_CASE("record seals and opens", "[record]") {
  RecordFixture f;
  const SealedRecord record = f.Seal(1, Hash256(), "hello survivor support");
  REQUIRE(record.header.size() == kRecordHeaderSize);
  REQUIRE(record.wrapped_dek.size() == kWrappedDekSize);
  REQUIRE(record.body.size() == 24 + 1024 + 16);

  RecordChainState chain;
  auto opened = OpenRecord(record, f.expected, f.author.public_key, f.scope_key, chain);
  REQUIRE(opened.ok());
  REQUIRE(opened->plaintext == Text("hello survivor support"));
  REQUIRE(opened->header.version == 1);
  REQUIRE(opened->header.content_type == 7);
  REQUIRE(opened->header.created_at_ms == 1767225600000);
  REQUIRE(opened->record_hash == RecordHash(record));
  REQUIRE(chain.highest_version == 1);
  REQUIRE(chain.highest_hash == RecordHash(record));
}

TEST_CASE("record header round-trips through the parser", "[record]") {
  RecordFixture f;
  const SealedRecord record = f.Seal(1, Hash256(), "x");
  auto header = ParseRecordHeader(record.header);
  REQUIRE(header.ok());
  REQUIRE(header->case_id == f.draft.case_id);
  REQUIRE(header->scope_id == f.draft.scope_id);
  REQUIRE(header->epoch == 3);
  REQUIRE(header->record_id == f.draft.record_id);
  REQUIRE(header->author_org == f.draft.author_org);
  REQUIRE(header->author_device == f.draft.author_device);
  REQUIRE(header->padded_len == 1024);
  const auto bytes = SerializeRecordHeader(*header);
  REQUIRE(std::vector<uint8_t>(bytes.begin(), bytes.end()) == record.header);
  REQUIRE_CRYPTO_ERROR(ParseRecordHeader(std::span(record.header).first(143)).status(),
                       StatusCode::kInvalidArgument, CryptoError::kMalformed);
}

TEST_CASE("padding hides the exact plaintext length", "[record]") {
  RecordFixture f;
  REQUIRE(f.Seal(1, Hash256(), "a").body.size() ==
          f.Seal(1, Hash256(), std::string(1000, 'b')).body.size());
  REQUIRE(f.Seal(1, Hash256(), std::string(1024, 'c')).body.size() == 24 + 2048 + 16);
}

TEST_CASE("sealing is deterministic under injected randomness and time", "[record]") {
  RecordFixture a;
  RecordFixture b;
  const SealedRecord ra = a.Seal(1, Hash256(), "same");
  const SealedRecord rb = b.Seal(1, Hash256(), "same");
  REQUIRE(ra.header == rb.header);
  REQUIRE(ra.body == rb.body);
  REQUIRE(ra.signature == rb.signature);
}

TEST_CASE("a flipped bit in any header byte is caught with the right error", "[record]") {
  RecordFixture f;
  const SealedRecord record = f.Seal(1, Hash256(), "header bits");
  for (size_t i = 0; i < kRecordHeaderSize; ++i) {
    for (int bit : {0, 7}) {
      SealedRecord tampered = record;
      tampered.header[i] ^= static_cast<uint8_t>(1 << bit);
      INFO("header byte " << i << " bit " << bit);
      const absl::Status status = f.Open(tampered);
      if (i < 4) {
        REQUIRE_CRYPTO_ERROR(status, StatusCode::kInvalidArgument, CryptoError::kUnknownMagic);
      } else if (i == 4) {
        REQUIRE_CRYPTO_ERROR(status, StatusCode::kFailedPrecondition,
                             CryptoError::kUnknownFormat);
      } else if (i == 5) {
        REQUIRE_CRYPTO_ERROR(status, StatusCode::kFailedPrecondition,
                             CryptoError::kUnknownSuite);
      } else if (i >= 140) {  // padded_len no longer matches the body
        REQUIRE_CRYPTO_ERROR(status, StatusCode::kInvalidArgument, CryptoError::kMalformed);
      } else {
        REQUIRE_CRYPTO_ERROR(status, StatusCode::kPermissionDenied,
                             CryptoError::kBadSignature);
      }
    }
  }
}

TEST_CASE("a flipped bit in wrapped_dek, body, signature or attachment hash fails the "
          "signature",
          "[record]") {
  RecordFixture f;
  const SealedRecord record =
      f.Seal(1, Hash256(), "payload", {Blake2b256(Text("a1")), Blake2b256(Text("a2"))});
  REQUIRE(f.Open(record).ok());
  for (size_t i = 0; i < record.wrapped_dek.size(); ++i) {
    SealedRecord t = record;
    t.wrapped_dek[i] ^= 0x01;
    INFO("wrapped_dek byte " << i);
    REQUIRE_CRYPTO_ERROR(f.Open(t), StatusCode::kPermissionDenied, CryptoError::kBadSignature);
  }
  for (size_t i = 0; i < record.body.size(); i += 7) {
    SealedRecord t = record;
    t.body[i] ^= 0x80;
    INFO("body byte " << i);
    REQUIRE_CRYPTO_ERROR(f.Open(t), StatusCode::kPermissionDenied, CryptoError::kBadSignature);
  }
  for (size_t i = 0; i < Signature::kSize; ++i) {
    SealedRecord t = record;
    t.signature.data()[i] ^= 0x01;
    INFO("signature byte " << i);
    REQUIRE_CRYPTO_ERROR(f.Open(t), StatusCode::kPermissionDenied, CryptoError::kBadSignature);
  }
  for (size_t a = 0; a < 2; ++a) {
    SealedRecord t = record;
    t.attachment_hashes[a].data()[31] ^= 0x01;
    REQUIRE_CRYPTO_ERROR(f.Open(t), StatusCode::kPermissionDenied, CryptoError::kBadSignature);
  }
  SealedRecord dropped = record;
  dropped.attachment_hashes.pop_back();
  REQUIRE_CRYPTO_ERROR(f.Open(dropped), StatusCode::kPermissionDenied,
                       CryptoError::kBadSignature);
  SealedRecord reordered = record;
  std::swap(reordered.attachment_hashes[0], reordered.attachment_hashes[1]);
  REQUIRE_CRYPTO_ERROR(f.Open(reordered), StatusCode::kPermissionDenied,
                       CryptoError::kBadSignature);
}

TEST_CASE("headers swapped between two records fail the signature", "[record]") {
  RecordFixture f;
  SealedRecord a = f.Seal(1, Hash256(), "record A");
  f.draft.record_id = IdFromByte(0x42);  // same case, scope, epoch; another record
  f.clock.Advance(1);
  SealedRecord b = f.Seal(1, Hash256(), "record B");
  REQUIRE(a.header != b.header);
  std::swap(a.header, b.header);
  REQUIRE_CRYPTO_ERROR(f.Open(a), StatusCode::kPermissionDenied, CryptoError::kBadSignature);
  REQUIRE_CRYPTO_ERROR(f.Open(b), StatusCode::kPermissionDenied, CryptoError::kBadSignature);
  // Swapping the wrapped DEKs as well is still caught.
  std::swap(a.wrapped_dek, b.wrapped_dek);
  REQUIRE_CRYPTO_ERROR(f.Open(a), StatusCode::kPermissionDenied, CryptoError::kBadSignature);
}

TEST_CASE("wrong author key, wrong scope key", "[record]") {
  RecordFixture f;
  const SealedRecord record = f.Seal(1, Hash256(), "keys");
  RecordChainState chain;
  const SigningKeyPair other_author = GenerateSigningKeyPair(f.rng);
  REQUIRE_CRYPTO_ERROR(
      OpenRecord(record, f.expected, other_author.public_key, f.scope_key, chain).status(),
      StatusCode::kPermissionDenied, CryptoError::kBadSignature);
  const SecretKey other_scope_key = GenerateDataKey(f.rng);
  REQUIRE_CRYPTO_ERROR(
      OpenRecord(record, f.expected, f.author.public_key, other_scope_key, chain).status(),
      StatusCode::kPermissionDenied, CryptoError::kDecryptFailed);
  REQUIRE(chain.highest_version == 0);  // failures never advance the chain
}

TEST_CASE("a record for another case, scope or epoch is refused", "[record]") {
  RecordFixture f;
  const SealedRecord record = f.Seal(1, Hash256(), "bound fields");
  RecordChainState chain;
  RecordExpectation e = f.expected;
  e.case_id = IdFromByte(0x99);
  REQUIRE_CRYPTO_ERROR(OpenRecord(record, e, f.author.public_key, f.scope_key, chain).status(),
                       StatusCode::kInvalidArgument, CryptoError::kWrongCase);
  e = f.expected;
  e.scope_id = IdFromByte(0x99);
  REQUIRE_CRYPTO_ERROR(OpenRecord(record, e, f.author.public_key, f.scope_key, chain).status(),
                       StatusCode::kInvalidArgument, CryptoError::kWrongScope);
  e = f.expected;
  e.epoch = 4;
  REQUIRE_CRYPTO_ERROR(OpenRecord(record, e, f.author.public_key, f.scope_key, chain).status(),
                       StatusCode::kInvalidArgument, CryptoError::kWrongEpoch);
  e = f.expected;
  e.min_format = 2;
  REQUIRE_CRYPTO_ERROR(OpenRecord(record, e, f.author.public_key, f.scope_key, chain).status(),
                       StatusCode::kFailedPrecondition, CryptoError::kFormatTooOld);
}

TEST_CASE("the version chain refuses rollback, fork, gaps and broken links", "[record]") {
  RecordFixture f;
  const SealedRecord v1 = f.Seal(1, Hash256(), "v1");
  const SealedRecord v2 = f.Seal(2, RecordHash(v1), "v2");
  const SealedRecord v2_fork = f.Seal(2, RecordHash(v1), "v2, another history");
  const SealedRecord v3 = f.Seal(3, RecordHash(v2), "v3");
  const SealedRecord v3_on_fork = f.Seal(3, RecordHash(v2_fork), "v3 on the fork");

  RecordChainState chain;
  auto open = [&](const SealedRecord& r) {
    return OpenRecord(r, f.expected, f.author.public_key, f.scope_key, chain).status();
  };
  REQUIRE(open(v1).ok());
  REQUIRE_CRYPTO_ERROR(open(v3), StatusCode::kAborted, CryptoError::kBrokenChain);  // gap
  REQUIRE(open(v2).ok());
  REQUIRE(open(v2).ok());  // re-reading the same version is harmless
  REQUIRE_CRYPTO_ERROR(open(v2_fork), StatusCode::kAborted, CryptoError::kFork);
  REQUIRE_CRYPTO_ERROR(open(v3_on_fork), StatusCode::kAborted, CryptoError::kBrokenChain);
  REQUIRE(open(v3).ok());
  REQUIRE_CRYPTO_ERROR(open(v1), StatusCode::kAborted, CryptoError::kRollback);  // replay
  REQUIRE_CRYPTO_ERROR(open(v2), StatusCode::kAborted, CryptoError::kRollback);
  REQUIRE(chain.highest_version == 3);
  REQUIRE(chain.highest_hash == RecordHash(v3));

  // A fresh reader (e.g. a referral receiver) may anchor at any version.
  RecordChainState fresh;
  REQUIRE(OpenRecord(v3, f.expected, f.author.public_key, f.scope_key, fresh).ok());

  // The chain state of one record does not apply to another.
  f.draft.record_id = IdFromByte(0x44);
  const SealedRecord other = f.Seal(2, RecordHash(v1), "other record");
  REQUIRE_CRYPTO_ERROR(open(other), StatusCode::kAborted, CryptoError::kBrokenChain);
}

TEST_CASE("version and prev_hash must agree", "[record]") {
  RecordFixture f;
  const SecretKey dek = GenerateDataKey(f.rng);
  RecordDraft d = f.draft;
  d.version = 1;
  d.prev_hash = Blake2b256(Text("not zero"));
  REQUIRE(SealRecord(d, Text("x"), {}, dek, f.scope_key, f.author, f.clock, f.rng).status().code() ==
          StatusCode::kInvalidArgument);
  d.version = 2;
  d.prev_hash = Hash256();
  REQUIRE(SealRecord(d, Text("x"), {}, dek, f.scope_key, f.author, f.clock, f.rng).status().code() ==
          StatusCode::kInvalidArgument);
  d.version = 0;
  REQUIRE(SealRecord(d, Text("x"), {}, dek, f.scope_key, f.author, f.clock, f.rng).status().code() ==
          StatusCode::kInvalidArgument);
  REQUIRE(SealRecord(f.draft, Text("x"), {}, dek, f.scope_key, f.author, f.clock, f.rng, 0)
              .status()
              .code() == StatusCode::kInvalidArgument);
}

// A validly signed and encrypted record whose padded plaintext has no 0x80
// marker: only a broken or malicious author makes one.
TEST_CASE("bad padding is reported as such", "[record]") {
  RecordFixture f;
  RecordHeader header;
  header.case_id = f.draft.case_id;
  header.scope_id = f.draft.scope_id;
  header.epoch = f.draft.epoch;
  header.record_id = f.draft.record_id;
  header.version = 1;
  header.padded_len = 256;
  const auto header_bytes = SerializeRecordHeader(header);
  SealedRecord record;
  record.header.assign(header_bytes.begin(), header_bytes.end());
  const Hash256 ad = Blake2b256(record.header);
  uint8_t dek[32] = {9};
  const std::vector<uint8_t> zeros(256, 0);

  auto encrypt = [&](const uint8_t* key, std::span<const uint8_t> pt) {
    std::vector<uint8_t> out(24 + pt.size() + 16);
    randombytes_buf(out.data(), 24);
    crypto_aead_xchacha20poly1305_ietf_encrypt(out.data() + 24, nullptr, pt.data(), pt.size(),
                                               ad.data(), ad.size(), nullptr, out.data(), key);
    return out;
  };
  record.wrapped_dek = encrypt(f.scope_key.data(), std::span<const uint8_t>(dek, 32));
  record.body = encrypt(dek, zeros);
  const std::vector<uint8_t> signed_bytes = RecordSignedBytes(record);
  crypto_sign_detached(record.signature.data(), nullptr, signed_bytes.data(),
                       signed_bytes.size(), f.author.secret_key.data());
  REQUIRE_CRYPTO_ERROR(f.Open(record), StatusCode::kInvalidArgument, CryptoError::kBadPadding);
}

TEST_CASE("the signed bytes are the context, a zero byte and the documented fields",
          "[record]") {
  RecordFixture f;
  const SealedRecord record = f.Seal(1, Hash256(), "s", {Blake2b256(Text("a"))});
  const std::vector<uint8_t> signed_bytes = RecordSignedBytes(record);
  const std::string_view context = "trygg/v1/record";
  REQUIRE(signed_bytes.size() == context.size() + 1 + 144 + 32 + 32 + 2 + 32);
  REQUIRE(std::string(signed_bytes.begin(), signed_bytes.begin() + context.size()) == context);
  REQUIRE(signed_bytes[context.size()] == 0);
  REQUIRE(crypto_sign_verify_detached(record.signature.data(), signed_bytes.data(),
                                      signed_bytes.size(), f.author.public_key.data()) == 0);
}

}  // namespace
}  // namespace trygg
