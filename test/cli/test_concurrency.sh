#!/usr/bin/env bash
# Several processes on one image, as an adversary would run them: no lost
# update, no card challenge handed out twice, a busy image reported with a
# bounded wait, and the file keeps its mode, inode and symlink.
set -u
CARDVM="$1"
T=$(mktemp -d /tmp/cardvm-conc-XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$CARDVM" create "$T/c.img" >/dev/null || fail "create"
chmod 0640 "$T/c.img"
ino=$(stat -c %i "$T/c.img")

# 4 workers x 25 INITIALIZE UPDATEs (pseudo-random challenge, i=70; send fetches the 61xx). The
# response (GP 2.3 amendment D): key diversification data (10), key
# information (3), card challenge (8), card cryptogram (8), sequence counter (3).
worker() {
  for k in $(seq 25); do
    "$CARDVM" send "$T/c.img" 00A4040008A000000151000000 80503000080102030405060708 \
      | sed -n 2p >> "$T/out.$1" || echo "error" >> "$T/out.$1"
  done
}
for w in 1 2 3 4; do worker $w & done
wait
cat "$T"/out.* > "$T/all"
[ "$(wc -l < "$T/all")" -eq 100 ] || fail "100 answers expected, got $(wc -l < "$T/all")"
grep -v '9000$' "$T/all" && fail "a run failed"
[ "$(cut -c27-42 "$T/all" | sort -u | wc -l)" -eq 100 ] || fail "a card challenge was handed out twice"
counters=$(cut -c59-64 "$T/all" | sort -u)
[ "$(echo "$counters" | wc -l)" -eq 100 ] || fail "a sequence counter value was used twice"
first=$((16#$(echo "$counters" | head -1))); last=$((16#$(echo "$counters" | tail -1)))
[ $((last - first)) -eq 99 ] || fail "counters $first..$last: updates lost"

# A held image: a second writer waits a bounded time, then fails and says so.
flock "$T/c.img" sleep 3 &
holder=$!
sleep 0.3
start=$(date +%s%N)
err=$(CARDVM_LOCK_WAIT_MS=300 "$CARDVM" send "$T/c.img" 80CA004200 2>&1 >/dev/null); rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ $rc -ne 0 ] || fail "a busy image was written"
echo "$err" | grep -q "card image in use" || fail "busy message: $err"
[ $ms -ge 250 ] && [ $ms -lt 2500 ] || fail "lock wait of ${ms} ms"
# A reader is not blocked.
"$CARDVM" info "$T/c.img" | grep -q "image:" || fail "info while held"
kill $holder 2>/dev/null; wait $holder 2>/dev/null

# The file stays what it was: mode, inode, and a symlink stays a symlink.
ln -s "$T/c.img" "$T/link.img"
"$CARDVM" send "$T/link.img" 00A4040008A000000151000000 80503000080102030405060708 >/dev/null || fail "send via link"
[ -L "$T/link.img" ] || fail "the symlink was replaced"
[ "$(stat -c %a "$T/c.img")" = 640 ] || fail "mode changed to $(stat -c %a "$T/c.img")"
[ "$(stat -c %i "$T/c.img")" = "$ino" ] || fail "the image was replaced by another file"
[ "$(ls -A "$T" | grep -cv -e '^c.img$' -e '^link.img$' -e '^out\.' -e '^all$')" -eq 0 ] || fail "stray files: $(ls -A "$T")"
# A new image is private.
"$CARDVM" create --blank "$T/new.img" >/dev/null || fail "create new"
[ "$(stat -c %a "$T/new.img")" = 600 ] || fail "new image mode $(stat -c %a "$T/new.img")"
# A commit that cannot be written (here: the file size limit stops writes at
# the log, which starts 128 KiB before the end of a new image) is answered
# 6581, rolled back, and send exits non-zero naming the image and the error.
size=$(stat -c %s "$T/new.img")
out=$( (trap '' XFSZ; ulimit -f $(( (size - 131072) / 1024 )); "$CARDVM" send "$T/new.img" 80DA0042021234) 2>"$T/err")
rc=$?
[ "$out" = "6581" ] || fail "failed commit answered '$out'"
[ $rc -ne 0 ] || fail "send exited 0 after a failed commit"
grep -q "new.img: write: File too large" "$T/err" || fail "failed commit message: $(cat "$T/err")"
out=$("$CARDVM" send "$T/new.img" 80CA004200)
[ "$out" = "6A88" ] || fail "the failed PUT DATA is visible: $out"
echo "concurrency: ok"
