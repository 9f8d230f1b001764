// SPDX-License-Identifier: Apache-2.0

// The numbered schema migrations of the SQLite store. A migration is applied
// once, in its own transaction, and the database's `PRAGMA user_version`
// records the highest applied. Never edit a released migration: add one.
#ifndef TRYGG_SERVER_STORE_SQLITE_MIGRATIONS_H_
#define TRYGG_SERVER_STORE_SQLITE_MIGRATIONS_H_

#include <span>

namespace trygg::store::sqlite {

struct Migration {
  int version;
  const char* description;
  const char* sql;
};

// All migrations in ascending version order, starting at 1 without gaps.
std::span<const Migration> Migrations();

// The schema version this binary creates and understands.
int LatestSchemaVersion();

// `PRAGMA application_id` of a Trygg database ("TRYG").
inline constexpr int kApplicationId = 0x54525947;

}  // namespace trygg::store::sqlite

#endif  // TRYGG_SERVER_STORE_SQLITE_MIGRATIONS_H_
