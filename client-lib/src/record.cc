// SPDX-License-Identifier: Apache-2.0

#include "trygg/record.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "internal/byte_codec.h"
#include "internal/sodium.h"
#include "trygg/crypto_error.h"
#include "trygg/status_macros.h"

namespace trygg {
namespace {

constexpr uint8_t kRecordMagic[4] = {'T', 'R', 'G', '1'};

absl::Status RecordError(absl::StatusCode code, CryptoError reason,
                         std::string_view message) {
  return MakeCryptoError(code, reason, std::string("record: ") + std::string(message));
}

// header || H(wrapped_dek) || H(body) || u16be(n) || attachment_hash[0..n).
std::vector<uint8_t> RecordMessage(std::span<const uint8_t> header,
                                   std::span<const uint8_t> wrapped_dek,
                                   std::span<const uint8_t> body,
                                   std::span<const Hash256> attachment_hashes) {
  std::vector<uint8_t> message;
  message.reserve(header.size() + 32 + 32 + 2 + 32 * attachment_hashes.size());
  internal::ByteWriter w(message);
  w.Bytes(header);
  w.Bytes(Blake2b256(wrapped_dek).span());
  w.Bytes(Blake2b256(body).span());
  TRYGG_CHECK(attachment_hashes.size() <= kMaxAttachmentsPerRecord);
  w.U16(static_cast<uint16_t>(attachment_hashes.size()));
  for (const Hash256& hash : attachment_hashes) w.Bytes(hash.span());
  return message;
}

}  // namespace

std::array<uint8_t, kRecordHeaderSize> SerializeRecordHeader(const RecordHeader& header) {
  std::vector<uint8_t> out;
  out.reserve(kRecordHeaderSize);
  internal::ByteWriter w(out);
  w.Bytes(kRecordMagic);
  w.U8(header.format);
  w.U8(header.suite);
  w.Bytes(header.case_id.span());
  w.Bytes(header.scope_id.span());
  w.U32(header.epoch);
  w.Bytes(header.record_id.span());
  w.U64(header.version);
  w.Bytes(header.prev_hash.span());
  w.Bytes(header.author_org.span());
  w.Bytes(header.author_device.span());
  w.I64(header.created_at_ms);
  w.U16(header.content_type);
  w.U32(header.padded_len);
  TRYGG_CHECK(out.size() == kRecordHeaderSize);
  std::array<uint8_t, kRecordHeaderSize> bytes;
  std::copy(out.begin(), out.end(), bytes.begin());
  return bytes;
}

absl::StatusOr<RecordHeader> ParseRecordHeader(std::span<const uint8_t> bytes) {
  if (bytes.size() != kRecordHeaderSize) {
    return RecordError(absl::StatusCode::kInvalidArgument, CryptoError::kMalformed,
                       "header must be " + std::to_string(kRecordHeaderSize) +
                           " bytes, got " + std::to_string(bytes.size()));
  }
  internal::ByteReader r(bytes);
  uint8_t magic[4];
  r.Bytes(magic);
  if (!std::equal(std::begin(magic), std::end(magic), std::begin(kRecordMagic))) {
    return RecordError(absl::StatusCode::kInvalidArgument, CryptoError::kUnknownMagic,
                       "header does not start with \"TRG1\"");
  }
  RecordHeader header;
  header.format = r.U8();
  if (header.format != kRecordFormatV1) {
    return RecordError(absl::StatusCode::kFailedPrecondition, CryptoError::kUnknownFormat,
                       "unknown record format " + std::to_string(header.format) +
                           " (this client knows format 1)");
  }
  header.suite = r.U8();
  if (header.suite != kRecordSuiteV1) {
    return RecordError(absl::StatusCode::kFailedPrecondition, CryptoError::kUnknownSuite,
                       "unknown algorithm suite " + std::to_string(header.suite) +
                           " (this client knows suite 1)");
  }
  r.Bytes(header.case_id.span());
  r.Bytes(header.scope_id.span());
  header.epoch = r.U32();
  r.Bytes(header.record_id.span());
  header.version = r.U64();
  r.Bytes(header.prev_hash.span());
  r.Bytes(header.author_org.span());
  r.Bytes(header.author_device.span());
  header.created_at_ms = r.I64();
  header.content_type = r.U16();
  header.padded_len = r.U32();
  TRYGG_CHECK(r.exhausted());
  return header;
}

std::vector<uint8_t> RecordSignedBytes(const SealedRecord& record) {
  return SignedBytes(SigningContext::kRecord,
                     RecordMessage(record.header, record.wrapped_dek, record.body,
                                   record.attachment_hashes));
}

absl::Status VerifyRecordSignature(const SealedRecord& record, const SignPublicKey& author) {
  TRYGG_ASSIGN_OR_RETURN(RecordHeader header, ParseRecordHeader(record.header));
  if (record.wrapped_dek.size() != kWrappedDekSize ||
      record.body.size() != size_t{24} + header.padded_len + 16 ||
      record.attachment_hashes.size() > kMaxAttachmentsPerRecord) {
    return MakeCryptoError(absl::StatusCode::kInvalidArgument, CryptoError::kMalformed,
                           "record: parts do not have the sizes the header gives");
  }
  return Verify(author, SigningContext::kRecord,
                RecordMessage(record.header, record.wrapped_dek, record.body, record.attachment_hashes),
                record.signature);
}

Hash256 RecordHash(const SealedRecord& record) {
  std::vector<uint8_t> bytes(record.header);
  bytes.insert(bytes.end(), record.signature.array().begin(),
               record.signature.array().end());
  return Blake2b256(bytes);
}

SecretKey GenerateDataKey(Rng& rng) {
  SecretKey key;
  rng.Fill(key.span());
  return key;
}

absl::StatusOr<SealedRecord> SealRecord(const RecordDraft& draft,
                                        std::span<const uint8_t> plaintext,
                                        std::span<const Hash256> attachment_hashes,
                                        const SecretKey& data_key,
                                        const SecretKey& scope_key,
                                        const SigningKeyPair& author, Clock& clock,
                                        Rng& rng, size_t pad_block_size) {
  internal::EnsureSodiumInitialized();
  if (pad_block_size == 0) {
    return absl::InvalidArgumentError("record: pad_block_size must be positive");
  }
  if (draft.version == 0) {
    return absl::InvalidArgumentError("record: versions start at 1");
  }
  if ((draft.version == 1) != draft.prev_hash.IsZero()) {
    return absl::InvalidArgumentError(
        "record: prev_hash must be all zero for version 1 and only for version 1");
  }
  if (attachment_hashes.size() > kMaxAttachmentsPerRecord) {
    return absl::InvalidArgumentError("record: more than 65535 attachments");
  }
  // sodium_pad always adds at least one byte (its 0x80 marker).
  const size_t padded_len = (plaintext.size() / pad_block_size + 1) * pad_block_size;
  if (padded_len > std::numeric_limits<uint32_t>::max() || padded_len < plaintext.size()) {
    return absl::InvalidArgumentError("record: plaintext too large");
  }

  RecordHeader header;
  header.case_id = draft.case_id;
  header.scope_id = draft.scope_id;
  header.epoch = draft.epoch;
  header.record_id = draft.record_id;
  header.version = draft.version;
  header.prev_hash = draft.prev_hash;
  header.author_org = draft.author_org;
  header.author_device = draft.author_device;
  header.created_at_ms = clock.NowUnixMillis();
  header.content_type = draft.content_type;
  header.padded_len = static_cast<uint32_t>(padded_len);

  SealedRecord record;
  const auto header_bytes = SerializeRecordHeader(header);
  record.header.assign(header_bytes.begin(), header_bytes.end());
  const Hash256 ad = Blake2b256(record.header);

  record.wrapped_dek = internal::AeadSeal(scope_key.span(), data_key.span(), ad.span(), rng);

  // Pad and encrypt in place in the body buffer: one allocation, one copy.
  constexpr size_t kNonce = internal::kAeadNonceSize;
  record.body.resize(kNonce + padded_len + internal::kAeadTagSize);
  uint8_t* const nonce = record.body.data();
  uint8_t* const payload = record.body.data() + kNonce;
  rng.Fill(std::span(nonce, kNonce));
  // sodium_pad's output, written directly: 0x80 then zeros (resize zeroed the
  // buffer). sodium_pad's constant-time loop over a whole block cost 6% of
  // sealing; the length it would hide is the author's own plaintext's.
  std::copy(plaintext.begin(), plaintext.end(), payload);
  payload[plaintext.size()] = 0x80;
  crypto_aead_xchacha20poly1305_ietf_encrypt(payload, nullptr, payload, padded_len,
                                             ad.data(), ad.size(), nullptr, nonce,
                                             data_key.data());

  record.attachment_hashes.assign(attachment_hashes.begin(), attachment_hashes.end());
  record.signature = Sign(author, SigningContext::kRecord,
                          RecordMessage(record.header, record.wrapped_dek, record.body,
                                        record.attachment_hashes));
  return record;
}

namespace {

// Applies the version-chain rules of record.h to a signed, authentic header.
absl::Status CheckChain(const RecordHeader& header, const Hash256& record_hash,
                        const RecordChainState& chain) {
  if (header.version == 0) {
    return RecordError(absl::StatusCode::kAborted, CryptoError::kBrokenChain,
                       "version 0 does not exist");
  }
  if ((header.version == 1) != header.prev_hash.IsZero()) {
    return RecordError(absl::StatusCode::kAborted, CryptoError::kBrokenChain,
                       "prev_hash must be zero exactly for version 1");
  }
  if (chain.highest_version == 0) return absl::OkStatus();
  if (chain.record_id != header.record_id) {
    return RecordError(absl::StatusCode::kAborted, CryptoError::kBrokenChain,
                       "chain state belongs to another record");
  }
  const std::string seen = std::to_string(chain.highest_version);
  if (header.version < chain.highest_version) {
    return RecordError(absl::StatusCode::kAborted, CryptoError::kRollback,
                       "version " + std::to_string(header.version) +
                           " is older than version " + seen + " already seen");
  }
  if (header.version == chain.highest_version) {
    if (record_hash == chain.highest_hash) return absl::OkStatus();
    return RecordError(absl::StatusCode::kAborted, CryptoError::kFork,
                       "a different version " + seen + " was already seen (fork)");
  }
  if (header.version > chain.highest_version + 1) {
    return RecordError(absl::StatusCode::kAborted, CryptoError::kBrokenChain,
                       "versions " + std::to_string(chain.highest_version + 1) + " to " +
                           std::to_string(header.version - 1) +
                           " are missing; open them in order first");
  }
  if (header.prev_hash != chain.highest_hash) {
    return RecordError(absl::StatusCode::kAborted, CryptoError::kBrokenChain,
                       "prev_hash does not match version " + seen + " already seen");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<OpenedRecord> OpenRecord(const SealedRecord& record,
                                        const RecordExpectation& expected,
                                        const SignPublicKey& author_key,
                                        const SecretKey& scope_key,
                                        RecordChainState& chain) {
  internal::EnsureSodiumInitialized();
  TRYGG_ASSIGN_OR_RETURN(RecordHeader header, ParseRecordHeader(record.header));
  if (header.format < expected.min_format) {
    return RecordError(absl::StatusCode::kFailedPrecondition, CryptoError::kFormatTooOld,
                       "format " + std::to_string(header.format) +
                           " is below this client's minimum " +
                           std::to_string(expected.min_format));
  }
  if (record.wrapped_dek.size() != kWrappedDekSize) {
    return RecordError(absl::StatusCode::kInvalidArgument, CryptoError::kMalformed,
                       "wrapped DEK must be " + std::to_string(kWrappedDekSize) + " bytes");
  }
  const uint64_t expected_body_size = uint64_t{internal::kAeadNonceSize} +
                                      header.padded_len + internal::kAeadTagSize;
  if (record.body.size() != expected_body_size) {
    return RecordError(absl::StatusCode::kInvalidArgument, CryptoError::kMalformed,
                       "body is " + std::to_string(record.body.size()) +
                           " bytes but the header announces " +
                           std::to_string(expected_body_size));
  }
  if (record.attachment_hashes.size() > kMaxAttachmentsPerRecord) {
    return RecordError(absl::StatusCode::kInvalidArgument, CryptoError::kMalformed,
                       "more than 65535 attachment hashes");
  }
  if (!Verify(author_key, SigningContext::kRecord,
              RecordMessage(record.header, record.wrapped_dek, record.body,
                            record.attachment_hashes),
              record.signature)
           .ok()) {
    return RecordError(absl::StatusCode::kPermissionDenied, CryptoError::kBadSignature,
                       "signature does not verify under the author's key");
  }
  if (header.case_id != expected.case_id) {
    return RecordError(absl::StatusCode::kInvalidArgument, CryptoError::kWrongCase,
                       "record belongs to another case");
  }
  if (header.scope_id != expected.scope_id) {
    return RecordError(absl::StatusCode::kInvalidArgument, CryptoError::kWrongScope,
                       "record is in another scope");
  }
  if (header.epoch != expected.epoch) {
    return RecordError(absl::StatusCode::kInvalidArgument, CryptoError::kWrongEpoch,
                       "record is for epoch " + std::to_string(header.epoch) +
                           ", expected " + std::to_string(expected.epoch));
  }
  const Hash256 record_hash = RecordHash(record);
  TRYGG_RETURN_IF_ERROR(CheckChain(header, record_hash, chain));

  const Hash256 ad = Blake2b256(record.header);
  OpenedRecord opened;
  if (!internal::AeadOpen(scope_key.span(), record.wrapped_dek, ad.span(),
                          opened.data_key.span())) {
    return RecordError(absl::StatusCode::kPermissionDenied, CryptoError::kDecryptFailed,
                       "wrapped DEK does not decrypt under this scope key");
  }
  std::vector<uint8_t> padded(header.padded_len);
  if (!internal::AeadOpen(opened.data_key.span(), record.body, ad.span(), padded)) {
    return RecordError(absl::StatusCode::kPermissionDenied, CryptoError::kDecryptFailed,
                       "body does not decrypt under the record's DEK");
  }
  // Unpadding (ISO/IEC 7816-4, as sodium_pad): drop trailing zeros, then the 0x80
  // marker. The block size is not in the header and not needed. This runs only
  // on plaintext the AEAD has already authenticated, so a plain scan is safe
  // and avoids sodium_unpad's constant-time pass over the whole buffer (which
  // cost 14% of opening a 4 KiB record).
  size_t unpadded_len = padded.size();
  while (unpadded_len > 0 && padded[unpadded_len - 1] == 0x00) --unpadded_len;
  if (unpadded_len == 0 || padded[unpadded_len - 1] != 0x80) {
    sodium_memzero(padded.data(), padded.size());
    return RecordError(absl::StatusCode::kInvalidArgument, CryptoError::kBadPadding,
                       "body padding is invalid");
  }
  --unpadded_len;
  padded.resize(unpadded_len);
  opened.plaintext = std::move(padded);
  opened.header = header;
  opened.record_hash = record_hash;

  chain.record_id = header.record_id;
  if (header.version > chain.highest_version) {
    chain.highest_version = header.version;
    chain.highest_hash = record_hash;
  }
  return opened;
}

}  // namespace trygg
