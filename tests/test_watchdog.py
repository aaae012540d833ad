# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
"""The bank's watchdog tells a deadlock from a starved worker.

A deadlock is a cycle of waiters: seen from outside the model, no running
worker progresses at all.  Sixty-four workers on two cores starve one
another for hundreds of milliseconds at a time (the kernel, retries, long
audits); that is a fairness figure the run reports, never a broken
invariant."""
import json
import os

import pytest

from conftest import SCALE, model_names, run_cb

MODELS = model_names()


@pytest.mark.parametrize("model", MODELS)
def test_starved_workers_are_not_a_deadlock(model):
    # A stall threshold far below what 64 workers on a busy 2-core machine
    # wait for their turn: before the watchdog looked at the workers as a
    # whole, every one of these runs was called a deadlock.
    # Scaled: under a sanitizer every operation is many times slower.
    stall_ms = int(100 * SCALE)
    p = run_cb("run", "-m", model, "-w", "bank", "-p", "tasks=64",
               "-p", "duration_ms=1000", "-p", f"stall_ms={stall_ms}",
               "--format", "json", timeout=120)
    d = json.loads(p.stdout)
    assert p.returncode == 0, d["reason"]
    met = d["metrics"]
    assert met["torn_audits"] == 0 and met["transfers"] > 0
    # The starvation is reported as figures instead.
    assert 0 < met["longest_stall_ns"]
    assert 0 <= met["starved_workers"] <= 64
    if met["starved_workers"]:
        assert met["longest_stall_ns"] >= stall_ms * 1000000


def test_naive_lock_order_is_still_a_deadlock(monkeypatch):
    if "locks" not in MODELS:
        pytest.skip("no locks model")
    # As in test_bank: the watchdog, not TSan's lock-order detector, is
    # what is tested here.
    tsan = os.environ.get("TSAN_OPTIONS", "")
    monkeypatch.setenv("TSAN_OPTIONS",
                       (tsan + ":" if tsan else "") + "detect_deadlocks=0")
    for accounts in (8, 10000):
        p = run_cb("run", "-m", "locks", "-w", "bank", "-p", "ordering=naive",
                   "-p", "tasks=64", "-p", f"accounts={accounts}",
                   "-p", "duration_ms=600000", "-p", "stall_ms=200",
                   "--format", "json", timeout=120)
        assert p.returncode == 3, p.stderr
        reason = json.loads(p.stdout)["reason"]
        assert "deadlock" in reason and "200 ms" in reason, reason
