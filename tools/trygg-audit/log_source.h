// SPDX-License-Identifier: Apache-2.0

// Where trygg-audit reads a running tryggd's log from: gRPC, through a
// signed-in libtrygg Client (ServerLog). A copy of its database is read
// through the store's own read-only reader (server/store/sqlite/audit_reader.h).
//
// Ownership: a ServerLog borrows its Client, which must outlive it.
// Thread-safety: none; one command uses one object.
// Failure modes: network problems are UNAVAILABLE etc. with the server's
// message; a malformed answer from the server is DATA_LOSS.
#ifndef TRYGG_TOOLS_TRYGG_AUDIT_LOG_SOURCE_H_
#define TRYGG_TOOLS_TRYGG_AUDIT_LOG_SOURCE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "trygg/audit/hash.h"
#include "trygg/audit/log_diagnosis.h"
#include "trygg/audit/tree_head.h"
#include "trygg/bytes.h"
#include "trygg/client.h"
#include "trygg/v1/audit.grpc.pb.h"

namespace trygg::audit_tool {

class ServerLog {
 public:
  // `client` must be logged in: every audit RPC needs a session.
  explicit ServerLog(Client& client);

  absl::StatusOr<audit::SignedTreeHead> LatestHead();
  // Entries [0, size), paged; `progress` gets the count so far. A member
  // device is served only the entries naming its organisation, so whole-log
  // checks need a coordinator's session.
  absl::StatusOr<std::vector<audit::IndexedEntry>> Entries(
      uint64_t size, const std::function<void(uint64_t)>& progress);
  absl::StatusOr<std::vector<uint8_t>> Entry(uint64_t index);
  absl::StatusOr<std::vector<Hash256>> InclusionProof(uint64_t index, uint64_t size);
  absl::StatusOr<std::vector<Hash256>> ConsistencyProof(uint64_t first, uint64_t second);

 private:
  Client& client_;
  std::unique_ptr<trygg::v1::AuditService::Stub> audit_;
};

}  // namespace trygg::audit_tool

#endif  // TRYGG_TOOLS_TRYGG_AUDIT_LOG_SOURCE_H_
