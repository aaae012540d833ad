#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
"""scripts/side-by-side.py [-o DIR] [--reps N] [--quick] [--only ROW,...]

The one-sitting table: every workload on each real system and on the
model that stands for it (beam and actor; go, core.async and csp; jvm,
threads and locks), measured in one sitting on this machine and printed
as one Markdown table of medians.

Each row is one `concbench matrix` over all eight systems, so its cells
run interleaved in a seeded random order (the runner's default): a
machine that gets busier part-way slows every system of the row alike,
never one column.  The table gives the median over --reps repetitions;
a cell that did not give the metric shows its outcome (unsupported,
crashed, resource, ...).  The results folders stay in DIR (default
results/side-by-side) for `concbench plot` or `compare`, and a rerun
resumes them.

Sizes: the full table (the issue's sizes: skynet of 1M leaves, Jain over
10,000 spinners) takes ~15 minutes on a quiet 2-core machine at --reps 3
(the JVMs' and the BEAM's start-ups are a good part of it); --quick keeps
each row's point at smaller sizes (100,000 leaves, 1,000 spinners), for a
loaded machine or a check of the recipe.

The columns compare SHAPES across systems (who is flat, who starves, who
grows); absolute times of a C model and a JVM differ by design.  The
csp model runs its default configuration, core.async's (a shared FIFO,
no preemption); Go's own scheduling is `-p sched=stealing -p
preempt=reductions` on csp, not used here so that one csp column serves
both real systems.
"""
import argparse
import csv
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = Path(os.environ.get("CONCBENCH_BUILD", ROOT / "build"))
CONCBENCH = BUILD / "runner" / "concbench"

# Real system beside the models that stand for it, in column order.
COLUMNS = ["actor", "beam", "csp", "go", "core.async", "threads", "locks",
           "jvm"]

# (row, workload, full-size parameters, --quick parameters, metric(s):
# the first one a cell has, unit).  The quick sizes keep each row's point
# (many spinners, a pool of 2, a long backlog) at a size a loaded 2-core
# machine gets through in a few minutes.  Warm figures first where a JIT
# warms up (the cold one is its own row where the figures name it).
ROWS = [
    ("skynet", "skynet", {"leaves": "1000000"}, {"leaves": "100000"},
     ["elapsed_ns"], "ns"),
    ("ping-pong round trip (warm)", "ping-pong", {"rounds": "200000"},
     {"rounds": "20000"}, ["warm_round_trip_ns", "round_trip_ns"], "ns"),
    ("spawn: time per blocked task", "spawn", {"tasks": "10000"},
     {"tasks": "1000"}, ["spawn_ns_per_task"], "ns"),
    ("spawn: memory per blocked task", "spawn", {"tasks": "10000"},
     {"tasks": "1000"}, ["rss_per_task_bytes"], "B"),
    ("alts over 1,000 channels (cold)", "alts",
     {"channels": "1000", "rounds": "5"}, {"channels": "1000", "rounds": "3"},
     ["round_ns_first"], "ns"),
    ("alts over 1,000 channels (warm)", "alts",
     {"channels": "1000", "rounds": "5"}, {"channels": "1000", "rounds": "3"},
     ["round_ns_warm_median", "round_ns_min"], "ns"),
    ("selective receive, per skipped message", "selective-receive",
     {"queued": "10000", "trick": "no"}, {"queued": "10000", "trick": "no"},
     ["ns_per_skipped_msg"], "ns"),
    ("probe p99, 4 hogs on 2 PUs (pool=2)", "cpu-crunch",
     {"hogs": "4", "duration_ms": "1000", "pool": "2"},
     {"hogs": "4", "duration_ms": "1000", "pool": "2"},
     ["lateness_ns.p99"], "ns"),
    ("Jain over many spinners", "cpu-crunch",
     {"hogs": "10000", "duration_ms": "2000"},
     {"hogs": "1000", "duration_ms": "1000"}, ["fairness_jain"], ""),
    ("mailbox-flood: peak queue", "mailbox-flood", {"duration_ms": "500"},
     {"duration_ms": "200"}, ["peak_queue_len"], ""),
    ("bank transfers/s", "bank", {}, {}, ["throughput_ops_s"], "/s"),
    ("io-fanout requests/s", "io-fanout", {}, {}, ["throughput_ops_s"],
     "/s"),
    ("supervision: survived (1) or not (0)", "supervision", {}, {},
     ["survived"], ""),
]


