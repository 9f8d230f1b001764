// SPDX-License-Identifier: Apache-2.0

// UTF-8 as libtrygg checks it wherever text crosses into a signed or sealed
// object or onto a screen: structurally valid (no overlong forms, which would
// let one character be spelled several ways; no surrogates; nothing above
// U+10FFFF), as a proto3 string must be. Used by labels, listings, referral
// packets and the alias index.
#ifndef TRYGG_CLIENT_LIB_SRC_INTERNAL_UTF8_H_
#define TRYGG_CLIENT_LIB_SRC_INTERNAL_UTF8_H_

#include <cstddef>
#include <optional>
#include <string_view>

namespace trygg::internal {

// Decodes the code point at the front of `text` and removes it; nullopt (and
// `text` unchanged) when the front is not a well-formed UTF-8 sequence.
inline std::optional<char32_t> PopCodePoint(std::string_view& text) {
  if (text.empty()) return std::nullopt;
  const auto byte = [&text](size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(0);
  size_t length = 0;
  char32_t code_point = 0;
  char32_t smallest = 0;
  if (lead < 0x80) {
    length = 1;
    code_point = lead;
  } else if ((lead & 0xE0) == 0xC0) {
    length = 2;
    code_point = lead & 0x1F;
    smallest = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3;
    code_point = lead & 0x0F;
    smallest = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4;
    code_point = lead & 0x07;
    smallest = 0x10000;
  } else {
    return std::nullopt;
  }
  if (text.size() < length) return std::nullopt;
  for (size_t i = 1; i < length; ++i) {
    if ((byte(i) & 0xC0) != 0x80) return std::nullopt;
    code_point = (code_point << 6) | (byte(i) & 0x3F);
  }
  if (code_point < smallest || code_point > 0x10FFFF || (code_point >= 0xD800 && code_point <= 0xDFFF)) {
    return std::nullopt;
  }
  text.remove_prefix(length);
  return code_point;
}

// True when all of `text` is valid UTF-8 (the empty string is).
inline bool IsUtf8(std::string_view text) {
  while (!text.empty()) {
    if (!PopCodePoint(text).has_value()) return false;
  }
  return true;
}

}  // namespace trygg::internal

#endif  // TRYGG_CLIENT_LIB_SRC_INTERNAL_UTF8_H_
