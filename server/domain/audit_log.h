// SPDX-License-Identifier: Apache-2.0

// AuditLog: the rules of the audit log. Every state change records one
// metadata-only entry (audit/audit_entry.h) in the same transaction as the
// change; the log serves signed tree heads, proofs and pages of entries.
//
// The one rule that makes the log tamper-evident: the server never signs a
// tree head that is inconsistent with the last head it signed. Before signing
// size n it recomputes, from the stored tree, the root at the last signed
// size m <= n and refuses (INTERNAL) unless it equals the signed root, so a
// rewritten or truncated database cannot be laundered into a fresh signed
// head. Timestamps never go backwards.
//
// Ownership: borrows `store` and `clock`, which must outlive the AuditLog; owns
// the server's signing key.
// Thread-safety: all methods may be called concurrently. Record runs inside a
// caller's write on the store's writer thread.
// Failure modes: bad input from a caller (index or size outside the log,
// first > second, a bad page token, a negative page size) is INVALID_ARGUMENT
// and changes nothing; storage faults come back as the store reports them;
// an inconsistent stored log is INTERNAL (never signed).
#ifndef TRYGG_SERVER_DOMAIN_AUDIT_LOG_H_
#define TRYGG_SERVER_DOMAIN_AUDIT_LOG_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "trygg/audit/audit_entry.h"
#include "trygg/audit/receipt.h"
#include "trygg/audit/hash.h"
#include "server/domain/audit_table.h"
#include "server/domain/caller.h"
#include "server/domain/referral_tables.h"
#include "server/domain/store.h"
#include "trygg/random.h"
#include "trygg/signing.h"

namespace trygg::domain {

inline constexpr int32_t kDefaultAuditPageSize = 100;
inline constexpr int32_t kMaxAuditPageSize = 1000;

struct AuditEntryPage {
  std::vector<audit::IndexedEntry> entries;
  // Empty when there are no more entries (at the time of the read).
  std::string next_page_token;
};

// The one way to build each kind of audit entry (docs/audit.md, section 6
// lists the kinds and their fields). Each takes who acted, when (`now`, the
// server clock in Unix milliseconds) and what the entry records; fields an
// entry of its kind does not use stay zero. Metadata only, never content.

// Trust: the platform root admitted organisation `org_id`, whose first admin
// device is `device_id`.
audit::AuditEvent OrganisationAdmittedEvent(const Id128& org_id, const Id128& device_id, int64_t now);
// Trust: a coordinator or server certificate (`kind`) was stored.
audit::AuditEvent CertificateUploadedEvent(const Id128& subject_id, const Id128& device_id, int64_t now,
                                           CertificateKind kind);
// What an approved enrolment request asked for, and when it came: a request
// appends no entry of its own (Trust::SubmitEnrolment), so the entry of the
// link that approves it carries this.
struct EnrolmentRequested {
  Role role = Role::kCaseworker;
  int64_t submitted_at_ms = 0;
};
// Organisation log links appended by `caller`, an admin of its organisation:
// a device added with `role` (approving `requested` when the device had a
// pending enrolment request: number = its role, due_ms = its submission
// time), a device revoked, the organisation key rotated to `generation`, a
// device's role changed to `role`.
audit::AuditEvent DeviceAddedEvent(const Caller& caller, int64_t now, Role role,
                                   const std::optional<EnrolmentRequested>& requested = std::nullopt);
audit::AuditEvent DeviceRevokedEvent(const Caller& caller, int64_t now);
audit::AuditEvent OrgKeyRotatedEvent(const Caller& caller, int64_t now, uint32_t generation);
audit::AuditEvent RoleChangedEvent(const Caller& caller, int64_t now, Role role);
// Device `device_id` of `org_id`, in `role`, opened a session.
audit::AuditEvent SessionCreatedEvent(const Id128& org_id, const Id128& device_id, int64_t now, Role role);

// Cases: created with version 1 of record hash `record_hash`; `version`
// added with `record_hash`; erased.
audit::AuditEvent CaseCreatedEvent(const Caller& caller, int64_t now, const Id128& case_id,
                                   const Hash256& record_hash);
audit::AuditEvent CaseVersionEvent(const Caller& caller, int64_t now, const Id128& case_id, uint32_t version,
                                   const Hash256& record_hash);
audit::AuditEvent CaseErasedEvent(const Caller& caller, int64_t now, const Id128& case_id);

// The entry for a key sealed by `caller` (docs/audit.md, kind `grant`): to
// `counterpart`, an organisation, at `number` (a scope's epoch or an
// organisation key's generation), for a case and a referral when given.
audit::AuditEvent GrantEvent(const Caller& caller, int64_t now, const Id128& counterpart, uint32_t number,
                             const Id128& case_id = Id128(), const Id128& referral_id = Id128());

// Consent: `consent` recorded by `caller` (counterpart: the organisation it
// covers; due: its expiry; number: its services), or withdrawn by `caller`.
audit::AuditEvent ConsentRecordedEvent(const Caller& caller, int64_t now, const ConsentRow& consent);
audit::AuditEvent ConsentWithdrawnEvent(const Caller& caller, int64_t now, const ConsentRow& consent);

// Referrals: `referral` was created by `caller`; or it moved to its current
// state (accepted, declined, withdrawn, expired, completed or closed; the
// kind follows referral.state), moved by device `actor_device` of
// `actor_org` (the server's own moves name the sender and a zero device).
// The counterpart is the referral's other organisation.
audit::AuditEvent ReferralCreatedEvent(const Caller& caller, int64_t now, const ReferralRow& referral);
audit::AuditEvent ReferralMovedEvent(const Id128& actor_org, const Id128& actor_device, int64_t now,
                                     const ReferralRow& referral);

// Directory: a listing published, its capacity updated (`capacity_free`; -1,
// not counted, is recorded as 0), or retired, by `caller`.
audit::AuditEvent ListingPublishedEvent(const Caller& caller, int64_t now, const Id128& listing_id,
                                        uint8_t category, int32_t capacity_free);
audit::AuditEvent ListingCapacityUpdatedEvent(const Caller& caller, int64_t now, const Id128& listing_id,
                                              uint8_t category, int32_t capacity_free);
audit::AuditEvent ListingRetiredEvent(const Caller& caller, int64_t now, const Id128& listing_id, uint8_t category);

class AuditLog {
 public:
  struct Options {
    // A stored head of the current size younger than this is served again
    // instead of signing a new one, so polling clients do not grow the
    // head table; older ones are re-signed so a head's timestamp shows the
    // log was current recently.
    int64_t head_reuse_ms = 60'000;
  };

