# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
"""The CLI contract: names, help, formats, and bad input answered with a
clear message and exit 2 before anything runs."""
import csv
import io
import json

import pytest

from conftest import BUILD, model_names, run_cb, scaled, workload_names

SUBCOMMANDS = ["list", "describe", "run", "bench"]


def test_version():
    p = run_cb("--version", check=0)
    assert p.stdout.startswith("concbench ")


def test_top_level_help_lists_commands_and_exit_codes():
    p = run_cb("--help", check=0)
    for c in SUBCOMMANDS:
        assert c in p.stdout
    assert "exit codes" in p.stdout


def test_no_arguments_is_usage():
    p = run_cb(check=2)
    assert "usage" in p.stderr


@pytest.mark.parametrize("sub", SUBCOMMANDS)
def test_help_on_every_subcommand(sub):
    p = run_cb(sub, "--help", check=0)
    assert p.stdout.startswith("usage: concbench " + sub)


def test_unknown_command():
    p = run_cb("frobnicate", check=2)
    assert "unknown command" in p.stderr


def test_list():
    models = model_names()
    assert "threads" in models
    assert {"io-fanout", "cpu-crunch", "mailbox-flood"} <= set(
        workload_names())
    run_cb("list", "gizmos", check=2)


@pytest.mark.parametrize("name", ["threads", "io-fanout", "cpu-crunch",
                                  "mailbox-flood"])
def test_describe(name):
    p = run_cb("describe", name, check=0)
    assert "parameters:" in p.stdout
    assert "default" in p.stdout


def test_describe_unknown_lists_names():
    p = run_cb("describe", "nope", check=2)
    assert "threads" in p.stderr and "io-fanout" in p.stderr


def test_unknown_model_lists_models():
    p = run_cb("run", "-m", "nope", "-w", "io-fanout", check=2)
    assert "unknown model 'nope'" in p.stderr
    assert "threads" in p.stderr


def test_unknown_workload_lists_workloads():
    p = run_cb("run", "-m", "threads", "-w", "nope", check=2)
    assert "unknown workload 'nope'" in p.stderr
    assert "cpu-crunch" in p.stderr


def test_missing_model_or_workload():
    run_cb("run", "-w", "io-fanout", check=2)
    run_cb("run", "-m", "threads", check=2)


@pytest.mark.parametrize("param,needle", [
    ("bogus=1", "unknown parameter 'bogus'"),
    ("tasks=abc", "parameter tasks"),
    ("tasks=-5", "accepted range 1..1000000"),
    ("tasks=0", "accepted range"),
    ("tasks=99999999999999999999999", "too large"),
    ("transport=carrier-pigeon", "not one of tcp|unix"),
    ("tasks", "key=value"),
    ("=3", "key=value"),
    ("stack=1", "parameter stack"),
])
def test_bad_parameters(param, needle):
    p = run_cb("run", "-m", "threads", "-w", "io-fanout", "--quick",
               "-p", param, check=2)
    assert needle in p.stderr, p.stderr


def test_unknown_parameter_lists_valid_keys():
    p = run_cb("run", "-m", "threads", "-w", "io-fanout", "-p", "x=1",
               check=2)
    for key in ("tasks", "ops", "payload", "stack", "seed"):
        assert key in p.stderr


@pytest.mark.parametrize("cpus", ["99999", "a", "3-1", "", "0,,1", "-1"])
def test_bad_cpus(cpus):
    p = run_cb("run", "-m", "threads", "-w", "cpu-crunch", "--quick",
               "--cpus", cpus, check=2)
    assert "--cpus" in p.stderr


@pytest.mark.parametrize("opt,val", [("--reps", "0"), ("--reps", "x"),
                                     ("--warmup", "-1"),
                                     ("--timeout", "0"),
                                     ("--format", "xml"),
                                     ("--seed", "-3")])
def test_bad_options(opt, val):
    run_cb("run", "-m", "threads", "-w", "cpu-crunch", "--quick", opt, val,
           check=2)


def test_unknown_option():
    p = run_cb("run", "-m", "threads", "-w", "cpu-crunch", "--frob",
               check=2)
    assert "--frob" in p.stderr


def test_absurd_sizes_refused_before_running():
    # A million workers need two million descriptors and ~16 GiB of socket
    # buffers: refused up front, with the arithmetic, in well under a second
    # (exit 5: out of a resource).
    p = run_cb("run", "-m", "threads", "-w", "io-fanout", "-p",
               "tasks=1000000", timeout=10, check=5)
    assert "needs" in p.stderr
    p = run_cb("run", "-m", "threads", "-w", "cpu-crunch", "-p",
               "hogs=1000000", "-p", "probes=100000", timeout=10, check=5)
    assert "MiB" in p.stderr and "available" in p.stderr


