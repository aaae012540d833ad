#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
#
# Long fuzzing of the results reader and the -p parser with libFuzzer:
#   scripts/fuzz.sh [SECONDS per target, default 300] [results|pspec]...
# Builds build-fuzz/ with clang, ASan and UBSan, and fuzzes starting from
# a copy of the committed corpus (tests/fuzz/corpus/TARGET); new inputs
# land in build-fuzz/corpus/TARGET.  An input worth keeping (a crash once
# fixed, a new shape) belongs in tests/fuzz/corpus/, where the test suite
# replays it on every run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
secs=${1:-300}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(results pspec)
command -v clang >/dev/null || {
    echo "concbench: fuzzing needs clang (apt-get install clang)" >&2
    exit 1
}
scripts/build.sh build-fuzz -DCMAKE_C_COMPILER=clang -DCB_FUZZ=ON \
    -DCB_WERROR=OFF -DCMAKE_BUILD_TYPE=Debug \
    "-DCB_SANITIZE=address;undefined" \
    "-DCMAKE_C_FLAGS=-fsanitize=fuzzer-no-link"
for t in "${targets[@]}"; do
    mkdir -p "build-fuzz/corpus/$t"
    cp -n "tests/fuzz/corpus/$t/"* "build-fuzz/corpus/$t/"
    echo "== fuzzing $t for ${secs}s" >&2
    ASAN_OPTIONS=detect_leaks=1 "build-fuzz/tests/fuzz/fuzz_$t" \
        -max_total_time="$secs" -max_len=65536 \
        -artifact_prefix="build-fuzz/crash-$t-" \
        "build-fuzz/corpus/$t"
done
