// SPDX-License-Identifier: Apache-2.0

// AuditService handlers: translate the gRPC audit API to domain::AuditLog and
// back, nothing else. The proofs and pages are read on gRPC's callback
// thread from a store reader; signing a new head completes on the store's
// writer thread, so no callback thread waits for a commit.
//
// Every RPC needs a session (UNAUTHENTICATED otherwise). Tree heads and
// proofs hold hashes only and are served to every signed-in device, since
// every device checks its own writes; which entries a caller reads is the
// domain's rule (AuditLog::ListEntries; docs/audit.md, section 9).
//
// Ownership: borrows `log` and `authenticator`, which must outlive the
// service.
// Thread-safety: handlers run concurrently; AuditLog is thread-safe.
#ifndef TRYGG_SERVER_API_AUDIT_SERVICE_H_
#define TRYGG_SERVER_API_AUDIT_SERVICE_H_

#include "server/api/authenticator.h"
#include "server/domain/audit_log.h"
#include "trygg/v1/audit.grpc.pb.h"

namespace trygg::api {

class AuditService final : public trygg::v1::AuditService::CallbackService {
 public:
  AuditService(domain::AuditLog* log, const Authenticator& authenticator) : log_(log), auth_(authenticator) {}

  grpc::ServerUnaryReactor* GetSignedTreeHead(
      grpc::CallbackServerContext* context, const trygg::v1::GetSignedTreeHeadRequest* request,
      trygg::v1::GetSignedTreeHeadResponse* response) override;
  grpc::ServerUnaryReactor* GetInclusionProof(
      grpc::CallbackServerContext* context, const trygg::v1::GetInclusionProofRequest* request,
      trygg::v1::GetInclusionProofResponse* response) override;
  grpc::ServerUnaryReactor* GetConsistencyProof(
      grpc::CallbackServerContext* context, const trygg::v1::GetConsistencyProofRequest* request,
      trygg::v1::GetConsistencyProofResponse* response) override;
  grpc::ServerUnaryReactor* ListEntries(grpc::CallbackServerContext* context,
                                        const trygg::v1::ListEntriesRequest* request,
                                        trygg::v1::ListEntriesResponse* response) override;

 private:
  domain::AuditLog* log_;
  const Authenticator& auth_;
};

}  // namespace trygg::api

#endif  // TRYGG_SERVER_API_AUDIT_SERVICE_H_
