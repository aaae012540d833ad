# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
"""concbench merge: shards of one plan joined into one matrix; missing
shards reported and marked, never invented; duplicates and other plans
refused; runs of different machines never pooled."""
import csv
import json
import shutil

import pytest

from conftest import model_names, run_cb

REPS = 2


def plan_args():
    models = ",".join(model_names()[:2])
    return ["-m", models, "-w", "ping-pong,spawn", "--quick", "--reps",
            str(REPS), "--seed", "7", "-q"]


def read_runs(d):
    with open(d / "runs.jsonl") as f:
        lines = [json.loads(line) for line in f]
    assert lines[0]["type"] == "matrix"
    return lines[0], lines[1:]


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def planned(runs):
    """What identifies a planned repetition and how it was run."""
    return sorted((r["label"], r["rep"], r["warmup"], r.get("seed"),
                   r.get("order")) for r in runs)


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    """The plan run whole, and as four shards (one machine)."""
    base = tmp_path_factory.mktemp("merge")
    run_cb("matrix", *plan_args(), "-o", base / "local", check=0)
    for k in range(1, 5):
        run_cb("matrix", *plan_args(), "--shard", f"{k}/4", "-o",
               base / f"s{k}", check=0)
    return base


def test_complete_merge_equals_the_local_matrix(shards, tmp_path):
    dirs = [shards / f"s{k}" for k in (3, 1, 4, 2)]
    p = run_cb("merge", tmp_path / "m", *dirs, check=0)
    assert "is complete" in p.stderr
    head, runs = read_runs(tmp_path / "m")
    lhead, local = read_runs(shards / "local")
    assert planned(runs) == planned(local)
    assert head["plan_id"] == lhead["plan_id"]
    assert head["missing_shards"] == [] and len(head["merged_from"]) == 4
    assert all(r["outcome"] == "ok" for r in runs)
    assert "machine_fingerprint" not in json.dumps(runs)
    cells = read_csv(tmp_path / "m" / "cells.csv")
    assert sorted(c["cell"] for c in cells) == sorted(
        c["cell"] for c in read_csv(shards / "local" / "cells.csv"))
    assert all(int(c["ok"]) == REPS for c in cells)
    fp = json.load(open(tmp_path / "m" / "machine.json"))["fingerprint"]
    assert fp == json.load(open(shards / "s1" / "machine.json"))["fingerprint"]
    # One machine: the merge compares with the local run like any folder.
    run_cb("compare", shards / "local", tmp_path / "m", check=0)


def test_missing_shard_is_reported_and_marked(shards, tmp_path):
    p = run_cb("merge", tmp_path / "m", shards / "s1", shards / "s2",
               shards / "s4", check=1)
    assert "shard 3/4 is missing" in p.stderr
    head, runs = read_runs(tmp_path / "m")
    assert head["missing_shards"] == [3]
    missing = [r for r in runs if r["outcome"] == "missing"]
    s3 = {c["label"] for c in head["plan_cells"] if c["shard"] == 3}
    assert s3 and {r["label"] for r in missing} == s3
    assert len(missing) == REPS * len(s3)
    assert all(r["metrics"] == {} and "shard 3/4" in r["reason"]
               for r in missing)
    _, local = read_runs(shards / "local")
    assert planned(runs) == sorted(
        (lbl, rep, w, None, None) if lbl in s3 else (lbl, rep, w, s, o)
        for lbl, rep, w, s, o in planned(local))
    cells = {c["cell"]: c for c in read_csv(tmp_path / "m" / "cells.csv")}
    summary = read_csv(tmp_path / "m" / "summary.csv")
    for c in cells.values():
        is_missing = int(c["missing"]) == REPS
        assert is_missing or int(c["ok"]) == REPS
        # No figures for a missing cell: nothing invented.
        assert any(r["cell"] == c["cell"] for r in summary) != is_missing
    assert sum(int(c["missing"]) == REPS for c in cells.values()) == len(s3)


def test_every_shard_missing_but_one(shards, tmp_path):
    p = run_cb("merge", tmp_path / "m", shards / "s2", check=1)
    for k in (1, 3, 4):
        assert f"shard {k}/4 is missing" in p.stderr


def test_an_interrupted_shard_is_completed_with_missing_runs(shards,
                                                             tmp_path):
    """A shard that stopped short (Ctrl-C, a node lost) holds complete
    lines but not all its runs: the rest are recorded as missing, and
    --resume there, then a merge, completes it."""
    cut = tmp_path / "s1-cut"
    shutil.copytree(shards / "s1", cut)
    lines = (cut / "runs.jsonl").read_text().splitlines(keepends=True)
    (cut / "runs.jsonl").write_text("".join(lines[:-1]))
    lost = json.loads(lines[-1])
    p = run_cb("merge", tmp_path / "m", cut, shards / "s2", shards / "s3",
               shards / "s4", check=1)
    assert "lacks 1 of its planned runs" in p.stderr, p.stderr
    assert "--resume" in p.stderr
    _, runs = read_runs(tmp_path / "m")
    _, local = read_runs(shards / "local")
    assert len(runs) == len(local)
    missing = [r for r in runs if r["outcome"] == "missing"]
    assert [(r["label"], r["rep"]) for r in missing] == [(lost["label"],
                                                          lost["rep"])]
    run_cb("matrix", *plan_args(), "--shard", "1/4", "-o", cut, "--resume",
           check=0)
    run_cb("merge", tmp_path / "m2", cut, shards / "s2", shards / "s3",
           shards / "s4", check=0)
    assert len(read_runs(tmp_path / "m2")[1]) == len(local)


