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
# The installed conformance suite runs from the installed binary alone.
(cd "$T" && "$T/prefix/bin/cardvm" conform --junit "$T/conform.xml" >/dev/null) || { echo "FAIL: installed conform"; exit 1; }
grep -q 'failures="0"' "$T/conform.xml" || { echo "FAIL: conform report"; exit 1; }
# Man pages: cardvm(1) and one per command the installed CLI lists, made
# from its help texts; each carries its command's usage line.
MAN="$T/prefix/share/man/man1"
commands=$("$T/prefix/bin/cardvm" --help | awk '/^Commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { on = 0 }')
[ -n "$commands" ] || { echo "FAIL: no commands in cardvm --help"; exit 1; }
grep -q '^\.TH CARDVM ' "$MAN/cardvm.1" || { echo "FAIL: man page cardvm.1"; exit 1; }
for c in $commands; do
  page="$MAN/cardvm-$c.1"
  grep -q "^\.TH CARDVM-$(echo "$c" | tr a-z A-Z) " "$page" || { echo "FAIL: man page $page"; exit 1; }
  grep -q "cardvm $c" "$page" || { echo "FAIL: $page lacks the usage of cardvm $c"; exit 1; }
done
n_pages=$(ls "$MAN" | wc -l)
# Bash completion: commands, campaign roles and options from the help texts.
COMP="$T/prefix/share/bash-completion/completions/cardvm"
test -f "$COMP" || { echo "FAIL: bash completion not installed"; exit 1; }
complete_words() {
  bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _cardvm; printf "%s\n" "${COMPREPLY[@]}"' _ "$COMP" "$@"
}
[ "$(complete_words "$T/prefix/bin/cardvm" se | sort | tr '\n' ' ')" = "seal send " ] || { echo "FAIL: completing 'se'"; exit 1; }
complete_words "$T/prefix/bin/cardvm" campaign d | grep -qx design || { echo "FAIL: completing a campaign role"; exit 1; }
complete_words "$T/prefix/bin/cardvm" campaign status --j | grep -qx -- --json || { echo "FAIL: completing status --json"; exit 1; }
complete_words "$T/prefix/bin/cardvm" --trace send --ex | grep -qx -- --expect || { echo "FAIL: completing send --expect"; exit 1; }
echo "install: ok ($out; installed conformance suite passed; $n_pages man pages; bash completion)"
