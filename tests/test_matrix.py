# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
"""concbench matrix: failures recorded, resume, pinning, progress, bad input.

Every matrix here uses --quick sizes, tiny parameters and one or two
repetitions; models and workloads come from `concbench list`, never by
name, except where a test needs a workload with a `tasks` parameter and
finds it through `describe`.
"""
import csv
import json
import os
import shutil
import signal
import subprocess
import time

import pytest

from conftest import (CONCBENCH, SCALE, model_names, run_cb, scaled,
                      workload_names)


def params_of(workload):
    """Parameter names `describe` lists for a workload."""
    out = run_cb("describe", workload, check=0).stdout
    names, inside = [], False
    for line in out.splitlines():
        if line.startswith("parameters:"):
            inside = True
        elif inside and line.startswith("  ") and not line.startswith("    "):
            names.append(line.split()[0])
        elif inside and line and not line.startswith(" "):
            inside = False
    return names


def countable(workload):
    """Whether the workload accepts --metric instructions (`describe`
    says when it refuses)."""
    out = run_cb("describe", workload, check=0).stdout
    return "instruction counts (--metric instructions): refused" not in out


def tasks_workload(counted=False):
    """A workload with a `tasks` parameter (io-fanout today); with
    counted, one that accepts instruction counting."""
    for w in workload_names():
        if "tasks" in params_of(w) and (not counted or countable(w)):
            return w
    pytest.skip("no workload has a tasks parameter")


def first_models(n=1):
    """The first n registered models, as a -m list: the tests stay small
    however many models exist."""
    return ",".join(model_names()[:n])


def some_workloads(n=3, counted=False):
    """A -w list of at most n workloads, the tasks workload among them."""
    names = [tasks_workload(counted)]
    names += [w for w in workload_names() if w not in names]
    return ",".join(names[:n])


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_faults_are_recorded_and_the_rest_finishes(tmp_path):
    """One cell crashes, one blows its memory cap, one breaks its
    invariant: each is recorded with its reason, the others run.  The
    hang has a matrix of its own: the timeout that makes a hang test
    quick is one that an out-of-memory child, filling 512 MiB on a busy
    machine, or a healthy cell can outlast (recorded as a timeout 2 runs
    in 3 on a loaded 2-core machine); here the timeout is a generous hang
    guard that none of these cells needs."""
    w = tasks_workload()
    out = tmp_path / "faults"
    env = dict(os.environ,
               CONCBENCH_INJECT_FAULT="crash@tasks=2,"
                                      "oom@tasks=4,invariant@tasks=5")
    p = subprocess.run(
        [str(CONCBENCH), "matrix", "-m", first_models(), "-w", w,
         "--quick", "--reps", "1",
         "-p", "tasks=1,2,4,5,6", "-p", "ops=1",
         "--timeout", scaled(120), "--mem-cap", "512Mi", "-o", str(out)],
        capture_output=True, text=True, env=env, timeout=600 * SCALE)
    # A broken invariant outranks crashes in the exit status.
    assert p.returncode == 3, p.stderr
    runs = [r for r in read_jsonl(out / "runs.jsonl") if r["type"] == "run"]
    assert len(runs) == 5
    by_tasks = {}
    for r in runs:
        by_tasks.setdefault(r["params"]["tasks"], []).append(r)
    for r in by_tasks[2]:
        # SIGSEGV; a sanitizer catches it first and aborts or exits.
        assert r["outcome"] == "crashed", r
        assert "signal" in r["reason"] or "status" in r["reason"], r
    for r in by_tasks[4]:
        assert r["outcome"] == "oom", r
        assert "over the cap of 512.0 MiB" in r["reason"], r
    for r in by_tasks[5]:
        assert r["outcome"] == "failed", r
        assert "injected fault" in r["reason"], r
    for t in (1, 6):
        for r in by_tasks[t]:
            assert r["outcome"] in ("ok", "unsupported"), r
            if r["outcome"] == "ok":
                assert r["metrics"]["elapsed_ns"] > 0
    cells = read_csv(out / "cells.csv")
    assert {c["crashed"] for c in cells if c["tasks"] == "2"} == {"1"}
    assert {c["oom"] for c in cells if c["tasks"] == "4"} == {"1"}


