# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
"""The CI regression gate: what `compare --fail-on-regression` and `ab`
decide, on results folders built by hand with a known verdict.

The false-positive and detection rates on real runs are measured by
scripts/gate_rates.py (long; not part of the default suite)."""
import json

import pytest

from conftest import run_cb
from test_compare import MACHINE, make_results, samples, thr_cells


def test_nothing_comparable_fails_the_gate_and_names_the_fields(tmp_path):
    b = make_results(tmp_path / "b", thr_cells(samples(1, 8, 1000, 10)),
                     machine=dict(MACHINE, cpu_model="Xeon A", pus=4,
                                  cpus=[0, 1]))
    n = make_results(tmp_path / "n", thr_cells(samples(2, 8, 1000, 10)),
                     machine=dict(MACHINE, fingerprint="1111111111111111",
                                  cpu_model="Xeon B", pus=4, cpus=[0]))
    p = run_cb("compare", b, n, "--fail-on-regression", check=6)
    assert "nothing was judged" in p.stderr
    line = next(x for x in p.stdout.splitlines()
                if x.startswith("not comparable:"))
    assert "cpu_model 'Xeon A' -> 'Xeon B'" in line, line
    assert "cpus 0,1 -> 0" in line, line
    assert "pus" not in line.replace("cpus", ""), line  # equal: not named
    # Without the gate flag the comparison is only a report.
    run_cb("compare", b, n, check=0)


def test_time_against_instruction_counts_judges_nothing(tmp_path):
    b = make_results(tmp_path / "b", thr_cells(samples(1, 8, 1000, 10)))
    n = make_results(tmp_path / "n", {("m1", "w", 8): [
        {"instructions": 123456789}]})
    p = run_cb("compare", b, n, "--fail-on-regression", check=6)
    assert "metric missing in NEW" in p.stdout


def test_cells_unsupported_on_both_sides_are_counted_not_listed(tmp_path):
    def cells(seed):
        return {("m1", "w", 8): [{"throughput_ops_s": v}
                                 for v in samples(seed, 8, 1000, 10)],
                ("m2", "w", 8): [{"outcome": "unsupported"} for _ in range(8)]}
    b = make_results(tmp_path / "b", cells(1))
    n = make_results(tmp_path / "n", cells(2))
    p = run_cb("compare", b, n, "--all", "--fail-on-regression", check=0)
    assert "m2 w" not in p.stdout
    assert "1 cell unsupported on both sides (not listed)" in p.stdout
    # Unsupported on one side only is news: listed.
    n2 = make_results(tmp_path / "n2", {
        ("m1", "w", 8): [{"throughput_ops_s": 1000.0}] * 8,
        ("m2", "w", 8): [{"throughput_ops_s": 5.0}] * 8})
    p = run_cb("compare", b, n2, "--all", check=0)
    assert "m2 w" in p.stdout and "no successful repetition in BASE" in \
        p.stdout


def test_nothing_judged_exit_is_documented():
    assert "6 nothing was judged" in run_cb("compare", "--help",
                                            check=0).stdout
    assert "  6  " in run_cb("--help", check=0).stdout


# ---- one verdict per measurement ------------------------------------------

def pp_cells(values, scale=1.0):
    """ping-pong cells: one stopwatch reading in three units."""
    return {("actor", "ping-pong", 8): [
        {"round_trip_ns": v * scale, "elapsed_ns": v * scale * 1000,
         "throughput_ops_s": 1e9 / (v * scale)} for v in values]}


def test_derived_metrics_are_shown_not_judged(tmp_path):
    b = make_results(tmp_path / "b", pp_cells(samples(1, 10, 100, 1)))
    n = make_results(tmp_path / "n", pp_cells(samples(2, 10, 100, 1), 1.2))
    out = json.loads(run_cb("compare", b, n, "--format", "json",
                            check=0).stdout)
    verdicts = {r["metric"]: r["verdict"] for r in out["rows"]}
    assert verdicts == {"round_trip_ns": "slower", "elapsed_ns": "derived",
                        "throughput_ops_s": "derived"}, verdicts
    assert out["verdicts"]["slower"] == 1
    # Counted once in the geometric mean.
    assert out["geomean_metrics"] == 1
    assert out["geomean_cost_ratio"] == pytest.approx(1.2, rel=0.02)
    table = run_cb("compare", b, n, check=0).stdout
    assert "2 derived metrics (not judged) not shown" in table
    table = run_cb("compare", b, n, "--all", check=0).stdout
    assert "derived from round_trip_ns: not judged" in table
    # Asked for by name, a derived metric is judged.
    out = json.loads(run_cb("compare", b, n, "--format", "json", "--metric",
                            "throughput_ops_s", check=0).stdout)
    assert [r["verdict"] for r in out["rows"]] == ["slower"]


