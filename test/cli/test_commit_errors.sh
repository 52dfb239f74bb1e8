#!/bin/sh
# A commit the card cannot write (here: the file size limit, `ulimit -f`,
# stops every write at the image's log, which starts 128 KiB before the end
# of a new image) is answered 6581 and rolled back; every command that writes
# through a card (gp, script, campaign run and terminal, like send) then
# names the image and the system error and exits 3 (docs/cli.md), and the
# image is as before: the same command without the limit succeeds.
#   test_commit_errors.sh CARDVM
CARDVM=$1
T=$(mktemp -d /tmp/cardvm-commit-errors-XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
# limited IMAGE CMD...: run CMD with writes past IMAGE's log start refused
limited() {
    size=$(stat -c %s "$1"); shift
    (trap '' XFSZ; ulimit -f $(( (size - 131072) / 1024 )); "$@")
}
expect_io() {   # expect_io WHAT RC ERRFILE IMAGE
    [ "$2" -eq 3 ] || fail "$1 exited $2 after a failed commit, not 3: $(cat "$3")"
    grep -q "$4: write: File too large" "$3" || fail "$1 did not name the image and the error: $(cat "$3")"
}

# gp: the secure channel's INITIALIZE UPDATE commits the sequence counter first.
"$CARDVM" create "$T/g.img" >/dev/null || fail "create"
limited "$T/g.img" "$CARDVM" gp "$T/g.img" --list >/dev/null 2>"$T/err"
expect_io gp $? "$T/err" "$T/g.img"
"$CARDVM" gp "$T/g.img" --list >/dev/null 2>"$T/err" || fail "gp after the failed commit: $(cat "$T/err")"

# script: PUT DATA on a blank card.
"$CARDVM" create --blank "$T/s.img" >/dev/null || fail "create --blank"
printf 'echo put data\nsend 80DA0042021234 -> 9000\nsend 80CA004200 -> 420212349000\n' > "$T/s.script"
limited "$T/s.img" "$CARDVM" script --keep-going "$T/s.script" "$T/s.img" >/dev/null 2>"$T/err"
expect_io script $? "$T/err" "$T/s.img"
grep -q "s.script:2:" "$T/err" || fail "script did not name the line: $(cat "$T/err")"
"$CARDVM" send "$T/s.img" 80CA004200 | grep -q "^6A88$" || fail "the failed PUT DATA is visible"
"$CARDVM" script "$T/s.script" "$T/s.img" >/dev/null 2>"$T/err" || fail "script after the failed commit: $(cat "$T/err")"

# campaign: two cards; run, then terminal, each under the limit, then without.
MASTER=4D4153544552204B4559203030303031
KOS=4B4F5320434F4D4D4F4E204B45593031
KMAC=4B2D4D414320434F4D4D4F4E204B3031
R="$T/reg.db"
"$CARDVM" campaign enroll --registry "$R" --dir "$T/cards" --count 2 --master $MASTER --kos $KOS --kmac $KMAC \
    --fast --quiet >/dev/null || fail "enroll"
"$CARDVM" campaign design --example os-update --profile 3 --kos $KOS --vector 0:0 --campaign "$T/c.cvc" \
    --pse "$T/c.pse" >/dev/null || fail "design"
img=$(ls "$T"/cards/card-*.img | head -n 1)
limited "$img" "$CARDVM" campaign run --registry "$R" --master $MASTER --campaign "$T/c.cvc" --pse "$T/c.pse" \
    --quiet >/dev/null 2>"$T/err"
expect_io "campaign run" $? "$T/err" "$img"
"$CARDVM" campaign status --registry "$R" --campaign "$T/c.cvc" | grep -q "^failed *2$" || fail "run: not failed"
"$CARDVM" campaign server --registry "$R" --master $MASTER --campaign "$T/c.cvc" >/dev/null || fail "server"
serial=$(basename "$img" .img | sed 's/card-//')
limited "$img" "$CARDVM" campaign terminal --registry "$R" --pse "$T/c.pse" --serial "$serial" >/dev/null 2>"$T/err"
expect_io "campaign terminal" $? "$T/err" "$img"
"$CARDVM" campaign run --registry "$R" --master $MASTER --campaign "$T/c.cvc" --pse "$T/c.pse" --quiet \
    >/dev/null 2>"$T/err" || fail "run after the failed commits: $(cat "$T/err")"
"$CARDVM" campaign status --registry "$R" --campaign "$T/c.cvc" | grep -q "^updated *2$" || fail "run: not updated"
echo "commit errors: ok"
