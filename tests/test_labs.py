# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
"""Labs cannot rot: every lab's check runs against its starter (it must
fail, telling the student what each `starter_says` line of the lab's
checks promises) and against its reference solution (it must pass); a
student file that does not compile, crashes, hangs or breaks its
invariant gets a clear message and a zero score, never a traceback; and
bad input is exit 2 with a message."""
import os
import re
import shutil
import subprocess

import pytest

from conftest import ROOT, run_cb, sanitizer_build, scaled, shape_check

LABS = sorted(p for p in (ROOT / "labs").glob("[0-9]*-*")
              if (p / "checks").exists())


def lab_conf(lab):
    """(number, student file name, {check: [starter_says...]})."""
    file, says, check = None, {}, None
    for line in (lab / "checks").read_text().splitlines():
        line = line.strip()
        m = re.match(r"\[check (.+)\]$", line)
        if m:
            check = m.group(1)
        elif line.startswith("file") and check is None:
            file = line.split("=", 1)[1].strip()
        elif line.startswith("starter_says") and check:
            says.setdefault(check, []).append(line.split("=", 1)[1].strip())
    return int(lab.name.split("-")[0]), file, says


def lab_system(lab):
    """The real system a lab runs on (`system = NAME`), or None."""
    for line in (lab / "checks").read_text().splitlines():
        if line.strip().startswith("[check "):
            return None
        k, _, v = line.partition("=")
        if k.strip() == "system":
            return v.strip()
    return None


def skip_unless_installed(lab):
    """A lab on a real system that is not installed here is skipped,
    with the system's own reason (its `run --check` line)."""
    system = lab_system(lab)
    if system is None:
        return
    p = subprocess.run([str(ROOT / "peers" / system / "run"), "--check"],
                       capture_output=True, text=True)
    if p.returncode != 0:
        pytest.skip(f"{lab.name} runs on {system}, not installed: "
                    f"{p.stdout.strip()}")


def check(num, folder, *opts, timeout=900):
    return run_cb("lab", "check", num, folder, *opts, timeout=timeout)


def fail_lines(out, name):
    """Each FAIL line of check `name` with its feedback, one string each."""
    blocks, cur = [], None
    for line in out.splitlines():
        if re.match(r"  (ok|FAIL|miss) ", line):
            cur = line if line.split()[1] == name and \
                line.startswith("  FAIL") else None
            if cur is not None:
                blocks.append(cur)
        elif cur is not None and line.startswith("      "):
            blocks[-1] += "\n" + line
    return blocks


@pytest.mark.parametrize("lab", LABS, ids=[p.name for p in LABS])
def test_starter_fails_with_the_expected_feedback(lab, tmp_path):
    skip_unless_installed(lab)
    num, file, says = lab_conf(lab)
    assert says, f"{lab}/checks: no starter_says line: nothing to test"
    run_cb("lab", "start", num, tmp_path / "s", check=0)
    starter = "starter" + os.path.splitext(file)[1]
    assert (tmp_path / "s" / file).read_text() == \
        (lab / starter).read_text()
    p = check(num, tmp_path / "s")
    assert p.returncode == 1, p.stdout + p.stderr
    assert "Traceback" not in p.stdout + p.stderr
    # A starter may be correct and fail only a shape check (lab 3's
    # flood, lab 4's scanning receive): less than full marks, a required
    # check failed.
    assert re.search(r"^score: (0/\d+|\d+/\d+ \(a required check failed\))",
                     p.stdout, re.M), p.stdout
    for name, phrases in says.items():
        blocks = fail_lines(p.stdout, name)
        assert blocks, f"check {name} did not fail:\n{p.stdout}"
        for b in blocks:
            assert "expected:" in b and "measured:" in b, b
            for phrase in phrases:
                assert phrase in b, f"{name}: no '{phrase}' in\n{b}"


