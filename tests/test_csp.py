# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
"""The `csp` model's own semantics (core.async's): the C cases of
tests/c/test_csp.c under the parameters each needs, and what the model
shows through concbench: starvation without preemption, fairness with it,
backpressure and exact drops, the 1000-channel alts example, and refused
parameters."""
import json
import subprocess

import pytest

from conftest import CTEST_DIR, SCALE, SKIP_CODE, run_cb, run_json, \
    shape_check

BIN = CTEST_DIR / "test_csp"

# Every case runs under the parameters its table gives (tests/c/test_csp.c);
# these variants add other schedulers, pool sizes and options.
VARIANTS = [
    ("rendezvous_order", ["sched=stealing"]),
    ("close_semantics", ["sched=stealing"]),
    ("pending_limit", ["sched=stealing"]),
    ("alts_both_ways", ["pool=1"]),
    ("alts_both_ways", ["sched=stealing"]),
    ("go_thread_interop", ["root=go"]),
    ("go_thread_interop", ["sched=stealing"]),
    ("parking_frees_worker", ["pool=1"]),
    ("parking_frees_worker", ["pool=2", "sched=stealing"]),
    ("fairness", ["pool=2", "preempt=reductions", "sched=stealing"]),
    ("spawn_tree", ["sched=stealing"]),
    ("spawn_tree", ["sched=lifo"]),
    ("spawn_tree", ["pool=1", "sched=lifo"]),
    ("alts_both_ways", ["sched=lifo"]),
    ("parking_frees_worker", ["pool=2", "sched=lifo"]),
    ("pending_limit", ["sched=lifo"]),
    ("starvation", ["pool=2", "sched=lifo"]),
    ("fairness", ["pool=2", "preempt=reductions", "sched=lifo"]),
    ("spawn_tree", ["pool=2", "preempt=reductions", "reductions=10"]),
    ("burst_wakes_all", ["pool=2", "sched=stealing"]),
    ("burst_wakes_all", ["pool=2", "sched=lifo"]),
    # The root as a go block: its own unbuffered puts and takes take the
    # go-block path (chan.c) against closed channels, the pending limit
    # and alts registrations.
    ("close_semantics", ["root=go"]),
    ("pending_limit", ["root=go"]),
    ("rendezvous_order", ["root=go", "pool=1"]),
    ("alts_both_ways", ["root=go"]),
]


def case_names():
    if not BIN.exists():
        return []
    return subprocess.run([str(BIN), "--list"], capture_output=True,
                          text=True, check=True).stdout.split()


def run_case(case, params):
    p = subprocess.run([str(BIN), case, *params], capture_output=True,
                       text=True, timeout=120 * SCALE)
    if p.returncode == SKIP_CODE:  # a timing check on a busy machine
        pytest.skip(p.stderr.strip().splitlines()[-1])
    assert p.returncode == 0, f"{case} {params}: exit {p.returncode}\n" \
        f"{p.stderr}"


@pytest.mark.parametrize("case", case_names())
def test_csp_case(case):
    run_case(case, [])


@pytest.mark.parametrize("case,params", VARIANTS,
                         ids=lambda v: v if isinstance(v, str)
                         else "+".join(v))
def test_csp_variant(case, params):
    run_case(case, params)


def test_cases_found():
    names = case_names()
    assert len(names) >= 12
    assert {c for c, _ in VARIANTS} <= set(names)


def crunch(preempt):
    # As many hogs as workers: without preemption the probe cannot run
    # until the window ends (one wake-up, ~duration late); with it the
    # probe wakes about every sleep_us.
    return run_json("run", "-m", "csp", "-w", "cpu-crunch", "-p", "pool=2",
                    "-p", "hogs=2", "-p", "probes=1", "-p",
                    "duration_ms=600", "-p", f"preempt={preempt}")


