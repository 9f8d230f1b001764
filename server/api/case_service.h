// SPDX-License-Identifier: Apache-2.0

// CaseService handlers: translate gRPC to domain::Cases calls and back.
// Rules live in server/domain/cases.cc. Envelopes and grants pass through as
// the exact bytes the device made; the server never re-serialises them.
//
// Thread-safety: handlers run concurrently on gRPC's callback threads.
#ifndef TRYGG_SERVER_API_CASE_SERVICE_H_
#define TRYGG_SERVER_API_CASE_SERVICE_H_

#include "server/api/authenticator.h"
#include "server/api/referral_watch.h"
#include "server/domain/cases.h"
#include "server/domain/referrals.h"
#include "server/domain/store.h"
#include "trygg/v1/case.grpc.pb.h"

namespace trygg::api {

class CaseService final : public trygg::v1::CaseService::CallbackService {
 public:
  // A GetCase page holds about 1 MiB of versions, or half of what the server
  // may send in one message when that is less (tryggd passes it).
  static constexpr size_t kDefaultCasePageBytes = size_t{1} << 20;

  // All arguments must outlive the service.
  CaseService(domain::Store& store, const domain::Cases& cases, const domain::Referrals& referrals,
              const Authenticator& authenticator, ReferralWatch& watch,
              size_t case_page_bytes = kDefaultCasePageBytes)
      : store_(store),
        cases_(cases),
        referrals_(referrals),
        auth_(authenticator),
        watch_(watch),
        page_bytes_(case_page_bytes) {}

  grpc::ServerUnaryReactor* CreateCase(grpc::CallbackServerContext* context,
                                       const trygg::v1::CreateCaseRequest* request,
                                       trygg::v1::CreateCaseResponse* response) override;
  grpc::ServerUnaryReactor* AppendCaseVersion(grpc::CallbackServerContext* context,
                                              const trygg::v1::AppendCaseVersionRequest* request,
                                              trygg::v1::AppendCaseVersionResponse* response) override;
  grpc::ServerUnaryReactor* GetCase(grpc::CallbackServerContext* context, const trygg::v1::GetCaseRequest* request,
                                    trygg::v1::GetCaseResponse* response) override;
  grpc::ServerUnaryReactor* ListCases(grpc::CallbackServerContext* context,
                                      const trygg::v1::ListCasesRequest* request,
                                      trygg::v1::ListCasesResponse* response) override;
  grpc::ServerUnaryReactor* PutGrants(grpc::CallbackServerContext* context,
                                      const trygg::v1::PutGrantsRequest* request,
                                      trygg::v1::PutGrantsResponse* response) override;
  grpc::ServerUnaryReactor* EraseCase(grpc::CallbackServerContext* context,
                                      const trygg::v1::EraseCaseRequest* request,
                                      trygg::v1::EraseCaseResponse* response) override;
  grpc::ServerReadReactor<trygg::v1::UploadAttachmentRequest>* UploadAttachment(
      grpc::CallbackServerContext* context, trygg::v1::UploadAttachmentResponse* response) override;
  grpc::ServerWriteReactor<trygg::v1::DownloadAttachmentResponse>* DownloadAttachment(
      grpc::CallbackServerContext* context, const trygg::v1::DownloadAttachmentRequest* request) override;
  grpc::ServerUnaryReactor* RecordConsent(grpc::CallbackServerContext* context,
                                          const trygg::v1::RecordConsentRequest* request,
                                          trygg::v1::RecordConsentResponse* response) override;
  grpc::ServerUnaryReactor* WithdrawConsent(grpc::CallbackServerContext* context,
                                            const trygg::v1::WithdrawConsentRequest* request,
                                            trygg::v1::WithdrawConsentResponse* response) override;
  grpc::ServerUnaryReactor* ListConsents(grpc::CallbackServerContext* context,
                                         const trygg::v1::ListConsentsRequest* request,
                                         trygg::v1::ListConsentsResponse* response) override;

 private:
  domain::Store& store_;
  const domain::Cases& cases_;
  const domain::Referrals& referrals_;
  const Authenticator& auth_;
  ReferralWatch& watch_;
  const size_t page_bytes_;
};

}  // namespace trygg::api

#endif  // TRYGG_SERVER_API_CASE_SERVICE_H_
