#!/usr/bin/env bash
# `cmake --install` gives a usable SDK: the CLI, the headers, the libraries
# and cardvm.pc. A program built only from the installed files (pkg-config)
# opens a card image made by the installed CLI and talks to it.
set -eu
BUILD="$1"; SRC="$2"
T=$(mktemp -d /tmp/cardvm-install-XXXXXX)
trap 'rm -rf "$T"' EXIT
cmake --install "$BUILD" --prefix "$T/prefix" >/dev/null
export PKG_CONFIG_PATH="$T/prefix/lib/pkgconfig"
cc -std=c11 -Wall -Werror "$SRC/consumer.c" -o "$T/consumer" $(pkg-config --cflags --libs cardvm)
"$T/prefix/bin/cardvm" create --quiet "$T/card.img"
out=$("$T/consumer" "$T/card.img")
[ "$out" = "ATR 15 bytes, SELECT -> 9000" ] || { echo "FAIL: $out"; exit 1; }
test -f "$T/prefix/lib/cardvm/libifd-cardvm.so" || { echo "FAIL: driver not installed"; exit 1; }
# The API stubs jar applets compile against (built when a JDK is there).
if command -v javac >/dev/null; then
  test -f "$T/prefix/share/cardvm/cardvm-api.jar" || { echo "FAIL: cardvm-api.jar not installed"; exit 1; }
fi
# The installed conformance suite runs from the installed binary alone.
(cd "$T" && "$T/prefix/bin/cardvm" conform --junit "$T/conform.xml" >/dev/null) || { echo "FAIL: installed conform"; exit 1; }
grep -q 'failures="0"' "$T/conform.xml" || { echo "FAIL: conform report"; exit 1; }
echo "install: ok ($out; installed conformance suite passed)"
