# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
"""The JVM real systems, `jvm` and `core.async`, called through their entry
scripts (peers/<system>/run) as the runner calls them.

Each workload runs at small sizes; the test parses the child line protocol
and checks the outcome, the workload's invariant restated from outside
(skynet's sum, bank's torn audits, mailbox-flood's accounting), and that
every metric name is the C workload's (read from workloads/<name>.c) or
one of the few this system adds (cold and warm figures).  A system whose
toolchain is absent is skipped with the reason its --check gives; a
missing toolchain is also simulated, to see the "unsupported" answer.

The compiled classes go to CONCBENCH_PEER_CACHE when set, else to a
folder in the build tree (core.async's ahead-of-time compilation takes a
minute or two, once)."""
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import BUILD, ROOT, SCALE, sanitizer_build

PEERS = {"jvm": ROOT / "peers" / "jvm" / "run",
         "core.async": ROOT / "peers" / "core.async" / "run"}
CACHE = Path(os.environ.get("CONCBENCH_PEER_CACHE", BUILD / "peer-cache"))
WORKLOADS = ["ping-pong", "spawn", "skynet", "alts", "selective-receive",
             "cpu-crunch", "mailbox-flood", "bank", "io-fanout",
             "supervision"]
# Figures a system adds beside the C workload's: cold and warm rounds.
EXTRA = {"ping-pong": {"first_round_ns", "warm_round_trip_ns"},
         "alts": {"round_ns_warm_median"}}
# C metrics a run reports only under a condition (a backlog, audits).
CONDITIONAL = {"bytes_per_queued_msg", "audit_latency_ns",
               "rss_per_task_bytes"}


def env(**extra):
    e = dict(os.environ, CONCBENCH_PEER_CACHE=str(CACHE), CONCBENCH_CPUS="2")
    e.update(extra)
    return e


def call(system, *args, timeout=300, **extra):
    return subprocess.run([str(PEERS[system]), *map(str, args)],
                          capture_output=True, text=True, env=env(**extra),
                          timeout=timeout * SCALE)


_prepared = {}


@pytest.fixture(params=sorted(PEERS))
def system(request):
    """A system whose toolchain is here, prepared once per session."""
    name = request.param
    if sanitizer_build():
        # The peers are not C: a sanitizer sees nothing of them, and JVM
        # start-ups would multiply a sanitized suite's time.
        pytest.skip(f"{name}: a sanitizer build (CB_SANITIZE="
                    f"{sanitizer_build()}) does not run the real systems")
    if name not in _prepared:
        check = call(name, "--check", timeout=60)
        if check.returncode != 0:
            _prepared[name] = "skip: " + check.stdout.strip()
        else:
            p = call(name, "--prepare", timeout=900)
            assert p.returncode == 0, f"{name} --prepare:\n{p.stderr}"
            _prepared[name] = "ok"
    if _prepared[name] != "ok":
        pytest.skip(f"{name}: {_prepared[name]}")
    return name


def c_metrics(workload):
    """The metric names workloads/<name>.c reports, ops included."""
    src = (ROOT / "workloads" / (workload.replace("-", "_") + ".c")).read_text()
    names = set(re.findall(
        r'cb_wl_metric_(?:int|f64|hist)\(\s*ctx,\s*"(\w+)"', src))
    return names | {"ops"}