OUTCOMES = ["failed", "unsupported", "error", "crashed", "timeout", "oom",
            "skipped", "resource"]


def fmt(v, unit):
    if unit == "ns":
        for div, name in ((1e9, "s"), (1e6, "ms"), (1e3, "µs")):
            if abs(v) >= div:
                return f"{v / div:.3g} {name}"
        return f"{v:.3g} ns"
    if unit == "B":
        for div, name in ((1 << 20, "MiB"), (1 << 10, "KiB")):
            if abs(v) >= div:
                return f"{v / div:.3g} {name}"
        return f"{v:.0f} B"
    if unit == "/s":
        for div, name in ((1e6, "M/s"), (1e3, "k/s")):
            if abs(v) >= div:
                return f"{v / div:.3g} {name}"
        return f"{v:.3g}/s"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.3g}"


def slug(row):
    return "".join(c if c.isalnum() else "-" for c in row.lower()).strip("-")


def run_row(row, workload, params, out, reps, quick, timeout):
    cmd = [str(CONCBENCH), "matrix", "-m", ",".join(COLUMNS), "-w",
           workload, "--reps", str(reps), "--timeout", str(timeout),
           "--progress", "never", "-q", "-o", str(out)]
    if quick:
        cmd.append("--quick")
    for k, v in params.items():
        cmd += ["-p", f"{k}={v}"]
    if (out / "runs.jsonl").exists():
        cmd.append("--resume")
    print(f"# {row}: {' '.join(cmd[1:])}", file=sys.stderr, flush=True)
    subprocess.run(cmd, stdout=subprocess.DEVNULL)


def medians(out, metrics):
    """{system: (value or None, outcome)} from a row's summary.csv and
    cells.csv."""
    got, status = {}, {}
    summary = out / "summary.csv"
    if summary.exists():
        with summary.open() as f:
            for r in csv.DictReader(f):
                if r["metric"] in metrics:
                    rank = metrics.index(r["metric"])
                    have = got.get(r["model"])
                    if have is None or rank < have[1]:
                        got[r["model"]] = (float(r["median"]), rank)
    cells = out / "cells.csv"
    if cells.exists():
        with cells.open() as f:
            for r in csv.DictReader(f):
                # Counts per outcome; the row shows the commonest that is
                # not ok when the metric is missing.
                bad = [(int(r[k] or 0), k) for k in OUTCOMES
                       if k in r and int(r[k] or 0) > 0]
                status[r["model"]] = max(bad)[1] if bad else "ok"
    return {s: (got[s][0] if s in got else None, status.get(s, "absent"))
            for s in COLUMNS}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[2])
    ap.add_argument("-o", "--output", default=str(ROOT / "results" /
                                                  "side-by-side"))
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default="",
                    help="comma-separated workloads (default: every row)")
    ap.add_argument("--timeout", type=int, default=120)
    a = ap.parse_args()
    if a.reps < 1 or a.reps > 100:
        ap.error("--reps: 1..100")
    if not CONCBENCH.exists():
        sys.exit(f"side-by-side: no {CONCBENCH}: build first "
                 "(scripts/build.sh build)")
    only = {w for w in a.only.split(",") if w}
    known = {w for _, w, _, _, _, _ in ROWS}
    if only - known:
        ap.error(f"--only: unknown {sorted(only - known)}; rows: "
                 f"{sorted(known)}")
    root = Path(a.output)
    table = []
    done = {}
    for row, workload, full, small, metrics, unit in ROWS:
        if only and workload not in only:
            continue
        params = small if a.quick else full
        key = (workload, tuple(sorted(params.items())))
        out = done.get(key) or root / slug(row)
        if key not in done:
            run_row(row, workload, params, out, a.reps, a.quick, a.timeout)
            done[key] = out
        table.append((row, medians(out, metrics), unit))
    head = "| workload | " + " | ".join(COLUMNS) + " |"
    print(head)
    print("|" + "---|" * (len(COLUMNS) + 1))
    for row, cells, unit in table:
        shown = []
        for s in COLUMNS:
            v, status = cells[s]
            shown.append(fmt(v, unit) if v is not None else
                         (status or "absent"))
        print(f"| {row} | " + " | ".join(shown) + " |")
    print(f"\nmedians of {a.reps} repetition(s){' at --quick sizes' if a.quick else ''}; "
          f"results in {root}", file=sys.stderr)


if __name__ == "__main__":
    main()
