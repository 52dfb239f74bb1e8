#!/bin/sh
# test_scripts.sh CARDVM EXAMPLES_DIR TESTS_DIR CAP_DIR — every example script
# on a fresh card (their applets: the example CAPs the build assembled into
# CAP_DIR), and the script runner's failure reports.
set -u
cardvm=$1; examples=$2; here=$3; caps=$4
tmp=$(mktemp -d /tmp/cardvm-test-isd-scripts-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
"$cardvm" create "$tmp/card.img" --quiet || fail "cardvm create"
for s in "$examples"/*.script; do
  "$cardvm" script "$s" "$tmp/card.img" -I "$caps" > "$tmp/out" 2>&1 || { cat "$tmp/out"; fail "$(basename "$s")"; }
  echo "ok $(basename "$s")"
done
# all of them again on one card, one after the other at once
cat "$examples"/*.script > "$tmp/all.script"
"$cardvm" script "$tmp/all.script" "$tmp/card.img" -I "$caps" > "$tmp/out" 2>&1 || { cat "$tmp/out"; fail "all scripts in one"; }
# an unmet expectation: file:line, got and expected, exit status 1
printf 'echo start\nopen 30 404142434445464748494A4B4C4D4E4F 03\nsend 80CA00CF00 -> CF0A??*9001\necho not reached\n' > "$tmp/bad.script"
"$cardvm" script "$tmp/bad.script" "$tmp/card.img" > "$tmp/out" 2> "$tmp/err"; rc=$?
[ $rc -eq 1 ] || fail "unmet expectation: exit $rc"
grep -q "bad.script:3: send 80CA00CF00" "$tmp/err" || { cat "$tmp/err"; fail "no file:line"; }
grep -q "got      CF0A000000000000000000009000" "$tmp/err" || { cat "$tmp/err"; fail "no got line"; }
grep -q "not reached" "$tmp/out" && fail "the script went on"
# wrong keys: refused, and '-> fail' expects that
printf 'open 30 00112233445566778899AABBCCDDEEFF 03 -> fail\nopen 30 00112233445566778899AABBCCDDEEFF 03\n' > "$tmp/keys.script"
"$cardvm" script "$tmp/keys.script" "$tmp/card.img" 2> "$tmp/err"; rc=$?
[ $rc -eq 1 ] && grep -q "keys.script:2: open: card cryptogram mismatch" "$tmp/err" || { cat "$tmp/err"; fail "wrong keys"; }
# commands that need a session, unknown commands
printf 'load x.cap\n' > "$tmp/nos.script"
"$cardvm" script "$tmp/nos.script" "$tmp/card.img" 2> "$tmp/err" && fail "load without a session"
grep -q "nos.script:1: load needs a secure channel" "$tmp/err" || { cat "$tmp/err"; fail "no session message"; }
# cardvm gp on the same card: list, load, install, delete, put-key
"$cardvm" gp "$tmp/card.img" --list > "$tmp/out" || fail "gp --list"
grep -q "^ISD: A000000151000000 (SECURED)" "$tmp/out" || { cat "$tmp/out"; fail "gp --list ISD"; }
"$cardvm" asm -o "$tmp/hello.cap" "$examples/../applets/hello/hello.jca" >/dev/null 2>&1 || fail "asm hello"
"$cardvm" gp "$tmp/card.img" --sl 33 --load "$tmp/hello.cap" --install --create F063617264766D10AA -l > "$tmp/out" || fail "gp --load --install"
grep -q "^APP: F063617264766D10AA (SELECTABLE)" "$tmp/out" || { cat "$tmp/out"; fail "gp installed app not listed"; }
[ "$("$cardvm" send "$tmp/card.img" 00A4040009F063617264766D10AA 0010000000 | tail -1)" = 48656C6C6F2C2063617264219000 ] || fail "installed hello does not answer"
"$cardvm" gp "$tmp/card.img" --sl 01 --delete F063617264766D10 --force -l > "$tmp/out" || fail "gp --delete"
grep -q F063617264766D10 "$tmp/out" && fail "gp --delete left the package"
"$cardvm" gp "$tmp/card.img" --put-key 31 --new-key 000102030405060708090A0B0C0D0E0F > "$tmp/out" || fail "gp --put-key"
grep -q "PUT KEY: KVN 31" "$tmp/out" || fail "gp --put-key output"
"$cardvm" gp "$tmp/card.img" --kvn 31 --key 000102030405060708090A0B0C0D0E0F --sl 33 -l >/dev/null || fail "gp with the new key set"
"$cardvm" gp "$tmp/card.img" --kvn 31 --key 00000000000000000000000000000000 -l 2> "$tmp/err" && fail "gp with wrong keys"
echo "all script checks passed"
