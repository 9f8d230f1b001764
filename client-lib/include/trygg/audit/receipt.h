// SPDX-License-Identifier: Apache-2.0

// The audit receipt: the range of audit log entries one successful write
// appended, which tryggd sends in the reply's trailing metadata and the
// writing device later checks against the log (docs/api.md, "Audit receipts").
//
//   kAuditReceiptKey = u64be(first leaf index) || u32be(count)
//
// The one codec of the receipt, for both sides. Decoding is strict: anything
// but exactly 12 bytes naming 1..kMaxReceiptEntries entries that do not wrap
// around the index space is no receipt at all (nullopt), since a malformed
// receipt is what a server hiding a write from its log would send.
//
// Pure functions; thread-safe.
#ifndef TRYGG_AUDIT_RECEIPT_H_
#define TRYGG_AUDIT_RECEIPT_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace trygg::audit {

// gRPC binary metadata key (the -bin suffix makes gRPC base64 it on the wire).
inline constexpr char kAuditReceiptKey[] = "trygg-audit-receipt-bin";
inline constexpr size_t kAuditReceiptSize = 12;
// A write appends a handful of entries (a consent withdrawal one per referral
// it ends); a receipt naming more than this is malformed.
inline constexpr uint32_t kMaxReceiptEntries = 100000;

struct AuditReceipt {
  uint64_t first_index = 0;
  uint32_t count = 0;

  friend bool operator==(const AuditReceipt&, const AuditReceipt&) = default;
};

std::string EncodeAuditReceipt(const AuditReceipt& receipt);

// nullopt unless `bytes` is a well-formed receipt (see above).
std::optional<AuditReceipt> DecodeAuditReceipt(std::string_view bytes);

}  // namespace trygg::audit

#endif  // TRYGG_AUDIT_RECEIPT_H_
