// SPDX-License-Identifier: Apache-2.0

#include "server/store/sqlite/directory_tables.h"

#include "absl/strings/str_cat.h"
#include "trygg/listing.h"
#include "trygg/status_macros.h"

namespace trygg::store::sqlite {
namespace {

constexpr char kListingColumns[] =
    "l.listing_id, l.org_id, l.revision, l.category, l.response_time_hours, l.capacity_free, l.capacity_at, "
    "l.target_groups, l.exploitation_forms, l.retired, l.bytes, l.signature, l.signer, l.capacity_bytes, "
    "l.capacity_signature, l.capacity_signer, l.retire_bytes, l.retire_signature, l.retire_signer";

absl::StatusOr<domain::SignedBy> SignedColumns(const Statement& stmt, int first) {
  domain::SignedBy signed_by;
  signed_by.object.bytes = stmt.ColumnBlob(first);
  TRYGG_ASSIGN_OR_RETURN(signed_by.object.signature, stmt.ColumnFixed<Signature>(first + 1));
  TRYGG_ASSIGN_OR_RETURN(signed_by.signer_device, stmt.ColumnFixed<Id128>(first + 2));
  return signed_by;
}

absl::StatusOr<domain::ListingRow> Row(const Statement& stmt) {
  domain::ListingRow row;
  TRYGG_ASSIGN_OR_RETURN(row.listing_id, stmt.ColumnFixed<Id128>(0));
  TRYGG_ASSIGN_OR_RETURN(row.org_id, stmt.ColumnFixed<Id128>(1));
  row.revision = static_cast<uint64_t>(stmt.ColumnInt(2));
  row.category = static_cast<uint8_t>(stmt.ColumnInt(3));
  row.response_time_hours = static_cast<uint32_t>(stmt.ColumnInt(4));
  row.capacity_free = static_cast<int32_t>(stmt.ColumnInt(5));
  row.capacity_at_ms = stmt.ColumnInt(6);
  row.target_groups = static_cast<uint8_t>(stmt.ColumnInt(7));
  row.exploitation_forms = static_cast<uint8_t>(stmt.ColumnInt(8));
  row.retired = stmt.ColumnInt(9) != 0;
  TRYGG_ASSIGN_OR_RETURN(row.listing, SignedColumns(stmt, 10));
  if (!stmt.ColumnIsNull(13)) {
    TRYGG_ASSIGN_OR_RETURN(row.capacity, SignedColumns(stmt, 13));
  }
  if (!stmt.ColumnIsNull(16)) {
    TRYGG_ASSIGN_OR_RETURN(row.retirement, SignedColumns(stmt, 16));
  }
  return row;
}

}  // namespace

absl::StatusOr<std::vector<domain::ListingRow>> SqliteDirectoryTables::ReadRows(Statement& stmt) {
  std::vector<domain::ListingRow> rows;
  for (;;) {
    TRYGG_ASSIGN_OR_RETURN(bool more, stmt.Step());
    if (!more) break;
    TRYGG_ASSIGN_OR_RETURN(domain::ListingRow row, Row(stmt));
    rows.push_back(std::move(row));
  }
  stmt.Reset();
  for (domain::ListingRow& row : rows) TRYGG_RETURN_IF_ERROR(LoadCodes(row));
  return rows;
}

absl::Status SqliteDirectoryTables::LoadCodes(domain::ListingRow& row) {
  TRYGG_ASSIGN_OR_RETURN(Statement * regions,
                         db_.Prepare("SELECT region FROM listing_regions WHERE listing_id = ?1 ORDER BY position"));
  regions->BindBlob(1, row.listing_id.span());
  for (;;) {
    TRYGG_ASSIGN_OR_RETURN(bool more, regions->Step());
    if (!more) break;
    row.regions.push_back(regions->ColumnText(0));
  }
  TRYGG_ASSIGN_OR_RETURN(Statement * languages,
                         db_.Prepare("SELECT tag FROM listing_languages WHERE listing_id = ?1 ORDER BY position"));
  languages->BindBlob(1, row.listing_id.span());
  for (;;) {
    TRYGG_ASSIGN_OR_RETURN(bool more, languages->Step());
    if (!more) break;
    row.languages.push_back(languages->ColumnText(0));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<domain::ListingRow>> SqliteDirectoryTables::GetListing(const Id128& listing_id) {
  TRYGG_ASSIGN_OR_RETURN(
      Statement * stmt,
      db_.Prepare(absl::StrCat("SELECT ", kListingColumns, " FROM listings l WHERE l.listing_id = ?1")));
  stmt->BindBlob(1, listing_id.span());
  TRYGG_ASSIGN_OR_RETURN(std::vector<domain::ListingRow> rows, ReadRows(*stmt));
  if (rows.empty()) return std::nullopt;
  return std::move(rows.front());
}

absl::Status SqliteDirectoryTables::PutListing(const domain::ListingRow& row) {
  // A new revision replaces the listing and drops the previous revision's
  // capacity update, which was signed for that revision only.
  TRYGG_ASSIGN_OR_RETURN(
      Statement * stmt,
      db_.Prepare("INSERT INTO listings (listing_id, org_id, revision, category, response_time_hours, "
                  "capacity_free, capacity_at, target_groups, exploitation_forms, retired, bytes, signature, signer) "
                  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) "
                  "ON CONFLICT (listing_id) DO UPDATE SET revision = ?3, category = ?4, "
                  "response_time_hours = ?5, capacity_free = ?6, capacity_at = ?7, target_groups = ?8, "
                  "exploitation_forms = ?9, retired = ?10, bytes = ?11, signature = ?12, signer = ?13, "
                  "capacity_bytes = NULL, capacity_signature = NULL, capacity_signer = NULL, "
                  "retire_bytes = NULL, retire_signature = NULL, retire_signer = NULL "
                  "WHERE listings.org_id = excluded.org_id"));
  TRYGG_RETURN_IF_ERROR(stmt->BindBlob(1, row.listing_id.span())
                            .BindBlob(2, row.org_id.span())
                            .Bind(3, static_cast<int64_t>(row.revision))
                            .Bind(4, int64_t{row.category})
                            .Bind(5, int64_t{row.response_time_hours})
                            .Bind(6, int64_t{row.capacity_free})
                            .Bind(7, row.capacity_at_ms)
                            .Bind(8, int64_t{row.target_groups})
                            .Bind(9, int64_t{row.exploitation_forms})
                            .Bind(10, int64_t{row.retired ? 1 : 0})
                            .BindBlob(11, row.listing.object.bytes)
                            .BindBlob(12, row.listing.object.signature.span())
                            .BindBlob(13, row.listing.signer_device.span())
                            .RunChangingOne());
  TRYGG_ASSIGN_OR_RETURN(Statement * del_regions, db_.Prepare("DELETE FROM listing_regions WHERE listing_id = ?1"));
  TRYGG_RETURN_IF_ERROR(del_regions->BindBlob(1, row.listing_id.span()).Run());
  TRYGG_ASSIGN_OR_RETURN(Statement * del_languages,
                         db_.Prepare("DELETE FROM listing_languages WHERE listing_id = ?1"));
  TRYGG_RETURN_IF_ERROR(del_languages->BindBlob(1, row.listing_id.span()).Run());
  TRYGG_ASSIGN_OR_RETURN(
      Statement * add_region,
      db_.Prepare("INSERT INTO listing_regions (listing_id, position, region) VALUES (?1, ?2, ?3)"));
  for (size_t i = 0; i < row.regions.size(); ++i) {
    TRYGG_RETURN_IF_ERROR(
        add_region->BindBlob(1, row.listing_id.span()).Bind(2, static_cast<int64_t>(i)).Bind(3, row.regions[i]).Run());
    add_region->Reset();
  }
  TRYGG_ASSIGN_OR_RETURN(Statement * add_language,
                         db_.Prepare("INSERT INTO listing_languages (listing_id, position, tag, primary_language) "
                                     "VALUES (?1, ?2, ?3, ?4)"));
  for (size_t i = 0; i < row.languages.size(); ++i) {
    TRYGG_RETURN_IF_ERROR(add_language->BindBlob(1, row.listing_id.span())
                              .Bind(2, static_cast<int64_t>(i))
                              .Bind(3, row.languages[i])
                              .Bind(4, std::string(PrimaryLanguage(row.languages[i])))
                              .Run());
    add_language->Reset();
  }
  return absl::OkStatus();
}

absl::Status SqliteDirectoryTables::PutCapacity(const Id128& listing_id, const Id128& org_id, int32_t capacity_free,
                                                int64_t capacity_at_ms, const domain::SignedBy& update) {
  TRYGG_ASSIGN_OR_RETURN(Statement * stmt,
                         db_.Prepare("UPDATE listings SET capacity_free = ?2, capacity_at = ?3, capacity_bytes = ?4, "
                                     "capacity_signature = ?5, capacity_signer = ?6 "
                                     "WHERE listing_id = ?1 AND org_id = ?7"));
  return stmt->BindBlob(1, listing_id.span())
      .BindBlob(7, org_id.span())
      .Bind(2, int64_t{capacity_free})
      .Bind(3, capacity_at_ms)
      .BindBlob(4, update.object.bytes)
      .BindBlob(5, update.object.signature.span())
      .BindBlob(6, update.signer_device.span())
      .RunChangingOne();
}

absl::Status SqliteDirectoryTables::PutRetirement(const Id128& listing_id, const Id128& org_id,
                                                  const domain::SignedBy& retirement) {
  TRYGG_ASSIGN_OR_RETURN(Statement * stmt,
                         db_.Prepare("UPDATE listings SET retired = 1, retire_bytes = ?2, retire_signature = ?3, "
                                     "retire_signer = ?4 WHERE listing_id = ?1 AND org_id = ?5"));
  return stmt->BindBlob(1, listing_id.span())
      .BindBlob(5, org_id.span())
      .BindBlob(2, retirement.object.bytes)
      .BindBlob(3, retirement.object.signature.span())
      .BindBlob(4, retirement.signer_device.span())
      .RunChangingOne();
}

absl::StatusOr<std::vector<domain::ListingRow>> SqliteDirectoryTables::Search(
    const domain::ListingFilter& filter, const std::optional<domain::ListingCursor>& after, int limit) {
  // One statement for every combination of filters (an unset filter's test is
  // constant-true), so the connection caches a single plan.
  TRYGG_ASSIGN_OR_RETURN(
      Statement * stmt,
      db_.Prepare(absl::StrCat(
          "SELECT ", kListingColumns,
          " FROM listings l WHERE l.retired = 0"
          " AND (?1 = 0 OR l.category = ?1)"
          " AND (?2 = '' OR EXISTS (SELECT 1 FROM listing_regions r"
          "      WHERE r.listing_id = l.listing_id AND r.region = ?2))"
          " AND (?3 = '' OR EXISTS (SELECT 1 FROM listing_languages g"
          "      WHERE g.listing_id = l.listing_id AND g.primary_language = ?3))"
          " AND (?4 = 0 OR (l.target_groups & ?4) != 0)"
          " AND (?5 = 0 OR (l.exploitation_forms & ?5) != 0)"
          " AND (?6 = 0 OR l.capacity_free > 0)"
          " AND (?7 = 0 OR (l.capacity_free > 0, l.capacity_at, l.listing_id) < (?8, ?9, ?10))"
          " ORDER BY l.capacity_free > 0 DESC, l.capacity_at DESC, l.listing_id DESC LIMIT ?11")));
  const domain::ListingCursor cursor = after.value_or(domain::ListingCursor{});
  stmt->Bind(1, int64_t{filter.category})
      .Bind(2, filter.region)
      .Bind(3, filter.primary_language)
      .Bind(4, int64_t{filter.target_groups})
      .Bind(5, int64_t{filter.exploitation_forms})
      .Bind(6, int64_t{filter.open_capacity_only ? 1 : 0})
      .Bind(7, int64_t{after.has_value() ? 1 : 0})
      .Bind(8, int64_t{cursor.open ? 1 : 0})
      .Bind(9, cursor.capacity_at_ms)
      .BindBlob(10, cursor.listing_id.span())
      .Bind(11, int64_t{limit});
  return ReadRows(*stmt);
}

absl::StatusOr<std::vector<domain::ListingRow>> SqliteDirectoryTables::AllActive() {
  TRYGG_ASSIGN_OR_RETURN(Statement * stmt,
                         db_.Prepare(absl::StrCat("SELECT ", kListingColumns,
                                                  " FROM listings l WHERE l.retired = 0 ORDER BY l.listing_id")));
  return ReadRows(*stmt);
}

}  // namespace trygg::store::sqlite
