#!/usr/bin/env bash
# valgrind.sh BUILD_DIR — every test of a built tree (long ones left out)
# under valgrind's memcheck, with the programs the shell-script tests start
# (cardvm, the test binaries) traced as well; system programs (/usr, /bin:
# the shells, python3, pcscd, openssl) are not. One log per process in
# BUILD_DIR/valgrind-logs. Fails when a test fails or when any traced
# process reports an error (invalid read or write, use of uninitialised
# memory, bad free) or memory definitely lost.
#
# valgrind runs the ordinary build (RelWithDebInfo in scripts/test.sh);
# the sanitizer build is checked by its own ctest run.
set -euo pipefail
build=${1:?usage: valgrind.sh BUILD_DIR}
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$build" && pwd)
logs=$build/valgrind-logs
command -v valgrind >/dev/null || { echo "valgrind.sh: valgrind is not installed" >&2; exit 2; }
rm -rf "$logs"
mkdir -p "$logs"
opts=(--error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
      --trace-children=yes "--trace-children-skip=/usr/*,/bin/*,/sbin/*"
      "--suppressions=$root/test/valgrind/valgrind.supp"
      "--log-file=$logs/%p.log")   # last: it replaces the log file ctest names
rc=0
(cd "$build" && ctest -T memcheck -j"$(nproc 2>/dev/null || echo 2)" --timeout 1800 -LE long --output-on-failure \
    --overwrite MemoryCheckCommand="$(command -v valgrind)" \
    --overwrite "MemoryCheckCommandOptions=${opts[*]}") || rc=$?
# ctest's own defect count reads its log files, which the option above
# replaces (hence its "Cannot find memory tester output file" after each
# test): the verdict is what every process's log says
bad=$(grep -lE 'ERROR SUMMARY: [1-9]|definitely lost: [1-9]' "$logs"/*.log 2>/dev/null || true)
nproc_logged=$(ls "$logs" | wc -l)
if [ -n "$bad" ]; then
    echo "valgrind.sh: errors reported by these processes:" >&2
    for f in $bad; do
        echo "== $f: $(grep -m1 'Command:' "$f")" >&2
        grep -E '^==[0-9]+== (Invalid|Conditional|Use of|Mismatched|Syscall|Source and|[0-9,]+ bytes in [0-9,]+ blocks are definitely)' "$f" | head -5 >&2
    done
    exit 1
fi
if [ "$rc" -ne 0 ]; then
    echo "valgrind.sh: ctest failed under valgrind (exit $rc)" >&2
    exit 1
fi
echo "valgrind: $nproc_logged processes checked, no error, nothing definitely lost"