def test_a_hang_is_a_timeout_and_the_rest_finishes(tmp_path):
    """A hung cell is killed at --timeout and recorded as a timeout with
    its reason; the cell after it still runs and is recorded.  The hang
    costs the whole timeout, so it is short; the other cell's outcome is
    whatever a short timeout gives it on this machine (ok, or a timeout
    when the machine is saturated), but it is never lost."""
    w = tasks_workload()
    out = tmp_path / "hang"
    env = dict(os.environ, CONCBENCH_INJECT_FAULT="hang@tasks=3")
    p = subprocess.run(
        [str(CONCBENCH), "matrix", "-m", first_models(), "-w", w,
         "--quick", "--reps", "1", "--order", "sequential",
         "-p", "tasks=3,1", "-p", "ops=1",
         "--timeout", scaled(2), "-o", str(out)],
        capture_output=True, text=True, env=env, timeout=120 * SCALE)
    assert p.returncode == 1, p.stderr
    runs = [r for r in read_jsonl(out / "runs.jsonl") if r["type"] == "run"]
    assert len(runs) == 2
    by_tasks = {r["params"]["tasks"]: r for r in runs}
    hung = by_tasks[3]
    assert hung["outcome"] == "timeout" and "hang" in hung["reason"], hung
    assert by_tasks[1]["outcome"] in ("ok", "unsupported", "timeout")


def test_resume_after_interruption(tmp_path):
    """Ctrl-C keeps what finished; --resume runs only the rest, and a
    line cut short by the interruption is repaired."""
    out = tmp_path / "resume"
    ws = some_workloads(3)
    args = [str(CONCBENCH), "matrix", "-m", first_models(2), "-w", ws,
            "--quick", "--reps", "2", "-p", "duration_ms=100", "--seed",
            "7", "-o", str(out)]
    if not any("duration_ms" in params_of(w) for w in ws.split(",")):
        args = [a for a in args if a not in ("-p", "duration_ms=100")]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    runs_file = out / "runs.jsonl"
    deadline = time.time() + 60 * SCALE
    while time.time() < deadline:
        if runs_file.exists() and len(runs_file.read_text().splitlines()) >= 3:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60 * SCALE)
    if proc.returncode != 130:
        pytest.skip("the matrix finished before it could be interrupted")
    assert "--resume" in err
    before = [r for r in read_jsonl(runs_file) if r["type"] == "run"]
    # Simulate the write an interruption cut in the middle.
    with open(runs_file, "a") as f:
        f.write('{"schema_version":1,"type":"run","mod')
    p = run_cb("compare", out, out, check=2)
    assert "truncated" in p.stderr
    run_cb(*args[1:], "--resume", timeout=300, check=0)
    after = [r for r in read_jsonl(runs_file) if r["type"] == "run"]
    keys = [(r["label"], r["rep"], r["warmup"]) for r in after]
    assert len(keys) == len(set(keys)), "a repetition ran twice"
    header = read_jsonl(runs_file)[0]
    assert len(after) == header["cells"] * 2
    assert after[:len(before)] == before
    # The order is the seeded one: resumed runs continue the sequence.
    assert [r["order"] for r in after] == sorted(r["order"] for r in after)


def test_resume_refuses_another_matrix(tmp_path):
    out = tmp_path / "m"
    w = workload_names()[0]
    m = first_models()
    run_cb("matrix", "-m", m, "-w", w, "--quick", "--reps", "1", "-o", out,
           check=0)
    p = run_cb("matrix", "-m", m, "-w", w, "--quick", "--reps", "2", "-o",
               out, "--resume", check=2)
    assert "different matrix" in p.stderr
    p = run_cb("matrix", "-m", m, "-w", w, "--quick", "--reps", "1", "-o",
               out, check=2)
    assert "--resume" in p.stderr


