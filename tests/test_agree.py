# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
"""concbench agree: each model against the real system it stands for, and
the real systems compiled at build time.

At --quick sizes, the shapes that are robust on a 2-core machine say
"agree" (probe lateness served on actor and beam under 4 hogs; starvation
on csp and core.async with pool=2; unbounded mailbox growth on actor and
beam): each reruns in a fresh folder when a busy machine spoils it, and a
failure that happened only while other processes kept the CPUs busy is
"inconclusive" (conftest.shape_check).  The other checks must give a
verdict.  A system whose toolchain is missing (a PATH without it) makes
its check "cannot be shown here" with the install hint.

The build compiles every installed real system into the build tree
(cmake/Peers.cmake, scripts/prepare-peer.sh); the runner uses that cache,
so a run with an empty HOME compiles nothing.
"""
import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import BUILD, CONCBENCH, ROOT, SCALE, run_cb, shape_check

VERDICTS = {"agree", "differ", "inconclusive", "cannot be shown here"}
CHECKS = {"probe-lateness": ("actor", "beam"),
          "pool-starvation": ("csp", "core.async"),
          "fairness": ("actor", "beam", "csp", "core.async", "go"),
          "mailbox-growth": ("actor", "beam"),
          "selective-receive": ("actor", "beam")}
ROBUST = ["probe-lateness", "pool-starvation", "mailbox-growth"]
OTHERS = ["fairness", "selective-receive"]
PEERS = ROOT / "peers"


def cmake_cache(key):
    cache = BUILD / "CMakeCache.txt"
    if not cache.exists():
        return ""
    for line in cache.read_text(errors="replace").splitlines():
        if line.startswith(key + ":"):
            return line.partition("=")[2].strip()
    return ""


# The real systems are not C: a sanitizer sees nothing of them, and their
# start-ups would multiply a sanitized suite's time (as tests/test_peers.py).
needs_toolchains = pytest.mark.skipif(
    bool(cmake_cache("CB_SANITIZE")),
    reason="a sanitizer build does not run the real systems")


def installed(system):
    """Whether the real system's toolchain is here (its own --check)."""
    if not (PEERS / system).is_dir():
        return True  # a model
    p = subprocess.run([str(PEERS / system / "run"), "--check"],
                       capture_output=True, text=True, timeout=60)
    return p.returncode == 0


def run_agree(out, *ids, env=None, timeout=300):
    p = subprocess.run([str(CONCBENCH), "agree", *ids, "--quick", "-o",
                        str(out)], capture_output=True, text=True, env=env,
                       timeout=timeout * SCALE)
    assert p.returncode in (0, 1), p.stderr
    doc = json.loads((out / "verdicts.json").read_text())
    assert doc["type"] == "verdicts" and doc["set"] == "agree", doc
    return p, {c["id"]: c for c in doc["checks"]}


def test_list_names_every_check_with_its_systems():
    listing = run_cb("agree", "--list", check=0).stdout
    for check, systems in CHECKS.items():
        assert check in listing, listing
        block = listing[listing.index(check):].split("\n\n")[0]
        assert "concbench matrix" in block and "rule:" in block
        for s in systems:
            assert s in block, (check, s, block)


def judged(check_id, want):
    tries = iter(range(10))

    def measure(tmp):
        out = tmp / f"a{next(tries)}"
        p, checks = run_agree(out, check_id)
        return p, checks[check_id]

    def judge(result):
        p, check = result
        assert check["label"] in VERDICTS, check
        assert check["why"] and check["figures"], check
        if check["label"] not in want:
            return f"{check_id}: {check['label']}: {check['why']}\n{p.stdout}"
        return None
    return measure, judge


@needs_toolchains
@pytest.mark.talk
@pytest.mark.parametrize("check_id", ROBUST)
def test_robust_shapes_agree(check_id, tmp_path):
    missing = [s for s in CHECKS[check_id] if not installed(s)]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed")
    measure, judge = judged(check_id, {"agree"})
    shape_check(lambda: measure(tmp_path), judge)


@needs_toolchains
@pytest.mark.talk
@pytest.mark.parametrize("check_id", OTHERS)
def test_other_shapes_give_a_verdict(check_id, tmp_path):
    missing = [s for s in CHECKS[check_id] if not installed(s)]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed")
    _, checks = run_agree(tmp_path / "a", check_id)
    check = checks[check_id]
    assert check["label"] in VERDICTS - {"cannot be shown here"}, check
    assert len(check["figures"]) >= 2 and check["why"], check


