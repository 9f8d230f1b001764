// SPDX-License-Identifier: Apache-2.0

#include "server/domain/sessions.h"

#include <array>

#include "server/domain/audit_log.h"
#include "server/domain/trust_tables.h"
#include "trygg/signing.h"
#include "trygg/status_macros.h"

namespace trygg::domain {
namespace {

constexpr size_t kTokenBytes = 32;
constexpr char kSessionRefused[] =
    "no session: the challenge, its signature or the device is not accepted";

}  // namespace

absl::StatusOr<Hash256> Sessions::TokenHash(absl::string_view token) {
  absl::StatusOr<std::vector<uint8_t>> raw = HexDecode(std::string_view(token.data(), token.size()));
  if (!raw.ok() || raw->size() != kTokenBytes) return absl::UnauthenticatedError("malformed bearer token");
  return Blake2b256(*raw);
}

absl::StatusOr<std::vector<uint8_t>> Sessions::IssueChallenge(Transaction& txn, const Id128& device_id) const {
  const int64_t now = clock_.NowUnixMillis();
  SessionChallenge challenge;
  challenge.server_instance_id = server_instance_id_;
  challenge.device_id = device_id;
  rng_.Fill(challenge.nonce);
  challenge.issued_at_ms = now;
  challenge.expires_at_ms = now + policy_.challenge_ttl_ms;
  // Counted (live ones only) before anything is deleted: a refusal changes
  // nothing, so the writer has nothing to undo (sqlite_store.cc, CommitBatch).
  TRYGG_ASSIGN_OR_RETURN(int64_t live, txn.trust().CountChallenges(now));
  if (live >= policy_.max_live_challenges) {
    return absl::ResourceExhaustedError("the server has too many outstanding session challenges; retry in a minute");
  }
  TRYGG_RETURN_IF_ERROR(txn.trust().DeleteExpired(now));
  TRYGG_RETURN_IF_ERROR(txn.trust().InsertChallenge(challenge.nonce, device_id, challenge.expires_at_ms));
  return SerializeSessionChallenge(challenge);
}

absl::Status Sessions::DeleteExpired(Transaction& txn) const {
  return txn.trust().DeleteExpired(clock_.NowUnixMillis());
}

absl::StatusOr<IssuedSession> Sessions::CreateSession(Transaction& txn, const Id128& device_id,
                                                      const SignedObject& signed_challenge) const {
  // Every refusal is the same UNAUTHENTICATED with the same message, and
  // costs the same signature check: whether a device id exists, is revoked,
  // or merely signed badly is not told to whoever asks (threat-model.md).
  const absl::Status refused = absl::UnauthenticatedError(kSessionRefused);
  absl::StatusOr<SessionChallenge> challenge = ParseSessionChallenge(signed_challenge.bytes);
  const int64_t now = clock_.NowUnixMillis();
  TrustTables& tables = txn.trust();
  const bool acceptable = challenge.ok() && challenge->server_instance_id == server_instance_id_ &&
                          challenge->device_id == device_id && challenge->expires_at_ms > now;
  TRYGG_ASSIGN_OR_RETURN(std::optional<DeviceRow> device, tables.GetDevice(device_id));
  const bool known = device.has_value() && !device->revoked;
  // A valid point whose secret nobody holds (from a public seed), so that an
  // unknown device costs a full verification, not libsodium's early refusal
  // of a degenerate key.
  static const SignPublicKey kNobody = SigningKeyPairFromSeed(std::array<uint8_t, 32>{}).public_key;
  const bool signed_ok =
      Verify(known ? device->sign_key : kNobody, SigningContext::kSession, signed_challenge.bytes,
             signed_challenge.signature)
          .ok();
  if (!acceptable || !known || !signed_ok) return refused;
  // Taken last, once all else holds: a refusal changes nothing, so the
  // writer has nothing to undo (sqlite_store.cc, CommitBatch).
  TRYGG_ASSIGN_OR_RETURN(const bool fresh, tables.TakeChallenge(challenge->nonce, device_id, now));
  if (!fresh) return refused;
  std::vector<uint8_t> token(kTokenBytes);
  rng_.Fill(token);
  IssuedSession session;
  session.token = HexEncode(token);
  session.expires_at_ms = now + policy_.session_ttl_ms;
  TRYGG_RETURN_IF_ERROR(tables.InsertSession(Blake2b256(token), device_id, session.expires_at_ms));
  TRYGG_RETURN_IF_ERROR(
      AuditLog::Record(txn, SessionCreatedEvent(device->org_id, device_id, now, device->role)).status());
  return session;
}

absl::StatusOr<Caller> Sessions::Authenticate(Transaction& txn, absl::string_view token) const {
  TRYGG_ASSIGN_OR_RETURN(Hash256 hash, TokenHash(token));
  return AuthenticateTokenHash(txn, hash);
}

absl::StatusOr<Caller> Sessions::AuthenticateTokenHash(Transaction& txn, const Hash256& hash) const {
  TRYGG_ASSIGN_OR_RETURN(auto session, txn.trust().GetSession(hash));
  if (!session.has_value()) return absl::UnauthenticatedError("unknown or ended session");
  if (session->second <= clock_.NowUnixMillis()) return absl::UnauthenticatedError("the session has expired");
  TRYGG_ASSIGN_OR_RETURN(std::optional<DeviceRow> device, txn.trust().GetDevice(session->first));
  if (!device.has_value() || device->revoked) return absl::UnauthenticatedError("the device has been revoked");
  return Caller{device->device_id, device->org_id, device->role, session->second, device->sign_key, nullptr};
}

absl::Status Sessions::EndSession(Transaction& txn, absl::string_view token) const {
  TRYGG_ASSIGN_OR_RETURN(Hash256 hash, TokenHash(token));
  return txn.trust().DeleteSession(hash);
}

absl::StatusOr<int64_t> Sessions::CountLive(Transaction& txn) const {
  return txn.trust().CountSessions(clock_.NowUnixMillis());
}

}  // namespace trygg::domain