  AuditLog(Store* store, SigningKeyPair key, Clock* clock, Options options);
  AuditLog(Store* store, SigningKeyPair key, Clock* clock)
      : AuditLog(store, std::move(key), clock, Options()) {}
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Appends `event` to the log inside `txn` and returns its leaf index. Call
  // it from the same write as the change it records; if that write fails,
  // the entry is rolled back with it.
  static absl::StatusOr<uint64_t> Record(Transaction& txn, const audit::AuditEvent& event);

  // Runs `write` inside `txn` and returns the range of entries it appended,
  // as the write's audit receipt (trygg/audit/receipt.h; count 0 when it
  // appended none). The range is contiguous and the write's alone: writes run
  // one at a time on the store's writer thread, each all or nothing, and the
  // log's size is read inside the write. A failed write returns its
  // status; one that appended more than a receipt may name is INTERNAL and
  // rolls back.
  static absl::StatusOr<audit::AuditReceipt> RecordedBy(Transaction& txn, const Store::WriteFn& write);

  // The number of entries in the log (its Merkle tree's size), for metrics.
  static absl::StatusOr<uint64_t> Size(Transaction& txn);

  const SignPublicKey& public_key() const { return key_.public_key; }

  // The latest signed tree head, signing a new one when the log grew or the
  // stored one is older than Options::head_reuse_ms. `done` runs once, on
  // the calling thread or on the store's completion thread; it must be quick.
  void GetSignedTreeHead(std::function<void(absl::StatusOr<audit::SignedTreeHead>)> done);
  // Blocking form, for tools and tests.
  absl::StatusOr<audit::SignedTreeHead> GetSignedTreeHeadAndWait();

  // RFC 9162 inclusion proof of `leaf_index` in the tree of `tree_size`
  // leaves; requires leaf_index < tree_size <= the log's size.
  absl::StatusOr<std::vector<Hash256>> InclusionProof(uint64_t leaf_index,
                                                          uint64_t tree_size);

  // RFC 9162 consistency proof; requires 0 < first_size <= second_size <=
  // the log's size.
  absl::StatusOr<std::vector<Hash256>> ConsistencyProof(uint64_t first_size,
                                                            uint64_t second_size);

  // Entries from `start_index`, or from where `page_token` says (the token
  // wins when both are given). page_size 0 means kDefaultAuditPageSize;
  // larger than kMaxAuditPageSize is reduced to it; negative is
  // INVALID_ARGUMENT. start_index beyond the log's size is INVALID_ARGUMENT;
  // equal to it gives an empty page.
  //
  // Who reads what (docs/audit.md, section 9): a coordinator reads every
  // entry; a member device (caseworker or organisation admin) reads the
  // entries that name its organisation as actor or counterpart, and the
  // others are left out of its page. A page covers the same range of the log
  // either way, so next_page_token follows the last entry read, shown or not.
  absl::StatusOr<AuditEntryPage> ListEntries(const Caller& caller, uint64_t start_index,
                                             int32_t page_size, std::string_view page_token);

 private:
  absl::StatusOr<audit::SignedTreeHead> SignInWrite(Transaction& txn);

  Store* store_;
  const SigningKeyPair key_;
  Clock* clock_;
  const Options options_;
};

// The opaque page token for "continue at `next_index`", and its parser
// (INVALID_ARGUMENT for anything this server did not make).
std::string EncodeAuditPageToken(uint64_t next_index);
absl::StatusOr<uint64_t> DecodeAuditPageToken(std::string_view token);

}  // namespace trygg::domain

#endif  // TRYGG_SERVER_DOMAIN_AUDIT_LOG_H_
