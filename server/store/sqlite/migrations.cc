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
};

}  // namespace

std::span<const Migration> Migrations() { return kMigrations; }

int LatestSchemaVersion() { return std::size(kMigrations); }

}  // namespace trygg::store::sqlite
