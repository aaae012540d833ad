# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
"""The semantics every model owes (tests/c/test_semantics.c), each case
against each registered model: a model registered tomorrow is held to the
same cases the day it lands.  A capability the model declares unsupported
is a skip carrying the model's reason, never a silent pass."""
import subprocess

import pytest

from conftest import CTEST_DIR, SCALE, SKIP_CODE, model_names

BIN = CTEST_DIR / "test_semantics"


def cases():
    if not BIN.exists():
        return []
    out = subprocess.run([str(BIN), "--list"], capture_output=True,
                         text=True, check=True).stdout
    return out.split()


@pytest.mark.parametrize("case", cases())
@pytest.mark.parametrize("model", model_names())
def test_semantics(model, case):
    p = subprocess.run([str(BIN), model, case], capture_output=True,
                       text=True, timeout=120 * SCALE)
    if p.returncode == SKIP_CODE:
        pytest.skip(p.stderr.strip())
    assert p.returncode == 0, (
        f"{case} on {model}: exit {p.returncode}\n{p.stderr}")


def test_every_model_registered():
    assert "threads" in model_names()
    assert len(cases()) >= 15
