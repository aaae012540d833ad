# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
"""concbench compare, summary, export and ab.

Most cases build results folders by hand: repetitions with known values
give statistics that can be computed here independently, and regressions
of a known size, with no timing noise in the test itself.
"""
import csv
import json
import math
import random
import shutil
import statistics

import pytest

from conftest import CONCBENCH, run_cb, workload_names

MACHINE = {"schema_version": 1, "type": "machine",
           "fingerprint": "00000000feedbeef", "cpu_model": "test"}


def make_results(path, cells, machine=MACHINE):
    """cells: {(model, workload, tasks): [{metric: value}, ...]}."""
    path.mkdir(parents=True, exist_ok=True)
    lines = [{"schema_version": 1, "type": "matrix", "cells_hash": "0",
              "cells": len(cells), "reps": 0, "warmup": 0, "seed": 1}]
    order = 0
    for (model, workload, tasks), reps in cells.items():
        for i, metrics in enumerate(reps):
            outcome = metrics.pop("outcome", "ok")
            lines.append({
                "schema_version": 1, "type": "run", "model": model,
                "workload": workload, "params": {"tasks": tasks},
                "model_params": {}, "label": f"{model} {workload} "
                                             f"tasks={tasks}",
                "rep": i, "warmup": False, "order": order,
                "outcome": outcome,
                "reason": None if outcome == "ok" else "injected",
                "metrics": metrics})
            order += 1
    (path / "runs.jsonl").write_text(
        "".join(json.dumps(x) + "\n" for x in lines))
    if machine is not None:
        (path / "machine.json").write_text(json.dumps(machine))
    return path


def samples(seed, n, centre, spread):
    rng = random.Random(seed)
    return [rng.gauss(centre, spread) for _ in range(n)]


def thr_cells(values, model="m1"):
    return {(model, "w", 8): [{"throughput_ops_s": v} for v in values]}


def test_summary_statistics_match_hand_computed(tmp_path):
    values = [10.0, 12.0, 11.0, 13.0, 50.0]
    d = make_results(tmp_path / "s", thr_cells(values))
    out = run_cb("summary", d, check=0).stdout
    # CV = 17.25 / 19.2: far above 10%, so the summary calls it noisy.
    assert "noisy" in out and "varies by 90%" in out
    rows = list(csv.DictReader(open(d / "summary.csv")))
    row = next(r for r in rows if r["metric"] == "throughput_ops_s")
    assert int(row["n"]) == 5
    assert float(row["median"]) == 12.0
    assert float(row["mean"]) == pytest.approx(19.2)
    assert float(row["min"]) == 10.0 and float(row["max"]) == 50.0
    # MAD: |x - 12| = 2, 0, 1, 1, 38 -> sorted 0 1 1 2 38 -> 1.
    assert float(row["mad"]) == 1.0
    sd = statistics.stdev(values)
    assert float(row["cv"]) == pytest.approx(sd / 19.2, rel=1e-6)
    lo, hi = float(row["ci_lo"]), float(row["ci_hi"])
    assert 10.0 <= lo <= 12.0 <= hi <= 50.0
    # The interval of a median is made of sample values (odd n).
    assert lo in values and hi in values
    assert row["tasks"] == "8"


def test_even_count_median_and_runs_csv(tmp_path):
    d = make_results(tmp_path / "e", thr_cells([4.0, 1.0, 3.0, 2.0]))
    run_cb("summary", d, check=0)
    row = next(r for r in csv.DictReader(open(d / "summary.csv"))
               if r["metric"] == "throughput_ops_s")
    assert float(row["median"]) == 2.5
    rel = [float(r["relative"]) for r in csv.DictReader(open(d / "runs.csv"))
           if r["metric"] == "throughput_ops_s"]
    assert rel == pytest.approx([4 / 2.5, 1 / 2.5, 3 / 2.5, 2 / 2.5])


