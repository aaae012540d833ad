# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
"""concbench plot, as a reader meets the figures: a headline figure for
the workloads that name the measurements they are judged by, colour by
model, a missing point named in the legend rather than dropped, one
repetition per cell drawn, one panel per parameter value."""
import json
import re
import shutil

import pytest

from conftest import run_cb

pytestmark = pytest.mark.skipif(shutil.which("gnuplot") is None,
                                reason="gnuplot is not installed "
                                       "(scripts/deps.sh installs it)")

# The workloads of the issue that had no figure of their own, with the
# measurement each is judged by (its headline panel's title) and one it
# derives from it (no panel: the same reading in other units).
HEADLINES = {
    "ping-pong": ("round trip", "throughput"),
    "skynet": ("time per task", "elapsed"),
    "selective-receive": ("receive loaded", "per skipped msg"),
    "alts": ("fastest round", "select per msg"),
    "spawn": ("ready per task", "throughput"),
}
MODELS = ("actor", "csp")


def svg_texts(path):
    """The text a reader sees in an SVG figure, element by element."""
    return [re.sub(r"<[^>]*>", "", t).strip() for t in
            re.findall(r"<text[^>]*>(.*?)</text>", path.read_text(), re.S)]


@pytest.fixture(scope="module")
def one_rep(tmp_path_factory):
    """One repetition per cell (no interval to draw), tasks swept where a
    workload has it."""
    d = tmp_path_factory.mktemp("figs") / "r"
    run_cb("matrix", "-m", ",".join(MODELS), "-w", ",".join(HEADLINES),
           "--quick", "--reps", "1", "-p", "tasks=2,4", "-o", d, "--quiet",
           timeout=300, check=0)
    p = run_cb("plot", d, "--format", "svg", check=0)
    return d, p


def test_headline_figure_per_workload(one_rep):
    d, p = one_rep
    assert p.returncode == 0, p.stderr
    runs = [r for r in map(json.loads, open(d / "runs.jsonl"))
            if r.get("type") == "run"]
    for w, (judged, derived) in HEADLINES.items():
        f = d / "plots" / f"headline-{w}.svg"
        assert f.exists(), (w, p.stderr)
        texts = svg_texts(f)
        assert judged in texts, (w, texts)
        assert not any(t.startswith(derived) for t in texts), (w, texts)
        # Every model that ran the workload has a bar or a group's legend
        # entry, and one that could not says why beside its name.
        for m in MODELS:
            outcomes = {r["outcome"] for r in runs
                        if r["workload"] == w and r["model"] == m}
            named = [t for t in texts if t.split(" ")[0] == m]
            assert named, (w, m, texts)
            if "ok" not in outcomes:
                assert any(o in t for t in named for o in outcomes), \
                    (w, m, named, outcomes)


def test_one_repetition_is_drawn(one_rep):
    """--reps 1 gives no interval; the points are drawn alone, and the
    throughput curve over the swept tasks exists."""
    d, p = one_rep
    names = p.stdout.split()
    assert any("throughput-vs-tasks-spawn.svg" in f for f in names), \
        p.stderr
    assert any(f.endswith("drift.svg") for f in names), p.stderr
    assert "gnuplot failed" not in p.stderr


def test_colour_is_the_model(one_rep):
    """Each model's bars are its colour (runner/cmd_plot.c's table):
    actor green, csp orange, in every figure."""
    d, _ = one_rep
    svg = (d / "plots" / "headline-ping-pong.svg").read_text()
    assert "rgb( 27, 158, 119)" in svg      # actor #1b9e77
    assert "rgb(217,  95,   2)" in svg      # csp #d95f02


def synthetic(d, cells, metric_of):
    """A results folder of two repetitions per (model, params, outcome)."""
    d.mkdir()
    lines, order = [], 0
    for model, params, outcome in cells:
        for rep in range(2):
            label = " ".join([model, "w-like"] +
                             [f"{k}={v}" for k, v in params.items()])
            line = {"schema_version": 1, "type": "run", "model": model,
                    "workload": "w-like", "label": label, "params": params,
                    "model_params": {}, "rep": rep, "order": order,
                    "outcome": outcome}
            if outcome == "ok":
                line["metrics"] = metric_of(model, params, rep)
            lines.append(line)
            order += 1
    (d / "runs.jsonl").write_text("".join(json.dumps(x) + "\n"
                                          for x in lines))


def test_a_missing_point_is_named_not_dropped(tmp_path):
    """A cell whose every repetition timed out has no point on the
    contention curve; its series says which point and why."""
    d = tmp_path / "bank"
    cells = [(m, {"accounts": a, "tasks": 8},
              "timeout" if (m, a) == ("slow", 1024) else "ok")
             for m in ("slow", "fast") for a in (4, 64, 1024)]
    cells.append(("gone", {"accounts": 4, "tasks": 8}, "crashed"))
    synthetic(d, cells, lambda m, p, rep: {
        "throughput_ops_s": 1000.0 * p["accounts"] ** 0.5 + rep})
    p = run_cb("plot", d, "--format", "svg", check=0)
    assert p.returncode == 0, p.stderr
    texts = svg_texts(d / "plots" / "throughput-vs-contention-w-like.svg")
    assert any(t.startswith("slow") and "accounts=1024: timeout" in t
               for t in texts), texts
    assert any(t.startswith("gone") and "crashed" in t for t in texts), \
        texts
    assert any(t.startswith("fast") for t in texts), texts


def test_one_panel_per_parameter_value(tmp_path):
    """Latency CDFs of two models at three payloads: one panel per
    payload, each naming the models, instead of six crossing lines."""
    d = tmp_path / "cdf"
    cells = [(m, {"payload": v}, "ok")
             for m in ("m1", "m2") for v in (8, 64, 512)]

    def hist(model, params, rep):
        lo = 100 * params["payload"] * (2 if model == "m2" else 1)
        buckets = [[lo, lo + 10, 5], [4 * lo, 4 * lo + 40, 5]]
        return {"latency_ns": {"count": 10, "min": lo, "mean": 2 * lo,
                               "p50": lo + 10, "p90": 4 * lo + 40,
                               "p99": 4 * lo + 40, "p999": 4 * lo + 40,
                               "max": 4 * lo + 40, "buckets": buckets}}
    synthetic(d, cells, hist)
    p = run_cb("plot", d, "--format", "svg", check=0)
    assert p.returncode == 0, p.stderr
    texts = svg_texts(d / "plots" / "cdf-w-like-latency_ns.svg")
    # Panels in the values' order, not the text's (8 < 64 < 512).
    panels = [t for t in texts if t.startswith("payload=")]
    assert panels == ["payload=8", "payload=64", "payload=512"], texts
    assert texts.count("m1") == 3 and texts.count("m2") == 3, texts
    # Plain time units on the axis, not 1x10^5 or 10^{5}.
    assert "100 µs" in texts or "10 µs" in texts, texts
