// SPDX-License-Identifier: Apache-2.0

#include "server/domain/referral_workflow.h"

#include <catch2/catch.hpp>

namespace trygg::domain {
namespace {

using S = ReferralState;
using P = ReferralParty;

constexpr S kAll[] = {S::kSent, S::kAccepted, S::kDeclined, S::kWithdrawn, S::kExpired, S::kCompleted, S::kClosed};
constexpr P kParties[] = {P::kSender, P::kReceiver, P::kServer};

TEST_CASE("the legal moves, each only by its party", "[referral]") {
  CHECK(CheckReferralTransition(S::kSent, S::kAccepted, P::kReceiver, 0).ok());
  CHECK(CheckReferralTransition(S::kSent, S::kDeclined, P::kReceiver, 1).ok());
  CHECK(CheckReferralTransition(S::kSent, S::kWithdrawn, P::kSender, 0).ok());
  CHECK(CheckReferralTransition(S::kSent, S::kExpired, P::kServer, 0).ok());
  CHECK(CheckReferralTransition(S::kAccepted, S::kCompleted, P::kReceiver, 1).ok());
  CHECK(CheckReferralTransition(S::kAccepted, S::kClosed, P::kSender, 0).ok());
  CHECK(CheckReferralTransition(S::kAccepted, S::kClosed, P::kReceiver, 0).ok());

  CHECK(CheckReferralTransition(S::kSent, S::kAccepted, P::kSender, 0).code() == absl::StatusCode::kPermissionDenied);
  CHECK(CheckReferralTransition(S::kSent, S::kWithdrawn, P::kReceiver, 0).code() ==
        absl::StatusCode::kPermissionDenied);
  CHECK(CheckReferralTransition(S::kSent, S::kExpired, P::kSender, 0).code() == absl::StatusCode::kPermissionDenied);
  CHECK(CheckReferralTransition(S::kAccepted, S::kCompleted, P::kServer, 1).code() ==
        absl::StatusCode::kPermissionDenied);
  CHECK(CheckReferralTransition(S::kSent, S::kAccepted, P::kServer, 0).code() == absl::StatusCode::kPermissionDenied);
  // The server closes an accepted referral whose consent expired.
  CHECK(CheckReferralTransition(S::kAccepted, S::kClosed, P::kServer, 0).ok());
}

TEST_CASE("every other move is FAILED_PRECONDITION, for every party", "[referral]") {
  int legal = 0;
  for (S from : kAll) {
    for (S to : kAll) {
      for (P by : kParties) {
        const uint8_t code = (to == S::kDeclined || to == S::kCompleted) ? 1 : 0;
        absl::Status status = CheckReferralTransition(from, to, by, code);
        const bool listed =
            (from == S::kSent && (to == S::kAccepted || to == S::kDeclined || to == S::kWithdrawn ||
                                  to == S::kExpired)) ||
            (from == S::kAccepted && (to == S::kCompleted || to == S::kClosed));
        INFO(ReferralStateName(from) << " -> " << ReferralStateName(to));
        if (!listed) {
          CHECK(status.code() == absl::StatusCode::kFailedPrecondition);
        } else if (status.ok()) {
          ++legal;
        }
      }
    }
  }
  CHECK(legal == 8);
  for (S state : {S::kDeclined, S::kWithdrawn, S::kExpired, S::kCompleted, S::kClosed}) CHECK(IsFinal(state));
  CHECK_FALSE(IsFinal(S::kSent));
  CHECK_FALSE(IsFinal(S::kAccepted));
}

TEST_CASE("codes: a decline needs a reason, a completion an outcome", "[referral]") {
  CHECK(CheckReferralTransition(S::kSent, S::kDeclined, P::kReceiver, 0).code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(CheckReferralTransition(S::kSent, S::kDeclined, P::kReceiver, kMaxDeclineReason + 1).code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(CheckReferralTransition(S::kAccepted, S::kCompleted, P::kReceiver, 0).code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(CheckReferralTransition(S::kAccepted, S::kCompleted, P::kReceiver, kMaxOutcome + 1).code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(CheckReferralTransition(S::kSent, S::kAccepted, P::kReceiver, 3).code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(CheckReferralTransition(S::kAccepted, S::kClosed, P::kSender, 2).ok());
}

TEST_CASE("who loses access", "[referral]") {
  for (S state : {S::kDeclined, S::kWithdrawn, S::kExpired, S::kClosed}) CHECK(ReceiverLosesAccess(state));
  for (S state : {S::kSent, S::kAccepted, S::kCompleted}) CHECK_FALSE(ReceiverLosesAccess(state));
}

}  // namespace
}  // namespace trygg::domain
