# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
"""The bank workload on every model: the total never changes, no audit is
torn, and a lock-ordering deadlock is reported, never hung on.

The invariant is checked inside the workload (every audit and the final
state); here it is restated from the outside over sizes, seeds and audit
shares drawn by hypothesis, so a model that loses or duplicates money
under some interleaving fails with the parameters that found it."""
import json
import os
import time

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import SCALE, model_names, run_cb, run_json

MODELS = model_names()


def bank(model, *params, timeout=120, check=0):
    args = ["run", "-m", model, "-w", "bank", "--quick"]
    for p in params:
        args += ["-p", p]
    return run_json(*args, timeout=timeout, check=check)


@pytest.mark.parametrize("model", MODELS)
@settings(max_examples=6, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
# At most 64 accounts: an audit on a lock-based model holds every
# account's lock at once, and TSan's deadlock detector (on in the TSan
# variant of this suite) tracks at most 64 locks held by one thread.
@given(accounts=st.integers(2, 64), tasks=st.integers(1, 6),
       audit_pct=st.integers(0, 60), seed=st.integers(0, 2**31),
       ops=st.integers(1, 4000))
def test_total_conserved(model, accounts, tasks, audit_pct, seed, ops):
    d = bank(model, f"accounts={accounts}", f"tasks={tasks}",
             f"audit_pct={audit_pct}", f"ops={ops}", f"seed={seed}")
    assert d["outcome"] == "ok"
    met = d["metrics"]
    # Every operation is a transfer or an audit, and none was torn.
    assert met["transfers"] + met["audits"] == tasks * ops
    assert met["ops"] == met["transfers"]
    assert met["torn_audits"] == 0
    assert 0 <= met["declined"] <= met["transfers"]


@pytest.mark.parametrize("model", MODELS)
def test_audits_never_torn_under_contention(model):
    # Two accounts, half the operations audits: every transfer crosses
    # the only pair an audit reads, so a torn read would be caught.
    d = bank(model, "accounts=2", "tasks=4", "audit_pct=50", "ops=20000",
             "max_amount=1000")
    met = d["metrics"]
    assert d["outcome"] == "ok"
    assert met["audits"] > 1000 and met["transfers"] > 1000
    assert met["torn_audits"] == 0
    assert met["audit_latency_ns"]["count"] == met["audits"]


@pytest.mark.parametrize("model", MODELS)
def test_timed_run_reports_throughput(model):
    d = bank(model, "duration_ms=100")
    met = d["metrics"]
    assert met["transfers"] > 0
    assert met["throughput_ops_s"] > 0


def test_naive_ordering_deadlock_is_reported(monkeypatch):
    if "locks" not in MODELS:
        pytest.skip("no locks model")
    # The deadlock is the point here; under TSan its lock-order detector
    # would report the inversion first (rightly), so this run leaves the
    # finding to the workload's watchdog.
    tsan = os.environ.get("TSAN_OPTIONS", "")
    monkeypatch.setenv("TSAN_OPTIONS",
                       (tsan + ":" if tsan else "") + "detect_deadlocks=0")
    stall_ms = 200
    t0 = time.monotonic()
    p = run_cb("run", "-m", "locks", "-w", "bank", "-p", "ordering=naive",
               "-p", "duration_ms=600000", "-p", f"stall_ms={stall_ms}",
               "-p", "tasks=4", "--format", "json", timeout=120)
    elapsed = time.monotonic() - t0
    # Exit 3 with the reason: the run is a deadlock result, not figures.
    assert p.returncode == 3, p.stderr
    d = json.loads(p.stdout)
    assert d["outcome"] == "failed"
    reason = d["repetitions"][0]["reason"]
    assert "deadlock" in reason and f"{stall_ms} ms" in reason
    # Found long before the 10-minute run would have ended by itself.
    assert elapsed < 60 * SCALE


@pytest.mark.parametrize("lock", ["mutex", "spin", "rwlock"])
def test_locks_kinds_conserve(lock):
    if "locks" not in MODELS:
        pytest.skip("no locks model")
    d = bank("locks", f"lock={lock}", "accounts=16", "tasks=4",
             "audit_pct=20", "ops=20000")
    assert d["outcome"] == "ok"
    assert d["metrics"]["torn_audits"] == 0
    c = d["counters"]
    # Each transfer takes two locks and each audit sixteen.
    m = d["metrics"]
    assert c["acquisitions"] >= 2 * m["transfers"] + 16 * m["audits"]


def test_bad_parameters_are_usage_errors():
    p = run_cb("run", "-m", "threads", "-w", "bank", "--quick",
               "-p", "accounts=1")
    assert p.returncode == 2 and "accounts" in p.stderr
    p = run_cb("run", "-m", "threads", "-w", "bank", "--quick",
               "-p", "audit_pct=101")
    assert p.returncode == 2
    if "stm" in MODELS and "locks" in MODELS:
        # Lock ordering means nothing to a transaction: not a parameter of
        # stm, so it does not apply there (a bad value is still refused).
        p = run_cb("run", "-m", "stm", "-w", "bank", "--quick",
                   "-p", "ordering=sideways")
        assert p.returncode == 2 and "ordering" in p.stderr
        p = run_cb("run", "-m", "stm", "-w", "bank", "--quick",
                   "-p", "ordering=naive")
        assert p.returncode == 0 and "does not apply" in p.stderr
