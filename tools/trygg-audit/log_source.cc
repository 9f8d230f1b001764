// SPDX-License-Identifier: Apache-2.0

#include "tools/trygg-audit/log_source.h"

#include <chrono>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "trygg/signing.h"
#include "trygg/status_macros.h"

namespace trygg::audit_tool {
namespace {

absl::Status FromGrpc(const grpc::Status& status, const char* what) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      absl::StrCat(what, ": ", status.error_message()));
}

absl::StatusOr<std::vector<Hash256>> Path(
    const google::protobuf::RepeatedPtrField<std::string>& path) {
  std::vector<Hash256> out;
  for (const std::string& h : path) {
    absl::StatusOr<Hash256> hash = Hash256::FromSpan(
        absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(h.data()), h.size()));
    if (!hash.ok()) return absl::DataLossError("the server sent a proof hash that is not 32 bytes");
    out.push_back(*hash);
  }
  return out;
}

absl::StatusOr<audit::SignedTreeHead> ParseSignedHead(const std::string& bytes, const std::string& signature) {
  absl::StatusOr<audit::TreeHead> head = audit::DecodeTreeHead(
      absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
  if (!head.ok()) return absl::DataLossError(absl::StrCat("bad tree head: ", head.status().message()));
  absl::StatusOr<Signature> sig = Signature::FromSpan(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(signature.data()), signature.size()));
  if (!sig.ok()) return absl::DataLossError("tree head signature is not 64 bytes");
  return audit::SignedTreeHead{*head, *sig};
}

}  // namespace

ServerLog::ServerLog(Client& client)
    : client_(client), audit_(trygg::v1::AuditService::NewStub(client.channel())) {}

absl::StatusOr<audit::SignedTreeHead> ServerLog::LatestHead() {
  auto context = client_.NewCallContext();
  trygg::v1::GetSignedTreeHeadResponse response;
  TRYGG_RETURN_IF_ERROR(
      FromGrpc(audit_->GetSignedTreeHead(context.get(), {}, &response), "GetSignedTreeHead"));
  return ParseSignedHead(response.tree_head().bytes(), response.tree_head().signature());
}

absl::StatusOr<std::vector<audit::IndexedEntry>> ServerLog::Entries(
    uint64_t size, const std::function<void(uint64_t)>& progress) {
  std::vector<audit::IndexedEntry> out;
  out.reserve(size);
  std::string token;
  while (out.size() < size) {
    auto context = client_.NewCallContext();
    trygg::v1::ListEntriesRequest request;
    request.set_start_index(out.size());
    request.set_page_size(1000);
    request.set_page_token(token);
    trygg::v1::ListEntriesResponse response;
    TRYGG_RETURN_IF_ERROR(FromGrpc(audit_->ListEntries(context.get(), request, &response), "ListEntries"));
    for (const trygg::v1::AuditEntry& entry : response.entries()) {
      if (out.size() >= size) break;
      out.push_back({entry.index(), std::vector<uint8_t>(entry.entry().begin(), entry.entry().end())});
    }
    if (progress) progress(out.size());
    token = response.next_page_token();
    if (token.empty() || response.entries().empty()) break;
  }
  return out;
}

absl::StatusOr<std::vector<uint8_t>> ServerLog::Entry(uint64_t index) {
  auto context = client_.NewCallContext();
  trygg::v1::ListEntriesRequest request;
  request.set_start_index(index);
  request.set_page_size(1);
  trygg::v1::ListEntriesResponse response;
  TRYGG_RETURN_IF_ERROR(FromGrpc(audit_->ListEntries(context.get(), request, &response), "ListEntries"));
  if (response.entries().empty() || response.entries(0).index() != index) {
    return absl::NotFoundError(
        absl::StrCat("the server has no entry ", index, ", or none this device may read"));
  }
  const std::string& bytes = response.entries(0).entry();
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

absl::StatusOr<std::vector<Hash256>> ServerLog::InclusionProof(uint64_t index, uint64_t size) {
  auto context = client_.NewCallContext();
  trygg::v1::GetInclusionProofRequest request;
  request.set_leaf_index(index);
  request.set_tree_size(size);
  trygg::v1::GetInclusionProofResponse response;
  TRYGG_RETURN_IF_ERROR(
      FromGrpc(audit_->GetInclusionProof(context.get(), request, &response), "GetInclusionProof"));
  return Path(response.path());
}

absl::StatusOr<std::vector<Hash256>> ServerLog::ConsistencyProof(uint64_t first,
                                                                     uint64_t second) {
  auto context = client_.NewCallContext();
  trygg::v1::GetConsistencyProofRequest request;
  request.set_first_size(first);
  request.set_second_size(second);
  trygg::v1::GetConsistencyProofResponse response;
  TRYGG_RETURN_IF_ERROR(
      FromGrpc(audit_->GetConsistencyProof(context.get(), request, &response), "GetConsistencyProof"));
  return Path(response.path());
}

}  // namespace trygg::audit_tool
