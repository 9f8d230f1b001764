// SPDX-License-Identifier: Apache-2.0

#include "qr_svg.h"

#include <qrencode.h>

#include <memory>

#include "absl/strings/str_cat.h"

namespace trygg::app {

absl::StatusOr<std::string> QrSvg(std::string_view text) {
  const std::string input(text);
  std::unique_ptr<QRcode, void (*)(QRcode*)> code(QRcode_encodeString8bit(input.c_str(), 0, QR_ECLEVEL_M),
                                                  QRcode_free);
  if (code == nullptr) return absl::InternalError("the text cannot be made into a QR code");
  constexpr int kQuiet = 4;
  const int size = code->width + 2 * kQuiet;
  std::string svg = absl::StrCat("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 ", size, " ", size,
                                 "\" shape-rendering=\"crispEdges\"><rect width=\"", size, "\" height=\"", size,
                                 "\" fill=\"#fff\"/><path fill=\"#000\" d=\"");
  for (int y = 0; y < code->width; ++y) {
    for (int x = 0; x < code->width; ++x) {
      // Bit 0 of each byte is the module's colour (qrencode.h).
      if (code->data[y * code->width + x] & 1) absl::StrAppend(&svg, "M", x + kQuiet, " ", y + kQuiet, "h1v1h-1z");
    }
  }
  absl::StrAppend(&svg, "\"/></svg>\n");
  return svg;
}

}  // namespace trygg::app
