# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
"""A repetition's child process never outlives its runner.

A runner killed with SIGKILL cannot clean up: the kernel must end the
child (PR_SET_PDEATHSIG), or a hung repetition runs on for ever.  And a
hung child ends on SIGTERM like any program, whatever handlers the runner
had installed when it forked."""
import json
import os
import signal
import subprocess
import time

import pytest

from conftest import CONCBENCH, SCALE


def children(pid):
    """The child pids of pid, from /proc (Linux 3.5+)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(c) for c in f.read().split()]
    except FileNotFoundError:
        return []


def group_alive(pgid):
    """Live (not zombie) processes whose process group is pgid."""
    alive = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        state, pgrp = fields[0], int(fields[2])
        if pgrp == pgid and state not in ("Z", "X"):
            alive.append(int(entry))
    return alive


def wait_for(cond, seconds):
    """Poll cond until it is true or seconds (scaled) pass; its value."""
    end = time.monotonic() + seconds * SCALE
    while True:
        v = cond()
        if v or time.monotonic() > end:
            return v
        time.sleep(0.05)


def hung_matrix(tmp_path):
    env = dict(os.environ, CONCBENCH_INJECT_FAULT="hang@bank")
    runner = subprocess.Popen(
        [str(CONCBENCH), "matrix", "-m", "threads", "-w", "bank", "--quick",
         "--reps", "1", "--timeout", "600", "-q", "-o", str(tmp_path / "r")],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    kids = wait_for(lambda: children(runner.pid), 60)
    if not kids:
        runner.kill()
        runner.wait()
        pytest.fail("the matrix started no child")
    return runner, kids[0]


def test_killed_runner_leaves_no_child(tmp_path):
    runner, child = hung_matrix(tmp_path)
    # The matrix puts each repetition in a process group of its own.  The
    # child appears in /proc before either side's setpgid has run, so the
    # group is waited for, not read once.
    assert wait_for(lambda: group_alive(child) == [child], 10), \
        f"the child {child} never led a process group of its own"
    runner.send_signal(signal.SIGKILL)
    runner.wait()
    # A hang guard, not a timing: the kernel ends the child at once.
    left = wait_for(lambda: not group_alive(child), 10) or group_alive(child)
    if left is not True:
        for pid in left:
            os.kill(pid, signal.SIGKILL)
    assert left is True, f"children outlived their runner: {left}"


def test_hung_child_ends_on_sigterm(tmp_path):
    runner, child = hung_matrix(tmp_path)
    os.kill(child, signal.SIGTERM)
    try:
        rc = runner.wait(timeout=60 * SCALE)
    except subprocess.TimeoutExpired:
        runner.kill()
        runner.wait()
        pytest.fail("a hung child ignored SIGTERM")
    # Recorded as what it was, a repetition killed by a signal.
    assert rc == 1
    with open(tmp_path / "r" / "runs.jsonl") as f:
        runs = [json.loads(line) for line in f]
    run = [r for r in runs if r["type"] == "run"][0]
    assert run["outcome"] == "crashed" and "signal 15" in run["reason"], run
