// SPDX-License-Identifier: Apache-2.0

// The directory's view of the store: listings with their signed bytes and the
// columns searches filter and order on. Declared by the domain, implemented in
// server/store/sqlite/directory_tables.cc, reached as Transaction::directory().
//
// Every method runs inside the caller's transaction. Signed bytes are stored
// exactly as received. Regions and languages are stored canonical (the
// domain validated them), so filters compare exact strings.
// Failure modes: storage faults as Unavailable/Internal; a stored row that no
// longer decodes as DataLoss.
#ifndef TRYGG_SERVER_DOMAIN_DIRECTORY_TABLES_H_
#define TRYGG_SERVER_DOMAIN_DIRECTORY_TABLES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "trygg/bytes.h"
#include "trygg/trust.h"

namespace trygg::domain {

// A signed object with the device that signed it.
struct SignedBy {
  SignedObject object;
  Id128 signer_device;
};

struct ListingRow {
  Id128 listing_id;
  Id128 org_id;
  uint64_t revision = 0;
  uint8_t category = 0;
  uint32_t response_time_hours = 0;
  // Current places (from the newest capacity update, else the listing) and
  // the time the admin stated them.
  int32_t capacity_free = -1;
  int64_t capacity_at_ms = 0;
  uint8_t target_groups = 0;
  uint8_t exploitation_forms = 0;
  // Canonical codes, for filtering.
  std::vector<std::string> regions;
  std::vector<std::string> languages;
  bool retired = false;
  SignedBy listing;
  std::optional<SignedBy> capacity;
  std::optional<SignedBy> retirement;
};

// Where a page of search results continues: after this sort key.
struct ListingCursor {
  bool open = false;
  int64_t capacity_at_ms = 0;
  Id128 listing_id;
};

// Filters combine with AND; an unset one matches everything. Retired
// listings never match.
struct ListingFilter {
  uint8_t category = 0;
  std::string region;            // canonical ISO 3166-2 code
  std::string primary_language;  // ISO 639 language subtag
  uint8_t target_groups = 0;     // any of these bits
  uint8_t exploitation_forms = 0;
  bool open_capacity_only = false;
};

class DirectoryTables {
 public:
  virtual ~DirectoryTables() = default;

  virtual absl::StatusOr<std::optional<ListingRow>> GetListing(const Id128& listing_id) = 0;
  // Inserts the listing, or replaces a listing of the same organisation (all
  // columns, regions and languages). Every write is scoped to the listing's
  // organisation and must change exactly one row: a listing of another
  // organisation under the same id is never touched (INTERNAL).
  virtual absl::Status PutListing(const ListingRow& row) = 0;
  // Sets the capacity columns and the stored capacity update of `org_id`'s listing.
  virtual absl::Status PutCapacity(const Id128& listing_id, const Id128& org_id, int32_t capacity_free,
                                   int64_t capacity_at_ms, const SignedBy& update) = 0;
  virtual absl::Status PutRetirement(const Id128& listing_id, const Id128& org_id, const SignedBy& retirement) = 0;

  // Active listings matching `filter`, ordered open capacity (> 0) first,
  // then newest capacity time, then listing id (all descending), strictly
  // after `after`; at most `limit`.
  virtual absl::StatusOr<std::vector<ListingRow>> Search(const ListingFilter& filter,
                                                         const std::optional<ListingCursor>& after,
                                                         int limit) = 0;
  // Every active listing, in listing id order (for the HSDS export).
  virtual absl::StatusOr<std::vector<ListingRow>> AllActive() = 0;
};

}  // namespace trygg::domain

#endif  // TRYGG_SERVER_DOMAIN_DIRECTORY_TABLES_H_
