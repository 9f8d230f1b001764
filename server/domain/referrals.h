// SPDX-License-Identifier: Apache-2.0

// The rules for consent and referrals on the server (DESIGN.md, "Referral
// workflow"): a referral needs a valid consent covering its receiver and
// service, or the vital-interests basis with an encrypted justification
// (flagged to coordinators); it moves only as referral_workflow.h allows,
// each move signed by the acting device; the receiving organisation loses
// access to the referral's scope when it is declined, withdrawn, expired or
// closed; withdrawing consent ends the referrals that relied on it.
//
// Every function runs inside a store Transaction.
// Thread-safety: immutable after construction.
// Failure modes: INVALID_ARGUMENT malformed or badly signed input;
// PERMISSION_DENIED the caller's role, or a move its organisation may not
// make; NOT_FOUND no such case, consent or referral for this caller;
// FAILED_PRECONDITION no valid consent, an illegal or stale transition;
// ALREADY_EXISTS a different object under the same id.
#ifndef TRYGG_SERVER_DOMAIN_REFERRALS_H_
#define TRYGG_SERVER_DOMAIN_REFERRALS_H_

#include <vector>

#include "absl/status/statusor.h"
#include "server/domain/caller.h"
#include "server/domain/case_tables.h"
#include "server/domain/referral_tables.h"
#include "server/domain/store.h"
#include "trygg/random.h"

namespace trygg::domain {

// What referral creation needs to know of the receiving service's listing.
struct ReferralRoute {
  Id128 org_id;
  uint8_t category = 0;
  uint32_t response_time_hours = 0;
  bool retired = false;
};

// The directory, as far as referrals need it.
class ListingRoutes {
 public:
  virtual ~ListingRoutes() = default;
  // NOT_FOUND for an unknown listing.
  virtual absl::StatusOr<ReferralRoute> RouteFor(Transaction& txn, const Id128& listing_id) const = 0;
};

struct NewReferral {
  SignedObject signed_referral;
  SealedRecord packet;
  std::vector<StoredGrant> grants;  // the referral scope, to sender and receiver
  std::vector<uint8_t> justification;
};

// A referral as its caller may see it: the receiver that lost access gets
// the routing metadata and history, but no packet and no grants.
struct ReferralView {
  ReferralRow row;
  std::vector<StoredTransition> transitions;
  std::vector<StoredGrant> grants;  // the caller organisation's, on the referral scope
  bool packet_visible = true;
};

// A referral with its signed history, as a move or a list returns it.
struct ReferralWithHistory {
  ReferralRow row;
  std::vector<StoredTransition> transitions;
};

// A page of a list: `more` when referrals follow the last one.
struct ReferralListPage {
  std::vector<ReferralWithHistory> referrals;
  bool more = false;
};

class Referrals {
 public:
  // `routes` and `clock` must outlive Referrals.
  Referrals(const ListingRoutes& routes, Clock& clock) : routes_(routes), clock_(clock) {}

  absl::StatusOr<Id128> RecordConsent(Transaction& txn, const Caller& caller, const SignedObject& consent,
                                      const std::vector<uint8_t>& evidence) const;
  // Returns the referrals the withdrawal ended.
  absl::StatusOr<std::vector<ReferralRow>> WithdrawConsent(Transaction& txn, const Caller& caller,
                                                           const SignedObject& withdrawal) const;
  absl::StatusOr<std::vector<ConsentRow>> ListConsents(Transaction& txn, const Caller& caller,
                                                       const Id128& case_id) const;

  absl::StatusOr<ReferralRow> Create(Transaction& txn, const Caller& caller, const NewReferral& referral) const;
  absl::StatusOr<ReferralRow> Transition(Transaction& txn, const Caller& caller, const Id128& referral_id,
                                         const SignedObject& transition) const;
  // Transition, returning the referral with its history after the move.
  absl::StatusOr<ReferralWithHistory> TransitionWithHistory(Transaction& txn, const Caller& caller,
                                                            const Id128& referral_id,
                                                            const SignedObject& transition) const;
  absl::StatusOr<ReferralView> Get(Transaction& txn, const Caller& caller, const Id128& referral_id) const;
  absl::StatusOr<std::vector<ReferralRow>> List(Transaction& txn, const Caller& caller, bool inbox,
                                                const ReferralFilter& filter, const ReferralCursor& after,
                                                int limit) const;
  // List, at most `limit` referrals, each with its history.
  absl::StatusOr<ReferralListPage> ListPage(Transaction& txn, const Caller& caller, bool inbox,
                                            const ReferralFilter& filter, const ReferralCursor& after,
                                            int limit) const;
  // Who may watch its organisation's referrals as they change: caseworkers
  // and organisation admins (PERMISSION_DENIED otherwise). Needs no store.
  absl::Status AuthoriseWatch(const Caller& caller) const;
  // The server's own moves: SENT referrals past their answer-by time, and
  // SENT or ACCEPTED referrals whose consent has expired, move to EXPIRED
  // (from SENT) or CLOSED (from ACCEPTED), and their receivers lose the
  // referral scope. Returns them, so both organisations can be told.
  absl::StatusOr<std::vector<ReferralRow>> ExpireDue(Transaction& txn, int limit) const;

 private:
  // Moves `row` to `to`, records the move and the audit entry, and ends the
  // receiver's access if the move does. `history`, if given, is the
  // referral's stored history, read already by the caller; the move is
  // appended to it.
  absl::Status EndForReceiver(Transaction& txn, ReferralRow& row, ReferralState to, uint8_t code,
                              const Id128& actor_org, const Id128& actor_device, const SignedObject& proof,
                              int64_t now, std::vector<StoredTransition>* history = nullptr) const;
  // Transition, leaving in `history` the referral's history after the move.
  absl::StatusOr<ReferralRow> Move(Transaction& txn, const Caller& caller, const Id128& referral_id,
                                   const SignedObject& transition, std::vector<StoredTransition>& history) const;

  const ListingRoutes& routes_;
  Clock& clock_;
};

}  // namespace trygg::domain

#endif  // TRYGG_SERVER_DOMAIN_REFERRALS_H_
