# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
"""The stm model: its core's unit cases one by one (tests/c/test_stm.c),
and what the model shows through concbench — aborts by cause, retries that
block receivers, snapshot isolation, and the executor it shares with the
locks model growing only while tasks block."""
import subprocess

import pytest

from conftest import CTEST_DIR, SCALE, model_names, run_json

BIN = CTEST_DIR / "test_stm"
pytestmark = pytest.mark.skipif("stm" not in model_names(),
                                reason="no stm model in this build")


def core_cases():
    if not BIN.exists():
        return []
    return subprocess.run([str(BIN), "--list"], capture_output=True,
                          text=True, check=True).stdout.split()


@pytest.mark.parametrize("case", core_cases())
def test_core(case):
    p = subprocess.run([str(BIN), case], capture_output=True, text=True,
                       timeout=120 * SCALE)
    assert p.returncode == 0, f"{case}: exit {p.returncode}\n{p.stderr}"


def test_core_cases_listed():
    assert {"validation", "lock_order", "clock_overflow", "retry_wakes",
            "commute", "ensure"} <= set(core_cases())


def test_bank_counts_commits_and_aborts_by_cause():
    d = run_json("run", "-m", "stm", "-w", "bank", "--quick",
                 "-p", "tasks=4", "-p", "ops=20000", "-p", "audit_pct=10")
    c, m = d["counters"], d["metrics"]
    # One committed update per transfer, besides the few messages that
    # start and stop each worker (ports are transactional queues too);
    # one read-only commit per audit, and one for the final check.
    assert 0 <= c["commits"] - m["transfers"] <= 8 * 4
    assert c["commits_read_only"] == m["audits"] + 1
    causes = [k for k in c if k.startswith("aborts_")]
    assert len(causes) == 7
    assert c["aborts"] == sum(c[k] for k in causes)
    assert c["write_set_max"] >= 2  # a transfer; a send writes 4
    assert c["read_set_max"] == 8  # an audit of the 8 quick accounts


def test_snapshot_isolation_conserves_transfers():
    # A transfer writes both refs it reads, so write-write conflicts
    # cover it even without ensure.
    d = run_json("run", "-m", "stm", "-w", "bank", "--quick",
                 "-p", "isolation=snapshot", "-p", "tasks=4",
                 "-p", "ops=20000", "-p", "audit_pct=20")
    assert d["outcome"] == "ok"
    assert d["metrics"]["torn_audits"] == 0


def test_fixed_port_senders_retry():
    # A full transactional queue makes senders retry: they block until a
    # take changes the `takes` ref they read.
    d = run_json("run", "-m", "stm", "-w", "mailbox-flood", "--quick",
                 "-p", "policy=fixed", "-p", "capacity=8")
    c = d["counters"]
    assert c["retries"] > 0
    assert c["retry_wakeups"] > 0
    assert c["max_queue_len"] <= 8


@pytest.mark.parametrize("model", ["locks", "stm"])
def test_compensation_only_while_blocking(model):
    # One worker that never blocks once it runs: no spare starts.
    d = run_json("run", "-m", model, "-w", "bank", "--quick",
                 "-p", "tasks=1", "-p", "ops=2000", "--cpus", "0")
    c = d["counters"]
    assert c["threads_started"] == 1 and c["spares_started"] == 0
    # Twenty workers each parked on IO at once need spares.
    d = run_json("run", "-m", model, "-w", "io-fanout", "--quick",
                 "-p", "tasks=20", "-p", "ops=3", "--cpus", "0")
    c = d["counters"]
    assert c["spares_started"] >= 10
    assert c["blocks"] > 0 and c["blocked_ns"] > 0
