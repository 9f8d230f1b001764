#!/usr/bin/env bash
# The docs test (ctest -L docs): runs the shell blocks of README.md's "A first
# platform, by hand", then the runnable examples of docs/cli.md and
# docs/operator-guide.md, in order and as written, against a throw-away tryggd
# on a free port of 127.0.0.1, and fails when any command fails.
#
# Each block follows a marker that names who runs it:
#   <!-- as: PERSON -->   the block runs with HOME=<work>/home/PERSON (one HOME
#                         per person: root holder, operator, each admin,
#                         caseworker and coordinator); every block runs in
#                         one shared directory, which stands for the files
#                         people hand to each other, and in one shell, whose
#                         variables stand for the values they read out to
#                         each other.
#   <!-- as: server -->   `scripts/run ARGS` starts tryggd with ARGS, here on
#                         127.0.0.1:0 with a fresh data directory.
# Then the blocks of docs/cli.md and docs/operator-guide.md marked
# <!-- runnable as: PERSON --> run in the same way, in the same shell, going
# on from where README.md left off. A block marked
# <!-- runnable as: PERSON, with tryggd stopped --> runs after tryggd has been
# stopped with SIGTERM, as an operator stops it before a restore; `tryggd
# ARGS` in a block starts it again (`tryggd backup` and `tryggd restore` just
# run). In the operator guide's blocks, /var/lib/trygg stands for the
# server's data directory, /backup/ for a directory of the test's,
# /etc/trygg/tryggd.toml for a config file with the settings README.md
# started the server with (on 127.0.0.1:0), and /etc/trygg/backup-passphrase
# for a passphrase file the test writes.
# A command line `trygg... ...` (a command prefix, then "...") stands for the
# line a tool printed: the test runs the last printed line that begins with
# that prefix exactly as printed. The only other differences from a person at
# a terminal: `trygg` is given the server's address (--server), the
# passphrase comes from TRYGG_PASSPHRASE, and key stores use the tests-only
# fast KDF (TRYGG_INSECURE_FAST_KDF=1).
#
#   TRYGG_BUILD_DIR=build tests/e2e/docs_test.sh
set -eEuo pipefail
source_dir="$(cd "$(dirname "$0")/../.." && pwd)"
build="$(cd "${TRYGG_BUILD_DIR:?set TRYGG_BUILD_DIR to the build directory}" && pwd)"
TRYGGD_BIN="$build/server/daemon/tryggd"
TRYGG_BIN="$build/tools/trygg/trygg"
ADMIN_BIN="$build/tools/trygg-admin/trygg-admin"
for tool in "$TRYGGD_BIN" "$TRYGG_BIN" "$ADMIN_BIN"; do
  [ -x "$tool" ] || { echo "docs_test: $tool is missing; build it first" >&2; exit 1; }
done
command -v jq >/dev/null || { echo "docs_test: jq is missing; run scripts/setup" >&2; exit 1; }

work="$(mktemp -d -t trygg-docs.XXXXXX)"
server_pid=""
server_address=""
finish() {
  local status=$?
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [ "$status" -ne 0 ] && [ -f "$work/tryggd.log" ]; then
    echo "--- tryggd's log:" >&2
    tail -n 20 "$work/tryggd.log" >&2
  fi
  rm -rf "$work"
}
trap finish EXIT
doc=""
block=0
person=""
failed=""
trap '[ -n "$failed" ] || { failed=1; echo "docs_test: FAILED in $doc block $block (as $person): $BASH_COMMAND" >&2; }' ERR

export TRYGG_INSECURE_FAST_KDF=1
export TRYGG_PASSPHRASE="docs test passphrase"
unset XDG_CONFIG_HOME
mkdir -p "$work/shared" "$work/home"
touch "$work/printed"

# The tools, as the blocks call them. What they print is also kept in
# $work/printed, where `...` lines are looked up.
# run_tool NAME BINARY ARGS...: runs one tool, prints and keeps its output,
# and names the command when it fails.
run_tool() {
  local name=$1 binary=$2 out status=0
  shift 2
  out="$("$binary" "$@")" || status=$?
  printf '%s\n' "$out" >>"$work/printed"
  [ -z "$out" ] || printf '%s\n' "$out"
  if [ "$status" -ne 0 ]; then
    failed=1
    echo "docs_test: FAILED in $doc block $block (as $person), exit $status: $name $*" >&2
  fi
  return "$status"
}
trygg() { run_tool trygg "$TRYGG_BIN" --server "$server_address" "$@"; }
trygg-admin() { run_tool trygg-admin "$ADMIN_BIN" "$@"; }

# run_printed PREFIX: runs the last printed line that begins with PREFIX.
run_printed() {
  local prefix="$1" line
  line="$(grep -F -- "$prefix " "$work/printed" | tail -n 1)"
  [ -n "$line" ] || { echo "docs_test: no tool printed a line beginning with: $prefix" >&2; return 1; }
  line="$prefix ${line#*"$prefix "}"
  echo "+ $line"
  eval "$line"
}

# launch ARGS: starts tryggd with ARGS in the background and waits for its
# "listening on" line (no sleeping), then keeps reading its stdout.
launch() {
  [ -z "$server_pid" ] || { echo "docs_test: tryggd is already running" >&2; return 1; }
  rm -f "$work/tryggd.out"
  mkfifo "$work/tryggd.out"
  "$TRYGGD_BIN" "$@" >"$work/tryggd.out" 2>>"$work/tryggd.log" &
  server_pid=$!
  local line
  exec 3<"$work/tryggd.out"
  while [ -z "$server_address" ] && read -r line <&3; do
    server_address="$(sed -n 's/^tryggd listening on \([^;]*\);.*/\1/p' <<<"$line")"
  done
  [ -n "$server_address" ] || { echo "docs_test: tryggd did not start" >&2; return 1; }
  cat <&3 >/dev/null &
  exec 3<&-
  echo "tryggd listening on $server_address"
}

