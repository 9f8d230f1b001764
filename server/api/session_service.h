// SPDX-License-Identifier: Apache-2.0

// SessionService handlers: challenge, session, end, who-am-i. Rules live in
// server/domain/sessions.cc. Tokens are never logged.
//
// Thread-safety: handlers run concurrently on gRPC's callback threads.
#ifndef TRYGG_SERVER_API_SESSION_SERVICE_H_
#define TRYGG_SERVER_API_SESSION_SERVICE_H_

#include "server/api/authenticator.h"
#include "server/domain/sessions.h"
#include "server/domain/store.h"
#include "trygg/v1/session.grpc.pb.h"

namespace trygg::api {

class SessionService final : public trygg::v1::SessionService::CallbackService {
 public:
  // All arguments must outlive the service.
  SessionService(domain::Store& store, const domain::Sessions& sessions, const Authenticator& authenticator)
      : store_(store), sessions_(sessions), auth_(authenticator) {}

  grpc::ServerUnaryReactor* GetChallenge(grpc::CallbackServerContext* context,
                                         const trygg::v1::GetChallengeRequest* request,
                                         trygg::v1::GetChallengeResponse* response) override;
  grpc::ServerUnaryReactor* CreateSession(grpc::CallbackServerContext* context,
                                          const trygg::v1::CreateSessionRequest* request,
                                          trygg::v1::CreateSessionResponse* response) override;
  grpc::ServerUnaryReactor* EndSession(grpc::CallbackServerContext* context,
                                       const trygg::v1::EndSessionRequest* request,
                                       trygg::v1::EndSessionResponse* response) override;
  grpc::ServerUnaryReactor* WhoAmI(grpc::CallbackServerContext* context, const trygg::v1::WhoAmIRequest* request,
                                   trygg::v1::WhoAmIResponse* response) override;

 private:
  domain::Store& store_;
  const domain::Sessions& sessions_;
  const Authenticator& auth_;
};

}  // namespace trygg::api

#endif  // TRYGG_SERVER_API_SESSION_SERVICE_H_
