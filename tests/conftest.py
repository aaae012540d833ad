# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
"""Shared fixtures: where the build is, and how to run concbench.

CONCBENCH_BUILD names the build folder (default: build/ at the repository
root); the test script sets it for each variant (Release, ASan, TSan).
CONCBENCH_TIMEOUT_SCALE multiplies every subprocess timeout, for slow
machines and sanitizer builds.
"""
import json
import os
import resource
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BUILD = Path(os.environ.get("CONCBENCH_BUILD", ROOT / "build")).resolve()
CONCBENCH = BUILD / "runner" / "concbench"
CTEST_DIR = BUILD / "tests" / "c"
SCALE = float(os.environ.get("CONCBENCH_TIMEOUT_SCALE", "1"))
SKIP_CODE = 77


def _require_build():
    if not CONCBENCH.exists():
        pytest.exit(f"no concbench binary at {CONCBENCH}: build first "
                    "(scripts/test.sh does)", returncode=2)


def run_cb(*args, timeout=120, check=None):
    """Run concbench; return the CompletedProcess (text mode)."""
    _require_build()
    p = subprocess.run([str(CONCBENCH), *map(str, args)],
                       capture_output=True, text=True,
                       timeout=timeout * SCALE)
    if check is not None:
        assert p.returncode == check, (
            f"concbench {' '.join(map(str, args))}: exit {p.returncode}, "
            f"wanted {check}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}")
    return p


def run_json(*args, timeout=300, check=0):
    p = run_cb(*args, "--format", "json", timeout=timeout, check=check)
    return json.loads(p.stdout)


def names(kind):
    p = run_cb("list", kind, check=0)
    return [line.split()[0] for line in p.stdout.splitlines() if line.strip()]


def model_names():
    _require_build()
    return names("models")


def workload_names():
    _require_build()
    return names("workloads")


@pytest.fixture
def cb():
    return run_cb


# ---- wall-clock checks on a shared machine --------------------------------
#
# A test's verdict must not depend on how busy the machine is.  Time enters
# a test in two ways only: hang guards (every subprocess timeout, and every
# --timeout a test passes to concbench, times SCALE: generous), and shape
# checks that need a quiet machine, which go through shape_check: retried,
# and when they still fail while other processes kept the CPUs busy, the
# test is skipped as "inconclusive" (with the load figure) instead of
# failed.  The C tests do the same with CHECK_TIMELY (tests/c/cb_test.h).

QUIET = 0.20  # other processes' share of the CPUs below which a failure counts


def scaled(seconds):
    """A hang guard in whole seconds, stretched by SCALE."""
    return str(int(round(seconds * SCALE)))


def _cpu_now():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    hz = os.sysconf("SC_CLK_TCK")
    # user nice system idle iowait irq softirq steal
    busy = (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / hz
    own = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        ru = resource.getrusage(who)
        own += ru.ru_utime + ru.ru_stime
    return busy, own, time.monotonic()


class MachineLoad:
    """with MachineLoad() as load: ...; then load.others is the share
    (0..1) of all CPUs that processes other than this one and its waited
    children used meanwhile."""

    def __enter__(self):
        self._start = _cpu_now()
        self.others = 0.0
        return self

    def __exit__(self, *exc):
        busy, own, wall = _cpu_now()
        b0, o0, w0 = self._start
        cpus = os.cpu_count() or 1
        if wall > w0:
            self.others = max(0.0, min(1.0, ((busy - b0) - (own - o0))
                                       / ((wall - w0) * cpus)))
        return False


def shape_check(measure, judge, tries=3):
    """Run measure() and judge(result) up to `tries` times: judge returns
    None when the shape holds, else what is wrong.  A failure on a quiet
    machine fails the test at once; failures that all happened while other
    processes used more than QUIET of the CPUs skip it as inconclusive.
    Returns the result that held."""
    why = None
    for _ in range(tries):
        with MachineLoad() as load:
            result = measure()
        why = judge(result)
        if why is None:
            return result
        if load.others <= QUIET:
            pytest.fail(f"{why} (other processes used {load.others:.0%} of "
                        "the CPUs: a quiet machine, so a failure)")
        last = load.others
    pytest.skip(f"inconclusive: {why}; other processes used {last:.0%} of "
                f"the CPUs (retried {tries} times)")


def pytest_configure(config):
    # The talk's claims run their experiments for a verdict (tests/
    # test_talk*.py): `-m talk` selects them, `-m "not talk"` leaves them out.
    config.addinivalue_line(
        "markers", "talk: runs a claim's or an agreement check's experiment "
                   "for its verdict (seconds each)")


def run_talk_claim(out, claim, timeout):
    """`talk run CLAIM --quick -o OUT`: (the process, the claim's entry in
    OUT/verdicts.json, which must hold exactly one)."""
    p = run_cb("talk", "run", claim, "--quick", "-o", str(out),
               timeout=timeout, check=0)
    doc = json.loads((Path(out) / "verdicts.json").read_text())
    checks = [c for c in doc["checks"] if c["id"] == claim]
    assert len(checks) == 1, doc
    return p, checks[0]


def sanitizer_build():
    """The CB_SANITIZE value of the build under test ('' for none): timing
    and memory figures under a sanitizer are the sanitizer's, so shape
    checks there only ask for a verdict."""
    cache = BUILD / "CMakeCache.txt"
    if not cache.exists():
        return ""
    for line in cache.read_text(errors="replace").splitlines():
        if line.startswith("CB_SANITIZE:"):
            return line.partition("=")[2].strip()
    return ""
