# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
"""concbench hyperfine: the export is stored and read like any results."""
import json
import shutil

import pytest

from conftest import model_names, run_cb, workload_names


@pytest.mark.skipif(shutil.which("hyperfine") is None,
                    reason="hyperfine is not installed")
def test_hyperfine_results_are_a_results_folder(tmp_path):
    # threads is the baseline every workload runs on (the other models may
    # honestly refuse one, which would make the command fail).
    w = workload_names()[0]
    m = "threads"
    assert m in model_names()
    out = tmp_path / "hf"
    run_cb("hyperfine", "-m", m, "-w", w, "--quick", "--runs", "2",
           "--warmup", "0", "-o", out, timeout=300, check=0)
    export = json.loads((out / "hyperfine.json").read_text())
    assert export["results"][0]["command"] == m
    assert len(export["results"][0]["times"]) == 2
    runs = [json.loads(x) for x in open(out / "runs.jsonl")]
    assert [r["metrics"]["wall_time_s"] for r in runs] == \
        pytest.approx(export["results"][0]["times"])
    cmp = json.loads(run_cb("compare", out, out, "--format", "json",
                            check=0).stdout)
    assert cmp["rows"][0]["metric"] == "wall_time_s"
    # Two runs a side cannot reach significance: refused, not guessed.
    assert cmp["rows"][0]["verdict"] == "not comparable"
    assert "too few repetitions (2+2)" in cmp["rows"][0]["note"]


@pytest.mark.parametrize("args", [
    [],
    ["-w", "no-such-workload", "-o", "x"],
    ["-w", "WL", "-m", "no-such-model", "-o", "x"],
    ["-w", "WL", "-p", "tasks=1,2", "-o", "x"],
    ["-w", "WL", "--runs", "1", "-o", "x"],
    ["-w", "WL"],
])
def test_bad_input(args):
    w = workload_names()[0]
    p = run_cb("hyperfine", *[w if a == "WL" else a for a in args], check=2)
    assert p.stderr.startswith("concbench: hyperfine:")
