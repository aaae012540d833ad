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
import subprocess
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
