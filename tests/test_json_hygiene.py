# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
"""What the runner writes is JSON every reader takes: valid UTF-8 whatever
the bytes of a path or name, and records that match the published schema
(docs/results.schema.json)."""
import json
import os

import pytest

from conftest import ROOT, run_cb

SCHEMA = json.loads((ROOT / "docs" / "results.schema.json").read_text())


def strict_lines(path):
    """Every line of path, decoded as strict UTF-8 and parsed by json."""
    raw = path.read_bytes()
    text = raw.decode("utf-8")  # raises on a raw 0xFF
    return [json.loads(line) for line in text.splitlines() if line]


def validate(records):
    jsonschema = pytest.importorskip("jsonschema")
    v = jsonschema.Draft202012Validator(SCHEMA)
    for r in records:
        errors = sorted(v.iter_errors(r), key=str)
        assert not errors, (r.get("type"), [e.message for e in errors])


def test_invalid_utf8_in_a_path_round_trips(tmp_path):
    name = os.fsdecode(b"res\xffults")  # '\udcff' stands for the byte
    out = tmp_path / name
    run_cb("matrix", "-m", "threads", "-w", "ping-pong", "--quick",
           "--reps", "1", "-q", "-o", out, check=0)
    lines = strict_lines(out / "runs.jsonl")
    header = next(r for r in lines if r["type"] == "matrix")
    assert os.fsencode(header["argv"][-1]) == os.fsencode(str(out))
    assert b"\\udcff" in (out / "runs.jsonl").read_bytes()
    # The runner reads its own escape back as the byte.
    run_cb("summary", out, check=0)
    validate(lines)


def test_the_schema_refuses_what_no_writer_writes():
    jsonschema = pytest.importorskip("jsonschema")
    v = jsonschema.Draft202012Validator(SCHEMA)
    good = {"schema_version": 1, "type": "run", "model": "m",
            "workload": "w", "params": {}, "rep": 0, "outcome": "ok",
            "metrics": {"x_ns": 1}}
    assert v.is_valid(good)
    for bad in ({"rep": -1}, {"rep": 1.5}, {"outcome": "great"},
                {"model": ""}, {"schema_version": 2},
                {"metrics": {"x_ns": "fast"}}):
        assert not v.is_valid(good | bad), bad


def test_every_written_line_matches_the_schema(tmp_path):
    out = tmp_path / "m"
    run_cb("matrix", "-m", "threads,actor", "-w",
           "ping-pong,skynet,cpu-crunch,mailbox-flood", "--quick",
           "--reps", "1", "-q", "-o", out, timeout=300)
    lines = strict_lines(out / "runs.jsonl")
    assert {r["type"] for r in lines} == {"matrix", "run"}
    assert any(r.get("series") for r in lines if r["type"] == "run")
    assert any(isinstance(v, dict) for r in lines if r["type"] == "run"
               for v in r["metrics"].values())
    machine = json.loads((out / "machine.json").read_text())
    # The drift probe: one timing before each repetition, by its order.
    probes = strict_lines(out / "probe.jsonl")
    runs = [r for r in lines if r["type"] == "run"]
    assert sorted(p["order"] for p in probes) == sorted(r["order"]
                                                       for r in runs)
    assert all(p["wall_ns"] >= max(p["compute_ns"], p["memory_ns"],
                                   p["fault_ns"]) for p in probes), probes
    validate(lines + [machine] + probes)
