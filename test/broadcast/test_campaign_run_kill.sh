#!/bin/sh
# `cardvm campaign run` killed (kill -9) at random moments while its workers
# update many cards at once, durable mode: every card image must still open
# (each is in its old or its new state, never a mix), and the next run must
# finish the campaign: every card updated exactly once, the ones the killed
# run left "playing" replayed (their counters moved: P_AUT reissued).
#   test_campaign_run_kill.sh CARDVM [CARDS] [KILLS]
CARDVM=$1
N=${2:-120}
KILLS=${3:-5}
T=$(mktemp -d /tmp/cardvm-campaign-kill-XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
MASTER=4D4153544552204B4559203030303031
KOS=4B4F5320434F4D4D4F4E204B45593031
KMAC=4B2D4D414320434F4D4D4F4E204B3031
R="$T/reg.db"
"$CARDVM" campaign enroll --registry "$R" --dir "$T/cards" --count "$N" --master $MASTER --kos $KOS --kmac $KMAC \
    --fast --quiet >/dev/null || fail "enroll"
"$CARDVM" campaign design --example os-update --profile 3 --kos $KOS --vector 0:0 --campaign "$T/c.cvc" \
    --pse "$T/c.pse" >/dev/null || fail "design"
run() {
    "$CARDVM" campaign run --registry "$R" --master $MASTER --campaign "$T/c.cvc" --pse "$T/c.pse" --quiet \
        --workers 8 "$@"
}
# One undisturbed run to learn how long a whole run takes here (ms).
start=$(date +%s%N)
cp -r "$T/cards" "$T/probe-cards" && cp "$R" "$T/probe.db"
"$CARDVM" campaign run --registry "$T/probe.db" --master $MASTER --campaign "$T/c.cvc" --pse "$T/c.pse" --quiet \
    --workers 8 >/dev/null 2>&1
full=$(( ($(date +%s%N) - start) / 1000000 ))
rm -rf "$T/probe-cards" "$T/probe.db"*
[ "$full" -gt 20 ] || full=20
killed=0
for k in $(seq 1 "$KILLS"); do
    run >/dev/null 2>&1 &
    pid=$!
    # a random moment within the first half of what is left of the run
    delay=$(awk -v f="$full" -v k="$k" -v s="$k$$" 'BEGIN { srand(s); printf "%.3f", f * 0.5 * rand() / k / 1000 }')
    sleep "$delay"
    kill -9 "$pid" 2>/dev/null && killed=$((killed + 1))
    wait "$pid" 2>/dev/null
    for img in "$T"/cards/card-*.img; do
        "$CARDVM" info "$img" >/dev/null 2>"$T/err" || fail "kill $k: $img does not open: $(cat "$T/err")"
    done
done
[ "$killed" -ge 1 ] || fail "no run was killed before it finished (whole run ${full} ms)"
run >"$T/out" 2>"$T/err" || fail "the run after $killed kills failed: $(cat "$T/out" "$T/err")"
"$CARDVM" campaign status --registry "$R" --campaign "$T/c.cvc" >"$T/status"
grep -q "^updated *$N$" "$T/status" || fail "not all updated after $killed kills: $(cat "$T/status")"
# Run again: nothing left to do, nothing played twice.
run >"$T/out" 2>&1 || fail "second run: $(cat "$T/out")"
grep -q "0 updated, 0 failed, 0 retried, $N already updated" "$T/out" || fail "second run: $(cat "$T/out")"
echo "campaign run kill: ok ($killed kills of $KILLS, whole run ${full} ms)"
