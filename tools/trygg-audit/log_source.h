// Where trygg-audit reads a log from: a running tryggd over gRPC, through a
// signed-in libtrygg Client (ServerLog), or a copy of its SQLite database
// read directly (DatabaseLog, for offline audits of a backup or a seized
// copy).
//
// Ownership: a ServerLog borrows its Client, which must outlive it; a
// DatabaseLog owns its connection.
// Thread-safety: none; one command uses one object.
// Failure modes: network and file problems are UNAVAILABLE / NOT_FOUND /
// FAILED_PRECONDITION with the server's or SQLite's message; a malformed
// answer from the server is DATA_LOSS.
#ifndef TRYGG_TOOLS_TRYGG_AUDIT_LOG_SOURCE_H_
#define TRYGG_TOOLS_TRYGG_AUDIT_LOG_SOURCE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "server/audit/hash.h"
#include "server/audit/log_diagnosis.h"
#include "server/audit/tree_head.h"
#include "trygg/bytes.h"
#include "trygg/client.h"
#include "trygg/v1/audit.grpc.pb.h"

struct sqlite3;

namespace trygg::audit_tool {

struct SignedHead {
  audit::TreeHead head;
  Signature signature;
};

// OK when `signature` is the server key's tree-head signature over `head`.
absl::Status VerifyHeadSignature(const SignedHead& head, const SignPublicKey& key);

class ServerLog {
 public:
  // `client` must be logged in: every audit RPC needs a session.
  explicit ServerLog(Client& client);

  absl::StatusOr<SignedHead> LatestHead();
  // Entries [0, size), paged; `progress` gets the count so far. A member
  // device is served only the entries naming its organisation, so whole-log
  // checks need a coordinator's session.
  absl::StatusOr<std::vector<audit::IndexedEntry>> Entries(
      uint64_t size, const std::function<void(uint64_t)>& progress);
  absl::StatusOr<std::vector<uint8_t>> Entry(uint64_t index);
  absl::StatusOr<std::vector<audit::Hash>> InclusionProof(uint64_t index, uint64_t size);
  absl::StatusOr<std::vector<audit::Hash>> ConsistencyProof(uint64_t first, uint64_t second);

 private:
  Client& client_;
  std::unique_ptr<trygg::v1::AuditService::Stub> audit_;
};

// A Trygg database file opened read-only.
class DatabaseLog {
 public:
  static absl::StatusOr<std::unique_ptr<DatabaseLog>> Open(const std::string& path);
  ~DatabaseLog();

  absl::StatusOr<std::vector<audit::IndexedEntry>> Entries();
  // The stored level-0 nodes (leaf hashes), in index order; a gap or a
  // malformed hash is DATA_LOSS.
  absl::StatusOr<std::vector<audit::Hash>> LeafNodes();
  // Every signed head, in the order the server stored them.
  absl::StatusOr<std::vector<SignedHead>> Heads();

 private:
  explicit DatabaseLog(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

}  // namespace trygg::audit_tool

#endif  // TRYGG_TOOLS_TRYGG_AUDIT_LOG_SOURCE_H_
