// SPDX-License-Identifier: Apache-2.0

// Machine-readable reasons for libtrygg crypto failures.
//
// Purpose: every verification or decryption failure is an absl::Status with a
// human-readable message AND a CryptoError reason attached as a payload, so
// callers (UI, server, tests) can act on the exact failure without parsing text.
// The absl::StatusCode is chosen by the kind of failure:
//   InvalidArgument  - malformed input or a field that does not match what the
//                      caller expected (wrong scope, case, epoch, recipient);
//   FailedPrecondition - unknown/too-old format or suite, weak KDF limits;
//   PermissionDenied - bad signature, AEAD failure, wrong passphrase;
//   Aborted          - record chain errors within one read (rollback, fork,
//                      broken chain);
//   DataLoss         - corrupted key store, truncated or over-long attachment;
//                      a case or referral history that goes back on, or
//                      differs from, what the device remembers (kRollback,
//                      kFork; Client::RememberHistory).
// Thread-safety: pure functions.
#ifndef TRYGG_CRYPTO_ERROR_H_
#define TRYGG_CRYPTO_ERROR_H_

#include <optional>
#include <string_view>

#include "absl/status/status.h"

namespace trygg {

enum class CryptoError {
  kMalformed,          // wrong length or structure
  kUnknownMagic,       // not a Trygg object of this kind
  kUnknownFormat,      // format number this client does not know
  kFormatTooOld,       // known format below the configured minimum
  kUnknownSuite,       // algorithm suite this client does not know
  kBadSignature,       // Ed25519 verification failed
  kDecryptFailed,      // AEAD or sealed-box authentication failed
  kBadPadding,         // sodium_unpad failed or padded_len mismatch
  kWrongCase,          // record is for another case
  kWrongScope,         // record/grant is for another scope
  kWrongEpoch,         // record/grant is for another epoch
  kWrongRecipient,     // grant is addressed to another key
  kWrongGranter,       // grant header names another granting device
  kWrongKind,          // grant is of another kind (scope key vs org seed)
  kFieldMismatch,      // a field inside a sealed box differs from the header
  kRollback,           // version below the highest already seen
  kFork,               // same version as seen, different content
  kBrokenChain,        // prev_hash does not match the previous version
  kTruncated,          // attachment ended before its final chunk
  kTrailingData,       // bytes after an attachment's final chunk
  kHashMismatch,       // attachment ciphertext hash differs from the record's
  kWrongPassphrase,    // key store did not open under this passphrase
  kCorruptKeyStore,    // key store checksum or structure is broken
  kWeakKdfLimits,      // key store asks for Argon2id limits below the floor
  kUnauthorisedSigner, // signed by a device that may not make this change
  kIllegalLink,        // an organisation log link that breaks a rule of the log
};

// Returns a status of `code` with `message`, tagged with `reason`.
absl::Status MakeCryptoError(absl::StatusCode code, CryptoError reason,
                             std::string_view message);

// The reason attached by MakeCryptoError, or nullopt for other statuses.
std::optional<CryptoError> GetCryptoError(const absl::Status& status);

std::string_view CryptoErrorName(CryptoError reason);

}  // namespace trygg

#endif  // TRYGG_CRYPTO_ERROR_H_
