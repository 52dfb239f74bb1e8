#!/bin/sh
# op_pairs.sh CARDVM [SHARED] — static bytecode figures over converter
# output: every shared CAP (one build per package: jc305u3-nodebug, the
# bench corpus nodebug) and the public CAPs, disassembled by `cardvm
# disasm`. Prints the most frequent adjacent pairs in straight-line code
# (no pair across a label or after a jump, return or throw; loads of locals
# as `sload`/`aload`, constant pushes as `const`), and how many element
# loads and stores take an index that is a sum of two leaves (local or
# constant), the shape vm/cap_xlat.c folds into the element op; how many
# byte loads are masked with 0xFF (`b[i] & 0xFF` or `0xFF & b[i]`: one
# zero-extending load) and how many divisions have a constant divisor (a
# multiply by the reciprocal) and how many conditional branches test an
# element loaded just before them (one op with the load). Prints
# figures, never fails (docs/vm.md, "Performance").
cardvm=${1:?usage: op_pairs.sh CARDVM [SHARED]}
shared=${2:-$(dirname "$0")/../../../../shared}
[ -d "$shared/javacard" ] || { echo "no $shared/javacard: skipped"; exit 0; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
for cap in $(find "$shared/javacard" -name '*.cap' | grep -E 'jc305u3-nodebug/|/nodebug/bench/|/public/' | sort); do
    n=$((n + 1))
    "$cardvm" disasm -o "$tmp/$n.jca" "$cap" >/dev/null 2>&1 || echo "disasm failed: $cap"
done
echo "$n CAP files"
cat "$tmp"/*.jca | awk '
function norm(op) {
    if (op ~ /^sload/) return "sload";
    if (op ~ /^aload/) return "aload";
    if (op ~ /^sconst/ || op == "bspush" || op == "sspush" || op == "aconst_null") return "const";
    if (op ~ /^sstore/) return "sstore";
    if (op ~ /^astore/) return "astore";
    return op;
}
function ends(op) { return op ~ /^(if|goto|return|sreturn|areturn|athrow|stableswitch|slookupswitch)/ }
function push(t) { st[sn++] = t }
function pop() { return sn > 0 ? st[--sn] : "?" }
# an expression tree of depth 2 over leaves: a binary operator whose one
# operand is an operator of two leaves (SUM: sadd/ssub; E: the others)
# and the other a leaf (javac: (short)(lo + hi) >> 1, h * 31 + x)
function tree2(a, b) { if (((a == "SUM" || a == "E") && b ~ /^[LK]/) || ((b == "SUM" || b == "E") && a ~ /^[LK]/)) bins2++ }
/\.method/ { inm = 1; prev = ""; sn = 0; next }
inm && /^\t\t}/ { inm = 0; next }
!inm { next }
{
    line = $0
    sub(/\/\/.*/, "", line)
    if (line ~ /^[ \t]*L[0-9]+:/) { prev = ""; prev2 = ""; sn = 0; sub(/^[ \t]*L[0-9]+:/, "", line) }
    gsub(/;/, "", line)
    split(line, f, /[ \t]+/)
    op = ""
    for (i = 1; i in f; i++) if (f[i] != "") { op = f[i]; arg = f[i + 1]; break }
    if (op == "" || op ~ /^\./) next
    o = norm(op)
    total++
    if (prev != "") { pair[prev " " o]++; npairs++ }
    # a compare-and-branch on an element loaded just before (the other
    # operand a leaf after it, or under it): one op (ECMP)
    if (op ~ /^if/) { branches++; if (prev ~ /^[bsa]aload$/ || (prev ~ /^(sload|aload|const)$/ && prev2 ~ /^[bsa]aload$/)) ebranches++ }
    prev2 = ends(op) ? "" : prev
    prev = ends(op) ? "" : o
    # the operand stack, as far as straight-line code of known effect goes
    if (o == "const") push(arg == "255" ? "K255" : "K")
    else if (o == "sload" || o == "aload") push("L")
    else if (op ~ /^getfield_._this$/ || op ~ /^getstatic/) push("X")
    else if (op == "sadd" || op == "ssub") { b = pop(); a = pop(); bins++; tree2(a, b); push(a ~ /^[LK]/ && b ~ /^[LK]/ ? "SUM" : "X") }
    else if (op == "sand") { b = pop(); a = pop(); bins++; tree2(a, b); if ((a == "B" && b == "K255") || (a == "K255" && b == "B")) masked++; push(a ~ /^[LK]/ && b ~ /^[LK]/ ? "E" : "X") }
    else if (op == "sdiv" || op == "srem") { b = pop(); a = pop(); bins++; tree2(a, b); divs++; if (b ~ /^K/) kdivs++; push(a ~ /^[LK]/ && b ~ /^[LK]/ ? "E" : "X") }
    else if (op ~ /^s(mul|div|rem|and|or|xor|shl|shr|ushr)$/) { b = pop(); a = pop(); bins++; tree2(a, b); push(a ~ /^[LK]/ && b ~ /^[LK]/ ? "E" : "X") }
    else if (op == "s2b" || op == "sneg") { pop(); push("X") }
    else if (op ~ /^[bsa]aload$/) { i = pop(); pop(); loads++; if (i == "SUM") sumloads++; push(op == "baload" ? "B" : "X"); bloads += op == "baload" }
    else if (op ~ /^[bsa]astore$/) { pop(); i = pop(); pop(); stores++; if (i == "SUM") sumstores++ }
    else if (o == "sstore" || o == "astore" || op == "pop") pop()
    else if (op == "dup") { t = pop(); push(t); push(t) }
    else if (op ~ /^if_scmp/) { b = pop(); a = pop(); cmps++; if (((a == "SUM" || a == "E") && b ~ /^[LK]/) || ((b == "SUM" || b == "E") && a ~ /^[LK]/)) cmps2++ }
    else if (op ~ /^if_acmp/) { pop(); pop() }
    else if (op ~ /^if/) pop()
    else sn = 0
}
END {
    printf "%d instructions, %d straight-line pairs\n", total, npairs
    printf "element loads %d, index a sum of two leaves %d (%.0f%%)\n", loads, sumloads, loads ? 100 * sumloads / loads : 0
    printf "element stores %d, index a sum of two leaves %d (%.0f%%)\n", stores, sumstores, stores ? 100 * sumstores / stores : 0
    printf "byte loads %d, masked with 0xFF %d (%.0f%%)\n", bloads, masked, bloads ? 100 * masked / bloads : 0
    printf "sdiv/srem %d, by a constant %d\n", divs, kdivs
    printf "binary operators %d, an expression tree of depth 2 over leaves %d (%.0f%%); if_scmp* %d, on an operator of two leaves and a leaf %d\n", bins, bins2, bins ? 100 * bins2 / bins : 0, cmps, cmps2
    printf "conditional branches %d, on an element loaded just before %d (%.0f%%)\n", branches, ebranches, branches ? 100 * ebranches / branches : 0
    for (p in pair) printf "%6d %5.1f%% %s\n", pair[p], 100 * pair[p] / npairs, p | "sort -rn | head -25"
}'