# start_server ARGS: `scripts/run ARGS`, on a free loopback port with a fresh
# data directory.
start_server() {
  mkdir -m 700 "$work/data"
  launch --listen 127.0.0.1:0 --data-dir "$work/data" "$@"
}

# stop_server: what the operator does before a restore (Ctrl-C, or
# `systemctl stop tryggd`): SIGTERM, and wait until tryggd has exited.
stop_server() {
  [ -n "$server_pid" ] || { echo "docs_test: tryggd is not running" >&2; return 1; }
  kill -TERM "$server_pid"
  local status=0
  wait "$server_pid" || status=$?
  server_pid=""
  server_address=""
  [ "$status" -eq 0 ] || { echo "docs_test: tryggd exited $status on SIGTERM" >&2; return 1; }
  echo "tryggd stopped"
}

# tryggd ARGS: the operator guide's `tryggd --config /etc/trygg/tryggd.toml`,
# with the guide's paths mapped to this test's directories (below), starts the
# server; `tryggd backup ...` and `tryggd restore ...` run to completion, as
# the tools do.
tryggd() {
  case "${1:-}" in
    backup | restore) run_tool tryggd "$TRYGGD_BIN" "$@" ;;
    *) launch "$@" ;;
  esac
}

# The operator guide's paths, for its runnable blocks: /var/lib/trygg is the
# data directory README.md's server uses, /backup/ is $work/backup/,
# /etc/trygg/tryggd.toml is written before those blocks run, with the same
# settings as README.md's `scripts/run`, and /etc/trygg/backup-passphrase is
# $work/backup-passphrase, which seals the server key in backups.
mkdir -m 700 "$work/backup"
write_operator_config() {
  cat >"$work/tryggd.toml" <<TOML
listen = "127.0.0.1:0"
data_dir = "$work/data"
platform_root_public_key = "$ROOT_KEY"
TOML
  (umask 077 && echo "docs test backup passphrase" >"$work/backup-passphrase")
}

# The blocks to run, as shell text: README.md's section (mode "section"),
# then the blocks of docs/cli.md marked <!-- runnable as: PERSON --> (mode
# "runnable"), which go on from where README.md left off.
extract() {
  local doc="$1" mode="$2"
  awk -v doc="$doc" -v mode="$mode" -v work="$work" '
    function fail(why) { print "docs_test: " doc ":" NR ": " why > "/dev/stderr"; failed = 1; exit 1 }
    mode == "section" && /^## A first platform, by hand/ { in_section = 1; next }
    mode == "section" && in_section && /^## / { exit }
    mode == "section" && !in_section { next }
    mode == "section" && /^<!-- as: [a-z0-9-]+ -->$/ { person = $3; next }
    mode == "runnable" && /^ *<!-- runnable as: [a-z0-9-]+(, with tryggd stopped)? -->$/ {
      line = $0; sub(/^ *<!-- runnable as: /, "", line); sub(/ -->$/, "", line)
      stopped = (line ~ /, with tryggd stopped$/); sub(/,.*$/, "", line); person = line; next
    }
    /^ *```sh$/ {
      if (person == "" && mode == "runnable") next
      if (person == "") fail("a shell block without <!-- as: PERSON -->")
      indent = $0; sub(/```sh$/, "", indent)
      n++; printf "begin_block %s %d %s\n", doc, n, person; in_block = 1
      if (stopped) print "stop_server"
      stopped = 0; next
    }
    !in_block { if ($0 != "") { person = ""; stopped = 0 }; next }
    $0 == indent "```" { in_block = 0; person = ""; next }
    { if (substr($0, 1, length(indent)) != indent) fail("a line outside its block'"'"'s indentation")
      $0 = substr($0, length(indent) + 1) }
    person == "server" {
      if ($0 !~ /^scripts\/run /) fail("a server block runs scripts/run only")
      sub(/^scripts\/run /, "start_server "); print; next
    }
    /^trygg(-admin)?( [a-z][a-z-]*)+ \.\.\.( +#.*)?$/ {
      line = $0; sub(/ \.\.\..*$/, "", line); printf "run_printed \"%s\"\n", line; next
    }
    doc == "docs/operator-guide.md" {
      gsub(/\/var\/lib\/trygg/, work "/data"); gsub(/\/backup\//, work "/backup/")
      gsub(/\/etc\/trygg\/tryggd\.toml/, work "/tryggd.toml")
      gsub(/\/etc\/trygg\/backup-passphrase/, work "/backup-passphrase")
    }
    { print }
    END { if (!failed && mode == "section" && n == 0) fail("no shell blocks in the section") }
  ' "$source_dir/$doc"
}
blocks="$work/blocks.sh"
{
  extract README.md section
  extract docs/cli.md runnable
  echo write_operator_config
  extract docs/operator-guide.md runnable
} >"$blocks"

begin_block() {
  doc="$1"
  block="$2"
  person="$3"
  echo "== $doc block $block, as $person"
  if [ "$person" != server ]; then
    export HOME="$work/home/$person"
    mkdir -p "$HOME"
  fi
  cd "$work/shared"
}

# The blocks run in this shell, so their variables carry from one to the next.
# shellcheck source=/dev/null
source "$blocks"
echo "docs_test: every block of README.md's first platform by hand and the runnable examples of docs/cli.md and docs/operator-guide.md ran"
