#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
#
# The README's second command, and what CI runs: install what is missing,
# then build three variants and run the whole suite against each:
#   build/       Release, -Werror          (timeouts x1)
#   build-asan/  Debug, ASan + UBSan       (timeouts x3)
#   build-tsan/  Debug, TSan               (timeouts x5)
# Sanitizers stop at the first report, so a report is a failed test.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/deps.sh

export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$root/cmake/tsan.supp"

pytest_variant() {
    local dir=$1 scale=$2
    echo "== tests on $dir" >&2
    local rc=0
    CONCBENCH_BUILD="$root/$dir" CONCBENCH_TIMEOUT_SCALE=$scale \
        /usr/bin/python3 -m pytest -q -p no:cacheprovider tests || rc=$?
    if [ "$rc" -eq 5 ]; then
        echo "concbench: pytest collected no tests on $dir" >&2
        return 1
    fi
    return "$rc"
}

status=0
echo "== building build/ (Release)" >&2
scripts/build.sh build -DCMAKE_BUILD_TYPE=Release
pytest_variant build 1 || status=1

echo "== building build-asan/ (ASan + UBSan)" >&2
scripts/build.sh build-asan -DCMAKE_BUILD_TYPE=Debug \
    "-DCB_SANITIZE=address;undefined"
pytest_variant build-asan 3 || status=1

echo "== building build-tsan/ (TSan)" >&2
scripts/build.sh build-tsan -DCMAKE_BUILD_TYPE=Debug -DCB_SANITIZE=thread
pytest_variant build-tsan 5 || status=1

exit $status
