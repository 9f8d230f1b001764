// SPDX-License-Identifier: Apache-2.0

#include "trygg/audit/audit_entry.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "trygg/status_macros.h"

namespace trygg::audit {
namespace {

constexpr std::string_view kKindNames[] = {
    "unknown",
    "organisation-admitted",
    "certificate-uploaded",
    "device-added",
    "device-revoked",
    "org-key-rotated",
    "role-changed",
    "enrolment-requested",
    "session-created",
    "case-created",
    "case-version",
    "grant",
    "consent-recorded",
    "consent-withdrawn",
    "referral-created",
    "referral-accepted",
    "referral-declined",
    "referral-withdrawn",
    "referral-expired",
    "referral-completed",
    "referral-closed",
    "case-erased",
    "listing-published",
    "listing-capacity-updated",
    "listing-retired",
};
static_assert(std::size(kKindNames) == kMaxAuditEventKind + 1);

class Writer {
 public:
  explicit Writer(EncodedAuditEvent& out) : out_(out) {}
  void U8(uint8_t v) { out_[pos_++] = v; }
  void U64(uint64_t v) {
    for (int shift = 56; shift >= 0; shift -= 8) U8(static_cast<uint8_t>(v >> shift));
  }
  void U32(uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) U8(static_cast<uint8_t>(v >> shift));
  }
  template <size_t N>
  void Id(const std::array<uint8_t, N>& id) {
    std::copy(id.begin(), id.end(), out_.begin() + pos_);
    pos_ += id.size();
  }
  size_t pos() const { return pos_; }

 private:
  EncodedAuditEvent& out_;
  size_t pos_ = 0;
};

class Reader {
 public:
  explicit Reader(absl::Span<const uint8_t> in) : in_(in) {}
  uint8_t U8() { return in_[pos_++]; }
  uint64_t U64() {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | U8();
    return v;
  }
  uint32_t U32() {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | U8();
    return v;
  }
  template <size_t N = 16>
  std::array<uint8_t, N> Id() {
    std::array<uint8_t, N> id;
    std::copy(in_.begin() + pos_, in_.begin() + pos_ + id.size(), id.begin());
    pos_ += id.size();
    return id;
  }

 private:
  absl::Span<const uint8_t> in_;
  size_t pos_ = 0;
};

bool RecordsCaseVersion(uint8_t kind) {
  return kind == static_cast<uint8_t>(AuditEventKind::kCaseCreated) ||
         kind == static_cast<uint8_t>(AuditEventKind::kCaseVersion);
}

}  // namespace

bool AuditEvent::has_record_hash() const {
  return std::any_of(record_hash.begin(), record_hash.end(), [](uint8_t b) { return b != 0; });
}

uint32_t AuditEvent::case_version() const {
  if (kind == AuditEventKind::kCaseCreated) return 1;
  if (kind == AuditEventKind::kCaseVersion) return number;
  return 0;
}

std::string_view AuditEventKindName(AuditEventKind kind) {
  const uint8_t k = static_cast<uint8_t>(kind);
  return k <= kMaxAuditEventKind ? kKindNames[k] : kKindNames[0];
}

EncodedAuditEvent EncodeAuditEvent(const AuditEvent& event) {
  const uint8_t kind = static_cast<uint8_t>(event.kind);
  TRYGG_CHECK(kind >= 1 && kind <= kMaxAuditEventKind);
  TRYGG_CHECK((event.flags & ~kKnownFlags) == 0);
  const bool with_record = event.has_record_hash();
  TRYGG_CHECK(!with_record || RecordsCaseVersion(kind));
  EncodedAuditEvent out(with_record ? kAuditEntryWithRecordSize : kAuditEntrySize);
  Writer w(out);
  w.U8(with_record ? kAuditEntryFormatWithRecord : kAuditEntryFormat);
  w.U8(kind);
  w.U64(static_cast<uint64_t>(event.time_ms));
  w.Id(event.actor_org_id);
  w.Id(event.actor_device_id);
  w.Id(event.case_id);
  w.Id(event.referral_id);
  w.Id(event.listing_id);
  w.Id(event.counterpart_org_id);
  w.U8(event.service);
  w.U8(event.code);
  w.U8(event.flags);
  w.U64(static_cast<uint64_t>(event.due_ms));
  w.U32(event.number);
  if (with_record) w.Id(event.record_hash);
  TRYGG_CHECK(w.pos() == out.size());
  return out;
}

absl::StatusOr<AuditEvent> DecodeAuditEvent(absl::Span<const uint8_t> bytes) {
  if (bytes.empty()) return absl::InvalidArgumentError("audit entry is 0 bytes");
  Reader r(bytes);
  const uint8_t format = r.U8();
  if (format != kAuditEntryFormat && format != kAuditEntryFormatWithRecord) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown audit entry format ", format, " (this build reads formats 1 and 2)"));
  }
  const size_t size = format == kAuditEntryFormat ? kAuditEntrySize : kAuditEntryWithRecordSize;
  if (bytes.size() != size) {
    return absl::InvalidArgumentError(absl::StrCat("audit entry is ", bytes.size(), " bytes; format ", format,
                                                   " is exactly ", size));
  }
  const uint8_t kind = r.U8();
  if (kind == 0 || kind > kMaxAuditEventKind) {
    return absl::InvalidArgumentError(absl::StrCat("unknown audit event kind ", kind));
  }
  if (format == kAuditEntryFormatWithRecord && !RecordsCaseVersion(kind)) {
    return absl::InvalidArgumentError(
        absl::StrCat("audit entry format 2 carries a record hash, which a ", std::string(kKindNames[kind]), " entry has not"));
  }
  AuditEvent event;
  event.kind = static_cast<AuditEventKind>(kind);
  event.time_ms = static_cast<int64_t>(r.U64());
  event.actor_org_id = r.Id();
  event.actor_device_id = r.Id();
  event.case_id = r.Id();
  event.referral_id = r.Id();
  event.listing_id = r.Id();
  event.counterpart_org_id = r.Id();
  event.service = r.U8();
  event.code = r.U8();
  event.flags = r.U8();
  if ((event.flags & ~kKnownFlags) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("audit entry sets reserved flag bits 0x", absl::Hex(event.flags & ~kKnownFlags)));
  }
  event.due_ms = static_cast<int64_t>(r.U64());
  event.number = r.U32();
  if (format == kAuditEntryFormatWithRecord) {
    event.record_hash = r.Id<32>();
    if (!event.has_record_hash()) {
      return absl::InvalidArgumentError("audit entry format 2 with a zero record hash (format 1 says \"none\")");
    }
  }
  return event;
}

}  // namespace trygg::audit