def test_duplicated_shard_is_refused(shards, tmp_path):
    shutil.copytree(shards / "s2", tmp_path / "s2-copy")
    p = run_cb("merge", tmp_path / "m", shards / "s1", shards / "s2",
               tmp_path / "s2-copy", check=2)
    assert "shard 2/4 is given twice from one machine" in p.stderr
    assert not (tmp_path / "m" / "runs.jsonl").exists()
    p = run_cb("merge", tmp_path / "m", shards / "s1", shards / "s1", check=2)
    assert "given twice" in p.stderr


@pytest.mark.parametrize("change,what", [
    (["--seed", "8"], "--seed"),
    (["--reps", "3"], "--reps"),
    (["-p", "rounds=10"], "the cells"),
])
def test_different_plans_are_refused(shards, tmp_path, change, what):
    args = plan_args()
    for flag in change[::2]:
        if flag in args:
            i = args.index(flag)
            del args[i:i + 2]
    run_cb("matrix", *args, *change, "--shard", "2/4", "-o", tmp_path / "x",
           check=0)
    p = run_cb("merge", tmp_path / "m", shards / "s1", tmp_path / "x",
               check=2)
    assert "different plans" in p.stderr and what in p.stderr, p.stderr
    assert not (tmp_path / "m" / "runs.jsonl").exists()


def test_one_plan_split_two_ways_is_refused(shards, tmp_path):
    run_cb("matrix", *plan_args(), "--shard", "2/2", "-o", tmp_path / "x",
           check=0)
    p = run_cb("merge", tmp_path / "m", shards / "s1", tmp_path / "x",
               check=2)
    assert "split two ways" in p.stderr


def test_bad_merge_arguments(shards, tmp_path):
    run_cb("merge", check=2)
    run_cb("merge", tmp_path / "m", check=2)
    p = run_cb("merge", shards / "s1", shards / "s1", check=2)
    assert "also a folder to merge" in p.stderr
    p = run_cb("merge", tmp_path / "m", tmp_path / "nothing", check=2)
    assert "nothing" in p.stderr
    p = run_cb("merge", "--force", tmp_path / "m", shards / "s1", check=2)
    assert "unknown option" in p.stderr
    run_cb("merge", tmp_path / "m", shards / "s1", shards / "s2", check=1)
    p = run_cb("merge", tmp_path / "m", shards / "s3", check=2)
    assert "already holds results" in p.stderr
    p = run_cb("merge", tmp_path / "m2", tmp_path / "m", check=2)
    assert "itself a merge" in p.stderr


def test_machines_are_never_pooled(shards, tmp_path):
    """Shard 1 run again on "another machine" (--cpus 0: the PUs used are
    part of the fingerprint) beside the same shard on this one, and shard
    2 there too: every run keeps its machine, its cell is that machine's,
    and summary and compare separate them."""
    other = tmp_path / "other"
    run_cb("matrix", *plan_args(), "--cpus", "0", "--shard", "1/4", "-o",
           other / "s1", check=0)
    run_cb("matrix", *plan_args(), "--cpus", "0", "--shard", "2/4", "-o",
           other / "s2", check=0)
    fp_here = json.load(open(shards / "s1" / "machine.json"))["fingerprint"]
    fp_there = json.load(open(other / "s1" / "machine.json"))["fingerprint"]
    assert fp_here != fp_there
    m = tmp_path / "m"
    run_cb("merge", m, shards / "s1", other / "s1", other / "s2",
           shards / "s3", shards / "s4", check=0)
    head, runs = read_runs(m)
    assert all(r["machine_fingerprint"] in (fp_here, fp_there)
               for r in runs)
    assert all(r["label"].startswith("@" + r["machine_fingerprint"][:8])
               for r in runs)
    machine = json.load(open(m / "machine.json"))
    assert machine["fingerprint"].startswith("mixed:")
    assert {x["fingerprint"] for x in machine["machines"]} == {fp_here,
                                                               fp_there}
    s1 = {c["label"] for c in head["plan_cells"] if c["shard"] == 1}
    cells = read_csv(m / "cells.csv")
    # Shard 1's cells twice (once per machine), every cell REPS runs:
    # never 2 x REPS pooled from two machines.
    assert len(cells) == len(head["plan_cells"]) + len(s1)
    assert all(int(c["ok"]) == REPS for c in cells)
    for c in cells:
        assert ("@" + fp_here in c["cell"]) != ("@" + fp_there in c["cell"])
    summary = read_csv(m / "summary.csv")
    assert summary and all(int(r["n"]) == REPS for r in summary
                           if r["metric"] == "elapsed_ns")
    # compare refuses a mixed folder against one machine's...
    p = run_cb("compare", shards / "local", m)
    assert "fingerprint" in p.stderr + p.stdout, p.stdout
    # ...and the text summary names each cell's machine.
    p = run_cb("summary", m, check=0)
    there = {c["label"] for c in head["plan_cells"] if c["shard"] in (1, 2)}
    table = p.stdout.split("\n\n")[0].splitlines()
    assert sum(line.startswith("@" + fp_there[:8]) for line in table) == len(
        there)
