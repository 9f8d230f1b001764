#include "server/domain/referral_workflow.h"

#include <string>

namespace trygg::domain {
namespace {

struct Move {
  ReferralState from;
  ReferralState to;
  ReferralParty by;
  bool either_org;  // sender or receiver
};

constexpr Move kMoves[] = {
    {ReferralState::kSent, ReferralState::kAccepted, ReferralParty::kReceiver, false},
    {ReferralState::kSent, ReferralState::kDeclined, ReferralParty::kReceiver, false},
    {ReferralState::kSent, ReferralState::kWithdrawn, ReferralParty::kSender, false},
    {ReferralState::kSent, ReferralState::kExpired, ReferralParty::kServer, false},
    {ReferralState::kAccepted, ReferralState::kCompleted, ReferralParty::kReceiver, false},
    {ReferralState::kAccepted, ReferralState::kClosed, ReferralParty::kSender, true},
};

}  // namespace

std::string_view ReferralStateName(ReferralState state) {
  switch (state) {
    case ReferralState::kSent: return "SENT";
    case ReferralState::kAccepted: return "ACCEPTED";
    case ReferralState::kDeclined: return "DECLINED";
    case ReferralState::kWithdrawn: return "WITHDRAWN";
    case ReferralState::kExpired: return "EXPIRED";
    case ReferralState::kCompleted: return "COMPLETED";
    case ReferralState::kClosed: return "CLOSED";
  }
  return "UNKNOWN";
}

absl::Status CheckReferralTransition(ReferralState from, ReferralState to, ReferralParty by, uint8_t code) {
  const Move* move = nullptr;
  for (const Move& m : kMoves) {
    if (m.from == from && m.to == to) move = &m;
  }
  if (move == nullptr) {
    return absl::FailedPreconditionError(std::string("a referral cannot go from ") +
                                         std::string(ReferralStateName(from)) + " to " +
                                         std::string(ReferralStateName(to)));
  }
  const bool party_ok = move->by == by || (move->either_org && by != ReferralParty::kServer);
  if (!party_ok) {
    const char* who = move->by == ReferralParty::kReceiver ? "the receiving organisation"
                      : move->by == ReferralParty::kSender ? "the sending organisation"
                                                           : "the server";
    return absl::PermissionDeniedError(std::string("only ") + who + " may move a referral to " +
                                       std::string(ReferralStateName(to)));
  }
  if (to == ReferralState::kDeclined && (code == 0 || code > kMaxDeclineReason)) {
    return absl::InvalidArgumentError("declining needs a decline reason");
  }
  if (to == ReferralState::kCompleted && (code == 0 || code > kMaxOutcome)) {
    return absl::InvalidArgumentError("completing needs an outcome");
  }
  if (to != ReferralState::kDeclined && to != ReferralState::kCompleted && code != 0 &&
      !(to == ReferralState::kClosed && code <= kMaxOutcome)) {
    return absl::InvalidArgumentError("this transition carries no code");
  }
  return absl::OkStatus();
}

bool IsFinal(ReferralState state) {
  for (const Move& m : kMoves) {
    if (m.from == state) return false;
  }
  return true;
}

bool ReceiverLosesAccess(ReferralState state) {
  return state == ReferralState::kDeclined || state == ReferralState::kWithdrawn ||
         state == ReferralState::kExpired || state == ReferralState::kClosed;
}

}  // namespace trygg::domain
