// SPDX-License-Identifier: Apache-2.0

#include "trygg/crypto_error.h"

#include <string>

#include "absl/strings/cord.h"

namespace trygg {
namespace {

constexpr std::string_view kPayloadUrl = "type.trygg.org/trygg.CryptoError";

constexpr CryptoError kAll[] = {
    CryptoError::kMalformed,      CryptoError::kUnknownMagic,
    CryptoError::kUnknownFormat,  CryptoError::kFormatTooOld,
    CryptoError::kUnknownSuite,   CryptoError::kBadSignature,
    CryptoError::kDecryptFailed,  CryptoError::kBadPadding,
    CryptoError::kWrongCase,      CryptoError::kWrongScope,
    CryptoError::kWrongEpoch,     CryptoError::kWrongRecipient,
    CryptoError::kWrongGranter,   CryptoError::kWrongKind,
    CryptoError::kFieldMismatch,  CryptoError::kRollback,
    CryptoError::kFork,           CryptoError::kBrokenChain,
    CryptoError::kTruncated,      CryptoError::kTrailingData,
    CryptoError::kHashMismatch,   CryptoError::kWrongPassphrase,
    CryptoError::kCorruptKeyStore, CryptoError::kWeakKdfLimits,
    CryptoError::kUnauthorisedSigner, CryptoError::kIllegalLink,
};

}  // namespace

std::string_view CryptoErrorName(CryptoError reason) {
  switch (reason) {
    case CryptoError::kMalformed: return "MALFORMED";
    case CryptoError::kUnknownMagic: return "UNKNOWN_MAGIC";
    case CryptoError::kUnknownFormat: return "UNKNOWN_FORMAT";
    case CryptoError::kFormatTooOld: return "FORMAT_TOO_OLD";
    case CryptoError::kUnknownSuite: return "UNKNOWN_SUITE";
    case CryptoError::kBadSignature: return "BAD_SIGNATURE";
    case CryptoError::kDecryptFailed: return "DECRYPT_FAILED";
    case CryptoError::kBadPadding: return "BAD_PADDING";
    case CryptoError::kWrongCase: return "WRONG_CASE";
    case CryptoError::kWrongScope: return "WRONG_SCOPE";
    case CryptoError::kWrongEpoch: return "WRONG_EPOCH";
    case CryptoError::kWrongRecipient: return "WRONG_RECIPIENT";
    case CryptoError::kWrongGranter: return "WRONG_GRANTER";
    case CryptoError::kWrongKind: return "WRONG_KIND";
    case CryptoError::kFieldMismatch: return "FIELD_MISMATCH";
    case CryptoError::kRollback: return "ROLLBACK";
    case CryptoError::kFork: return "FORK";
    case CryptoError::kBrokenChain: return "BROKEN_CHAIN";
    case CryptoError::kTruncated: return "TRUNCATED";
    case CryptoError::kTrailingData: return "TRAILING_DATA";
    case CryptoError::kHashMismatch: return "HASH_MISMATCH";
    case CryptoError::kWrongPassphrase: return "WRONG_PASSPHRASE";
    case CryptoError::kCorruptKeyStore: return "CORRUPT_KEY_STORE";
    case CryptoError::kWeakKdfLimits: return "WEAK_KDF_LIMITS";
    case CryptoError::kUnauthorisedSigner: return "UNAUTHORISED_SIGNER";
    case CryptoError::kIllegalLink: return "ILLEGAL_LINK";
  }
  return "UNKNOWN";
}

absl::Status MakeCryptoError(absl::StatusCode code, CryptoError reason,
                             std::string_view message) {
  // This Abseil build has its own string_view, hence the std::string hops.
  absl::Status status(code, std::string(message));
  status.SetPayload(std::string(kPayloadUrl), absl::Cord(std::string(CryptoErrorName(reason))));
  return status;
}

std::optional<CryptoError> GetCryptoError(const absl::Status& status) {
  const auto payload = status.GetPayload(std::string(kPayloadUrl));
  if (!payload.has_value()) return std::nullopt;
  const std::string name(*payload);
  for (CryptoError reason : kAll) {
    if (CryptoErrorName(reason) == name) return reason;
  }
  return std::nullopt;
}

}  // namespace trygg
