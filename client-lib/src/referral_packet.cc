// SPDX-License-Identifier: Apache-2.0

#include "trygg/referral_packet.h"

#include "internal/utf8.h"
#include "trygg/case_record.h"
#include "trygg/status_macros.h"

namespace trygg {

const std::vector<std::string>& ReferralPacketSections() {
  static const std::vector<std::string>* const sections = new std::vector<std::string>{
      "person", "exploitation", "needs", "contacts", "support_plan", "comments"};
  return *sections;
}

absl::StatusOr<trygg::v1::ReferralPacket> MakeReferralPacket(const trygg::v1::CaseRecord& record,
                                                             const std::vector<std::string>& sections,
                                                             std::string_view note) {
  if (!internal::IsUtf8(note)) return absl::InvalidArgumentError("the note is not valid UTF-8");
  trygg::v1::ReferralPacket packet;
  trygg::v1::CaseRecord* shared = packet.mutable_shared();
  for (const std::string& section : sections) {
    if (section == "person") {
      *shared->mutable_person() = record.person();
    } else if (section == "exploitation") {
      *shared->mutable_exploitation() = record.exploitation();
    } else if (section == "needs") {
      *shared->mutable_needs() = record.needs();
    } else if (section == "contacts") {
      *shared->mutable_contacts() = record.contacts();
    } else if (section == "support_plan") {
      *shared->mutable_support_plan() = record.support_plan();
    } else if (section == "comments") {
      *shared->mutable_comments() = record.comments();
    } else {
      return absl::InvalidArgumentError("unknown section '" + section +
                                        "' (person, exploitation, needs, contacts, support_plan, comments)");
    }
    packet.add_sections(section);
  }
  packet.set_note(std::string(note));
  if (sections.empty() && note.empty()) {
    return absl::InvalidArgumentError("a referral shares something: name sections to share or write a note");
  }
  return packet;
}

trygg::v1::CaseRecord LatestCaseRecord(const CaseRead& read) {
  trygg::v1::CaseRecord latest;
  for (const CaseVersion& v : read.versions) {
    trygg::v1::CaseRecord record;
    if (v.header.content_type == kContentCaseRecord &&
        record.ParseFromArray(v.plaintext.data(), static_cast<int>(v.plaintext.size()))) {
      latest = std::move(record);
    }
  }
  return latest;
}

absl::StatusOr<trygg::v1::ReferralPacket> ReadReferralPacket(std::span<const uint8_t> plaintext) {
  trygg::v1::ReferralPacket packet;
  if (!packet.ParseFromArray(plaintext.data(), static_cast<int>(plaintext.size()))) {
    return absl::InvalidArgumentError("the referral packet is not a trygg.v1.ReferralPacket");
  }
  return packet;
}

absl::StatusOr<ReferralDraft> PrepareReferral(CaseClient& cases, DirectoryClient& directory,
                                              const ReferralRequest& request) {
  if (request.consent_id.has_value() == !request.vital_interests.empty()) {
    return absl::InvalidArgumentError("give one of a consent id and a vital-interests justification");
  }
  if (!internal::IsUtf8(request.vital_interests)) {
    return absl::InvalidArgumentError("the vital-interests justification is not valid UTF-8");
  }
  if (!internal::IsUtf8(request.note)) return absl::InvalidArgumentError("the note is not valid UTF-8");
  ReferralDraft draft;
  draft.case_id = request.case_id;
  draft.listing_id = request.listing_id;
  draft.urgency = request.urgency;
  draft.consent_id = request.consent_id;
  draft.justification.assign(request.vital_interests.begin(), request.vital_interests.end());
  TRYGG_ASSIGN_OR_RETURN(VerifiedListing listing, directory.Get(request.listing_id));
  if (listing.retired()) return absl::FailedPreconditionError("the listing is retired");
  draft.to_org = listing.listing.org_id;
  draft.service = listing.listing.category;
  // The packet: only the chosen sections of the latest case record.
  TRYGG_ASSIGN_OR_RETURN(CaseRead read, cases.ReadCase(request.case_id));
  TRYGG_ASSIGN_OR_RETURN(trygg::v1::ReferralPacket packet,
                         MakeReferralPacket(LatestCaseRecord(read), request.share, request.note));
  const std::string bytes = packet.SerializeAsString();
  draft.packet.assign(bytes.begin(), bytes.end());
  draft.content_type = kContentReferralPacket;
  return draft;
}

}  // namespace trygg
