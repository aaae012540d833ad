#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
#
# scripts/loadtest.sh [BUILD_DIR] [PYTEST_ARGS...]: the load test of the
# test suite itself.  CI machines are shared, so a test's verdict must not
# depend on how busy the machine is.  This runs the default suite (tests/)
# twice against BUILD_DIR (default build, the Release build): once on the
# machine as it is, once with every CPU saturated by other processes, and
# reports each test whose outcome changed.  The target is that none fails
# only under load; a shape check that says "inconclusive" under load (a
# skip that names the load, see tests/conftest.py) is reported and allowed.
#
#   LOAD_PROCS=N          spinning processes (default: 2 per CPU)
#   LOADTEST_BASELINE=F   junit XML of an earlier run on the machine as it
#                         is: reuse it instead of the first run
#   LOADTEST_OUT=DIR      where the two junit files go (default: a new
#                         temporary folder, printed)
#   CONCBENCH_TIMEOUT_SCALE  as for every test run (1 for Release)
#
# The load is stress-ng --cpu N when stress-ng is installed (Debian:
# stress-ng), else N busy shell loops; either way it is stopped when the
# script ends, however it ends.  Exit: 0 no test failed only under load,
# 1 some did, 2 the suite could not run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=${1:-build}
[ $# -gt 0 ] && shift
if [ ! -x "$build/runner/concbench" ]; then
    echo "loadtest: no $build/runner/concbench; build first" \
         "(scripts/build.sh $build -DCMAKE_BUILD_TYPE=Release)" >&2
    exit 2
fi
ncpu=$(nproc)
procs=${LOAD_PROCS:-$((2 * ncpu))}
out=${LOADTEST_OUT:-$(mktemp -d /tmp/concbench-loadtest.XXXXXX)}
mkdir -p "$out"
export CONCBENCH_BUILD="$root/$build"
export CONCBENCH_TIMEOUT_SCALE=${CONCBENCH_TIMEOUT_SCALE:-1}

suite() {
    local xml=$1
    shift
    local t0=$SECONDS rc=0
    /usr/bin/python3 -m pytest -q -p no:cacheprovider -rs \
        --junitxml="$xml" tests "$@" >"${xml%.xml}.log" 2>&1 || rc=$?
    echo "loadtest: $(tail -n 1 "${xml%.xml}.log") ($((SECONDS - t0)) s)" >&2
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; then
        echo "loadtest: pytest could not run the suite (exit $rc);" \
             "see ${xml%.xml}.log" >&2
        exit 2
    fi
}

if [ -n "${LOADTEST_BASELINE:-}" ]; then
    cp "$LOADTEST_BASELINE" "$out/quiet.xml"
    echo "loadtest: baseline from $LOADTEST_BASELINE" >&2
else
    echo "loadtest: suite on the machine as it is" >&2
    suite "$out/quiet.xml" "$@"
fi

pids=()
stop_load() {
    for p in "${pids[@]}"; do
        kill "$p" 2>/dev/null || true
    done
    for p in "${pids[@]}"; do
        wait "$p" 2>/dev/null || true
    done
    pids=()
}
trap stop_load EXIT
trap 'stop_load; exit 130' INT TERM
if command -v stress-ng >/dev/null; then
    stress-ng --cpu "$procs" --quiet &
    pids+=($!)
    load="stress-ng --cpu $procs"
else
    for _ in $(seq "$procs"); do
        (while :; do :; done) &
        pids+=($!)
    done
    load="$procs busy shell loops"
fi
echo "loadtest: suite beside $load on $ncpu CPUs" >&2
suite "$out/loaded.xml" "$@"
uptime >&2
stop_load

/usr/bin/python3 - "$out/quiet.xml" "$out/loaded.xml" <<'EOF'
import sys
import xml.etree.ElementTree as ET


def outcomes(path):
    res = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        key = f"{case.get('classname')}::{case.get('name')}"
        kind, msg = "passed", ""
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                kind = {"failure": "failed", "error": "error",
                        "skipped": "skipped"}[child.tag]
                msg = (child.get("message") or "").splitlines()[0][:160] \
                    if child.get("message") else ""
                break
        res[key] = (kind, msg)
    return res


quiet, loaded = outcomes(sys.argv[1]), outcomes(sys.argv[2])
worse, inconclusive, other = [], [], []
for key in sorted(set(quiet) | set(loaded)):
    a = quiet.get(key, ("absent", ""))
    b = loaded.get(key, ("absent", ""))
    if a[0] == b[0]:
        continue
    line = f"  {key}: {a[0]} -> {b[0]}" + (f" ({b[1]})" if b[1] else "")
    if b[0] in ("failed", "error") and a[0] not in ("failed", "error"):
        worse.append(line)
    elif b[0] == "skipped" and "inconclusive" in b[1]:
        inconclusive.append(line)
    else:
        other.append(line)
n = len(loaded)
print(f"loadtest: {n} tests; outcome changed under load: "
      f"{len(worse) + len(inconclusive) + len(other)} "
      f"({len(worse)} failed only under load, {len(inconclusive)} "
      f"inconclusive, {len(other)} other)")
for title, rows in (("failed only under load", worse),
                    ("inconclusive under load (allowed)", inconclusive),
                    ("other changes", other)):
    if rows:
        print(f"{title}:")
        print("\n".join(rows))
sys.exit(1 if worse else 0)
EOF
