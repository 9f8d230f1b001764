// SPDX-License-Identifier: Apache-2.0

// Record envelopes: one signed, encrypted version of a case record.
//
// Purpose: implements DESIGN.md "Records".
//   header      = fixed 144-byte big-endian header (RecordHeader, below)
//   wrapped_dek = nonce(24) || XChaCha20-Poly1305(CK_e, DEK, ad = H(header))
//   body        = nonce(24) || XChaCha20-Poly1305(DEK, sodium_pad(pt, block),
//                                                 ad = H(header))
//   signature   = Ed25519 over "trygg/v1/record" || 0x00 || header ||
//                 H(wrapped_dek) || H(body) || u16be(n) || attachment_hash[0..n)
//   H = BLAKE2b-256. Next version's prev_hash = H(header || signature).
// Byte layouts: docs/protocol.md, "Records". ParseRecordHeader is also what the
// server uses to read routing metadata; it authenticates nothing.
// Ownership: SealedRecord is a plain value; OpenedRecord owns the DEK in
// SecretBytes (kept so attachments can be opened) and the plaintext.
// Thread-safety: pure functions; RecordChainState is a value the caller
// persists per (case_id, record_id) and must not share unsynchronised.
// Failure modes: every failure of OpenRecord carries a distinct CryptoError
// (see crypto_error.h); the chain state is only advanced on success.
#ifndef TRYGG_RECORD_H_
#define TRYGG_RECORD_H_

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "trygg/bytes.h"
#include "trygg/random.h"
#include "trygg/secret_bytes.h"
#include "trygg/signing.h"

namespace trygg {

inline constexpr uint8_t kRecordFormatV1 = 1;
// Suite 1: Ed25519, XChaCha20-Poly1305-IETF, BLAKE2b-256, sodium_pad.
inline constexpr uint8_t kRecordSuiteV1 = 1;
inline constexpr size_t kRecordHeaderSize = 144;
inline constexpr size_t kWrappedDekSize = 24 + 32 + 16;
// Plaintexts are padded to a multiple of this (docs/protocol.md explains 1 KiB).
inline constexpr size_t kDefaultPadBlockSize = 1024;
inline constexpr size_t kMaxAttachmentsPerRecord = 0xFFFF;

struct RecordHeader {
  uint8_t format = kRecordFormatV1;
  uint8_t suite = kRecordSuiteV1;
  Id128 case_id;
  Id128 scope_id;
  uint32_t epoch = 0;
  Id128 record_id;
  uint64_t version = 0;  // 1 for the first version
  Hash256 prev_hash;     // all zero for version 1
  Id128 author_org;
  Id128 author_device;
  int64_t created_at_ms = 0;
  uint16_t content_type = 0;
  uint32_t padded_len = 0;
};

std::array<uint8_t, kRecordHeaderSize> SerializeRecordHeader(const RecordHeader& header);

// Checks length, magic, and that format and suite are known. Does not verify
// anything cryptographically.
absl::StatusOr<RecordHeader> ParseRecordHeader(std::span<const uint8_t> bytes);

struct SealedRecord {
  std::vector<uint8_t> header;       // kRecordHeaderSize bytes
  std::vector<uint8_t> wrapped_dek;  // kWrappedDekSize bytes
  std::vector<uint8_t> body;         // 24 + padded_len + 16 bytes
  std::vector<Hash256> attachment_hashes;
  Signature signature;
};

// The exact bytes given to crypto_sign_detached for this record.
std::vector<uint8_t> RecordSignedBytes(const SealedRecord& record);

// Checks the author's signature and the sizes of the parts, without any key to
// open the record: what a server can check before storing an envelope.
absl::Status VerifyRecordSignature(const SealedRecord& record, const SignPublicKey& author);

// H(header || signature): the next version's prev_hash.
Hash256 RecordHash(const SealedRecord& record);

// A fresh data key (DEK). Generate one per record version; it also wraps that
// version's attachment keys, so make it before writing attachments.
SecretKey GenerateDataKey(Rng& rng);

// Everything in the header that the author chooses.
struct RecordDraft {
  Id128 case_id;
  Id128 scope_id;
  uint32_t epoch = 0;
  Id128 record_id;
  uint64_t version = 1;
  Hash256 prev_hash;
  Id128 author_org;
  Id128 author_device;
  uint16_t content_type = 0;
};

// Fails with InvalidArgument for pad_block_size 0, a padded plaintext over
// 2^32-1 bytes, more than kMaxAttachmentsPerRecord hashes, version 0, or a
// prev_hash that is zero exactly when the version is not 1.
absl::StatusOr<SealedRecord> SealRecord(const RecordDraft& draft,
                                        std::span<const uint8_t> plaintext,
                                        std::span<const Hash256> attachment_hashes,
                                        const SecretKey& data_key,
                                        const SecretKey& scope_key,
                                        const SigningKeyPair& author, Clock& clock,
                                        Rng& rng,
                                        size_t pad_block_size = kDefaultPadBlockSize);

// What the client has seen of one record (case_id, record_id): the highest
// version opened and its RecordHash. highest_version 0 means nothing yet.
// Rules (docs/protocol.md, "Version chain"): below highest -> kRollback; equal
// with another hash -> kFork (equal and same hash is a harmless re-read); one
// above -> prev_hash must equal highest_hash, else kBrokenChain; more than one
// above -> kBrokenChain (open the missing versions first). With nothing seen,
// any version is accepted as the anchor (e.g. a referral shares one version).
// Independently of the state, version 1 must have a zero prev_hash and later
// versions a non-zero one.
struct RecordChainState {
  Id128 record_id;
  uint64_t highest_version = 0;
  Hash256 highest_hash;
};

struct RecordExpectation {
  Id128 case_id;
  Id128 scope_id;
  uint32_t epoch = 0;
  uint8_t min_format = kRecordFormatV1;
};

struct OpenedRecord {
  RecordHeader header;
  std::vector<uint8_t> plaintext;
  SecretKey data_key;
  Hash256 record_hash;
};

// Checks, in order: header structure, format/suite, signature, case, scope,
// epoch, chain, DEK unwrap, body decryption, padding. Advances `chain` only
// when every check passes.
absl::StatusOr<OpenedRecord> OpenRecord(const SealedRecord& record,
                                        const RecordExpectation& expected,
                                        const SignPublicKey& author_key,
                                        const SecretKey& scope_key,
                                        RecordChainState& chain);

}  // namespace trygg

#endif  // TRYGG_RECORD_H_
