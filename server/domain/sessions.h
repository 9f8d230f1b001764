// SPDX-License-Identifier: Apache-2.0

// Sessions: a device proves possession of its signing key by signing a fresh,
// single-use server challenge (bound to this server's instance id and a time
// window) and receives a short-lived bearer token. Only a hash of the token
// is stored, so a copy of the database lets no one call as a device.
//
// Every function runs inside a store Transaction.
// Thread-safety: immutable after construction.
// Failure modes: UNAUTHENTICATED for everything about a bad, replayed,
// expired or revoked credential (the message says which, but never whether a
// device id exists); INVALID_ARGUMENT for malformed input;
// RESOURCE_EXHAUSTED for a challenge while SessionPolicy::max_live_challenges
// are outstanding.
#ifndef TRYGG_SERVER_DOMAIN_SESSIONS_H_
#define TRYGG_SERVER_DOMAIN_SESSIONS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/domain/caller.h"
#include "server/domain/store.h"
#include "trygg/random.h"
#include "trygg/trust.h"

namespace trygg::domain {

struct SessionPolicy {
  int64_t challenge_ttl_ms = 2 * 60 * 1000;
  int64_t session_ttl_ms = 30 * 60 * 1000;
  // Unexpired challenges, for all devices together: anyone may ask for one,
  // so this bounds what a flood can store (each expires after
  // challenge_ttl_ms, and honest devices use theirs within seconds).
  int64_t max_live_challenges = 10'000;
};

struct IssuedSession {
  // The bearer token: secret, returned once, never logged.
  std::string token;
  int64_t expires_at_ms = 0;
};

class Sessions {
 public:
  Sessions(const Id128& server_instance_id, SessionPolicy policy, Clock& clock, Rng& rng)
      : server_instance_id_(server_instance_id), policy_(policy), clock_(clock), rng_(rng) {}

  // A challenge for any well-formed device id: whether the device exists is
  // not revealed here. RESOURCE_EXHAUSTED, storing nothing, while
  // SessionPolicy::max_live_challenges challenges are live.
  absl::StatusOr<std::vector<uint8_t>> IssueChallenge(Transaction& txn, const Id128& device_id) const;

  absl::StatusOr<IssuedSession> CreateSession(Transaction& txn, const Id128& device_id,
                                              const SignedObject& signed_challenge) const;

  // The caller behind a bearer token.
  absl::StatusOr<Caller> Authenticate(Transaction& txn, absl::string_view token) const;
  // The same, from the token's hash (what open streams keep, so that the
  // server holds no bearer token longer than one call's handling).
  absl::StatusOr<Caller> AuthenticateTokenHash(Transaction& txn, const Hash256& token_hash) const;

  // BLAKE2b-256 of a well-formed bearer token; UNAUTHENTICATED otherwise.
  static absl::StatusOr<Hash256> TokenHash(absl::string_view token);

  absl::Status EndSession(Transaction& txn, absl::string_view token) const;

  // Deletes expired challenges and sessions, so that a flood of challenges
  // that stops leaves nothing behind even if no one asks for another. For
  // the server's expiry loop; bounded by max_live_challenges.
  absl::Status DeleteExpired(Transaction& txn) const;

  // How many sessions have not expired or ended, for metrics. Says nothing
  // of whose they are.
  absl::StatusOr<int64_t> CountLive(Transaction& txn) const;

 private:
  Id128 server_instance_id_;
  SessionPolicy policy_;
  Clock& clock_;
  Rng& rng_;
};

}  // namespace trygg::domain

#endif  // TRYGG_SERVER_DOMAIN_SESSIONS_H_
