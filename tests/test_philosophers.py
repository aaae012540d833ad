# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
"""Dining philosophers on every model: the ordered table feeds everyone
with neighbours never eating together; the naive table deadlocks and is
reported as a deadlock (exit 3, who held which fork), never hung on."""
import pytest

from conftest import model_names, run_cb, run_json, scaled

MODELS = model_names()


@pytest.mark.parametrize("model", MODELS)
def test_ordered_feeds_everyone(model):
    d = run_json("run", "-m", model, "-w", "philosophers", "--quick",
                 "-p", "tasks=5", "-p", "meals=100", "-p", "think_us=10",
                 "--timeout", scaled(60))
    assert d["outcome"] == "ok", d.get("reason")
    assert d["metrics"]["meals"] == 500
    assert 0 < d["metrics"]["fairness_jain"] <= 1


@pytest.mark.parametrize("model", MODELS)
def test_naive_deadlocks_and_says_so(model):
    p = run_cb("run", "-m", model, "-w", "philosophers", "--quick",
               "-p", "order=naive", "-p", "between_us=1000",
               "-p", "stall_ms=300", "--timeout", scaled(60))
    assert p.returncode == 3, p.stdout + p.stderr
    assert "deadlock: philosopher" in p.stderr and "held fork" in p.stderr
