// SPDX-License-Identifier: Apache-2.0

// Attachment streams (trygg/attachment.h) as a device downloads them from a
// server it does not trust, split into chunks wherever the network splits
// them.
//
// The first byte picks a mode:
//   0: the rest is a ciphertext stream, read under a fixed key with its own
//      hash as the expected one (so the reader gets as far as decryption),
//      split at points the input gives; it never crashes and, a forgery
//      being out of reach, never succeeds;
//   1: a real stream of the input's content (up to 150 KiB, so it crosses a
//      chunk boundary), read back split at the input's points: it must give
//      back the content exactly; then one flipped byte, a cut, an extra byte
//      or another expected hash must each fail.
#include <cstdint>
#include <cstring>
#include <vector>

#include "fuzz/fuzz_input.h"
#include "fuzz/fuzz_keys.h"
#include "trygg/attachment.h"
#include "trygg/random.h"
#include "trygg/stream_hash.h"

namespace trygg::fuzz {
namespace {

const Id128 kRecord = Id128(std::array<uint8_t, 16>{7});

// Feeds `stream` to a reader in pieces whose sizes come from `splits`.
absl::Status Read(std::span<const uint8_t> stream, const Hash256& expected, std::span<const uint8_t> splits,
                  std::vector<uint8_t>& out) {
  absl::StatusOr<AttachmentReader> reader =
      AttachmentReader::Create(FixedSecretKey(5), kRecord, expected, [&out](std::span<const uint8_t> plain) {
        out.insert(out.end(), plain.begin(), plain.end());
        return absl::OkStatus();
      });
  if (!reader.ok()) return reader.status();
  size_t at = 0;
  size_t split = 0;
  while (at < stream.size()) {
    size_t piece = splits.empty() ? stream.size() : 1 + splits[split++ % splits.size()] * 97u;
    piece = std::min(piece, stream.size() - at);
    absl::Status written = reader->Write(stream.subspan(at, piece));
    if (!written.ok()) return written;
    at += piece;
  }
  return reader->Finish();
}

Hash256 HashOf(std::span<const uint8_t> bytes) {
  StreamHasher hasher;
  hasher.Update(bytes);
  return hasher.Finish();
}

void Raw(FuzzInput& in) {
  std::span<const uint8_t> splits = in.ShortBytes();
  std::span<const uint8_t> stream = in.Rest();
  std::vector<uint8_t> out;
  TRYGG_FUZZ_CHECK(!Read(stream, HashOf(stream), splits, out).ok());
}

void RoundTrip(FuzzInput& in) {
  std::span<const uint8_t> splits = in.ShortBytes();
  const uint32_t flip_at = in.U32();
  const uint32_t extra = in.U32() % (96 * 1024);
  std::vector<uint8_t> content = in.Vector(in.remaining());
  // Repeat the content to cross a 64 KiB chunk boundary now and then.
  const size_t target = content.size() + extra;
  for (size_t i = content.size(); i < target; ++i) content.push_back(static_cast<uint8_t>(i));

  std::vector<uint8_t> stream;
  DeterministicRng rng(0x77);
  absl::StatusOr<AttachmentWriter> writer =
      AttachmentWriter::Create(FixedSecretKey(5), kRecord, content.size(), [&stream](std::span<const uint8_t> c) {
        stream.insert(stream.end(), c.begin(), c.end());
        return absl::OkStatus();
      }, rng);
  TRYGG_FUZZ_CHECK(writer.ok());
  TRYGG_FUZZ_CHECK(writer->Write(content).ok());
  absl::StatusOr<Hash256> hash = writer->Finish();
  TRYGG_FUZZ_CHECK(hash.ok());
  TRYGG_FUZZ_CHECK(IsAttachmentStreamSize(stream.size()));
  TRYGG_FUZZ_CHECK(stream.size() == AttachmentStreamSize(content.size()));

  std::vector<uint8_t> out;
  TRYGG_FUZZ_CHECK(Read(stream, *hash, splits, out).ok());
  TRYGG_FUZZ_CHECK(out == content);

  std::vector<uint8_t> bad = stream;
  bad[flip_at % bad.size()] ^= 0x01;
  out.clear();
  TRYGG_FUZZ_CHECK(!Read(bad, *hash, splits, out).ok());
  out.clear();
  TRYGG_FUZZ_CHECK(!Read(std::span<const uint8_t>(stream).first(flip_at % stream.size()), *hash, splits, out).ok());
  bad = stream;
  bad.push_back(0);
  out.clear();
  TRYGG_FUZZ_CHECK(!Read(bad, *hash, splits, out).ok());
  Hash256 other = *hash;
  other.data()[flip_at % 32] ^= 0x01;
  out.clear();
  TRYGG_FUZZ_CHECK(!Read(stream, other, splits, out).ok());
}

}  // namespace
}  // namespace trygg::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  trygg::fuzz::FuzzInput in(data, size);
  if (in.Byte() % 2 == 0) {
    trygg::fuzz::Raw(in);
  } else {
    trygg::fuzz::RoundTrip(in);
  }
  return 0;
}
