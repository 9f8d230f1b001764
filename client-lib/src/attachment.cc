// SPDX-License-Identifier: Apache-2.0

#include "trygg/attachment.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "internal/byte_codec.h"
#include "internal/secret_buffer.h"
#include "internal/sodium.h"
#include "trygg/crypto_error.h"
#include "trygg/status_macros.h"

namespace trygg {
namespace {

constexpr char kAttachmentWrapContext[] = "trgattwk";
// v2: the padded plaintext (protocol.md 6). A v1 stream's key does not unwrap
// under this label, so an unpadded stream is refused rather than misread.
constexpr std::string_view kAttachmentWrapLabel = "trygg/v2/attachment-key";
constexpr size_t kWrappedKeySize = internal::kAeadNonceSize + 32 + internal::kAeadTagSize;
constexpr size_t kStreamHeaderSize = crypto_secretstream_xchacha20poly1305_HEADERBYTES;
constexpr size_t kCipherChunkSize = kAttachmentChunkSize + kAttachmentChunkOverhead;

static_assert(kWrappedKeySize + kStreamHeaderSize == kAttachmentPreambleSize);
static_assert(crypto_secretstream_xchacha20poly1305_ABYTES == kAttachmentChunkOverhead);

std::vector<uint8_t> WrapAd(const Id128& record_id) {
  std::vector<uint8_t> ad;
  internal::ByteWriter w(ad);
  w.Bytes(AsBytes(kAttachmentWrapLabel));
  w.Bytes(record_id.span());
  return ad;
}

absl::Status AttachmentError(absl::StatusCode code, CryptoError reason,
                             std::string_view message) {
  return MakeCryptoError(code, reason, std::string("attachment: ") + std::string(message));
}

}  // namespace

// The stream state holds the chunk key, so the whole object lives in
// sodium_malloc'ed memory (locked, wiped on release).
struct AttachmentWriter::State {
  static void* operator new(size_t size) { return secret_memory::Allocate(size); }
  static void operator delete(void* ptr, size_t size) {
    secret_memory::Free(static_cast<uint8_t*>(ptr), size);
  }

  crypto_secretstream_xchacha20poly1305_state stream;
  crypto_generichash_state hash;
  ByteSink sink;
  internal::SecretBuffer plaintext{kAttachmentChunkSize};
  size_t buffered = 0;
  std::vector<uint8_t> ciphertext = std::vector<uint8_t>(kCipherChunkSize);
  uint64_t content_size = 0;
  uint64_t written = 0;
  bool finished = false;

  // Buffers `n` bytes from `source`, or `n` zeros when `source` is null. A full
  // buffer is pushed only once more data arrives, so the last chunk (possibly a
  // full one) is always the one that carries TAG_FINAL.
  absl::Status Append(const uint8_t* source, uint64_t n) {
    while (n > 0) {
      if (buffered == kAttachmentChunkSize) {
        TRYGG_RETURN_IF_ERROR(PushBuffered(crypto_secretstream_xchacha20poly1305_TAG_MESSAGE));
      }
      const size_t take =
          static_cast<size_t>(std::min<uint64_t>(n, kAttachmentChunkSize - buffered));
      if (source != nullptr) {
        std::copy_n(source, take, plaintext.data() + buffered);
        source += take;
      } else {
        std::fill_n(plaintext.data() + buffered, take, uint8_t{0});
      }
      buffered += take;
      n -= take;
    }
    return absl::OkStatus();
  }

  absl::Status Emit(std::span<const uint8_t> bytes) {
    crypto_generichash_update(&hash, bytes.data(), bytes.size());
    return sink(bytes);
  }