def verdicts(out):
    return {r["metric"]: r for r in out["rows"]}


def cpu_time_up_30_percent(tmp_path, cells):
    """BASE cells(1, seed 1) against NEW cells(1.3, seed 2), judged as a
    gate: the folders, the JSON and its rows by metric."""
    b = make_results(tmp_path / "b", cells(1, 1))
    n = make_results(tmp_path / "n", cells(1.3, 2))
    out = json.loads(run_cb("compare", b, n, "--format", "json",
                            "--fail-on-regression", check=0).stdout)
    return b, n, out, verdicts(out)


def test_a_diagnostic_is_shown_not_judged(tmp_path):
    # ping-pong's CPU time is mostly an idle worker spinning: 30% more of
    # it with the round trip unchanged is no regression, and no alert.
    def cells(cpu_scale, seed):
        return {("actor", "ping-pong", 8): [
            {"round_trip_ns": v, "elapsed_ns": v * 1000,
             "throughput_ops_s": 1e9 / v, "window_cpu_ns": v * 1e5 * cpu_scale}
            for v in samples(seed, 10, 100, 1)]}
    b, n, out, rows = cpu_time_up_30_percent(tmp_path, cells)
    assert rows["window_cpu_ns"]["verdict"] == "diagnostic"
    assert "idle worker" in rows["window_cpu_ns"]["note"]
    assert rows["round_trip_ns"]["verdict"] == "no change"
    assert out["verdicts"]["diagnostic"] == 1 and out["geomean_metrics"] == 1
    table = run_cb("compare", b, n, check=0).stdout
    assert "2 derived and 1 diagnostic (not judged) not shown" in table
    # Asked for by name, it is judged.
    p = run_cb("compare", b, n, "--format", "json", "--metric",
               "window_cpu_ns", "--fail-on-regression", check=1)
    assert [r["verdict"] for r in json.loads(p.stdout)["rows"]] == ["slower"]


def test_default_roles_judge_throughput_not_the_window(tmp_path):
    # A workload without a table: elapsed_ns derives from throughput.
    def cells(scale):
        return {("m", "bank", 8): [
            {"throughput_ops_s": v * scale, "elapsed_ns": 1e8}
            for v in samples(3, 10, 1000, 5)]}
    b = make_results(tmp_path / "b", cells(1))
    n = make_results(tmp_path / "n", cells(0.7))
    out = json.loads(run_cb("compare", b, n, "--format", "json",
                            check=0).stdout)
    verdicts = {r["metric"]: r["verdict"] for r in out["rows"]}
    assert verdicts == {"throughput_ops_s": "slower",
                        "elapsed_ns": "derived"}


def test_the_windows_cpu_time_is_a_diagnostic_of_every_workload(tmp_path):
    # skynet's table does not name window_cpu_ns: the runner's default
    # makes it a diagnostic (csp skynet's moved 14% in an A/A pair).
    def cells(cpu_scale, seed):
        return {("csp", "skynet", 8): [
            {"ns_per_task": v, "window_cpu_ns": v * 1e4 * cpu_scale}
            for v in samples(seed, 10, 1000, 5)]}
    _, _, _, rows = cpu_time_up_30_percent(tmp_path, cells)
    assert rows["window_cpu_ns"]["verdict"] == "diagnostic"
    assert "spinning before they park" in rows["window_cpu_ns"]["note"]
    assert rows["ns_per_task"]["verdict"] == "no change"


# ---- false positives: Holm, refusal, minimum effect -----------------------

def many_cells(n_cells, reps, shifted=None, shift=1.0, seed=10):
    cells = {}
    for c in range(n_cells):
        vals = samples(seed + c, reps, 1000, 10)
        if c == shifted:
            vals = [v * shift for v in vals]
        cells[("m", "w", c + 1)] = [{"throughput_ops_s": v} for v in vals]
    return cells


