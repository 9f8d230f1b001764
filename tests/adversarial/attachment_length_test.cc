// SPDX-License-Identifier: Apache-2.0

// Attachment length hiding (issue 11): the server sees only the Padmé bucket
// of an attachment's size, and a reader accepts exactly one padding per
// stream. The server side runs against a real tryggd; the padding side feeds
// streams made with raw libsodium (as a member holding the record's DEK could
// make them) to the real AttachmentReader.
#include <sodium.h>

#include <catch2/catch.hpp>
#include <sstream>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "testing/db_edit.h"
#include "testing/trust_world.h"
#include "trygg/attachment.h"
#include "trygg/case_client.h"
#include "trygg/crypto_error.h"
#include "trygg/record.h"
#include "trygg/v1/case.grpc.pb.h"

namespace trygg::adversarial_attachment_length {
namespace {

using testing::QueryInt;
using testing::TestDevice;
using testing::TrustWorld;

std::vector<uint8_t> Text(std::string_view s) { return {s.begin(), s.end()}; }

std::string Pattern(size_t size, uint32_t seed) {
  std::string out(size, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (char& c : out) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x);
  }
  return out;
}

struct ShelterWorld {
  TrustWorld world;
  TestDevice& admin = world.AdmitOrganisation("Skyddat boende Norr");
  TestDevice& anna = world.AddDevice(admin, Role::kCaseworker);
  TestDevice& bo = world.AddDevice(admin, Role::kCaseworker);
  CaseClient anna_cases{*anna.client, anna.keys, world.clock(), world.rng()};
  CaseClient bo_cases{*bo.client, bo.keys, world.clock(), world.rng()};
};

// What the server was told and stored for each attachment, smallest first.
std::vector<std::pair<int64_t, int64_t>> StoredSizes(const std::string& db, int count) {
  std::vector<std::pair<int64_t, int64_t>> out;
  for (int i = 0; i < count; ++i) {
    const std::string row =
        " FROM attachments ORDER BY total_size, stored_size LIMIT 1 OFFSET " + std::to_string(i);
    out.emplace_back(QueryInt(db, "SELECT total_size" + row), QueryInt(db, "SELECT stored_size" + row));
  }
  return out;
}

TEST_CASE("a server cannot tell two attachment sizes of one Padmé bucket apart", "[adversarial][attachment]") {
  ShelterWorld w;
  auto case_id = w.anna_cases.CreateCase(Text("ärende"), 1);
  REQUIRE(case_id.ok());
  // 176,000 and 175,000 bytes: both pad to 176,128 (steps of 4,096 at this size).
  const std::string passport = Pattern(176'000, 1);
  const std::string report = Pattern(175'000, 2);
  REQUIRE(PaddedAttachmentSize(passport.size()) == PaddedAttachmentSize(report.size()));
  std::istringstream passport_in(passport), report_in(report);
  auto version = w.anna_cases.AppendVersion(*case_id, Text("två skanningar"), 1,
                                            {{&passport_in, passport.size()}, {&report_in, report.size()}});
  INFO(version.status().ToString());
  REQUIRE(version.ok());

  const auto sizes = StoredSizes(w.world.db_path(), 2);
  const int64_t bucket = static_cast<int64_t>(AttachmentStreamSize(176'000));
  for (const auto& [announced, stored] : sizes) {
    CHECK(announced == bucket);  // metadata.total_size names the bucket only
    CHECK(stored == bucket);
  }
  // Before padding the stream was the size plus a constant: 176,147 bytes.
  CHECK(bucket != 176'000 + 96 + 3 * 17);
  CHECK(bucket == 96 + 176'128 + 3 * 17);
  // The reader gets the exact files back.
  std::string got;
  REQUIRE(w.bo_cases.DownloadAttachment(*case_id, 2, 1, [&](std::span<const uint8_t> bytes) {
    got.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    return absl::OkStatus();
  }).ok());
  CHECK(got == report);
}

TEST_CASE("a server sees no attachment's exact size, whatever the size", "[adversarial][attachment]") {
  ShelterWorld w;
  auto case_id = w.anna_cases.CreateCase(Text("ärende"), 1);
  REQUIRE(case_id.ok());
  const std::vector<size_t> sizes = {0, 1, 500, 65'535, 65'536, 300'001};  // ascending buckets
  std::vector<std::string> files;
  for (size_t i = 0; i < sizes.size(); ++i) files.push_back(Pattern(sizes[i], static_cast<uint32_t>(i + 10)));
  std::vector<std::istringstream> streams;
  streams.reserve(files.size());
  std::vector<AttachmentInput> inputs;
  for (const std::string& f : files) {
    streams.emplace_back(f);
    inputs.push_back({&streams.back(), f.size()});
  }
  REQUIRE(w.anna_cases.AppendVersion(*case_id, Text("bilagor"), 1, inputs).ok());
  const auto stored = StoredSizes(w.world.db_path(), static_cast<int>(sizes.size()));
  for (size_t i = 0; i < sizes.size(); ++i) {
    INFO("size " << sizes[i]);
    CHECK(stored[i].first == static_cast<int64_t>(AttachmentStreamSize(sizes[i])));
    CHECK(stored[i].second == stored[i].first);
    CHECK(IsAttachmentStreamSize(static_cast<uint64_t>(stored[i].second)));
    // One byte more or less lands in the same bucket, so the stored length
    // cannot say which it was.
    if (sizes[i] > 8) {
      CHECK((AttachmentStreamSize(sizes[i] - 1) == AttachmentStreamSize(sizes[i]) ||
             AttachmentStreamSize(sizes[i] + 1) == AttachmentStreamSize(sizes[i])));
    }
  }
}

TEST_CASE("a file shorter or longer than the size its upload announced leaves nothing stored",
          "[adversarial][attachment]") {
  // The padding depends on the size, so a stream must hold exactly the bytes
  // announced; a file that shrank while it was read (or a caller that lies
  // about its size) must not leave a stream of another length on the server.
  ShelterWorld w;
  auto case_id = w.anna_cases.CreateCase(Text("ärende"), 1);
  REQUIRE(case_id.ok());
  const std::string file = Pattern(100'000, 9);
  std::istringstream in(file);
  auto version = w.anna_cases.AppendVersion(*case_id, Text("bilaga"), 1, {{&in, file.size() + 5000}});
  CHECK(version.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(QueryInt(w.world.db_path(), "SELECT count(*) FROM attachments") == 0);
  CHECK(QueryInt(w.world.db_path(), "SELECT count(*) FROM attachment_parts") == 0);
  // Longer than announced: refused as well, with nothing stored.
  std::istringstream longer(file);
  auto grown = w.anna_cases.AppendVersion(*case_id, Text("bilaga"), 1, {{&longer, file.size() - 5000}});
  CHECK(grown.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(QueryInt(w.world.db_path(), "SELECT count(*) FROM attachments") == 0);
  CHECK(QueryInt(w.world.db_path(), "SELECT count(*) FROM attachment_parts") == 0);
  auto read = w.bo_cases.ReadCase(*case_id);
  REQUIRE(read.ok());
  CHECK(read->versions.size() == 1);  // no version names either failed upload
}

// A member's own raw upload (through the gRPC stub, as a modified client would
// send it): `total_size` and the parts as given. Returns the status code.
grpc::StatusCode RawUpload(TestDevice& device, const Id128& case_id, uint64_t total_size,
                           const std::vector<size_t>& parts) {
  auto stub = trygg::v1::CaseService::NewStub(device.client->channel());
  auto context = device.client->NewCallContext();
  trygg::v1::UploadAttachmentResponse response;
  auto writer = stub->UploadAttachment(context.get(), &response);
  trygg::v1::UploadAttachmentRequest m;
  m.mutable_metadata()->set_case_id(std::string(case_id.span().begin(), case_id.span().end()));
  m.mutable_metadata()->set_attachment_id(std::string(16, '\x42'));
  m.mutable_metadata()->set_total_size(total_size);
  bool open = writer->Write(m);
  for (size_t size : parts) {
    if (!open) break;
    trygg::v1::UploadAttachmentRequest part;
    part.set_chunk(std::string(size, 'z'));
    open = writer->Write(part);
  }
  writer->WritesDone();
  return writer->Finish().error_code();
}

TEST_CASE("a client announcing an attachment's exact unpadded size is refused and nothing is stored",
          "[adversarial][attachment]") {
  ShelterWorld w;
  auto case_id = w.anna_cases.CreateCase(Text("ärende"), 1);
  REQUIRE(case_id.ok());
  const std::string db = w.world.db_path();
  // The format-1 length of a 176,000-byte file, and a stream of that length.
  const uint64_t exact = 176'000 + 96 + 3 * 17;
  REQUIRE_FALSE(IsAttachmentStreamSize(exact));
  CHECK(RawUpload(w.anna, *case_id, exact, {96 + 65553, 65553, 176'000 - 2 * 65536 + 17}) ==
        grpc::StatusCode::INVALID_ARGUMENT);
  // A padded total_size, but a stream that stops at the exact length.
  const uint64_t bucket = AttachmentStreamSize(176'000);
  CHECK(RawUpload(w.anna, *case_id, bucket, {96 + 65553, 65553, 176'000 - 2 * 65536 + 17}) ==
        grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(QueryInt(db, "SELECT count(*) FROM attachments") == 0);
  CHECK(QueryInt(db, "SELECT count(*) FROM attachment_parts") == 0);
  // The padded stream's exact length is accepted (the server checks lengths, not content).
  CHECK(RawUpload(w.anna, *case_id, bucket, {96 + 65553, 65553, bucket - 96 - 2 * 65553}) ==
        grpc::StatusCode::OK);
  CHECK(QueryInt(db, "SELECT count(*) FROM attachments WHERE hash IS NOT NULL") == 1);
}

// A stream as a member holding the DEK could write it, with any padded
// plaintext and wrap label: raw libsodium, protocol.md section 6.
struct Crafted {
  std::vector<uint8_t> stream;
  Hash256 hash;
};

Crafted Craft(const SecretKey& dek, const Id128& record_id, const std::vector<uint8_t>& padded,
              std::string_view label = "trygg/v2/attachment-key") {
  uint8_t wrap_key[32], attachment_key[32], nonce[24];
  crypto_kdf_derive_from_key(wrap_key, 32, 1, "trgattwk", dek.data());
  randombytes_buf(attachment_key, 32);
  randombytes_buf(nonce, 24);
  std::vector<uint8_t> ad(label.begin(), label.end());
  ad.insert(ad.end(), record_id.span().begin(), record_id.span().end());
  std::vector<uint8_t> stream(nonce, nonce + 24);
  stream.resize(24 + 32 + 16);
  unsigned long long sealed_len = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(stream.data() + 24, &sealed_len, attachment_key, 32, ad.data(),
                                             ad.size(), nullptr, nonce, wrap_key);
  crypto_secretstream_xchacha20poly1305_state state;
  uint8_t header[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
  crypto_secretstream_xchacha20poly1305_init_push(&state, header, attachment_key);
  stream.insert(stream.end(), header, header + sizeof header);
  size_t offset = 0;
  do {
    const size_t n = std::min<size_t>(kAttachmentChunkSize, padded.size() - offset);
    const bool last = offset + n == padded.size();
    std::vector<uint8_t> chunk(n + kAttachmentChunkOverhead);
    crypto_secretstream_xchacha20poly1305_push(
        &state, chunk.data(), nullptr, padded.data() + offset, n, nullptr, 0,
        last ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
    stream.insert(stream.end(), chunk.begin(), chunk.end());
    offset += n;
  } while (offset < padded.size());
  return {stream, Blake2b256(stream)};
}

// u64(declared) ‖ content ‖ zeros up to `total` bytes.
std::vector<uint8_t> Padded(uint64_t declared, const std::vector<uint8_t>& content, size_t total) {
  std::vector<uint8_t> out;
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<uint8_t>(declared >> (8 * i)));
  out.insert(out.end(), content.begin(), content.end());
  out.resize(total, 0);
  return out;
}

struct ReadResult {
  absl::Status status;
  std::vector<uint8_t> content;
};

ReadResult Read(const SecretKey& dek, const Id128& record_id, const Crafted& c) {
  ReadResult out;
  auto reader = AttachmentReader::Create(dek, record_id, c.hash, [&out](std::span<const uint8_t> bytes) {
    out.content.insert(out.content.end(), bytes.begin(), bytes.end());
    return absl::OkStatus();
  });
  REQUIRE(reader.ok());
  out.status = reader->Write(c.stream);
  if (out.status.ok()) out.status = reader->Finish();
  return out;
}

bool IsBadPadding(const absl::Status& status) { return GetCryptoError(status) == CryptoError::kBadPadding; }

struct PaddingFixture {
  DeterministicRng rng{0x61};
  SecretKey dek = GenerateDataKey(rng);
  Id128 record_id{std::array<uint8_t, 16>{0x7e}};
  std::vector<uint8_t> content = Text(Pattern(100, 7));  // 108 bytes with the prefix, padded to 112
  size_t padded = PaddedAttachmentSize(content.size());
};

TEST_CASE("a correctly padded stream made outside libtrygg reads back exactly", "[adversarial][attachment]") {
  // The control for the attacks below: the crafting follows protocol.md, so
  // only the changed detail makes them fail.
  PaddingFixture f;
  for (size_t size : {size_t{0}, size_t{52}, size_t{65'528}, size_t{65'529}, size_t{140'000}}) {
    INFO("size " << size);
    std::vector<uint8_t> content(size, 0x5c);
    const Crafted c = Craft(f.dek, f.record_id, Padded(size, content, PaddedAttachmentSize(size)));
    CHECK(c.stream.size() == AttachmentStreamSize(size));
    const ReadResult r = Read(f.dek, f.record_id, c);
    CHECK(r.status.ok());
    CHECK(r.content == content);
  }
}

TEST_CASE("a member who hides data in an attachment's padding is refused by every reader",
          "[adversarial][attachment]") {
  PaddingFixture f;
  for (size_t at : {f.content.size() + 8, f.padded - 1}) {
    INFO("non-zero padding byte at " << at);
    std::vector<uint8_t> padded = Padded(f.content.size(), f.content, f.padded);
    REQUIRE(at < padded.size());
    padded[at] = 0x01;
    const ReadResult r = Read(f.dek, f.record_id, Craft(f.dek, f.record_id, padded));
    CHECK(IsBadPadding(r.status));
  }
  // Padding inside a full message chunk is checked as it arrives, not only at the end.
  std::vector<uint8_t> padded = Padded(10, std::vector<uint8_t>(10, 0x33), PaddedAttachmentSize(100'000));
  const ReadResult r = Read(f.dek, f.record_id, Craft(f.dek, f.record_id, padded));
  CHECK(IsBadPadding(r.status));  // 10 bytes declared, padded as for 100,000
}

TEST_CASE("a length prefix that lies about the content is refused", "[adversarial][attachment]") {
  PaddingFixture f;
  SECTION("claims more content than the stream holds") {
    const ReadResult r = Read(f.dek, f.record_id,
                              Craft(f.dek, f.record_id, Padded(f.content.size() + 1000, f.content, f.padded)));
    CHECK(IsBadPadding(r.status));
  }
  SECTION("claims less, so the rest would read as padding") {
    const ReadResult r =
        Read(f.dek, f.record_id, Craft(f.dek, f.record_id, Padded(4, f.content, f.padded)));
    CHECK(IsBadPadding(r.status));
    CHECK(r.content.size() <= 4);  // never more than the prefix allowed
  }
  SECTION("claims more than 1 GiB") {
    const ReadResult r = Read(f.dek, f.record_id,
                              Craft(f.dek, f.record_id, Padded(kMaxAttachmentContentSize + 1, f.content, f.padded)));
    CHECK(IsBadPadding(r.status));
    CHECK(r.content.empty());
  }
  SECTION("the stream ends inside the prefix") {
    const ReadResult r = Read(f.dek, f.record_id, Craft(f.dek, f.record_id, {0, 0, 0}));
    CHECK(IsBadPadding(r.status));
  }
}

TEST_CASE("an attachment padded to another bucket, or not at all, is refused", "[adversarial][attachment]") {
  PaddingFixture f;
  // Unpadded: the exact length, as format 1 had it (with the new wrap label).
  const ReadResult exact = Read(
      f.dek, f.record_id, Craft(f.dek, f.record_id, Padded(f.content.size(), f.content, 8 + f.content.size())));
  REQUIRE(8 + f.content.size() != f.padded);
  CHECK(IsBadPadding(exact.status));
  // The next bucket up, and a whole chunk of padding more.
  for (size_t total : {size_t{f.padded + 4}, size_t{f.padded + kAttachmentChunkSize}}) {
    INFO("padded to " << total);
    const ReadResult r =
        Read(f.dek, f.record_id, Craft(f.dek, f.record_id, Padded(f.content.size(), f.content, total)));
    CHECK(IsBadPadding(r.status));
  }
}

TEST_CASE("a member who appends an empty final chunk, changing the stream's length, is refused",
          "[adversarial][attachment]") {
  PaddingFixture f;
  // 65,528 bytes pad to exactly one chunk. The whole padded plaintext in a
  // message chunk, then an empty final one: the same content under another
  // stream length, which would leak a bit.
  const std::vector<uint8_t> content(65'528, 0x42);
  REQUIRE(PaddedAttachmentSize(content.size()) == kAttachmentChunkSize);
  const std::vector<uint8_t> padded = Padded(content.size(), content, kAttachmentChunkSize);
  uint8_t wrap_key[32], attachment_key[32], nonce[24];
  crypto_kdf_derive_from_key(wrap_key, 32, 1, "trgattwk", f.dek.data());
  randombytes_buf(attachment_key, 32);
  randombytes_buf(nonce, 24);
  const std::string label = "trygg/v2/attachment-key";
  std::vector<uint8_t> ad(label.begin(), label.end());
  ad.insert(ad.end(), f.record_id.span().begin(), f.record_id.span().end());
  std::vector<uint8_t> stream(nonce, nonce + 24);
  stream.resize(24 + 32 + 16);
  crypto_aead_xchacha20poly1305_ietf_encrypt(stream.data() + 24, nullptr, attachment_key, 32, ad.data(), ad.size(),
                                             nullptr, nonce, wrap_key);
  crypto_secretstream_xchacha20poly1305_state state;
  uint8_t header[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
  crypto_secretstream_xchacha20poly1305_init_push(&state, header, attachment_key);
  stream.insert(stream.end(), header, header + sizeof header);
  std::vector<uint8_t> chunk(padded.size() + kAttachmentChunkOverhead);
  crypto_secretstream_xchacha20poly1305_push(&state, chunk.data(), nullptr, padded.data(), padded.size(), nullptr, 0,
                                             crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
  stream.insert(stream.end(), chunk.begin(), chunk.end());
  std::vector<uint8_t> empty_final(kAttachmentChunkOverhead);
  crypto_secretstream_xchacha20poly1305_push(&state, empty_final.data(), nullptr, nullptr, 0, nullptr, 0,
                                             crypto_secretstream_xchacha20poly1305_TAG_FINAL);
  stream.insert(stream.end(), empty_final.begin(), empty_final.end());
  REQUIRE(stream.size() == AttachmentStreamSize(content.size()) + kAttachmentChunkOverhead);
  const ReadResult r = Read(f.dek, f.record_id, Crafted{stream, Blake2b256(stream)});
  CHECK(IsBadPadding(r.status));
}

TEST_CASE("a format-1 attachment stream, unpadded under the old key label, is refused",
          "[adversarial][attachment]") {
  PaddingFixture f;
  // Format 1: the plaintext was the content alone.
  const ReadResult r =
      Read(f.dek, f.record_id, Craft(f.dek, f.record_id, f.content, "trygg/v1/attachment-key"));
  CHECK(GetCryptoError(r.status) == CryptoError::kDecryptFailed);
  CHECK(r.content.empty());
}

}  // namespace
}  // namespace trygg::adversarial_attachment_length