def test_cpu_crunch_starves_without_preemption():
    # Once both hogs hold a worker, the probe's next wake-up waits for the
    # window's end.  The hogs may start late on a loaded machine (the root
    # releases them one by one), so the probe may wake a few times first;
    # the starved wake-up is still a large part of the 600 ms window.
    def judge(d):
        met = d["metrics"]
        assert d["counters"]["preemptions"] == 0  # no timing: exact
        if met["lateness_ns"]["max"] < 150e6:
            return f"worst lateness {met['lateness_ns']['max'] / 1e6:.0f} " \
                   "ms < 150 ms: the probe was not starved"
        if met["probe_wakeups"] > 100:
            return f"{met['probe_wakeups']} wake-ups > 100"
        return None
    shape_check(lambda: crunch("none"), judge)


def test_cpu_crunch_fair_with_preemption():
    # 600 ms of 1 ms sleeps: hundreds of wake-ups when the probe gets a
    # worker within a slice; ten is a margin for sanitizer builds.
    def judge(d):
        met = d["metrics"]
        assert d["counters"]["preemptions"] > 0  # no timing: exact
        if met["probe_wakeups"] < 10:
            return f"{met['probe_wakeups']} wake-ups < 10"
        if met["lateness_ns"]["p50"] >= 300e6:
            return f"median lateness {met['lateness_ns']['p50'] / 1e6:.0f} " \
                   "ms >= 300 ms"
        return None
    shape_check(lambda: crunch("reductions"), judge)


def test_mailbox_flood_backpressure():
    d = run_json("run", "-m", "csp", "-w", "mailbox-flood", "--quick",
                 "-p", "policy=fixed", "-p", "capacity=16")
    met = d["metrics"]
    assert met["dropped"] == 0
    assert met["peak_queue_len"] <= 16
    assert met["received"] == met["ops"]
    # The producers parked on the full channel, and the time shows it.
    assert d["counters"]["put_parks"] > 0
    assert d["counters"]["put_blocked_ns"] > 0


@pytest.mark.parametrize("policy", ["sliding", "dropping"])
def test_mailbox_flood_drops_counted(policy):
    d = run_json("run", "-m", "csp", "-w", "mailbox-flood", "--quick",
                 "-p", f"policy={policy}", "-p", "capacity=8")
    met = d["metrics"]
    assert met["dropped"] > 0
    # Counted per send by the workload and per channel by the model.
    assert d["counters"]["drops"] == met["dropped"]
    assert met["received"] == met["ops"] - met["dropped"]


@pytest.mark.parametrize("root", ["go", "thread"])
def test_ping_pong_over_unbuffered_channels(root):
    rounds = 2000
    # ping=root: ping is the root task, a thread or a go block.
    d = run_json("run", "-m", "csp", "-w", "ping-pong", "--quick",
                 "-p", f"rounds={rounds}", "-p", "policy=rendezvous",
                 "-p", "pool=1", "-p", f"root={root}", "-p", "ping=root")
    assert d["outcome"] == "ok", d.get("reason")
    assert d["metrics"]["ops"] == rounds
    c = d["counters"]
    # Two channels, each carrying the warm-up and one message a round.
    transfers = 2 * (rounds + 1)
    assert c["puts"] == c["takes"] == transfers
    # A rendezvous needs both parties: whichever comes first waits on the
    # channel, so every transfer queued one operation.
    assert c["chan_parks"] >= transfers
    # And some of those were puts waiting for their taker, which a buffer
    # with room (one message in flight) never makes wait.
    assert c["put_parks"] > 0
    assert c["drops"] == 0


def test_unbounded_port_unsupported():
    p = run_cb("run", "-m", "csp", "-w", "mailbox-flood", "--quick",
               "-p", "policy=unbounded")
    assert p.returncode == 4, p.stderr


@pytest.mark.parametrize("model", ["csp", "threads"])
def test_alts_example(model):
    d = run_json("run", "-m", model, "-w", "alts", "-p", "channels=300",
                 "-p", "rounds=2")
    met = d["metrics"]
    assert met["ops"] == 600
    assert 0 < met["round_ns_min"] <= met["elapsed_ns"]