def test_holm_keeps_one_lucky_cell_of_twenty_from_failing(tmp_path):
    # Cell 0: NEW's values sit mostly far lower (the median 29% lower, the
    # whole interval beyond the 5% minimum effect), but two are among or
    # above BASE's: p = 0.011 alone, far from the 0.0025 Holm asks of the
    # first of 20.
    base = [100.0, 102, 104, 106, 108, 110, 112, 114, 116, 118]
    new = [70.0, 72, 74, 76, 78, 80, 82, 84, 111, 119]
    cells_b = many_cells(20, 10, seed=100)
    cells_n = many_cells(20, 10, seed=200)
    cells_b[("m", "w", 1)] = [{"throughput_ops_s": v} for v in base]
    cells_n[("m", "w", 1)] = [{"throughput_ops_s": v} for v in new]
    b = make_results(tmp_path / "b", cells_b)
    n = make_results(tmp_path / "n", cells_n)
    out = json.loads(run_cb("compare", b, n, "--format", "json",
                            "--fail-on-regression", check=0).stdout)
    row = next(r for r in out["rows"] if r["cell"] == "m w tasks=1")
    assert row["p_value"] < 0.05 and abs(row["ratio"] - 1) > 0.05
    assert row["verdict"] == "no change"
    assert row["p_holm"] == pytest.approx(min(1, 20 * row["p_value"]),
                                          rel=1e-6) or row["p_holm"] >= \
        20 * row["p_value"]
    # The same cell alone is judged at alpha: slower.
    b1 = make_results(tmp_path / "b1", {("m", "w", 1): cells_b[("m", "w", 1)]})
    n1 = make_results(tmp_path / "n1", {("m", "w", 1): cells_n[("m", "w", 1)]})
    run_cb("compare", b1, n1, "--fail-on-regression", check=1)


def test_a_shift_whose_interval_reaches_inside_the_minimum_is_no_change(
        tmp_path):
    # Two runs one after the other of one binary: csp skynet's peak RSS
    # moved 6.4% with p = 0.0006 and an interval of [1.025, 1.145].  The
    # median is past the 5% minimum for memory, the interval is not.
    base = [100.0 + i for i in range(10)]
    new = [103.0 + 2 * i for i in range(10)]
    def cells(vals):
        return {("m", "w", 1): [{"peak_rss_bytes": v * 1e6} for v in vals]}
    b = make_results(tmp_path / "b", cells(base))
    n = make_results(tmp_path / "n", cells(new))
    out = json.loads(run_cb("compare", b, n, "--format", "json",
                            "--fail-on-regression", check=0).stdout)
    row = out["rows"][0]
    assert row["p_value"] < 0.01 and row["ratio"] > 1.05, row
    assert row["ratio_ci_lo"] < 1.05, row
    assert row["verdict"] == "no change"
    # Twice the shift puts the whole interval past 5%: slower.
    n2 = make_results(tmp_path / "n2", cells([v * 1.1 for v in new]))
    run_cb("compare", b, n2, "--fail-on-regression", check=1)


# ---- the machine's drift between two runs ---------------------------------

def write_probes(folder, centre, n=24, seed=1):
    """probe.jsonl as matrix writes it: one timing before each repetition."""
    vals = samples(seed, n, centre, centre * 0.01)
    (folder / "probe.jsonl").write_text("".join(
        json.dumps({"schema_version": 1, "type": "probe", "version": 1,
                    "order": i,
                    "wall_ns": round(v), "compute_ns": round(v / 3),
                    "memory_ns": round(v / 3), "fault_ns": round(v / 3)})
        + "\n" for i, v in enumerate(vals)))


def drift_cells(scale, seed, rss=1.0):
    return {("m", "w", 1): [
        {"ns_per_task": v * scale, "peak_rss_bytes": 1e7 * rss + v}
        for v in samples(seed, 10, 1000, 10)]}


