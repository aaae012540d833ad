# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
"""Kubernetes, by simulation: there is no cluster here.  The manifests in
deploy/k8s/ are checked for the structure an Indexed Job needs, and the
pods' own commands are run here once per completion index with the
environment the Job controller gives them (JOB_COMPLETION_INDEX) and the
manifest's, the results volume mapped onto a temporary folder; then the
merge Job's command.  The merged folder must be the local matrix."""
import json
import os
import random
import shutil
import subprocess

import pytest

from conftest import CONCBENCH, ROOT, SCALE, model_names, run_cb

yaml = pytest.importorskip("yaml")

K8S = ROOT / "deploy" / "k8s"


def load(name):
    with open(K8S / name) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    assert len(docs) == 1, name
    return docs[0]


def container(job):
    cs = job["spec"]["template"]["spec"]["containers"]
    assert len(cs) == 1
    return cs[0]


def env_of(c):
    return {e["name"]: e["value"] for e in c.get("env", []) if "value" in e}


def mounts(job):
    """mountPath -> claimName for the job's persistent volumes."""
    spec = job["spec"]["template"]["spec"]
    claims = {v["name"]: v["persistentVolumeClaim"]["claimName"]
              for v in spec.get("volumes", []) if "persistentVolumeClaim" in v}
    return {m["mountPath"]: claims[m["name"]]
            for m in container(job).get("volumeMounts", [])
            if m["name"] in claims}


def test_the_indexed_job_is_well_formed():
    job, merge = load("concbench-matrix.yaml"), load("concbench-merge.yaml")
    pvc = load("results-pvc.yaml")
    assert (job["apiVersion"], job["kind"]) == ("batch/v1", "Job")
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed"
    n = spec["completions"]
    assert isinstance(n, int) and n >= 1
    assert 1 <= spec.get("parallelism", n) <= n
    assert spec["template"]["spec"]["restartPolicy"] == "Never"
    c = container(job)
    env = env_of(c)
    # Kubernetes gives a pod its index, not the count: the manifest does.
    assert env["CONCBENCH_SHARDS"] == str(n)
    script = " ".join(c["command"])
    assert "matrix --shard auto" in script
    assert '"$CONCBENCH_RESULTS/shard-$JOB_COMPLETION_INDEX"' in script
    assert "--resume" in script
    # Requests equal to limits, whole CPUs: the Guaranteed QoS class.
    res = c["resources"]
    assert res["requests"] == res["limits"]
    assert float(res["limits"]["cpu"]).is_integer()
    # Every shard and the merge write and read one ReadWriteMany volume,
    # under the same folder.
    m1, m2 = mounts(job), mounts(merge)
    assert list(m1.values()) == [pvc["metadata"]["name"]] == list(m2.values())
    assert "ReadWriteMany" in pvc["spec"]["accessModes"]
    results = env["CONCBENCH_RESULTS"]
    assert any(results.startswith(p.rstrip("/") + "/") for p in m1)
    mc = container(merge)
    assert env_of(mc)["CONCBENCH_RESULTS"] == results
    assert "concbench merge" in " ".join(mc["command"])
    assert mc["image"] == c["image"], "one image: one revision, one plan"
    anti = spec["template"]["spec"]["affinity"]["podAntiAffinity"]
    assert anti["requiredDuringSchedulingIgnoredDuringExecution"][0][
        "topologyKey"] == "kubernetes.io/hostname"


def plan_args():
    models = ",".join(model_names()[:2])
    return ["-m", models, "-w", "ping-pong,spawn", "--quick", "--reps", "2",
            "--seed", "5", "-q"]


def pod_env(c, tmp_path, extra):
    """The pod's environment: the manifest's, the volume mapped onto
    tmp_path, concbench on PATH, and what the Job controller adds."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLURM_", "JOB_COMPLETION", "CONCBENCH_SH"))}
    for k, v in env_of(c).items():
        env[k] = v.replace("/results", str(tmp_path / "volume"), 1) \
            if v.startswith("/results/") else v
    env["PATH"] = f"{CONCBENCH.parent}:{env.get('PATH', '/usr/bin:/bin')}"
    env.update(extra)
    return env


def run_pod(c, args, env):
    argv = c["command"] + args
    return subprocess.run(argv, capture_output=True, text=True, env=env,
                          timeout=300 * SCALE)


def runs_of(d):
    with open(d / "runs.jsonl") as f:
        lines = [json.loads(line) for line in f]
    return sorted((r["label"], r["rep"], r["warmup"], r["seed"], r["order"],
                   r["outcome"]) for r in lines[1:])


def test_the_indexed_job_simulated(tmp_path):
    job, merge = load("concbench-matrix.yaml"), load("concbench-merge.yaml")
    c, mc = container(job), container(merge)
    n = job["spec"]["completions"]
    run_cb("matrix", *plan_args(), "-o", tmp_path / "local", check=0,
           timeout=300)
    # The pods, in the order a cluster happens to start them.
    order = list(range(n))
    random.Random(n).shuffle(order)
    for i in order:
        p = run_pod(c, plan_args(), pod_env(
            c, tmp_path, {"JOB_COMPLETION_INDEX": str(i)}))
        assert p.returncode == 0, (i, p.stderr)
        assert f"Kubernetes completion index {i} of {n}" in json.loads(
            open(tmp_path / "volume" / "concbench-matrix" / f"shard-{i}" /
                 "runs.jsonl").readline())["shard_source"]
    # A retried index (backoffLimitPerIndex) resumes its folder: nothing
    # runs twice.
    p = run_pod(c, plan_args(), pod_env(c, tmp_path,
                                        {"JOB_COMPLETION_INDEX": "1"}))
    assert p.returncode == 0, p.stderr
    p = run_pod(mc, [], pod_env(mc, tmp_path, {}))
    assert p.returncode == 0, p.stderr
    merged = tmp_path / "volume" / "concbench-matrix" / "merged"
    assert runs_of(merged) == runs_of(tmp_path / "local")


def test_a_lost_index_is_reported_by_the_merge_job(tmp_path):
    job, merge = load("concbench-matrix.yaml"), load("concbench-merge.yaml")
    c, mc = container(job), container(merge)
    n = job["spec"]["completions"]
    for i in range(n):
        if i != n - 1:
            p = run_pod(c, plan_args(), pod_env(
                c, tmp_path, {"JOB_COMPLETION_INDEX": str(i)}))
            assert p.returncode == 0, p.stderr
    p = run_pod(mc, [], pod_env(mc, tmp_path, {}))
    assert p.returncode == 1, p.stderr
    assert f"shard {n}/{n} is missing" in p.stderr


def test_a_pod_without_the_count_refuses(tmp_path):
    c = container(load("concbench-matrix.yaml"))
    env = pod_env(c, tmp_path, {"JOB_COMPLETION_INDEX": "0"})
    del env["CONCBENCH_SHARDS"]
    p = run_pod(c, plan_args(), env)
    assert p.returncode == 2 and "CONCBENCH_SHARDS" in p.stderr
    assert shutil.which("sh")
