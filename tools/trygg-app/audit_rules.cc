// SPDX-License-Identifier: Apache-2.0

#include "audit_rules.h"

#include <cstdint>

namespace trygg::app {

bool PassingFailure(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kCancelled:
      return true;
    default:
      return false;
  }
}

bool AlarmingFailure(const absl::Status& failed, bool has_verified_head) {
  if (failed.ok()) return false;
  if (absl::IsDataLoss(failed)) return true;
  return has_verified_head && !PassingFailure(failed.code());
}

namespace {

// The length of the well-formed UTF-8 sequence at `text[i]` (1 to 4), and
// its code point; 0 if the bytes there are not one.
size_t DecodeOne(absl::string_view text, size_t i, uint32_t& cp) {
  const auto b = [&](size_t k) { return static_cast<uint8_t>(text[i + k]); };
  const size_t left = text.size() - i;
  const uint8_t lead = b(0);
  if (lead < 0x80) {
    cp = lead;
    return 1;
  }
  size_t n = 0;
  uint32_t min = 0;
  if ((lead & 0xe0) == 0xc0) {
    n = 2, cp = lead & 0x1f, min = 0x80;
  } else if ((lead & 0xf0) == 0xe0) {
    n = 3, cp = lead & 0x0f, min = 0x800;
  } else if ((lead & 0xf8) == 0xf0) {
    n = 4, cp = lead & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (left < n) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(k) & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (b(k) & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return n;
}

bool Blanked(uint32_t cp) {
  return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x061c || cp == 0x200e || cp == 0x200f ||
         cp == 0x2028 || cp == 0x2029 || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

}  // namespace

std::string PrintableText(absl::string_view text, size_t max_bytes) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    uint32_t cp = 0;
    const size_t n = DecodeOne(text, i, cp);
    const size_t take = n == 0 ? 1 : n;
    if (out.size() + (n == 0 ? 1 : (Blanked(cp) ? 1 : n)) > max_bytes) break;
    if (n == 0) {
      out.push_back('?');
    } else if (Blanked(cp)) {
      out.push_back(' ');
    } else {
      out.append(text.data() + i, n);
    }
    i += take;
  }
  if (i < text.size()) out += "...";
  return out;
}

}  // namespace trygg::app