  absl::Status PushBuffered(uint8_t tag) {
    unsigned long long out_len = 0;
    crypto_secretstream_xchacha20poly1305_push(&stream, ciphertext.data(), &out_len,
                                               plaintext.data(), buffered, nullptr, 0, tag);
    sodium_memzero(plaintext.data(), buffered);
    buffered = 0;
    return Emit(std::span(ciphertext.data(), static_cast<size_t>(out_len)));
  }
};

AttachmentWriter::AttachmentWriter(std::unique_ptr<State> state) : state_(std::move(state)) {}
AttachmentWriter::AttachmentWriter(AttachmentWriter&&) noexcept = default;
AttachmentWriter& AttachmentWriter::operator=(AttachmentWriter&&) noexcept = default;
AttachmentWriter::~AttachmentWriter() = default;

absl::StatusOr<AttachmentWriter> AttachmentWriter::Create(const SecretKey& data_key,
                                                          const Id128& record_id,
                                                          uint64_t content_size,
                                                          ByteSink ciphertext_sink,
                                                          Rng& rng) {
  if (content_size > kMaxAttachmentContentSize) {
    return absl::InvalidArgumentError("attachment: at most 1 GiB");
  }
  internal::EnsureSodiumInitialized();
  auto state = std::unique_ptr<State>(new State);
  state->sink = std::move(ciphertext_sink);
  state->content_size = content_size;
  crypto_generichash_init(&state->hash, nullptr, 0, 32);

  SecretKey attachment_key;
  rng.Fill(attachment_key.span());
  const SecretKey wrap_key =
      internal::DeriveSubkey(data_key.span(), 1, kAttachmentWrapContext);
  std::vector<uint8_t> preamble =
      internal::AeadSeal(wrap_key.span(), attachment_key.span(), WrapAd(record_id), rng);

  // init_push draws its header from the system RNG. init_pull derives exactly the
  // same state from a given header (HChaCha20 subkey, counter 1, nonce), so
  // drawing the header from `rng` and calling init_pull keeps streams
  // reproducible under a DeterministicRng and readable by any secretstream reader.
  uint8_t header[kStreamHeaderSize];
  rng.Fill(header);
  crypto_secretstream_xchacha20poly1305_init_pull(&state->stream, header,
                                                  attachment_key.data());
  preamble.insert(preamble.end(), std::begin(header), std::end(header));
  TRYGG_CHECK(preamble.size() == kAttachmentPreambleSize);
  TRYGG_RETURN_IF_ERROR(state->Emit(preamble));
  uint8_t prefix[kAttachmentLengthPrefixSize];
  for (size_t i = 0; i < kAttachmentLengthPrefixSize; ++i) {
    prefix[i] = static_cast<uint8_t>(content_size >> (8 * (kAttachmentLengthPrefixSize - 1 - i)));
  }
  TRYGG_CHECK(state->Append(prefix, sizeof prefix).ok());  // fits the empty buffer
  return AttachmentWriter(std::move(state));
}

absl::Status AttachmentWriter::Write(std::span<const uint8_t> plaintext) {
  if (state_->finished) {
    return absl::FailedPreconditionError("attachment: writer already finished or failed");
  }
  if (plaintext.size() > state_->content_size - state_->written) {
    state_->finished = true;
    return absl::InvalidArgumentError("attachment: more bytes than the size it was created for");
  }
  state_->written += plaintext.size();
  absl::Status appended = state_->Append(plaintext.data(), plaintext.size());
  if (!appended.ok()) state_->finished = true;  // the stream is broken; never continue it
  return appended;
}

absl::StatusOr<Hash256> AttachmentWriter::Finish() {
  if (state_->finished) {
    return absl::FailedPreconditionError("attachment: writer already finished or failed");
  }
  state_->finished = true;
  if (state_->written != state_->content_size) {
    return absl::InvalidArgumentError("attachment: fewer bytes than the size it was created for");
  }
  TRYGG_RETURN_IF_ERROR(state_->Append(nullptr, PaddedAttachmentSize(state_->content_size) -
                                                    kAttachmentLengthPrefixSize -
                                                    state_->content_size));
  TRYGG_RETURN_IF_ERROR(state_->PushBuffered(crypto_secretstream_xchacha20poly1305_TAG_FINAL));
  Hash256 hash;
  crypto_generichash_final(&state_->hash, hash.data(), hash.size());
  return hash;
}

struct AttachmentReader::State {
  static void* operator new(size_t size) { return secret_memory::Allocate(size); }
  static void operator delete(void* ptr, size_t size) {
    secret_memory::Free(static_cast<uint8_t*>(ptr), size);
  }

