// Attachments: streaming encryption of large files (scans, photos).
//
// Purpose: an attachment is encrypted with crypto_secretstream_xchacha20poly1305
// in 64 KiB plaintext chunks under a fresh per-attachment key, which is wrapped
// by the record's DEK. The ciphertext stream is
//   wrapped_key(72) || secretstream_header(24) || chunk_0 || ... || chunk_n
// where every chunk but the last holds exactly 64 KiB of plaintext (+17 bytes)
// and only the last carries TAG_FINAL. BLAKE2b-256 of the whole stream goes into
// the record's signature (record.h). Byte layout: docs/protocol.md, "Attachments".
// Memory is constant (about two chunks) whatever the file size.
// Ownership: writer/reader own their state (in locked memory) and the sink; the
// data key is only read during Create. Move-only.
// Thread-safety: none; feed one writer or reader from one thread.
// Failure modes (tagged CryptoError): kDecryptFailed for a wrong key or a
// tampered/reordered chunk, kTruncated for a stream ending before TAG_FINAL,
// kTrailingData for bytes after it, kHashMismatch when the stream is not the
// one the record signed. AttachmentReader emits plaintext as chunks
// authenticate; if Finish() fails, the caller must discard all of it.
// A sink's error is returned unchanged and stops the stream.
#ifndef TRYGG_ATTACHMENT_H_
#define TRYGG_ATTACHMENT_H_

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

using ByteSink = std::function<absl::Status(std::span<const uint8_t>)>;

class AttachmentWriter {
 public:
  // Emits the preamble to `ciphertext_sink` immediately.
  static absl::StatusOr<AttachmentWriter> Create(const SecretKey& data_key,
                                                 const Id128& record_id,
                                                 ByteSink ciphertext_sink, Rng& rng);
  AttachmentWriter(AttachmentWriter&&) noexcept;
  AttachmentWriter& operator=(AttachmentWriter&&) noexcept;
  ~AttachmentWriter();

  // Accepts any amount; emits a ciphertext chunk per complete 64 KiB.
  absl::Status Write(std::span<const uint8_t> plaintext);
  // Emits the final chunk; returns BLAKE2b-256 of everything emitted.
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
  // Succeeds only if TAG_FINAL was seen, nothing followed it, and the stream's
  // hash equals expected_hash.
  absl::Status Finish();

 private:
  struct State;
  explicit AttachmentReader(std::unique_ptr<State> state);
  absl::Status DecryptChunk(std::span<const uint8_t> chunk);
  std::unique_ptr<State> state_;
};

}  // namespace trygg

#endif  // TRYGG_ATTACHMENT_H_
