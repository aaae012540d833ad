# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
"""The real systems (peers/<system>/) through `concbench`.

For every real system whose toolchain is installed, and every workload
it claims (`peers/NAME/run --workloads`) that has a C workload: a --quick
run through `concbench run` ends ok, reports every metric the C workload
reports (compared with the same workload on a model, run here), and keeps
the workload's invariant (skynet's sum equals the model's; mailbox-flood
loses nothing; bank has no torn audit; the program checks the total and
fails otherwise).  What a system declares unsupported is refused with its
reason.  A system whose toolchain is missing (simulated with a PATH that
lacks it) is "not installed" in `list` and refused by `run`, never a crash.

The real systems are found and their lists read without the runner, so a
runner that listed nothing would fail here rather than skip.
"""
import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import CONCBENCH, ROOT, SCALE, run_cb, sanitizer_build

PEERS = ROOT / "peers"
# Metrics a C workload reports only when the machine lets it measure them
# (a resident-set delta that may be zero, a histogram that may be empty).
CONDITIONAL = {"rss_per_task_bytes", "bytes_per_queued_msg",
               "audit_latency_ns",
               # the C child's CPU time in its window; a real system's
               # CPU time is the counter cpu_user_ns
               "window_cpu_ns"}
# The model a workload's metric names are taken from: actor runs every
# workload (selective receive, the ref trick, aliases for alts).
REFERENCE_MODEL = "actor"


# The peers are not C: a sanitizer sees nothing of them, and their
# start-ups (JVMs above all) would multiply a sanitized suite's time.  The
# tests with a stand-in script (the runner's side) run on every build.
needs_toolchains = pytest.mark.skipif(
    bool(sanitizer_build()),
    reason=f"a sanitizer build (CB_SANITIZE={sanitizer_build()}) does not "
           "run the real systems")


def systems():
    return sorted(p.name for p in PEERS.iterdir()
                  if (p / "run").is_file() and os.access(p / "run", os.X_OK))


def installed(system):
    r = subprocess.run([str(PEERS / system / "run"), "--check"],
                       capture_output=True, text=True, timeout=60 * SCALE)
    return r.returncode == 0, (r.stdout + r.stderr).strip()


def claimed(system):
    """(workload, reason or None) for each line of --workloads."""
    r = subprocess.run([str(PEERS / system / "run"), "--workloads"],
                       capture_output=True, text=True, timeout=300 * SCALE,
                       check=True)
    out = []
    for line in r.stdout.splitlines():
        name, _, rest = line.partition(" ")
        if name:
            out.append((name, rest.split("unsupported:", 1)[-1].strip()
                        if rest else None))
    return out


def c_workloads():
    p = run_cb("list", "workloads", check=0)
    return {line.split()[0] for line in p.stdout.splitlines() if line.strip()}


def cells():
    """(system, workload, reason) for every installed system's claims
    that have a C workload; a skip marker for systems not installed."""
    out, known = [], None
    if sanitizer_build():
        return [pytest.param(None, None, None, marks=needs_toolchains)]
    for s in systems():
        ok, why = installed(s)
        if not ok:
            out.append(pytest.param(s, None, None, marks=pytest.mark.skip(
                reason=f"{s} not installed: {why}")))
            continue
        known = known if known is not None else c_workloads()
        out += [(s, w, r) for w, r in claimed(s) if w in known]
    return out


_reference = {}


def reference(workload):
    """The C workload's --quick run on the reference model (once)."""
    if workload not in _reference:
        p = run_cb("run", "-m", REFERENCE_MODEL, "-w", workload, "--quick",
                   "--format", "json", timeout=300)
        _reference[workload] = json.loads(p.stdout) if p.returncode == 0 \
            else None
    return _reference[workload]


def metric_names(record):
    return set(record["metrics"])


