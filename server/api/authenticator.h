// SPDX-License-Identifier: Apache-2.0

// Authenticator: the bearer token of a call (metadata
// `authorization: Bearer <token>`) to the domain's Caller. Never logs or
// echoes the token.
//
// It also owns the StreamAuthority that ends open streams whose session
// stops authenticating (stream_authority.h).
//
// Thread-safety: immutable apart from the stream registry, which is
// synchronised; used concurrently by all handlers.
// Failure modes: UNAUTHENTICATED when the token is missing, malformed,
// unknown, expired or belongs to a revoked device.
#ifndef TRYGG_SERVER_API_AUTHENTICATOR_H_
#define TRYGG_SERVER_API_AUTHENTICATOR_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <grpcpp/server_context.h>

#include "absl/status/statusor.h"
#include "server/api/stream_authority.h"
#include "server/domain/caller.h"
#include "server/domain/sessions.h"
#include "server/domain/store.h"

namespace trygg::api {

class Authenticator {
 public:
  // Both must outlive the Authenticator.
  Authenticator(domain::Store& store, const domain::Sessions& sessions)
      : store_(store), sessions_(sessions), streams_(std::make_unique<StreamAuthority>(store, sessions)) {}

  absl::StatusOr<domain::Caller> Authenticate(const grpc::CallbackServerContext& context) const;
  // As Authenticate, but a call without any authorization metadata is nullopt.
  absl::StatusOr<std::optional<domain::Caller>> AuthenticateIfPresent(
      const grpc::CallbackServerContext& context) const;

  // The bearer token of the call, if any (for EndSession).
  static std::optional<std::string> BearerToken(const grpc::CallbackServerContext& context);

  // For a stream whose caller Authenticate accepted: a lease that runs
  // `on_lost` once when the call's session ends, expires or its device is
  // revoked. The stream must Release() it before it is deleted.
  std::shared_ptr<StreamLease> HoldForStream(const grpc::CallbackServerContext& context,
                                             std::function<void()> on_lost) const;
  StreamAuthority& streams() const { return *streams_; }

 private:
  domain::Store& store_;
  const domain::Sessions& sessions_;
  std::unique_ptr<StreamAuthority> streams_;
};

}  // namespace trygg::api

#endif  // TRYGG_SERVER_API_AUTHENTICATOR_H_