def test_dry_run_lists_cells_and_estimates(tmp_path):
    w = tasks_workload()
    p = run_cb("matrix", "--quick", "--dry-run", "-p", "tasks=1,2,3",
               "--reps", "2", "-o", tmp_path / "x", check=0)
    nw = len(workload_names())
    nm = len(run_cb("list", "models", check=0).stdout.splitlines())
    ntasks = sum(1 for x in workload_names() if "tasks" in params_of(x))
    ncells = nm * (nw - ntasks + 3 * ntasks)
    assert f"{ncells} cells x (0 warm-up + 2 reps) = {2 * ncells} runs" \
        in p.stdout
    assert "estimated time" in p.stdout
    assert f"{w}" in p.stdout and "tasks=3" in p.stdout
    assert not (tmp_path / "x").exists()


def test_placement_window_and_progress(tmp_path):
    """--cpus 0 keeps every thread on PU 0; the window is the workload's;
    progress appears only when asked for off a terminal."""
    out = tmp_path / "pin"
    w = tasks_workload()
    p = run_cb("matrix", "-m", first_models(2), "-w", w, "--quick",
               "--reps", "1", "--cpus", "0",
               "--progress", "always", "-p", "ops=1", "-o", out, check=0)
    assert "[1/" in p.stderr and "eta" in p.stderr
    runs = [r for r in read_jsonl(out / "runs.jsonl") if r["type"] == "run"]
    for r in runs:
        if r["outcome"] != "ok":
            continue
        pl = r["placement"]
        assert pl["cpus"] == [0]
        assert set(pl["seen_cpus"]) <= {0}, pl
        assert pl["samples"] >= 1 and pl["voluntary_ctx_switches"] >= 0
        assert r["window"]["synchronised"] is True
        assert r["window"]["length_ns"] == r["metrics"]["elapsed_ns"]
        assert r["window"]["open_after_ns"] >= 0
    machine = json.loads((out / "machine.json").read_text())
    for key in ("fingerprint", "cpu_model", "kernel", "governor", "vm",
                "cgroup_cpu_limit", "git_revision", "git_dirty", "seed",
                "compiler", "cflags", "pu_core", "cpu_flags"):
        assert key in machine, key
    assert machine["cpus"] == [0]
    q = run_cb("matrix", "-m", first_models(), "-w", w, "--quick",
               "--reps", "1", "--quiet",
               "-p", "ops=1", "-o", tmp_path / "quiet", check=0)
    assert q.stderr == ""
    d = run_cb("matrix", "-m", first_models(), "-w", w, "--quick",
               "--reps", "1", "-p", "ops=1",
               "-o", tmp_path / "default", check=0)
    assert "[1/" not in d.stderr  # stderr is not a terminal here