  SecretKey wrap_key;
  std::vector<uint8_t> wrap_ad;
  Hash256 expected_hash;
  crypto_secretstream_xchacha20poly1305_state stream;
  crypto_generichash_state hash;
  ByteSink sink;
  std::vector<uint8_t> preamble;  // until kAttachmentPreambleSize bytes arrive
  std::vector<uint8_t> ciphertext = std::vector<uint8_t>(kCipherChunkSize);
  size_t buffered = 0;
  internal::SecretBuffer plaintext{kAttachmentChunkSize};
  uint64_t chunk_index = 0;
  uint8_t prefix[kAttachmentLengthPrefixSize] = {};
  uint64_t plaintext_seen = 0;  // prefix, content and padding so far
  uint64_t content_size = 0;    // valid once the prefix is complete
  uint64_t padded_size = 0;     // likewise
  bool stream_ready = false;
  bool final_seen = false;
  absl::Status failure;  // sticky: once broken, always broken
};

AttachmentReader::AttachmentReader(std::unique_ptr<State> state) : state_(std::move(state)) {}
AttachmentReader::AttachmentReader(AttachmentReader&&) noexcept = default;
AttachmentReader& AttachmentReader::operator=(AttachmentReader&&) noexcept = default;
AttachmentReader::~AttachmentReader() = default;

absl::StatusOr<AttachmentReader> AttachmentReader::Create(const SecretKey& data_key,
                                                          const Id128& record_id,
                                                          const Hash256& expected_hash,
                                                          ByteSink plaintext_sink) {
  internal::EnsureSodiumInitialized();
  auto state = std::unique_ptr<State>(new State);
  state->wrap_key = internal::DeriveSubkey(data_key.span(), 1, kAttachmentWrapContext);
  state->wrap_ad = WrapAd(record_id);
  state->expected_hash = expected_hash;
  state->sink = std::move(plaintext_sink);
  crypto_generichash_init(&state->hash, nullptr, 0, 32);
  return AttachmentReader(std::move(state));
}

absl::Status AttachmentReader::DecryptChunk(std::span<const uint8_t> chunk) {
  State& s = *state_;
  const uint64_t index = s.chunk_index++;
  unsigned long long plain_len = 0;
  unsigned char tag = 0;
  if (chunk.size() < kAttachmentChunkOverhead ||
      crypto_secretstream_xchacha20poly1305_pull(&s.stream, s.plaintext.data(), &plain_len,
                                                 &tag, chunk.data(), chunk.size(), nullptr,
                                                 0) != 0) {
    return AttachmentError(absl::StatusCode::kPermissionDenied, CryptoError::kDecryptFailed,
                           "chunk " + std::to_string(index) +
                               " fails authentication (tampered, reordered, cut, or "
                               "wrong key)");
  }
  if (tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL) {
    s.final_seen = true;
  } else if (tag != crypto_secretstream_xchacha20poly1305_TAG_MESSAGE) {
    return AttachmentError(absl::StatusCode::kInvalidArgument, CryptoError::kMalformed,
                           "chunk " + std::to_string(index) + " has an unexpected tag");
  }
  absl::Status unpadded = Unpad(std::span(s.plaintext.data(), static_cast<size_t>(plain_len)));
  sodium_memzero(s.plaintext.data(), static_cast<size_t>(plain_len));
  return unpadded;
}

// The padding is inside the authenticated chunks, so only a holder of the DEK
// can get it wrong; it is checked anyway, exactly, so that a stream has one
// reading and padding cannot carry anything (protocol.md 6).
absl::Status AttachmentReader::Unpad(std::span<const uint8_t> plaintext) {
  State& s = *state_;
  auto bad_padding = [](std::string_view why) {
    return AttachmentError(absl::StatusCode::kInvalidArgument, CryptoError::kBadPadding, why);
  };
  // Never written: the padded plaintext is at least the prefix, and a full
  // chunk is pushed only when more follows. Refused so that a stream has
  // exactly one chunking, and so one length (AttachmentStreamSize).
  if (s.final_seen && plaintext.empty()) return bad_padding("the final chunk is empty");
  while (s.plaintext_seen < kAttachmentLengthPrefixSize && !plaintext.empty()) {
    s.prefix[s.plaintext_seen++] = plaintext.front();
    plaintext = plaintext.subspan(1);
    if (s.plaintext_seen == kAttachmentLengthPrefixSize) {
      for (uint8_t byte : s.prefix) s.content_size = (s.content_size << 8) | byte;
      if (s.content_size > kMaxAttachmentContentSize) {
        return bad_padding("the length prefix is over 1 GiB");
      }
      s.padded_size = PaddedAttachmentSize(s.content_size);
    }
  }
  if (plaintext.empty()) {
    if (s.final_seen && s.plaintext_seen < kAttachmentLengthPrefixSize) {
      return bad_padding("the stream ends inside its length prefix");
    }
  } else {
    if (plaintext.size() > s.padded_size - s.plaintext_seen) {
      return bad_padding("the stream is longer than its padded size");
    }
    const uint64_t content_end = kAttachmentLengthPrefixSize + s.content_size;
    const size_t content = static_cast<size_t>(
        std::min<uint64_t>(plaintext.size(), content_end - std::min(content_end, s.plaintext_seen)));
    uint8_t nonzero = 0;
    for (uint8_t byte : plaintext.subspan(content)) nonzero |= byte;
    if (nonzero != 0) return bad_padding("the padding is not all zeros");
    s.plaintext_seen += plaintext.size();
    if (content > 0) TRYGG_RETURN_IF_ERROR(s.sink(plaintext.first(content)));
  }
  if (s.final_seen && s.plaintext_seen != s.padded_size) {
    return bad_padding("the stream is shorter than its padded size");
  }
  return absl::OkStatus();
}

absl::Status AttachmentReader::Write(std::span<const uint8_t> ciphertext) {
  State& s = *state_;
  if (!s.failure.ok()) return s.failure;
  auto fail = [&s](absl::Status status) {
    s.failure = status;
    return status;
  };
  crypto_generichash_update(&s.hash, ciphertext.data(), ciphertext.size());
  while (!ciphertext.empty()) {
    if (!s.stream_ready) {
      const size_t n =
          std::min(ciphertext.size(), kAttachmentPreambleSize - s.preamble.size());
      s.preamble.insert(s.preamble.end(), ciphertext.begin(), ciphertext.begin() + n);
      ciphertext = ciphertext.subspan(n);
      if (s.preamble.size() < kAttachmentPreambleSize) break;
      SecretKey attachment_key;
      if (!internal::AeadOpen(s.wrap_key.span(),
                              std::span(s.preamble.data(), kWrappedKeySize), s.wrap_ad,
                              attachment_key.span())) {
        return fail(AttachmentError(absl::StatusCode::kPermissionDenied,
                                    CryptoError::kDecryptFailed,
                                    "attachment key does not unwrap under this record's "
                                    "DEK"));
      }
      crypto_secretstream_xchacha20poly1305_init_pull(
          &s.stream, s.preamble.data() + kWrappedKeySize, attachment_key.data());
      s.stream_ready = true;
      continue;
    }
    if (s.final_seen) {
      return fail(AttachmentError(absl::StatusCode::kDataLoss, CryptoError::kTrailingData,
                                  "data follows the final chunk"));
    }
    const size_t n = std::min(ciphertext.size(), kCipherChunkSize - s.buffered);
    std::copy_n(ciphertext.begin(), n, s.ciphertext.begin() + s.buffered);
    s.buffered += n;
    ciphertext = ciphertext.subspan(n);
    if (s.buffered == kCipherChunkSize) {
      s.buffered = 0;
      absl::Status status = DecryptChunk(s.ciphertext);
      if (!status.ok()) return fail(status);
    }
  }
  return absl::OkStatus();
}

absl::Status AttachmentReader::Finish() {
  State& s = *state_;
  if (!s.failure.ok()) return s.failure;
  auto fail = [&s](absl::Status status) {
    s.failure = status;
    return status;
  };
  if (!s.stream_ready) {
    return fail(AttachmentError(absl::StatusCode::kDataLoss, CryptoError::kTruncated,
                                "stream ends inside its preamble"));
  }
  if (s.buffered > 0) {
    // The last chunk may be short, so its end is only known from its length:
    // a stream cut inside it and a stream with bytes appended after it both
    // fail here (trailing data after a full-size final chunk is caught in Write).
    const size_t n = s.buffered;
    s.buffered = 0;
    absl::Status last = DecryptChunk(std::span(s.ciphertext.data(), n));
    if (!last.ok() && GetCryptoError(last) != CryptoError::kDecryptFailed) return fail(last);
    if (!last.ok()) {
      return fail(AttachmentError(absl::StatusCode::kPermissionDenied,
                                  CryptoError::kDecryptFailed,
                                  "last chunk fails authentication: the stream was cut "
                                  "inside a chunk, has data after its final chunk, or was "
                                  "altered"));
    }
  }
  if (!s.final_seen) {
    return fail(AttachmentError(absl::StatusCode::kDataLoss, CryptoError::kTruncated,
                                "stream ends before its final chunk (" +
                                    std::to_string(s.chunk_index) + " chunks read)"));
  }
  Hash256 hash;
  crypto_generichash_final(&s.hash, hash.data(), hash.size());
  if (hash != s.expected_hash) {
    return fail(AttachmentError(absl::StatusCode::kPermissionDenied,
                                CryptoError::kHashMismatch,
                                "ciphertext hash differs from the one the record signed"));
  }
  return absl::OkStatus();
}

}  // namespace trygg