def test_flags_a_clear_regression(tmp_path):
    base = samples(1, 10, 1000.0, 10.0)
    new = [v * 0.8 for v in samples(2, 10, 1000.0, 10.0)]  # 20% slower
    b = make_results(tmp_path / "b", thr_cells(base))
    n = make_results(tmp_path / "n", thr_cells(new))
    p = run_cb("compare", b, n, "--format", "json", check=0)
    row = json.loads(p.stdout)["rows"][0]
    assert row["verdict"] == "slower", row
    assert row["ratio"] == pytest.approx(0.8, abs=0.03)
    assert row["p_value"] < 0.001
    assert row["ratio_ci_hi"] < 1
    run_cb("compare", b, n, "--fail-on-regression", check=1)
    # The same change the other way is an improvement, not a failure.
    run_cb("compare", n, b, "--fail-on-regression", check=0)
    p = run_cb("compare", n, b, check=0)
    assert "faster" in p.stdout


def test_does_not_flag_one_distribution(tmp_path):
    b = make_results(tmp_path / "b", thr_cells(samples(3, 12, 1000, 50)))
    n = make_results(tmp_path / "n", thr_cells(samples(4, 12, 1000, 50)))
    p = run_cb("compare", b, n, "--fail-on-regression", "--format", "json",
               check=0)
    assert json.loads(p.stdout)["rows"][0]["verdict"] == "no change"


def test_small_real_change_below_minimum_effect(tmp_path):
    base = samples(5, 10, 1000.0, 1.0)
    new = [v * 0.98 for v in samples(6, 10, 1000.0, 1.0)]  # 2%, significant
    b = make_results(tmp_path / "b", thr_cells(base))
    n = make_results(tmp_path / "n", thr_cells(new))
    row = json.loads(run_cb("compare", b, n, "--format", "json",
                            check=0).stdout)["rows"][0]
    assert row["p_value"] < 0.01 and row["verdict"] == "no change"
    row = json.loads(run_cb("compare", b, n, "--format", "json",
                            "--threshold", "1", check=0).stdout)["rows"][0]
    assert row["verdict"] == "slower"


def test_latency_direction_and_geomean(tmp_path):
    cells_b = {("m", "w", 1): [{"latency_ns": {"p50": v, "count": 10}}
                               for v in samples(7, 9, 1000, 5)]}
    cells_n = {("m", "w", 1): [{"latency_ns": {"p50": v * 1.5, "count": 10}}
                               for v in samples(8, 9, 1000, 5)]}
    b = make_results(tmp_path / "b", cells_b)
    n = make_results(tmp_path / "n", cells_n)
    out = json.loads(run_cb("compare", b, n, "--format", "json",
                            check=0).stdout)
    row = next(r for r in out["rows"] if r["metric"] == "latency_ns.p50")
    assert row["verdict"] == "slower"  # higher latency is worse
    assert out["geomean_cost_ratio"] == pytest.approx(1.5, rel=0.05)


def test_cross_machine_is_not_comparable(tmp_path):
    b = make_results(tmp_path / "b", thr_cells(samples(1, 8, 1000, 10)))
    other = dict(MACHINE, fingerprint="1111111111111111")
    n = make_results(tmp_path / "n",
                     thr_cells([v * 0.5 for v in samples(2, 8, 1000, 10)]),
                     machine=other)
    p = run_cb("compare", b, n, "--fail-on-regression", check=6)
    assert "not comparable" in p.stdout and "fingerprint" in p.stdout
    assert "slower" not in p.stdout.split("not comparable")[0]
    run_cb("compare", b, n, "--force", "--fail-on-regression", check=1)


def test_different_parameters_are_not_comparable(tmp_path):
    b = make_results(tmp_path / "b", thr_cells(samples(1, 5, 1000, 10)))
    cells = {("m1", "w", 16): [{"throughput_ops_s": v}
                               for v in samples(2, 5, 500, 10)]}
    n = make_results(tmp_path / "n", cells)
    out = json.loads(run_cb("compare", b, n, "--format", "json",
                            "--fail-on-regression", check=6).stdout)
    notes = sorted(r["note"] for r in out["rows"])
    assert all(r["verdict"] == "not comparable" for r in out["rows"])
    assert any("only in BASE" in x for x in notes)
    assert any("only in NEW" in x for x in notes)


