#!/usr/bin/env bash
# Issue 16, item 4: `cardvm campaign enroll` never silently replaces cards
# (registry row or image file): it refuses, changes nothing and says how to
# go on; --force replaces; `campaign status` shows the enrolled count; a
# --registry that names a missing file is an error for every role that reads
# it, and no empty database appears in its place.
#
#   test_campaign_enroll.sh CARDVM
set -u
CARDVM="$1"
T=$(mktemp -d /tmp/cardvm-enroll-XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
KEYS="--master 4D4153544552204B4559203030303031 --kos 4B4F5320434F4D4D4F4E204B45593031 --kmac 4B2D4D414320434F4D4D4F4E204B3031"
enroll() { "$CARDVM" campaign enroll --registry "$T/r.db" --dir "$T/cards" $KEYS --fast --quiet "$@"; }

enroll --count 3 > "$T/out" 2>&1 || { cat "$T/out"; fail "first enrolment"; }
"$CARDVM" campaign status --registry "$T/r.db" | grep -qx "enrolled: 3 cards" || fail "status after 3"
ls "$T"/cards/card-*.img | wc -l | grep -qx 3 || fail "3 images"

# Enrolling the same serials again: refused, not one byte changed.
c1=$(ls "$T"/cards/card-*0001.img)
before=$(sha256sum "$T"/cards/*.img "$T/r.db")
enroll --count 2 > "$T/out" 2>&1; rc=$?
[ $rc -eq 1 ] || fail "enroll over existing cards: exit $rc"
grep -q "2 of the 2 cards (first: 4356000000000001) are already enrolled" "$T/out" || { cat "$T/out"; fail "message"; }
grep -q -- "--force" "$T/out" || fail "the message names --force"
[ "$(sha256sum "$T"/cards/*.img "$T/r.db")" = "$before" ] || fail "refused enrolment changed cards or registry"

# An image on disk without a registry row counts too.
cp "$c1" "$T/cards/card-4356000000000004.img"
enroll --count 1 --first 4 > "$T/out" 2>&1 && fail "enroll over an image on disk"
rm "$T/cards/card-4356000000000004.img"

enroll --count 2 --first 4 > "$T/out" 2>&1 || { cat "$T/out"; fail "enrol further cards"; }
"$CARDVM" campaign status --registry "$T/r.db" | grep -qx "enrolled: 5 cards" || fail "status after 5"
enroll --count 2 --force > "$T/out" 2>&1 || { cat "$T/out"; fail "--force"; }
grep -q "2 of them replaced (--force)" "$T/out" || { cat "$T/out"; fail "--force says it replaced"; }
"$CARDVM" campaign status --registry "$T/r.db" | grep -qx "enrolled: 5 cards" || fail "status after --force"

# A missing registry: an error, and no file appears.
"$CARDVM" campaign status --registry "$T/nope.db" > "$T/out" 2>&1 && fail "status on a missing registry"
grep -q "cannot open registry" "$T/out" || fail "status: message"
"$CARDVM" campaign server --registry "$T/nope.db" --campaign "$T/none.cvc" $KEYS > /dev/null 2>&1 && fail "server"
"$CARDVM" campaign terminal --registry "$T/nope.db" --pse "$T/none.pse" --serial 4356000000000001 >/dev/null 2>&1 &&
  fail "terminal"
[ ! -e "$T/nope.db" ] || fail "a missing registry was created"
echo "ok: enrolment refuses to replace cards, --force replaces, status counts, missing registry is an error"