@pytest.fixture
def bare_path(tmp_path):
    """A PATH with the shell and the few tools the run scripts use, and no
    language toolchain (as tests/test_peers.py)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "env", "dirname", "basename", "cat", "ls", "head",
                 "tail", "sed", "mkdir", "mv", "rm", "rmdir", "mktemp",
                 "nproc", "date", "touch"):
        for d in ("/usr/bin", "/bin"):
            if Path(d, tool).exists():
                (bin_dir / tool).symlink_to(Path(d, tool))
                break
    return str(bin_dir)


def test_missing_toolchain_cannot_be_shown(bare_path, tmp_path):
    """selective-receive runs actor (C, a second) beside beam, whose erl
    the PATH lacks: the check cannot be shown, and says how to install."""
    env = dict(os.environ, PATH=bare_path)
    p, checks = run_agree(tmp_path / "a", "selective-receive", env=env)
    check = checks["selective-receive"]
    assert check["label"] == "cannot be shown here", check
    assert "beam" in check["why"] and "deps.sh" in check["why"], check
    assert "cannot be shown here" in p.stdout


# ---- the real systems compiled at build time ----

def peer_systems():
    return sorted(p.name for p in PEERS.iterdir()
                  if (p / "run").is_file() and os.access(p / "run", os.X_OK))


def peer_cache():
    return Path(cmake_cache("CB_PEER_CACHE") or BUILD / "peer-cache")


@needs_toolchains
def test_build_prepared_every_installed_system():
    if cmake_cache("CB_PEERS") not in ("ON", "1", "TRUE"):
        pytest.skip("configured with CB_PEERS off")
    cache = peer_cache()
    for s in peer_systems():
        stamp = cache / f"{s}.prepared"
        if installed(s):
            assert stamp.is_file(), f"{s}: the build did not prepare it"
            assert any((cache / s).iterdir()), f"{s}: {cache / s} is empty"
        else:
            assert not stamp.exists(), f"{s}: prepared without a toolchain"


@needs_toolchains
def test_runner_uses_the_build_cache(tmp_path):
    """With no CONCBENCH_CACHE and an empty HOME, a run finds its compiled
    program in the build tree and writes nothing into HOME."""
    if cmake_cache("CB_PEERS") not in ("ON", "1", "TRUE"):
        pytest.skip("configured with CB_PEERS off")
    quick = [s for s in ("beam", "go") if installed(s)]
    if not quick:
        pytest.skip("neither beam nor go is installed")
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("CONCBENCH_CACHE", "XDG_CACHE_HOME")}
    env["HOME"] = str(home)
    before = {p: p.stat().st_mtime_ns
              for p in (peer_cache() / quick[0]).rglob("*") if p.is_file()}
    p = subprocess.run([str(CONCBENCH), "run", "-m", quick[0], "-w",
                        "ping-pong", "--quick", "--format", "json"],
                       env=env, capture_output=True, text=True,
                       timeout=120 * SCALE)
    assert p.returncode == 0, p.stderr
    assert not any(home.rglob("*")), list(home.rglob("*"))
    after = {p: p.stat().st_mtime_ns
             for p in (peer_cache() / quick[0]).rglob("*") if p.is_file()}
    changed = [str(k) for k in before if after.get(k) != before[k]]
    assert not changed, f"the run recompiled: {changed}"


def test_prepare_skips_a_missing_toolchain(bare_path, tmp_path):
    """The build's step for a system whose toolchain is missing says why
    and succeeds, without a stamp (so a later build looks again)."""
    env = dict(os.environ, PATH=bare_path)
    for s in peer_systems():
        stamp = tmp_path / f"{s}.prepared"
        p = subprocess.run([str(ROOT / "scripts" / "prepare-peer.sh"),
                            str(PEERS / s), str(tmp_path / "cache"),
                            str(stamp)], env=env, capture_output=True,
                           text=True, timeout=60 * SCALE)
        assert p.returncode == 0, (s, p.stdout, p.stderr)
        assert f"peers: {s} skipped" in p.stdout, (s, p.stdout)
        assert "deps.sh" in p.stdout, (s, p.stdout)
        assert not stamp.exists()


# ---- an unrecovered panic: the csp model and the real Go program ----

@needs_toolchains
def test_go_panic_is_the_same_crash_on_csp_and_go(tmp_path):
    """An unrecovered panic ends a Go program with exit status 2 and no
    result; the csp model with crash=panic ends the same way, so the
    runner records both as crashed, the panic in the last words."""
    if not installed("go"):
        pytest.skip("go not installed")
    out = tmp_path / "m"
    p = subprocess.run([str(CONCBENCH), "matrix", "-m", "csp,go", "-w",
                        "supervision", "--quick", "--reps", "1", "-p",
                        "crash_ppm=1000000", "-p", "crash=panic", "-q",
                        "--progress", "never", "-o", str(out)],
                       capture_output=True, text=True, timeout=180 * SCALE)
    assert p.returncode == 1, p.stderr
    runs = [json.loads(line) for line in
            (out / "runs.jsonl").read_text().splitlines() if line.strip()]
    runs = {r["model"]: r for r in runs if r.get("type") == "run"}
    assert set(runs) == {"csp", "go"}, runs.keys()
    for system, r in runs.items():
        assert r["outcome"] == "crashed", (system, r["outcome"])
        assert r["reason"].startswith(
            "exited with status 2 before reporting a result; last words: "
            "panic: {crash,"), (system, r["reason"])