def test_crashed_cell_exits_3(tmp_path):
    b = make_results(tmp_path / "b", thr_cells([1.0, 2.0, 3.0]))
    n = make_results(tmp_path / "n", thr_cells([1.0, 2.0]) | {
        ("m1", "w", 8): [{"throughput_ops_s": 1.0},
                         {"outcome": "crashed"}]})
    p = run_cb("compare", b, n, check=3)
    assert "crashed" in p.stderr


def test_markdown_and_table_formats(tmp_path):
    b = make_results(tmp_path / "b", thr_cells(samples(1, 10, 1000, 10)))
    n = make_results(tmp_path / "n",
                     thr_cells([v * 0.7 for v in samples(2, 10, 1000, 10)]))
    md = run_cb("compare", b, n, "--format", "markdown", check=0).stdout
    assert md.startswith("| cell | metric |") and "| slower |" in md
    table = run_cb("compare", b, n, check=0).stdout
    assert "slower" in table and "geometric mean" in table


def write(path, text):
    path.mkdir(parents=True, exist_ok=True)
    (path / "runs.jsonl").write_text(text)
    return path


GOOD = json.dumps({"schema_version": 1, "type": "run", "model": "m",
                   "workload": "w", "params": {}, "rep": 0,
                   "outcome": "ok", "metrics": {"x_ns": 1}}) + "\n"


@pytest.mark.parametrize("maker,message", [
    (lambda p: p / "missing", "No such file"),
    (lambda p: (p / "empty").mkdir() or p / "empty", "not a results folder"),
    (lambda p: write(p / "trunc", GOOD + GOOD[:30]), "truncated line"),
    (lambda p: write(p / "edited", GOOD + GOOD.replace("}", "", 1)),
     ":2:"),
    (lambda p: write(p / "schema", GOOD.replace('"schema_version": 1',
                                                '"schema_version": 9')),
     "unknown schema_version 9"),
    (lambda p: write(p / "noschema", '{"type": "run"}\n'), "schema_version"),
    (lambda p: write(p / "dup", GOOD.replace('"model": "m"',
                                             '"model": "m", "model": "x"')),
     "duplicate key"),
    (lambda p: write(p / "type", GOOD.replace('"run"', '"walk"')),
     "unknown record type"),
    (lambda p: write(p / "fields", '{"schema_version": 1, "type": "run"}\n'),
     "needs model"),
    (lambda p: write(p / "params", GOOD.replace('"params": {}',
                                                '"params": [1]')),
     "params"),
    (lambda p: write(p / "binary", "\x00\x01\x02\n"), "NUL"),
])
def test_bad_input_exits_2(tmp_path, maker, message):
    good = write(tmp_path / "good", GOOD)
    bad = maker(tmp_path)
    for args in ((good, bad), (bad, good)):
        p = run_cb("compare", *args, check=2)
        assert message in p.stderr, p.stderr
    run_cb("summary", bad, check=2)
    run_cb("export", bad, "bmf", check=2)


def test_bad_compare_arguments(tmp_path):
    good = write(tmp_path / "good", GOOD)
    run_cb("compare", good, check=2)
    run_cb("compare", good, good, "--threshold", "abc", check=2)
    run_cb("compare", good, good, "--format", "yaml", check=2)
    run_cb("compare", good, good, "--alpha", "2", check=2)


def test_hyperfine_export_is_read(tmp_path):
    def export(path, times):
        path.write_text(json.dumps({"results": [{
            "command": "threads", "mean": statistics.mean(times),
            "times": times, "exit_codes": [0] * len(times)}]}))
        return path
    b = export(tmp_path / "b.json", samples(1, 10, 1.0, 0.01))
    n = export(tmp_path / "n.json", [v * 1.3 for v in
                                     samples(2, 10, 1.0, 0.01)])
    out = json.loads(run_cb("compare", b, n, "--format", "json",
                            check=0).stdout)
    assert out["rows"][0]["metric"] == "wall_time_s"
    assert out["rows"][0]["verdict"] == "slower"


