# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
"""The results reader believes nothing: every run record is checked
against the schema (runner/schema.c), a repetition recorded twice is
refused with both line numbers, plot never draws from stale derived
files, and a file that is not a results file is named for what it is.

The folders are built by hand from one valid record, so each case
changes exactly one thing."""
import copy
import json
import shutil

import pytest

from conftest import run_cb

BASE = {"schema_version": 1, "type": "run", "model": "m", "workload": "w",
        "params": {"tasks": 2}, "model_params": {}, "label": "m w tasks=2",
        "quick": True, "rep": 0, "warmup": False, "order": 0, "seed": 7,
        "outcome": "ok", "reason": None, "stderr_tail": None, "wall_s": 0.5,
        "metrics": {"elapsed_ns": 1000, "throughput_ops_s": 50.0,
                    "fairness_jain": None,
                    "latency_ns": {"count": 3, "min": 1, "mean": 2.0,
                                   "p50": 2, "p90": 3, "p99": 3,
                                   "p999": 3, "max": 3,
                                   "buckets": [[1, 1, 1], [2, 3, 2]]}},
        "series": {"queue_len": [[0, 1], [1000000, 2]]},
        "counters": {"sends": 4}}
HEADER = {"schema_version": 1, "type": "matrix", "cells_hash": "0",
          "cells": 1, "reps": 3, "warmup": 0, "seed": 1}


def reps(n=3):
    out = []
    for i in range(n):
        r = copy.deepcopy(BASE)
        r["rep"] = r["order"] = i
        r["metrics"]["throughput_ops_s"] = 50.0 + i
        out.append(r)
    return out


def folder(path, records, header=True):
    path.mkdir(parents=True, exist_ok=True)
    lines = ([HEADER] if header else []) + records
    (path / "runs.jsonl").write_text(
        "".join(json.dumps(x) + "\n" for x in lines))
    return path


def test_valid_folder_reads(tmp_path):
    d = folder(tmp_path / "ok", reps())
    out = run_cb("summary", d, check=0).stdout
    assert "m w tasks=2" in out
    summary = (d / "summary.csv").read_text().splitlines()
    thr = [x for x in summary if ",throughput_ops_s," in x]
    assert thr and thr[0].split(",")[4] == "3"  # n = 3


def test_duplicated_row_is_refused_with_both_lines(tmp_path):
    rs = reps()
    d = folder(tmp_path / "dup", rs + [rs[1]])  # --reps 3, four rows
    for cmd in (["summary", d], ["compare", d, d], ["export", d, "bmf"]):
        p = run_cb(*cmd, check=2)
        assert "runs.jsonl:5:" in p.stderr, p.stderr
        assert "repetition 1" in p.stderr and "line 3" in p.stderr


def test_a_warmup_and_a_measured_rep_with_one_number_are_two(tmp_path):
    rs = reps()
    w = copy.deepcopy(rs[0])
    w["warmup"] = True
    d = folder(tmp_path / "warm", [w] + rs)
    run_cb("summary", d, check=0)


def test_a_skipped_rep_is_superseded_by_the_resumed_one(tmp_path):
    rs = reps()
    skipped = copy.deepcopy(rs[2])
    skipped.update(outcome="skipped", reason="time budget", metrics={})
    d = folder(tmp_path / "skip", rs[:2] + [skipped, rs[2]])
    run_cb("summary", d, check=0)
    cells = (d / "cells.csv").read_text().splitlines()
    head, row = cells[0].split(","), cells[1].split(",")
    assert row[head.index("ok")] == "3" and row[head.index("skipped")] == "0"


def set_path(rec, path, value):
    *parents, last = path
    for k in parents:
        rec = rec[k]
    if value is DELETE:
        del rec[last]
    else:
        rec[last] = value


DELETE = object()

# (field path, bad value, words the message must hold)
BAD_ROWS = [
    (["metrics", "elapsed_ns"], -5, "below zero"),
    (["metrics", "throughput_ops_s"], "fast", "is text, not a number"),
    (["metrics", "throughput_ops_s"], [1], "not a number"),
    (["metrics", "throughput_ops_s"], True, "not a number"),
    (["metrics", "latency_ns", "p99"], -1, "latency_ns.p99"),
    (["metrics", "latency_ns", "p50"], "2", "latency_ns.p50"),
    (["metrics", "latency_ns", "buckets"], [[3, 2, 1]], "bucket 0"),
    (["metrics", "latency_ns", "buckets"], [[1, 2]], "bucket 0"),
    (["metrics", "latency_ns", "buckets"], "none", "buckets"),
    (["metrics"], [], "\"metrics\" is an array"),
    (["rep"], 1.5, "\"rep\" is 1.5"),
    (["rep"], -1, "\"rep\" is -1"),
    (["rep"], "0", "\"rep\" is text"),
    (["rep"], 2e6, "not an integer"),
    (["order"], 0.25, "\"order\""),
    (["seed"], -3, "\"seed\""),
    (["warmup"], "no", "\"warmup\" is text"),
    (["quick"], 1, "\"quick\""),
    (["outcome"], "fine", "unknown outcome \"fine\""),
    (["outcome"], "", "\"outcome\" is empty"),
    (["model"], "", "\"model\" is empty"),
    (["workload"], 3, "\"workload\" is a number"),
    (["label"], 3, "\"label\""),
    (["reason"], 3, "\"reason\""),
    (["wall_s"], -0.1, "\"wall_s\""),
    (["wall_s"], "1s", "\"wall_s\""),
    (["counters", "sends"], -4, "counter \"sends\""),
    (["counters", "sends"], 1.5, "counter \"sends\""),
    (["counters", "sends"], "4", "counter \"sends\""),
    (["counters"], 4, "\"counters\""),
    (["series", "queue_len"], [[-1, 2]], "series \"queue_len\""),
    (["series", "queue_len"], [[0, "x"]], "series \"queue_len\""),
    (["series", "queue_len"], 7, "series \"queue_len\""),
]


