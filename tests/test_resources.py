# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
"""Running out of a resource is its own outcome, found early.

A run whose estimate needs more threads than the model's executor may
start, or than the kernel allows, is refused at once with exit 5 and the
limit named, instead of hanging until the timeout or failing after
minutes as a broken invariant; threads that cannot be created during a
run are the "resource" outcome too, never a broken invariant."""
import json
import os
import resource
import subprocess

import pytest

from conftest import CONCBENCH, SCALE, model_names, run_cb

MODELS = model_names()
POOLS = [m for m in ("locks", "stm") if m in MODELS]


def sanitized():
    from conftest import BUILD
    cache = BUILD / "CMakeCache.txt"
    return cache.exists() and any(
        line.startswith("CB_SANITIZE:") and line.strip().split("=", 1)[1]
        for line in cache.read_text().splitlines())


@pytest.mark.parametrize("model", POOLS)
def test_spawn_above_max_threads_is_refused_at_once(model):
    # Every spawned task parks in a receive and so holds a pool thread:
    # past max_threads the rest would queue behind them for ever.  The
    # hang guard is far below the repetition's own timeout, so a run that
    # waited would fail here.
    guard = ("--timeout", str(int(300 * SCALE)))
    for args in (["-p", "tasks=2000", "-p", "max_threads=100"], []):
        p = run_cb("run", "-m", model, "-w", "spawn", *args, *guard,
                   timeout=60)
        assert p.returncode == 5, p.stderr
        assert "max_threads" in p.stderr and "resource" in p.stderr
    # Within the cap the same run finishes.
    p = run_cb("run", "-m", model, "-w", "spawn", "-p", "tasks=200",
               "-p", "max_threads=300", "--format", "json", *guard,
               timeout=120, check=0)
    assert json.loads(p.stdout)["metrics"]["ops"] == 200


def test_more_threads_than_the_kernel_allows_are_refused():
    with open("/proc/sys/kernel/pid_max") as f:
        pid_max = int(f.read())
    p = run_cb("run", "-m", "threads", "-w", "spawn",
               "-p", f"tasks={pid_max + 1}", timeout=60)
    assert p.returncode == 5, p.stderr
    assert "threads" in p.stderr and "lower the sizes" in p.stderr


def test_a_low_process_limit_is_refused_before_the_run():
    """RLIMIT_NPROC, which the kernel ignores for root: run as nobody."""
    def limit():
        resource.setrlimit(resource.RLIMIT_NPROC, (60, 60))
        if os.geteuid() == 0:
            os.setgid(65534)
            os.setuid(65534)
    p = subprocess.run([str(CONCBENCH), "run", "-m", "threads", "-w",
                        "spawn", "-p", "tasks=200"], preexec_fn=limit,
                       capture_output=True, text=True, timeout=60 * SCALE)
    if "Permission denied" in p.stderr or p.returncode == 126:
        pytest.skip("the build is not readable by nobody")
    assert p.returncode == 5, p.stderr
    assert "ulimit -u" in p.stderr


def test_thread_exhaustion_during_a_run_is_a_resource_outcome():
    """64 MiB stacks under a 2 GiB address-space limit: pthread_create
    fails with EAGAIN after some 30 threads, past every check made before
    the run (address space is not memory, and is not checked)."""
    if sanitized():
        pytest.skip("a sanitizer reserves terabytes of address space")

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
    p = subprocess.run([str(CONCBENCH), "run", "-m", "threads", "-w",
                        "spawn", "-p", "tasks=200", "-p", "stack=65536",
                        "--format", "json"], preexec_fn=limit,
                       capture_output=True, text=True, timeout=60 * SCALE)
    assert p.returncode == 5, p.stderr
    d = json.loads(p.stdout)
    assert d["outcome"] == "resource"
    assert "out of threads" in d["reason"]


def test_matrix_records_the_cell_that_cannot_fit(tmp_path):
    if not POOLS:
        pytest.skip("no executor model")
    out = tmp_path / "m"
    p = run_cb("matrix", "-m", POOLS[0], "-w", "spawn", "-p",
               "tasks=10,2000", "-p", "max_threads=100", "--reps", "1",
               "--timeout", str(int(300 * SCALE)), "-q", "-o", out,
               timeout=120)
    assert p.returncode == 5, p.stderr
    with open(out / "runs.jsonl") as f:
        runs = [json.loads(line) for line in f][1:]
    by_tasks = {r["params"]["tasks"]: r for r in runs}
    assert by_tasks[10]["outcome"] == "ok"
    assert by_tasks[2000]["outcome"] == "resource"
    assert "max_threads" in by_tasks[2000]["reason"]
    cells = (out / "cells.csv").read_text().splitlines()
    assert "resource" in cells[0]


def tsan_build():
    from conftest import BUILD
    cache = BUILD / "CMakeCache.txt"
    return cache.exists() and any(
        line.startswith("CB_SANITIZE:") and "thread" in line
        for line in cache.read_text().splitlines())


@pytest.mark.parametrize("model", [m for m in ("threads", "locks")
                                   if m in MODELS])
def test_an_audit_past_tsans_lock_limit_is_a_resource(model, monkeypatch):
    """TSan's deadlock detector holds 64 locks per thread and aborts the
    process at the 65th; a TSan build refuses such an audit instead."""
    tsan = os.environ.get("TSAN_OPTIONS", "")
    monkeypatch.setenv("TSAN_OPTIONS", (tsan + ":" if tsan else "")
                       + "detect_deadlocks=1")
    p = run_cb("run", "-m", model, "-w", "bank", "--quick",
               "-p", "accounts=100", "-p", "ops=200", "--format", "json")
    d = json.loads(p.stdout)
    if tsan_build():
        assert p.returncode == 5, p.stderr
        assert d["outcome"] == "resource" and "locks" in d["reason"], d
    else:
        assert p.returncode == 0 and d["metrics"]["torn_audits"] == 0


def test_sizes_past_tsans_memory_are_refused_at_once():
    if not tsan_build():
        pytest.skip("the limit of a ThreadSanitizer build")
    # 1.1 M tasks at some 0.85 MB of TSan state each: refused, not paged.
    p = run_cb("run", "-m", "actor", "-w", "skynet", timeout=60)
    assert p.returncode == 5, p.stderr
    assert "ThreadSanitizer" in p.stderr
