# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
"""Results that cannot block themselves and are never lost.

A matrix whose runs.jsonl holds no complete record (a disk full at the
start, a kill inside the header) starts afresh, by a plain run or by
--resume alike; `run -o FILE` checks FILE before the run; and a finished
result that cannot go where it was asked goes to a file the message
names."""
import json
import os
import re
import subprocess
import tempfile

import pytest

from conftest import CONCBENCH, SCALE, run_cb

MATRIX = ("matrix", "-m", "threads", "-w", "spawn", "--quick", "--reps", "1",
          "-q")


def records(out):
    with open(out / "runs.jsonl") as f:
        return [json.loads(line) for line in f]


@pytest.mark.parametrize("content", [b"", b'{"schema_version":1,"type":"ma'])
@pytest.mark.parametrize("resume", [False, True])
def test_a_file_without_records_starts_afresh(tmp_path, content, resume):
    out = tmp_path / "m"
    out.mkdir()
    (out / "runs.jsonl").write_bytes(content)
    run_cb(*MATRIX, "-o", out, *(["--resume"] if resume else []), check=0)
    recs = records(out)
    assert recs[0]["type"] == "matrix"
    assert [r["outcome"] for r in recs[1:]] == ["ok"]


def test_a_disk_full_at_the_start_can_be_resumed(tmp_path):
    """On a real full filesystem: a 64 KiB tmpfs, filled (root only)."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    if os.geteuid() != 0 or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)],
            capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        fill = mnt / "fill"
        fd = os.open(fill, os.O_WRONLY | os.O_CREAT)
        try:
            while os.write(fd, b"\0" * 4096) > 0:
                pass
        except OSError:
            pass
        os.close(fd)
        out = mnt / "m"
        p = run_cb(*MATRIX, "-o", out, check=2)
        assert "No space left" in p.stderr
        fill.unlink()
        run_cb(*MATRIX, "-o", out, "--resume", check=0)
        assert [r["outcome"] for r in records(out)[1:]] == ["ok"]
    finally:
        subprocess.run(["umount", str(mnt)], check=True)


@pytest.mark.parametrize("path", ["/proc/x.json", "/nonexistent/dir/r.json",
                                  "/tmp"])
def test_output_path_is_checked_before_the_run(path):
    # A ten-minute window: only a check made before the run can answer
    # inside the hang guard.
    p = run_cb("run", "-m", "threads", "-w", "cpu-crunch", "-p",
               "duration_ms=600000", "-o", path, timeout=60, check=2)
    assert path in p.stderr


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return f.read().split()
    except FileNotFoundError:
        return []


def test_a_result_that_cannot_be_written_is_kept(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    spare = tmp_path / "spare"
    spare.mkdir()
    env = dict(os.environ, TMPDIR=str(spare))
    runner = subprocess.Popen(
        [str(CONCBENCH), "run", "-m", "threads", "-w", "cpu-crunch",
         "--quick", "-p", "duration_ms=1000", "--format", "json",
         "-o", str(folder / "r.json")],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # Once the repetition runs, the folder goes away under it.
    for _ in range(int(600 * SCALE)):
        if children(runner.pid) or runner.poll() is not None:
            break
        subprocess.run(["sleep", "0.1"])
    folder.rename(tmp_path / "gone")
    _, err = runner.communicate(timeout=120 * SCALE)
    assert runner.returncode == 1, err
    m = re.search(r"the result is in (\S+)", err)
    assert m and str(folder / "r.json") in err, err
    kept = json.loads(open(m.group(1)).read())
    assert kept["outcome"] == "ok" and kept["metrics"]["ops"] > 0
