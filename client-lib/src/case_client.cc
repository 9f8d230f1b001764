#include "trygg/case_client.h"

#include <grpcpp/grpcpp.h>

#include "internal/case_wire.h"
#include "trygg/crypto_error.h"
#include "trygg/grant.h"
#include "trygg/status_macros.h"
#include "trygg/workflow.h"
#include "trygg/v1/case.grpc.pb.h"

namespace trygg {

using internal::AsSpan;
using internal::EnvelopeFromServer;
using internal::EnvelopeToProto;
using internal::FromGrpc;
using internal::GrantFromServer;
using internal::GrantToProto;
using internal::RandomId;
using internal::ToProto;

absl::StatusOr<Grant> CaseClient::GrantToOwnOrg(const Id128& scope_id, uint32_t epoch, const SecretKey& scope_key) {
  return internal::SealScopeGrant(client_, self_, self_.org_id, scope_id, epoch, scope_key, clock_, rng_);
}

absl::StatusOr<CaseScope> CaseClient::CurrentScope(const Id128& case_id) {
  if (known_.find(case_id) == known_.end()) TRYGG_RETURN_IF_ERROR(ReadCase(case_id).status());
  const Known& known = known_.at(case_id);
  return CaseScope{known.scope_id, known.epoch, &known.scope_key};
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
    TRYGG_ASSIGN_OR_RETURN(SecretKey key, internal::OpenScopeGrant(grant, self_, own_org));
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
  ErasureStatement statement{case_id, clock_.NowUnixMillis(), self_.device_id};
  TRYGG_ASSIGN_OR_RETURN(SignedObject signed_statement, SignErasureStatement(statement, self_.device.signing()));
  trygg::v1::EraseCaseRequest request;
  request.set_case_id(ToProto(case_id.span()));
  internal::SignedToProto(signed_statement, self_.device_id, request.mutable_statement());
  trygg::v1::EraseCaseResponse response;
  auto context = client_.NewCallContext();
  TRYGG_RETURN_IF_ERROR(
      FromGrpc(trygg::v1::CaseService::NewStub(client_.channel())->EraseCase(context.get(), request, &response)));
  known_.erase(case_id);
  return absl::OkStatus();
}

}  // namespace trygg