@pytest.mark.parametrize("system,workload,reason", cells())
def test_claimed_workload_runs_quick(system, workload, reason):
    p = run_cb("run", "-m", system, "-w", workload, "--quick", "--format",
               "json", "--timeout", str(int(120 * SCALE)), timeout=300)
    if reason is not None:
        assert p.returncode == 4, p.stderr
        rec = json.loads(p.stdout)
        assert rec["outcome"] == "unsupported"
        assert reason[:40] in rec["reason"], rec["reason"]
        return
    if (system, workload) == ("go", "supervision"):
        # The first crash is a panic, which ends a Go program with status
        # 2 and no result: a crash, as the csp model with crash=panic.
        assert p.returncode == 1, p.stderr
        rec = json.loads(p.stdout)
        assert rec["outcome"] == "crashed", p.stderr
        reason = rec["repetitions"][0]["reason"]
        assert "exited with status 2 before reporting a result" in reason
        assert "panic: {crash," in p.stderr, p.stderr
        return
    assert p.returncode == 0, f"{system} {workload}: {p.stderr}"
    rec = json.loads(p.stdout)
    assert rec["outcome"] == "ok"
    assert rec["system"] == "real" and rec["system_version"]
    assert rec["model"] == system
    m = rec["metrics"]
    # Measured from outside by the runner, whatever the system reports.
    assert m["peak_rss_bytes"] > 0 and m["elapsed_ns"] > 0
    assert "cpu_user_ns" in rec["counters"]
    ref = reference(workload)
    if ref is not None and ref["outcome"] == "ok":
        missing = metric_names(ref) - metric_names(rec) - CONDITIONAL
        assert not missing, f"{system} {workload} lacks {sorted(missing)}"
    if workload == "skynet":
        leaves = rec["params"]["leaves"]
        assert m["result"] == leaves * (leaves - 1) // 2
        if ref is not None:
            assert m["result"] == ref["metrics"]["result"]
    if workload == "mailbox-flood":
        assert m["received"] == m["ops"] - m["dropped"]
    if workload == "bank":
        assert m["torn_audits"] == 0 and m["transfers"] > 0
        assert m["lost_units"] == 0
        assert 0 <= m["starved_workers"] <= rec["params"]["tasks"]
    if workload == "ping-pong":
        assert m["ops"] == rec["params"]["rounds"]
        assert m["message_heap_bytes"] >= 0
    if workload == "supervision":
        n = rec["params"]["workers"]
        assert m["crashes"] > 0, m
        if m["supervised"]:
            # An OTP supervisor (one_for_one) restarts each crash; the run
            # survives.
            assert m["restarts"] == m["crashes"] and m["survived"] == 1, m
            assert m["workers_alive_at_end"] == n
        else:
            # Nothing restarts a thread or a go block: each crash loses
            # its worker, and the rest finish.
            assert m["restarts"] == 0 and m["supervisor_gave_up"] == 0, m
            assert m["crashes"] + m["workers_alive_at_end"] == n, m
            assert m["survived"] == (m["workers_alive_at_end"] == n)


@needs_toolchains
def test_list_and_describe_name_every_system():
    lst = run_cb("list", "systems", check=0).stdout
    every = run_cb("list", check=0).stdout
    assert "real systems:" in every or not systems()
    for s in systems():
        line = next(x for x in lst.splitlines() if x.split()[0] == s)
        ok, _ = installed(s)
        assert ("not installed" in line) == (not ok), line
        d = run_cb("describe", s, check=0).stdout
        assert d.startswith(f"real system {s}")
        if ok:
            assert "workloads" in d
            for w, reason in claimed(s):
                if reason and w in c_workloads():
                    assert f"{w}" in d and "unsupported" in d


def test_models_keep_their_list():
    """`list models` lists models only: scripts read it."""
    models = [line.split()[0] for line in
              run_cb("list", "models", check=0).stdout.splitlines()
              if line.strip()]
    assert not set(systems()) & set(models)


