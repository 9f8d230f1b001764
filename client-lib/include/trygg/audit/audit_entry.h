// SPDX-License-Identifier: Apache-2.0

// AuditEvent: what one audit log entry says, and its fixed binary encoding,
// the exact bytes that become a Merkle leaf (docs/audit.md, "Entry encoding").
//
// An entry is metadata only: event kind, time, the acting organisation and
// device, the ids of the subjects (case, referral, listing), the other
// organisation involved, a service category, one enumerated code (decline
// reason, outcome or role) and flags. There is no field that can carry
// ciphertext, free text or a name, so the log can be shown to coordinators.
// It carries enough for coordinator statistics to be computed from the
// entries alone (statistics.h), without reading any other table.
//
// Encoding (format 1), exactly kAuditEntrySize = 121 bytes, big-endian:
//   0 u8 format | 1 u8 kind | 2 i64 time_ms | 10 actor_org_id(16)
//   26 actor_device_id(16) | 42 case_id(16) | 58 referral_id(16)
//   74 listing_id(16) | 90 counterpart_org_id(16) | 106 u8 service
//   107 u8 code | 108 u8 flags | 109 i64 due_ms | 117 u32 number
// An id of 16 zero bytes means "none".
// Format 2, exactly kAuditEntryWithRecordSize = 153 bytes: format 1's fields
// (format byte 2) and then 121 record_hash(32), the record hash (protocol.md
// 5.4) of the case version a case_created or case_version entry records. It
// is used exactly when record_hash is not zero, and only for those two kinds,
// so each event has one encoding.
//
// DecodeAuditEvent takes bytes from outside (the server's database, the
// network) and returns InvalidArgument with the reason for a wrong length, an
// unknown format or kind, reserved flag bits, or a record hash where format 2
// allows none; it never crashes.
// Pure functions and value types; thread-safe.
#ifndef TRYGG_AUDIT_AUDIT_ENTRY_H_
#define TRYGG_AUDIT_AUDIT_ENTRY_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace trygg::audit {

// One entry of a log: its leaf index and its bytes (as stored, or as a server
// sent them).
struct IndexedEntry {
  uint64_t index = 0;
  std::vector<uint8_t> bytes;
};

inline constexpr uint8_t kAuditEntryFormat = 1;
inline constexpr size_t kAuditEntrySize = 121;
inline constexpr uint8_t kAuditEntryFormatWithRecord = 2;
inline constexpr size_t kAuditEntryWithRecordSize = kAuditEntrySize + 32;

// What happened. Numbers are part of the format: never renumber, only add.
enum class AuditEventKind : uint8_t {
  kOrganisationAdmitted = 1,     // platform root admitted an organisation
  kCertificateUploaded = 2,      // coordinator or server certificate stored
  kDeviceAdded = 3,              // org log link: device added (code = role; approving an
                                 // enrolment request: number = its role, due_ms = its time)
  kDeviceRevoked = 4,            // org log link: device revoked
  kOrgKeyRotated = 5,            // org log link: key rotated (number = generation)
  kRoleChanged = 6,              // org log link: role changed (code = new role)
  kEnrolmentRequested = 7,       // a new device asked to join an organisation; no longer
                                 // appended (device_added records it), still decoded
  kSessionCreated = 8,           // a device opened a session
  kCaseCreated = 9,              // record_hash = version 1's
  kCaseVersion = 10,             // number = version, record_hash = that version's
  kGrant = 11,                   // a key sealed: a case's or referral's scope key to an
                                 // organisation (counterpart = grantee, number = epoch), or
                                 // an organisation key generation to one of its devices
                                 // (counterpart = own organisation, number = generation)
  kConsentRecorded = 12,
  kConsentWithdrawn = 13,
  kReferralCreated = 14,         // counterpart = receiving org, due_ms = answer by
  kReferralAccepted = 15,        // actor = receiving org, counterpart = referrer
  kReferralDeclined = 16,        // code = DeclineReason
  kReferralWithdrawn = 17,
  kReferralExpired = 18,
  kReferralCompleted = 19,       // code = Outcome
  kReferralClosed = 20,          // code = Outcome, if one was recorded
  kCaseErased = 21,
  kListingPublished = 22,        // number = capacity
  kListingCapacityUpdated = 23,  // number = capacity
  kListingRetired = 24,
};
inline constexpr uint8_t kMaxAuditEventKind = 24;

// Lower-case snake_case name of `kind` ("referral_declined"), or "unknown".
std::string_view AuditEventKindName(AuditEventKind kind);

// Flag bits. Bits not listed here must be zero.
inline constexpr uint8_t kFlagVitalInterests = 0x01;  // referral without consent
inline constexpr uint8_t kKnownFlags = kFlagVitalInterests;

using AuditId = std::array<uint8_t, 16>;

struct AuditEvent {
  AuditEventKind kind = AuditEventKind::kCaseCreated;
  // When the server applied the change, Unix milliseconds, server clock.
  int64_t time_ms = 0;
  AuditId actor_org_id{};
  AuditId actor_device_id{};
  AuditId case_id{};
  AuditId referral_id{};
  AuditId listing_id{};
  // The other organisation of a referral or grant.
  AuditId counterpart_org_id{};
  // trygg.v1.ServiceCategory number; 0 when not about a service.
  uint8_t service = 0;
  // trygg.v1.DeclineReason, Outcome or Role number, by kind; 0 otherwise.
  uint8_t code = 0;
  uint8_t flags = 0;
  // A time by kind, Unix milliseconds: a referral's answer-by, a consent's
  // expiry, an approved enrolment request's submission; 0 when none.
  int64_t due_ms = 0;
  // A count by kind: case version, key generation, listing capacity.
  uint32_t number = 0;
  // The record hash of the case version a case_created or case_version entry
  // records (format 2); all zero for every other entry, and in format 1.
  std::array<uint8_t, 32> record_hash{};

  bool vital_interests() const { return (flags & kFlagVitalInterests) != 0; }
  bool has_record_hash() const;
  // The case version an entry records: 1 for case_created, `number` for
  // case_version, 0 for other kinds.
  uint32_t case_version() const;
  friend bool operator==(const AuditEvent&, const AuditEvent&) = default;
};

// kAuditEntrySize or kAuditEntryWithRecordSize bytes.
using EncodedAuditEvent = std::vector<uint8_t>;

// The entry bytes: format 2 when record_hash is set, else format 1. Requires
// a valid kind, only known flags, and a record hash only on case_created or
// case_version (checked: a domain bug, not input).
EncodedAuditEvent EncodeAuditEvent(const AuditEvent& event);

absl::StatusOr<AuditEvent> DecodeAuditEvent(absl::Span<const uint8_t> bytes);

}  // namespace trygg::audit

#endif  // TRYGG_AUDIT_AUDIT_ENTRY_H_
