// SPDX-License-Identifier: Apache-2.0

#include "server/api/case_convert.h"

#include "absl/strings/str_cat.h"
#include "server/api/convert.h"
#include "trygg/status_macros.h"

namespace trygg::api {
namespace {

constexpr int kMaxGrantsPerCall = 1000;

}  // namespace

absl::StatusOr<SealedRecord> EnvelopeFromProto(const trygg::v1::RecordEnvelope& in, absl::string_view field) {
  SealedRecord record;
  record.header.assign(in.header().begin(), in.header().end());
  record.wrapped_dek.assign(in.wrapped_dek().begin(), in.wrapped_dek().end());
  record.body.assign(in.body().begin(), in.body().end());
  absl::StatusOr<Signature> signature = Signature::FromSpan(AsSpan(in.signature()));
  if (!signature.ok()) return absl::InvalidArgumentError(absl::StrCat(field, ".signature must be 64 bytes"));
  record.signature = *signature;
  for (const std::string& hash : in.attachment_hashes()) {
    absl::StatusOr<Hash256> h = Hash256::FromSpan(AsSpan(hash));
    if (!h.ok()) return absl::InvalidArgumentError(absl::StrCat(field, ".attachment_hashes must be 32 bytes each"));
    record.attachment_hashes.push_back(*h);
  }
  return record;
}

void EnvelopeToProto(const SealedRecord& record, trygg::v1::RecordEnvelope* out) {
  out->set_header(BytesToProto(record.header));
  out->set_wrapped_dek(BytesToProto(record.wrapped_dek));
  out->set_body(BytesToProto(record.body));
  out->set_signature(BytesToProto(record.signature.span()));
  for (const Hash256& h : record.attachment_hashes) out->add_attachment_hashes(BytesToProto(h.span()));
}

absl::StatusOr<std::vector<domain::StoredGrant>> GrantsFromProto(
    const google::protobuf::RepeatedPtrField<trygg::v1::Grant>& in) {
  if (in.size() > kMaxGrantsPerCall) return absl::InvalidArgumentError("grants: at most 1000 per call");
  std::vector<domain::StoredGrant> grants;
  for (const trygg::v1::Grant& g : in) {
    domain::StoredGrant grant;
    TRYGG_ASSIGN_OR_RETURN(grant.scope_id, IdFromProto(g.scope_id(), "grants.scope_id"));
    TRYGG_ASSIGN_OR_RETURN(grant.org_id, IdFromProto(g.org_id(), "grants.org_id"));
    grant.epoch = g.epoch();
    const std::string& bytes = g.sealed().bytes();
    if (bytes.size() != kGrantHeaderSize + kGrantSealedSize) {
      return absl::InvalidArgumentError("grants.sealed.bytes must be the grant header followed by the sealed key");
    }
    grant.grant.header.assign(bytes.begin(), bytes.begin() + kGrantHeaderSize);
    grant.grant.sealed.assign(bytes.begin() + kGrantHeaderSize, bytes.end());
    absl::StatusOr<Signature> signature = Signature::FromSpan(AsSpan(g.sealed().signature()));
    if (!signature.ok()) return absl::InvalidArgumentError("grants.sealed.signature must be 64 bytes");
    grant.grant.signature = *signature;
    grants.push_back(std::move(grant));
  }
  return grants;
}

void GrantToProto(const domain::StoredGrant& grant, trygg::v1::Grant* out) {
  out->set_scope_id(BytesToProto(grant.scope_id.span()));
  out->set_epoch(grant.epoch);
  out->set_org_id(BytesToProto(grant.org_id.span()));
  std::vector<uint8_t> bytes = grant.grant.header;
  bytes.insert(bytes.end(), grant.grant.sealed.begin(), grant.grant.sealed.end());
  out->mutable_sealed()->set_bytes(BytesToProto(bytes));
  out->mutable_sealed()->set_signature(BytesToProto(grant.grant.signature.span()));
}


domain::Caller PrecheckEnvelope(domain::Caller caller, const SealedRecord& record,
                                const std::vector<domain::StoredGrant>& grants) {
  return domain::WithPrechecked(std::move(caller), [&](domain::PrecheckedSignatures& checked, const SignPublicKey& key) {
    checked.CheckRecord(key, record);
    for (const domain::StoredGrant& grant : grants) checked.CheckGrant(key, grant.grant);
  });
}

}  // namespace trygg::api
