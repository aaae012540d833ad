# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
"""Every workload on every model, at --quick size: the JSON has the
documented shape, the workload's own invariant held (outcome ok), and the
figures are consistent with the parameters (an answered request count that
equals tasks x ops cannot come from a run that lost messages)."""
import pytest

from conftest import (model_names, run_cb, run_json, scaled, shape_check,
                      workload_names)

MODELS = model_names()
WORKLOADS = workload_names()


def check_shape(d, model, workload):
    assert d["schema_version"] == 1
    assert d["type"] == "run"
    assert d["model"] == model and d["workload"] == workload
    for key in ("params", "model_params", "machine", "metrics", "counters",
                "repetitions"):
        assert isinstance(d[key], (dict, list)), key
    m = d["machine"]
    for key in ("cpu_model", "topology", "pus", "cpus", "kernel", "compiler",
                "git_revision"):
        assert key in m, key
    assert m["pus"] >= 1 and m["cpus"]
    met = d["metrics"]
    assert met["elapsed_ns"] > 0
    assert met["ops"] > 0
    assert met["throughput_ops_s"] == pytest.approx(
        met["ops"] * 1e9 / met["elapsed_ns"], rel=1e-6)
    assert met["peak_rss_bytes"] > 0


@pytest.mark.parametrize("workload", WORKLOADS)
@pytest.mark.parametrize("model", MODELS)
def test_quick_run(model, workload):
    p = run_cb("run", "-m", model, "-w", workload, "--quick", "--format",
               "json", timeout=300)
    if p.returncode == 4:
        pytest.skip(f"{workload} unsupported on {model}: {p.stderr.strip()}")
    assert p.returncode == 0, p.stderr
    import json
    d = json.loads(p.stdout)
    check_shape(d, model, workload)
    assert d["outcome"] == "ok"


@pytest.mark.parametrize("model", MODELS)
def test_io_fanout_answers_every_request(model):
    d = run_json("run", "-m", model, "-w", "io-fanout", "--quick",
                 "-p", "tasks=20", "-p", "ops=7", "-p", "transport=unix")
    met = d["metrics"]
    assert met["ops"] == 20 * 7
    assert met["latency_ns"]["count"] == 20 * 7
    assert 0 < met["latency_ns"]["p50"] <= met["latency_ns"]["p99"] \
        <= met["latency_ns"]["max"]
    assert met["spawn_ns_per_task"] > 0


@pytest.mark.parametrize("model", MODELS)
def test_io_fanout_open_loop(model):
    # 400 requests/s for 100 requests: the schedule alone takes ~250 ms.
    d = run_json("run", "-m", model, "-w", "io-fanout", "--quick",
                 "-p", "tasks=10", "-p", "ops=10", "-p", "rate=400")
    assert d["metrics"]["ops"] == 100
    assert d["metrics"]["elapsed_ns"] >= 0.2e9


@pytest.mark.parametrize("model", MODELS)
def test_io_fanout_latency_timer(model):
    # A 2 ms simulated backend: no request can come back faster.
    d = run_json("run", "-m", model, "-w", "io-fanout", "--quick",
                 "-p", "tasks=4", "-p", "ops=3", "-p", "latency_us=2000")
    assert d["metrics"]["latency_ns"]["min"] >= 2_000_000


@pytest.mark.parametrize("model", MODELS)
def test_cpu_crunch_figures(model):
    d = run_json("run", "-m", model, "-w", "cpu-crunch", "--quick")
    met = d["metrics"]
    assert 0 < met["fairness_jain"] <= 1.0
    assert met["lateness_ns"]["count"] == met["probe_wakeups"] > 0
    assert met["hog_progress_min"] <= met["hog_progress_max"]


@pytest.mark.parametrize("policy,cap", [("unbounded", 0), ("fixed", 64),
                                        ("sliding", 64), ("dropping", 64)])
@pytest.mark.parametrize("model", MODELS)
def test_mailbox_flood_policies(model, policy, cap):
    args = ["run", "-m", model, "-w", "mailbox-flood", "--quick",
            "-p", f"policy={policy}", "--format", "json"]
    if cap:
        args += ["-p", f"capacity={cap}"]
    import json

    def measure():
        p = run_cb(*args, timeout=120)
        if p.returncode == 4:
            pytest.skip(f"{policy} ports unsupported on {model}")
        assert p.returncode == 0, p.stderr
        return json.loads(p.stdout)

    def judge(d):
        met = d["metrics"]
        # The workload's invariant, restated from the outside.
        assert met["received"] == met["ops"] - met["dropped"]
        if policy in ("unbounded", "fixed"):
            assert met["dropped"] == 0
        if policy in ("fixed", "sliding", "dropping"):
            assert met["peak_queue_len"] <= cap
        if policy in ("sliding", "dropping"):
            # A 1 us consumer against free-running producers must fall
            # behind.
            assert met["dropped"] > 0
        # The sampler is one task among busy ones (8 csp workers on the
        # machine's CPUs): how often it wakes in a 200 ms window depends
        # on the load, so the series is a shape check.
        series = d["repetitions"][0]["series"]
        n = min(len(series.get("queue_len", [])),
                len(series.get("rss_bytes", [])))
        return None if n >= 2 else f"{n} samples of the queue in the window"
    shape_check(measure, judge)


@pytest.mark.parametrize("model", MODELS)
def test_repetitions_and_medians(model):
    d = run_json("run", "-m", model, "-w", "cpu-crunch", "--quick",
                 "--reps", "3", "--warmup", "1", "-p", "duration_ms=50",
                 "-p", "hogs=1")
    reps = d["repetitions"]
    assert len(reps) == 4
    assert [r["warmup"] for r in reps] == [True, False, False, False]
    measured = sorted(r["metrics"]["ops"] for r in reps if not r["warmup"])
    assert d["metrics"]["ops"] == measured[1]


@pytest.mark.parametrize("model", MODELS)
def test_more_reporters_than_a_model_lets_park(model):
    """More tasks report ready at once than core.async lets park on one
    channel (1024 pending puts beside a 1024 buffer): no report may be
    refused and lost, or the coordinator would wait for ever."""
    # The --timeout is a hang guard: 3,000 threads started on a
    # saturated machine took over 60 s on stm (scripts/loadtest.sh).
    p = run_cb("run", "-m", model, "-w", "spawn", "-p", "tasks=3000",
               "--reps", "3", "--timeout", scaled(300), "--format", "json",
               timeout=1000)
    assert p.returncode == 0, p.stderr
    import json
    d = json.loads(p.stdout)
    assert d["outcome"] == "ok"
    assert d["metrics"]["ops"] == 3000
