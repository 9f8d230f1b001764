// SPDX-License-Identifier: Apache-2.0

// The referral state machine of DESIGN.md, "Referral workflow", in one place,
// shared by the server (which enforces it before storing a move) and every
// client (which checks each signed move it reads against it):
//
//   SENT     -> ACCEPTED            by the receiving organisation
//   SENT     -> DECLINED(reason)    by the receiving organisation
//   SENT     -> WITHDRAWN           by the sending organisation
//   SENT     -> EXPIRED             by the server, when the answer-by time passes
//                                   or the consent it relied on expires
//   ACCEPTED -> COMPLETED(outcome)  by the receiving organisation
//   ACCEPTED -> CLOSED              by either organisation, or by the server when
//                                   the consent the referral relied on expires
//
// Any other move is FAILED_PRECONDITION; a move by the wrong party is
// PERMISSION_DENIED; a decline without a reason or a completion without an
// outcome is INVALID_ARGUMENT. Pure functions, thread-safe.
#ifndef TRYGG_REFERRAL_WORKFLOW_H_
#define TRYGG_REFERRAL_WORKFLOW_H_

#include <cstdint>
#include <string_view>

#include "absl/status/status.h"

namespace trygg {

// Numbers match trygg.v1.ReferralState.
enum class ReferralState : uint8_t {
  kSent = 1,
  kAccepted = 2,
  kDeclined = 3,
  kWithdrawn = 4,
  kExpired = 5,
  kCompleted = 6,
  kClosed = 7,
};

enum class ReferralParty { kSender, kReceiver, kServer };

// Codes carried by a transition; numbers match trygg.v1.DeclineReason and
// trygg.v1.Outcome (0 = none).
inline constexpr uint8_t kMaxDeclineReason = 6;
inline constexpr uint8_t kMaxOutcome = 5;

// The state's name as trygg/names.h spells it ("sent"), for messages;
// "unknown" for a number that is not a state.
std::string_view ReferralStateName(ReferralState state);

// Whether `by` may move a referral from `from` to `to` with `code` (a decline
// reason for DECLINED, an outcome for COMPLETED, else 0).
absl::Status CheckReferralTransition(ReferralState from, ReferralState to, ReferralParty by, uint8_t code);

// No transition leaves these states.
bool IsFinal(ReferralState state);

// States after which the receiving organisation's access to the referral's
// scope is revoked (its grants are deleted).
bool ReceiverLosesAccess(ReferralState state);

}  // namespace trygg

#endif  // TRYGG_REFERRAL_WORKFLOW_H_
