#include "server/store/sqlite/migrations.h"

#include <iterator>

namespace trygg::store::sqlite {
namespace {

// Tables are STRICT so a value of the wrong type is an error, not a silent
// conversion; ids are 16-byte BLOBs and times are Unix milliseconds.
constexpr Migration kMigrations[] = {
    {1, "server metadata",
     R"sql(
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value ANY NOT NULL
) STRICT;
)sql"},
    {2, "audit log: entries, Merkle tree nodes, signed tree heads",
     R"sql(
CREATE TABLE audit_entries (
  idx   INTEGER PRIMARY KEY CHECK (idx >= 0),
  entry BLOB NOT NULL
) STRICT;
CREATE TABLE audit_nodes (
  level INTEGER NOT NULL CHECK (level BETWEEN 0 AND 63),
  idx   INTEGER NOT NULL CHECK (idx >= 0),
  hash  BLOB NOT NULL CHECK (length(hash) = 32),
  PRIMARY KEY (level, idx)
) STRICT, WITHOUT ROWID;
CREATE TABLE audit_tree_heads (
  seq          INTEGER PRIMARY KEY,
  tree_size    INTEGER NOT NULL CHECK (tree_size >= 0),
  timestamp_ms INTEGER NOT NULL,
  root_hash    BLOB NOT NULL CHECK (length(root_hash) = 32),
  signature    BLOB NOT NULL CHECK (length(signature) = 64)
) STRICT;
)sql"},
};

}  // namespace

std::span<const Migration> Migrations() { return kMigrations; }

int LatestSchemaVersion() { return std::size(kMigrations); }

}  // namespace trygg::store::sqlite
