// SPDX-License-Identifier: Apache-2.0

// The referral packet: what a referral shares with the receiving
// organisation, sealed on this device. A caseworker chooses sections of the
// case's latest record ("person", "needs", ...) and writes a note; nothing
// else of the case leaves the device (docs/case-record.md, "What a referral
// shares"). PrepareReferral is the whole sending side short of signing:
// it looks the listing up, reads the case, and builds the draft that
// ReferralClient::Refer seals and sends.
//
// Ownership: plain values in and out; PrepareReferral borrows the clients
// for the call.
// Thread-safety: MakeReferralPacket, LatestCaseRecord and ReadReferralPacket
// are pure; PrepareReferral is as safe as the clients it is given.
// Failure modes: InvalidArgument for an unknown section name, for a packet
// that shares nothing (no section, no note), for a basis that is not exactly
// one of consent and vital interests, and for packet bytes that are not a
// ReferralPacket; FailedPrecondition for a retired listing; NotFound or
// PermissionDenied as the directory and case reads return them.
#ifndef TRYGG_REFERRAL_PACKET_H_
#define TRYGG_REFERRAL_PACKET_H_

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "trygg/bytes.h"
#include "trygg/case_client.h"
#include "trygg/directory_client.h"
#include "trygg/referral_client.h"
#include "trygg/v1/case_record.pb.h"

namespace trygg {

// The sections a packet may share, in the record's order: person,
// exploitation, needs, contacts, support_plan, comments.
const std::vector<std::string>& ReferralPacketSections();

// The packet sharing the named sections of `record` and `note`.
absl::StatusOr<trygg::v1::ReferralPacket> MakeReferralPacket(const trygg::v1::CaseRecord& record,
                                                             const std::vector<std::string>& sections,
                                                             std::string_view note);

// The latest version of `read` whose content is a case record (an empty
// record when there is none).
trygg::v1::CaseRecord LatestCaseRecord(const CaseRead& read);

// A received packet's plaintext (ReferralView::packet) as the record type.
absl::StatusOr<trygg::v1::ReferralPacket> ReadReferralPacket(std::span<const uint8_t> plaintext);

// What a caseworker decides when referring.
struct ReferralRequest {
  Id128 case_id;
  Id128 listing_id;
  // Exactly one: the consent that covers this receiver and service, or why
  // the survivor's vital interests require the referral without one.
  std::optional<Id128> consent_id;
  std::string vital_interests;
  std::vector<std::string> share;  // section names
  std::string note;
  ReferralUrgency urgency = ReferralUrgency::kRoutine;
};

// Verifies the listing (not retired), reads the case, and builds the draft:
// receiver and service from the verified listing, the packet from the
// chosen sections of the latest case record.
absl::StatusOr<ReferralDraft> PrepareReferral(CaseClient& cases, DirectoryClient& directory,
                                              const ReferralRequest& request);

}  // namespace trygg

#endif  // TRYGG_REFERRAL_PACKET_H_
