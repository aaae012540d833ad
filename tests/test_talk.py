# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
"""concbench talk and agree: listing, usage errors, a claim run end to
end with its verdicts.json, resuming finished and interrupted runs, and a
step that cannot run.  The judge's arithmetic is tested on synthetic
results in tests/c/test_talk.c."""
import json
import signal
import subprocess
import time

import pytest

from conftest import CONCBENCH, ROOT, SCALE, run_cb, shape_check

VERDICTS = {"holds", "does not hold here", "inconclusive",
            "cannot be shown here"}
CLAIM = "nif-dirty"  # claim 4: seconds at --quick, on actor alone


def claim_ids():
    """The ids `talk list` prints: a claim's first line is "ORDER ID TITLE"
    (or "ID (addition) TITLE"); its details are indented."""
    ids = []
    for line in run_cb("talk", check=0).stdout.splitlines():
        words = line.split()
        if words and not line.startswith("  "):
            ids.append(words[1] if words[0].isdigit() else words[0])
    return ids


def run_claim(out, *extra, check=0):
    return run_cb("talk", "run", CLAIM, "--quick", "-o", out, *extra,
                  timeout=120, check=check)


def read_verdicts(out):
    doc = json.loads((out / "verdicts.json").read_text())
    assert doc["type"] == "verdicts" and doc["set"] == "talk", doc
    return doc


def runs_of(step_dir):
    return [json.loads(line) for line in
            (step_dir / "runs.jsonl").read_text().splitlines()
            if line.strip()]


def test_list_shows_claims_with_rule_and_commands():
    p = run_cb("talk", check=0)
    assert CLAIM in p.stdout
    assert "rule:" in p.stdout and "concbench matrix" in p.stdout
    assert run_cb("talk", "list", check=0).stdout == p.stdout
    q = run_cb("talk", "list", "--quick", check=0).stdout
    assert "--quick" in q and "results/talk-quick/" in q
    assert CLAIM in claim_ids()


def test_help_everywhere():
    for args in (["talk", "--help"], ["talk", "run", "--help"],
                 ["talk", "list", "--help"], ["agree", "--help"]):
        p = run_cb(*args, check=0)
        assert p.stdout.startswith("usage: concbench"), args
    top = run_cb("--help", check=0).stdout
    assert "talk" in top and "agree" in top


def test_unknown_id_lists_the_ids(tmp_path):
    p = run_cb("talk", "run", "no-such-claim", "-o", tmp_path / "t", check=2)
    assert "no-such-claim" in p.stderr and CLAIM in p.stderr
    assert not (tmp_path / "t").exists(), "nothing runs on a usage error"
    p = run_cb("agree", "no-such-check", "-o", tmp_path / "a", check=2)
    assert "no-such-check" in p.stderr


@pytest.mark.parametrize("args", [
    ["talk", "run", "--bogus"],
    ["talk", "run", "-o"],
    ["talk", "run", "--quick", "--quick"],
    ["talk", "run", "-o", "a", "-o", "b"],
    ["talk", "run", "-o", ""],
    ["talk", "bogus"],
    ["talk", "list", "extra"],
    ["talk", "run", "--list"],
    ["agree", "--list", "-o", "x"],
    ["agree", "--bogus"],
])
def test_bad_options_are_usage_errors(args):
    p = run_cb(*args, check=2)
    assert p.stderr.startswith("concbench: "), p.stderr


def test_agree_lists_every_registered_check():
    # A file agree/NAME.c registers the check; its id is listed with the
    # matrices it runs.
    listing = run_cb("agree", "--list", check=0).stdout
    files = sorted((ROOT / "agree").glob("*.c"))
    assert files, "no agree/*.c"
    for f in files:
        first = f.stem.replace("_", "-").split("-")[0]
        assert first in listing, (f.name, listing[:400])
    assert "concbench matrix -m" in listing


@pytest.mark.talk
def test_claim_nif_dirty_holds(tmp_path):
    """Claim 4 at --quick: a verdict, and on this machine "holds" (the
    experiment reruns in a fresh folder when a busy machine spoils it)."""
    tries = iter(range(10))

    def measure():
        out = tmp_path / f"t{next(tries)}"
        p = run_claim(out)
        return out, p, read_verdicts(out)["checks"][0]

    def judge(result):
        _, p, check = result
        assert check["verdict"] in VERDICTS, check
        if check["verdict"] != "holds":
            return f"{CLAIM}: {check['verdict']}: {check['why']}\n{p.stdout}"
        return None

    shape_check(measure, judge)


