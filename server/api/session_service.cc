// SPDX-License-Identifier: Apache-2.0

#include "server/api/session_service.h"

#include "server/api/convert.h"
#include "server/api/unary.h"

namespace trygg::api {

grpc::ServerUnaryReactor* SessionService::GetChallenge(grpc::CallbackServerContext* context,
                                                       const trygg::v1::GetChallengeRequest* request,
                                                       trygg::v1::GetChallengeResponse* response) {
  if (absl::Status admitted = auth_.AdmitUnauthenticated(*context); !admitted.ok()) return Finish(context, admitted);
  absl::StatusOr<Id128> device_id = IdFromProto(request->device_id(), "device_id");
  if (!device_id.ok()) return Finish(context, device_id.status());
  return FinishAfterWrite(context, store_, [this, device_id = *device_id, response](domain::Transaction& txn) {
    absl::StatusOr<std::vector<uint8_t>> challenge = sessions_.IssueChallenge(txn, device_id);
    if (!challenge.ok()) return challenge.status();
    absl::StatusOr<SessionChallenge> parsed = ParseSessionChallenge(*challenge);
    if (!parsed.ok()) return parsed.status();
    response->set_challenge(BytesToProto(*challenge));
    TimeToProto(parsed->expires_at_ms, response->mutable_expires_at());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* SessionService::CreateSession(grpc::CallbackServerContext* context,
                                                        const trygg::v1::CreateSessionRequest* request,
                                                        trygg::v1::CreateSessionResponse* response) {
  if (absl::Status admitted = auth_.AdmitUnauthenticated(*context); !admitted.ok()) return Finish(context, admitted);
  absl::StatusOr<Id128> device_id = IdFromProto(request->device_id(), "device_id");
  if (!device_id.ok()) return Finish(context, device_id.status());
  absl::StatusOr<SignedObject> signed_challenge = SignedFromProto(request->signed_challenge(), "signed_challenge");
  if (!signed_challenge.ok()) return Finish(context, signed_challenge.status());
  return FinishAfterWrite(context, store_,
                          [this, device_id = *device_id, signed_challenge = *std::move(signed_challenge),
                           response](domain::Transaction& txn) {
                            absl::StatusOr<domain::IssuedSession> session =
                                sessions_.CreateSession(txn, device_id, signed_challenge);
                            if (!session.ok()) return session.status();
                            response->set_token(session->token);
                            TimeToProto(session->expires_at_ms, response->mutable_expires_at());
                            return absl::OkStatus();
                          });
}

grpc::ServerUnaryReactor* SessionService::EndSession(grpc::CallbackServerContext* context,
                                                     const trygg::v1::EndSessionRequest*,
                                                     trygg::v1::EndSessionResponse*) {
  absl::StatusOr<domain::Caller> caller = auth_.Authenticate(*context);
  if (!caller.ok()) return Finish(context, caller.status());
  std::string token = *Authenticator::BearerToken(*context);
  return FinishAfterWrite(context, store_, [this, token = std::move(token)](domain::Transaction& txn) {
    return sessions_.EndSession(txn, token);
  });
}

grpc::ServerUnaryReactor* SessionService::WhoAmI(grpc::CallbackServerContext* context,
                                                 const trygg::v1::WhoAmIRequest*,
                                                 trygg::v1::WhoAmIResponse* response) {
  absl::StatusOr<domain::Caller> caller = auth_.Authenticate(*context);
  if (!caller.ok()) return Finish(context, caller.status());
  response->set_device_id(BytesToProto(caller->device_id.span()));
  response->set_org_id(BytesToProto(caller->org_id.span()));
  response->set_role(static_cast<trygg::v1::Role>(caller->role));
  TimeToProto(caller->session_expires_at_ms, response->mutable_expires_at());
  return Finish(context, absl::OkStatus());
}

}  // namespace trygg::api
