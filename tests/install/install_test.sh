#!/usr/bin/env bash
# The SDK as a partner gets it (ctest -L install): installs the sdk component
# into a fresh temporary prefix, checks what is there (and that nothing
# internal is), builds tests/install/consumer against that prefix with
# find_package(Trygg 0.1 CONFIG REQUIRED) linking Trygg::trygg and
# Trygg::trygg_static, compiles and links a file with
# `pkg-config --cflags --libs trygg`, and runs the consumers, the shared one
# against a throw-away tryggd on 127.0.0.1.
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
         include/trygg/v1/common.pb.h; do
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
