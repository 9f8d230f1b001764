// SPDX-License-Identifier: Apache-2.0

// A QR code as an SVG image (libqrencode from Debian), for the device page:
// a safety number an admin can scan from the new device's screen instead of
// reading 60 digits aloud. The image is made on the device and served by the
// app itself (the CSP allows images from 'self' only).
//
// Thread-safety: reentrant (libqrencode keeps no state between calls).
// Failure modes: Internal when libqrencode cannot encode (text too long).
#ifndef TRYGG_TOOLS_TRYGG_APP_QR_SVG_H_
#define TRYGG_TOOLS_TRYGG_APP_QR_SVG_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace trygg::app {

// An SVG document of `text` as a QR code, error correction level M, with the
// four-module quiet zone around it.
absl::StatusOr<std::string> QrSvg(std::string_view text);

}  // namespace trygg::app

#endif  // TRYGG_TOOLS_TRYGG_APP_QR_SVG_H_
