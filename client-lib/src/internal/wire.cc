// SPDX-License-Identifier: Apache-2.0

#include "internal/wire.h"

#include "trygg/crypto_error.h"
#include "trygg/status_macros.h"

namespace trygg::internal {

absl::Status FromGrpc(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

Id128 RandomId(Rng& rng) {
  Id128 id;
  rng.Fill(id.span());
  return id;
}

int64_t ToMillis(const google::protobuf::Timestamp& t) { return t.seconds() * 1000 + t.nanos() / 1000000; }

void EnvelopeToProto(const SealedRecord& record, trygg::v1::RecordEnvelope* out) {
  out->set_header(ToProto(record.header));
  out->set_wrapped_dek(ToProto(record.wrapped_dek));
  out->set_body(ToProto(record.body));
  out->set_signature(ToProto(record.signature.span()));
  for (const Hash256& h : record.attachment_hashes) out->add_attachment_hashes(ToProto(h.span()));
}

absl::StatusOr<SealedRecord> EnvelopeFromServer(const trygg::v1::RecordEnvelope& in) {
  SealedRecord record;
  record.header.assign(in.header().begin(), in.header().end());
  record.wrapped_dek.assign(in.wrapped_dek().begin(), in.wrapped_dek().end());
  record.body.assign(in.body().begin(), in.body().end());
  TRYGG_ASSIGN_OR_RETURN(record.signature, FixedFromServer<Signature>(in.signature(), "record signature"));
  for (const std::string& h : in.attachment_hashes()) {
    TRYGG_ASSIGN_OR_RETURN(Hash256 hash, FixedFromServer<Hash256>(h, "attachment hash"));
    record.attachment_hashes.push_back(hash);
  }
  return record;
}

void GrantToProto(const Grant& grant, const Id128& scope_id, uint32_t epoch, const Id128& org_id,
                  trygg::v1::Grant* out) {
  out->set_scope_id(ToProto(scope_id.span()));
  out->set_epoch(epoch);
  out->set_org_id(ToProto(org_id.span()));
  std::vector<uint8_t> bytes = grant.header;
  bytes.insert(bytes.end(), grant.sealed.begin(), grant.sealed.end());
  out->mutable_sealed()->set_bytes(ToProto(bytes));
  out->mutable_sealed()->set_signature(ToProto(grant.signature.span()));
}

absl::StatusOr<Grant> GrantFromServer(const trygg::v1::Grant& in) {
  const std::string& bytes = in.sealed().bytes();
  if (bytes.size() != kGrantHeaderSize + kGrantSealedSize) return absl::DataLossError("server sent a malformed grant");
  Grant grant;
  grant.header.assign(bytes.begin(), bytes.begin() + kGrantHeaderSize);
  grant.sealed.assign(bytes.begin() + kGrantHeaderSize, bytes.end());
  TRYGG_ASSIGN_OR_RETURN(grant.signature, FixedFromServer<Signature>(in.sealed().signature(), "grant signature"));
  return grant;
}

void SignedToProto(const SignedObject& object, trygg::v1::SignedBlob* out) {
  out->set_bytes(ToProto(object.bytes));
  out->set_signature(ToProto(object.signature.span()));
}

void SignedToProto(const SignedObject& object, const Id128& signer, trygg::v1::SignedBlob* out) {
  SignedToProto(object, out);
  out->set_signer_id(ToProto(signer.span()));
}

absl::StatusOr<SignedObject> SignedFromServer(const trygg::v1::SignedBlob& in) {
  SignedObject object;
  object.bytes.assign(in.bytes().begin(), in.bytes().end());
  TRYGG_ASSIGN_OR_RETURN(object.signature, FixedFromServer<Signature>(in.signature(), "signature"));
  return object;
}

absl::StatusOr<Grant> SealScopeGrant(Client& client, const KeyStoreContents& self, const Id128& org_id,
                                     const Id128& scope_id, uint32_t epoch, const SecretKey& scope_key,
                                     Clock& clock, Rng& rng) {
  TRYGG_ASSIGN_OR_RETURN(OrgLogState org, client.FetchOrgLog(org_id));
  const bool own = org_id == self.org_id;
  if (org.generation() == 0) {
    return absl::FailedPreconditionError(own ? "the organisation has no key yet"
                                             : "the receiving organisation has no key yet");
  }
  if (org.rotation_due()) {
    return absl::FailedPreconditionError(
        own ? "a device was revoked: rotate the organisation key before sharing"
            : "a device of the receiving organisation was revoked and its key not yet rotated; try again later");
  }
  GrantParams params{GrantKind::kScopeKey, scope_id, epoch, self.device_id};
  return SealGrant(params, scope_key, org.org_box_key(), self.device.signing(), clock, rng);
}

absl::StatusOr<SecretKey> OpenScopeGrant(const Grant& grant, const KeyStoreContents& self,
                                         const OrgLogState& granter_org) {
  TRYGG_ASSIGN_OR_RETURN(GrantHeader header, ParseGrantHeader(grant.header));
  const OrgKey* key = nullptr;
  for (const OrgKey& k : self.org_keys) {
    if (BoxKeyId(DeriveOrgBoxKeyPair(k).public_key) == header.recipient_key_id) key = &k;
  }
  if (key == nullptr) {
    return absl::FailedPreconditionError("this device lacks the organisation key the grant is sealed to; sync keys");
  }
  const DeviceRecord* granter = granter_org.FindDevice(header.granter_device);
  if (granter == nullptr) {
    return MakeCryptoError(absl::StatusCode::kPermissionDenied, CryptoError::kWrongGranter,
                           "grant: made by a device that is not in the organisation log");
  }
  GrantExpectation expected{GrantKind::kScopeKey, header.scope_id, header.epoch, header.granter_device,
                            granter->sign_key};
  return OpenGrant(grant, expected, DeriveOrgBoxKeyPair(*key));
}

}  // namespace trygg::internal