def test_order_is_interleaved_and_seeded(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    w = tasks_workload()
    common = ["matrix", "-m", first_models(), "-w", w, "--quick", "--reps",
              "2", "-p",
              "tasks=1,2,3", "-p", "ops=1", "--dry-run"]
    # The dry run does not show the order; run it for real, tiny.
    for d in (a, b):
        run_cb(*[x for x in common if x != "--dry-run"], "--seed", "3",
               "-o", d, check=0)
    la = [r["label"] for r in read_jsonl(a / "runs.jsonl")
          if r["type"] == "run"]
    lb = [r["label"] for r in read_jsonl(b / "runs.jsonl")
          if r["type"] == "run"]
    assert la == lb, "the same seed must give the same order"
    s = tmp_path / "s"
    run_cb(*[x for x in common if x != "--dry-run"], "--order",
           "sequential", "-o", s, check=0)
    ls = [r["label"] for r in read_jsonl(s / "runs.jsonl")
          if r["type"] == "run"]
    assert all(ls[i] == ls[i + 1] for i in range(0, len(ls), 2))


@pytest.mark.parametrize("args,message", [
    (["-m", "no-such-model"], "unknown model"),
    (["-w", "no-such-workload"], "unknown workload"),
    (["-p", "no_such_param=1,2"], "no selected workload or model"),
    (["-p", "tasks=1,,2"], "empty value"),
    (["-p", "tasks=1,1"], "given twice"),
    (["-p", "tasks=-5"], "tasks"),
    (["-p", "tasks=1", "-p", "tasks=2"], "given twice"),
    (["-p", "seed=1,2"], "--seed"),
    (["--placement", "diagonal"], "compact or scatter"),
    (["--cpus", "9999"], "--cpus"),
    (["--reps", "0"], "--reps"),
    (["--order", "sideways"], "random or sequential"),
    (["--progress", "sometimes"], "auto, always or never"),
    (["--mem-cap", "1k"], "below 1 MiB"),
    (["--export", "xml"], "bmf or gab"),
    (["-p", "tasks=1000000000000"], "tasks"),
])
def test_bad_arguments_exit_2(tmp_path, args, message):
    p = run_cb("matrix", "--quick", "-o", tmp_path / "bad", *args, check=2)
    assert message in p.stderr, p.stderr
    assert not (tmp_path / "bad" / "runs.jsonl").exists()


def test_output_folder_is_required():
    p = run_cb("matrix", "--quick", check=2)
    assert "-o DIR" in p.stderr


def sanitized_build():
    from conftest import BUILD
    cache = BUILD / "CMakeCache.txt"
    return cache.exists() and any(
        line.startswith("CB_SANITIZE:") and line.strip().split("=", 1)[1]
        for line in cache.read_text().splitlines())


@pytest.mark.skipif(shutil.which("valgrind") is None,
                    reason="valgrind is not installed")
def test_instruction_counts_under_callgrind(tmp_path):
    """Countable cells report instructions; cells whose point is
    parallelism are refused as unsupported with the workload's reason."""
    if sanitized_build():
        pytest.skip("valgrind cannot run sanitizer builds")
    w = tasks_workload(counted=True)
    out = tmp_path / "ins"
    run_cb("matrix", "-m", first_models(), "-w", some_workloads(3, True),
           "--quick", "--reps", "1", "--metric", "instructions",
           "-p", "tasks=2", "-p", "ops=1", "-o", out, timeout=600, check=0)
    runs = [r for r in read_jsonl(out / "runs.jsonl") if r["type"] == "run"]
    counted = [r for r in runs if r["outcome"] == "ok"]
    refused = [r for r in runs if r["outcome"] == "unsupported"]
    assert any(r["workload"] == w for r in counted)
    for r in counted:
        assert r["metrics"]["instructions"] > 10000
    for r in refused:
        if not countable(r["workload"]):
            assert r["reason"].startswith("no instruction count for")
    assert len(counted) + len(refused) == len(runs)
    run_cb("matrix", "--quick", "--metric", "cycles", "-o", tmp_path / "x",
           check=2)


def test_time_budget_skips_are_recorded_and_resumed(tmp_path):
    """--max-time stops starting runs; the rest are recorded as skipped,
    never dropped, and --resume runs exactly those."""
    out = tmp_path / "budget"
    timed = [w for w in workload_names() if "duration_ms" in params_of(w)]
    if not timed:
        pytest.skip("no workload has a duration_ms parameter")
    # Twenty runs of at least 50 ms each cannot fit in one second.
    args = ["matrix", "-m", first_models(), "-w", timed[0], "--quick",
            "--reps", "10", "-p",
            "duration_ms=50,51", "--max-time", "1", "-o", out]
    run_cb(*args, check=0)
    runs = [r for r in read_jsonl(out / "runs.jsonl") if r["type"] == "run"]
    assert len(runs) == 20  # every slot has a record
    skipped = [r for r in runs if r["outcome"] == "skipped"]
    assert skipped, "a 1 s budget cannot hold twenty runs of 50 ms"
    assert all("--max-time" in r["reason"] for r in skipped)
    cells = read_csv(out / "cells.csv")
    assert sum(int(c["skipped"]) for c in cells) == len(skipped)
    run_cb(*args[:-4], "-o", out, "--resume", check=0)
    runs = [r for r in read_jsonl(out / "runs.jsonl") if r["type"] == "run"]
    done = {(r["label"], r["rep"]) for r in runs if r["outcome"] != "skipped"}
    assert len(done) == 20


def test_run_json_reports_window_and_placement():
    w = tasks_workload()
    m = run_cb("list", "models", check=0).stdout.split()[0]
    p = run_cb("run", "-m", m, "-w", w, "--quick", "-p", "ops=1",
               "--format", "json", check=None)
    if p.returncode != 0:
        pytest.skip(f"{m} does not run {w}")
    rep = json.loads(p.stdout)["repetitions"][0]
    assert rep["window"]["length_ns"] == rep["metrics"]["elapsed_ns"]
    assert rep["placement"]["samples"] >= 1
