# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
"""receive-block: on the actor model a send never waits for its receiver,
and a receive that matches nothing blocks only its own process; models
without selective receive say unsupported."""
import pytest

from conftest import run_cb, run_json


def test_actor_send_never_waits_and_receive_blocks_only_itself():
    d = run_json("run", "-m", "actor", "-w", "receive-block", "--quick",
                 "-p", "messages=700", "-p", "wait_ms=30")
    met = d["metrics"]
    assert met["sends_before_receive"] == 700
    assert met["unmatched_left"] == 700
    assert met["receive_timed_out"] == 1
    assert met["blocked_receive_ns"] >= 30e6
    assert met["others_round_trips"] >= 1


@pytest.mark.parametrize("model", ["csp", "locks", "threads", "stm"])
def test_without_selective_receive_unsupported(model):
    p = run_cb("run", "-m", model, "-w", "receive-block", "--quick")
    assert p.returncode == 4, p.stderr
    assert "selective receive" in p.stderr


@pytest.mark.parametrize("bad", ["messages=0", "wait_ms=0", "wait_ms=x"])
def test_bad_parameters(bad):
    p = run_cb("run", "-m", "actor", "-w", "receive-block", "-p", bad)
    assert p.returncode == 2, p.stderr