def test_bad_parameters_are_refused_before_any_run():
    for s in systems():
        p = run_cb("run", "-m", s, "-w", "skynet", "-p", "leaves=1001",
                   "--quick")
        assert p.returncode == 2 and "power" in p.stderr, p.stderr
        p = run_cb("run", "-m", s, "-w", "skynet", "-p", "nonsense=1",
                   "--quick")
        assert p.returncode == 2 and "unknown parameter" in p.stderr


@needs_toolchains
def test_direct_bad_parameter_exits_2():
    for s in systems():
        if not installed(s)[0]:
            continue
        subprocess.run([str(PEERS / s / "run"), "--prepare"], check=True,
                       capture_output=True, timeout=600 * SCALE)
        r = subprocess.run([str(PEERS / s / "run"), "skynet", "leaves=x",
                            "div=10", "seed=1"], capture_output=True,
                           text=True, timeout=120 * SCALE)
        assert r.returncode == 2 and "leaves" in r.stderr, r.stderr


def run_peer(system, *args):
    # The run script's own default cache, shared with the runs above.
    env = dict(os.environ, CONCBENCH_CPUS="2")
    env.pop("CONCBENCH_PEER_CACHE", None)
    subprocess.run([str(PEERS / system / "run"), "--prepare"], check=True,
                   capture_output=True, env=env, timeout=600 * SCALE)
    # A hang guard, not a time limit: 3,000 round trips of a 20,000-cell
    # list took over 120 s at load 300 on two cores.
    r = subprocess.run([str(PEERS / system / "run"), *args, "seed=1"],
                       capture_output=True, text=True, env=env,
                       timeout=600 * SCALE)
    assert r.returncode == 0, r.stderr
    out = {}
    for line in r.stdout.splitlines():
        f = line.split()
        if f[0] == "metric":
            out[f[1]] = float(f[3])
        elif f[0] == "outcome":
            out["outcome"] = " ".join(f[1:])
    assert out["outcome"] == "ok", r.stdout
    return out


def pong_rounds(system, kind, payload):
    return run_peer(system, "ping-pong", "rounds=3000", f"payload={payload}",
                    f"payload_kind={kind}", "policy=default", "capacity=1")


@needs_toolchains
@pytest.mark.parametrize("kind", ["tuple", "list"])
def test_beam_copies_a_term_on_every_send(kind):
    """The talk's claim: the BEAM copies a message, so a round trip costs
    more as the term grows; message_heap_bytes is the term's flat size."""
    if "beam" not in systems() or not installed("beam")[0]:
        pytest.skip("beam not installed")
    small = pong_rounds("beam", kind, 1)
    big = pong_rounds("beam", kind, 20000)
    words = {"tuple": 20000 + 1, "list": 2 * 20000}[kind]
    assert big["message_heap_bytes"] == 8 * words
    # 160-320 KB copied twice a round against one word: side by side,
    # with a wide margin for a loaded machine.
    assert big["round_trip_ns"] > 3 * small["round_trip_ns"], (small, big)


@needs_toolchains
def test_go_passes_a_pointer_whatever_the_size():
    """Go bounces the slice header or the list's pointer: the round trip
    does not grow with the payload, its heap size does."""
    if "go" not in systems() or not installed("go")[0]:
        pytest.skip("go not installed")
    small = pong_rounds("go", "list", 1)
    big = pong_rounds("go", "list", 200000)
    assert big["message_heap_bytes"] == 16 * 200000
    assert big["round_trip_ns"] < 5 * small["round_trip_ns"] + 20000, \
        (small, big)


