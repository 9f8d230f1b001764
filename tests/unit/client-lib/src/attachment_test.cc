// SPDX-License-Identifier: Apache-2.0

#include "trygg/attachment.h"

#include <sys/resource.h>

#include <catch2/catch.hpp>

#include "crypto_test_util.h"
#include "trygg/record.h"

namespace trygg {
namespace {

using absl::StatusCode;
using testing::IdFromByte;

constexpr size_t kCipherChunk = kAttachmentChunkSize + kAttachmentChunkOverhead;

struct Encrypted {
  std::vector<uint8_t> stream;
  Hash256 hash;
};

std::vector<uint8_t> Pattern(size_t size) {
  std::vector<uint8_t> out(size);
  for (size_t i = 0; i < size; ++i) out[i] = static_cast<uint8_t>(i * 131 + (i >> 9));
  return out;
}

Encrypted Encrypt(const SecretKey& dek, const Id128& record_id,
                  std::span<const uint8_t> plaintext, Rng& rng, size_t piece = 1000) {
  Encrypted out;
  auto writer = AttachmentWriter::Create(
      dek, record_id, plaintext.size(),
      [&out](std::span<const uint8_t> bytes) {
        out.stream.insert(out.stream.end(), bytes.begin(), bytes.end());
        return absl::OkStatus();
      },
      rng);
  REQUIRE(writer.ok());
  for (size_t i = 0; i < plaintext.size(); i += piece) {
    REQUIRE(writer->Write(plaintext.subspan(i, std::min(piece, plaintext.size() - i))).ok());
  }
  auto hash = writer->Finish();
  REQUIRE(hash.ok());
  out.hash = *hash;
  return out;
}

// Feeds `stream` in pieces of `piece` bytes; returns the first error, or Finish().
absl::Status Decrypt(const SecretKey& dek, const Id128& record_id, const Hash256& hash,
                     std::span<const uint8_t> stream, std::vector<uint8_t>* plaintext,
                     size_t piece = 4093) {
  auto reader = AttachmentReader::Create(dek, record_id, hash,
                                         [plaintext](std::span<const uint8_t> bytes) {
                                           plaintext->insert(plaintext->end(), bytes.begin(),
                                                             bytes.end());
                                           return absl::OkStatus();
                                         });
  REQUIRE(reader.ok());
  for (size_t i = 0; i < stream.size(); i += piece) {
    absl::Status status = reader->Write(stream.subspan(i, std::min(piece, stream.size() - i)));
    if (!status.ok()) return status;
  }
  return reader->Finish();
}

struct AttachmentFixture {
  DeterministicRng rng{0x33};
  SecretKey dek = GenerateDataKey(rng);
  Id128 record_id = IdFromByte(0x7e);
};

TEST_CASE("attachments round-trip at chunk boundaries", "[attachment]") {
  AttachmentFixture f;
  for (size_t size : {size_t{0}, size_t{1}, kAttachmentChunkSize - 1, kAttachmentChunkSize,
                      kAttachmentChunkSize + 1, 3 * kAttachmentChunkSize, size_t{200'000}}) {
    INFO("size " << size);
    const std::vector<uint8_t> plaintext = Pattern(size);
    const Encrypted e = Encrypt(f.dek, f.record_id, plaintext, f.rng);
    const uint64_t padded = PaddedAttachmentSize(size);
    const uint64_t chunks = (padded + kAttachmentChunkSize - 1) / kAttachmentChunkSize;
    REQUIRE(e.stream.size() == kAttachmentPreambleSize + padded + chunks * kAttachmentChunkOverhead);
    REQUIRE(e.stream.size() == AttachmentStreamSize(size));
    REQUIRE(e.hash == Blake2b256(e.stream));
    std::vector<uint8_t> out;
    REQUIRE(Decrypt(f.dek, f.record_id, e.hash, e.stream, &out).ok());
    REQUIRE(out == plaintext);
    std::vector<uint8_t> out_bytewise;
    if (size <= kAttachmentChunkSize + 1) {
      REQUIRE(Decrypt(f.dek, f.record_id, e.hash, e.stream, &out_bytewise, 1).ok());
      REQUIRE(out_bytewise == plaintext);
    }
  }
}

TEST_CASE("a truncated attachment is refused", "[attachment]") {
  AttachmentFixture f;
  const std::vector<uint8_t> plaintext = Pattern(2 * kAttachmentChunkSize + 10);
  const Encrypted e = Encrypt(f.dek, f.record_id, plaintext, f.rng);
  std::vector<uint8_t> out;
  // Cut exactly after the first two (non-final) chunks.
  const auto at_boundary = std::span(e.stream).first(kAttachmentPreambleSize + 2 * kCipherChunk);
  REQUIRE_CRYPTO_ERROR(Decrypt(f.dek, f.record_id, e.hash, at_boundary, &out),
                       StatusCode::kDataLoss, CryptoError::kTruncated);
  // Cut inside a chunk: the partial chunk cannot authenticate.
  REQUIRE_CRYPTO_ERROR(
      Decrypt(f.dek, f.record_id, e.hash, std::span(e.stream).first(e.stream.size() - 5), &out),
      StatusCode::kPermissionDenied, CryptoError::kDecryptFailed);
  // Cut inside the preamble, or nothing at all.
  REQUIRE_CRYPTO_ERROR(Decrypt(f.dek, f.record_id, e.hash, std::span(e.stream).first(50), &out),
                       StatusCode::kDataLoss, CryptoError::kTruncated);
  REQUIRE_CRYPTO_ERROR(Decrypt(f.dek, f.record_id, e.hash, {}, &out), StatusCode::kDataLoss,
                       CryptoError::kTruncated);
}

TEST_CASE("reordered or dropped chunks are refused", "[attachment]") {
  AttachmentFixture f;
  const Encrypted e = Encrypt(f.dek, f.record_id, Pattern(3 * kAttachmentChunkSize + 10), f.rng);
  std::vector<uint8_t> swapped = e.stream;
  std::swap_ranges(swapped.begin() + kAttachmentPreambleSize,
                   swapped.begin() + kAttachmentPreambleSize + kCipherChunk,
                   swapped.begin() + kAttachmentPreambleSize + kCipherChunk);
  std::vector<uint8_t> out;
  const absl::Status status = Decrypt(f.dek, f.record_id, e.hash, swapped, &out);
  REQUIRE_CRYPTO_ERROR(status, StatusCode::kPermissionDenied, CryptoError::kDecryptFailed);
  REQUIRE(std::string(status.message()).find("chunk 0") != std::string::npos);

  std::vector<uint8_t> dropped = e.stream;
  dropped.erase(dropped.begin() + kAttachmentPreambleSize,
                dropped.begin() + kAttachmentPreambleSize + kCipherChunk);
  REQUIRE_CRYPTO_ERROR(Decrypt(f.dek, f.record_id, e.hash, dropped, &out),
                       StatusCode::kPermissionDenied, CryptoError::kDecryptFailed);
}

TEST_CASE("data after the final chunk is refused", "[attachment]") {
  AttachmentFixture f;
  std::vector<uint8_t> out;
  // After a full-size final chunk the reader knows where the stream ended.
  // (a chunk's worth of plaintext once the length prefix is added: Padmé keeps 64 KiB)
  Encrypted full = Encrypt(f.dek, f.record_id, Pattern(kAttachmentChunkSize - kAttachmentLengthPrefixSize), f.rng);
  REQUIRE(full.stream.size() == kAttachmentPreambleSize + kCipherChunk);
  full.stream.push_back(0);
  REQUIRE_CRYPTO_ERROR(Decrypt(f.dek, f.record_id, full.hash, full.stream, &out),
                       StatusCode::kDataLoss, CryptoError::kTrailingData);
  // After a short final chunk the extra bytes make the last chunk fail.
  Encrypted short_final = Encrypt(f.dek, f.record_id, Pattern(100), f.rng);
  short_final.stream.push_back(0);
  const absl::Status status =
      Decrypt(f.dek, f.record_id, short_final.hash, short_final.stream, &out);
  REQUIRE_CRYPTO_ERROR(status, StatusCode::kPermissionDenied, CryptoError::kDecryptFailed);
  REQUIRE(std::string(status.message()).find("data after its final chunk") != std::string::npos);
}

TEST_CASE("wrong key, wrong record, wrong hash, flipped bits", "[attachment]") {
  AttachmentFixture f;
  const Encrypted e = Encrypt(f.dek, f.record_id, Pattern(70'000), f.rng);
  std::vector<uint8_t> out;
  const SecretKey other_dek = GenerateDataKey(f.rng);
  REQUIRE_CRYPTO_ERROR(Decrypt(other_dek, f.record_id, e.hash, e.stream, &out),
                       StatusCode::kPermissionDenied, CryptoError::kDecryptFailed);
  REQUIRE_CRYPTO_ERROR(Decrypt(f.dek, IdFromByte(1), e.hash, e.stream, &out),
                       StatusCode::kPermissionDenied, CryptoError::kDecryptFailed);
  REQUIRE_CRYPTO_ERROR(Decrypt(f.dek, f.record_id, Blake2b256(testing::Text("not the stream")), e.stream, &out),
                       StatusCode::kPermissionDenied, CryptoError::kHashMismatch);
  for (size_t i : {size_t{0}, size_t{71}, size_t{72}, size_t{95}, size_t{96}, size_t{5000},
                   e.stream.size() - 1}) {
    std::vector<uint8_t> t = e.stream;
    t[i] ^= 0x01;
    INFO("byte " << i);
    REQUIRE_CRYPTO_ERROR(Decrypt(f.dek, f.record_id, e.hash, t, &out),
                         StatusCode::kPermissionDenied, CryptoError::kDecryptFailed);
  }
}

TEST_CASE("a sink error stops the stream and is returned unchanged", "[attachment]") {
  AttachmentFixture f;
  auto writer = AttachmentWriter::Create(
      f.dek, f.record_id, 0,
      [](std::span<const uint8_t>) { return absl::UnavailableError("disk full"); }, f.rng);
  REQUIRE(writer.status().code() == StatusCode::kUnavailable);

  SECTION("in the writer, mid-stream: the writer stays broken") {
    int calls = 0;
    const std::vector<uint8_t> data = Pattern(3 * kAttachmentChunkSize + 10);
    auto failing = AttachmentWriter::Create(
        f.dek, f.record_id, data.size(),
        [&calls](std::span<const uint8_t>) {
          return ++calls == 3 ? absl::UnavailableError("disk full") : absl::OkStatus();
        },
        f.rng);
    REQUIRE(failing.ok());
    absl::Status status;
    for (size_t i = 0; i < data.size() && status.ok(); i += 4096) {
      status = failing->Write(std::span(data).subspan(i, std::min<size_t>(4096, data.size() - i)));
    }
    CHECK(status.code() == StatusCode::kUnavailable);
    CHECK(status.message() == "disk full");
    CHECK(failing->Write(data).code() == StatusCode::kFailedPrecondition);
    CHECK(failing->Finish().status().code() == StatusCode::kFailedPrecondition);
  }
  SECTION("in the reader: returned, and every later call returns it") {
    const std::vector<uint8_t> data = Pattern(2 * kAttachmentChunkSize);
    const Encrypted enc = Encrypt(f.dek, f.record_id, data, f.rng);
    int calls = 0;
    auto reader = AttachmentReader::Create(f.dek, f.record_id, enc.hash, [&calls](std::span<const uint8_t>) {
      return ++calls == 1 ? absl::ResourceExhaustedError("no room") : absl::OkStatus();
    });
    REQUIRE(reader.ok());
    absl::Status status;
    for (size_t i = 0; i < enc.stream.size() && status.ok(); i += 5000) {
      status = reader->Write(std::span(enc.stream).subspan(i, std::min<size_t>(5000, enc.stream.size() - i)));
    }
    CHECK(status.code() == StatusCode::kResourceExhausted);
    CHECK(reader->Write(std::span(enc.stream).first(10)).code() == StatusCode::kResourceExhausted);
    CHECK(reader->Finish().code() == StatusCode::kResourceExhausted);
  }
}

TEST_CASE("a finished writer refuses more", "[attachment]") {
  AttachmentFixture f;
  std::vector<uint8_t> out;
  auto writer = AttachmentWriter::Create(
      f.dek, f.record_id, 100,
      [&out](std::span<const uint8_t> bytes) {
        out.insert(out.end(), bytes.begin(), bytes.end());
        return absl::OkStatus();
      },
      f.rng);
  REQUIRE(writer.ok());
  REQUIRE(writer->Write(Pattern(100)).ok());
  REQUIRE(writer->Finish().ok());
  const size_t size = out.size();
  CHECK(writer->Write(Pattern(10)).code() == StatusCode::kFailedPrecondition);
  CHECK(writer->Finish().status().code() == StatusCode::kFailedPrecondition);
  CHECK(out.size() == size);  // nothing more was emitted
}

TEST_CASE("a writer given more or fewer bytes than its size refuses to finish", "[attachment]") {
  AttachmentFixture f;
  auto sink = [](std::span<const uint8_t>) { return absl::OkStatus(); };
  auto longer = AttachmentWriter::Create(f.dek, f.record_id, 10, sink, f.rng);
  REQUIRE(longer.ok());
  CHECK(longer->Write(Pattern(11)).code() == StatusCode::kInvalidArgument);
  CHECK(longer->Finish().status().code() == StatusCode::kFailedPrecondition);
  auto shorter = AttachmentWriter::Create(f.dek, f.record_id, 10, sink, f.rng);
  REQUIRE(shorter.ok());
  REQUIRE(shorter->Write(Pattern(9)).ok());
  CHECK(shorter->Finish().status().code() == StatusCode::kInvalidArgument);
  CHECK(AttachmentWriter::Create(f.dek, f.record_id, kMaxAttachmentContentSize + 1, sink, f.rng)
            .status()
            .code() == StatusCode::kInvalidArgument);
}

TEST_CASE("Padmé keeps a few significant bits and adds at most 12% past 256 bytes", "[attachment]") {
  CHECK(Padme(0) == 0);
  CHECK(Padme(1) == 1);
  CHECK(Padme(8) == 8);
  CHECK(Padme(9) == 10);            // E = 3, S = 2: multiples of 2
  CHECK(Padme(176'008) == 176'128);  // E = 17, S = 5: multiples of 4096
  CHECK(Padme(uint64_t{1} << 30) == uint64_t{1} << 30);
  CHECK(Padme((uint64_t{1} << 30) + 1) == (uint64_t{1} << 30) + (uint64_t{1} << 25));
  uint64_t previous = 0;
  for (uint64_t n = 1; n < 300'000; n += (n < 5000 ? 1 : 97)) {
    const uint64_t p = Padme(n);
    INFO("n " << n << " padded " << p);
    REQUIRE(p >= n);
    REQUIRE(p >= previous);  // monotone
    REQUIRE(Padme(p) == p);  // a bucket pads to itself
    if (n >= 256) REQUIRE(p - n <= n * 12 / 100);
    previous = p;
  }
}

long MaxRssKib() {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

// Streams `total` bytes through a writer whose output feeds a reader directly.
// The hash is only known at the end, so the writer runs twice from the same
// deterministic seed: once to learn the hash, once into the reader.
void StreamThrough(size_t total) {
  const std::vector<uint8_t> piece = Pattern(1 << 20);
  const Id128 record_id = IdFromByte(0x7e);
  const long rss_before = MaxRssKib();

  Hash256 hash;
  {
    DeterministicRng rng{0x33};
    const SecretKey dek = GenerateDataKey(rng);
    auto writer = AttachmentWriter::Create(
        dek, record_id, total, [](std::span<const uint8_t>) { return absl::OkStatus(); }, rng);
    REQUIRE(writer.ok());
    for (size_t done = 0; done < total; done += piece.size()) REQUIRE(writer->Write(piece).ok());
    auto h = writer->Finish();
    REQUIRE(h.ok());
    hash = *h;
  }
  DeterministicRng rng{0x33};
  const SecretKey dek = GenerateDataKey(rng);
  size_t plaintext_seen = 0;
  auto reader = AttachmentReader::Create(dek, record_id, hash,
                                         [&plaintext_seen](std::span<const uint8_t> bytes) {
                                           plaintext_seen += bytes.size();
                                           return absl::OkStatus();
                                         });
  REQUIRE(reader.ok());
  auto writer = AttachmentWriter::Create(
      dek, record_id, total,
      [&reader](std::span<const uint8_t> bytes) { return reader->Write(bytes); }, rng);
  REQUIRE(writer.ok());
  for (size_t done = 0; done < total; done += piece.size()) REQUIRE(writer->Write(piece).ok());
  REQUIRE(writer->Finish().ok());
  REQUIRE(reader->Finish().ok());
  REQUIRE(plaintext_seen == total);
  // Peak RSS grew by far less than the data streamed (allow 16 MiB of noise).
  REQUIRE(MaxRssKib() - rss_before < 16 * 1024);
}

// Issue 3's measure: 1 GiB through writer and reader (about 5 s; 7 MiB peak
// RSS on the development VM).
TEST_CASE("streaming 1 GiB uses constant memory", "[attachment]") {
  StreamThrough(size_t{1} << 30);
}

}  // namespace
}  // namespace trygg
