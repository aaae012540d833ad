#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
"""Measure the regression gate's error rates on this machine.

For each of TRIALS trials, on a small CI matrix:
  ab A/A        `concbench ab B B' --fail-on-regression`, B' a copy of B:
                any exit 1 is a false alarm;
  ab slow       the same with B' a wrapper that sets
                CONCBENCH_INJECT_FAULT=slow20 (every measurement window 20%
                longer, runner/child.c): exit 1 is a detection;
  compare A/A   two `matrix --reps N` runs of B, one after the other, then
                `compare --fail-on-regression`;
  compare slow  the second matrix with the slowed build.
It prints each trial's exit codes, wall time and (compare) the drift
probe's NEW/BASE ratio, then the rates, and exits 1 when a check missed
the bar this project holds the gate to: no A/A false alarm, and at least
19 of every 20 slowdowns caught.  It is the gate's long test, not part
of the default suite: about 17 s a trial on a quiet 2-core machine, a
minute under load; run it on a quiet machine.

usage: scripts/gate_rates.py [--build DIR] [--trials N] [--reps N]
                             [--only ab|compare] [--json FILE]
                             [-- MATRIX OPTIONS]
"""
import argparse
import json
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MATRIX = ["-m", "actor,csp", "-w", "ping-pong,skynet",
                  "-p", "rounds=100000", "-p", "leaves=10000"]


def run(argv):
    t0 = time.monotonic()
    p = subprocess.run([str(a) for a in argv], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    return p.returncode, time.monotonic() - t0, p.stdout + p.stderr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=str(ROOT / "build"))
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--reps", type=int, default=8)
    ap.add_argument("--only", choices=["ab", "compare"])
    ap.add_argument("--json")
    ap.add_argument("matrix", nargs="*")
    a = ap.parse_args()
    if a.trials < 1 or a.reps < 2:
        sys.exit("gate_rates: --trials >= 1 and --reps >= 2")
    cb = Path(a.build) / "runner" / "concbench"
    if not cb.exists():
        sys.exit(f"gate_rates: no {cb}: build first")
    matrix = a.matrix or DEFAULT_MATRIX
    tmp = Path(tempfile.mkdtemp(prefix="gate-rates-"))
    copy = tmp / "concbench-copy"
    shutil.copy(cb, copy)
    slow = tmp / "concbench-slow"
    slow.write_text("#!/bin/sh\nCONCBENCH_INJECT_FAULT=slow20 "
                    f"exec '{cb}' \"$@\"\n")
    slow.chmod(slow.stat().st_mode | stat.S_IXUSR)
    kinds = [k for k in ("ab", "compare") if a.only in (None, k)]
    res = {f"{k} {v}": [] for k in kinds for v in ("A/A", "slow")}
    for t in range(a.trials):
        for kind in kinds:
            for variant, head in (("A/A", copy), ("slow", slow)):
                d = tmp / f"{kind}-{variant[0]}-{t}"
                rc_plain = None
                if kind == "ab":
                    rc, sec, out = run([cb, "ab", cb, head, *matrix,
                                        "--reps", a.reps, "--seed", t + 1,
                                        "--fail-on-regression", "-o", d])
                else:
                    rc1, s1, out = run([cb, "matrix", *matrix, "--reps",
                                        a.reps, "--seed", t + 1, "-q", "-o",
                                        d / "base"])
                    rc2, s2, out2 = run([head, "matrix", *matrix, "--reps",
                                         a.reps, "--seed", t + 1, "-q", "-o",
                                         d / "new"])
                    rc, s3, out3 = run([cb, "compare", d / "base",
                                        d / "new", "--fail-on-regression"])
                    # The same two folders judged without the drift
                    # allowance: what the allowance saved, or cost.
                    rc_plain, _, _ = run([cb, "compare", d / "base",
                                          d / "new", "--ignore-drift",
                                          "--fail-on-regression"])
                    sec, out = s1 + s2 + s3, out + out2 + out3
                    if rc1 or rc2:
                        rc = max(rc1, rc2)
                drift = re.search(r"^machine (?:drift|steady): the drift "
                                  r"probe took ([0-9.]+)x", out, re.M)
                res[f"{kind} {variant}"].append(
                    {"rc": rc, "s": sec, "rc_ignoring_drift": rc_plain,
                     "probe": float(drift.group(1)) if drift else None})
                print(f"trial {t + 1:2d} {kind:7s} {variant:4s} exit {rc} "
                      f"{sec:6.1f} s"
                      f"{f'  probe {drift.group(1)}x' if drift else ''}"
                      f"{'' if rc_plain is None else f'  (exit {rc_plain} ignoring drift)'}",
                      flush=True)
                if rc not in (0, 1) or (rc == 1 and variant == "A/A"):
                    # An odd exit, or a false alarm: what was flagged.
                    print(out[-2000:], flush=True)
                shutil.rmtree(d, ignore_errors=True)
    print()
    missed = []
    for k, rows in res.items():
        fails = sum(r["rc"] == 1 for r in rows)
        if k.endswith("A/A") and fails:
            missed.append(f"{k}: {fails} false alarm(s)")
        if k.endswith("slow") and fails < 0.95 * len(rows):
            missed.append(f"{k}: {fails} of {len(rows)} caught, below 95%")
        other = sum(r["rc"] not in (0, 1) for r in rows)
        secs = sorted(r["s"] for r in rows)
        what = "false alarms" if k.endswith("A/A") else "detected"
        plain = [r["rc_ignoring_drift"] for r in rows
                 if r.get("rc_ignoring_drift") is not None]
        print(f"{k:13s} {what}: {fails}/{len(rows)}"
              f"{f' ({other} other exits)' if other else ''}"
              f"{f' ({sum(p == 1 for p in plain)}/{len(plain)} ignoring the drift)' if plain else ''}; "
              f"median {secs[len(secs) // 2]:.1f} s a trial")
    try:
        with open("/proc/loadavg") as f:
            print("load average now:", f.read().split()[:3])
    except OSError:
        pass
    if a.json:
        Path(a.json).write_text(json.dumps(
            {"matrix": matrix, "reps": a.reps, "trials": a.trials,
             "results": res}, indent=1))
    shutil.rmtree(tmp, ignore_errors=True)
    for m in missed:
        print("below the bar:", m)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
