// SPDX-License-Identifier: Apache-2.0

#include "server/api/trust_service.h"

#include "server/api/convert.h"
#include "server/api/request_id.h"
#include "server/api/unary.h"
#include "trygg/grant.h"
#include "trygg/status_macros.h"

namespace trygg::api {

grpc::ServerUnaryReactor* TrustService::GetServerInfo(grpc::CallbackServerContext* context,
                                                      const trygg::v1::GetServerInfoRequest*,
                                                      trygg::v1::GetServerInfoResponse* response) {
  if (absl::Status admitted = auth_.AdmitUnauthenticated(*context); !admitted.ok()) return Finish(context, admitted);
  return FinishWith(context, [&]() -> absl::Status {
    response->set_server_version(info_.server_version);
    response->set_schema_version(info_.schema_version);
    response->set_server_instance_id(BytesToProto(info_.server_instance_id.span()));
    response->set_server_public_key(BytesToProto(info_.server_public_key.span()));
    if (info_.platform_root.has_value()) {
      response->set_platform_root_public_key(BytesToProto(info_.platform_root->span()));
    }
    return store_.Read([&](domain::Transaction& txn) -> absl::Status {
      TRYGG_ASSIGN_OR_RETURN(std::optional<SignedObject> cert, trust_.ServerCertificate(txn));
      if (cert.has_value()) SignedToProto(*cert, {}, response->mutable_server_certificate());
      return absl::OkStatus();
    });
  });
}

grpc::ServerUnaryReactor* TrustService::UploadCertificate(grpc::CallbackServerContext* context,
                                                          const trygg::v1::UploadCertificateRequest* request,
                                                          trygg::v1::UploadCertificateResponse* response) {
  if (absl::Status admitted = auth_.AdmitUnauthenticated(*context); !admitted.ok()) return Finish(context, admitted);
  auto kind = static_cast<CertificateKind>(request->kind());
  if (request->kind() < trygg::v1::CERTIFICATE_KIND_ORGANISATION ||
      request->kind() > trygg::v1::CERTIFICATE_KIND_SERVER) {
    return Finish(context, absl::InvalidArgumentError("kind must be ORGANISATION, COORDINATOR or SERVER"));
  }
  absl::StatusOr<SignedObject> cert = SignedFromProto(request->certificate(), "certificate");
  if (!cert.ok()) return Finish(context, cert.status());
  return FinishAfterWrite(context, store_, [this, kind, cert = *std::move(cert), response](domain::Transaction& txn) {
    absl::StatusOr<Id128> subject = trust_.UploadCertificate(txn, kind, cert);
    if (!subject.ok()) return subject.status();
    response->set_subject_id(BytesToProto(subject->span()));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* TrustService::ListOrganisations(grpc::CallbackServerContext* context,
                                                          const trygg::v1::ListOrganisationsRequest* request,
                                                          trygg::v1::ListOrganisationsResponse* response) {
  return FinishWith(context, [&]() -> absl::Status {
    TRYGG_ASSIGN_OR_RETURN(domain::Caller caller, auth_.Authenticate(*context));
    TRYGG_ASSIGN_OR_RETURN(int limit, PageSize(request->page_size(), kDefaultPage, kMaxPage));
    TRYGG_ASSIGN_OR_RETURN(Id128 after, IdFromPageToken(request->page_token()));
    return store_.Read([&](domain::Transaction& txn) -> absl::Status {
      TRYGG_ASSIGN_OR_RETURN(domain::OrganisationPage page, trust_.ListOrganisationPage(txn, caller, after, limit));
      for (const domain::OrganisationSummary& summary : page.organisations) {
        trygg::v1::Organisation* org = response->add_organisations();
        org->set_org_id(BytesToProto(summary.org_id.span()));
        org->set_display_name(summary.display_name);
        SignedToProto(summary.certificate, {}, org->mutable_certificate());
        org->set_log_head_seq(summary.log_head_seq);
      }
      if (page.more) response->set_next_page_token(IdPageToken(page.organisations.back().org_id));
      return absl::OkStatus();
    });
  });
}

grpc::ServerUnaryReactor* TrustService::AppendOrgLogLink(grpc::CallbackServerContext* context,
                                                         const trygg::v1::AppendOrgLogLinkRequest* request,
                                                         trygg::v1::AppendOrgLogLinkResponse* response) {
  if (absl::Status id = AcceptRequestId(*context, request->request_id()); !id.ok()) return Finish(context, id);
  absl::StatusOr<domain::Caller> caller = auth_.Authenticate(*context);
  if (!caller.ok()) return Finish(context, caller.status());
  absl::StatusOr<Id128> org_id = IdFromProto(request->org_id(), "org_id");
  if (!org_id.ok()) return Finish(context, org_id.status());
  absl::StatusOr<SignedObject> link = SignedFromProto(request->link(), "link");
  if (!link.ok()) return Finish(context, link.status());
  return FinishAfterWrite(context, store_,
                          [this, caller = *caller, org_id = *org_id, link = *std::move(link),
                           response](domain::Transaction& txn) {
                            absl::StatusOr<uint64_t> seq = trust_.AppendOrgLogLink(txn, caller, org_id, link);
                            if (!seq.ok()) return seq.status();
                            response->set_seq(*seq);
                            return absl::OkStatus();
                          });
}

grpc::ServerUnaryReactor* TrustService::GetOrgLog(grpc::CallbackServerContext* context,
                                                  const trygg::v1::GetOrgLogRequest* request,
                                                  trygg::v1::GetOrgLogResponse* response) {
  return FinishWith(context, [&]() -> absl::Status {
    TRYGG_ASSIGN_OR_RETURN(domain::Caller caller, auth_.Authenticate(*context));
    TRYGG_ASSIGN_OR_RETURN(Id128 org_id, IdFromProto(request->org_id(), "org_id"));
    TRYGG_ASSIGN_OR_RETURN(int limit, PageSize(request->page_size(), kMaxPage, kMaxPage));
    TRYGG_ASSIGN_OR_RETURN(uint64_t from, SeqFromPageToken(request->page_token(), request->from_seq()));
    return store_.Read([&](domain::Transaction& txn) -> absl::Status {
      TRYGG_ASSIGN_OR_RETURN(domain::OrgLogPage page, trust_.GetOrgLog(txn, caller, org_id, from, limit));
      SignedToProto(page.certificate, {}, response->mutable_certificate());
      for (const SignedObject& link : page.links) SignedToProto(link, {}, response->add_links());
      if (page.more) response->set_next_page_token(SeqPageToken(std::max<uint64_t>(from, 1) + page.links.size()));
      return absl::OkStatus();
    });
  });
}

grpc::ServerUnaryReactor* TrustService::SubmitEnrolmentRequest(
    grpc::CallbackServerContext* context, const trygg::v1::SubmitEnrolmentRequestRequest* request,
    trygg::v1::SubmitEnrolmentRequestResponse* response) {
  if (absl::Status admitted = auth_.AdmitUnauthenticated(*context); !admitted.ok()) return Finish(context, admitted);
  absl::StatusOr<Id128> org_id = IdFromProto(request->org_id(), "org_id");
  if (!org_id.ok()) return Finish(context, org_id.status());
  absl::StatusOr<SignedObject> signed_request = SignedFromProto(request->request(), "request");
  if (!signed_request.ok()) return Finish(context, signed_request.status());
  absl::StatusOr<domain::Trust::CheckedEnrolment> checked =
      domain::Trust::CheckEnrolmentRequest(*org_id, *signed_request);
  if (!checked.ok()) return Finish(context, checked.status());
  return FinishAfterWrite(context, store_,
                          [this, checked = *std::move(checked), response](domain::Transaction& txn) {
                            absl::StatusOr<Id128> id = trust_.SubmitEnrolment(txn, checked);
                            if (!id.ok()) return id.status();
                            response->set_enrolment_id(BytesToProto(id->span()));
                            return absl::OkStatus();
                          });
}

grpc::ServerUnaryReactor* TrustService::ListEnrolmentRequests(grpc::CallbackServerContext* context,
                                                              const trygg::v1::ListEnrolmentRequestsRequest* request,
                                                              trygg::v1::ListEnrolmentRequestsResponse* response) {
  return FinishWith(context, [&]() -> absl::Status {
    TRYGG_ASSIGN_OR_RETURN(domain::Caller caller, auth_.Authenticate(*context));
    TRYGG_ASSIGN_OR_RETURN(int limit, PageSize(request->page_size(), kDefaultPage, kMaxPage));
    TRYGG_ASSIGN_OR_RETURN(Id128 after, IdFromPageToken(request->page_token()));
    return store_.Read([&](domain::Transaction& txn) -> absl::Status {
      TRYGG_ASSIGN_OR_RETURN(auto enrolments, trust_.ListEnrolments(txn, caller, after, limit + 1));
      const bool more = enrolments.size() > static_cast<size_t>(limit);
      if (more) enrolments.pop_back();
      for (const domain::StoredEnrolment& e : enrolments) {
        trygg::v1::EnrolmentRequest* out = response->add_requests();
        out->set_enrolment_id(BytesToProto(e.enrolment_id.span()));
        SignedToProto(e.request, e.device_id.span(), out->mutable_request());
        TimeToProto(e.submitted_at_ms, out->mutable_submitted_at());
      }
      if (more) response->set_next_page_token(IdPageToken(enrolments.back().enrolment_id));
      return absl::OkStatus();
    });
  });
}

grpc::ServerUnaryReactor* TrustService::PutKeyEnvelopes(grpc::CallbackServerContext* context,
                                                        const trygg::v1::PutKeyEnvelopesRequest* request,
                                                        trygg::v1::PutKeyEnvelopesResponse*) {
  if (absl::Status id = AcceptRequestId(*context, request->request_id()); !id.ok()) return Finish(context, id);
  absl::StatusOr<domain::Caller> caller = auth_.Authenticate(*context);
  if (!caller.ok()) return Finish(context, caller.status());
  constexpr int kMaxEnvelopes = 1000;
  if (request->envelopes_size() == 0 || request->envelopes_size() > kMaxEnvelopes) {
    return Finish(context, absl::InvalidArgumentError("envelopes must hold 1 to 1000 envelopes"));
  }
  std::vector<domain::StoredKeyEnvelope> envelopes;
  for (const trygg::v1::KeyEnvelope& in : request->envelopes()) {
    domain::StoredKeyEnvelope envelope;
    absl::StatusOr<Id128> device = IdFromProto(in.device_id(), "envelopes.device_id");
    if (!device.ok()) return Finish(context, device.status());
    absl::StatusOr<Id128> signer = IdFromProto(in.sealed_seed().signer_id(), "envelopes.sealed_seed.signer_id");
    if (!signer.ok()) return Finish(context, signer.status());
    absl::StatusOr<Signature> signature = Signature::FromSpan(
        std::span(reinterpret_cast<const uint8_t*>(in.sealed_seed().signature().data()),
                  in.sealed_seed().signature().size()));
    if (!signature.ok()) return Finish(context, absl::InvalidArgumentError("envelopes.sealed_seed.signature must be 64 bytes"));
    // The blob's bytes are the grant header followed by the sealed box.
    const std::string& bytes = in.sealed_seed().bytes();
    if (bytes.size() != kGrantHeaderSize + kGrantSealedSize) {
      return Finish(context, absl::InvalidArgumentError("envelopes.sealed_seed.bytes has the wrong size"));
    }
    envelope.device_id = *device;
    envelope.generation = in.generation();
    envelope.header.assign(bytes.begin(), bytes.begin() + kGrantHeaderSize);
    envelope.sealed.assign(bytes.begin() + kGrantHeaderSize, bytes.end());
    envelope.signature = *signature;
    envelope.signer_device = *signer;
    envelopes.push_back(std::move(envelope));
  }
  return FinishAfterWrite(context, store_,
                          [this, caller = *caller, envelopes = std::move(envelopes)](domain::Transaction& txn) {
                            return trust_.PutKeyEnvelopes(txn, caller, envelopes);
                          });
}

grpc::ServerUnaryReactor* TrustService::GetKeyEnvelopes(grpc::CallbackServerContext* context,
                                                        const trygg::v1::GetKeyEnvelopesRequest* request,
                                                        trygg::v1::GetKeyEnvelopesResponse* response) {
  return FinishWith(context, [&]() -> absl::Status {
    TRYGG_ASSIGN_OR_RETURN(std::optional<domain::Caller> caller, auth_.AuthenticateIfPresent(*context));
    std::optional<Id128> enrolment_id;
    if (!caller.has_value()) {
      // A device waiting for its approval polls this without a session.
      TRYGG_RETURN_IF_ERROR(auth_.AdmitUnauthenticated(*context));
      TRYGG_ASSIGN_OR_RETURN(enrolment_id, IdFromProto(request->enrolment_id(), "enrolment_id"));
    }
    return store_.Read([&](domain::Transaction& txn) -> absl::Status {
      TRYGG_ASSIGN_OR_RETURN(auto envelopes,
                             trust_.GetKeyEnvelopes(txn, caller, enrolment_id, request->min_generation()));
      for (const domain::StoredKeyEnvelope& e : envelopes) {
        trygg::v1::KeyEnvelope* out = response->add_envelopes();
        out->set_device_id(BytesToProto(e.device_id.span()));
        out->set_generation(e.generation);
        std::vector<uint8_t> bytes = e.header;
        bytes.insert(bytes.end(), e.sealed.begin(), e.sealed.end());
        SignedToProto(SignedObject{bytes, e.signature}, e.signer_device.span(), out->mutable_sealed_seed());
      }
      return absl::OkStatus();
    });
  });
}

}  // namespace trygg::api
