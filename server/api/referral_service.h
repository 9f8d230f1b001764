// SPDX-License-Identifier: Apache-2.0

// ReferralService handlers and the consent RPCs' conversions: translate gRPC
// to domain::Referrals calls and back, and tell WatchReferrals streams of
// every committed change. Rules live in server/domain/referrals.cc.
//
// Thread-safety: handlers run concurrently on gRPC's callback threads.
#ifndef TRYGG_SERVER_API_REFERRAL_SERVICE_H_
#define TRYGG_SERVER_API_REFERRAL_SERVICE_H_

#include "server/api/authenticator.h"
#include "server/api/referral_watch.h"
#include "server/domain/referrals.h"
#include "server/domain/store.h"
#include "trygg/v1/referral.grpc.pb.h"

namespace trygg::api {

// The wire form of a stored referral.
void ReferralToProto(const domain::ReferralRow& row, const std::vector<domain::StoredTransition>& transitions,
                     trygg::v1::Referral* out);
// Tells the sending and receiving organisations' watchers of a change.
void PublishReferral(ReferralWatch& watch, const domain::ReferralRow& row);

class ReferralService final : public trygg::v1::ReferralService::CallbackService {
 public:
  // All arguments must outlive the service.
  ReferralService(domain::Store& store, const domain::Referrals& referrals, const Authenticator& authenticator,
                  ReferralWatch& watch)
      : store_(store), referrals_(referrals), auth_(authenticator), watch_(watch) {}

  grpc::ServerUnaryReactor* CreateReferral(grpc::CallbackServerContext* context,
                                           const trygg::v1::CreateReferralRequest* request,
                                           trygg::v1::CreateReferralResponse* response) override;
  grpc::ServerUnaryReactor* GetReferral(grpc::CallbackServerContext* context,
                                        const trygg::v1::GetReferralRequest* request,
                                        trygg::v1::GetReferralResponse* response) override;
  grpc::ServerUnaryReactor* TransitionReferral(grpc::CallbackServerContext* context,
                                               const trygg::v1::TransitionReferralRequest* request,
                                               trygg::v1::TransitionReferralResponse* response) override;
  grpc::ServerUnaryReactor* ListInbox(grpc::CallbackServerContext* context,
                                      const trygg::v1::ListInboxRequest* request,
                                      trygg::v1::ListInboxResponse* response) override;
  grpc::ServerUnaryReactor* ListOutbox(grpc::CallbackServerContext* context,
                                       const trygg::v1::ListOutboxRequest* request,
                                       trygg::v1::ListOutboxResponse* response) override;
  grpc::ServerWriteReactor<trygg::v1::WatchReferralsResponse>* WatchReferrals(
      grpc::CallbackServerContext* context, const trygg::v1::WatchReferralsRequest* request) override;

 private:
  template <typename Request, typename Response>
  grpc::ServerUnaryReactor* List(grpc::CallbackServerContext* context, const Request& request, Response* response,
                                 bool inbox);

  domain::Store& store_;
  const domain::Referrals& referrals_;
  const Authenticator& auth_;
  ReferralWatch& watch_;
};

}  // namespace trygg::api

#endif  // TRYGG_SERVER_API_REFERRAL_SERVICE_H_