def test_a_slower_machine_is_not_a_regression_of_the_code(tmp_path,
                                                          monkeypatch):
    # Both sides ran one binary; the host gave NEW's run 30% less speed:
    # its probe and its timings are 30% slower alike.
    b = make_results(tmp_path / "b", drift_cells(1.0, 1))
    n = make_results(tmp_path / "n", drift_cells(1.3, 2))
    write_probes(b, 4e6, seed=3)
    write_probes(n, 4e6 * 1.3, seed=4)
    p = run_cb("compare", b, n, "--format", "json", "--fail-on-regression",
               check=0)
    out = json.loads(p.stdout)
    d = out["machine_drift"]
    assert d["moved"] and d["allowed_for"], d
    assert d["probe_ratio"] == pytest.approx(1.3, rel=0.02), d
    rows = verdicts(out)
    assert rows["ns_per_task"]["verdict"] == "no change", rows
    assert rows["ns_per_task"]["drift_allowed"] == pytest.approx(1.3,
                                                                 rel=0.02)
    assert "within the machine's drift" in rows["ns_per_task"]["note"]
    # Memory does not drift with the machine's speed: its band is as ever.
    assert rows["peak_rss_bytes"]["drift_allowed"] == 1
    text = run_cb("compare", b, n, check=0).stdout
    assert "machine drift: the drift probe took 1.3" in text, text
    assert "(1 metric within it: --all shows them)" in text, text
    # A kept baseline keeps its probes: the same verdict against @main.
    monkeypatch.setenv("CONCBENCH_BASELINES", str(tmp_path / "store"))
    run_cb("baseline", "keep", b, "main", check=0)
    assert (tmp_path / "store" / "main" / "probe.jsonl").exists()
    assert "machine drift" in run_cb("compare", "@main", n,
                                     "--fail-on-regression", check=0).stdout
    # Without the allowance the same rows are a regression.
    run_cb("compare", b, n, "--ignore-drift", "--fail-on-regression",
           check=1)
    # A change well beyond the drift is the code's: still slower.
    n2 = make_results(tmp_path / "n2", drift_cells(1.3 * 1.3, 2))
    write_probes(n2, 4e6 * 1.3, seed=4)
    out = json.loads(run_cb("compare", b, n2, "--format", "json",
                            "--fail-on-regression", check=1).stdout)
    assert verdicts(out)["ns_per_task"]["verdict"] == "slower"


def test_drift_widens_the_band_only_on_the_side_the_machine_moved(tmp_path):
    # The machine ran faster in NEW (probe 0.75x), yet the timings are 30%
    # slower: a faster machine cannot explain that, so it is slower.
    b = make_results(tmp_path / "b", drift_cells(1.0, 1))
    n = make_results(tmp_path / "n", drift_cells(1.3, 2))
    write_probes(b, 4e6, seed=3)
    write_probes(n, 3e6, seed=4)
    out = json.loads(run_cb("compare", b, n, "--format", "json",
                            "--fail-on-regression", check=1).stdout)
    assert verdicts(out)["ns_per_task"]["verdict"] == "slower"
    # And a 20% speed-up on that faster machine is the machine's.
    n2 = make_results(tmp_path / "n2", drift_cells(0.8, 2))
    write_probes(n2, 3e6, seed=4)
    out = json.loads(run_cb("compare", b, n2, "--format", "json",
                            check=0).stdout)
    assert verdicts(out)["ns_per_task"]["verdict"] == "no change"
    # A throughput moves the other way: a slower machine lowers it.
    def thr(scale, seed):
        return {("m", "w", 1): [{"throughput_ops_s": 1e6 / (v * scale)}
                                for v in samples(seed, 10, 1000, 10)]}
    b3 = make_results(tmp_path / "b3", thr(1.0, 1))
    n3 = make_results(tmp_path / "n3", thr(1.3, 2))
    write_probes(b3, 4e6, seed=3)
    write_probes(n3, 4e6 * 1.3, seed=4)
    out = json.loads(run_cb("compare", b3, n3, "--format", "json",
                            "--fail-on-regression", check=0).stdout)
    row = verdicts(out)["throughput_ops_s"]
    assert row["verdict"] == "no change", row
    assert row["drift_allowed"] == pytest.approx(1 / 1.3, rel=0.02)