@pytest.mark.parametrize("opts", [["sched=stealing"], ["sched=lifo"],
                                  ["root=go"],
                                  ["pool=1", "preempt=reductions"]])
def test_alts_under_options(opts):
    args = []
    for o in opts:
        args += ["-p", o]
    d = run_json("run", "-m", "csp", "-w", "alts", "--quick", *args)
    assert d["outcome"] == "ok"
    assert d["metrics"]["ops"] == 200


@pytest.mark.parametrize("cell", ["atom", "mutex", "goblock"])
def test_bank_cells_conserve(cell):
    """Each way a core.async/Go program keeps shared state beside its
    channels conserves the bank's total and never tears an audit."""
    d = run_json("run", "-m", "csp", "-w", "bank", "--quick",
                 "-p", f"cell={cell}", "-p", "accounts=4", "-p", "tasks=4",
                 "-p", "audit_pct=20", "-p", "ops=5000")
    m, c = d["metrics"], d["counters"]
    assert d["outcome"] == "ok"
    assert m["torn_audits"] == 0 and m["lost_units"] == 0
    assert m["transfers"] + m["audits"] == 4 * 5000
    assert c["cell_updates"] == m["transfers"]
    if cell != "atom":
        assert c["cell_swap_retries"] == 0
    if cell != "mutex":
        assert c["cell_lock_waits"] == 0


def test_cell_default_is_an_atom():
    d = run_json("run", "-m", "csp", "-w", "bank", "--quick")
    assert d["model_params"]["cell"] == "atom"


@pytest.mark.parametrize("bad", ["pool=0", "pool=1025", "sched=fifo",
                                 "preempt=timer", "reductions=0",
                                 "stack=8", "buffer=0", "go_ops=maybe",
                                 "root=main", "cell=ref"])
def test_bad_parameters(bad):
    p = run_cb("run", "-m", "csp", "-w", "alts", "--quick", "-p", bad)
    assert p.returncode == 2, p.stderr
    assert bad.split("=")[0] in p.stderr


def test_describe_lists_parameters():
    p = run_cb("describe", "csp", check=0)
    for name in ("pool", "sched", "preempt", "go_ops", "buffer"):
        assert name in p.stdout
    assert "recv_match" in p.stdout or "selective" in p.stdout


def test_cpu_crunch_quick_sizes_show_the_starvation():
    # --quick must show the pathology with the model's defaults: more hogs
    # than core.async's pool of 8, so on csp every worker holds a hog and
    # the probe is starved, while actor's reduction budget keeps its
    # probe waking.  Parameters come from the workload's quick sizes only.
    desc = run_cb("describe", "cpu-crunch").stdout
    quick_hogs = int(desc.split("hogs", 1)[1].split("--quick ", 1)[1]
                     .split(")", 1)[0])
    assert quick_hogs > 8, desc

    def measure():
        return {m: run_json("run", "-m", m, "-w", "cpu-crunch", "--quick",
                            "--reps", "1", "--warmup", "0")["metrics"]
                for m in ("csp", "actor")}

    def judge(met):
        csp, actor = met["csp"], met["actor"]
        # The quick window is 300 ms of 1 ms sleeps.
        if csp["lateness_ns"]["max"] < 150e6:
            return f"csp's worst lateness {csp['lateness_ns']['max'] / 1e6:.0f}" \
                   " ms < 150 ms: not starved"
        if actor["probe_wakeups"] < 4 * csp["probe_wakeups"]:
            return f"actor's probe woke {actor['probe_wakeups']} times, " \
                   f"csp's {csp['probe_wakeups']}: not 4x more"
        if actor["lateness_ns"]["p50"] >= 100e6:
            return f"actor's median lateness " \
                   f"{actor['lateness_ns']['p50'] / 1e6:.0f} ms >= 100 ms"
        return None
    shape_check(measure, judge)
