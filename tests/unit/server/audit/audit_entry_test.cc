// SPDX-License-Identifier: Apache-2.0

#include "trygg/audit/audit_entry.h"

#include <catch2/catch.hpp>

#include <vector>

#include "test_util.h"

namespace trygg::audit {
namespace {

using testing::Bytes;

AuditId FilledId(uint8_t fill) {
  AuditId id;
  id.fill(fill);
  return id;
}

// The example of docs/audit.md, section "Entry encoding".
AuditEvent ExampleEvent() {
  AuditEvent e;
  e.kind = AuditEventKind::kReferralCreated;
  e.time_ms = 1700000000123;
  e.actor_org_id = FilledId(0x11);
  e.actor_device_id = FilledId(0x22);
  e.case_id = FilledId(0x33);
  e.referral_id = FilledId(0x44);
  e.listing_id = FilledId(0x55);
  e.counterpart_org_id = FilledId(0x66);
  e.service = 1;  // shelter
  e.code = 0;
  e.flags = kFlagVitalInterests;
  e.due_ms = 1700086400123;
  e.number = 7;
  return e;
}

TEST_CASE("Audit entry encoding is byte exact", "[audit][entry]") {
  const EncodedAuditEvent encoded = EncodeAuditEvent(ExampleEvent());
  const std::vector<uint8_t> want = Bytes(
      "01" "0e" "0000018bcfe5687b"
      "11111111111111111111111111111111"
      "22222222222222222222222222222222"
      "33333333333333333333333333333333"
      "44444444444444444444444444444444"
      "55555555555555555555555555555555"
      "66666666666666666666666666666666"
      "01" "00" "01" "0000018bd50bc47b" "00000007");
  REQUIRE(want.size() == kAuditEntrySize);
  CHECK(std::vector<uint8_t>(encoded.begin(), encoded.end()) == want);
}

TEST_CASE("Audit entries round-trip for every kind", "[audit][entry]") {
  for (uint8_t kind = 1; kind <= kMaxAuditEventKind; ++kind) {
    AuditEvent e = ExampleEvent();
    e.kind = static_cast<AuditEventKind>(kind);
    e.time_ms = -5;  // before 1970 still encodes
    const EncodedAuditEvent bytes = EncodeAuditEvent(e);
    absl::StatusOr<AuditEvent> back = DecodeAuditEvent(bytes);
    REQUIRE(back.ok());
    CHECK(*back == e);
    CHECK(AuditEventKindName(e.kind) != "unknown");
  }
}

TEST_CASE("Malformed audit entries are refused with the reason", "[audit][entry]") {
  const EncodedAuditEvent good = EncodeAuditEvent(ExampleEvent());
  std::vector<uint8_t> bytes(good.begin(), good.end());

  SECTION("wrong length") {
    bytes.push_back(0);
    absl::StatusOr<AuditEvent> r = DecodeAuditEvent(bytes);
    CHECK(r.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(std::string(r.status().message()).find("122 bytes") != std::string::npos);
    bytes.resize(10);
    CHECK(DecodeAuditEvent(bytes).status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(DecodeAuditEvent({}).status().code() == absl::StatusCode::kInvalidArgument);
  }
  SECTION("unknown format") {
    bytes[0] = 3;
    CHECK(std::string(DecodeAuditEvent(bytes).status().message()).find("format 3") !=
          std::string::npos);
  }
  SECTION("format 2 without its record hash") {
    bytes[0] = 2;
    CHECK(std::string(DecodeAuditEvent(bytes).status().message()).find("format 2 is exactly 153") !=
          std::string::npos);
  }
  SECTION("unknown kind") {
    bytes[1] = 0;
    CHECK(DecodeAuditEvent(bytes).status().code() == absl::StatusCode::kInvalidArgument);
    bytes[1] = kMaxAuditEventKind + 1;
    CHECK(std::string(DecodeAuditEvent(bytes).status().message()).find("kind 25") !=
          std::string::npos);
  }
  SECTION("reserved flags") {
    bytes[108] = 0x81;
    CHECK(std::string(DecodeAuditEvent(bytes).status().message()).find("reserved") !=
          std::string::npos);
  }
}

TEST_CASE("Format 2 entries carry a case version's record hash", "[audit][entry]") {
  AuditEvent e = ExampleEvent();
  e.kind = AuditEventKind::kCaseVersion;
  e.flags = 0;
  e.number = 5;
  e.record_hash.fill(0xab);
  const EncodedAuditEvent encoded = EncodeAuditEvent(e);
  REQUIRE(encoded.size() == kAuditEntryWithRecordSize);
  CHECK(encoded[0] == 2);
  e.record_hash = {};
  const EncodedAuditEvent v1 = EncodeAuditEvent(e);
  REQUIRE(v1.size() == kAuditEntrySize);
  // Format 1's bytes after the format byte, then the hash.
  CHECK(std::vector<uint8_t>(encoded.begin() + 1, encoded.begin() + kAuditEntrySize) ==
        std::vector<uint8_t>(v1.begin() + 1, v1.end()));
  CHECK(std::vector<uint8_t>(encoded.begin() + kAuditEntrySize, encoded.end()) == std::vector<uint8_t>(32, 0xab));
  e.record_hash.fill(0xab);
  absl::StatusOr<AuditEvent> back = DecodeAuditEvent(encoded);
  REQUIRE(back.ok());
  CHECK(*back == e);
  CHECK(back->case_version() == 5);

  std::vector<uint8_t> bytes(encoded.begin(), encoded.end());
  SECTION("a zero record hash has one encoding, format 1") {
    std::fill(bytes.begin() + kAuditEntrySize, bytes.end(), 0);
    CHECK(std::string(DecodeAuditEvent(bytes).status().message()).find("zero record hash") != std::string::npos);
  }
  SECTION("only case entries carry a record hash") {
    bytes[1] = static_cast<uint8_t>(AuditEventKind::kReferralCreated);
    CHECK(std::string(DecodeAuditEvent(bytes).status().message()).find("referral-created") != std::string::npos);
  }
  SECTION("the length is format 2's") {
    bytes.pop_back();
    CHECK(DecodeAuditEvent(bytes).status().code() == absl::StatusCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace trygg::audit