def test_probe_longer_than_window_refused():
    p = run_cb("run", "-m", "threads", "-w", "cpu-crunch", "-p",
               "duration_ms=10", "-p", "sleep_us=20000", check=2)
    assert "sleep_us" in p.stderr


def test_cpus_pin_to_one_pu():
    p = run_cb("run", "-m", "threads", "-w", "cpu-crunch", "--quick",
               "--cpus", "0", "--format", "json", "-p", "duration_ms=50",
               check=0)
    assert json.loads(p.stdout)["machine"]["cpus"] == [0]


def test_machine_names_the_allocator():
    # jemalloc where the build linked it (plain builds, where
    # scripts/deps.sh installed it); glibc's otherwise, and always under a
    # sanitizer, which brings its own.
    p = run_cb("run", "-m", "threads", "-w", "spawn", "--quick",
               "--format", "json", check=0)
    machine = json.loads(p.stdout)["machine"]
    name, _, version = machine["allocator"].partition(" ")
    assert name in ("jemalloc", "glibc") and version[:1].isdigit(), machine
    cache = BUILD / "CMakeCache.txt"
    linked = cache.exists() and "CB_USE_JEMALLOC:INTERNAL=ON" in cache.read_text()
    assert name == ("jemalloc" if linked else "glibc"), machine
    if machine["sanitize"]:
        assert name == "glibc", machine


def test_csv_output():
    p = run_cb("run", "-m", "threads", "-w", "cpu-crunch", "--quick",
               "-p", "duration_ms=50", "--format", "csv", check=0)
    rows = list(csv.DictReader(io.StringIO(p.stdout)))
    assert rows and set(rows[0]) == {"model", "workload", "rep", "outcome",
                                     "metric", "value"}
    metrics = {r["metric"] for r in rows}
    assert {"ops", "lateness_ns.p99", "fairness_jain"} <= metrics


def test_table_output_is_readable():
    p = run_cb("run", "-m", "threads", "-w", "cpu-crunch", "--quick",
               "-p", "duration_ms=50", check=0)
    assert "outcome: ok" in p.stdout
    assert "lateness_ns p99" in p.stdout
    assert "counters" in p.stdout


def test_output_file_written_atomically(tmp_path):
    out = tmp_path / "r.json"
    p = run_cb("run", "-m", "threads", "-w", "cpu-crunch", "--quick",
               "-p", "duration_ms=50", "--format", "json", "-o", out,
               check=0)
    assert p.stdout == ""
    assert json.loads(out.read_text())["outcome"] == "ok"
    assert [f.name for f in tmp_path.iterdir()] == ["r.json"]


def test_unwritable_output():
    run_cb("run", "-m", "threads", "-w", "cpu-crunch", "--quick",
           "-o", "/nonexistent/dir/r.json", check=2)


def test_timeout_is_recorded_not_hung():
    # A window of a minute against a one-second limit: the repetition is
    # killed, recorded as a timeout, and the command still answers.
    p = run_cb("run", "-m", "threads", "-w", "cpu-crunch", "-p",
               "duration_ms=60000", "-p", "hogs=1", "--timeout", "1",
               "--format", "json", timeout=30, check=1)
    d = json.loads(p.stdout)
    assert d["outcome"] == "timeout"
    assert d["repetitions"][0]["outcome"] == "timeout"
    assert "killed" in d["reason"]


def test_seed_is_recorded():
    d = json.loads(run_cb("run", "-m", "threads", "-w", "cpu-crunch",
                          "--quick", "-p", "duration_ms=50", "-p",
                          "seed=42", "--format", "json", check=0).stdout)
    assert d["seed"] == 42


@pytest.mark.parametrize("fault,code,outcome", [
    ("invariant", 3, "failed"),
    ("crash", 1, "crashed"),
    ("hang", 1, "timeout"),
])
def test_fault_outcomes(fault, code, outcome, monkeypatch):
    monkeypatch.setenv("CONCBENCH_INJECT_FAULT", fault)
    # Only the hang needs the timeout to pass; for the others it is a
    # hang guard, generous so that a busy machine cannot turn a crash or
    # a broken invariant into a timeout.
    limit = "2" if fault == "hang" else scaled(60)
    p = run_cb("run", "-m", "threads", "-w", "cpu-crunch", "--quick",
               "-p", "duration_ms=50", "--timeout", limit, "--format", "json",
               timeout=120, check=code)
    d = json.loads(p.stdout)
    assert d["outcome"] == outcome
    assert d["reason"]
    if fault == "invariant":
        assert "injected" in d["reason"]
        assert "injected" in p.stderr
