#!/usr/bin/env bash
# bench_tear.sh CARDVM [SHARED] — tearing points per second: `cardvm tear`
# over a script with 20 writing commands (the shared counter applet: INC and
# COPY, each in a transaction), every write index, lab mode (the campaign
# works on in-memory copies of the image; nothing is fsynced). Prints figures;
# not a test.
set -euo pipefail
CARDVM=${1:?usage: bench_tear.sh CARDVM [SHARED]}
SHARED=${2:-$(dirname "$0")/../../../../shared}
CAP=$SHARED/javacard/applets/counter/jc305u3/counter.cap
[ -f "$CAP" ] || { echo "SKIP: $CAP not found"; exit 77; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
"$CARDVM" create "$TMP/card.img" --quiet
{
  echo "open 30 404142434445464748494A4B4C4D4E4F 01"
  echo "load $CAP"
  echo "install F0434150574B01 F0434150574B0101"
  echo "select F0434150574B0101"
  echo "tear"
  for i in $(seq 1 10); do
    echo "send 8010000002"
    printf 'send 8013000005%010X\n' "$i"
  done
  echo "end"
  echo "check 8011000006"
  echo "check 8014000005000000000102"
} > "$TMP/bench.tear"
"$CARDVM" tear "$TMP/bench.tear" "$TMP/card.img" --json > "$TMP/out.json"
python3 - "$TMP/out.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
cmds = [c for c in r["commands"] if c["kind"] == "cut"]
print(f"bench_tear: {len(cmds)} writing commands, {r['cut_points']} cut points, "
      f"{r['card_runs']} card runs in {r['seconds']:.2f} s")
print(f"bench_tear: {r['cut_points'] / r['seconds']:.1f} tearing points/s, "
      f"{r['card_runs'] / r['seconds']:.1f} card runs/s (each replays the script from the image)")
print(f"bench_tear: torn states {r['torn']}")
PY
