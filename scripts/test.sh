#!/usr/bin/env bash
# Run every test: install packages, then
#   1. RelWithDebInfo (gcc): build, run the suite;
#   2. valgrind memcheck: the suite again on that build, the project's programs
#      that script tests start traced too (scripts/valgrind.sh);
#   3. Release (gcc): build, run the suite (-O3 finds other warnings and bugs);
#   4. Release (clang), when clang is installed: build (every warning is an error);
#   5. AddressSanitizer + UndefinedBehaviorSanitizer (Debug): build, run the suite.
# Tests labelled "long" (the 1000-kill run, kill_1000) are left out; run them
# with: (cd build && ctest -L long).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
JOBS=$(nproc 2>/dev/null || echo 2)

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$JOBS"
(cd build && ctest --output-on-failure -j"$JOBS" --timeout 600 -LE long)
./scripts/valgrind.sh build

cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-release -j"$JOBS"
(cd build-release && ctest --output-on-failure -j"$JOBS" --timeout 600 -LE long)

if command -v clang >/dev/null 2>&1; then
  CC=clang cmake -S . -B build-clang -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build-clang -j"$JOBS"
fi

cmake -S . -B build-asan -DCARDVM_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-asan -j"$JOBS"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j"$JOBS" --timeout 900 -LE "no-sanitize|long")
echo "all tests passed (RelWithDebInfo, valgrind memcheck, Release, clang Release build, ASan+UBSan)"
