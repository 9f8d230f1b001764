#include "trygg/case_client.h"

#include <grpcpp/grpcpp.h>

#include "trygg/crypto_error.h"
#include "trygg/grant.h"
#include "trygg/status_macros.h"
#include "trygg/v1/case.grpc.pb.h"

namespace trygg {
namespace {

absl::Status FromGrpc(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

std::string ToProto(std::span<const uint8_t> bytes) { return std::string(bytes.begin(), bytes.end()); }
std::span<const uint8_t> AsSpan(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

Id128 RandomId(Rng& rng) {
  Id128 id;
  rng.Fill(id.span());
  return id;
}

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
  absl::StatusOr<Signature> signature = Signature::FromSpan(AsSpan(in.signature()));
  if (!signature.ok()) return absl::DataLossError("server sent a malformed record signature");
  record.signature = *signature;
  for (const std::string& h : in.attachment_hashes()) {
    absl::StatusOr<Hash256> hash = Hash256::FromSpan(AsSpan(h));
    if (!hash.ok()) return absl::DataLossError("server sent a malformed attachment hash");
    record.attachment_hashes.push_back(*hash);
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
  absl::StatusOr<Signature> signature = Signature::FromSpan(AsSpan(in.sealed().signature()));
  if (!signature.ok()) return absl::DataLossError("server sent a malformed grant signature");
  grant.signature = *signature;
  return grant;
}

}  // namespace

absl::StatusOr<Grant> CaseClient::GrantToOwnOrg(const Id128& scope_id, uint32_t epoch, const SecretKey& scope_key) {
  TRYGG_ASSIGN_OR_RETURN(OrgLogState org, client_.FetchOrgLog(self_.org_id));
  if (org.generation() == 0) return absl::FailedPreconditionError("the organisation has no key yet");
  if (org.rotation_due()) {
    return absl::FailedPreconditionError("a device was revoked: rotate the organisation key before sharing");
  }
  GrantParams params{GrantKind::kScopeKey, scope_id, epoch, self_.device_id};
  return SealGrant(params, scope_key, org.org_box_key(), self_.device.signing(), clock_, rng_);
}

absl::StatusOr<SecretKey> CaseClient::OpenScopeKey(const Grant& grant, const OrgLogState& org) {
  TRYGG_ASSIGN_OR_RETURN(GrantHeader header, ParseGrantHeader(grant.header));
  const OrgKey* key = nullptr;
  for (const OrgKey& k : self_.org_keys) {
    if (BoxKeyId(DeriveOrgBoxKeyPair(k).public_key) == header.recipient_key_id) key = &k;
  }
  if (key == nullptr) {
    return absl::FailedPreconditionError("this device lacks the organisation key the grant is sealed to; sync keys");
  }
  const DeviceRecord* granter = org.FindDevice(header.granter_device);
  if (granter == nullptr) {
    return MakeCryptoError(absl::StatusCode::kPermissionDenied, CryptoError::kWrongGranter,
                           "grant: made by a device that is not in the organisation log");
  }
  GrantExpectation expected{GrantKind::kScopeKey, header.scope_id, header.epoch, header.granter_device,
                            granter->sign_key};
  return OpenGrant(grant, expected, DeriveOrgBoxKeyPair(*key));
}

absl::StatusOr<Id128> CaseClient::CreateCase(std::span<const uint8_t> plaintext, uint16_t content_type) {
  Known known;
  known.scope_id = RandomId(rng_);
  known.record_id = RandomId(rng_);
  known.epoch = 1;
  rng_.Fill(known.scope_key.span());
  RecordDraft draft;
  draft.case_id = RandomId(rng_);
  draft.scope_id = known.scope_id;
  draft.epoch = known.epoch;
  draft.record_id = known.record_id;
  draft.author_org = self_.org_id;
  draft.author_device = self_.device_id;
  draft.content_type = content_type;
  TRYGG_ASSIGN_OR_RETURN(Grant grant, GrantToOwnOrg(known.scope_id, known.epoch, known.scope_key));
  SecretKey dek = GenerateDataKey(rng_);
  TRYGG_ASSIGN_OR_RETURN(SealedRecord record, SealRecord(draft, plaintext, {}, dek, known.scope_key,
                                                         self_.device.signing(), clock_, rng_));
  trygg::v1::CreateCaseRequest request;
  EnvelopeToProto(record, request.mutable_first_version());
  GrantToProto(grant, known.scope_id, known.epoch, self_.org_id, request.add_grants());
  trygg::v1::CreateCaseResponse response;
  auto context = client_.NewCallContext();
  TRYGG_RETURN_IF_ERROR(FromGrpc(trygg::v1::CaseService::NewStub(client_.channel())
                                     ->CreateCase(context.get(), request, &response)));
  known.chain = RecordChainState{known.record_id, 1, RecordHash(record)};
  known_.insert_or_assign(draft.case_id, std::move(known));
  return draft.case_id;
}

absl::StatusOr<uint64_t> CaseClient::AppendVersion(const Id128& case_id, std::span<const uint8_t> plaintext,
                                                   uint16_t content_type) {
  if (known_.find(case_id) == known_.end()) TRYGG_RETURN_IF_ERROR(ReadCase(case_id).status());
  Known& known = known_.at(case_id);
  RecordDraft draft;
  draft.case_id = case_id;
  draft.scope_id = known.scope_id;
  draft.epoch = known.epoch;
  draft.record_id = known.record_id;
  draft.version = known.chain.highest_version + 1;
  draft.prev_hash = known.chain.highest_hash;
  draft.author_org = self_.org_id;
  draft.author_device = self_.device_id;
  draft.content_type = content_type;
  SecretKey dek = GenerateDataKey(rng_);
  TRYGG_ASSIGN_OR_RETURN(SealedRecord record, SealRecord(draft, plaintext, {}, dek, known.scope_key,
                                                         self_.device.signing(), clock_, rng_));
  trygg::v1::AppendCaseVersionRequest request;
  EnvelopeToProto(record, request.mutable_version());
  trygg::v1::AppendCaseVersionResponse response;
  auto context = client_.NewCallContext();
  TRYGG_RETURN_IF_ERROR(FromGrpc(trygg::v1::CaseService::NewStub(client_.channel())
                                     ->AppendCaseVersion(context.get(), request, &response)));
  known.chain = RecordChainState{known.record_id, draft.version, RecordHash(record)};
  return draft.version;
}

absl::StatusOr<CaseRead> CaseClient::ReadCase(const Id128& case_id) {
  trygg::v1::GetCaseRequest request;
  request.set_case_id(ToProto(case_id.span()));
  trygg::v1::GetCaseResponse response;
  auto context = client_.NewCallContext();
  TRYGG_RETURN_IF_ERROR(
      FromGrpc(trygg::v1::CaseService::NewStub(client_.channel())->GetCase(context.get(), request, &response)));
  if (response.versions().empty()) return absl::DataLossError("the server sent a case without versions");

  TRYGG_ASSIGN_OR_RETURN(OrgLogState own_org, client_.FetchOrgLog(self_.org_id));
  std::map<uint32_t, SecretKey> scope_keys;
  for (const trygg::v1::Grant& in : response.grants()) {
    TRYGG_ASSIGN_OR_RETURN(Grant grant, GrantFromServer(in));
    TRYGG_ASSIGN_OR_RETURN(GrantHeader header, ParseGrantHeader(grant.header));
    TRYGG_ASSIGN_OR_RETURN(SecretKey key, OpenScopeKey(grant, own_org));
    scope_keys.insert_or_assign(header.epoch, std::move(key));
  }

  std::map<Id128, OrgLogState> author_orgs;
  CaseRead read;
  read.case_id = case_id;
  auto it = known_.find(case_id);
  std::optional<Known> fresh;
  RecordChainState chain = it != known_.end() ? it->second.chain : RecordChainState{};
  // Versions this client has seen are re-read from the start: a re-read of
  // the same version with the same hash is harmless, another hash is a fork.
  RecordChainState replay{chain.record_id, 0, {}};
  Id128 scope_id;
  for (const trygg::v1::RecordEnvelope& in : response.versions()) {
    TRYGG_ASSIGN_OR_RETURN(SealedRecord record, EnvelopeFromServer(in));
    TRYGG_ASSIGN_OR_RETURN(RecordHeader header, ParseRecordHeader(record.header));
    if (replay.highest_version == 0) {
      if (header.version != 1) return absl::DataLossError("the server did not send the case from version 1");
      replay.record_id = header.record_id;
      scope_id = header.scope_id;
    }
    auto org = author_orgs.find(header.author_org);
    if (org == author_orgs.end()) {
      TRYGG_ASSIGN_OR_RETURN(OrgLogState state, client_.FetchOrgLog(header.author_org));
      org = author_orgs.emplace(header.author_org, std::move(state)).first;
    }
    const DeviceRecord* author = org->second.FindDevice(header.author_device);
    if (author == nullptr) {
      return MakeCryptoError(absl::StatusCode::kPermissionDenied, CryptoError::kBadSignature,
                             "record: its author is not in its organisation's log");
    }
    auto key = scope_keys.find(header.epoch);
    if (key == scope_keys.end()) {
      return absl::FailedPreconditionError("no grant for the epoch of version " + std::to_string(header.version));
    }
    RecordExpectation expected{case_id, scope_id, header.epoch, kRecordFormatV1};
    TRYGG_ASSIGN_OR_RETURN(OpenedRecord opened, OpenRecord(record, expected, author->sign_key, key->second, replay));
    if (header.version == chain.highest_version && opened.record_hash != chain.highest_hash) {
      return MakeCryptoError(absl::StatusCode::kAborted, CryptoError::kFork,
                             "record: version " + std::to_string(header.version) +
                                 " differs from the one this client has seen (fork)");
    }
    read.versions.push_back(CaseVersion{opened.header, std::move(opened.plaintext)});
  }
  // What this client saw before must be part of what it has now.
  if (chain.highest_version > replay.highest_version) {
    return MakeCryptoError(absl::StatusCode::kAborted, CryptoError::kRollback,
                           "record: the server shows fewer versions than this client has seen (rollback)");
  }
  Known& known = known_[case_id];
  known.scope_id = scope_id;
  known.record_id = replay.record_id;
  known.epoch = read.versions.back().header.epoch;
  known.chain = replay;
  known.scope_key = std::move(scope_keys.at(known.epoch));
  return read;
}

absl::StatusOr<std::vector<CaseListing>> CaseClient::ListCases() {
  std::vector<CaseListing> cases;
  trygg::v1::ListCasesRequest request;
  request.set_page_size(500);
  do {
    trygg::v1::ListCasesResponse response;
    auto context = client_.NewCallContext();
    TRYGG_RETURN_IF_ERROR(FromGrpc(
        trygg::v1::CaseService::NewStub(client_.channel())->ListCases(context.get(), request, &response)));
    for (const trygg::v1::CaseSummary& in : response.cases()) {
      CaseListing c;
      absl::StatusOr<Id128> id = Id128::FromSpan(AsSpan(in.case_id()));
      absl::StatusOr<Id128> owner = Id128::FromSpan(AsSpan(in.owner_org_id()));
      if (!id.ok() || !owner.ok()) return absl::DataLossError("server sent a malformed case summary");
      c.case_id = *id;
      c.owner_org = *owner;
      c.head_version = in.head_version();
      c.updated_at_ms = in.updated_at().seconds() * 1000 + in.updated_at().nanos() / 1000000;
      cases.push_back(c);
    }
    request.set_page_token(response.next_page_token());
  } while (!request.page_token().empty());
  return cases;
}

absl::Status CaseClient::EraseCase(const Id128& case_id) {
  trygg::v1::EraseCaseRequest request;
  request.set_case_id(ToProto(case_id.span()));
  trygg::v1::EraseCaseResponse response;
  auto context = client_.NewCallContext();
  TRYGG_RETURN_IF_ERROR(
      FromGrpc(trygg::v1::CaseService::NewStub(client_.channel())->EraseCase(context.get(), request, &response)));
  known_.erase(case_id);
  return absl::OkStatus();
}

}  // namespace trygg