@pytest.mark.parametrize("lab", LABS, ids=[p.name for p in LABS])
def test_solution_passes(lab, tmp_path):
    skip_unless_installed(lab)
    num, file, _ = lab_conf(lab)
    (tmp_path / "s").mkdir()
    shutil.copy(lab / "solution" / file, tmp_path / "s" / file)

    def measure():
        return check(num, tmp_path / "s")

    def judge(p):
        # Correctness is no timing: it must hold at once, on any machine.
        assert "correctness first" not in p.stdout, p.stdout
        assert "must build first" not in p.stdout, p.stdout
        assert "Traceback" not in p.stdout + p.stderr
        if sanitizer_build():
            return None  # a sanitizer's timings judge no shape
        if p.returncode != 0:
            return f"exit {p.returncode}:\n{p.stdout}{p.stderr}"
        return None

    p = shape_check(measure, judge, tries=2)
    if not sanitizer_build():
        assert "every required check passed" in p.stdout


BANK = ROOT / "labs" / "02-bank"


def student(tmp_path, text):
    d = tmp_path / "s"
    d.mkdir()
    (d / "lab_bank.c").write_text(text)
    return d


def solution_with(old, new):
    text = (BANK / "solution" / "lab_bank.c").read_text()
    assert old in text
    return text.replace(old, new, 1)


def test_compile_error_scores_zero(tmp_path):
    d = student(tmp_path, solution_with("static int audit(", "static int audit("
                                        "int missing_paren;\nstatic int x("))
    p = check(2, d)
    assert p.returncode == 1
    assert "does not compile" in p.stdout and "error" in p.stdout
    assert re.search(r"^score: 0/\d+ \(it must build first\)", p.stdout,
                     re.M), p.stdout


def test_crash_scores_zero(tmp_path):
    d = student(tmp_path, solution_with(
        "    cb_wl_window_start(ctx);\n",
        "    cb_wl_window_start(ctx);\n    int *volatile nowhere = NULL;\n"
        "    *nowhere = 1;\n"))
    p = check(2, d, "--models", "threads")
    assert p.returncode == 1
    assert "it crashed on threads" in p.stdout, p.stdout
    assert re.search(r"^score: 0/", p.stdout, re.M)


def test_hang_scores_zero(tmp_path):
    d = student(tmp_path, solution_with(
        "    cb_wl_window_start(ctx);\n",
        "    cb_wl_window_start(ctx);\n    for (;;)\n"
        "        cb_sleep(1000000);\n"))
    p = check(2, d, "--models", "threads", "--timeout", "2")
    assert p.returncode == 1
    assert "never finished" in p.stdout, p.stdout
    assert re.search(r"^score: 0/", p.stdout, re.M)


def test_models_option_is_no_grade(tmp_path):
    d = student(tmp_path, (BANK / "starter.c").read_text())
    p = check(2, d, "--models", "actor")
    # Only cells-atomic runs on actor; the token check is skipped there.
    assert "tokens-no-deadlock" not in p.stdout
    assert "not a grade" in p.stdout


@pytest.mark.parametrize("args, words", [
    (["lab", "show", "99"], "no lab 99"),
    (["lab", "check", "x"], "not a lab number"),
    (["lab", "frob"], "unknown subcommand"),
    (["lab", "check", "2", "/nonexistent/folder"], "no folder"),
    (["lab", "check", "2", "/tmp", "--models", "nosuch"], "no model"),
    (["lab", "check", "2", "/tmp", "--bogus"], "unknown or incomplete"),
    (["lab", "start", "2"], "usage"),
])
def test_bad_input_is_exit_2(args, words):
    p = run_cb(*args)
    assert p.returncode == 2, p.stdout + p.stderr
    assert words in p.stderr


def test_missing_file_and_start_keeps_work(tmp_path):
    p = check(2, tmp_path)
    assert p.returncode == 2 and "no lab_bank.c" in p.stderr
    run_cb("lab", "start", 2, tmp_path, check=0)
    (tmp_path / "lab_bank.c").write_text("mine")
    p = run_cb("lab", "start", 2, tmp_path)
    assert p.returncode == 2 and "exists" in p.stderr
    assert (tmp_path / "lab_bank.c").read_text() == "mine"


def test_list_and_show():
    p = run_cb("lab", "list", check=0)
    for lab in LABS:
        assert re.search(rf"^\s*{int(lab.name[:2])}\s+{lab.name[3:]}\s",
                         p.stdout, re.M), p.stdout
    p = run_cb("lab", "show", 2, check=0)
    assert "## Questions" in p.stdout and "tokens-no-deadlock" in p.stdout


