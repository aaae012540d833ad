# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
"""channel-semantics: every promise of CSP channels holds, counted, on the
models that have such channels, and the others say unsupported."""
import pytest

from conftest import run_cb, run_json

PROMISES = {
    "rendezvous_early_puts": 0,
    "fixed_puts_past_capacity": 0,
    "sliding_kept_newest": 1,
    "dropping_kept_oldest": 1,
    "closed_drained": 4,
    "closed_lost": 0,
    "closed_takes_not_nil": 0,
    "closed_puts_accepted": 0,
    "read_twice": 0,
    "never_read": 0,
    "alts_taken": 100,
    "alts_wrong_channel": 0,
}


@pytest.mark.parametrize("model", ["csp", "locks", "threads"])
def test_promises_hold(model):
    d = run_json("run", "-m", model, "-w", "channel-semantics", "--quick")
    met = d["metrics"]
    for name, want in PROMISES.items():
        assert met[name] == want, (name, met)
    assert 1 <= met["readers_served"] <= 4
    assert met["ops"] > 10000


def test_capacity_and_readers_follow_parameters():
    d = run_json("run", "-m", "csp", "-w", "channel-semantics", "--quick",
                 "-p", "capacity=7", "-p", "readers=3", "-p", "messages=500",
                 "-p", "alts_rounds=9")
    met = d["metrics"]
    assert met["closed_drained"] == 7
    assert met["alts_taken"] == 9
    assert met["read_twice"] == 0 and met["never_read"] == 0
    assert met["readers_served"] <= 3


@pytest.mark.parametrize("model", ["actor", "stm"])
def test_models_without_such_channels_are_unsupported(model):
    p = run_cb("run", "-m", model, "-w", "channel-semantics", "--quick")
    assert p.returncode == 4, p.stderr
    assert "rendezvous" in p.stderr


@pytest.mark.parametrize("bad", ["capacity=0", "readers=0", "wait_ms=0",
                                 "messages=x"])
def test_bad_parameters(bad):
    p = run_cb("run", "-m", "csp", "-w", "channel-semantics", "-p", bad)
    assert p.returncode == 2, p.stderr
    assert bad.split("=")[0] in p.stderr
