// SPDX-License-Identifier: Apache-2.0

// The referral state machine, as the server's domain names it. It lives in
// libtrygg (trygg/referral_workflow.h) so that the server and every client
// check moves against the same table.
#ifndef TRYGG_SERVER_DOMAIN_REFERRAL_WORKFLOW_H_
#define TRYGG_SERVER_DOMAIN_REFERRAL_WORKFLOW_H_

#include "trygg/referral_workflow.h"

namespace trygg::domain {

using trygg::CheckReferralTransition;
using trygg::IsFinal;
using trygg::kMaxDeclineReason;
using trygg::kMaxOutcome;
using trygg::ReceiverLosesAccess;
using trygg::ReferralParty;
using trygg::ReferralState;
using trygg::ReferralStateName;

}  // namespace trygg::domain

#endif  // TRYGG_SERVER_DOMAIN_REFERRAL_WORKFLOW_H_
