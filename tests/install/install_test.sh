#!/usr/bin/env bash
# The SDK as a partner gets it (ctest -L install): installs the sdk component
# into a fresh temporary prefix, checks what is there (and that nothing
# internal is), builds tests/install/consumer against that prefix with
# find_package(Trygg 0.1 CONFIG REQUIRED) linking Trygg::trygg and
# Trygg::trygg_static, compiles and links a file with
# `pkg-config --cflags --libs trygg` (C++ and C), builds examples/ against the
# prefix and runs them with the installed Python package on a throw-away
# platform (run_examples.py), and runs the consumers, the shared one against a
# throw-away tryggd on 127.0.0.1.
#
#   tests/install/install_test.sh <build dir>
set -euo pipefail
source_dir="$(cd "$(dirname "$0")/../.." && pwd)"
build="$(cd "${1:?usage: install_test.sh <build dir>}" && pwd)"
work="$(mktemp -d -t trygg-install.XXXXXX)"
server_pid=""
finish() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap finish EXIT
fail() { echo "install_test: $*" >&2; exit 1; }

prefix="$work/prefix"
echo "== cmake --install --component sdk --prefix <tmp>"
cmake --install "$build" --component sdk --prefix "$prefix" >/dev/null
# lib, or lib/<multiarch triplet> in a build configured for the prefix /usr.
libdir="$(dirname "$(find "$prefix" -name libtrygg.a | head -n 1)")"
[ -f "$libdir/libtrygg.a" ] || fail "libtrygg.a is not installed"
for f in include/trygg/client.h include/trygg/key_store.h include/trygg/v1/case_record.pb.h \
         include/trygg/v1/common.pb.h include/trygg/trygg.h include/trygg/device.h; do
  [ -f "$prefix/$f" ] || fail "$f is not installed"
done
for f in cmake/Trygg/TryggConfig.cmake cmake/Trygg/TryggConfigVersion.cmake pkgconfig/trygg.pc; do
  [ -f "$libdir/$f" ] || fail "${libdir#"$prefix"/}/$f is not installed"
done
[ ! -e "$prefix/include/trygg/internal" ] || fail "an internal header is installed"
[ -z "$(find "$prefix" -name '*.grpc.pb.h')" ] || fail "a gRPC stub header is installed"
# A shared library with a SONAME, its versioned file and the development link.
real="$(readlink -f "$libdir/libtrygg.so")"
soname="$(objdump -p "$real" | awk '$1 == "SONAME" { print $2 }')"
[ -n "$soname" ] || fail "libtrygg.so has no SONAME"
[ -e "$libdir/$soname" ] || fail "no $soname beside libtrygg.so"
echo "libtrygg: $(basename "$real"), SONAME $soname"
real_c="$(readlink -f "$libdir/libtrygg_c.so")"
soname_c="$(objdump -p "$real_c" | awk '$1 == "SONAME" { print $2 }')"
[ -n "$soname_c" ] && [ -e "$libdir/$soname_c" ] || fail "libtrygg_c.so has no SONAME beside it"
[ -f "$libdir/libtrygg_c.a" ] || fail "libtrygg_c.a is not installed"
# The C library exports its C interface and nothing else.
others="$(nm -D --defined-only "$real_c" | awk '$2 == "T" && $3 !~ /^trygg_/' | head -n 3)"
[ -z "$others" ] || fail "libtrygg_c.so exports more than trygg_*: $others"
echo "libtrygg_c: $(basename "$real_c"), SONAME $soname_c"

echo "== a separate CMake project: find_package(Trygg 0.1 CONFIG REQUIRED)"
cmake -S "$source_dir/tests/install/consumer" -B "$work/consumer" -G Ninja \
  -DCMAKE_PREFIX_PATH="$prefix" >"$work/consumer.log" 2>&1 || { cat "$work/consumer.log"; fail "configure failed"; }
