# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
"""Messages and like-for-like defaults.

Deep payloads (payload_kind=tuple|list) run on every model and report the
bytes one copy of the message takes; actor's copy=off is accepted.  With
default flags, ping-pong and alts run on every model as a like-for-like
comparison (spawned tasks at both ends, each model's own port) and say
which variant ran; a model parameter of another model does not apply and
is reported as such, so one command line can be looped over models;
io-fanout and spawn coordinate from a spawned task unless told the root.
The copy-cost shapes themselves are C tests (tests/c/test_copy.c)."""
import pytest

from conftest import model_names, run_cb, run_json

MODELS = model_names()


@pytest.mark.parametrize("model", MODELS)
def test_ping_pong_default_flags_is_like_for_like(model):
    d = run_json("run", "-m", model, "-w", "ping-pong", "--quick")
    assert d["outcome"] == "ok", d.get("reason")
    # The variant that ran: both ends spawned tasks, each model's port.
    assert d["params"]["ping"] == "task"
    assert d["params"]["policy"] == "default"
    assert d["metrics"]["ops"] == 10000
    assert d["not_applied"] == []


@pytest.mark.parametrize("model", MODELS)
def test_alts_default_flags_runs_everywhere(model):
    d = run_json("run", "-m", model, "-w", "alts", "--quick")
    assert d["outcome"] == "ok", d.get("reason")
    assert d["params"]["selector"] == "task"
    assert d["params"]["port"] == "default"
    assert d["metrics"]["ops"] == 200


@pytest.mark.parametrize("workload", ["spawn", "io-fanout"])
@pytest.mark.parametrize("coordinator", ["task", "root"])
def test_coordinator_variants(workload, coordinator):
    # A spawned coordinator by default (a go block on csp, like the rest
    # of the run); the root (csp's main thread) when asked.
    args = [] if coordinator == "task" else ["-p", "coordinator=root"]
    d = run_json("run", "-m", "csp", "-w", workload, "--quick", *args)
    assert d["outcome"] == "ok", d.get("reason")
    assert d["params"]["coordinator"] == coordinator
    # csp's `thread`s are counted: the root thread, and no other.
    assert d["counters"]["threads_spawned"] == 1


def test_alts_the_example_itself():
    # core.async's example: unbuffered channels, the main thread's alts!!.
    d = run_json("run", "-m", "csp", "-w", "alts", "--quick",
                 "-p", "port=rendezvous", "-p", "selector=root")
    assert d["outcome"] == "ok"
    assert d["params"]["selector"] == "root"
    assert d["counters"]["alts"] >= 200
    # Where there are no unbuffered channels, the example is unsupported.
    p = run_cb("run", "-m", "actor", "-w", "alts", "--quick",
               "-p", "port=rendezvous")
    assert p.returncode == 4, p.stderr


def test_model_parameter_of_another_model_does_not_apply():
    p = run_cb("run", "-m", "actor", "-w", "ping-pong", "--quick",
               "-p", "pool=2", check=0)
    assert "does not apply" in p.stderr and "pool=2" in p.stderr
    assert "not applied" in p.stdout
    d = run_json("run", "-m", "actor", "-w", "ping-pong", "--quick",
                 "-p", "pool=2")
    assert d["outcome"] == "ok"
    assert d["not_applied"] == ["pool=2"]
    assert "pool" not in d["model_params"]


def test_one_command_line_loops_over_models():
    for model in MODELS:
        d = run_json("run", "-m", model, "-w", "ping-pong", "--quick",
                     "-p", "pool=2", "-p", "copy=off")
        assert d["outcome"] == "ok", (model, d.get("reason"))
        # Each key either applied (a parameter of this model) or is
        # reported as not applying: never both, never neither.
        for key, val in (("pool", 2), ("copy", "off")):
            applied = d["model_params"].get(key) == val
            reported = f"{key}={val}" in d["not_applied"]
            assert applied != reported, (model, key, d["not_applied"])


@pytest.mark.parametrize("param,needle", [
    ("bogus=1", "unknown parameter 'bogus'"),
    ("pool=0", "parameter pool"),      # csp's, checked even where unused
    ("copy=maybe", "parameter copy"),  # actor's
])
def test_parameters_still_checked(param, needle):
    p = run_cb("run", "-m", "threads", "-w", "ping-pong", "--quick",
               "-p", param, check=2)
    assert needle in p.stderr, p.stderr


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("kind,n,heap", [
    ("tuple", 1000, 16 + 8 * 1000),   # one box of 1000 words
    ("list", 1000, 1000 * 32),        # 1000 cons cells of 2 words each
    ("binary", 1000, 16),             # a refc binary: a header only
    ("binary", 10, 16 + 10),
])
def test_deep_payloads_bounce_on_every_model(model, kind, n, heap):
    d = run_json("run", "-m", model, "-w", "ping-pong", "--quick",
                 "-p", "rounds=200", "-p", f"payload_kind={kind}",
                 "-p", f"payload={n}")
    assert d["outcome"] == "ok", d.get("reason")
    assert d["metrics"]["message_heap_bytes"] == heap


def test_copy_counters_follow_the_flag():
    n, rounds = 1000, 200
    on = run_json("run", "-m", "actor", "-w", "ping-pong", "--quick",
                  "-p", f"rounds={rounds}", "-p", "payload_kind=tuple",
                  "-p", f"payload={n}")
    off = run_json("run", "-m", "actor", "-w", "ping-pong", "--quick",
                   "-p", f"rounds={rounds}", "-p", "payload_kind=tuple",
                   "-p", f"payload={n}", "-p", "copy=off")
    # Two copies of the whole tuple per round trip, none with copy=off.
    assert on["counters"]["bytes_copied"] >= \
        2 * rounds * on["metrics"]["message_heap_bytes"]
    assert off["counters"]["bytes_copied"] == 0


@pytest.mark.parametrize("args,needle", [
    (["payload_kind=tuple", "payload=16777216"], "at most 16777215"),
    (["payload_kind=list", "payload=0"], "empty list"),
    (["payload_kind=array"], "payload_kind"),
])
def test_bad_payloads_refused(args, needle):
    cmd = ["run", "-m", "actor", "-w", "ping-pong", "--quick"]
    for a in args:
        cmd += ["-p", a]
    p = run_cb(*cmd, check=2)
    assert needle in p.stderr, p.stderr