def test_a_steady_machine_keeps_the_plain_band(tmp_path):
    b = make_results(tmp_path / "b", drift_cells(1.0, 1))
    n = make_results(tmp_path / "n", drift_cells(1.3, 2))
    write_probes(b, 4e6, seed=3)
    write_probes(n, 4e6 * 1.02, seed=4)  # inside the 5% tolerance
    p = run_cb("compare", b, n, "--fail-on-regression", check=1)
    assert "machine steady: the drift probe took 1.0" in p.stdout
    # No probe on one side (older results): said, and judged as before.
    (n / "probe.jsonl").unlink()
    p = run_cb("compare", b, n, "--fail-on-regression", check=1)
    assert "no drift probe in NEW" in p.stdout
    # Probes of another version measured other work: not compared.
    write_probes(n, 4e6 * 1.02, seed=4)
    (n / "probe.jsonl").write_text((n / "probe.jsonl").read_text().replace(
        '"version": 1', '"version": 2'))
    p = run_cb("compare", b, n, "--fail-on-regression", check=1)
    assert "BASE's and NEW's are of different versions" in p.stdout
    # A probe file that is not one is refused, naming the line.
    (n / "probe.jsonl").write_text('{"type": "probe"}\n')
    p = run_cb("compare", b, n, check=2)
    assert "probe.jsonl:1: not a probe record" in p.stderr


def test_a_clear_regression_survives_holm(tmp_path):
    b = make_results(tmp_path / "b", many_cells(20, 10, seed=100))
    n = make_results(tmp_path / "n", many_cells(20, 10, shifted=4,
                                                shift=0.8, seed=100))
    out = json.loads(run_cb("compare", b, n, "--format", "json",
                            "--fail-on-regression", check=1).stdout)
    slower = [r["cell"] for r in out["rows"] if r["verdict"] == "slower"]
    assert slower == ["m w tasks=5"]


def test_too_few_repetitions_are_refused_with_the_number_needed(tmp_path):
    b = make_results(tmp_path / "b", thr_cells([1000.0, 1001, 1002]))
    n = make_results(tmp_path / "n", thr_cells([500.0, 501, 502]))
    p = run_cb("compare", b, n, "--fail-on-regression", check=6)
    # 3 + 3 cannot reach p < 0.05 (smallest: 0.1); 4 + 4 can (0.029).
    assert "too few repetitions (3+3)" in p.stdout
    assert "below 4 a side" in p.stdout
    # With two metrics judged at once each needs p < 0.025: still 4.
    # With twenty, 0.0025: 6 a side (2 / C(12, 6) = 0.0022).
    b = make_results(tmp_path / "b2", many_cells(20, 5))
    n = make_results(tmp_path / "n2", many_cells(20, 5))
    p = run_cb("compare", b, n, "--fail-on-regression", check=6)
    assert "below 6 a side" in p.stdout


# ---- instruction counts ----------------------------------------------------

def test_one_repetition_of_instruction_counts_is_judged(tmp_path):
    def cells(v):
        return {("m", "w", 8): [{"instructions": v}]}
    b = make_results(tmp_path / "b", cells(1_000_000_000))
    # 6%: within the spread of a multi-threaded runtime's counts (csp's
    # ping-pong spread 5.3% over four runs); 15% is past the 10% minimum.
    same = make_results(tmp_path / "s", cells(1_060_000_000))
    worse = make_results(tmp_path / "w", cells(1_150_000_000))
    out = json.loads(run_cb("compare", b, same, "--format", "json",
                            "--fail-on-regression", check=0).stdout)
    assert out["rows"][0]["verdict"] == "no change"
    out = json.loads(run_cb("compare", b, worse, "--format", "json",
                            "--fail-on-regression", check=1).stdout)
    assert out["rows"][0]["verdict"] == "slower"
    assert out["rows"][0]["ratio"] == pytest.approx(1.15)


# ---- the U test against scipy ---------------------------------------------

