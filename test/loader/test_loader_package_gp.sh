#!/usr/bin/env bash
# cardvm.loader is invisible outside the customization software's context:
# a CAP importing it (here the customization software itself, which only
# UNLOCK may load) sent to a USER card over GP LOAD is refused like a CAP
# whose import the card lacks (6985, GPCS 2.3.1 11.6.3.2 and
# docs/loader.md), and nothing of it stays on the card.
#
#   test_loader_package_gp.sh CARDVM SOURCE_DIR
set -u
CARDVM="$1"
SRC="$2"
T=$(mktemp -d /tmp/cardvm-ldrpkg-XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$CARDVM" asm "$SRC/examples/customization/custom.jca" -o "$T/custom.cap" >/dev/null || fail "asm custom.jca"
"$CARDVM" create "$T/card.img" >/dev/null || fail "create"
before=$("$CARDVM" gp "$T/card.img" --sl 33 --list) || fail "list"
err=$("$CARDVM" gp "$T/card.img" --sl 33 --load "$T/custom.cap" 2>&1 >/dev/null) && fail "LOAD accepted"
echo "$err" | grep -q "6985" || fail "LOAD of a CAP importing cardvm.loader: expected 6985, got: $err"
after=$("$CARDVM" gp "$T/card.img" --sl 33 --list) || fail "list after"
[ "$before" = "$after" ] || fail "the card changed: $before / $after"
echo "$after" | grep -qi "A0000006990200" && fail "the package is listed"
# the host verifier refuses it too, and names why
"$CARDVM" verify "$T/custom.cap" 2>&1 | grep -q "only the customization software may import it" ||
  fail "cardvm verify does not say why"
"$CARDVM" verify --customization "$T/custom.cap" | grep -q ": OK" || fail "verify --customization"
echo "ok"
