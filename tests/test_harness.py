# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
"""The harness's own rules for wall-clock checks (tests/conftest.py):
a shape check that fails on a quiet machine fails, one that fails only
while the machine is busy is inconclusive, one that holds on a retry
passes; and the load measurement sees other processes' CPU time."""
import os
import subprocess
import sys
import time

import pytest

import conftest


class FakeLoad:
    """Stands in for MachineLoad: each block reports the next figure."""
    figures = []

    def __enter__(self):
        self.others = FakeLoad.figures.pop(0)
        return self

    def __exit__(self, *exc):
        return False


@pytest.fixture
def fake_load(monkeypatch):
    monkeypatch.setattr(conftest, "MachineLoad", FakeLoad)
    return FakeLoad.figures


def test_a_miss_on_a_quiet_machine_fails(fake_load):
    fake_load[:] = [0.05, 0.05, 0.05]
    with pytest.raises(pytest.fail.Exception, match="quiet machine"):
        conftest.shape_check(lambda: 1, lambda r: "too slow")


def test_misses_on_a_busy_machine_are_inconclusive(fake_load):
    fake_load[:] = [0.9, 0.8, 0.95]
    with pytest.raises(pytest.skip.Exception, match="inconclusive: too slow"):
        conftest.shape_check(lambda: 1, lambda r: "too slow")


def test_a_busy_miss_then_a_quiet_miss_fails(fake_load):
    fake_load[:] = [0.9, 0.01, 0.9]
    with pytest.raises(pytest.fail.Exception):
        conftest.shape_check(lambda: 1, lambda r: "too slow")


def test_a_shape_that_holds_on_a_retry_passes(fake_load):
    fake_load[:] = [0.9, 0.9, 0.9]
    results = iter([1, 2, 3])
    got = conftest.shape_check(lambda: next(results),
                               lambda r: None if r == 2 else "odd")
    assert got == 2


def test_other_processes_cpu_is_seen():
    """Spinners this process does not wait for inside the block are other
    processes: their CPU time shows up, whatever else the machine does
    (a lower bound, so a busy machine only raises the figure)."""
    n = os.cpu_count() or 1
    spin = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
            for _ in range(n)]
    try:
        time.sleep(0.3)  # let them start
        with conftest.MachineLoad() as load:
            time.sleep(1.0)
    finally:
        for p in spin:
            p.kill()
        for p in spin:
            p.wait()
    # n spinners on n CPUs beside a sleeping test: most of the machine,
    # less whatever share a busy machine gives them.
    assert load.others > 0.25, load.others