def test_run_writes_verdicts_and_resumes(tmp_path):
    out = tmp_path / "t"
    p = run_claim(out)
    assert CLAIM in p.stdout and "why:" in p.stdout
    assert "1 claim in" in p.stdout and str(out) in p.stdout
    doc = read_verdicts(out)
    assert doc["quick"] is True
    assert doc["elapsed_s"] > 0 and doc["started"] and doc["finished"]
    assert "cpu_model" in doc["machine"]
    assert isinstance(doc["machine"]["systems"], dict)
    assert isinstance(doc["machine"]["noise_warnings"], list)
    [check] = doc["checks"]
    assert check["id"] == CLAIM and check["order"] == 4
    assert check["verdict"] in VERDICTS and check["label"] == check["verdict"]
    assert check["why"] and check["figures"] and check["rule"]
    assert check["plots"] and check["plots"][0]["step"] == "crunch"
    [step] = check["steps"]
    assert step["exit"] == 0
    step_dir = out / CLAIM / "crunch"
    assert step["dir"] == str(step_dir)
    [command] = check["commands"]
    assert command.startswith("concbench matrix ") and "--quick" in command
    assert command.endswith(f"-o {step_dir}")
    runs = runs_of(step_dir)
    assert sum(r["type"] == "run" for r in runs) == 9  # 3 cells x 3 reps
    # The recorded command reruns the step as it ran: its header says so.
    assert runs[0]["type"] == "matrix"

    # A rerun resumes: the finished step runs nothing, the verdict stays.
    before = (step_dir / "runs.jsonl").read_bytes()
    t0 = time.monotonic()
    p = run_claim(out)
    assert (step_dir / "runs.jsonl").read_bytes() == before
    again = read_verdicts(out)["checks"][0]
    assert again["verdict"] == check["verdict"]
    assert again["figures"] == check["figures"]
    assert time.monotonic() - t0 < 60 * SCALE

    # Another command in the folder (another version of the check) is
    # not resumed into: the step starts afresh and says so.
    (step_dir / "command").write_text("concbench matrix something else\n")
    p = run_claim(out)
    assert "another command" in p.stderr
    assert sum(r["type"] == "run" for r in runs_of(step_dir)) == 9


def test_interrupted_run_resumes(tmp_path):
    out = tmp_path / "t"
    runs_file = out / CLAIM / "crunch" / "runs.jsonl"
    proc = subprocess.Popen([str(CONCBENCH), "talk", "run", CLAIM, "--quick",
                             "-o", str(out)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60 * SCALE
    while time.time() < deadline:
        if runs_file.exists() and len(runs_file.read_text().splitlines()) >= 3:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120 * SCALE)
    if proc.returncode != 130:
        pytest.skip("the claim finished before it could be interrupted")
    assert "resumes" in err
    before = [r for r in runs_of(out / CLAIM / "crunch") if r["type"] == "run"]
    assert 0 < len(before) < 9
    run_claim(out)
    after = [r for r in runs_of(out / CLAIM / "crunch") if r["type"] == "run"]
    keys = [(r["label"], r["rep"]) for r in after]
    assert len(after) == 9 and len(set(keys)) == 9, "a repetition ran twice"
    assert after[:len(before)] == before
    assert read_verdicts(out)["checks"][0]["verdict"] in VERDICTS


def test_step_that_cannot_run_still_gets_a_verdict(tmp_path):
    """A step whose folder cannot be written: the claim is "cannot be
    shown here" naming the step, verdicts.json says so, exit 1."""
    out = tmp_path / "t"
    (out / CLAIM).mkdir(parents=True)
    (out / CLAIM / "crunch").write_text("a file where the step's folder "
                                        "goes\n")
    p = run_claim(out, check=1)
    assert "cannot be shown here" in p.stdout
    [check] = read_verdicts(out)["checks"]
    assert check["verdict"] == "cannot be shown here"
    assert "crunch" in check["why"]
