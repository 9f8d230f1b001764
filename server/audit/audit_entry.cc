#include "server/audit/audit_entry.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "trygg/status_macros.h"

namespace trygg::audit {
namespace {

constexpr std::string_view kKindNames[] = {
    "unknown",
    "organisation_admitted",
    "certificate_uploaded",
    "device_added",
    "device_revoked",
    "org_key_rotated",
    "role_changed",
    "enrolment_requested",
    "session_created",
    "case_created",
    "case_version",
    "grant",
    "consent_recorded",
    "consent_withdrawn",
    "referral_created",
    "referral_accepted",
    "referral_declined",
    "referral_withdrawn",
    "referral_expired",
    "referral_completed",
    "referral_closed",
    "case_erased",
    "listing_published",
    "listing_capacity_updated",
    "listing_retired",
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
  void Id(const AuditId& id) {
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
  AuditId Id() {
    AuditId id;
    std::copy(in_.begin() + pos_, in_.begin() + pos_ + id.size(), id.begin());
    pos_ += id.size();
    return id;
  }

 private:
  absl::Span<const uint8_t> in_;
  size_t pos_ = 0;
};

}  // namespace

std::string_view AuditEventKindName(AuditEventKind kind) {
  const uint8_t k = static_cast<uint8_t>(kind);
  return k <= kMaxAuditEventKind ? kKindNames[k] : kKindNames[0];
}

EncodedAuditEvent EncodeAuditEvent(const AuditEvent& event) {
  const uint8_t kind = static_cast<uint8_t>(event.kind);
  TRYGG_CHECK(kind >= 1 && kind <= kMaxAuditEventKind);
  TRYGG_CHECK((event.flags & ~kKnownFlags) == 0);
  EncodedAuditEvent out{};
  Writer w(out);
  w.U8(kAuditEntryFormat);
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
  TRYGG_CHECK(w.pos() == kAuditEntrySize);
  return out;
}

absl::StatusOr<AuditEvent> DecodeAuditEvent(absl::Span<const uint8_t> bytes) {
  if (bytes.size() != kAuditEntrySize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "audit entry is ", bytes.size(), " bytes; format 1 is exactly ", kAuditEntrySize));
  }
  Reader r(bytes);
  const uint8_t format = r.U8();
  if (format != kAuditEntryFormat) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown audit entry format ", format, " (this build reads format 1)"));
  }
  const uint8_t kind = r.U8();
  if (kind == 0 || kind > kMaxAuditEventKind) {
    return absl::InvalidArgumentError(absl::StrCat("unknown audit event kind ", kind));
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
  return event;
}

}  // namespace trygg::audit
