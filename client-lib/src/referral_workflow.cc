// SPDX-License-Identifier: Apache-2.0

#include "trygg/referral_workflow.h"

#include <string>

#include "trygg/names.h"

namespace trygg {
namespace {

// Who may make a move: a set of parties.
constexpr uint8_t kBySender = 1;
constexpr uint8_t kByReceiver = 2;
constexpr uint8_t kByServer = 4;

uint8_t Bit(ReferralParty party) {
  switch (party) {
    case ReferralParty::kSender: return kBySender;
    case ReferralParty::kReceiver: return kByReceiver;
    case ReferralParty::kServer: return kByServer;
  }
  return 0;
}

struct Move {
  ReferralState from;
  ReferralState to;
  uint8_t parties;
};

constexpr Move kMoves[] = {
    {ReferralState::kSent, ReferralState::kAccepted, kByReceiver},
    {ReferralState::kSent, ReferralState::kDeclined, kByReceiver},
    {ReferralState::kSent, ReferralState::kWithdrawn, kBySender},
    // The server's moves: the answer-by time, or the consent relied on, lapsed.
    {ReferralState::kSent, ReferralState::kExpired, kByServer},
    {ReferralState::kAccepted, ReferralState::kCompleted, kByReceiver},
    {ReferralState::kAccepted, ReferralState::kClosed, kBySender | kByReceiver | kByServer},
};

}  // namespace

std::string_view ReferralStateName(ReferralState state) {
  const std::string_view name = FormatName(NamedEnum::kReferralState, static_cast<uint8_t>(state));
  return name.empty() ? "unknown" : name;
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
  if ((move->parties & Bit(by)) == 0) {
    const char* who = move->parties == kByReceiver ? "the receiving organisation"
                      : move->parties == kBySender ? "the sending organisation"
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

}  // namespace trygg
