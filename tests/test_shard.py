# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
"""matrix --shard: a deterministic partition of the plan's cells, K and N
from the command line or a scheduler's environment, bad input refused."""
import json
import os
import re
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import CONCBENCH, SCALE, model_names, run_cb

# A plan of many cells that costs nothing to expand: every model on
# ping-pong, swept over ten round counts (--dry-run runs nothing).
SWEEP = ["-w", "ping-pong", "--quick", "-p", "rounds=" +
         ",".join(str(10 * (i + 1)) for i in range(10))]
ROW = re.compile(r"^(\S.*?)\s+(\d+\.\d)\s+(\d+)/(\d+)( \(this one\))?$")


def dry_run(*args, env=None):
    """The cells of a dry run: {label: (owner shard, is this shard's)}."""
    e = {k: v for k, v in os.environ.items()
         if not k.startswith(("SLURM_", "JOB_COMPLETION", "CONCBENCH_SH"))}
    e.update(env or {})
    p = subprocess.run([str(CONCBENCH), "matrix", "--dry-run", *SWEEP,
                        *map(str, args)], capture_output=True, text=True,
                       env=e, timeout=60 * SCALE)
    assert p.returncode == 0, p.stderr
    cells = {}
    for line in p.stdout.splitlines():
        m = ROW.match(line)
        if m:
            assert m.group(1) not in cells, line
            cells[m.group(1)] = (int(m.group(3)), int(m.group(4)),
                                 bool(m.group(5)))
    return cells, p.stdout


@settings(max_examples=25, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(1, 7), seed=st.integers(0, 2**40),
       reps=st.integers(1, 5))
def test_shards_partition_the_cells(n, seed, reps):
    """Every planned cell (and so every repetition of it) belongs to
    exactly one of the N shards, every shard computes the same
    assignment, and each shard's 'this one' marks are exactly its own."""
    owners = None
    mine = {}
    for k in range(1, n + 1):
        cells, _ = dry_run("--shard", f"{k}/{n}", "--seed", seed,
                           "--reps", reps)
        assert len(cells) == 10 * len(model_names())
        owner = {c: o for c, (o, total, _) in cells.items()}
        assert all(total == n for _, total, _ in cells.values())
        assert all(1 <= o <= n for o in owner.values())
        if owners is None:
            owners = owner
        assert owner == owners, "shards disagree on the assignment"
        mine[k] = {c for c, (_, _, this) in cells.items() if this}
        assert mine[k] == {c for c, o in owner.items() if o == k}
    union = set().union(*mine.values())
    assert union == set(owners)
    assert sum(len(v) for v in mine.values()) == len(owners)
    # Balanced: the quick cells cost the same, so no shard holds more
    # than one cell above an even share.
    sizes = [len(v) for v in mine.values()]
    assert max(sizes) - min(sizes) <= 1, sizes


def test_the_assignment_depends_on_the_seed():
    a, _ = dry_run("--shard", "1/4", "--seed", "1")
    b, _ = dry_run("--shard", "1/4", "--seed", "2")
    assert {c: v[0] for c, v in a.items()} != {c: v[0] for c, v in b.items()}


@pytest.mark.parametrize("env,k,n,source", [
    ({"SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_MIN": "0",
      "SLURM_ARRAY_TASK_MAX": "3", "SLURM_ARRAY_TASK_COUNT": "4"},
     3, 4, "Slurm array task 2 of 0-3"),
    ({"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_MIN": "1",
      "SLURM_ARRAY_TASK_MAX": "4", "SLURM_ARRAY_TASK_COUNT": "4",
      "SLURM_ARRAY_TASK_STEP": "1"}, 1, 4, "Slurm array task 1 of 1-4"),
    ({"SLURM_ARRAY_TASK_ID": "6", "SLURM_ARRAY_TASK_MIN": "0",
      "SLURM_ARRAY_TASK_MAX": "6", "SLURM_ARRAY_TASK_COUNT": "4",
      "SLURM_ARRAY_TASK_STEP": "2"}, 4, 4, "step 2"),
    ({"JOB_COMPLETION_INDEX": "0", "CONCBENCH_SHARDS": "3"}, 1, 3,
     "Kubernetes completion index 0 of 3"),
    ({"JOB_COMPLETION_INDEX": "4", "CONCBENCH_SHARDS": "5"}, 5, 5,
     "Kubernetes completion index 4 of 5"),
])
def test_shard_auto_from_the_scheduler(env, k, n, source):
    auto, out = dry_run("--shard", "auto", env=env)
    assert source in out and f"shard {k}/{n}" in out, out
    explicit, _ = dry_run("--shard", f"{k}/{n}")
    assert auto == explicit


