#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
#
# The README's first command: install what is missing, build, and run the
# talk's claims at --quick sizes (`concbench talk report --quick`): every
# claim's experiment, its verdict, and one report with the figures,
# results/talk-quick/report.html (self-contained) and report.md.  It takes
# a few minutes on two cores; a second run resumes the finished steps.
# The verdict table goes to stdout with where the report is.
#
#   scripts/setup.sh                      the talk report (--quick sizes)
#   scripts/setup.sh --full               the same at full sizes
#   scripts/setup.sh --matrix [OPTIONS]   the generic default matrix
#
# --matrix runs every model on every workload (as `concbench list` names
# them) at the workloads' --quick sizes, 2 repetitions each in a seeded
# random order, plus a sweep of the parameters the figures need when a
# workload declares them: `tasks` (throughput vs task count) and
# `accounts` (throughput vs contention).  It is sized for a 2-core machine
# and capped: --max-time 240 stops starting runs after four minutes and
# records the rest as skipped (`concbench matrix ... --resume` runs them),
# so it stays under five minutes however many models and workloads there
# are.  Extra OPTIONS go to `concbench matrix`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# The mode is checked before anything is installed or built.
mode=talk
case "${1:-}" in
"") ;;
--full)
    mode=full
    shift
    ;;
--matrix)
    mode=matrix
    shift
    ;;
*)
    echo "concbench: setup.sh: unknown option '$1'; use --full, or" \
        "--matrix [matrix options]" >&2
    exit 2
    ;;
esac
if [ "$mode" != matrix ] && [ $# -gt 0 ]; then
    echo "concbench: setup.sh: only --matrix takes options (got '$1')" >&2
    exit 2
fi

scripts/deps.sh
scripts/build.sh build
cb=build/runner/concbench

if [ "$mode" != matrix ]; then
    size=(--quick)
    out=${CONCBENCH_RESULTS:-results/talk-quick}
    if [ "$mode" = full ]; then
        size=()
        out=${CONCBENCH_RESULTS:-results/talk}
    fi
    echo "== the talk's claims, measured (a few minutes on two cores)" >&2
    exec $cb talk report "${size[@]}" -o "$out"
fi

out=${CONCBENCH_RESULTS:-results/default}

# Sweep a parameter only when some workload declares it, and only with
# values every such workload accepts (a dry run checks them).
declares() {
    local w
    for w in $($cb list workloads | awk '{print $1}'); do
        if $cb describe "$w" | grep -q "^  $1 "; then
            return 0
        fi
    done
    return 1
}
base=(--quick --reps 2 --timeout 30 --max-time 240 --seed 1)
sweep=()
for kv in tasks=8,32,128 accounts=4,64,1024; do
    key=${kv%%=*}
    if declares "$key"; then
        if $cb matrix "${base[@]}" -p "$kv" --dry-run >/dev/null 2>&1; then
            sweep+=(-p "$kv")
        else
            echo "concbench: not sweeping $kv (a workload refuses it)" >&2
        fi
    fi
done

args=("${base[@]}" "${sweep[@]}" "$@")
echo "== the default matrix (estimate first)" >&2
$cb matrix "${args[@]}" --dry-run | tail -3 >&2
if [ -e "$out/runs.jsonl" ]; then
    echo "concbench: $out holds an earlier run; moving it to $out.old" >&2
    rm -rf "$out.old"
    mv "$out" "$out.old"
fi
status=0
$cb matrix "${args[@]}" -o "$out" || status=$?
if [ "$status" -eq 2 ] || [ ! -e "$out/runs.jsonl" ]; then
    exit "$status"
fi
echo "== figures" >&2
$cb plot "$out" >/dev/null || status=1
$cb summary "$out"
echo "results: $out/ (summary.csv, runs.jsonl), figures: $out/plots/" >&2
exit "$status"
