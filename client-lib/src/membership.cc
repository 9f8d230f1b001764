// SPDX-License-Identifier: Apache-2.0

#include "trygg/membership.h"

#include <algorithm>

#include "trygg/crypto_error.h"
#include "trygg/grant.h"
#include "trygg/status_macros.h"

namespace trygg {
namespace {

absl::StatusOr<OrgLogState> FetchAsAdmin(Client& client, const KeyStoreContents& self) {
  TRYGG_ASSIGN_OR_RETURN(OrgLogState state, client.FetchOrgLog(self.org_id));
  const DeviceRecord* me = state.ActiveDevice(self.device_id);
  if (me == nullptr || me->role != Role::kOrgAdmin) {
    return absl::FailedPreconditionError("this device is not an active admin of its organisation");
  }
  if (me->sign_key != self.device.signing().public_key) {
    return absl::FailedPreconditionError("the organisation log holds another key for this device");
  }
  return state;
}

OrgLogLink NextLink(const OrgLogState& state, const KeyStoreContents& self, OrgLogAction action, Clock& clock) {
  OrgLogLink link;
  link.org_id = self.org_id;
  link.seq = state.seq() + 1;
  link.prev_hash = state.head().hash;
  link.created_at_ms = clock.NowUnixMillis();
  link.signer_device = self.device_id;
  link.action = action;
  return link;
}

absl::StatusOr<KeyEnvelope> SealOrgKey(const KeyStoreContents& self, const OrgKey& key, const Id128& device_id,
                       const BoxPublicKey& device_box_key, Clock& clock, Rng& rng) {
  GrantParams params;
  params.kind = GrantKind::kOrgSeed;
  params.scope_id = self.org_id;
  params.epoch = key.generation;
  params.granter_device = self.device_id;
  KeyEnvelope envelope;
  envelope.device_id = device_id;
  envelope.generation = key.generation;
  TRYGG_ASSIGN_OR_RETURN(envelope.grant,
                         SealGrant(params, key.seed, device_box_key, self.device.signing(), clock, rng));
  envelope.signer_device = self.device_id;
  return envelope;
}

absl::StatusOr<uint64_t> SignAndAppend(Client& client, const KeyStoreContents& self, const OrgLogLink& link) {
  return client.AppendOrgLogLink(self.org_id, SignOrgLogLink(link, self.device.signing()));
}

}  // namespace

absl::StatusOr<uint64_t> ApproveEnrolment(Client& client, const KeyStoreContents& self,
                                          const PendingEnrolment& enrolment, Clock& clock, Rng& rng) {
  const EnrolmentRequest& request = enrolment.request;
  if (request.org_id != self.org_id) {
    return absl::FailedPreconditionError("the enrolment request is for another organisation");
  }
  TRYGG_ASSIGN_OR_RETURN(OrgLogState state, FetchAsAdmin(client, self));
  OrgLogLink link = NextLink(state, self, OrgLogAction::kAddDevice, clock);
  link.device_id = request.device_id;
  link.role = request.requested_role;
  link.sign_key = request.sign_key;
  link.box_key = request.box_key;
  TRYGG_ASSIGN_OR_RETURN(uint64_t seq, SignAndAppend(client, self, link));

  std::vector<KeyEnvelope> envelopes;
  for (const OrgKey& key : self.org_keys) {
    TRYGG_ASSIGN_OR_RETURN(KeyEnvelope envelope,
                           SealOrgKey(self, key, request.device_id, request.box_key, clock, rng));
    envelopes.push_back(std::move(envelope));
  }
  if (!envelopes.empty()) TRYGG_RETURN_IF_ERROR(client.PutKeyEnvelopes(envelopes));
  return seq;
}

absl::StatusOr<uint32_t> RotateOrgKey(Client& client, KeyStoreContents& self, Clock& clock, Rng& rng) {
  TRYGG_ASSIGN_OR_RETURN(OrgLogState state, FetchAsAdmin(client, self));
  OrgKey key = GenerateOrgKey(state.generation() + 1, rng);
  OrgLogLink link = NextLink(state, self, OrgLogAction::kRotateOrgKey, clock);
  link.generation = key.generation;
  link.org_box_key = DeriveOrgBoxKeyPair(key).public_key;
  TRYGG_RETURN_IF_ERROR(SignAndAppend(client, self, link).status());

  std::vector<KeyEnvelope> envelopes;
  for (const auto& [id, device] : state.devices()) {
    if (device.revoked) continue;
    TRYGG_ASSIGN_OR_RETURN(KeyEnvelope envelope, SealOrgKey(self, key, id, device.box_key, clock, rng));
    envelopes.push_back(std::move(envelope));
  }
  TRYGG_RETURN_IF_ERROR(client.PutKeyEnvelopes(envelopes));
  const uint32_t generation = key.generation;
  self.org_keys.push_back(std::move(key));
  return generation;
}

absl::Status RevokeDevice(Client& client, KeyStoreContents& self, const Id128& device_id, Clock& clock, Rng& rng) {
  if (device_id == self.device_id) return absl::FailedPreconditionError("a device cannot revoke itself");
  TRYGG_ASSIGN_OR_RETURN(OrgLogState state, FetchAsAdmin(client, self));
  OrgLogLink link = NextLink(state, self, OrgLogAction::kRevokeDevice, clock);
  link.device_id = device_id;
  TRYGG_RETURN_IF_ERROR(SignAndAppend(client, self, link).status());
  return RotateOrgKey(client, self, clock, rng).status();
}

absl::Status ChangeRole(Client& client, const KeyStoreContents& self, const Id128& device_id, Role role,
                        Clock& clock) {
  TRYGG_ASSIGN_OR_RETURN(OrgLogState state, FetchAsAdmin(client, self));
  OrgLogLink link = NextLink(state, self, OrgLogAction::kChangeRole, clock);
  link.device_id = device_id;
  link.role = role;
  return SignAndAppend(client, self, link).status();
}

absl::StatusOr<int> ReceiveOrgKeys(Client& client, KeyStoreContents& self) {
  TRYGG_ASSIGN_OR_RETURN(OrgLogState state, client.FetchOrgLog(self.org_id));
  TRYGG_ASSIGN_OR_RETURN(std::vector<KeyEnvelope> envelopes, client.GetKeyEnvelopes(std::nullopt));
  int added = 0;
  for (const KeyEnvelope& envelope : envelopes) {
    const bool have = std::any_of(self.org_keys.begin(), self.org_keys.end(),
                                  [&](const OrgKey& k) { return k.generation == envelope.generation; });
    if (have || envelope.device_id != self.device_id) continue;
    const DeviceRecord* signer = state.FindDevice(envelope.signer_device);
    if (signer == nullptr || signer->role != Role::kOrgAdmin) {
      return MakeCryptoError(absl::StatusCode::kPermissionDenied, CryptoError::kUnauthorisedSigner,
                             "organisation key sealed by a device that is not an admin in the verified log");
    }
    GrantExpectation expected;
    expected.kind = GrantKind::kOrgSeed;
    expected.scope_id = self.org_id;
    expected.epoch = envelope.generation;
    expected.granter_device = envelope.signer_device;
    expected.granter_key = signer->sign_key;
    TRYGG_ASSIGN_OR_RETURN(SecretKey seed, OpenGrant(envelope.grant, expected, self.device.box()));
    OrgKey key{envelope.generation, std::move(seed)};
    // The server cannot hand this device a key of its own making: the key must
    // be the one the organisation log announced for this generation.
    const BoxPublicKey* announced = state.OrgBoxKeyOf(key.generation);
    if (announced == nullptr || *announced != DeriveOrgBoxKeyPair(key).public_key) {
      return MakeCryptoError(absl::StatusCode::kDataLoss, CryptoError::kFieldMismatch,
                             "organisation key does not match the key the organisation log announced");
    }
    self.org_keys.push_back(std::move(key));
    ++added;
  }
  return added;
}

}  // namespace trygg
