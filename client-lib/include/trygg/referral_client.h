// SPDX-License-Identifier: Apache-2.0

// ReferralClient: consent and referrals for a caseworker's device, end to end
// encrypted (DESIGN.md "Referral workflow"; docs/protocol.md section 12).
//
// Consent records and their evidence are signed and sealed here (the evidence
// under the case's scope key, so only organisations that may read the case can
// read it). A referral gets a scope of its own for {sender, receiver}: the
// sender writes a referral packet (a record envelope in that scope) holding
// only what the receiver needs, grants the scope key to both organisations'
// current keys, and signs the referral record that binds packet, listing,
// consent or justification together. Every transition is signed by the acting
// device.
//
// On reading, everything the server sends is checked before it is returned:
// the referral record's signature against the sending organisation's verified
// log, each transition's signature against its actor's organisation log and
// its chaining (from_state of each is the to_state of the one before), the
// packet's hash against the signed record, and the packet itself (signature,
// scope, epoch, padding) as any record envelope. The head of each referral's
// history, and each consent withdrawal, this device has seen is remembered
// through the Client in its state file (docs/protocol.md 14): a shorter or
// different history later, even to a new Client, is DATA_LOSS (kRollback,
// kFork). A consent counts as withdrawn only with the withdrawal statement
// signed by a device of its organisation, at the time that statement gives.
//
// Ownership: borrows the Client (logged in), the key store contents and the
// CaseClient (for the case's scope key); all must outlive the ReferralClient.
// Plaintext is returned in ordinary memory to the caller, which owns it.
// Thread-safety: safe to call from several threads, Watch included (it
// blocks only its caller). A ReferralClient keeps no state of its own: calls
// run in parallel, each as safe as the Client and the CaseClient it was given
// (calls that touch a case take the CaseClient in turn). The Clock and Rng
// given must be safe to share (SystemClock and SystemRng are).
// Failure modes: server statuses as the Client returns them (NOT_FOUND for a
// referral or case the organisation may not see, FAILED_PRECONDITION for an
// illegal transition or missing consent); verification failures carry a
// CryptoError (crypto_error.h); InvalidArgument for bad input caught before
// anything is sent.
#ifndef TRYGG_REFERRAL_CLIENT_H_
#define TRYGG_REFERRAL_CLIENT_H_

#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "trygg/case_client.h"
#include "trygg/client.h"
#include "trygg/key_store.h"
#include "trygg/names.h"
#include "trygg/referral_workflow.h"
#include "trygg/workflow.h"

namespace trygg {

// A referral's state (trygg.v1.ReferralState numbers), as the shared state
// machine names it.
using ReferralStatus = ReferralState;

// Numbers match trygg.v1.DeclineReason.
enum class DeclineReason : uint8_t {
  kNoCapacity = 1,
  kOutsideMandate = 2,
  kNotEligible = 3,
  kCannotContact = 4,
  kSurvivorDeclined = 5,
  kOther = 6,
};

// Numbers match trygg.v1.Outcome.
enum class ReferralOutcome : uint8_t {
  kServiceProvided = 1,
  kPartiallyProvided = 2,
  kSurvivorDisengaged = 3,
  kReferredOnward = 4,
  kOther = 5,
};

// Their names, as people read and type them, are in names.h.

struct ConsentTerms {
  Id128 case_id;
  Id128 to_org;  // all zero: any member organisation
  uint16_t services = 0;  // ServiceBit() set
  ConsentPurpose purpose = ConsentPurpose::kReferralForServices;
  int64_t expires_at_ms = 0;
  // What the survivor agreed to and how (sealed on the device).
  std::vector<uint8_t> evidence;
};

// A consent as stored, its signature checked and its evidence opened.
struct ConsentView {
  ConsentRecord record;
  std::vector<uint8_t> evidence;
  std::optional<int64_t> withdrawn_at_ms;
};

struct ReferralDraft {
  Id128 case_id;
  Id128 listing_id;  // the receiving organisation's service listing
  Id128 to_org;
  uint8_t service = 0;
  ReferralUrgency urgency = ReferralUrgency::kRoutine;
  // Set for the consent basis; unset means the vital-interests basis, which
  // needs `justification`.
  std::optional<Id128> consent_id;
  std::vector<uint8_t> justification;
  // The referral packet's plaintext: only what the receiver needs to know.
  std::vector<uint8_t> packet;
  uint16_t content_type = 1;
};

struct SignedTransitionView {
  ReferralTransition transition;
  Id128 actor_org;
};

// A referral as this device may see it, every signature checked.
struct ReferralView {
  ReferralRecord record;
  ReferralStatus state = ReferralStatus::kSent;
  uint8_t code = 0;  // decline reason or outcome, by state
  int64_t updated_at_ms = 0;
  int64_t answer_by_ms = 0;
  std::vector<SignedTransitionView> transitions;
  // The packet and justification, opened, while this organisation holds the
  // referral scope; a receiver that lost access sees the metadata only.
  std::optional<std::vector<uint8_t>> packet;
  std::optional<std::vector<uint8_t>> justification;
  bool incoming = false;  // this organisation is the receiver
  // The organisations' names, from their root-signed certificates.
  std::string from_org_name;
  std::string to_org_name;
};

// One row of an inbox or outbox: routing metadata, the referral record's
// signature checked, no packet.
struct ReferralSummary {
  ReferralRecord record;
  ReferralStatus state = ReferralStatus::kSent;
  uint8_t code = 0;
  int64_t updated_at_ms = 0;
  int64_t answer_by_ms = 0;
  std::string from_org_name;  // from the root-signed certificates
  std::string to_org_name;
};

struct ReferralQuery {
  std::vector<ReferralStatus> states;  // empty: all
  uint8_t service = 0;                 // 0: all
  int page_size = 0;                   // 0: the server's default
  std::string page_token;
};

struct ReferralPage {
  std::vector<ReferralSummary> referrals;
  std::string next_page_token;  // "" at the end
};

// A change the server told this organisation of: ids and states only.
struct ReferralNotice {
  Id128 referral_id;
  ReferralStatus state = ReferralStatus::kSent;
  bool incoming = false;
  int64_t at_ms = 0;
};

// Ends a running ReferralClient::Watch from another thread (or from its own
// callback): Cancel() makes the Watch given this object stop reading and
// return CANCELLED, and a Watch started after Cancel() returns CANCELLED at
// once. Cancel is sticky, idempotent and safe from any thread. Must outlive
// the Watch calls it is given to.
class WatchCancel {
 public:
  void Cancel();
  bool cancelled() const;

