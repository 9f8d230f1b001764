// SPDX-License-Identifier: Apache-2.0

// Private: what every signed object layout shares (docs/protocol.md): the
// preamble of a four-byte magic and a format byte, the error a parser reports
// for bytes that do not fit the layout, and reading fixed-size fields.
#ifndef TRYGG_SRC_INTERNAL_SIGNED_LAYOUT_H_
#define TRYGG_SRC_INTERNAL_SIGNED_LAYOUT_H_

#include <cstdint>
#include <string_view>

#include "absl/status/status.h"
#include "internal/byte_codec.h"

namespace trygg::internal {

inline constexpr uint8_t kFormatV1 = 1;
// Consent withdrawals, capacity updates and retirements: format 2 signs under
// a context of the kind's own (docs/protocol.md section 2).
inline constexpr uint8_t kFormatV2 = 2;

// INVALID_ARGUMENT, CryptoError::kMalformed: "<what>: <why>".
absl::Status Malformed(std::string_view what, std::string_view why);

// Reads and checks the magic and the format byte: kUnknownMagic
// (INVALID_ARGUMENT) for another kind of object, kFormatTooOld
// (FAILED_PRECONDITION) for a format before `format` (no longer accepted),
// kUnknownFormat (FAILED_PRECONDITION) for a later one, kMalformed when the
// bytes end first.
absl::Status ReadPreamble(ByteReader& in, const uint8_t (&magic)[4], std::string_view what,
                          uint8_t format = kFormatV1);

// A fixed-size value (id, key, hash, signature); a short read leaves it zero
// and sets in.failed().
template <typename Fixed>
Fixed ReadFixed(ByteReader& in) {
  Fixed value;
  in.Bytes(value.span());
  return value;
}

}  // namespace trygg::internal

#endif  // TRYGG_SRC_INTERNAL_SIGNED_LAYOUT_H_
