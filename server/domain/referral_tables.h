// SPDX-License-Identifier: Apache-2.0

// The referral area's view of the store: consent records and referrals with
// their signed transitions. Declared by the domain, implemented in
// server/store/sqlite/referral_tables.cc, reached as Transaction::referrals().
//
// Byte fields are stored exactly as the devices signed or sealed them.
// Every method runs inside the caller's transaction.
// Failure modes: storage faults as Unavailable/Internal; AlreadyExists for a
// taken id.
#ifndef TRYGG_SERVER_DOMAIN_REFERRAL_TABLES_H_
#define TRYGG_SERVER_DOMAIN_REFERRAL_TABLES_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "server/domain/referral_workflow.h"
#include "trygg/bytes.h"
#include "trygg/record.h"
#include "trygg/trust.h"

namespace trygg::domain {

struct ConsentRow {
  Id128 consent_id;
  Id128 case_id;
  Id128 to_org;  // all zero: any member organisation
  uint16_t services = 0;
  uint8_t purpose = 0;
  int64_t recorded_at_ms = 0;
  int64_t expires_at_ms = 0;
  std::optional<int64_t> withdrawn_at_ms;
  Id128 recorder_device;
  SignedObject signed_consent;
  std::vector<uint8_t> evidence;  // ciphertext
  std::optional<SignedObject> withdrawal;
};

struct ReferralRow {
  Id128 referral_id;
  Id128 case_id;
  Id128 from_org;
  Id128 to_org;
  Id128 listing_id;
  Id128 consent_id;  // all zero on the vital-interests basis
  Id128 scope_id;    // the referral's own scope (packet and grants)
  uint8_t service = 0;
  uint8_t urgency = 0;
  uint8_t basis = 0;
  ReferralState state = ReferralState::kSent;
  uint8_t code = 0;  // decline reason or outcome
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
  int64_t answer_by_ms = 0;
  Id128 sender_device;
  SignedObject signed_referral;
  SealedRecord packet;
  std::vector<uint8_t> justification;  // ciphertext; empty on the consent basis
};

struct StoredTransition {
  uint32_t seq = 0;
  Id128 actor_device;
  SignedObject transition;  // empty bytes for a server move (expiry)
  ReferralState to = ReferralState::kSent;
  int64_t at_ms = 0;
};

// Which referrals a list shows.
struct ReferralFilter {
  std::vector<ReferralState> states;  // empty: all
  uint8_t service = 0;                // 0: all
};

// Newest first; the cursor is the last row of the previous page.
struct ReferralCursor {
  int64_t updated_at_ms = 0;
  Id128 referral_id;
  bool start = true;
};

class ReferralTables {
 public:
  virtual ~ReferralTables() = default;

  virtual absl::Status InsertConsent(const ConsentRow& consent) = 0;
  virtual absl::StatusOr<std::optional<ConsentRow>> GetConsent(const Id128& consent_id) = 0;
  virtual absl::StatusOr<std::vector<ConsentRow>> ListConsents(const Id128& case_id) = 0;
  // Marks a consent recorded by a device of `org_id`, not yet withdrawn, as
  // withdrawn; changes exactly that one row.
  virtual absl::Status MarkConsentWithdrawn(const Id128& consent_id, const Id128& org_id, int64_t at_ms,
                                            const SignedObject& withdrawal) = 0;

  virtual absl::Status InsertReferral(const ReferralRow& referral) = 0;
  virtual absl::StatusOr<std::optional<ReferralRow>> GetReferral(const Id128& referral_id) = 0;
  virtual absl::Status UpdateReferralState(const Id128& referral_id, ReferralState state, uint8_t code,
                                           int64_t updated_at_ms) = 0;
  virtual absl::Status AppendTransition(const Id128& referral_id, const StoredTransition& transition) = 0;
  virtual absl::StatusOr<std::vector<StoredTransition>> GetTransitions(const Id128& referral_id) = 0;

  // Referrals to (inbox) or from (outbox) an organisation.
  virtual absl::StatusOr<std::vector<ReferralRow>> ListReferrals(const Id128& org_id, bool inbox,
                                                                 const ReferralFilter& filter,
                                                                 const ReferralCursor& after, int limit) = 0;
  // SENT referrals whose answer-by time has passed.
  virtual absl::StatusOr<std::vector<ReferralRow>> ListOverdue(int64_t now_ms, int limit) = 0;
  // SENT or ACCEPTED referrals whose consent (not withdrawn) has expired.
  virtual absl::StatusOr<std::vector<ReferralRow>> ListConsentLapsed(int64_t now_ms, int limit) = 0;
  // Referrals that rely on a consent record.
  virtual absl::StatusOr<std::vector<ReferralRow>> ListByConsent(const Id128& consent_id) = 0;
  // Removes the ciphertext of every referral and consent of an erased case.
  virtual absl::Status ShredCase(const Id128& case_id) = 0;
};

}  // namespace trygg::domain

#endif  // TRYGG_SERVER_DOMAIN_REFERRAL_TABLES_H_
