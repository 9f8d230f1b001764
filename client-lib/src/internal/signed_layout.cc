// SPDX-License-Identifier: Apache-2.0

#include "internal/signed_layout.h"

#include <cstring>
#include <string>

#include "trygg/crypto_error.h"

namespace trygg::internal {

absl::Status Malformed(std::string_view what, std::string_view why) {
  return MakeCryptoError(absl::StatusCode::kInvalidArgument, CryptoError::kMalformed,
                         std::string(what) + ": " + std::string(why));
}

absl::Status ReadPreamble(ByteReader& in, const uint8_t (&magic)[4], std::string_view what,
                          uint8_t expected_format) {
  uint8_t got[4];
  in.Bytes(got);
  if (in.failed()) return Malformed(what, "too short");
  if (std::memcmp(got, magic, 4) != 0) {
    return MakeCryptoError(absl::StatusCode::kInvalidArgument, CryptoError::kUnknownMagic,
                           std::string(what) + ": wrong magic, not this kind of object");
  }
  uint8_t format = in.U8();
  if (in.failed()) return Malformed(what, "too short");
  if (format < expected_format) {
    return MakeCryptoError(absl::StatusCode::kFailedPrecondition, CryptoError::kFormatTooOld,
                           std::string(what) + ": format " + std::to_string(format) +
                               " is no longer accepted (now " + std::to_string(expected_format) + ")");
  }
  if (format != expected_format) {
    return MakeCryptoError(absl::StatusCode::kFailedPrecondition, CryptoError::kUnknownFormat,
                           std::string(what) + ": unknown format " + std::to_string(format));
  }
  return absl::OkStatus();
}

}  // namespace trygg::internal