@pytest.mark.parametrize("path,value,words", BAD_ROWS,
                         ids=[".".join(p) + "=" + json.dumps(v)
                              for p, v, _ in BAD_ROWS])
def test_nonsense_rows_are_refused_with_the_line(tmp_path, path, value,
                                                 words):
    rs = reps()
    set_path(rs[1], path, value)
    d = folder(tmp_path / "bad", rs)
    for cmd in (["summary", d], ["compare", d, d]):
        p = run_cb(*cmd, check=2)
        assert "runs.jsonl:3:" in p.stderr, p.stderr
        assert words in p.stderr, p.stderr


def test_signed_metrics_may_be_negative(tmp_path):
    """A difference of two means (ns_per_skipped_msg) and a computed
    answer (result) are the metrics that may be below zero."""
    rs = reps()
    for r in rs:
        r["metrics"]["ns_per_skipped_msg"] = -0.3
        r["metrics"]["result"] = -12
    run_cb("summary", folder(tmp_path / "signed", rs), check=0)


def test_real_results_pass_the_schema(tmp_path):
    """What the writers write, the reader reads: a real matrix whose
    records cover every outcome path the runner writes on a quick run."""
    d = tmp_path / "real"
    run_cb("matrix", "-m", "threads", "-w", "ping-pong,bank", "--quick",
           "--reps", "2", "--warmup", "1", "-o", d, "--quiet", timeout=300,
           check=0)
    run_cb("summary", d, check=0)


@pytest.mark.skipif(shutil.which("gnuplot") is None,
                    reason="gnuplot is not installed")
def test_plot_regenerates_stale_derived_files(tmp_path):
    d = folder(tmp_path / "stale", reps())
    run_cb("summary", d, check=0)
    # Derived files from some other run stay behind; runs.jsonl changes.
    rs = reps()
    for r in rs:
        r["metrics"]["throughput_ops_s"] = 7000.0
    folder(d, rs)
    run_cb("plot", d, "--format", "svg", check=0)
    summary = (d / "summary.csv").read_text()
    assert ",7000," in summary and ",51," not in summary, summary


@pytest.mark.skipif(shutil.which("gnuplot") is None,
                    reason="gnuplot is not installed")
def test_plot_refuses_a_truncated_file(tmp_path):
    d = folder(tmp_path / "cut", reps())
    run_cb("summary", d, check=0)  # derived files of the whole file
    text = (d / "runs.jsonl").read_text()
    (d / "runs.jsonl").write_text(text[:len(text) - 40])
    p = run_cb("plot", d, "--format", "svg", check=2)
    assert "truncated" in p.stderr and "--resume" in p.stderr


@pytest.mark.parametrize("content,words", [
    (b"root:x:0:0:root:/root:/bin/bash\n", "a text file, not JSON"),
    (b"", "an empty file"),
    (b"\x7fELF\x02\x01\x01\x00\x00", "a binary file"),
    (b'{"results": ', "JSON that does not parse"),
    (b'{"type": "machine", "schema_version": 1}', "machine description"),
    (b'[1, 2]', "without a \"results\" array"),
])
def test_a_file_that_is_not_results_is_named(tmp_path, content, words):
    f = tmp_path / "thing"
    f.write_bytes(content)
    good = folder(tmp_path / "good", reps())
    p = run_cb("compare", f, good, check=2)
    assert "not a results folder nor a hyperfine export" in p.stderr
    assert words in p.stderr, p.stderr
    assert "at byte 0" not in p.stderr or "does not parse" in p.stderr


def test_runs_jsonl_and_run_json_given_as_files_are_named(tmp_path):
    good = folder(tmp_path / "good", reps())
    p = run_cb("compare", good / "runs.jsonl", good, check=2)
    assert "give the folder" in p.stderr
    one = tmp_path / "one.json"
    one.write_text(run_cb("run", "-m", "threads", "-w", "ping-pong",
                          "--quick", "--format", "json", check=0).stdout)
    p = run_cb("compare", one, good, check=2)
    assert "one `concbench run`" in p.stderr
