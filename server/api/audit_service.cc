// SPDX-License-Identifier: Apache-2.0

#include "server/api/audit_service.h"

#include <spdlog/spdlog.h>

#include <string>
#include <utility>
#include <vector>

#include "server/api/status.h"
#include "server/api/unary.h"
#include "trygg/audit/tree_head.h"

namespace trygg::api {
namespace {

void SetPath(const std::vector<Hash256>& proof,
             google::protobuf::RepeatedPtrField<std::string>* path) {
  for (const Hash256& hash : proof) {
    path->Add(std::string(reinterpret_cast<const char*>(hash.array().data()), hash.array().size()));
  }
}

}  // namespace

grpc::ServerUnaryReactor* AuditService::GetSignedTreeHead(
    grpc::CallbackServerContext* context, const trygg::v1::GetSignedTreeHeadRequest*,
    trygg::v1::GetSignedTreeHeadResponse* response) {
  if (absl::StatusOr<domain::Caller> caller = auth_.Authenticate(*context); !caller.ok()) {
    return Finish(context, caller.status());
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const SignPublicKey signer = log_->public_key();
  log_->GetSignedTreeHead([reactor, response, signer](absl::StatusOr<audit::SignedTreeHead> head) {
    if (!head.ok()) {
      // An inconsistent log is an operator emergency, not a client error;
      // the message holds sizes and hashes only.
      if (head.status().code() == absl::StatusCode::kInternal) {
        spdlog::error("audit: cannot sign a tree head: {}", std::string(head.status().message()));
      }
      reactor->Finish(ToGrpcStatus(head.status()));
      return;
    }
    const audit::EncodedTreeHead bytes = audit::EncodeTreeHead(head->head);
    trygg::v1::SignedBlob* blob = response->mutable_tree_head();
    blob->set_bytes(bytes.data(), bytes.size());
    blob->set_signature(head->signature.data(), head->signature.size());
    blob->set_signer_id(signer.data(), signer.size());
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* AuditService::GetInclusionProof(
    grpc::CallbackServerContext* context, const trygg::v1::GetInclusionProofRequest* request,
    trygg::v1::GetInclusionProofResponse* response) {
  if (absl::StatusOr<domain::Caller> caller = auth_.Authenticate(*context); !caller.ok()) {
    return Finish(context, caller.status());
  }
  absl::StatusOr<std::vector<Hash256>> proof =
      log_->InclusionProof(request->leaf_index(), request->tree_size());
  if (proof.ok()) SetPath(*proof, response->mutable_path());
  return Finish(context, proof.status());
}

grpc::ServerUnaryReactor* AuditService::GetConsistencyProof(
    grpc::CallbackServerContext* context, const trygg::v1::GetConsistencyProofRequest* request,
    trygg::v1::GetConsistencyProofResponse* response) {
  if (absl::StatusOr<domain::Caller> caller = auth_.Authenticate(*context); !caller.ok()) {
    return Finish(context, caller.status());
  }
  absl::StatusOr<std::vector<Hash256>> proof =
      log_->ConsistencyProof(request->first_size(), request->second_size());
  if (proof.ok()) SetPath(*proof, response->mutable_path());
  return Finish(context, proof.status());
}

grpc::ServerUnaryReactor* AuditService::ListEntries(grpc::CallbackServerContext* context,
                                                    const trygg::v1::ListEntriesRequest* request,
                                                    trygg::v1::ListEntriesResponse* response) {
  absl::StatusOr<domain::Caller> caller = auth_.Authenticate(*context);
  if (!caller.ok()) return Finish(context, caller.status());
  absl::StatusOr<domain::AuditEntryPage> page =
      log_->ListEntries(*caller, request->start_index(), request->page_size(), request->page_token());
  if (page.ok()) {
    for (const audit::IndexedEntry& stored : page->entries) {
      trygg::v1::AuditEntry* entry = response->add_entries();
      entry->set_index(stored.index);
      entry->set_entry(stored.bytes.data(), stored.bytes.size());
    }
    response->set_next_page_token(page->next_page_token);
  }
  return Finish(context, page.status());
}

}  // namespace trygg::api
