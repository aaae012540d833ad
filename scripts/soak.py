#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
"""scripts/soak.py: long runs of the invariants, not in the default suite.

  bank           per model, ten million transfers (--transfers) at high
                 contention (8 accounts) and at low (64 accounts: the most
                 one atomic update may name in the actor model, whose
                 audit of every account is one), 1% of the operations
                 audits of every account, 4 workers: the run must end
                 "ok" (the workload checks that every audit and the final
                 state sum to accounts x initial), with 0 torn audits and
                 transfers + audits = tasks x ops;
  mailbox-flood  per model and port policy (the model's default, fixed,
                 dropping, sliding), producers flooding a consumer for
                 --flood-ms: sent - dropped = received, exactly.

A model that does not support a policy says so (exit 4) and is listed as
such.  Prints one line per run with its figures and the time it took, and
exits 1 if any invariant broke.  Example (about 10 minutes on 2 cores):

    scripts/soak.py --build build
    scripts/soak.py --models threads --transfers 1000000   # a quick look
"""
import argparse
import json
import math
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AUDIT_PCT = 1


def concbench(build, args, timeout):
    t0 = time.monotonic()
    p = subprocess.run([str(build / "runner" / "concbench"), *args],
                       capture_output=True, text=True, timeout=timeout + 60)
    secs = time.monotonic() - t0
    try:
        d = json.loads(p.stdout)
    except ValueError:
        d = None
    return p, d, secs


def bank(build, model, accounts, a):
    # Enough operations per worker that the transfers (all but the
    # audits) reach the target.
    ops = math.ceil(a.transfers / (a.tasks * (1 - AUDIT_PCT / 100)))
    p, d, secs = concbench(build, [
        "run", "-m", model, "-w", "bank", "-p", f"accounts={accounts}",
        "-p", f"tasks={a.tasks}", "-p", f"ops={ops}",
        "-p", f"audit_pct={AUDIT_PCT}", "-p", "stall_ms=60000",
        "--timeout", str(a.timeout), "--format", "json"], a.timeout)
    label = f"bank {model:8} accounts={accounts:<5}"
    if p.returncode == 4:
        return label, "unsupported", secs, True
    bad = []
    if p.returncode != 0 or not d or d.get("outcome") != "ok":
        reason = d and (d.get("reason") or d.get("outcome"))
        bad.append(f"exit {p.returncode}: {reason or p.stderr.strip()[-300:]}")
        return label, "; ".join(bad), secs, False
    m = d["metrics"]
    if m["torn_audits"] != 0:
        bad.append(f"{m['torn_audits']} torn audits")
    if m["transfers"] + m["audits"] != a.tasks * ops:
        bad.append(f"transfers + audits = {m['transfers'] + m['audits']}, "
                   f"not {a.tasks * ops}")
    figures = (f"{m['transfers']:>9} transfers, {m['audits']:>6} audits, "
               f"{m['torn_audits']} torn, final total right, "
               f"{m['throughput_ops_s'] / 1e6:6.2f} M/s")
    return label, "; ".join(bad) if bad else figures, secs, not bad


def flood(build, model, policy, a):
    p, d, secs = concbench(build, [
        "run", "-m", model, "-w", "mailbox-flood", "-p", f"policy={policy}",
        "-p", f"duration_ms={a.flood_ms}", "-p", "producers=4",
        "-p", "capacity=1024", "-p", "consume_ns=0",
        "--timeout", str(a.timeout), "--format", "json"], a.timeout)
    label = f"flood {model:7} {policy:9}"
    if p.returncode == 4:
        return label, "unsupported by the model", secs, True
    if p.returncode != 0 or not d or d.get("outcome") != "ok":
        reason = d and (d.get("reason") or d.get("outcome"))
        return (label, f"exit {p.returncode}: "
                f"{reason or p.stderr.strip()[-300:]}", secs, False)
    m = d["metrics"]
    sent, dropped, received = m["ops"], m["dropped"], m["received"]
    ok = sent - dropped == received
    figures = (f"sent {sent:>9} - dropped {dropped:>9} = {sent - dropped:>9}"
               f" {'==' if ok else '!='} received {received:>9}")
    return label, figures, secs, ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=str(ROOT / "build"))
    ap.add_argument("--models", default="",
                    help="comma list (default: every registered model)")
    ap.add_argument("--transfers", type=int, default=10_000_000)
    ap.add_argument("--tasks", type=int, default=4)
    ap.add_argument("--flood-ms", type=int, default=5000)
    ap.add_argument("--timeout", type=int, default=3600,
                    help="seconds per run")
    a = ap.parse_args()
    build = Path(a.build).resolve()
    if a.models:
        models = a.models.split(",")
    else:
        out = subprocess.run([str(build / "runner" / "concbench"), "list",
                              "models"], capture_output=True, text=True,
                             check=True).stdout
        models = [x.split()[0] for x in out.splitlines() if x.strip()]
    t_all = time.monotonic()
    broken = 0
    for model in models:
        runs = [lambda m=model, n=n: bank(build, m, n, a) for n in (8, 64)]
        runs += [lambda m=model, pol=pol: flood(build, m, pol, a)
                 for pol in ("default", "fixed", "dropping", "sliding")]
        for run in runs:
            label, what, secs, ok = run()
            broken += not ok
            print(f"{'ok ' if ok else 'BAD'} {label} {what} ({secs:.1f} s)",
                  flush=True)
    print(f"soak: {len(models)} models, {broken} broken, "
          f"{time.monotonic() - t_all:.0f} s in all")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
