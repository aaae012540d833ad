# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
"""Drive the C unit tests (tests/c/test_*.c): each is its own executable,
run in its own process with a timeout; exit 77 is a skip with its reason."""
import subprocess

import pytest

from conftest import CTEST_DIR, SCALE, SKIP_CODE, _require_build

UNITS = sorted(p.name for p in CTEST_DIR.glob("test_*")
               if p.is_file() and p.name != "test_semantics") \
    if CTEST_DIR.exists() else []


@pytest.mark.parametrize("unit", UNITS)
def test_unit(unit):
    _require_build()
    p = subprocess.run([str(CTEST_DIR / unit)], capture_output=True,
                       text=True, timeout=300 * SCALE)
    if p.returncode == SKIP_CODE:
        pytest.skip(p.stderr.strip() or f"{unit} skipped")
    assert p.returncode == 0, (
        f"{unit} exited {p.returncode}\nstdout:\n{p.stdout}\n"
        f"stderr:\n{p.stderr}")


def test_units_were_found():
    _require_build()
    assert UNITS, f"no C unit tests built in {CTEST_DIR}"