cmake --build "$work/consumer" >>"$work/consumer.log" 2>&1 || { cat "$work/consumer.log"; fail "build failed"; }
# The shared consumer loads the installed library, not the build tree's.
loaded="$(ldd "$work/consumer/trygg_consumer" | awk '$1 ~ /^libtrygg\.so/ { print $3 }')"
case "$loaded" in "$prefix"/*) ;; *) fail "trygg_consumer loads libtrygg from '$loaded', not the prefix" ;; esac
"$work/consumer/trygg_consumer_static"

echo "== pkg-config --cflags --libs trygg"
cat >"$work/pc.cc" <<'CC'
#include "trygg/random.h"
#include "trygg/signing.h"
int main() {
  trygg::SystemRng rng;
  trygg::SigningKeyPair key = trygg::GenerateSigningKeyPair(rng);
  return key.public_key.ToHex().size() == 64 ? 0 : 1;
}
CC
# shellcheck disable=SC2046
c++ -std=c++20 -o "$work/pc" "$work/pc.cc" \
  $(PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --cflags --libs trygg) -Wl,-rpath,"$libdir"
"$work/pc" || fail "the pkg-config build does not run"
echo "pkg-config build: ok"

echo "== a C file: cc ... \$(pkg-config --cflags --libs trygg)"
cat >"$work/pc_c.c" <<'C'
#include <stdio.h>
#include <string.h>
#include "trygg/trygg.h"
int main(void) {
  trygg_session* session = NULL;
  trygg_code code;
  if (trygg_abi_version() != TRYGG_ABI_VERSION) return 1;
  code = trygg_session_open("/nonexistent/device.keystore", "pw", 2, "127.0.0.1:1",
                            "0000000000000000000000000000000000000000000000000000000000000000", NULL,
                            TRYGG_OPEN_LOGIN, &session);
  if (code != TRYGG_NOT_FOUND || session != NULL || strlen(trygg_last_error()) == 0) return 2;
  printf("libtrygg %s, C ABI %d: %s\n", trygg_version(), trygg_abi_version(), trygg_last_error());
  return 0;
}
C
# shellcheck disable=SC2046
cc -std=c99 -Wall -Werror -pedantic -o "$work/pc_c" "$work/pc_c.c" \
  $(PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --cflags --libs trygg) -Wl,-rpath,"$libdir"
"$work/pc_c" || fail "the C pkg-config build does not run"

echo "== examples/: each built against the prefix, then run on a throw-away platform"
for example in cpp:cpp-refer-and-watch c:c-inbox-and-accept; do
  cmake -S "$source_dir/examples/${example#*:}" -B "$work/examples/${example%%:*}" -G Ninja \
    -DCMAKE_PREFIX_PATH="$prefix" >"$work/example.log" 2>&1 &&
    cmake --build "$work/examples/${example%%:*}" >>"$work/example.log" 2>&1 ||
    { cat "$work/example.log"; fail "examples/${example#*:} does not build against the prefix"; }
done
python3 -c 'import ast, sys; ast.parse(open(sys.argv[1]).read())' "$source_dir/examples/python/partner_app.py"
mkdir "$work/run"
python3 "$source_dir/tests/install/run_examples.py" "$build" "$prefix" "$libdir" "$work/examples" "$work/run" ||
  fail "the examples did not run"

echo "== the shared consumer against a throw-away tryggd"
mkdir -m 700 "$work/data"
"$build/server/daemon/tryggd" --listen 127.0.0.1:0 --data-dir "$work/data" >"$work/tryggd.out" 2>"$work/tryggd.log" &
server_pid=$!
address=""
for _ in $(seq 1 300); do
  address=$(sed -n 's/^tryggd listening on \([^;]*\);.*/\1/p' "$work/tryggd.out")
  [ -n "$address" ] && break
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
[ -n "$address" ] || { cat "$work/tryggd.log"; fail "tryggd did not start"; }
"$work/consumer/trygg_consumer" "$address"
echo "install_test: passed"