 private:
  friend class ReferralClient;
  mutable std::mutex mu_;
  bool cancelled_ = false;
  std::function<void()> stop_;  // the running Watch's, while it runs
};

class ReferralClient {
 public:
  ReferralClient(Client& client, const KeyStoreContents& self, CaseClient& cases, Clock& clock, Rng& rng)
      : client_(client), self_(self), cases_(cases), clock_(clock), rng_(rng) {}

  // Signs a consent record and seals its evidence under the case's scope key.
  absl::StatusOr<Id128> RecordConsent(const ConsentTerms& terms);
  // Signs and sends a withdrawal; the server ends referrals that relied on it.
  absl::Status WithdrawConsent(const Id128& case_id, const Id128& consent_id);
  absl::StatusOr<std::vector<ConsentView>> ListConsents(const Id128& case_id);

  // Returns the new referral's id.
  absl::StatusOr<Id128> Refer(const ReferralDraft& draft);
  absl::StatusOr<ReferralView> Get(const Id128& referral_id);

  // Signed transitions from the referral's current state (read from the
  // server and verified first). Each returns the referral as it now stands.
  absl::StatusOr<ReferralView> Accept(const Id128& referral_id);
  absl::StatusOr<ReferralView> Decline(const Id128& referral_id, DeclineReason reason);
  absl::StatusOr<ReferralView> Withdraw(const Id128& referral_id);
  absl::StatusOr<ReferralView> Complete(const Id128& referral_id, ReferralOutcome outcome);
  absl::StatusOr<ReferralView> Close(const Id128& referral_id);
  // Lower level: signs {from, to, code} and sends it as it is (tests, tools).
  absl::StatusOr<ReferralView> SendTransition(const Id128& referral_id, ReferralStatus from, ReferralStatus to,
                                              uint8_t code);

  absl::StatusOr<ReferralPage> Inbox(const ReferralQuery& query);
  absl::StatusOr<ReferralPage> Outbox(const ReferralQuery& query);

  // Calls `on_notice` for each notice until it returns false, the stream
  // ends or `deadline_ms` (0: none, wall clock) passes; a deadline that
  // passes is not an error. `on_open`, if given, is called once the server
  // has registered the stream (its initial metadata arrived), so that every
  // change committed after it reaches `on_notice`; or once the call has
  // failed, which Watch then returns. With `cancel`, WatchCancel::Cancel
  // ends it early with CANCELLED (one cancel may serve one Watch at a time).
  absl::Status Watch(const std::function<bool(const ReferralNotice&)>& on_notice, int64_t deadline_ms = 0,
                     const std::function<void()>& on_open = nullptr, WatchCancel* cancel = nullptr);

 private:
  absl::StatusOr<ReferralPage> List(const ReferralQuery& query, bool inbox);
  absl::StatusOr<ReferralView> Move(const Id128& referral_id, ReferralStatus to, uint8_t code);
  const OrgLogState* OrgLog(const Id128& org_id, std::map<Id128, OrgLogState>& logs, absl::Status& error);

  Client& client_;
  const KeyStoreContents& self_;
  CaseClient& cases_;
  Clock& clock_;
  Rng& rng_;
};

}  // namespace trygg

#endif  // TRYGG_REFERRAL_CLIENT_H_
