# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
"""concbench plot: the figures exist and are valid PNG and SVG; figures
the data cannot support are skipped with a note; bad input exits 2."""
import json
import shutil
import xml.etree.ElementTree as ET

import pytest

from conftest import model_names, run_cb, workload_names

pytestmark = pytest.mark.skipif(shutil.which("gnuplot") is None,
                                reason="gnuplot is not installed "
                                       "(scripts/deps.sh installs it)")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    d = tmp_path_factory.mktemp("plot") / "r"
    # Two models and the workloads of today's figures (found by what they
    # declare, not by name), however many are registered.
    def declares(w, param):
        out = run_cb("describe", w, check=0).stdout.splitlines()
        return any(line.startswith(f"  {param} ") for line in out)
    ws = [w for w in workload_names() if declares(w, "tasks")][:1]
    ws += [w for w in workload_names() if w not in ws]
    run_cb("matrix", "-m", ",".join(model_names()[:2]), "-w",
           ",".join(ws[:4]), "--quick", "--reps", "2", "-p", "tasks=2,4",
           "-o", d, "--quiet", timeout=300, check=0)
    return d


def test_figures_are_valid_png_and_svg(results):
    p = run_cb("plot", results, check=0)
    files = p.stdout.split()
    assert files, p.stderr
    pngs = [f for f in files if f.endswith(".png")]
    svgs = [f for f in files if f.endswith(".svg")]
    assert len(pngs) == len(svgs) >= 3
    for f in pngs:
        with open(f, "rb") as fh:
            head = fh.read(8)
        assert head == PNG_MAGIC, f
    for f in svgs:
        root = ET.parse(f).getroot()
        assert root.tag.endswith("svg"), f
    names = " ".join(files)
    assert "drift" in names
    assert "throughput-vs-tasks" in names  # tasks was swept
    # A workload reporting a latency histogram (latency_ns,
    # audit_latency_ns, ...) gets a CDF.
    runs = [json.loads(x) for x in open(results / "runs.jsonl")]
    has_latency = any("latency" in k and isinstance(v, dict)
                      for r in runs for k, v in r.get("metrics", {}).items())
    assert ("cdf-" in names) == has_latency
    if not any("accounts" in r.get("params", {}) for r in runs):
        assert "skipped throughput vs contention" in p.stderr


def test_output_folder_and_format(results, tmp_path):
    out = tmp_path / "figs"
    p = run_cb("plot", results, "-o", out, "--format", "svg", check=0)
    assert p.stdout.split() and all(f.endswith(".svg")
                                    for f in p.stdout.split())
    assert all(f.startswith(str(out)) for f in p.stdout.split())


def test_bank_style_contention_plot(tmp_path):
    """A results folder with an `accounts` sweep (what the bank workload
    reports) gets the contention figure, whichever workload it is."""
    d = tmp_path / "bank"
    d.mkdir()
    lines = []
    order = 0
    for model in ("m1", "m2"):
        for accounts in (4, 64, 1024):
            for rep in range(2):
                lines.append({
                    "schema_version": 1, "type": "run", "model": model,
                    "workload": "bank-like", "label":
                        f"{model} bank-like accounts={accounts}",
                    "params": {"accounts": accounts, "tasks": 8},
                    "model_params": {}, "rep": rep, "order": order,
                    "outcome": "ok",
                    "metrics": {"throughput_ops_s":
                                1000.0 * accounts ** 0.5 + rep}})
                order += 1
    (d / "runs.jsonl").write_text("".join(json.dumps(x) + "\n"
                                          for x in lines))
    p = run_cb("plot", d, check=0)
    assert any("throughput-vs-contention-bank-like.png" in f
               for f in p.stdout.split()), p.stderr


@pytest.mark.parametrize("args", [
    ["/nonexistent/results"],
    [],
    ["--format", "gif", "."],
])
def test_bad_input(args, tmp_path):
    run_cb("plot", *args, check=2)
    (tmp_path / "empty").mkdir()
    p = run_cb("plot", tmp_path / "empty", check=2)
    assert "not a results folder" in p.stderr


def test_cdf_legend_says_no_samples_for_an_empty_histogram(tmp_path):
    """A cell whose latency histogram stayed empty in every repetition
    (supervision's restart latency on a model that restarts nothing) is
    named "(no samples)" in the CDF's legend, not listed as if its line
    were hidden behind another."""
    d = tmp_path / "sup"
    d.mkdir()
    lines = []
    for order, (model, rep) in enumerate(
            (m, r) for m in ("restarts", "loses") for r in range(2)):
        buckets = [[1000, 1023, 3], [2048, 2063, 1]] \
            if model == "restarts" else []
        n = sum(b[2] for b in buckets)
        hist = {"count": n, "min": 0, "mean": 0, "p50": 1023 if n else 0,
                "p90": 2063 if n else 0, "p99": 2063 if n else 0,
                "p999": 2063 if n else 0, "max": 2063 if n else 0,
                "buckets": buckets}
        lines.append({
            "schema_version": 1, "type": "run", "model": model,
            "workload": "sup-like", "label": f"{model} sup-like",
            "params": {}, "model_params": {}, "rep": rep, "order": order,
            "outcome": "ok", "metrics": {"restart_latency_ns": hist}})
    (d / "runs.jsonl").write_text("".join(json.dumps(x) + "\n"
                                          for x in lines))
    run_cb("plot", d, "--format", "svg", check=0)
    svg = (d / "plots" / "cdf-sup-like-restart_latency_ns.svg").read_text()
    assert "loses (no samples)" in svg
    assert "restarts (no samples)" not in svg and "restarts" in svg