@pytest.fixture
def bare_path(tmp_path):
    """A PATH with the shell and the few tools the run scripts use, and no
    language toolchain."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "env", "dirname", "cat", "ls", "head", "mkdir",
                 "mv", "rmdir", "mktemp", "nproc"):
        for d in ("/usr/bin", "/bin"):
            if Path(d, tool).exists():
                (bin_dir / tool).symlink_to(Path(d, tool))
                break
    return str(bin_dir)


def test_missing_toolchain_is_not_installed(bare_path):
    if not systems():
        pytest.skip("no real system in peers/")
    env = dict(os.environ, PATH=bare_path)
    lst = subprocess.run([str(CONCBENCH), "list", "systems"], env=env,
                         capture_output=True, text=True,
                         timeout=120 * SCALE)
    assert lst.returncode == 0, lst.stderr
    for s in systems():
        line = next(x for x in lst.stdout.splitlines() if x.split()[0] == s)
        assert "not installed" in line and "deps.sh" in line, line
        r = subprocess.run([str(CONCBENCH), "run", "-m", s, "-w", "skynet",
                            "--quick"], env=env, capture_output=True,
                           text=True, timeout=120 * SCALE)
        assert r.returncode == 4, r.stderr
        assert "not installed" in r.stderr and "deps.sh" in r.stderr
        d = subprocess.run([str(CONCBENCH), "describe", s], env=env,
                           capture_output=True, text=True,
                           timeout=120 * SCALE)
        assert d.returncode == 0 and "not installed" in d.stdout


@needs_toolchains
def test_matrix_holds_a_model_beside_a_real_system(tmp_path):
    real = [s for s in systems() if installed(s)[0]
            and any(w == "skynet" and r is None for w, r in claimed(s))]
    if not real:
        pytest.skip("no installed real system runs skynet")
    out = tmp_path / "m"
    run_cb("matrix", "-m", f"{REFERENCE_MODEL},{real[0]}", "-w", "skynet",
           "--quick", "--reps", "1", "-o", out, timeout=300, check=0)
    runs = [json.loads(line) for line in
            (out / "runs.jsonl").read_text().splitlines()]
    runs = [r for r in runs if r.get("type") == "run"]
    kinds = {r["model"]: r["system"] for r in runs}
    assert kinds == {REFERENCE_MODEL: "model", real[0]: "real"}
    assert all(r["outcome"] == "ok" for r in runs)
    results = {r["model"]: r["metrics"]["result"] for r in runs}
    assert results[REFERENCE_MODEL] == results[real[0]]


FAKE_RUN = r"""#!/usr/bin/env bash
# A real system that is a shell script: what the runner does around any.
set -euo pipefail
case "$1" in
--check) [ -z "${FAKE_MISSING:-}" ] || { echo "fake not found"; exit 1; } ;;
--version) echo "Fake 1.0" ;;
--workloads) echo skynet; echo "ping-pong unsupported: the fake has no ping" ;;
--describe) echo "a fake system for the runner's tests" ;;
--params)
    echo "pool int 4 1 64 worker threads"
    echo "mode enum a a|b which mode" ;;
--prepare) mkdir -p "$CONCBENCH_PEER_CACHE"; touch "$CONCBENCH_PEER_CACHE/prepared" ;;
skynet)
    shift
    echo "$* cpus=$CONCBENCH_CPUS pid=$$" > "$CONCBENCH_PEER_CACHE/args"
    case "${FAKE_MODE:-ok}" in
    hang) exec sleep 600 ;;
    crash) kill -SEGV $$ ;;
    esac
    [ -f "$CONCBENCH_PEER_CACHE/prepared" ] || { echo "outcome error not prepared"; exit 0; }
    echo "metric ops int 1"
    echo "metric result int 499500"
    echo "window 1000 5000000"
    echo "outcome ok"
    exec true ;;
