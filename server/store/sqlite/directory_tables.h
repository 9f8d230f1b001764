// SPDX-License-Identifier: Apache-2.0

// SqliteDirectoryTables: domain::DirectoryTables over one SQLite connection,
// inside the transaction SqliteStore opened. See migration 4 for the tables.
//
// Ownership: borrows the connection for one transaction.
// Thread-safety: none; used on the transaction's thread only.
#ifndef TRYGG_SERVER_STORE_SQLITE_DIRECTORY_TABLES_H_
#define TRYGG_SERVER_STORE_SQLITE_DIRECTORY_TABLES_H_

#include "server/domain/directory_tables.h"
#include "server/store/sqlite/connection.h"

namespace trygg::store::sqlite {

class SqliteDirectoryTables final : public domain::DirectoryTables {
 public:
  explicit SqliteDirectoryTables(Connection& db) : db_(db) {}

  absl::StatusOr<std::optional<domain::ListingRow>> GetListing(const Id128& listing_id) override;
  absl::Status PutListing(const domain::ListingRow& row) override;
  absl::Status PutCapacity(const Id128& listing_id, const Id128& org_id, int32_t capacity_free,
                           int64_t capacity_at_ms, const domain::SignedBy& update) override;
  absl::Status PutRetirement(const Id128& listing_id, const Id128& org_id, const domain::SignedBy& retirement) override;
  absl::StatusOr<std::vector<domain::ListingRow>> Search(const domain::ListingFilter& filter,
                                                         const std::optional<domain::ListingCursor>& after,
                                                         int limit) override;
  absl::StatusOr<std::vector<domain::ListingRow>> AllActive() override;

 private:
  // Reads the rows `stmt` yields (columns as kListingColumns), then their codes.
  absl::StatusOr<std::vector<domain::ListingRow>> ReadRows(Statement& stmt);
  absl::Status LoadCodes(domain::ListingRow& row);

  Connection& db_;
};

}  // namespace trygg::store::sqlite

#endif  // TRYGG_SERVER_STORE_SQLITE_DIRECTORY_TABLES_H_