def test_exports(tmp_path):
    d = make_results(tmp_path / "x", {("m", "w", 2): [
        {"throughput_ops_s": 100.0 + i, "latency_ns": {"p99": 50 + i},
         "ops": 7} for i in range(5)]})
    run_cb("export", d, "bmf", check=0)
    bmf = json.loads((d / "bmf.json").read_text())
    (bench, measures), = bmf.items()
    assert bench == "m w tasks=2"
    assert measures["throughput-ops-s"]["value"] == 102.0
    assert measures["throughput-ops-s"]["lower_value"] <= 102.0
    assert "latency-ns-p99" in measures and "ops" not in measures
    run_cb("export", d, "gab", check=0)
    bigger = json.loads((d / "gab-bigger.json").read_text())
    smaller = json.loads((d / "gab-smaller.json").read_text())
    assert [e["unit"] for e in bigger] == ["ops/s"]
    assert {e["name"] for e in smaller} == {"m w tasks=2 latency_ns.p99"}
    assert all({"name", "unit", "value"} <= set(e) for e in bigger + smaller)
    run_cb("export", d, "csv", check=2)


def test_ab_same_binary_reports_no_change(tmp_path):
    """Two copies of one build, interleaved: no metric may be called a
    regression.  Thresholds are wide because this machine is shared: the
    test is about the plumbing (rounds, merge, verdict), not about noise."""
    copy = tmp_path / "concbench-copy"
    shutil.copy(CONCBENCH, copy)
    w = workload_names()[0]
    out = tmp_path / "ab"
    p = run_cb("ab", CONCBENCH, copy, "-m", "threads", "-w", w, "--quick",
               "--reps", "6", "--threshold", "200", "--fail-on-regression",
               "--format", "json", "-o", out, timeout=300, check=0)
    res = json.loads(p.stdout)
    assert res["type"] == "ab" and res["rounds"] == 6
    assert res["first"]["verdicts"]["slower"] == 0
    assert res["first"]["verdicts"]["no change"] > 0
    assert res["confirmed_regressions"] == 0
    base = [json.loads(x) for x in open(out / "base" / "runs.jsonl")]
    reps = sorted({r["rep"] for r in base if r["type"] == "run"})
    assert reps == list(range(6))
    run_cb("ab", CONCBENCH, tmp_path / "nope", "-o", out / "x", check=2)


def normal_u_p(a, b):
    """Two-sided Mann-Whitney p by the normal approximation with tie and
    continuity corrections, written out independently of the C code."""
    values = sorted(a + b)
    ranks = {}
    i = 0
    while i < len(values):
        j = i
        while j < len(values) and values[j] == values[i]:
            j += 1
        ranks[values[i]] = (i + j + 1) / 2
        i = j
    n1, n2, n = len(a), len(b), len(a) + len(b)
    u = sum(ranks[v] for v in a) - n1 * (n1 + 1) / 2
    ties = sum(values.count(v) ** 3 - values.count(v) for v in set(values))
    var = n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1)))
    z = max(0.0, abs(u - n1 * n2 / 2) - 0.5) / var ** 0.5
    return math.erfc(z / 2 ** 0.5)


def test_u_test_p_values(tmp_path):
    # Exact: five against five, completely separated: 2 / C(10, 5).
    b = make_results(tmp_path / "b", thr_cells([1.0, 2, 3, 4, 5]))
    n = make_results(tmp_path / "n", thr_cells([6.0, 7, 8, 9, 10]))
    row = json.loads(run_cb("compare", b, n, "--format", "json",
                            check=0).stdout)["rows"][0]
    assert row["p_value"] == pytest.approx(2 / 252, rel=1e-9)
    # Ties: the normal approximation with its corrections.
    a = [1.0, 2, 2, 3, 5, 5, 7]
    c = [2.0, 3, 3, 4, 6, 8, 8, 9]
    b = make_results(tmp_path / "b2", thr_cells(a))
    n = make_results(tmp_path / "n2", thr_cells(c))
    row = json.loads(run_cb("compare", b, n, "--format", "json",
                            check=0).stdout)["rows"][0]
    assert row["p_value"] == pytest.approx(normal_u_p(a, c), rel=1e-9)
    assert 0.05 < row["p_value"] < 1
