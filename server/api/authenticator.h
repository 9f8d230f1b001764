// Authenticator: the bearer token of a call (metadata
// `authorization: Bearer <token>`) to the domain's Caller. Never logs or
// echoes the token.
//
// Thread-safety: immutable; used concurrently by all handlers.
// Failure modes: UNAUTHENTICATED when the token is missing, malformed,
// unknown, expired or belongs to a revoked device.
#ifndef TRYGG_SERVER_API_AUTHENTICATOR_H_
#define TRYGG_SERVER_API_AUTHENTICATOR_H_

#include <optional>
#include <string>

#include <grpcpp/server_context.h>

#include "absl/status/statusor.h"
#include "server/domain/caller.h"
#include "server/domain/sessions.h"
#include "server/domain/store.h"

namespace trygg::api {

class Authenticator {
 public:
  // Both must outlive the Authenticator.
  Authenticator(domain::Store& store, const domain::Sessions& sessions) : store_(store), sessions_(sessions) {}

  absl::StatusOr<domain::Caller> Authenticate(const grpc::CallbackServerContext& context) const;
  // As Authenticate, but a call without any authorization metadata is nullopt.
  absl::StatusOr<std::optional<domain::Caller>> AuthenticateIfPresent(
      const grpc::CallbackServerContext& context) const;

  // The bearer token of the call, if any (for EndSession).
  static std::optional<std::string> BearerToken(const grpc::CallbackServerContext& context);

 private:
  domain::Store& store_;
  const domain::Sessions& sessions_;
};

}  // namespace trygg::api

#endif  // TRYGG_SERVER_API_AUTHENTICATOR_H_