def parse(stdout):
    """The child line protocol: metrics, hists, counters, window, outcome."""
    lines = [ln for ln in stdout.splitlines() if ln.strip()]
    assert lines, "no output"
    rec = {"metric": {}, "hist": {}, "counter": {}, "point": {},
           "window": None, "outcome": None}
    for i, ln in enumerate(lines):
        f = ln.split()
        kind = f[0]
        if kind == "outcome":
            assert i == len(lines) - 1, f"outcome is not the last line:\n{stdout}"
            rec["outcome"] = (f[1], " ".join(f[2:]))
        elif kind == "metric":
            assert len(f) == 4 and f[2] in ("int", "f64"), ln
            rec["metric"][f[1]] = int(f[3]) if f[2] == "int" else float(f[3])
        elif kind == "hist":
            assert len(f) == 10, ln
            v = [int(x) for x in f[2:5]] + [float(f[5])] + [int(x) for x in f[6:]]
            count, lo, hi, mean, p50, p90, p99, p999 = v
            assert count == 0 or lo <= p50 <= p90 <= p99 <= p999 <= hi, ln
            rec["hist"][f[1]] = dict(count=count, min=lo, max=hi, mean=mean,
                                     p50=p50, p90=p90, p99=p99, p999=p999)
        elif kind == "counter":
            assert len(f) == 3, ln
            rec["counter"][f[1]] = int(f[2])
        elif kind == "point":
            assert len(f) == 4, ln
            rec["point"].setdefault(f[1], []).append((int(f[2]), float(f[3])))
        elif kind == "window":
            assert len(f) == 3, ln
            rec["window"] = (int(f[1]), int(f[2]))
        else:
            pytest.fail(f"unknown record: {ln}")
    assert rec["outcome"] is not None, f"no outcome line:\n{stdout}"
    return rec


def run_wl(system, workload, *params, want="ok", timeout=300):
    p = call(system, workload, *params, timeout=timeout)
    assert p.returncode == 0, (
        f"{system} {workload} {' '.join(params)}: exit {p.returncode}\n"
        f"stdout:\n{p.stdout}\nstderr:\n{p.stderr[-3000:]}")
    rec = parse(p.stdout)
    assert rec["outcome"][0] == want, (
        f"{system} {workload}: outcome {rec['outcome']}, wanted {want}\n"
        f"stderr:\n{p.stderr[-3000:]}")
    rec["stderr"] = p.stderr
    if want == "ok":
        m = {**rec["metric"], **rec["hist"]}
        c = c_metrics(workload)
        extra = set(m) - c - EXTRA.get(workload, set()) - {"elapsed_ns"}
        assert not extra, f"metrics the C workload lacks: {sorted(extra)}"
        missing = c - set(m) - CONDITIONAL
        assert not missing, f"C metrics missing: {sorted(missing)}"
        assert rec["window"] is not None and rec["window"][0] >= 0
        assert rec["window"][1] == m["elapsed_ns"]
        assert "jvm_startup_ns" in rec["counter"]
    return rec


# ---- the entry points ----

def test_check_version(system):
    p = call(system, "--check", timeout=60)
    assert p.returncode == 0 and p.stdout == "", p.stdout
    v = call(system, "--version", timeout=60)
    assert v.returncode == 0
    lines = v.stdout.splitlines()
    assert len(lines) == 1, v.stdout
    want = {"jvm": r"^Java \d+", "core.async": r"^core\.async \d+\.\d+.*Clojure \d"}
    assert re.search(want[system], lines[0]), lines[0]


def test_workloads_and_describe(system):
    p = call(system, "--workloads", timeout=60)
    assert p.returncode == 0
    listed = {}
    for ln in p.stdout.splitlines():
        name, _, rest = ln.partition(" ")
        assert name in WORKLOADS, ln
        if rest:
            assert rest.startswith("unsupported: ") and len(rest) > 20, ln
        listed[name] = rest
    assert set(listed) == set(WORKLOADS)
    assert listed["selective-receive"]
    assert bool(listed["alts"]) == (system == "jvm")
    d = call(system, "--describe", timeout=60)
    assert d.returncode == 0
    for w in WORKLOADS:
        assert w in d.stdout, f"--describe says nothing of {w}"


def test_prepare_is_idempotent_and_leaves_the_tree_alone(system):
    before = subprocess.run(["git", "status", "--porcelain", "--ignored",
                             str(PEERS[system].parent)], cwd=ROOT,
                            capture_output=True, text=True).stdout
    p = call(system, "--prepare", timeout=900)
    assert p.returncode == 0, p.stderr
    stamp = CACHE / system / "classes" / ".stamp"
    assert stamp.exists()
    mtime = stamp.stat().st_mtime_ns
    assert call(system, "--prepare", timeout=900).returncode == 0
    assert stamp.stat().st_mtime_ns == mtime, "up to date, yet rebuilt"
    after = subprocess.run(["git", "status", "--porcelain", "--ignored",
                            str(PEERS[system].parent)], cwd=ROOT,
                           capture_output=True, text=True).stdout
    assert after == before, f"--prepare wrote into the source tree:\n{after}"


