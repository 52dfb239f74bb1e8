#!/bin/sh
# run_callgrind.sh BENCH_CORPUS [N] — host instructions per executed
# original bytecode, per kernel of the shared corpus: callgrind counts the
# instructions of one kernel APDU (measured_apdu: card, LOADER, VM, applet)
# at N and at 2N repeats; the difference over the difference of the
# bytecodes the VM reports cancels the fixed per-APDU cost. Prints figures,
# never fails.
bench=${1:-./bench_corpus}
n=${2:-50}
command -v valgrind >/dev/null || { echo "valgrind not installed"; exit 0; }
command -v callgrind_annotate >/dev/null || { echo "callgrind_annotate not installed"; exit 0; }
tmp=$(mktemp -d)
count() { # INS REPS -> "instructions bytecodes"
    out=$(valgrind --tool=callgrind --collect-atstart=no --toggle-collect=measured_apdu \
        --callgrind-out-file="$tmp/cg" "$bench" --count "$1" "$2" 2>/dev/null) || return 1
    bc=$(echo "$out" | awk '/^count/ {print $5}')
    ir=$(callgrind_annotate "$tmp/cg" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1; exit}')
    echo "$ir $bc"
}
printf '%-4s %14s %14s %10s\n' INS "host insns" bytecodes "insns/bc"
for ins in ${KERNELS:-10 11 12 20 21 22 30 31 32 40 41 42 50}; do
    a=$(count $ins $n) || { echo "$ins: failed"; continue; }
    b=$(count $ins $((2 * n))) || { echo "$ins: failed"; continue; }
    echo "$ins $a $b" | awk '{di = $4 - $2; db = $5 - $3; printf "%-4s %14d %14d %10.2f\n", $1, di, db, (db > 0 ? di / db : 0)}'
done
rm -rf "$tmp"
