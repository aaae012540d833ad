# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
"""The CI regression gate: what `compare --fail-on-regression` and `ab`
decide, on results folders built by hand with a known verdict.

The false-positive and detection rates on real runs are measured by
scripts/gate_rates.py (long; not part of the default suite)."""
import json

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
