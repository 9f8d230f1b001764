// The persistence the domain needs, declared by the domain and implemented by
// server/store/ (SQLite by default). The domain depends on this interface
// only; it never sees SQL.
//
// Thread-safety: every method may be called from any thread concurrently.
// Writes are durable (fsync'd) when they return OK.
// Failure modes: absl::Status with the codes of DESIGN.md; UNAVAILABLE or
// INTERNAL for storage faults, which callers report without detail.
#ifndef TRYGG_SERVER_DOMAIN_STORE_H_
#define TRYGG_SERVER_DOMAIN_STORE_H_

#include <array>
#include <cstdint>

#include "absl/status/statusor.h"

namespace trygg::domain {

// Facts about this server's database, created once when the database is made.
struct ServerIdentity {
  // Random 16 bytes naming this database; bound into session challenges so a
  // signature for one server cannot be replayed at another.
  std::array<uint8_t, 16> instance_id{};
  // When the database was created, Unix milliseconds.
  int64_t created_at_ms = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  // The schema version the database is at (after migrations).
  virtual int SchemaVersion() const = 0;

  // The identity created with the database.
  virtual absl::StatusOr<ServerIdentity> GetServerIdentity() = 0;
};

}  // namespace trygg::domain

#endif  // TRYGG_SERVER_DOMAIN_STORE_H_
