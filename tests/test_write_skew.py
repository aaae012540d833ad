# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
"""write-skew on every model: the on-call doctors break their rule only
under snapshot isolation (stm's default, Clojure's refs without ensure),
never under ensure, serializable transactions or locks; stm's retry limit
fails a run with the reason.  The cases through model.h itself are
tests/c/test_cells.c, driven one by one here."""
import json
import subprocess

import pytest

from conftest import CTEST_DIR, SCALE, SKIP_CODE, model_names, run_cb, \
    run_json

MODELS = model_names()
BIN = CTEST_DIR / "test_cells"


def cell_cases():
    if not BIN.exists():
        return []
    return subprocess.run([str(BIN), "--list"], capture_output=True,
                          text=True, check=True).stdout.split()


@pytest.mark.parametrize("case", cell_cases())
def test_cells_case(case):
    p = subprocess.run([str(BIN), case], capture_output=True, text=True,
                       timeout=300 * SCALE)
    if p.returncode == SKIP_CODE:
        pytest.skip(p.stderr.strip())
    assert p.returncode == 0, f"{case}: exit {p.returncode}\n{p.stderr}"


def skew(model, *params):
    args = ["run", "-m", model, "-w", "write-skew", "--quick"]
    for p in params:
        args += ["-p", p]
    return run_json(*args, timeout=300)


@pytest.mark.parametrize("model", MODELS)
def test_serializable_models_never_skew(model):
    params = ("isolation=ensure",) if model == "stm" else ()
    d = skew(model, *params)
    m = d["metrics"]
    assert d["outcome"] == "ok"
    assert m["rounds"] == 500
    assert m["broken"] == 0 and m["broken_pct"] == 0
    # Every round one request went off call and the other declined.
    assert m["declined"] == m["rounds"]


def test_stm_serializable_never_skews():
    if "stm" not in MODELS:
        pytest.skip("no stm model")
    m = skew("stm", "isolation=serializable")["metrics"]
    assert m["broken"] == 0 and m["declined"] == m["rounds"]


def test_stm_snapshot_skews():
    """Clojure's default isolation: the rule breaks in some rounds.  How
    many depends on how the two requests overlapped, so the run repeats
    (bounded) until one broke."""
    if "stm" not in MODELS:
        pytest.skip("no stm model")
    for _ in range(5):
        d = skew("stm")  # the default: isolation=snapshot
        m = d["metrics"]
        assert d["outcome"] == "ok"
        assert m["broken"] + m["declined"] == m["rounds"]
        assert d["model_params"]["isolation"] == "snapshot"
        if m["broken"] > 0:
            break
    assert m["broken"] > 0 and m["broken_pct"] > 0


def test_stm_retry_limit_fails_the_run():
    """retry_limit=1: the first conflict gives up (Clojure throws after
    RETRY_LIMIT attempts); the run fails with the reason, exit 3."""
    if "stm" not in MODELS:
        pytest.skip("no stm model")
    for _ in range(5):
        p = run_cb("run", "-m", "stm", "-w", "write-skew", "--quick",
                   "-p", "isolation=ensure", "-p", "retry_limit=1",
                   "--format", "json", timeout=300)
        d = json.loads(p.stdout)
        if d["outcome"] != "ok":
            break
    assert p.returncode == 3, p.stderr
    assert "retry limit" in d["reason"]
    assert d["repetitions"][0]["counters"]["gave_up"] >= 1
    # The same through bank: a transfer that gives up fails the run.
    p = run_cb("run", "-m", "stm", "-w", "bank", "--quick", "-p",
               "retry_limit=1", "-p", "accounts=2", "-p", "tasks=4",
               "-p", "ops=200000", timeout=300)
    assert p.returncode == 3 and "retry limit" in p.stderr, p.stderr


def test_bad_parameters():
    p = run_cb("run", "-m", "threads", "-w", "write-skew", "-p", "rounds=0")
    assert p.returncode == 2 and "rounds" in p.stderr
    if "stm" in MODELS:
        p = run_cb("run", "-m", "stm", "-w", "write-skew", "-p",
                   "isolation=linearizable")
        assert p.returncode == 2 and "isolation" in p.stderr
        p = run_cb("run", "-m", "stm", "-w", "write-skew", "-p",
                   "retry_limit=-1")
        assert p.returncode == 2 and "retry_limit" in p.stderr
