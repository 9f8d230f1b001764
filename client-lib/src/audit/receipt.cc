// SPDX-License-Identifier: Apache-2.0

#include "trygg/audit/receipt.h"

#include <limits>

namespace trygg::audit {

std::string EncodeAuditReceipt(const AuditReceipt& receipt) {
  std::string out(kAuditReceiptSize, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(receipt.first_index >> (56 - 8 * i));
  for (int i = 0; i < 4; ++i) out[8 + i] = static_cast<char>(receipt.count >> (24 - 8 * i));
  return out;
}

std::optional<AuditReceipt> DecodeAuditReceipt(std::string_view bytes) {
  if (bytes.size() != kAuditReceiptSize) return std::nullopt;
  AuditReceipt receipt;
  for (size_t i = 0; i < 8; ++i) receipt.first_index = (receipt.first_index << 8) | static_cast<uint8_t>(bytes[i]);
  for (size_t i = 8; i < 12; ++i) receipt.count = (receipt.count << 8) | static_cast<uint8_t>(bytes[i]);
  if (receipt.count == 0 || receipt.count > kMaxReceiptEntries) return std::nullopt;
  if (receipt.first_index > std::numeric_limits<uint64_t>::max() - receipt.count) return std::nullopt;
  return receipt;
}

}  // namespace trygg::audit
