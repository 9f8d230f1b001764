// SPDX-License-Identifier: Apache-2.0

// Authenticator: the bearer token of a call (metadata
// `authorization: Bearer <token>`) to the domain's Caller. Never logs or
// echoes the token.
//
// It also owns the StreamAuthority that ends open streams whose session
// stops authenticating (stream_authority.h).
//
// A session a call found a moment ago is served from a SessionCache, which
// any change to a session or a device retires (session_cache.h).
//
// Thread-safety: immutable apart from the session cache and the stream
// registry, which are synchronised; used concurrently by all handlers.
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
#include "server/api/limits.h"
#include "server/api/session_cache.h"
#include "server/api/stream_authority.h"
#include "server/domain/caller.h"
#include "server/domain/sessions.h"
#include "server/domain/store.h"

namespace trygg::api {

class Authenticator {
 public:
  // `store`, `sessions` and `clock` must outlive the Authenticator.
  Authenticator(domain::Store& store, const domain::Sessions& sessions, Clock& clock,
                const CallerLimits& limits = CallerLimits())
      : store_(store),
        sessions_(sessions),
        clock_(clock),
        streams_(std::make_unique<StreamAuthority>(store, sessions)),
        unauthenticated_(std::make_unique<PeerRateLimiter>(limits.unauthenticated, clock)),
        slots_(std::make_unique<StreamSlots>(limits.max_streams_per_device)) {}

  absl::StatusOr<domain::Caller> Authenticate(const grpc::CallbackServerContext& context) const;
  // The caller behind a bearer token, from the session cache or the store;
  // Authenticate is this plus the rate limit on tokens that do not
  // authenticate.
  absl::StatusOr<domain::Caller> AuthenticateToken(absl::string_view token) const;
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

  // For the calls anyone may make before signing in: OK, or
  // RESOURCE_EXHAUSTED when the caller's address has made too many of them
  // lately. The handler asks first, before it reads or queues anything.
  absl::Status AdmitUnauthenticated(const grpc::CallbackServerContext& context) const {
    return unauthenticated_->Admit(context.peer());
  }
  const PeerRateLimiter& unauthenticated_limiter() const { return *unauthenticated_; }

  // A place for one more open stream of `caller`'s device, held by the
  // stream for its life; RESOURCE_EXHAUSTED past the per-device cap.
  absl::StatusOr<StreamSlot> TakeStreamSlot(const domain::Caller& caller) const {
    return slots_->Take(caller.device_id);
  }
  const StreamSlots& stream_slots() const { return *slots_; }

 private:
  domain::Store& store_;
  const domain::Sessions& sessions_;
  Clock& clock_;
  std::unique_ptr<SessionCache> cache_ = std::make_unique<SessionCache>();
  std::unique_ptr<StreamAuthority> streams_;
  std::unique_ptr<PeerRateLimiter> unauthenticated_;
  std::unique_ptr<StreamSlots> slots_;
};

}  // namespace trygg::api

#endif  // TRYGG_SERVER_API_AUTHENTICATOR_H_
