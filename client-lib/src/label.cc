// SPDX-License-Identifier: Apache-2.0

#include "trygg/label.h"

#include <cstdio>
#include <optional>

#include "internal/utf8.h"

namespace trygg {
namespace {

using internal::PopCodePoint;


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