# ---- the workloads at small sizes ----

def test_ping_pong(system):
    r = run_wl(system, "ping-pong", "rounds=2000", "seed=7")
    m = r["metric"]
    assert m["ops"] == 2000
    assert m["round_trip_ns"] * 2000 == pytest.approx(m["elapsed_ns"], rel=1e-6)
    assert 0 < m["first_round_ns"] <= m["elapsed_ns"]


@pytest.mark.parametrize("kind", ["tuple", "list"])
def test_ping_pong_payload_kinds_pass_a_reference(system, kind):
    """One object built once and bounced (the program checks that the
    very object comes back); its heap size grows with the payload."""
    small = run_wl(system, "ping-pong", "rounds=200", "payload=10",
                   f"payload_kind={kind}", "ping=root")["metric"]
    big = run_wl(system, "ping-pong", "rounds=200", "payload=10000",
                 f"payload_kind={kind}")["metric"]
    assert small["ops"] == big["ops"] == 200
    assert 0 < small["message_heap_bytes"] < big["message_heap_bytes"]
    # At least a reference and a long per element.
    assert big["message_heap_bytes"] >= 10000 * 8


def test_ping_pong_empty_list_is_refused(system):
    p = call(system, "ping-pong", "rounds=10", "payload=0",
             "payload_kind=list", timeout=120)
    assert p.returncode == 2 and "empty list" in p.stderr, p.stderr


def test_ping_pong_rendezvous(system):
    r = run_wl(system, "ping-pong", "rounds=500", "policy=rendezvous")
    assert r["metric"]["ops"] == 500


def test_spawn(system):
    r = run_wl(system, "spawn", "tasks=200")
    m = r["metric"]
    assert m["ops"] == 200
    assert 0 < m["spawn_ns_per_task"] <= m["ready_ns_per_task"]