@pytest.mark.parametrize("env,message", [
    ({}, "no scheduler's index here"),
    ({"SLURM_ARRAY_TASK_ID": "1"}, "not all integers"),
    ({"SLURM_ARRAY_TASK_ID": "x", "SLURM_ARRAY_TASK_MIN": "0",
      "SLURM_ARRAY_TASK_MAX": "3", "SLURM_ARRAY_TASK_COUNT": "4"},
     "not all integers"),
    # --array=1,2,7: three tasks, min 1, max 7: which indices exist?
    ({"SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_MIN": "1",
      "SLURM_ARRAY_TASK_MAX": "7", "SLURM_ARRAY_TASK_COUNT": "3"},
     "not one evenly stepped range"),
    ({"JOB_COMPLETION_INDEX": "1"}, "CONCBENCH_SHARDS is not"),
    ({"JOB_COMPLETION_INDEX": "4", "CONCBENCH_SHARDS": "4"},
     "not an integer in 0..3"),
    ({"JOB_COMPLETION_INDEX": "0", "CONCBENCH_SHARDS": "many"},
     "not an integer in 1.."),
    ({"JOB_COMPLETION_INDEX": "0", "CONCBENCH_SHARDS": "2",
      "SLURM_ARRAY_TASK_ID": "0"}, "both"),
])
def test_shard_auto_refuses_without_a_clear_index(env, message):
    e = {k: v for k, v in os.environ.items()
         if not k.startswith(("SLURM_", "JOB_COMPLETION", "CONCBENCH_SH"))}
    e.update(env)
    p = subprocess.run([str(CONCBENCH), "matrix", "--dry-run", *SWEEP,
                        "--shard", "auto"], capture_output=True, text=True,
                       env=e, timeout=60 * SCALE)
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert message in p.stderr, p.stderr


@pytest.mark.parametrize("arg", ["5/4", "0/0", "0/4", "a/b", "1", "1/",
                                 "/4", "2/4x", "-1/4", "1/100001", "",
                                 "1.5/4", " 1/4"])
def test_bad_shard_is_exit_2(tmp_path, arg):
    p = run_cb("matrix", *SWEEP, "-o", tmp_path / "o", "--shard", arg,
               check=2)
    assert "--shard" in p.stderr and "concbench: matrix:" in p.stderr
    assert not (tmp_path / "o").exists()


def test_shard_given_twice_is_exit_2(tmp_path):
    p = run_cb("matrix", *SWEEP, "-o", tmp_path / "o", "--shard", "1/2",
               "--shard", "2/2", check=2)
    assert "given twice" in p.stderr


def test_a_shard_records_the_plan(tmp_path):
    models = ",".join(model_names()[:2])
    args = ["-m", models, "-w", "ping-pong", "--quick", "--reps", "1",
            "-p", "rounds=10,20", "-q"]
    for k in (1, 2):
        run_cb("matrix", *args, "--shard", f"{k}/2", "-o",
               tmp_path / f"s{k}", check=0)
    heads = [json.loads(open(tmp_path / f"s{k}" / "runs.jsonl").readline())
             for k in (1, 2)]
    runs = [[json.loads(line) for line in
             open(tmp_path / f"s{k}" / "runs.jsonl")][1:] for k in (1, 2)]
    a, b = heads
    assert a["plan_id"] == b["plan_id"] and a["revision"] == b["revision"]
    assert (a["shard"], a["shards"], b["shard"], b["shards"]) == (1, 2, 2, 2)
    assert a["plan_cells"] == b["plan_cells"] and len(a["plan_cells"]) == 4
    for k, (h, rs) in enumerate(zip(heads, runs), 1):
        own = {c["label"] for c in h["plan_cells"] if c["shard"] == k}
        assert {r["label"] for r in rs} == own
    # A shard resumes only as the same shard.
    p = run_cb("matrix", *args, "--shard", "2/2", "-o", tmp_path / "s1",
               "--resume", check=2)
    assert "different matrix" in p.stderr
