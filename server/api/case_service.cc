#include "server/api/case_service.h"

#include "server/api/convert.h"
#include "server/api/unary.h"
#include "absl/strings/str_cat.h"
#include "trygg/status_macros.h"

namespace trygg::api {
namespace {

constexpr int kDefaultPage = 50;
constexpr int kMaxPage = 500;
constexpr int kMaxGrantsPerCall = 1000;

std::span<const uint8_t> AsSpan(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

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

}  // namespace

grpc::ServerUnaryReactor* CaseService::CreateCase(grpc::CallbackServerContext* context,
                                                  const trygg::v1::CreateCaseRequest* request,
                                                  trygg::v1::CreateCaseResponse* response) {
  absl::StatusOr<domain::Caller> caller = auth_.Authenticate(*context);
  if (!caller.ok()) return Finish(context, caller.status());
  absl::StatusOr<SealedRecord> first = EnvelopeFromProto(request->first_version(), "first_version");
  if (!first.ok()) return Finish(context, first.status());
  absl::StatusOr<std::vector<domain::StoredGrant>> grants = GrantsFromProto(request->grants());
  if (!grants.ok()) return Finish(context, grants.status());
  return FinishAfterWrite(context, store_,
                          [this, caller = *caller, first = *std::move(first), grants = *std::move(grants),
                           response](domain::Transaction& txn) {
                            absl::StatusOr<Id128> id = cases_.CreateCase(txn, caller, first, grants);
                            if (!id.ok()) return id.status();
                            response->set_case_id(BytesToProto(id->span()));
                            return absl::OkStatus();
                          });
}

grpc::ServerUnaryReactor* CaseService::AppendCaseVersion(grpc::CallbackServerContext* context,
                                                         const trygg::v1::AppendCaseVersionRequest* request,
                                                         trygg::v1::AppendCaseVersionResponse* response) {
  absl::StatusOr<domain::Caller> caller = auth_.Authenticate(*context);
  if (!caller.ok()) return Finish(context, caller.status());
  absl::StatusOr<SealedRecord> version = EnvelopeFromProto(request->version(), "version");
  if (!version.ok()) return Finish(context, version.status());
  absl::StatusOr<std::vector<domain::StoredGrant>> grants = GrantsFromProto(request->grants());
  if (!grants.ok()) return Finish(context, grants.status());
  return FinishAfterWrite(context, store_,
                          [this, caller = *caller, version = *std::move(version), grants = *std::move(grants),
                           response](domain::Transaction& txn) {
                            absl::StatusOr<uint64_t> v = cases_.AppendVersion(txn, caller, version, grants);
                            if (!v.ok()) return v.status();
                            response->set_version(*v);
                            return absl::OkStatus();
                          });
}

grpc::ServerUnaryReactor* CaseService::GetCase(grpc::CallbackServerContext* context,
                                               const trygg::v1::GetCaseRequest* request,
                                               trygg::v1::GetCaseResponse* response) {
  absl::Status status = [&]() -> absl::Status {
    TRYGG_ASSIGN_OR_RETURN(domain::Caller caller, auth_.Authenticate(*context));
    TRYGG_ASSIGN_OR_RETURN(Id128 case_id, IdFromProto(request->case_id(), "case_id"));
    return store_.Read([&](domain::Transaction& txn) -> absl::Status {
      TRYGG_ASSIGN_OR_RETURN(domain::CaseView view, cases_.GetCase(txn, caller, case_id, request->after_version()));
      for (const SealedRecord& v : view.versions) EnvelopeToProto(v, response->add_versions());
      for (const domain::StoredGrant& g : view.grants) GrantToProto(g, response->add_grants());
      return absl::OkStatus();
    });
  }();
  return Finish(context, status);
}

grpc::ServerUnaryReactor* CaseService::ListCases(grpc::CallbackServerContext* context,
                                                 const trygg::v1::ListCasesRequest* request,
                                                 trygg::v1::ListCasesResponse* response) {
  absl::Status status = [&]() -> absl::Status {
    TRYGG_ASSIGN_OR_RETURN(domain::Caller caller, auth_.Authenticate(*context));
    TRYGG_ASSIGN_OR_RETURN(int limit, PageSize(request->page_size(), kDefaultPage, kMaxPage));
    TRYGG_ASSIGN_OR_RETURN(Id128 after, IdFromPageToken(request->page_token()));
    return store_.Read([&](domain::Transaction& txn) -> absl::Status {
      TRYGG_ASSIGN_OR_RETURN(auto rows, cases_.ListCases(txn, caller, after, limit + 1));
      const bool more = rows.size() > static_cast<size_t>(limit);
      if (more) rows.pop_back();
      for (const domain::CaseRow& row : rows) {
        trygg::v1::CaseSummary* out = response->add_cases();
        out->set_case_id(BytesToProto(row.case_id.span()));
        out->set_owner_org_id(BytesToProto(row.owner_org.span()));
        out->set_head_version(row.head_version);
        out->mutable_updated_at()->set_seconds(row.updated_at_ms / 1000);
        out->mutable_updated_at()->set_nanos(static_cast<int32_t>(row.updated_at_ms % 1000) * 1000000);
      }
      if (more) response->set_next_page_token(IdPageToken(rows.back().case_id));
      return absl::OkStatus();
    });
  }();
  return Finish(context, status);
}

grpc::ServerUnaryReactor* CaseService::PutGrants(grpc::CallbackServerContext* context,
                                                 const trygg::v1::PutGrantsRequest* request,
                                                 trygg::v1::PutGrantsResponse*) {
  absl::StatusOr<domain::Caller> caller = auth_.Authenticate(*context);
  if (!caller.ok()) return Finish(context, caller.status());
  absl::StatusOr<Id128> case_id = IdFromProto(request->case_id(), "case_id");
  if (!case_id.ok()) return Finish(context, case_id.status());
  absl::StatusOr<std::vector<domain::StoredGrant>> grants = GrantsFromProto(request->grants());
  if (!grants.ok()) return Finish(context, grants.status());
  return FinishAfterWrite(context, store_,
                          [this, caller = *caller, case_id = *case_id,
                           grants = *std::move(grants)](domain::Transaction& txn) {
                            return cases_.PutGrants(txn, caller, case_id, grants);
                          });
}

grpc::ServerUnaryReactor* CaseService::EraseCase(grpc::CallbackServerContext* context,
                                                 const trygg::v1::EraseCaseRequest* request,
                                                 trygg::v1::EraseCaseResponse*) {
  absl::StatusOr<domain::Caller> caller = auth_.Authenticate(*context);
  if (!caller.ok()) return Finish(context, caller.status());
  absl::StatusOr<Id128> case_id = IdFromProto(request->case_id(), "case_id");
  if (!case_id.ok()) return Finish(context, case_id.status());
  return FinishAfterWrite(context, store_, [this, caller = *caller, case_id = *case_id](domain::Transaction& txn) {
    return cases_.EraseCase(txn, caller, case_id);
  });
}

}  // namespace trygg::api
