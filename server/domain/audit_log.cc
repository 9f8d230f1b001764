// SPDX-License-Identifier: Apache-2.0

#include "server/domain/audit_log.h"

#include <algorithm>
#include <future>
#include <memory>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/audit/merkle_tree.h"
#include "trygg/audit/tree_head.h"
#include "trygg/status_macros.h"
#include "trygg/workflow.h"

namespace trygg::domain {
namespace {

constexpr std::string_view kPageTokenPrefix = "ae1.";
constexpr size_t kPageTokenDigits = 16;

// The fields every entry has: its kind, when, and who acted.
audit::AuditEvent ActedBy(audit::AuditEventKind kind, const Id128& actor_org, const Id128& actor_device,
                          int64_t now) {
  audit::AuditEvent event;
  event.kind = kind;
  event.time_ms = now;
  event.actor_org_id = actor_org.array();
  event.actor_device_id = actor_device.array();
  return event;
}

audit::AuditEvent ActedBy(audit::AuditEventKind kind, const Caller& caller, int64_t now) {
  return ActedBy(kind, caller.org_id, caller.device_id, now);
}

audit::AuditEventKind ReferralMoveKind(ReferralState state) {
  switch (state) {
    case ReferralState::kAccepted: return audit::AuditEventKind::kReferralAccepted;
    case ReferralState::kDeclined: return audit::AuditEventKind::kReferralDeclined;
    case ReferralState::kWithdrawn: return audit::AuditEventKind::kReferralWithdrawn;
    case ReferralState::kExpired: return audit::AuditEventKind::kReferralExpired;
    case ReferralState::kCompleted: return audit::AuditEventKind::kReferralCompleted;
    case ReferralState::kClosed: return audit::AuditEventKind::kReferralClosed;
    case ReferralState::kSent: break;
  }
  return audit::AuditEventKind::kReferralCreated;
}

audit::AuditEvent ReferralEntry(audit::AuditEventKind kind, const Id128& actor_org, const Id128& actor_device,
                                int64_t now, const ReferralRow& row) {
  audit::AuditEvent event = ActedBy(kind, actor_org, actor_device, now);
  event.case_id = row.case_id.array();
  event.referral_id = row.referral_id.array();
  event.listing_id = row.listing_id.array();
  event.counterpart_org_id = (actor_org == row.from_org ? row.to_org : row.from_org).array();
  event.service = row.service;
  event.code = row.code;
  event.due_ms = row.answer_by_ms;
  if (row.basis == static_cast<uint8_t>(ReferralBasis::kVitalInterests)) event.flags |= audit::kFlagVitalInterests;
  return event;
}

audit::AuditEvent ListingEntry(audit::AuditEventKind kind, const Caller& caller, int64_t now,
                               const Id128& listing_id, uint8_t category, int32_t capacity_free) {
  audit::AuditEvent event = ActedBy(kind, caller, now);
  event.listing_id = listing_id.array();
  event.service = category;
  // The entry's number is unsigned.
  event.number = capacity_free < 0 ? 0 : static_cast<uint32_t>(capacity_free);
  return event;
}

}  // namespace

audit::AuditEvent OrganisationAdmittedEvent(const Id128& org_id, const Id128& device_id, int64_t now) {
  audit::AuditEvent event = ActedBy(audit::AuditEventKind::kOrganisationAdmitted, org_id, device_id, now);
  event.code = static_cast<uint8_t>(CertificateKind::kOrganisation);
  return event;
}

audit::AuditEvent CertificateUploadedEvent(const Id128& subject_id, const Id128& device_id, int64_t now,
                                           CertificateKind kind) {
  audit::AuditEvent event = ActedBy(audit::AuditEventKind::kCertificateUploaded, subject_id, device_id, now);
  event.code = static_cast<uint8_t>(kind);
  return event;
}

audit::AuditEvent DeviceAddedEvent(const Caller& caller, int64_t now, Role role,
                                   const std::optional<EnrolmentRequested>& requested) {
  audit::AuditEvent event = ActedBy(audit::AuditEventKind::kDeviceAdded, caller, now);
  event.code = static_cast<uint8_t>(role);
  if (requested.has_value()) {
    event.number = static_cast<uint32_t>(requested->role);
    event.due_ms = requested->submitted_at_ms;
  }
  return event;
}

audit::AuditEvent DeviceRevokedEvent(const Caller& caller, int64_t now) {
  return ActedBy(audit::AuditEventKind::kDeviceRevoked, caller, now);
}

audit::AuditEvent OrgKeyRotatedEvent(const Caller& caller, int64_t now, uint32_t generation) {
  audit::AuditEvent event = ActedBy(audit::AuditEventKind::kOrgKeyRotated, caller, now);
  event.number = generation;
  return event;
}

audit::AuditEvent RoleChangedEvent(const Caller& caller, int64_t now, Role role) {
  audit::AuditEvent event = ActedBy(audit::AuditEventKind::kRoleChanged, caller, now);
  event.code = static_cast<uint8_t>(role);
  return event;
}

audit::AuditEvent SessionCreatedEvent(const Id128& org_id, const Id128& device_id, int64_t now, Role role) {
  audit::AuditEvent event = ActedBy(audit::AuditEventKind::kSessionCreated, org_id, device_id, now);
  event.code = static_cast<uint8_t>(role);
  return event;
}

audit::AuditEvent CaseCreatedEvent(const Caller& caller, int64_t now, const Id128& case_id,
                                   const Hash256& record_hash) {
  audit::AuditEvent event = ActedBy(audit::AuditEventKind::kCaseCreated, caller, now);
  event.case_id = case_id.array();
  event.record_hash = record_hash.array();
  return event;
}

audit::AuditEvent CaseVersionEvent(const Caller& caller, int64_t now, const Id128& case_id, uint32_t version,
                                   const Hash256& record_hash) {
  audit::AuditEvent event = ActedBy(audit::AuditEventKind::kCaseVersion, caller, now);
  event.case_id = case_id.array();
  event.number = version;
  event.record_hash = record_hash.array();
  return event;
}

audit::AuditEvent CaseErasedEvent(const Caller& caller, int64_t now, const Id128& case_id) {
  audit::AuditEvent event = ActedBy(audit::AuditEventKind::kCaseErased, caller, now);
  event.case_id = case_id.array();
  return event;
}

audit::AuditEvent GrantEvent(const Caller& caller, int64_t now, const Id128& counterpart, uint32_t number,
                             const Id128& case_id, const Id128& referral_id) {
  audit::AuditEvent event = ActedBy(audit::AuditEventKind::kGrant, caller, now);
  event.case_id = case_id.array();
  event.referral_id = referral_id.array();
  event.counterpart_org_id = counterpart.array();
  event.number = number;
  return event;
}

audit::AuditEvent ConsentRecordedEvent(const Caller& caller, int64_t now, const ConsentRow& consent) {
  audit::AuditEvent event = ActedBy(audit::AuditEventKind::kConsentRecorded, caller, now);
  event.case_id = consent.case_id.array();
  event.counterpart_org_id = consent.to_org.array();
  event.due_ms = consent.expires_at_ms;
  event.number = consent.services;
  return event;
}

audit::AuditEvent ConsentWithdrawnEvent(const Caller& caller, int64_t now, const ConsentRow& consent) {
  audit::AuditEvent event = ActedBy(audit::AuditEventKind::kConsentWithdrawn, caller, now);
  event.case_id = consent.case_id.array();
  event.counterpart_org_id = consent.to_org.array();
  return event;
}

audit::AuditEvent ReferralCreatedEvent(const Caller& caller, int64_t now, const ReferralRow& referral) {
  return ReferralEntry(audit::AuditEventKind::kReferralCreated, caller.org_id, caller.device_id, now, referral);
}

audit::AuditEvent ReferralMovedEvent(const Id128& actor_org, const Id128& actor_device, int64_t now,
                                     const ReferralRow& referral) {
  return ReferralEntry(ReferralMoveKind(referral.state), actor_org, actor_device, now, referral);
}

audit::AuditEvent ListingPublishedEvent(const Caller& caller, int64_t now, const Id128& listing_id,
                                        uint8_t category, int32_t capacity_free) {
  return ListingEntry(audit::AuditEventKind::kListingPublished, caller, now, listing_id, category, capacity_free);
}

audit::AuditEvent ListingCapacityUpdatedEvent(const Caller& caller, int64_t now, const Id128& listing_id,
                                              uint8_t category, int32_t capacity_free) {
  return ListingEntry(audit::AuditEventKind::kListingCapacityUpdated, caller, now, listing_id, category,
                      capacity_free);
}

audit::AuditEvent ListingRetiredEvent(const Caller& caller, int64_t now, const Id128& listing_id, uint8_t category) {
  return ListingEntry(audit::AuditEventKind::kListingRetired, caller, now, listing_id, category, 0);
}

std::string EncodeAuditPageToken(uint64_t next_index) {
  return std::string(kPageTokenPrefix) + absl::StrCat(absl::Hex(next_index, absl::kZeroPad16));
}

absl::StatusOr<uint64_t> DecodeAuditPageToken(std::string_view token) {
  const absl::Status bad = absl::InvalidArgumentError(
      "page_token is not a token from ListEntries; start again without one");
  if (token.size() != kPageTokenPrefix.size() + kPageTokenDigits ||
      token.substr(0, kPageTokenPrefix.size()) != kPageTokenPrefix) {
    return bad;
  }
  uint64_t value = 0;
  for (char c : token.substr(kPageTokenPrefix.size())) {
    int digit;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else {
      return bad;
    }
    value = (value << 4) | static_cast<uint64_t>(digit);
  }
  return value;
}

AuditLog::AuditLog(Store* store, SigningKeyPair key, Clock* clock, Options options)
    : store_(store), key_(std::move(key)), clock_(clock), options_(options) {}

absl::StatusOr<uint64_t> AuditLog::Record(Transaction& txn, const audit::AuditEvent& event) {
  const audit::EncodedAuditEvent bytes = audit::EncodeAuditEvent(event);
  return txn.audit().Append(bytes);
}

absl::StatusOr<uint64_t> AuditLog::Size(Transaction& txn) { return txn.audit().nodes().Size(); }

absl::StatusOr<audit::AuditReceipt> AuditLog::RecordedBy(Transaction& txn, const Store::WriteFn& write) {
  TRYGG_ASSIGN_OR_RETURN(const uint64_t before, txn.audit().nodes().Size());
  TRYGG_RETURN_IF_ERROR(write(txn));
  TRYGG_ASSIGN_OR_RETURN(const uint64_t after, txn.audit().nodes().Size());
  if (after - before > audit::kMaxReceiptEntries) {
    return absl::InternalError("a write appended more audit entries than a receipt may name");
  }
  return audit::AuditReceipt{before, static_cast<uint32_t>(after - before)};
}

absl::StatusOr<audit::SignedTreeHead> AuditLog::SignInWrite(Transaction& txn) {
  AuditTable& table = txn.audit();
  audit::MerkleTree tree(&table.nodes());
  TRYGG_ASSIGN_OR_RETURN(const uint64_t size, tree.Size());
  TRYGG_ASSIGN_OR_RETURN(std::optional<audit::SignedTreeHead> latest, table.LatestSignedHead());
  const int64_t now = clock_->NowUnixMillis();
  int64_t timestamp = now;
  if (latest.has_value()) {
    // Checked in the writer's transaction, so no append can slip in between
    // the check and the signature.
    if (size < latest->head.tree_size) {
      return absl::InternalError(absl::StrCat("audit log has ", size,
                                              " entries but a head of size ",
                                              latest->head.tree_size,
                                              " was signed; refusing to sign"));
    }
    TRYGG_ASSIGN_OR_RETURN(const Hash256 old_root, tree.Root(latest->head.tree_size));
    if (old_root != latest->head.root_hash) {
      return absl::InternalError(absl::StrCat(
          "audit log root at size ", latest->head.tree_size, " is ", old_root.ToHex(),
          " but the signed head says ", latest->head.root_hash.ToHex(), "; refusing to sign"));
    }
    if (size == latest->head.tree_size && now >= latest->head.timestamp_ms &&
        now - latest->head.timestamp_ms < options_.head_reuse_ms) {
      return *latest;
    }
    timestamp = std::max(now, latest->head.timestamp_ms);
  }
  audit::SignedTreeHead signed_head;
  signed_head.head.tree_size = size;
  signed_head.head.timestamp_ms = timestamp;
  TRYGG_ASSIGN_OR_RETURN(signed_head.head.root_hash, tree.Root(size));
  const audit::EncodedTreeHead encoded = audit::EncodeTreeHead(signed_head.head);
  signed_head.signature = Sign(key_, SigningContext::kTreeHead, encoded);
  TRYGG_RETURN_IF_ERROR(table.StoreSignedHead(signed_head));
  return signed_head;
}

void AuditLog::GetSignedTreeHead(std::function<void(absl::StatusOr<audit::SignedTreeHead>)> done) {
  // Most calls find a fresh head of the current size: answer them from a
  // reader without queueing behind writes.
  std::optional<audit::SignedTreeHead> fresh;
  absl::Status read = store_->Read([&](Transaction& txn) -> absl::Status {
    TRYGG_ASSIGN_OR_RETURN(const uint64_t size, txn.audit().nodes().Size());
    TRYGG_ASSIGN_OR_RETURN(std::optional<audit::SignedTreeHead> latest, txn.audit().LatestSignedHead());
    const int64_t now = clock_->NowUnixMillis();
    if (latest.has_value() && latest->head.tree_size == size && now >= latest->head.timestamp_ms &&
        now - latest->head.timestamp_ms < options_.head_reuse_ms) {
      fresh = latest;
    }
    return absl::OkStatus();
  });
  if (!read.ok()) {
    done(read);
    return;
  }
  if (fresh.has_value()) {
    done(*fresh);
    return;
  }
  auto result = std::make_shared<absl::StatusOr<audit::SignedTreeHead>>(absl::UnknownError("not run"));
  store_->Write(
      [this, result](Transaction& txn) -> absl::Status {
        *result = SignInWrite(txn);
        return result->status();
      },
      [result, done = std::move(done)](absl::Status status) {
        if (!status.ok()) {
          done(status);
        } else {
          done(std::move(*result));
        }
      });
}

absl::StatusOr<audit::SignedTreeHead> AuditLog::GetSignedTreeHeadAndWait() {
  std::promise<absl::StatusOr<audit::SignedTreeHead>> promise;
  auto future = promise.get_future();
  GetSignedTreeHead([&promise](absl::StatusOr<audit::SignedTreeHead> head) {
    promise.set_value(std::move(head));
  });
  return future.get();
}

absl::StatusOr<std::vector<Hash256>> AuditLog::InclusionProof(uint64_t leaf_index,
                                                                  uint64_t tree_size) {
  std::vector<Hash256> proof;
  TRYGG_RETURN_IF_ERROR(store_->Read([&](Transaction& txn) -> absl::Status {
    audit::MerkleTree tree(&txn.audit().nodes());
    TRYGG_ASSIGN_OR_RETURN(const uint64_t size, tree.Size());
    if (tree_size > size) {
      return absl::InvalidArgumentError(
          absl::StrCat("tree_size ", tree_size, " is larger than the log (", size, " entries)"));
    }
    if (leaf_index >= tree_size) {
      return absl::InvalidArgumentError(absl::StrCat("leaf_index ", leaf_index,
                                                     " is not in a tree of size ", tree_size));
    }
    TRYGG_ASSIGN_OR_RETURN(proof, tree.InclusionProof(leaf_index, tree_size));
    return absl::OkStatus();
  }));
  return proof;
}

absl::StatusOr<std::vector<Hash256>> AuditLog::ConsistencyProof(uint64_t first_size,
                                                                    uint64_t second_size) {
  std::vector<Hash256> proof;
  TRYGG_RETURN_IF_ERROR(store_->Read([&](Transaction& txn) -> absl::Status {
    audit::MerkleTree tree(&txn.audit().nodes());
    TRYGG_ASSIGN_OR_RETURN(const uint64_t size, tree.Size());
    if (first_size == 0) {
      return absl::InvalidArgumentError(
          "first_size must be at least 1: there is no consistency proof from an empty tree");
    }
    if (first_size > second_size) {
      return absl::InvalidArgumentError(absl::StrCat(
          "first_size ", first_size, " is larger than second_size ", second_size));
    }
    if (second_size > size) {
      return absl::InvalidArgumentError(absl::StrCat(
          "second_size ", second_size, " is larger than the log (", size, " entries)"));
    }
    TRYGG_ASSIGN_OR_RETURN(proof, tree.ConsistencyProof(first_size, second_size));
    return absl::OkStatus();
  }));
  return proof;
}

absl::StatusOr<AuditEntryPage> AuditLog::ListEntries(const Caller& caller, uint64_t start_index,
                                                     int32_t page_size, std::string_view page_token) {
  TRYGG_RETURN_IF_ERROR(RequireMemberOrCoordinator(caller));
  const bool coordinator = caller.role == Role::kCoordinator;
  if (page_size < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size ", page_size, " is negative; use 0 for the default"));
  }
  uint64_t start = start_index;
  if (!page_token.empty()) {
    TRYGG_ASSIGN_OR_RETURN(start, DecodeAuditPageToken(page_token));
  }
  const uint64_t limit = page_size == 0 ? kDefaultAuditPageSize
                                        : std::min(page_size, kMaxAuditPageSize);
  AuditEntryPage page;
  TRYGG_RETURN_IF_ERROR(store_->Read([&](Transaction& txn) -> absl::Status {
    TRYGG_ASSIGN_OR_RETURN(const uint64_t size, txn.audit().nodes().Size());
    if (start > size) {
      return absl::InvalidArgumentError(
          absl::StrCat("start index ", start, " is beyond the log (", size, " entries)"));
    }
    TRYGG_ASSIGN_OR_RETURN(page.entries, txn.audit().Entries(start, limit));
    // Only entries inside the tree are part of the log.
    while (!page.entries.empty() && page.entries.back().index >= size) page.entries.pop_back();
    if (!page.entries.empty() && page.entries.back().index + 1 < size) {
      page.next_page_token = EncodeAuditPageToken(page.entries.back().index + 1);
    }
    if (!coordinator) {
      // An all-zero id means "none" in an entry; no caller's organisation is
      // zero, but if one were, it must not match every entry without one.
      const bool no_org = caller.org_id == Id128();
      std::erase_if(page.entries, [&](const audit::IndexedEntry& stored) {
        if (no_org) return true;
        absl::StatusOr<audit::AuditEvent> event = audit::DecodeAuditEvent(stored.bytes);
        return !event.ok() || (event->actor_org_id != caller.org_id.array() &&
                               event->counterpart_org_id != caller.org_id.array());
      });
    }
    return absl::OkStatus();
  }));
  return page;
}

}  // namespace trygg::domain
