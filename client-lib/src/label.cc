// SPDX-License-Identifier: Apache-2.0

#include "trygg/label.h"

#include <cstdio>
#include <optional>

namespace trygg {
namespace {

// Decodes the code point at the front of `text` and removes it; nullopt (and
// `text` unchanged) when the front is not a well-formed UTF-8 sequence.
std::optional<char32_t> PopCodePoint(std::string_view& text) {
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
  // Overlong forms would let one character be spelled several ways.
  if (code_point < smallest || code_point > 0x10FFFF || (code_point >= 0xD800 && code_point <= 0xDFFF)) {
    return std::nullopt;
  }
  text.remove_prefix(length);
  return code_point;
}

bool IsControl(char32_t c) { return c < 0x20 || c == 0x7F || (c >= 0x80 && c <= 0x9F); }

// Embeddings and overrides (LRE RLE PDF LRO RLO) and isolates (LRI RLI FSI
// PDI): they reorder what follows, so a label could display as other text.
bool IsBidiControl(char32_t c) { return (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069); }

std::string Hex(unsigned value, int width) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "%0*X", width, value);
  return buffer;
}

}  // namespace

absl::Status CheckLabel(std::string_view text, size_t max_chars, std::string_view what) {
  auto refuse = [what](size_t position, std::string_view why) {
    return absl::InvalidArgumentError(std::string(what) + ": " + std::string(why) + " at character " +
                                      std::to_string(position + 1));
  };
  size_t count = 0;
  while (!text.empty()) {
    std::optional<char32_t> c = PopCodePoint(text);
    if (!c.has_value()) return refuse(count, "not valid UTF-8");
    if (IsControl(*c)) return refuse(count, "a control character (U+" + Hex(*c, 4) + ")");
    if (IsBidiControl(*c)) return refuse(count, "a bidi control character (U+" + Hex(*c, 4) + ")");
    if (++count > max_chars) {
      return absl::InvalidArgumentError(std::string(what) + ": longer than " + std::to_string(max_chars) +
                                        " characters");
    }
  }
  return absl::OkStatus();
}

std::string EscapeForTerminal(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    const std::string_view rest = text;
    std::optional<char32_t> c = PopCodePoint(text);
    if (!c.has_value()) {
      out += "\\x" + Hex(static_cast<unsigned char>(text.front()), 2);
      text.remove_prefix(1);
    } else if (IsControl(*c) || IsBidiControl(*c)) {
      out += "\\u{" + Hex(*c, 4) + "}";
    } else if (*c == '\\') {
      out += "\\\\";
    } else {
      out.append(rest.substr(0, rest.size() - text.size()));
    }
  }
  return out;
}

}  // namespace trygg
