// SPDX-License-Identifier: Apache-2.0

#include "server/api/authenticator.h"

#include "trygg/status_macros.h"

namespace trygg::api {

std::optional<std::string> Authenticator::BearerToken(const grpc::CallbackServerContext& context) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end()) return std::nullopt;
  constexpr std::string_view kPrefix = "Bearer ";
  std::string_view value(it->second.data(), it->second.size());
  if (value.substr(0, kPrefix.size()) != kPrefix) return std::string();
  return std::string(value.substr(kPrefix.size()));
}

absl::StatusOr<domain::Caller> Authenticator::AuthenticateToken(absl::string_view token) const {
  TRYGG_ASSIGN_OR_RETURN(const Hash256 token_hash, domain::Sessions::TokenHash(token));
  // The version before the Read: if a change to sessions or devices commits
  // meanwhile, the entry is stamped with a version that change retires (or
  // an odd one, which stores nothing), and is never served.
  const uint64_t trust_version = store_.TrustVersion();
  if (std::optional<domain::Caller> cached = cache_->Find(token_hash, trust_version, clock_.NowUnixMillis())) {
    return *std::move(cached);
  }
  domain::Caller caller;
  TRYGG_RETURN_IF_ERROR(store_.Read([&](domain::Transaction& txn) -> absl::Status {
    TRYGG_ASSIGN_OR_RETURN(caller, sessions_.AuthenticateTokenHash(txn, token_hash));
    return absl::OkStatus();
  }));
  cache_->Insert(token_hash, trust_version, caller);
  return caller;
}

absl::StatusOr<domain::Caller> Authenticator::Authenticate(const grpc::CallbackServerContext& context) const {
  std::optional<std::string> token = BearerToken(context);
  if (!token.has_value()) return absl::UnauthenticatedError("this call needs a session (authorization: Bearer)");
  absl::StatusOr<domain::Caller> caller = AuthenticateToken(*token);
  // A call with a made-up token is a call before sign-in: it costs its
  // address a token, and an address out of tokens hears that instead.
  if (caller.status().code() == absl::StatusCode::kUnauthenticated) {
    if (absl::Status admitted = AdmitUnauthenticated(context); !admitted.ok()) return admitted;
  }
  return caller;
}

absl::StatusOr<std::optional<domain::Caller>> Authenticator::AuthenticateIfPresent(
    const grpc::CallbackServerContext& context) const {
  if (context.client_metadata().find("authorization") == context.client_metadata().end()) return std::nullopt;
  absl::StatusOr<domain::Caller> caller = Authenticate(context);
  if (!caller.ok()) return caller.status();
  return std::optional<domain::Caller>(*caller);
}

std::shared_ptr<StreamLease> Authenticator::HoldForStream(const grpc::CallbackServerContext& context,
                                                          std::function<void()> on_lost) const {
  return streams_->Hold(BearerToken(context).value_or(std::string()), std::move(on_lost));
}

}  // namespace trygg::api
