#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
#
# The README's first command: install what is missing, build, and run the
# main job: every workload on every model, three repetitions each, results
# as JSON in results/default/ and a summary table on stdout.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/deps.sh
scripts/build.sh build
cb=build/runner/concbench
out=results/default
mkdir -p "$out"
status=0
for m in $($cb list models | awk '{print $1}'); do
    for w in $($cb list workloads | awk '{print $1}'); do
        echo "== $w on $m" >&2
        if ! $cb run -m "$m" -w "$w" --reps 3 --warmup 1 --format json \
            -o "$out/$m-$w.json"; then
            status=1
        fi
    done
done
/usr/bin/python3 scripts/summary.py "$out"/*.json
echo "results: $out/" >&2
exit $status
