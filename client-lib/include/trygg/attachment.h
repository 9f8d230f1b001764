// SPDX-License-Identifier: Apache-2.0

// Attachments: streaming encryption of large files (scans, photos).
//
// Purpose: an attachment is encrypted with crypto_secretstream_xchacha20poly1305
// in 64 KiB plaintext chunks under a fresh per-attachment key, which is wrapped
// by the record's DEK. The ciphertext stream is
//   wrapped_key(72) || secretstream_header(24) || chunk_0 || ... || chunk_n
// and the plaintext inside the chunks is
//   u64(content_size) || content || zeros, padded to PaddedAttachmentSize()
// (Padmé), so the stream's length, which the server sees, says only which
// bucket the file's size falls in. Every chunk but the last holds exactly
// 64 KiB of plaintext (+17 bytes) and only the last carries TAG_FINAL.
// BLAKE2b-256 of the whole stream goes into the record's signature (record.h).
// Byte layout: docs/protocol.md, "Attachments".
// Memory is constant (about two chunks) whatever the file size.
// Ownership: writer/reader own their state (in locked memory) and the sink; the
// data key is only read during Create. Move-only.
// Thread-safety: none; feed one writer or reader from one thread.
// Failure modes (tagged CryptoError): kDecryptFailed for a wrong key or a
// tampered/reordered chunk, kTruncated for a stream ending before TAG_FINAL,
// kTrailingData for bytes after it, kBadPadding for a length prefix or padding
// that is not exactly the one the writer must produce, kHashMismatch when the
// stream is not the one the record signed. AttachmentReader emits content as
// chunks authenticate; if Finish() fails, the caller must discard all of it.
// A sink's error is returned unchanged and stops the stream. A writer given
// more or fewer bytes than it was created for fails with kInvalidArgument.
#ifndef TRYGG_ATTACHMENT_H_
#define TRYGG_ATTACHMENT_H_

#include <bit>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "trygg/bytes.h"
#include "trygg/random.h"
#include "trygg/secret_bytes.h"

namespace trygg {

inline constexpr size_t kAttachmentChunkSize = 64 * 1024;
inline constexpr size_t kAttachmentChunkOverhead = 17;  // secretstream ABYTES
inline constexpr size_t kAttachmentPreambleSize = 72 + 24;
// The plaintext's length travels inside the stream, ahead of the content.
inline constexpr size_t kAttachmentLengthPrefixSize = 8;
// The largest attachment content a writer accepts (and the server stores the
// stream of): 1 GiB.
inline constexpr uint64_t kMaxAttachmentContentSize = uint64_t{1} << 30;

// Padmé (Nikitin et al., "Reducing Metadata Leakage from Encrypted Files and
// Communication with PURBs", PETS 2019): rounds n up so that only the top
// floor(log2 floor(log2 n)) + 1 bits of the result may be non-zero. It leaks
// O(log log n) bits of n and adds at most about 12% for large n.
constexpr uint64_t Padme(uint64_t n) {
  if (n < 2) return n;
  const int e = 63 - std::countl_zero(n);                          // floor(log2 n)
  const int s = 64 - std::countl_zero(static_cast<uint64_t>(e));  // floor(log2 e) + 1
  const uint64_t mask = (uint64_t{1} << (e - s)) - 1;
  return (n + mask) & ~mask;
}

// The plaintext the stream's chunks carry for `content_size` bytes of content:
// the length prefix, the content and the zero padding.
constexpr uint64_t PaddedAttachmentSize(uint64_t content_size) {
  return Padme(kAttachmentLengthPrefixSize + content_size);
}

// The exact length of the ciphertext stream for `content_size` bytes of content
// (what an uploader announces as metadata.total_size).
constexpr uint64_t AttachmentStreamSize(uint64_t content_size) {
  const uint64_t padded = PaddedAttachmentSize(content_size);
  const uint64_t chunks = (padded + kAttachmentChunkSize - 1) / kAttachmentChunkSize;
  return kAttachmentPreambleSize + padded + chunks * kAttachmentChunkOverhead;
}

// True when `stream_size` is AttachmentStreamSize(n) for some n: the length of
// a padded stream. A server refuses to store any other length.
constexpr bool IsAttachmentStreamSize(uint64_t stream_size) {
  if (stream_size < kAttachmentPreambleSize) return false;
  const uint64_t body = stream_size - kAttachmentPreambleSize;
  const uint64_t cipher_chunk = kAttachmentChunkSize + kAttachmentChunkOverhead;
  const uint64_t chunks = (body + cipher_chunk - 1) / cipher_chunk;
  if (body < chunks * kAttachmentChunkOverhead) return false;
  const uint64_t padded = body - chunks * kAttachmentChunkOverhead;
  return padded >= kAttachmentLengthPrefixSize && Padme(padded) == padded &&
         AttachmentStreamSize(padded - kAttachmentLengthPrefixSize) == stream_size;
}

inline constexpr uint64_t kMaxAttachmentStreamSize = AttachmentStreamSize(kMaxAttachmentContentSize);
inline constexpr uint64_t kMinAttachmentStreamSize = AttachmentStreamSize(0);

using ByteSink = std::function<absl::Status(std::span<const uint8_t>)>;

class AttachmentWriter {
 public:
  // Emits the preamble to `ciphertext_sink` immediately. `content_size` is the
  // exact number of bytes the caller will Write (at most
  // kMaxAttachmentContentSize, else kInvalidArgument): the padding depends on it.
  static absl::StatusOr<AttachmentWriter> Create(const SecretKey& data_key,
                                                 const Id128& record_id, uint64_t content_size,
                                                 ByteSink ciphertext_sink, Rng& rng);
  AttachmentWriter(AttachmentWriter&&) noexcept;
  AttachmentWriter& operator=(AttachmentWriter&&) noexcept;
  ~AttachmentWriter();

  // Accepts any amount up to content_size in all; emits a ciphertext chunk per
  // complete 64 KiB. More than content_size in all → kInvalidArgument.
  absl::Status Write(std::span<const uint8_t> plaintext);
  // Pads, emits the final chunk; returns BLAKE2b-256 of everything emitted.
  // Fewer than content_size bytes written → kInvalidArgument.
  absl::StatusOr<Hash256> Finish();

 private:
  struct State;
  explicit AttachmentWriter(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

class AttachmentReader {
 public:
  static absl::StatusOr<AttachmentReader> Create(const SecretKey& data_key,
                                                 const Id128& record_id,
                                                 const Hash256& expected_hash,
                                                 ByteSink plaintext_sink);
  AttachmentReader(AttachmentReader&&) noexcept;
  AttachmentReader& operator=(AttachmentReader&&) noexcept;
  ~AttachmentReader();

  // Accepts ciphertext split anywhere.
  absl::Status Write(std::span<const uint8_t> ciphertext);
  // Succeeds only if TAG_FINAL was seen, nothing followed it, the length prefix
  // and padding are exactly right, and the stream's hash equals expected_hash.
  absl::Status Finish();

 private:
  struct State;
  explicit AttachmentReader(std::unique_ptr<State> state);
  absl::Status DecryptChunk(std::span<const uint8_t> chunk);
  absl::Status Unpad(std::span<const uint8_t> plaintext);
  std::unique_ptr<State> state_;
};

}  // namespace trygg

#endif  // TRYGG_ATTACHMENT_H_
