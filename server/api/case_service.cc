// SPDX-License-Identifier: Apache-2.0

#include "server/api/case_service.h"

#include "server/api/attachment_streams.h"
#include "server/api/case_convert.h"
#include "server/api/convert.h"
#include "server/api/referral_service.h"
#include "server/api/request_id.h"
#include "server/api/unary.h"
#include "absl/strings/str_cat.h"
#include "trygg/status_macros.h"
#include "trygg/workflow.h"

namespace trygg::api {

grpc::ServerUnaryReactor* CaseService::CreateCase(grpc::CallbackServerContext* context,
                                                  const trygg::v1::CreateCaseRequest* request,
                                                  trygg::v1::CreateCaseResponse* response) {
  if (absl::Status id = AcceptRequestId(*context, request->request_id()); !id.ok()) return Finish(context, id);
  absl::StatusOr<domain::Caller> caller = auth_.Authenticate(*context);
  if (!caller.ok()) return Finish(context, caller.status());
  absl::StatusOr<SealedRecord> first = EnvelopeFromProto(request->first_version(), "first_version");
  if (!first.ok()) return Finish(context, first.status());
  absl::StatusOr<std::vector<domain::StoredGrant>> grants = GrantsFromProto(request->grants());
  if (!grants.ok()) return Finish(context, grants.status());
  const domain::Caller checked = PrecheckEnvelope(*caller, *first, *grants);
  return FinishAfterWrite(context, store_,
                          [this, caller = checked, first = *std::move(first), grants = *std::move(grants),
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
  if (absl::Status id = AcceptRequestId(*context, request->request_id()); !id.ok()) return Finish(context, id);
  absl::StatusOr<domain::Caller> caller = auth_.Authenticate(*context);
  if (!caller.ok()) return Finish(context, caller.status());
  absl::StatusOr<SealedRecord> version = EnvelopeFromProto(request->version(), "version");
  if (!version.ok()) return Finish(context, version.status());
  absl::StatusOr<std::vector<domain::StoredGrant>> grants = GrantsFromProto(request->grants());
  if (!grants.ok()) return Finish(context, grants.status());
  const domain::Caller checked = PrecheckEnvelope(*caller, *version, *grants);
  return FinishAfterWrite(context, store_,
                          [this, caller = checked, version = *std::move(version), grants = *std::move(grants),
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
      TRYGG_ASSIGN_OR_RETURN(domain::CaseView view,
                             cases_.GetCase(txn, caller, case_id, request->after_version(), page_bytes_));
      for (const SealedRecord& v : view.versions) EnvelopeToProto(v, response->add_versions());
      for (const domain::StoredGrant& g : view.grants) GrantToProto(g, response->add_grants());
      response->set_more(view.more);
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
        TimeToProto(row.updated_at_ms, out->mutable_updated_at());
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
  if (absl::Status id = AcceptRequestId(*context, request->request_id()); !id.ok()) return Finish(context, id);
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
  if (absl::Status id = AcceptRequestId(*context, request->request_id()); !id.ok()) return Finish(context, id);
  absl::StatusOr<domain::Caller> caller = auth_.Authenticate(*context);
  if (!caller.ok()) return Finish(context, caller.status());
  absl::StatusOr<Id128> case_id = IdFromProto(request->case_id(), "case_id");
  if (!case_id.ok()) return Finish(context, case_id.status());
  absl::StatusOr<SignedObject> statement = SignedFromProto(request->statement(), "statement");
  if (!statement.ok()) return Finish(context, statement.status());
  return FinishAfterWrite(context, store_,
                          [this, caller = *caller, case_id = *case_id,
                           statement = *std::move(statement)](domain::Transaction& txn) {
                            return cases_.EraseCase(txn, caller, case_id, statement);
                          });
}

grpc::ServerReadReactor<trygg::v1::UploadAttachmentRequest>* CaseService::UploadAttachment(
    grpc::CallbackServerContext* context, trygg::v1::UploadAttachmentResponse* response) {
  return StartUpload(context, store_, cases_, auth_, response);
}

grpc::ServerWriteReactor<trygg::v1::DownloadAttachmentResponse>* CaseService::DownloadAttachment(
    grpc::CallbackServerContext* context, const trygg::v1::DownloadAttachmentRequest* request) {
  return StartDownload(context, store_, cases_, auth_, *request);
}

grpc::ServerUnaryReactor* CaseService::RecordConsent(grpc::CallbackServerContext* context,
                                                     const trygg::v1::RecordConsentRequest* request,
                                                     trygg::v1::RecordConsentResponse* response) {
  if (absl::Status id = AcceptRequestId(*context, request->request_id()); !id.ok()) return Finish(context, id);
  absl::StatusOr<domain::Caller> caller = auth_.Authenticate(*context);
  if (!caller.ok()) return Finish(context, caller.status());
  absl::StatusOr<SignedObject> consent = SignedFromProto(request->consent().signed_(), "consent.signed");
  if (!consent.ok()) return Finish(context, consent.status());
  std::vector<uint8_t> evidence(request->consent().evidence().begin(), request->consent().evidence().end());
  const domain::Caller checked = domain::PrecheckSignature(*caller, domain::SignedKind::kConsentRecord, *consent);
  return FinishAfterWrite(context, store_,
                          [this, caller = checked, consent = *std::move(consent), evidence = std::move(evidence),
                           response](domain::Transaction& txn) -> absl::Status {
                            TRYGG_ASSIGN_OR_RETURN(Id128 id, referrals_.RecordConsent(txn, caller, consent, evidence));
                            response->set_consent_id(BytesToProto(id.span()));
                            return absl::OkStatus();
                          });
}

grpc::ServerUnaryReactor* CaseService::WithdrawConsent(grpc::CallbackServerContext* context,
                                                       const trygg::v1::WithdrawConsentRequest* request,
                                                       trygg::v1::WithdrawConsentResponse*) {
  if (absl::Status id = AcceptRequestId(*context, request->request_id()); !id.ok()) return Finish(context, id);
  absl::StatusOr<domain::Caller> caller = auth_.Authenticate(*context);
  if (!caller.ok()) return Finish(context, caller.status());
  absl::StatusOr<SignedObject> statement = SignedFromProto(request->statement(), "statement");
  if (!statement.ok()) return Finish(context, statement.status());
  auto ended = std::make_shared<std::vector<domain::ReferralRow>>();
  return FinishAfterWrite(
      context, store_,
      [this, caller = *caller, statement = *std::move(statement), ended](domain::Transaction& txn) -> absl::Status {
        TRYGG_ASSIGN_OR_RETURN(*ended, referrals_.WithdrawConsent(txn, caller, statement));
        return absl::OkStatus();
      },
      [this, ended] {
        for (const domain::ReferralRow& row : *ended) PublishReferral(watch_, row);
      });
}

grpc::ServerUnaryReactor* CaseService::ListConsents(grpc::CallbackServerContext* context,
                                                    const trygg::v1::ListConsentsRequest* request,
                                                    trygg::v1::ListConsentsResponse* response) {
  absl::Status status = [&]() -> absl::Status {
    TRYGG_ASSIGN_OR_RETURN(domain::Caller caller, auth_.Authenticate(*context));
    TRYGG_ASSIGN_OR_RETURN(Id128 case_id, IdFromProto(request->case_id(), "case_id"));
    return store_.Read([&](domain::Transaction& txn) -> absl::Status {
      TRYGG_ASSIGN_OR_RETURN(auto consents, referrals_.ListConsents(txn, caller, case_id));
      for (const domain::ConsentRow& c : consents) {
        trygg::v1::Consent* out = response->add_consents();
        out->set_consent_id(BytesToProto(c.consent_id.span()));
        out->set_case_id(BytesToProto(c.case_id.span()));
        if (!c.to_org.IsZero()) out->set_to_org_id(BytesToProto(c.to_org.span()));
        for (int service = 1; service <= trygg::v1::SERVICE_CATEGORY_OTHER; ++service) {
          if (c.services & (1u << service)) out->add_services(static_cast<trygg::v1::ServiceCategory>(service));
        }
        out->set_purpose(static_cast<trygg::v1::ConsentPurpose>(c.purpose));
        TimeToProto(c.expires_at_ms, out->mutable_expires_at());
        out->set_evidence(BytesToProto(c.evidence));
        SignedToProto(c.signed_consent, c.recorder_device.span(), out->mutable_signed_());
        if (c.withdrawn_at_ms.has_value()) TimeToProto(*c.withdrawn_at_ms, out->mutable_withdrawn_at());
        if (c.withdrawal.has_value()) {
          // The proof clients take the withdrawal from; its signer is the
          // withdrawing device named inside the statement.
          absl::StatusOr<ConsentWithdrawal> w = ParseConsentWithdrawal(c.withdrawal->bytes);
          if (w.ok()) SignedToProto(*c.withdrawal, w->device_id.span(), out->mutable_withdrawal());
        }
      }
      return absl::OkStatus();
    });
  }();
  return Finish(context, status);
}

}  // namespace trygg::api
