#!/usr/bin/env bash
# scripts/check-includes fails on a planted violation of each kind of boundary
# and passes on the same tree without it: the CI check is not vacuous.
set -euo pipefail
script=${1:?path to scripts/check-includes}
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
mkdir -p "$tree"/{client-lib/include/trygg,client-lib/src,server/{audit,domain,directory,store/sqlite,api,daemon,metrics,net},tools/trygg}
echo '#include "trygg/bytes.h"' >"$tree/client-lib/src/ok.cc"
"$script" "$tree" >/dev/null

expect_refused() {  # FILE LINE
  local file=$1 line=$2
  echo "$line" >"$tree/$file"
  if out=$("$script" "$tree" 2>&1); then
    echo "check-includes accepted $file: $line" >&2
    exit 1
  fi
  grep -q "$file" <<<"$out" || { echo "check-includes did not name $file: $out" >&2; exit 1; }
  rm "$tree/$file"
}
expect_refused client-lib/src/bad.cc '#include "server/audit/merkle_tree.h"'
expect_refused client-lib/include/trygg/bad.h '#include "internal/wire.h"'
expect_refused server/api/bad.cc '#include "server/store/sqlite/connection.h"'
expect_refused server/api/bad2.cc '#include <sodium.h>'
expect_refused server/domain/bad.cc '#include <grpcpp/grpcpp.h>'
expect_refused server/domain/bad2.cc '  #  include "server/api/status.h"'
expect_refused server/audit/bad.cc '#include "server/domain/store.h"'
expect_refused server/store/sqlite/bad.cc '#include "server/api/unary.h"'
expect_refused server/daemon/bad.cc '#include "internal/sodium.h"'
expect_refused server/metrics/bad.cc '#include "server/store/sqlite/sqlite_store.h"'
expect_refused server/metrics/bad2.cc '#include <grpcpp/grpcpp.h>'
expect_refused server/net/bad.cc '#include "server/daemon/config.h"'
expect_refused server/domain/bad3.cc '#include <prometheus/counter.h>'
expect_refused server/store/sqlite/bad2.cc '#include "server/metrics/server_metrics.h"'
expect_refused tools/trygg/bad.cc '#include "server/domain/caller.h"'
expect_refused tools/trygg/bad2.cc '#include "server/store/sqlite/connection.h"'
echo '#include "server/store/sqlite/audit_reader.h"' >"$tree/tools/trygg/ok.cc"
"$script" "$tree" >/dev/null
echo "check-includes refuses every planted crossing"
