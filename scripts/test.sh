#!/usr/bin/env bash
# Run every test: install packages, build, run the suite, then build again
# with AddressSanitizer + UndefinedBehaviorSanitizer and run the suite again.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
JOBS=$(nproc 2>/dev/null || echo 2)

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$JOBS"
(cd build && ctest --output-on-failure -j"$JOBS" --timeout 600)

cmake -S . -B build-asan -DCARDVM_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-asan -j"$JOBS"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j"$JOBS" --timeout 900 -LE no-sanitize)
echo "all tests passed (plain and ASan+UBSan builds)"
