# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
"""Command lines parse whole or not at all (runner/args.h): an option
given twice is refused on every subcommand, never "the last one wins";
a list with an empty item is refused; and a message quotes the user's
input cut to 80 characters, so a 100 KB mistake is not echoed back."""
import pytest

from conftest import run_cb

RUN = ["run", "-m", "threads", "-w", "ping-pong", "--quick"]
MATRIX = ["matrix", "-m", "threads", "-w", "ping-pong", "--quick",
          "--dry-run"]

TWICE = [
    RUN + ["-m", "locks"],
    RUN + ["-w", "bank"],
    RUN + ["--reps", "1", "--reps", "2"],
    RUN + ["--warmup", "0", "--warmup", "1"],
    RUN + ["--timeout", "5", "--timeout", "6"],
    RUN + ["--format", "json", "--format", "csv"],
    RUN + ["--cpus", "0", "--cpus", "0"],
    RUN + ["-o", "a.json", "-o", "b.json"],
    RUN + ["--seed", "1", "--seed", "2"],
    RUN + ["--seed", "1", "-p", "seed=2"],
    RUN + ["-p", "seed=1", "-p", "seed=2"],
    RUN + ["-p", "rounds=10", "-p", "rounds=20"],
    RUN + ["-p", "rounds=10", "-p", "rounds=10"],
    RUN + ["--quick"],
    MATRIX + ["-m", "locks"],
    MATRIX + ["-w", "bank"],
    MATRIX + ["--reps", "2", "--reps", "3"],
    MATRIX + ["--seed", "1", "--seed", "2"],
    MATRIX + ["--timeout", "5", "--timeout", "6"],
    MATRIX + ["--order", "random", "--order", "sequential"],
    MATRIX + ["--placement", "compact", "--placement", "scatter"],
    MATRIX + ["-p", "rounds=10", "-p", "rounds=20"],
    MATRIX + ["-o", "a", "-o", "b"],
    ["compare", "--format", "json", "--format", "table", "a", "b"],
    ["compare", "--threshold", "5", "--threshold", "6", "a", "b"],
    ["compare", "--metric", "x", "--metric", "x", "a", "b"],
    ["plot", "-o", "a", "-o", "b", "x"],
    ["plot", "--format", "png", "--format", "svg", "x"],
    ["bench", "-m", "threads", "-m", "locks"],
    ["hyperfine", "-w", "ping-pong", "-w", "bank", "-o", "x"],
    ["hyperfine", "-m", "threads", "-m", "locks", "-w", "ping-pong",
     "-o", "x"],
    ["hyperfine", "-w", "ping-pong", "-p", "rounds=1", "-p", "rounds=2",
     "-o", "x"],
    ["hyperfine", "-w", "ping-pong", "--runs", "3", "--runs", "4",
     "-o", "x"],
    ["ab", "a", "b", "-o", "x", "--output", "y"],
    ["ab", "a", "b", "--reps", "3", "--reps", "4", "-o", "x"],
]


@pytest.mark.parametrize("args", TWICE, ids=[" ".join(a[:1] + a[-4:])
                                            for a in TWICE])
def test_an_option_given_twice_is_refused(args, tmp_path):
    p = run_cb(*args, check=2)
    assert "given twice" in p.stderr, p.stderr


EMPTY_ITEMS = [
    ["matrix", "-m", "threads,", "-w", "ping-pong", "--dry-run"],
    ["matrix", "-m", ",threads", "-w", "ping-pong", "--dry-run"],
    ["matrix", "-m", "threads,,locks", "-w", "ping-pong", "--dry-run"],
    ["matrix", "-m", "threads", "-w", "ping-pong,", "--dry-run"],
    ["matrix", "-m", "threads", "-w", "ping-pong", "-p", "rounds=1,",
     "--dry-run"],
    ["hyperfine", "-m", "threads,", "-w", "ping-pong", "-o", "x"],
    ["hyperfine", "-m", "threads,threads", "-w", "ping-pong", "-o", "x"],
]


@pytest.mark.parametrize("args", EMPTY_ITEMS, ids=range(len(EMPTY_ITEMS)))
def test_a_list_with_an_empty_item_is_refused(args):
    p = run_cb(*args, check=2)
    assert "empty" in p.stderr or "twice" in p.stderr, p.stderr


L = "LONG"
ECHOES = [
    ["run", "-m", L, "-w", "ping-pong"],
    ["run", "-m", "threads", "-w", L],
    ["run", "-m", "threads", "-w", "ping-pong", "--format", L],
    ["run", "-m", "threads", "-w", "ping-pong", "--reps", L],
    ["run", "-m", "threads", "-w", "ping-pong", L],
    ["run", L],
    ["matrix", "-m", L, "--dry-run"],
    ["matrix", "-w", L, "--dry-run"],
    ["matrix", "--order", L, "--dry-run"],
    ["matrix", "--progress", L, "--dry-run"],
    ["matrix", "--export", L, "--dry-run"],
    ["matrix", "--metric", L, "--dry-run"],
    ["matrix", "--placement", L, "--dry-run"],
    ["matrix", "--reps", L, "--dry-run"],
    ["matrix", "-p", "rounds=" + L, "--dry-run"],
    ["matrix", "-p", L, "--dry-run"],
    ["matrix", "--dry-run", L],
    ["compare", "--format", L, "a", "b"],
    ["compare", "--threshold", L, "a", "b"],
    ["compare", "--alpha", L, "a", "b"],
    ["compare", L, "a", "b"],
    ["plot", "--format", L, "x"],
    ["plot", L, "x"],
    ["list", L],
    ["describe", L],
    ["bench", L],
    ["bench", "-m", L],
    ["export", "x", L],
    ["hyperfine", "-w", L, "-o", "x"],
    ["hyperfine", "-w", "ping-pong", "-m", L, "-o", "x"],
    ["hyperfine", "-w", "ping-pong", "--runs", L, "-o", "x"],
    ["hyperfine", L],
    ["ab", "a", "b", "--reps", L, "-o", "x"],
    [L],
]


@pytest.mark.parametrize("size", [3000, 100 * 1024])
@pytest.mark.parametrize("args", ECHOES, ids=[" ".join(a) for a in ECHOES])
def test_long_input_is_cut_in_messages(args, size):
    long = "a" * size
    p = run_cb(*[long if a == L else a.replace(L, long) for a in args],
               check=2)
    assert len(p.stderr) < 1500, (len(p.stderr), p.stderr[:300])
    assert "a" * 81 not in p.stderr, p.stderr[:300]
    assert "a..." in p.stderr or "a" * 30 not in p.stderr, p.stderr[:300]