*) echo "fake: bad usage" >&2; exit 2 ;;
esac
"""


@pytest.fixture
def fake(tmp_path):
    root = tmp_path / "peers"
    (root / "fake").mkdir(parents=True)
    run = root / "fake" / "run"
    run.write_text(FAKE_RUN)
    run.chmod(0o755)
    env = dict(os.environ, CONCBENCH_PEERS=str(root),
               CONCBENCH_CACHE=str(tmp_path / "cache"))

    def cb(*args, extra=None, timeout=60):
        return subprocess.run([str(CONCBENCH), *map(str, args)],
                              env={**env, **(extra or {})},
                              capture_output=True, text=True,
                              timeout=timeout * SCALE)
    cb.cache = tmp_path / "cache" / "peers" / "fake"
    return cb


def test_fake_system_gets_the_workloads_and_its_own_parameters(fake):
    p = fake("run", "-m", "fake", "-w", "skynet", "--quick", "--cpus", "0",
             "-p", "pool=8", "--format", "json")
    assert p.returncode == 0, p.stderr
    rec = json.loads(p.stdout)
    assert rec["outcome"] == "ok" and rec["system"] == "real"
    assert rec["system_version"] == "Fake 1.0"
    assert rec["model_params"] == {"pool": 8, "mode": "a"}
    m = rec["metrics"]
    # elapsed from the window; peak RSS and throughput by the runner.
    assert m["elapsed_ns"] == 5000000 and m["peak_rss_bytes"] > 0
    assert m["throughput_ops_s"] == pytest.approx(200.0)
    args = (fake.cache / "args").read_text().split()
    assert args[:2] == ["leaves=1000", "div=10"]
    assert "pool=8" in args and "mode=a" in args and "seed=1" in args
    assert "cpus=1" in args
    d = fake("describe", "fake").stdout
    assert "pool" in d and "worker threads" in d and "which mode" in d


def test_fake_system_parameters_are_validated(fake):
    p = fake("run", "-m", "fake", "-w", "skynet", "--quick", "-p", "pool=65")
    assert p.returncode == 2 and "pool" in p.stderr
    p = fake("run", "-m", "fake", "-w", "skynet", "--quick", "-p", "mode=c")
    assert p.returncode == 2 and "mode" in p.stderr


def test_fake_system_outcomes_are_recorded(fake):
    p = fake("run", "-m", "fake", "-w", "ping-pong", "--quick")
    assert p.returncode == 4 and "the fake has no ping" in p.stderr
    p = fake("run", "-m", "fake", "-w", "spawn", "--quick")
    assert p.returncode == 4 and "no program for spawn" in p.stderr
    p = fake("run", "-m", "fake", "-w", "skynet", "--quick", "--timeout",
             "2", extra={"FAKE_MODE": "hang"})
    assert p.returncode == 1 and "no result after 2 s" in p.stderr
    p = fake("run", "-m", "fake", "-w", "skynet", "--quick",
             extra={"FAKE_MODE": "crash"})
    assert p.returncode == 1 and "signal 11" in p.stderr
    p = fake("run", "-m", "fake", "-w", "skynet", "--quick",
             extra={"FAKE_MISSING": "1"})
    assert p.returncode == 4 and "not installed: fake not found" in p.stderr


@needs_toolchains
def test_beam_selective_receive_cost_is_never_negative():
    # The BEAM program measures as the C workload does: the empty and
    # loaded phases alternate in batches, and no figure is below zero.
    ok, why = installed("beam")
    if not ok:
        pytest.skip(f"beam not installed: {why}")
    for trick in ("no", "yes"):
        p = run_cb("run", "-m", "beam", "-w", "selective-receive", "--quick",
                   "-p", f"trick={trick}", "--reps", "2", "--format", "json",
                   "--timeout", str(int(120 * SCALE)), timeout=300)
        assert p.returncode == 0, p.stderr
        for rep in json.loads(p.stdout)["repetitions"]:
            met = rep["metrics"]
            assert 0 <= met["ns_per_skipped_msg_lo"] \
                <= met["ns_per_skipped_msg"] \
                <= met["ns_per_skipped_msg_hi"], met
            assert 0 <= met["skip_batches_positive"] <= 10, met
