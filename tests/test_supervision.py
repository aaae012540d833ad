# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
"""Crash isolation: Erlang's rules for exits, links, monitors, trap_exit
and the supervisor on `actor` (tests/c/test_crash.c, one case per
process), what each other model's real system does with a crashing task,
and the `supervision` workload's outcome on every model: the BEAM
restarts and survives, JVM threads and core.async go blocks are lost and
the work stops, a Go panic ends the program (recorded as the outcome)."""
import subprocess

import pytest

from conftest import CTEST_DIR, SCALE, SKIP_CODE, model_names, run_cb, run_json

BIN = CTEST_DIR / "test_crash"


def listed():
    if not BIN.exists():
        return []
    out = subprocess.run([str(BIN), "--list"], capture_output=True,
                         text=True, check=True).stdout
    return out.split()


def cases():
    got = []
    for name in listed():
        if name.startswith("MODEL:"):
            got += [(m, name[6:]) for m in model_names()]
        else:
            got.append((None, name))
    return got


@pytest.mark.parametrize("model,case", cases(),
                         ids=lambda v: v if v else "actor")
def test_crash_case(model, case):
    args = [str(BIN)] + ([model] if model else []) + [case]
    p = subprocess.run(args, capture_output=True, text=True,
                       timeout=120 * SCALE)
    if p.returncode == SKIP_CODE:
        pytest.skip(p.stderr.strip())
    assert p.returncode == 0, f"{args}: exit {p.returncode}\n{p.stderr}"


def supervision(model, *params):
    # Crashes every ~50 operations, over a window that stretches with the
    # build's slowness, so that a sanitized build sees crashes too.
    # A parameter given here replaces the default (run refuses a key
    # given twice).
    kv = {"crash_ppm": "20000", "duration_ms": str(int(200 * SCALE))}
    kv.update(p.split("=", 1) for p in params)
    args = ["run", "-m", model, "-w", "supervision", "--quick", "--reps", "1",
            "--warmup", "0"]
    for k, v in kv.items():
        args += ["-p", f"{k}={v}"]
    return args


@pytest.mark.parametrize("strategy", ["one_for_one", "one_for_all"])
def test_actor_restarts_and_survives(strategy):
    d = run_json(*supervision("actor", f"strategy={strategy}"))
    m = d["metrics"]
    assert d["outcome"] == "ok"
    assert m["supervised"] == 1 and m["survived"] == 1, m
    assert m["crashes"] > 0
    assert m["workers_alive_at_end"] == 4
    if strategy == "one_for_one":
        assert m["restarts"] == m["crashes"], m
    else:
        # Every crash restarts all four (a crash while they are being
        # restarted is folded into that restart).
        assert 0 < m["restarts"] <= 4 * m["crashes"], m
    # Every restart but those after the end was timed.
    assert m["restart_latency_ns"]["count"] > 0
    assert m["restart_latency_ns"]["p50"] > 0


def test_actor_supervisor_gives_up_past_its_intensity():
    # OTP's default intensity (1 restart in 5 s): the second crash ends
    # the supervisor, and its workers with it.
    d = run_json(*supervision("actor", "intensity=1", "crash_ppm=100000"))
    m = d["metrics"]
    assert d["outcome"] == "ok"
    assert m["supervisor_gave_up"] == 1 and m["survived"] == 0, m
    assert m["restarts"] == 1


@pytest.mark.parametrize("model,params", [
    ("csp", []), ("locks", []), ("stm", []), ("threads", [])])
def test_lost_workers_are_not_restarted(model, params):
    if model not in model_names():
        pytest.skip(f"no model {model}")
    # Every worker crashes at its first operation: nothing restarts it
    # (no links on the JVM or in core.async), the rest of the program
    # runs on to the end and reports.
    p = run_cb(*supervision(model, "crash_ppm=1000000", *params),
               "--format", "json")
    import json
    d = json.loads(p.stdout)
    m = d["metrics"]
    assert d["outcome"] == "ok", p.stderr
    assert m["supervised"] == 0 and m["restarts"] == 0
    assert m["crashes"] == 4 and m["workers_alive_at_end"] == 0
    assert m["survived"] == 0
    # The real systems print an uncaught exception.
    assert "Exception in" in p.stderr


def test_go_panic_ends_the_program_as_a_crash():
    """An unrecovered panic ends a Go program with status 2 and no result:
    the run is crashed, the panic in its last words (as peers/go's)."""
    p = run_cb(*supervision("csp", "crash=panic", "crash_ppm=1000000"),
               "--format", "json")
    import json
    assert p.returncode == 1, p.stderr
    d = json.loads(p.stdout)
    assert d["outcome"] == "crashed"
    reason = d["repetitions"][0]["reason"]
    assert "exited with status 2 before reporting a result" in reason, reason
    # `run` passes the child's stderr through (a matrix keeps it as the
    # record's last words).
    assert "panic:" in p.stderr and "ends the program" in p.stderr


def test_describe_explains_each_model():
    p = run_cb("describe", "supervision", check=0)
    for word in ["actor", "JVM", "core.async", "crash=panic"]:
        assert word in p.stdout, word
