# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
"""The cluster workload on real Erlang distribution (-m beam).

Three nodes at --quick sizes: after the SIGKILL of one node every lost
worker runs again on a survivor, and after several nodes join at once the
registry converges to exactly one live instance per name, the same in
every node's table (the program checks it and fails otherwise; these
tests restate it from the figures).  No node outlives a run, whether it
ends ok, fails its invariant or is killed by the runner's timeout.  Bad
parameters exit 2 with a message; a model reports the workload
unsupported with the reason; a missing Erlang is "not installed" with the
install hint.
"""
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from conftest import CONCBENCH, SCALE, run_cb

needs_erlang = pytest.mark.skipif(
    shutil.which("erl") is None,
    reason="erl not found in PATH (scripts/deps.sh installs erlang-base)")

# The node names the program gives its nodes: cbcl<controller pid>_<i>.
NODE_TAG = "cbcl"


def node_processes():
    """{pid: command line} of the BEAM processes that are cluster nodes."""
    out = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            raw = (d / "cmdline").read_bytes()
        except OSError:
            continue
        cmd = raw.replace(b"\0", b" ").decode(errors="replace")
        if "beam" in cmd and f"-name {NODE_TAG}" in cmd:
            out[int(d.name)] = cmd
    return out


def wait_for_no_new_nodes(before, seconds=20):
    """The nodes started since `before` that are still alive after a
    grace period (a node halts when its controller's pipe closes)."""
    deadline = time.monotonic() + seconds * SCALE
    while True:
        left = {p: c for p, c in node_processes().items() if p not in before}
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.2)


def registered_with_epmd():
    r = subprocess.run(["epmd", "-names"], capture_output=True, text=True,
                       timeout=30)
    return {line.split()[1] for line in r.stdout.splitlines()
            if line.startswith("name ") and NODE_TAG in line}


def run_cluster(*params, timeout_s=240, check=0):
    args = ["run", "-m", "beam", "-w", "cluster", "--quick", "--format",
            "json", "--timeout", str(int(timeout_s * SCALE))]
    for p in params:
        args += ["-p", p]
    p = run_cb(*args, timeout=timeout_s + 60, check=check)
    return json.loads(p.stdout), p


@needs_erlang
@pytest.mark.parametrize("eager", ["no", "yes"])
def test_invariant_after_loss_and_simultaneous_joins(eager):
    before = node_processes()
    epmd_before = registered_with_epmd()
    # A request unanswered in timeout_ms counts as lost, and a loaded
    # machine (ASan and TSan suites beside this one) can hold a reply
    # past the quick size's 100 ms while the cluster is whole: generous
    # bounds here, so that only a lost worker or registry fails the test.
    d, _ = run_cluster(f"eager={eager}", f"timeout_ms={int(1000 * SCALE)}",
                       f"converge_ms={int(30000 * SCALE)}")
    assert d["outcome"] == "ok", d.get("reason")
    assert d["system"] == "real"
    m = d["metrics"]
    nodes, workers = d["params"]["nodes"], d["params"]["workers"]
    assert nodes == 3 and m["nodes_at_end"] == nodes - 1 + 1 + \
        d["params"]["joiners"]
    assert m["formation_ns"] > 0 and m["lookups_s"] > 0
    # The victim held some names (rendezvous hashing over three nodes);
    # each was registered again after the kill.
    if m["workers_lost"]:
        assert m["handoff_ns"]["count"] >= m["workers_lost"]
        assert 0 < m["handoff_ns"]["p50"] <= m["handoff_ns"]["max"]
    assert m["requests_ok"] == m["ops"] > 0
    # Nothing is lost while the cluster is whole.
    assert m["requests_lost_steady"] == 0
    assert m["request_ns"]["count"] > 0
    assert m["converged"] == 1 and m["convergence_ns"] > 0
    if eager == "yes":
        # Every joiner held its own copy of every name before it joined:
        # two live instances of each name, which global resolved.
        assert m["duplicates_seen"] >= workers
    else:
        assert m["duplicates_seen"] == 0
    assert not wait_for_no_new_nodes(before)
    assert registered_with_epmd() <= epmd_before


@needs_erlang
def test_no_node_outlives_a_failed_run():
    # 10 ms cannot cover a handoff: the invariant fails, and the program
    # must still stop every node it started.
    before = node_processes()
    d, _ = run_cluster("converge_ms=10", check=3)
    assert d["outcome"] == "failed"
    assert "not restarted within 10 ms" in d["reason"] or \
        "did not converge" in d["reason"], d["reason"]
    assert not wait_for_no_new_nodes(before)


@needs_erlang
def test_no_node_outlives_a_timeout():
    # The runner SIGKILLs the controller mid-run (its stream would last a
    # minute): the nodes lose their control connection and halt.
    before = node_processes()
    p = subprocess.Popen([str(CONCBENCH), "run", "-m", "beam", "-w",
                          "cluster", "--quick", "-p", "steady_ms=60000",
                          "--timeout", str(int(10 * SCALE)), "--format",
                          "json"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    # The nodes are up before the controller dies (else this proves
    # nothing).
    deadline = time.monotonic() + 10 * SCALE
    seen = set()
    while time.monotonic() < deadline and len(seen) < 3:
        seen |= set(node_processes()) - set(before)
        time.sleep(0.1)
    out, err = p.communicate(timeout=120 * SCALE)
    assert len(seen) >= 3, f"the nodes never started: {err}"
    assert p.returncode != 0
    assert json.loads(out)["outcome"] == "timeout", out
    left = wait_for_no_new_nodes(before)
    assert not left, f"nodes outlived the run: {sorted(left.values())}"


@pytest.mark.parametrize("param,value", [("nodes", 0), ("nodes", 1),
                                         ("nodes", 65), ("joiners", 0),
                                         ("workers", 0)])
def test_bad_parameters_exit_2(param, value):
    p = run_cb("run", "-m", "beam", "-w", "cluster", "--quick",
               "-p", f"{param}={value}", check=2)
    assert param in p.stderr and "range" in p.stderr, p.stderr


def test_models_report_it_unsupported():
    models = [line.split()[0] for line in
              run_cb("list", "models", check=0).stdout.splitlines()
              if line.strip()]
    for model in models:
        p = run_cb("run", "-m", model, "-w", "cluster", "--quick",
                   "--format", "json", check=4)
        rec = json.loads(p.stdout)
        assert rec["outcome"] == "unsupported"
        assert "distribution is the BEAM's own" in rec["reason"]


def test_missing_erlang_is_unsupported_with_the_hint(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "env", "dirname", "cat", "mkdir", "nproc"):
        for d in ("/usr/bin", "/bin"):
            if Path(d, tool).exists():
                (bin_dir / tool).symlink_to(Path(d, tool))
                break
    env = dict(os.environ, PATH=str(bin_dir))
    r = subprocess.run([str(CONCBENCH), "run", "-m", "beam", "-w", "cluster",
                        "--quick", "--format", "json"], env=env,
                       capture_output=True, text=True, timeout=120 * SCALE)
    assert r.returncode == 4, r.stderr
    rec = json.loads(r.stdout)
    assert rec["outcome"] == "unsupported"
    assert "not installed" in rec["reason"] and "deps.sh" in rec["reason"]
