#!/bin/sh
# run_callgrind.sh BENCH_VM — host instructions per executed bytecode:
# runs the VM part of the benchmark under callgrind, counting only inside
# vm_run (the dispatch loop and what it calls), and divides by the bytecodes
# the VM reports. Prints figures; never fails the build.
set -e
bench=${1:-./bench_vm}
command -v valgrind >/dev/null || { echo "valgrind not installed"; exit 0; }
out=$(mktemp)
valgrind --tool=callgrind --callgrind-out-file="$out.cg" --toggle-collect=vm_run "$bench" --vm-only --scale 1 >"$out" 2>/dev/null
cat "$out"
total=$(callgrind_annotate "$out.cg" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1; exit}')
bytecodes=$(awk 'NR>1 {s += $8} END {print s}' "$out")
echo "callgrind: $total host instructions in vm_run for $bytecodes bytecodes"
awk -v t="$total" -v b="$bytecodes" 'BEGIN { if (b > 0) printf "host instructions per bytecode: %.2f\n", t / b }'
rm -f "$out" "$out.cg"