@pytest.mark.parametrize("a,b", [
    ([1.0, 2, 3, 4, 5, 6, 7, 8], [4.5, 5.5, 6.5, 9, 10, 11, 12, 13]),
    ([3.1, 1.2, 8.4, 2.2, 5.5], [7.7, 6.1, 9.9, 4.4, 8.8, 10.1]),
    ([1.0, 2, 2, 3, 5, 5, 7], [2.0, 3, 3, 4, 6, 8, 8, 9]),
    ([10.0] * 4 + [11.0] * 4, [10.0] * 2 + [12.0] * 6),
])
def test_u_test_p_values_match_scipy(tmp_path, a, b):
    stats = pytest.importorskip("scipy.stats")
    ties = len(set(a + b)) < len(a + b)
    ref = stats.mannwhitneyu(b, a, alternative="two-sided",
                             method="asymptotic" if ties else "exact",
                             use_continuity=True).pvalue
    bd = make_results(tmp_path / "b", thr_cells(a))
    nd = make_results(tmp_path / "n", thr_cells(b))
    row = json.loads(run_cb("compare", bd, nd, "--format", "json",
                            check=None).stdout)["rows"][0]
    assert row["p_value"] == pytest.approx(ref, rel=1e-6)


def test_summary_names_each_workloads_headline_in_readable_units(tmp_path):
    d = make_results(tmp_path / "s", {
        **pp_cells([91.6, 92.0, 93.1]),
        ("m", "w", 8): [{"instructions": 110_876_383,
                         "peak_rss_bytes": 4_964_352}]})
    out = run_cb("summary", d, check=0).stdout
    pp = next(x for x in out.splitlines() if x.startswith("actor ping-pong"))
    assert "92 ns round_trip_ns" in pp, pp
    m = next(x for x in out.splitlines() if x.startswith("m w"))
    assert "111 M instr" in m and "4.73 MiB" in m, m


def test_dry_run_estimates_callgrind_and_lists_refused_cells():
    out = run_cb("matrix", "-m", "actor", "-w", "ping-pong,bank", "--quick",
                 "--metric", "instructions", "--dry-run", check=0).stdout
    lines = out.splitlines()
    assert "(callgrind)" in next(x for x in lines if "ping-pong" in x)
    assert "refused:" in next(x for x in lines if "actor bank" in x)
    assert "1 cell refused by --metric instructions" in out


# ---- baselines ---------------------------------------------------------------

def test_compare_against_a_kept_baseline(tmp_path, monkeypatch):
    monkeypatch.setenv("CONCBENCH_BASELINES", str(tmp_path / "store"))
    b = make_results(tmp_path / "b", thr_cells(samples(1, 10, 1000, 10)))
    n = make_results(tmp_path / "n", thr_cells([v * 0.7 for v in
                                                samples(2, 10, 1000, 10)]))
    run_cb("compare", "@main", n, check=2)  # none kept yet
    out = run_cb("baseline", "keep", b, "feature/x", check=0).stdout
    assert "as baseline 'feature/x'" in out
    assert (tmp_path / "store" / "feature%2Fx" / "runs.jsonl").exists()
    assert run_cb("baseline", "list", check=0).stdout.split() == ["feature/x"]
    run_cb("compare", "@feature/x", n, "--fail-on-regression", check=1)
    # Keeping again replaces it whole: now the same results as NEW.
    run_cb("baseline", "keep", n, "feature/x", check=0)
    run_cb("compare", "@feature/x", n, "--fail-on-regression", check=0)
    # The fingerprint rule holds for baselines too.
    other = make_results(tmp_path / "o", thr_cells(samples(3, 10, 1000, 10)),
                         machine=dict(MACHINE, fingerprint="2" * 16,
                                      kernel="6.1"))
    run_cb("baseline", "keep", other, "old", check=0)
    p = run_cb("compare", "@old", n, "--fail-on-regression", check=6)
    assert "kernel" in p.stdout
    for bad in ("", ".hidden", "a b", "x;y"):
        run_cb("baseline", "keep", b, bad, check=2)
    run_cb("baseline", "keep", tmp_path / "missing", "m", check=2)


# ---- ab: confirmation of the suspect cells alone --------------------------