@pytest.mark.parametrize("leaves,div", [(1000, 10), (1024, 2)])
def test_skynet(system, leaves, div):
    r = run_wl(system, "skynet", f"leaves={leaves}", f"div={div}")
    m = r["metric"]
    assert m["result"] == leaves * (leaves - 1) // 2
    tasks = sum(leaves // div**k for k in range(0, 64) if leaves // div**k >= 1)
    assert m["ops"] == tasks


def test_skynet_full_size(system):
    r = run_wl(system, "skynet", "leaves=1000000", timeout=600)
    assert r["metric"]["result"] == 499999500000
    assert r["metric"]["ops"] == 1111111


def test_alts(system):
    if system == "jvm":
        r = run_wl(system, "alts", "channels=50", want="unsupported")
        assert "select" in r["outcome"][1]
        return
    r = run_wl(system, "alts", "channels=100", "rounds=3")
    m = r["metric"]
    assert m["ops"] == 300
    assert m["round_ns_min"] <= m["round_ns_first"]
    assert m["round_ns_min"] <= m["round_ns_warm_median"]
    assert m["select_ns_per_msg"] * 100 == pytest.approx(m["round_ns_min"])


def test_selective_receive_unsupported(system):
    r = run_wl(system, "selective-receive", want="unsupported")
    assert "pattern" in r["outcome"][1]


def test_cpu_crunch(system):
    r = run_wl(system, "cpu-crunch", "hogs=2", "probes=1", "duration_ms=300")
    m, h = r["metric"], r["hist"]["lateness_ns"]
    assert m["probe_wakeups"] >= 1 and h["count"] == m["probe_wakeups"]
    assert m["ops"] == pytest.approx(m["hog_progress_min"] + m["hog_progress_max"])
    assert 0 < m["fairness_jain"] <= 1.0 + 1e-9


def test_cpu_crunch_pool_starvation_shape(system):
    """4 hogs on 2 pool threads: core.async runs two hogs for the whole
    window and the other two not at all, and the probe waits behind them
    until the hogs stop; kernel threads (jvm) share the CPUs instead."""
    r = run_wl(system, "cpu-crunch", "hogs=4", "probes=1", "duration_ms=300",
               "pool=2")
    m, h = r["metric"], r["hist"]["lateness_ns"]
    if system == "core.async":
        assert m["hog_progress_min"] == 0, m
        # Jain over (a, b, 0, 0) is 0.5 when a == b, 0.25 when b == 0
        assert 0.25 - 1e-9 <= m["fairness_jain"] <= 0.5 + 1e-9, m
        assert h["max"] >= 150_000_000, h
    else:
        assert m["hog_progress_min"] > 0, m
        assert m["fairness_jain"] > 0.5, m


def test_mailbox_flood(system):
    r = run_wl(system, "mailbox-flood", "producers=2", "duration_ms=200",
               "sample_ms=20")
    m = r["metric"]
    assert m["received"] == m["ops"] - m["dropped"]
    assert m["dropped"] == 0
    assert set(r["point"]) == {"queue_len", "rss_bytes"}
    if system == "core.async":
        # a fixed buffer of capacity: producers park, nothing piles up
        assert m["peak_queue_len"] <= 1024 + 2, m


def test_mailbox_flood_policies(system):
    r = run_wl(system, "mailbox-flood", "producers=2", "duration_ms=100",
               "policy=fixed", "capacity=16")
    assert r["metric"]["peak_queue_len"] <= 16 + 2
    r = run_wl(system, "mailbox-flood", "producers=2", "duration_ms=100",
               "policy=dropping", "capacity=16", "consume_ns=100000")
    m = r["metric"]
    assert m["received"] == m["ops"] - m["dropped"]
    unsupported = {"jvm": "sliding", "core.async": "unbounded"}[system]
    run_wl(system, "mailbox-flood", f"policy={unsupported}", want="unsupported")


def test_mailbox_flood_pending_puts_limit(system):
    """More than 1024 producers parked on one core.async channel: the next
    >! throws, and the run fails with core.async's own message."""
    if system != "core.async":
        pytest.skip("the 1024 pending puts limit is core.async's")
    # long enough for every producer to reach its first put on a loaded
    # machine: 1100 go blocks start on 8 pool threads
    r = run_wl(system, "mailbox-flood", "producers=1100", "duration_ms=3000",
               "policy=fixed", "capacity=1", "consume_ns=100000",
               want="failed", timeout=600)
    assert "No more than 1024 pending puts" in r["outcome"][1]


@pytest.mark.parametrize("params", [
    ("accounts=8", "tasks=2", "duration_ms=200"),
    ("accounts=3", "tasks=4", "ops=500", "audit_pct=30", "seed=99"),
])
def test_bank(system, params):
    r = run_wl(system, "bank", *params)
    m = r["metric"]
    assert m["torn_audits"] == 0 and m["lost_units"] == 0
    assert m["ops"] == m["transfers"] > 0
    assert m["declined"] <= m["transfers"]
    tasks = int(next(x for x in params if x.startswith("tasks=")).split("=")[1])
    assert 0 <= m["starved_workers"] <= tasks
    assert 0 <= m["longest_stall_ns"] <= m["elapsed_ns"] + 20_000_000
    if "ops=500" in params:
        assert m["transfers"] + m["audits"] == 4 * 500


@pytest.mark.parametrize("params", [
    ("tasks=20", "ops=5"),
    ("tasks=5", "ops=4", "transport=unix", "rate=2000", "latency_us=100"),
])
def test_io_fanout(system, params):
    r = run_wl(system, "io-fanout", *params)
    m = r["metric"]
    tasks = int(params[0].split("=")[1]) * int(params[1].split("=")[1])
    assert m["ops"] == tasks and r["hist"]["latency_ns"]["count"] == tasks
    if "latency_us=100" in params:
        assert r["hist"]["latency_ns"]["min"] >= 100_000


SUPERVISION = ("workers=4", "op_ns=1000", "batch=100", "duration_ms=100",
               "strategy=one_for_one", "intensity=1000000", "period_ms=5000")


def test_supervision_workers_are_lost_not_restarted(system):
    """Every worker crashes at its first operation: the exception is
    printed, that worker ends, nothing restarts it (no links on the JVM or
    in core.async), and the program runs on to report."""
    r = run_wl(system, "supervision", *SUPERVISION, "crash_ppm=1000000",
               "seed=5")
    m = r["metric"]
    assert m["supervised"] == 0 and m["restarts"] == 0
    assert m["supervisor_gave_up"] == 0
    # Every worker that ran crashed at its first operation.  On a loaded
    # machine a go block can first get a pool thread after the 100 ms
    # window has closed and then ends without an operation (load 43: 3
    # crashes, 1 such worker), so the count is 1 to 4, never a restart.
    assert 1 <= m["crashes"] <= 4
    assert m["crashes"] + m["workers_alive_at_end"] == 4
    assert m["survived"] == 0 and m["ops"] == 0
    assert r["hist"]["restart_latency_ns"]["count"] == 0
    assert "Exception in" in r["stderr"]


def test_supervision_without_crashes_survives(system):
    r = run_wl(system, "supervision", *SUPERVISION, "crash_ppm=0")
    m = r["metric"]
    assert m["crashes"] == 0 and m["work_lost"] == 0
    assert m["workers_alive_at_end"] == 4 and m["survived"] == 1
    assert m["ops"] > 0


# ---- bad input and missing toolchains ----

@pytest.mark.parametrize("args,needle", [
    (("ping-pong", "rounds=abc"), "rounds=abc"),
    (("ping-pong", "rounds=0"), "rounds=0"),
    (("skynet", "leaves=1001"), "not a power of div"),
    (("cpu-crunch", "sleep_us=20000", "duration_ms=10"), "sleep_us"),
    (("ping-pong", "policy=lifo"), "policy=lifo"),
    (("bank", "noequals"), "noequals"),
])
def test_bad_parameters_exit_2(system, args, needle):
    p = call(system, *args, timeout=120)
    assert p.returncode == 2, f"exit {p.returncode}\n{p.stdout}\n{p.stderr}"
    assert needle in p.stderr, p.stderr


def test_unknown_keys_are_ignored(system):
    run_wl(system, "ping-pong", "rounds=10", "no_such_key=1", "seed=3")


def test_usage_errors(system):
    assert call(system, timeout=60).returncode == 2
    assert call(system, "--no-such-option", timeout=60).returncode == 2
    p = call(system, "no-such-workload", timeout=120)
    assert p.returncode == 2 and "usage" in p.stderr


def _path_without_java(tmp_path):
    """A PATH holding the tools the scripts use, and no java."""
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    for tool in ("bash", "dirname", "basename", "id", "cat", "sed", "head",
                 "nproc", "date", "find", "sort", "xargs", "sha256sum", "cut",
                 "readlink", "mkdir", "mktemp", "rm", "mv"):
        where = shutil.which(tool)
        if where:
            (bin_ / tool).symlink_to(where)
    return str(bin_)


@pytest.mark.parametrize("name", sorted(PEERS))
def test_missing_toolchain_is_unsupported(name, tmp_path):
    extra = {"PATH": _path_without_java(tmp_path)}
    if name == "core.async":
        extra["CONCBENCH_JARS"] = str(tmp_path / "no-jars")
    p = call(name, "--check", timeout=60, **extra)
    assert p.returncode == 1
    assert "not installed" in p.stdout and "scripts/deps.sh" in p.stdout, p.stdout
    r = call(name, "ping-pong", "rounds=10", timeout=60, **extra)
    assert r.returncode == 0
    rec = parse(r.stdout)
    assert rec["outcome"][0] == "unsupported"
    assert "scripts/deps.sh" in rec["outcome"][1]
    assert call(name, "--prepare", timeout=60, **extra).returncode != 0
