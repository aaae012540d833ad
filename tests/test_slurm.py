# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
"""Slurm for real: a one-node cluster on this machine (munged, slurmctld
and slurmd on localhost, started and stopped here), a 4-shard job array
of a small matrix through scripts/slurm/concbench-matrix.sbatch, merged,
and checked against the same matrix run locally.

Needs root (slurmd runs jobs as their user and must be root to do so)
and Debian's slurmctld, slurmd, slurm-client and munge (scripts/deps.sh
installs them); skipped otherwise, with the reason.  About half a minute,
most of it Slurm's scheduling.  CONCBENCH_NO_SLURM=1 leaves it out.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from conftest import CONCBENCH, ROOT, SCALE, model_names, run_cb

DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "sinfo", "scancel", "squeue", "scontrol")

pytestmark = [
    pytest.mark.skipif(os.environ.get("CONCBENCH_NO_SLURM") == "1",
                       reason="CONCBENCH_NO_SLURM=1"),
    pytest.mark.skipif(os.geteuid() != 0,
                       reason="a one-node Slurm needs root (slurmd)"),
    pytest.mark.skipif(
        any(shutil.which(x) is None and not Path("/usr/sbin", x).exists()
            for x in DAEMONS + CLIENTS),
        reason="slurm-wlm and munge are not installed (scripts/deps.sh)"),
]

SHARDS = 4


def exe(name):
    return shutil.which(name) or str(Path("/usr/sbin", name))


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


class OneNodeSlurm:
    """munged, slurmctld and slurmd in the foreground, as our children,
    with every file under one folder; stop() ends them all."""

    def __init__(self, d):
        self.d = d
        self.procs = []
        self.host = socket.gethostname().split(".")[0]
        self.env = dict(os.environ, SLURM_CONF=str(d / "slurm.conf"))

    def start(self):
        d = self.d
        for sub in ("state", "spool", "log"):
            (d / sub).mkdir()
        key = d / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        sock = d / "munge.sock"
        ctl_port, node_port = free_ports(2)
        cpus = os.cpu_count() or 1
        (d / "slurm.conf").write_text(f"""\
