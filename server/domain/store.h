// SPDX-License-Identifier: Apache-2.0

// The persistence the domain needs, declared by the domain and implemented by
// server/store/ (SQLite by default). The domain depends on this interface
// only; it never sees SQL.
//
// The domain's rules run inside a Transaction: a check and the change it
// guards (and the audit entry that records it) commit together or not at all.
// A write whose function returns an error changes nothing. Each area of the
// domain reaches its tables through one accessor of Transaction, declared in
// its own header, so areas grow without touching each other.
//
// Thread-safety: every Store method may be called from any thread
// concurrently. A Transaction is used only inside the function it is passed
// to, on the thread that calls that function.
// Writes are durable (fsync'd) when their completion reports OK.
// Failure modes: absl::Status with the codes of DESIGN.md; UNAVAILABLE or
// INTERNAL for storage faults, which callers report without detail.
#ifndef TRYGG_SERVER_DOMAIN_STORE_H_
#define TRYGG_SERVER_DOMAIN_STORE_H_

#include <array>
#include <cstdint>
#include <functional>

#include "absl/status/status.h"
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

class AuditTable;   // audit_table.h
class TrustTables;  // trust_tables.h
class CaseTables;   // case_tables.h
class ReferralTables;  // referral_tables.h
class DirectoryTables;  // directory_tables.h

// The view of the database inside one read or write. Reads run on read-only
// connections, where every mutation fails.
class Transaction {
 public:
  virtual ~Transaction() = default;

  // The audit log's entries, tree nodes and signed heads.
  virtual AuditTable& audit() = 0;

  // Certificates, organisation logs, devices, enrolment, sessions.
  virtual TrustTables& trust() = 0;

  // Cases, record versions and grants.
  virtual CaseTables& cases() = 0;

  // Consent records, referrals and their transitions.
  virtual ReferralTables& referrals() = 0;

  // Directory listings: signed revisions, capacity updates, retirements.
  virtual DirectoryTables& directory() = 0;

  // Asks the store to keep no copy of what this write deletes once it has
  // committed (an erasure): no deleted bytes left in free space, journals or
  // write-ahead logs. The write's `done` runs only after that. Ignored if the
  // write fails.
  virtual void ScrubAfterCommit() = 0;
};

class Store {
 public:
  using WriteFn = std::function<absl::Status(Transaction&)>;
  using DoneFn = std::function<void(absl::Status)>;
  using ReadFn = std::function<absl::Status(Transaction&)>;

  virtual ~Store() = default;

  // Queues `write`; runs it in a group-committed transaction on the writer
  // thread, all or nothing (a failed write leaves no change, and the writes
  // batched with it stand), then calls `done` with the durable
  // result, on the store's completion thread, in commit order (`done` should
  // be quick: the calls after it wait for it; the writer does not). A store that cannot take the write now (full queue,
  // shutting down) calls `done` at once, on the calling thread, with
  // RESOURCE_EXHAUSTED or UNAVAILABLE, and `write` never runs.
  //
  // `write` may run more than once before `done` (a batch whose transaction
  // is rolled back is run again), so it must act only through the
  // Transaction, and on anything else only by overwriting its results.
  virtual void Write(WriteFn write, DoneFn done) = 0;

  // Write, waiting for the durable result.
  absl::Status WriteAndWait(WriteFn write);

  // Runs `read` in a consistent snapshot on the calling thread.
  virtual absl::Status Read(const ReadFn& read) = 0;

  // A number that never goes back and moves on around every write that adds,
  // changes or removes a session or a device (committed or not): it is odd
  // from before the moment a Read could first see that change until the
  // write has ended, and even again, and larger, before that write's `done`
  // runs. Read before a Read, an even value that still stands afterwards
  // says that what the Read found about a session is still so:
  // api/session_cache.h keeps authenticated sessions only on that condition.
  virtual uint64_t TrustVersion() const = 0;

  // The schema version the database is at (after migrations).
  virtual int SchemaVersion() const = 0;

  // The identity created with the database.
  virtual absl::StatusOr<ServerIdentity> GetServerIdentity() = 0;
};

}  // namespace trygg::domain

#endif  // TRYGG_SERVER_DOMAIN_STORE_H_