def test_ab_confirms_suspect_cells_alone(tmp_path):
    """A build three times slower (CONCBENCH_INJECT_FAULT=slow200): every
    cell is suspect, each runs alone for the confirmation rounds, and the
    regression is confirmed.  A 3x change stands far above this shared
    machine's noise (at worst about 1.5x between neighbouring runs)."""
    from conftest import CONCBENCH
    slow = tmp_path / "concbench-slow"
    slow.write_text("#!/bin/sh\nCONCBENCH_INJECT_FAULT=slow200 "
                    f"exec '{CONCBENCH}' \"$@\"\n")
    slow.chmod(0o755)
    out = tmp_path / "ab"
    p = run_cb("ab", CONCBENCH, slow, "-m", "actor", "-w",
               "ping-pong,skynet", "--quick", "--reps", "6",
               "--fail-on-regression", "--format", "json", "-o", out,
               timeout=600)
    assert p.returncode == 1, p.stderr[-2000:]
    res = json.loads(p.stdout)
    assert res["suspect_cells"] >= 1 and res["confirmed_regressions"] >= 1
    confirm = [json.loads(x) for x in open(out / "confirm" / "base" /
                                           "runs.jsonl")]
    cells = {(r["model"], r["workload"]) for r in confirm
             if r["type"] == "run"}
    assert len(cells) == res["suspect_cells"]
    assert sorted({r["rep"] for r in confirm if r["type"] == "run"}) == \
        list(range(12))


# ---- exports ---------------------------------------------------------------

def test_export_names_carry_only_parameters_off_their_defaults(tmp_path):
    d = tmp_path / "x"
    d.mkdir()
    params = {"rounds": 1000000, "payload": 0, "policy": "default",
              "capacity": 1, "payload_kind": "binary", "ping": "task"}
    lines = [{"schema_version": 1, "type": "matrix", "cells_hash": "0",
              "cells": 2, "reps": 0, "warmup": 0, "seed": 1}]
    for i, (extra, mp) in enumerate([({}, {}),
                                     ({"payload": 64}, {"copy": "off"})]):
        for rep in range(3):
            lines.append({
                "schema_version": 1, "type": "run", "model": "actor",
                "workload": "ping-pong", "params": params | extra,
                "model_params": {"reductions": 4000} | mp, "rep": rep,
                "outcome": "ok", "order": 3 * i + rep,
                "metrics": {"round_trip_ns": 90.0 + rep,
                            "throughput_ops_s": 1e9 / (90 + rep),
                            "elapsed_ns": 9e7}})
    (d / "runs.jsonl").write_text("".join(json.dumps(x) + "\n"
                                          for x in lines))
    out = run_cb("export", d, "bmf", check=0).stdout
    assert f"wrote {d}/bmf.json" in out and "--adapter json" in out
    bmf = json.loads((d / "bmf.json").read_text())
    assert sorted(bmf) == ["actor ping-pong",
                           "actor ping-pong payload=64 model.copy=off"]
    # One measurement, one series: the derived ones are not exported.
    assert set(bmf["actor ping-pong"]) == {"round-trip-ns"}
    out = run_cb("export", d, "gab", check=0).stdout
    assert "gab-bigger.json and" in out
    smaller = json.loads((d / "gab-smaller.json").read_text())
    assert {e["name"] for e in smaller} == {
        "actor ping-pong round_trip_ns",
        "actor ping-pong payload=64 model.copy=off round_trip_ns"}
    p = run_cb("export", d, "gab", "--stdout", check=2)
    assert "-o DIR" not in p.stderr and "no --stdout" in p.stderr


# ---- readable output -------------------------------------------------------

def test_progress_into_a_file_is_plain_lines_and_matrix_says_what_next(
        tmp_path):
    out = tmp_path / "m"
    p = run_cb("matrix", "-m", "actor", "-w", "ping-pong", "--quick",
               "--reps", "2", "--progress", "always", "-o", out, check=0)
    assert "\x1b" not in p.stderr and "\r" not in p.stderr
    lines = p.stderr.splitlines()
    assert any(x.startswith("[1/2]") for x in lines)
    assert any(x.startswith("[2/2]") for x in lines)
    assert f"concbench summary {out}" in p.stderr


def test_run_warns_about_the_machine_as_matrix_does(tmp_path):
    m = run_cb("matrix", "-m", "actor", "-w", "ping-pong", "--quick",
               "--reps", "1", "-o", tmp_path / "m", check=0).stderr
    r = run_cb("run", "-m", "actor", "-w", "ping-pong", "--quick",
               check=0).stderr
    def machine_warnings(text):
        return {x for x in text.splitlines() if "warning:" in x and
                "load average" not in x and "noisy" not in x}
    assert machine_warnings(m) == machine_warnings(r)