ClusterName=concbench
SlurmctldHost={self.host}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort={ctl_port}
SlurmdPort={node_port}
AuthType=auth/munge
AuthInfo=socket={sock}
CredType=cred/munge
StateSaveLocation={d}/state
SlurmdSpoolDir={d}/spool
SlurmctldPidFile={d}/slurmctld.pid
SlurmdPidFile={d}/slurmd.pid
SlurmctldLogFile={d}/log/slurmctld.log
SlurmdLogFile={d}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
NodeName={self.host} NodeAddr=127.0.0.1 CPUs={cpus} State=UNKNOWN
PartitionName=concbench Nodes={self.host} Default=YES MaxTime=INFINITE State=UP
""")
        self._spawn([exe("munged"), "--foreground", "--force",
                     f"--socket={sock}", f"--key-file={key}",
                     f"--log-file={d}/log/munged.log",
                     f"--pid-file={d}/munged.pid",
                     f"--seed-file={d}/munged.seed"])
        self._wait_for(lambda: sock.exists(), "munged's socket")
        conf = str(d / "slurm.conf")
        self._spawn([exe("slurmctld"), "-D", "-f", conf])
        self._spawn([exe("slurmd"), "-D", "-f", conf, "-N", self.host])
        self._wait_for(self._node_idle, "the node to be idle in sinfo")

    def _spawn(self, argv):
        log = open(self.d / "log" / (Path(argv[0]).name + ".out"), "w")
        self.procs.append(subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, env=self.env,
            start_new_session=True))
        log.close()

    def _node_idle(self):
        p = subprocess.run([exe("sinfo"), "-h", "-o", "%t"],
                           capture_output=True, text=True, env=self.env,
                           timeout=30)
        return p.returncode == 0 and p.stdout.strip() == "idle"

    def _wait_for(self, ok, what, limit=60):
        end = time.monotonic() + limit * SCALE
        while time.monotonic() < end:
            for p in self.procs:
                if p.poll() is not None:
                    raise AssertionError(
                        f"{p.args[0]} exited {p.returncode} while waiting "
                        f"for {what}:\n{self.logs()}")
            if ok():
                return
            time.sleep(0.2)
        raise AssertionError(f"no {what} after {limit} s:\n{self.logs()}")

    def logs(self):
        out = []
        for f in sorted((self.d / "log").iterdir()):
            out.append(f"--- {f.name}\n" + f.read_text(errors="replace")[-3000:])
        return "\n".join(out)

    def sbatch(self, *args):
        p = subprocess.run([exe("sbatch"), "--parsable", *map(str, args)],
                           capture_output=True, text=True, env=self.env,
                           timeout=60)
        assert p.returncode == 0, (p.stderr, self.logs())
        return p.stdout.strip().split(";")[0]

    def wait(self, job, limit):
        """Until no task of job is pending or running (polled every 0.2 s:
        sbatch --wait backs off to tens of seconds); each task's
        JobState."""
        end = time.monotonic() + limit
        while time.monotonic() < end:
            p = subprocess.run([exe("squeue"), "-h", "-j", job],
                               capture_output=True, text=True, env=self.env,
                               timeout=30)
            if p.returncode == 0 and not p.stdout.strip():
                break
            time.sleep(0.2)
        else:
            raise AssertionError(f"job {job} still queued after {limit} s")
        p = subprocess.run([exe("scontrol"), "-o", "show", "job", job],
                           capture_output=True, text=True, env=self.env,
                           timeout=30)
        return [f.split("=", 1)[1] for f in p.stdout.split()
                if f.startswith("JobState=")]

    def stop(self):
        subprocess.run([exe("scancel"), "--full", "-u", "root"],
                       env=self.env, capture_output=True, timeout=30)
        # The node first, then the controller, then munged: each stops
        # on SIGTERM and is waited for, so nothing is left running.
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        # slurmstepd, the job steps' parent, leaves when slurmd does.
        end = time.monotonic() + 10
        while time.monotonic() < end and subprocess.run(
                ["pgrep", "-x", "slurmstepd"], capture_output=True).stdout:
            time.sleep(0.2)


@pytest.fixture
def slurm(tmp_path):
    d = tmp_path / "slurm"
    d.mkdir()
    cluster = OneNodeSlurm(d)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
    for p in cluster.procs:
        assert p.poll() is not None, f"{p.args[0]} still running"


def plan_args():
    models = ",".join(model_names()[:2])
    return ["-m", models, "-w", "ping-pong,spawn", "--quick", "--reps", "2",
            "--seed", "3"]


def runs_of(d):
    with open(d / "runs.jsonl") as f:
        lines = [json.loads(line) for line in f]
    return sorted((r["label"], r["rep"], r["warmup"], r["seed"], r["order"],
                   r["outcome"]) for r in lines[1:])


def test_a_slurm_job_array_merges_to_the_local_matrix(slurm, tmp_path):
    t0 = time.monotonic()
    run_cb("matrix", *plan_args(), "-q", "-o", tmp_path / "local", check=0,
           timeout=300)
    local_s = time.monotonic() - t0

    out = tmp_path / "array"
    slurm.env.update(CONCBENCH=str(CONCBENCH), CONCBENCH_RESULTS=str(out))
    t0 = time.monotonic()
    job = slurm.sbatch(f"--array=0-{SHARDS - 1}",
                       f"--output={tmp_path}/task-%a.out", "--chdir", tmp_path,
                       ROOT / "scripts" / "slurm" / "concbench-matrix.sbatch",
                       *plan_args())
    states = slurm.wait(job, 600 * SCALE)
    array_s = time.monotonic() - t0
    tasks = "\n".join(f.read_text() for f in sorted(tmp_path.glob("task-*")))
    assert states == ["COMPLETED"] * SHARDS, (states, tasks, slurm.logs())
    folders = sorted(out.glob("shard-*"))
    assert [f.name for f in folders] == [f"shard-{k}" for k in range(SHARDS)]
    heads = [json.loads(open(f / "runs.jsonl").readline()) for f in folders]
    assert sorted(h["shard"] for h in heads) == list(range(1, SHARDS + 1))
    assert all("Slurm array task" in h["shard_source"] for h in heads)

    t0 = time.monotonic()
    m = run_cb("merge", tmp_path / "merged", *folders, check=0)
    merge_s = time.monotonic() - t0
    assert "is complete" in m.stderr
    merged, local = runs_of(tmp_path / "merged"), runs_of(tmp_path / "local")
    assert merged == local
    cells = {r[0] for r in merged}
    fp = [json.load(open(d / "machine.json"))["fingerprint"]
          for d in (tmp_path / "merged", tmp_path / "local")]
    assert fp[0] == fp[1]
    print(f"\nslurm: {SHARDS} shards, {len(cells)} cells, {len(merged)} "
          f"runs merged; array {array_s:.1f} s (submit to last task done), local "
          f"{local_s:.1f} s, merge {merge_s:.2f} s")
