# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
"""Replays the committed fuzz corpus through the fuzz targets (built as
plain executables), so every input that once crashed a reader stays
fixed under each build variant's sanitizers.  Long fuzzing:
scripts/fuzz.sh."""
import subprocess
from pathlib import Path

import pytest

from conftest import BUILD, ROOT, SCALE

CORPUS = ROOT / "tests" / "fuzz" / "corpus"


@pytest.mark.parametrize("target", ["results", "pspec"])
def test_corpus_replays_cleanly(target):
    exe = BUILD / "tests" / "fuzz" / f"fuzz_replay_{target}"
    assert exe.exists(), f"{exe} was not built"
    inputs = sorted(str(p) for p in (CORPUS / target).iterdir())
    assert inputs
    p = subprocess.run([str(exe), *inputs], capture_output=True, text=True,
                       timeout=60 * SCALE)
    assert p.returncode == 0, p.stderr
    assert f"replayed {len(inputs)} inputs" in p.stdout
