#include "tools/trygg-audit/log_source.h"

#include <sqlite3.h>

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

absl::StatusOr<std::vector<audit::Hash>> Path(
    const google::protobuf::RepeatedPtrField<std::string>& path) {
  std::vector<audit::Hash> out;
  for (const std::string& h : path) {
    absl::StatusOr<audit::Hash> hash = audit::Hash::FromBytes(
        absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(h.data()), h.size()));
    if (!hash.ok()) return absl::DataLossError("the server sent a proof hash that is not 32 bytes");
    out.push_back(*hash);
  }
  return out;
}

absl::StatusOr<SignedHead> ParseSignedHead(const std::string& bytes, const std::string& signature) {
  absl::StatusOr<audit::TreeHead> head = audit::DecodeTreeHead(
      absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
  if (!head.ok()) return absl::DataLossError(absl::StrCat("bad tree head: ", head.status().message()));
  absl::StatusOr<Signature> sig = Signature::FromSpan(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(signature.data()), signature.size()));
  if (!sig.ok()) return absl::DataLossError("tree head signature is not 64 bytes");
  return SignedHead{*head, *sig};
}

}  // namespace

absl::Status VerifyHeadSignature(const SignedHead& head, const SignPublicKey& key) {
  const audit::EncodedTreeHead bytes = audit::EncodeTreeHead(head.head);
  absl::Status status = Verify(key, SigningContext::kTreeHead, bytes, head.signature);
  if (!status.ok()) {
    return absl::PermissionDeniedError(
        absl::StrCat("the tree head of size ", head.head.tree_size,
                     " is not signed by server key ", HexEncode(key.span())));
  }
  return absl::OkStatus();
}

ServerLog::ServerLog(Client& client)
    : client_(client), audit_(trygg::v1::AuditService::NewStub(client.channel())) {}

absl::StatusOr<SignedHead> ServerLog::LatestHead() {
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

absl::StatusOr<std::vector<audit::Hash>> ServerLog::InclusionProof(uint64_t index, uint64_t size) {
  auto context = client_.NewCallContext();
  trygg::v1::GetInclusionProofRequest request;
  request.set_leaf_index(index);
  request.set_tree_size(size);
  trygg::v1::GetInclusionProofResponse response;
  TRYGG_RETURN_IF_ERROR(
      FromGrpc(audit_->GetInclusionProof(context.get(), request, &response), "GetInclusionProof"));
  return Path(response.path());
}

absl::StatusOr<std::vector<audit::Hash>> ServerLog::ConsistencyProof(uint64_t first,
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

absl::StatusOr<std::unique_ptr<DatabaseLog>> DatabaseLog::Open(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    return absl::NotFoundError(absl::StrCat("cannot open ", path, ": ", message));
  }
  sqlite3_stmt* stmt = nullptr;
  rc = sqlite3_prepare_v2(db, "SELECT count(*) FROM audit_entries", -1, &stmt, nullptr);
  sqlite3_finalize(stmt);
  if (rc != SQLITE_OK) {
    sqlite3_close_v2(db);
    return absl::FailedPreconditionError(
        absl::StrCat(path, " is not a Trygg database with an audit log"));
  }
  return std::unique_ptr<DatabaseLog>(new DatabaseLog(db));
}

DatabaseLog::~DatabaseLog() { sqlite3_close_v2(db_); }

namespace {

// Runs `sql` and calls `row` for each result row.
template <typename RowFn>
absl::Status Query(sqlite3* db, const char* sql, RowFn row) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) != SQLITE_OK) {
    return absl::FailedPreconditionError(absl::StrCat("sqlite: ", sqlite3_errmsg(db)));
  }
  absl::Status status;
  int rc;
  while (status.ok() && (rc = sqlite3_step(stmt)) == SQLITE_ROW) status = row(stmt);
  if (status.ok() && rc != SQLITE_DONE) {
    status = absl::DataLossError(absl::StrCat("sqlite: ", sqlite3_errmsg(db)));
  }
  sqlite3_finalize(stmt);
  return status;
}

std::vector<uint8_t> Blob(sqlite3_stmt* stmt, int col) {
  const auto* data = static_cast<const uint8_t*>(sqlite3_column_blob(stmt, col));
  const int size = sqlite3_column_bytes(stmt, col);
  return data == nullptr ? std::vector<uint8_t>() : std::vector<uint8_t>(data, data + size);
}

}  // namespace

absl::StatusOr<std::vector<audit::IndexedEntry>> DatabaseLog::Entries() {
  std::vector<audit::IndexedEntry> out;
  TRYGG_RETURN_IF_ERROR(Query(db_, "SELECT idx, entry FROM audit_entries ORDER BY idx",
                              [&](sqlite3_stmt* stmt) {
                                out.push_back({static_cast<uint64_t>(sqlite3_column_int64(stmt, 0)),
                                               Blob(stmt, 1)});
                                return absl::OkStatus();
                              }));
  return out;
}

absl::StatusOr<std::vector<audit::Hash>> DatabaseLog::LeafNodes() {
  std::vector<audit::Hash> out;
  TRYGG_RETURN_IF_ERROR(Query(
      db_, "SELECT idx, hash FROM audit_nodes WHERE level = 0 ORDER BY idx",
      [&](sqlite3_stmt* stmt) -> absl::Status {
        const int64_t idx = sqlite3_column_int64(stmt, 0);
        if (idx != static_cast<int64_t>(out.size())) {
          return absl::DataLossError(absl::StrCat("the stored tree has no leaf ", out.size()));
        }
        absl::StatusOr<audit::Hash> hash = audit::Hash::FromBytes(Blob(stmt, 1));
        if (!hash.ok()) return absl::DataLossError(absl::StrCat("stored leaf ", idx, " is malformed"));
        out.push_back(*hash);
        return absl::OkStatus();
      }));
  return out;
}

absl::StatusOr<std::vector<SignedHead>> DatabaseLog::Heads() {
  std::vector<SignedHead> out;
  TRYGG_RETURN_IF_ERROR(Query(
      db_,
      "SELECT tree_size, timestamp_ms, root_hash, signature FROM audit_tree_heads ORDER BY seq",
      [&](sqlite3_stmt* stmt) -> absl::Status {
        SignedHead head;
        head.head.tree_size = static_cast<uint64_t>(sqlite3_column_int64(stmt, 0));
        head.head.timestamp_ms = sqlite3_column_int64(stmt, 1);
        absl::StatusOr<audit::Hash> root = audit::Hash::FromBytes(Blob(stmt, 2));
        std::vector<uint8_t> sig = Blob(stmt, 3);
        absl::StatusOr<Signature> signature = Signature::FromSpan(sig);
        if (!root.ok() || !signature.ok()) return absl::DataLossError("a stored tree head is malformed");
        head.head.root_hash = *root;
        head.signature = *signature;
        out.push_back(head);
        return absl::OkStatus();
      }));
  return out;
}

}  // namespace trygg::audit_tool
