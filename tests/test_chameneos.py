# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
"""chameneos on every model, with both meeting places: the place holds
exactly `meetings` meetings, the creatures count twice that, nobody meets
itself, who met whom agrees and colours keep the complement table's
invariant (the workload checks these and fails the run otherwise); the
metrics are there and consistent; bad parameters are refused before the
run."""
import pytest

from conftest import model_names, run_cb, run_json, scaled

MODELS = model_names()
PLACES = ("broker", "cell")


def chameneos(model, *params, timeout=60):
    args = ["run", "-m", model, "-w", "chameneos", "--quick",
            "--timeout", scaled(timeout)]
    for p in params:
        args += ["-p", p]
    return run_json(*args)


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("model", MODELS)
def test_invariant_and_metrics(model, place):
    d = chameneos(model, f"place={place}")
    assert d["outcome"] == "ok", d.get("reason")
    met = d["metrics"]
    n, creatures = d["params"]["meetings"], d["params"]["creatures"]
    assert met["meetings"] == n == met["ops"]
    assert met["creature_meetings"] == 2 * n
    assert met["self_meetings"] == 0
    assert 1 / creatures <= met["fairness_jain"] <= 1
    assert 0 <= met["meetings_min"] <= met["meetings_max"] <= n
    # Every creature meeting waited once for its partner.
    assert met["wait_ns"]["count"] == 2 * n
    assert met["throughput_ops_s"] > 0
    if place == "broker":
        # One request per creature at most: the broker, holding one,
        # can see at most the other creatures - 1 queued.
        assert 0 <= met["place_queue_max"] <= creatures - 1
    else:
        assert "place_queue_max" not in met


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("model", MODELS)
def test_two_creatures_meet_only_each_other(model, place):
    # With two creatures every meeting is theirs: each counts all of
    # them, so the shares are equal (Jain's index exactly 1) whatever the
    # scheduler did.  A place that paired a creature with a stale request
    # of its own, or lost a wake-up, breaks it.
    d = chameneos(model, f"place={place}", "creatures=2", "meetings=500")
    assert d["outcome"] == "ok", d.get("reason")
    met = d["metrics"]
    assert met["meetings_min"] == met["meetings_max"] == 500
    assert met["fairness_jain"] == pytest.approx(1.0)


@pytest.mark.parametrize("model", MODELS)
def test_work_between_meetings(model):
    d = chameneos(model, "creatures=4", "meetings=200", "work_us=20")
    assert d["outcome"] == "ok", d.get("reason")
    assert d["metrics"]["creature_meetings"] == 400


def test_model_counters_come_with_the_run():
    d = chameneos("stm", "place=cell")
    assert d["outcome"] == "ok", d.get("reason")
    assert d["counters"], "the model's counters are reported"


@pytest.mark.parametrize("bad, says", [
    ("creatures=1", "creatures"),          # the game needs two creatures
    ("creatures=1001", "creatures"),
    ("creatures=10G", "creatures"),        # absurd: refused before any memory
    ("meetings=0", "meetings"),
    ("meetings=2G", "meetings"),
    ("place=mall", "place"),
    ("work_us=-1", "work_us"),
    ("stall_ms=1", "stall_ms"),
])
def test_bad_params_exit_2(bad, says):
    p = run_cb("run", "-m", "threads", "-w", "chameneos", "-p", bad,
               timeout=30)
    assert p.returncode == 2, p.stdout + p.stderr
    assert says in p.stderr
    assert "Traceback" not in p.stderr


def test_describe_names_rules_and_metrics():
    p = run_cb("describe", "chameneos", check=0)
    for word in ("place", "broker", "cell", "work_us", "fairness_jain",
                 "self_meetings", "complement"):
        assert word in p.stdout, word


@pytest.mark.parametrize("place", PLACES)
def test_one_beam_scheduler_serves_round_robin(place):
    # One scheduler (one PU), a FIFO run queue and a FIFO mailbox: the
    # creatures come to the place in strict rotation, so each meets
    # exactly 2 x meetings / creatures times, however busy the machine is (the
    # order is the scheduler's, not the kernel's).  A run queue that let a
    # creature that has just met jump the queue (a LIFO slot, Go's
    # runnext) would make the shares uneven.
    d = run_json(
        "run", "-m", "actor", "-w", "chameneos", "--quick", "--cpus", "0",
        "-p", f"place={place}", "-p", "creatures=10", "-p", "meetings=5000",
        "--timeout", scaled(60))
    assert d["outcome"] == "ok", d.get("reason")
    met = d["metrics"]
    assert met["meetings_min"] == met["meetings_max"] == 1000, met
    assert met["fairness_jain"] == pytest.approx(1.0)


def test_runnext_lets_one_creature_meet_every_time():
    # csp on one worker, place=cell.  core.async's executor (sched=shared,
    # one FIFO) rotates the creatures: equal shares.  Go's runnext
    # (sched=stealing) runs the go block just readied next: the creature
    # that was waiting comes straight back and waits again for whoever is
    # next, so one creature takes part in nearly every meeting (measured:
    # Jain 0.36, one creature in all 5000).  Both orders are the
    # scheduler's, not the kernel's, so neither depends on the load.
    def one_worker(sched):
        d = run_json("run", "-m", "csp", "-w", "chameneos", "--quick",
                     "--cpus", "0", "-p", "pool=1", "-p", f"sched={sched}",
                     "-p", "place=cell", "-p", "creatures=10",
                     "-p", "meetings=5000", "--timeout", scaled(60))
        assert d["outcome"] == "ok", d.get("reason")
        return d["metrics"]
    fifo, runnext = one_worker("shared"), one_worker("stealing")
    assert fifo["meetings_min"] == fifo["meetings_max"] == 1000, fifo
    assert runnext["meetings_max"] >= 2 * runnext["meetings_min"], runnext
    assert runnext["fairness_jain"] < fifo["fairness_jain"] - 0.2


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("model", MODELS)
def test_a_partner_that_never_comes_fails_the_run(model, place):
    # Three creatures: two meet and then work 300 ms each; the third
    # waits for a partner far longer than stall_ms=20 and gives up: the
    # run fails with who waited, never hangs.
    p = run_cb("run", "-m", model, "-w", "chameneos", "-p", "creatures=3",
               "-p", "meetings=3", "-p", "work_us=300000",
               "-p", "stall_ms=20", "-p", f"place={place}",
               "--timeout", scaled(60), timeout=120)
    assert p.returncode == 3, p.stdout + p.stderr
    assert "gave up at the place" in p.stderr
    assert "waiting stall_ms for a partner" in p.stderr
