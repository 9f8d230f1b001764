// SPDX-License-Identifier: Apache-2.0

// The audit-receipt codec both tryggd and the client use (trygg/audit/receipt.h).
#include "trygg/audit/receipt.h"

#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <string>

namespace trygg::audit {
namespace {

TEST_CASE("an audit receipt is u64be first index then u32be count", "[audit][receipt]") {
  const std::string bytes = EncodeAuditReceipt({0x0102030405060708ull, 0x00000a0bu});
  CHECK(bytes == std::string("\x01\x02\x03\x04\x05\x06\x07\x08\x00\x00\x0a\x0b", 12));
  const auto decoded = DecodeAuditReceipt(bytes);
  REQUIRE(decoded.has_value());
  CHECK(decoded->first_index == 0x0102030405060708ull);
  CHECK(decoded->count == 0x0a0bu);
}

TEST_CASE("a receipt round-trips at the edges of its range", "[audit][receipt]") {
  for (const AuditReceipt r : {AuditReceipt{0, 1}, AuditReceipt{41, kMaxReceiptEntries},
                               AuditReceipt{std::numeric_limits<uint64_t>::max() - 1, 1}}) {
    CHECK(DecodeAuditReceipt(EncodeAuditReceipt(r)) == r);
  }
}

TEST_CASE("a malformed receipt is no receipt", "[audit][receipt]") {
  const std::string good = EncodeAuditReceipt({7, 2});
  CHECK_FALSE(DecodeAuditReceipt("").has_value());
  CHECK_FALSE(DecodeAuditReceipt(good.substr(0, 11)).has_value());
  CHECK_FALSE(DecodeAuditReceipt(good + '\0').has_value());
  // An empty range, an absurd one, and one that wraps the index space.
  CHECK_FALSE(DecodeAuditReceipt(EncodeAuditReceipt({7, 0})).has_value());
  CHECK_FALSE(DecodeAuditReceipt(EncodeAuditReceipt({7, kMaxReceiptEntries + 1})).has_value());
  CHECK_FALSE(DecodeAuditReceipt(EncodeAuditReceipt({std::numeric_limits<uint64_t>::max(), 1})).has_value());
}

}  // namespace
}  // namespace trygg::audit