def test_collect_keeps_machines_apart(tmp_path):
    """Two students' folders, one of them from another machine
    (fingerprint), a third with the same fingerprint as the first: three
    machines, never one statistic over two of them."""
    import csv
    import json
    for who in ("alice", "bob", "carol"):
        run_cb("matrix", "-m", "threads", "-w", "ping-pong", "--quick",
               "--reps", "2", "--quiet", "-o", tmp_path / who,
               timeout=300, check=0)
    m = tmp_path / "bob" / "machine.json"
    d = json.loads(m.read_text())
    d["fingerprint"] = "another machine"
    m.write_text(json.dumps(d))
    p = run_cb("lab", "collect", tmp_path / "alice", tmp_path / "bob",
               tmp_path / "carol", "-o", tmp_path / "class", check=0)
    assert "6 runs from 3 folders (2 machine fingerprints)" in p.stdout
    with open(tmp_path / "class" / "summary.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["metric"] == "elapsed_ns"]
    assert sorted(r["machine"] for r in rows) == ["alice", "bob", "carol"]
    assert all(r["n"] == "2" for r in rows)
    runs = [json.loads(line) for line in
            (tmp_path / "class" / "runs.jsonl").read_text().splitlines()]
    fps = {r["params"]["machine"]: r["machine_fingerprint"] for r in runs}
    assert fps["bob"] == "another machine" != fps["alice"] == fps["carol"]
    machines = json.loads((tmp_path / "class" / "machine.json").read_text())
    assert set(machines["machines"]) == {"alice", "bob", "carol"}
    assert machines["fingerprint"].startswith("collected")
    # The same name twice, an existing result, a folder without results.
    p = run_cb("lab", "collect", tmp_path / "alice", f"{tmp_path}/alice/",
               "-o", tmp_path / "x")
    assert p.returncode == 2 and "rename one" in p.stderr
    p = run_cb("lab", "collect", tmp_path / "alice", "-o",
               tmp_path / "class")
    assert p.returncode == 2 and "already holds results" in p.stderr
    p = run_cb("lab", "collect", tmp_path / "nothing", "-o", tmp_path / "y")
    assert p.returncode == 2 and "nothing" in p.stderr


CLUSTER = ROOT / "labs" / "07-cluster-handoff"


def test_real_system_lab_without_the_system_is_unsupported(tmp_path):
    """With no erl in PATH (bash and dirname only, what peers/beam/run
    needs to say so), lab 7 judges nothing: exit 4 with the install
    hint, not a zero score."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "dirname"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    run_cb("lab", "start", 7, tmp_path / "s", check=0)
    env = dict(os.environ, PATH=str(bin_dir))
    p = subprocess.run([str(ROOT / "peers" / "beam" / "run"), "--check"],
                       capture_output=True, text=True, env=env)
    assert p.returncode == 1 and "erl" in p.stdout
    from conftest import CONCBENCH
    p = subprocess.run([str(CONCBENCH), "lab", "check", "7",
                        str(tmp_path / "s")], capture_output=True,
                       text=True, env=env, timeout=int(scaled(60)))
    assert p.returncode == 4, p.stdout + p.stderr
    assert "not installed" in p.stdout and "scripts/deps.sh" in p.stdout
    assert "score: nothing judged" in p.stdout
    assert not (tmp_path / "s" / ".lab-build" / "student").exists()


def test_real_system_lab_compile_error_scores_zero(tmp_path):
    skip_unless_installed(CLUSTER)
    d = tmp_path / "s"
    d.mkdir()
    text = (CLUSTER / "solution" / "concbench_handoff.erl").read_text()
    (d / "concbench_handoff.erl").write_text(
        text.replace("Best.\n", "Best\n", 1))
    p = check(7, d)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "does not compile (beam's compiler's words)" in p.stdout
    assert "concbench_handoff.erl:" in p.stdout, p.stdout
    assert re.search(r"^score: 0/\d+ \(it must build first\)", p.stdout,
                     re.M), p.stdout
