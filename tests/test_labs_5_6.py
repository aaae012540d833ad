# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
"""Labs 5 and 6 as a student meets them: the starter fails where the
sheet says and with the words its checks promise, the wrong answers a
student tries first fail where they should, and the fixes pass
(tests/test_labs.py also runs every lab's starter and solution).

Only outcomes that hold by construction are asserted on any machine: a
starved pool serves no request before the window closes (0%, whatever
the load), and the seeded crashes lose the same jobs every time.  That
a fix serves as many requests as the reference is a timing shape,
judged with shape_check; sanitizer builds ask for correctness only."""
import re
import subprocess

import pytest

from conftest import ROOT, SCALE, run_cb, sanitizer_build, shape_check

STARVE = ROOT / "labs" / "05-starvation"
CRASH = ROOT / "labs" / "06-let-it-crash"


def student(tmp_path, lab, text):
    d = tmp_path / "s"
    d.mkdir()
    name = "lab_starve.c" if lab == 5 else "lab_crash.c"
    (d / name).write_text(text)
    return d


def edit(path, *pairs):
    text = path.read_text()
    for old, new in pairs:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def check(num, folder, *opts):
    return run_cb("lab", "check", num, folder, *opts, timeout=600)


def line(out, name, model=""):
    """The result line of check `name` (on `model`) with its feedback."""
    m = re.search(rf"^  (ok|FAIL|miss) +{name} +{model}.*\n(      .*\n)*",
                  out, re.M)
    assert m, f"no line for {name} {model}:\n{out}"
    return m.group(0)


# ---- lab 5 ----

REDUCE = ("        /* TODO (step 2): nothing here ever lets another task "
          "run. */\n", "        cb_reduce(1);\n")


def test_lab5_starter_starves_every_pool(tmp_path):
    d = student(tmp_path, 5, (STARVE / "starter.c").read_text())
    p = check(5, d)
    assert p.returncode == 1, p.stdout + p.stderr
    # Correct but slow: every request runs in the end.
    for name, model in [("every-request-runs", "actor"),
                        ("every-request-runs", "csp"),
                        ("blocked-pool-runs", "csp")]:
        assert line(p.stdout, name, model).startswith("  ok"), p.stdout
    for name in ("hogs-on-actor", "hogs-on-csp", "blockers-on-csp"):
        out = line(p.stdout, name)
        assert out.startswith("  FAIL") and "hint:" in out, out
        # No request ran in the window: by construction, not by timing
        # (under a sanitizer the reference may serve none either).
        assert "served_in_window_pct: yours 0," in out, out
        if not sanitizer_build():
            assert "below the 0.30 wanted" in out, out


def test_lab5_reduction_point_does_not_help_a_go_pool(tmp_path):
    """Step 2's fix alone: core.async never preempts, so csp's hogs still
    hold both pool threads."""
    d = student(tmp_path, 5, edit(STARVE / "starter.c", REDUCE))
    p = check(5, d, "--models", "csp")
    assert p.returncode == 1 and "not a grade" in p.stdout, p.stdout
    out = line(p.stdout, "hogs-on-csp")
    assert "served_in_window_pct: yours 0," in out, out


DIRTY = (REDUCE[0], "")
DIRTY_CALLS = (
    "static void hog_main(void *arg)\n{\n    slot_t *s = arg;\n"
    "    uint64_t x = (uint64_t)s->idx + 1;\n    int64_t units = 0;\n",
    "static void crunch_1ms(void *arg)\n{\n    slot_t *s = arg;\n"
    "    int64_t stop = cb_now_ns() + 1000000;\n"
    "    while (cb_now_ns() < stop)\n"
    "        for (int i = 0; i < 64; i++)\n"
    "            s->checksum = crunch(s->checksum), s->units++;\n}\n\n"
    "static void hog_main(void *arg)\n{\n    slot_t *s = arg;\n"
    "    while (cb_now_ns() < s->srv->end_ns)\n"
    "        cb_native_call(crunch_1ms, s, NATIVE_FLAGS);\n"
    "    cb_send(s->srv->done, cb_int(s->idx));\n}\n\n"
    "__attribute__((unused)) static void old_hog(void *arg)\n{\n"
    "    slot_t *s = arg;\n"
    "    uint64_t x = (uint64_t)s->idx + 1;\n    int64_t units = 0;\n")


@pytest.mark.parametrize("flags", ["CB_NATIVE_DIRTY_CPU", "0"])
def test_lab5_native_calls_on_actor(tmp_path, flags):
    """Step 5: hogs that crunch in 1 ms native calls.  Plain NIFs are one
    reduction each, so the budget is 4 s of them and the schedulers stay
    held (0% by construction); dirty ones leave the normal schedulers
    free (a timing shape)."""
    text = edit(STARVE / "starter.c", DIRTY, DIRTY_CALLS)
    d = student(tmp_path, 5, f"#define NATIVE_FLAGS {flags}\n" + text)

    def measure():
        return check(5, d, "--models", "actor")

    def judge(p):
        assert "correctness first" not in p.stdout, p.stdout
        out = line(p.stdout, "hogs-on-actor")
        if flags == "0":
            assert "served_in_window_pct: yours 0," in out, out
            return None
        return None if out.startswith("  ok") else out

    if sanitizer_build():
        p = measure()
        assert "correctness first" not in p.stdout, p.stdout
        return
    shape_check(measure, judge, tries=2)


# ---- lab 6 ----

TRAP = ("    /* TODO (step 2): nothing here hears of a worker's death. */\n"
        "    d->supervised = false;\n",
        "    rc = cb_trap_exit(d->inbox);\n"
        "    d->supervised = rc == 0;\n")
LINK = ("    /* TODO (step 3): the worker's death concerns no one. */\n"
        "    rc = cb_spawn(worker_main, w, NULL, &w->task);",
        "    cb_spawn_opts_t o = {.link = d->supervised};\n"
        "    rc = cb_spawn(worker_main, w, &o, &w->task);")
RESTART_ONLY = (
    "    (void)pid, (void)reason;\n    return 0;\n",
    "    worker_t *w = worker_of(d, pid);\n"
    "    if (!w || reason == d->a_normal)\n        return 0;\n"
    "    cb_join(w->task);\n    cb_port_free(w->port);\n"
    "    d->restarts++;\n    return start_worker(d, w);\n")


def test_lab6_starter_names_the_jobs_lost(tmp_path):
    d = student(tmp_path, 6, (CRASH / "starter.c").read_text())
    p = check(6, d)
    assert p.returncode == 1, p.stdout + p.stderr
    assert re.search(r"^score: 0/\d+ \(correctness first", p.stdout, re.M)
    for model in ("actor", "csp", "threads"):
        assert line(p.stdout, "no-crash-no-loss", model).startswith("  ok")
    out = line(p.stdout, "every-job-done", "actor")
    # The seed fixes which attempts crash: the 4 workers die at the 49th
    # job handed out, and the other 151 are never handed out.
    assert "lost 155 of 200 jobs: 4 workers crashed" in out, out
    assert "151 jobs were never handed out" in out, out
    assert "cb_trap_exit" in out, out


def test_lab6_trap_without_requeue_still_loses_the_jobs(tmp_path):
    """Restarting workers is half of it: the job a worker held dies with
    it unless the dispatcher queues it again."""
    d = student(tmp_path, 6, edit(CRASH / "starter.c", TRAP, LINK,
                                   RESTART_ONLY))
    p = check(6, d, "--models", "actor")
    assert p.returncode == 1, p.stdout
    out = line(p.stdout, "every-job-done", "actor")
    assert re.search(r"lost \d+ of 200 jobs: \d+ workers crashed and were "
                     r"restarted \d+ times, but the jobs never came back: "
                     r"a dead worker's job must be queued again", out), out


def test_lab6_solution_on_models_without_links(tmp_path):
    """The reference solution, as the sheet's step 5 runs it: actor's
    supervisor saves every job; csp (core.async) and threads (the JVM)
    lose the same 155; csp with crash=panic (Go) ends the program."""
    d = student(tmp_path, 6, (CRASH / "solution" / "lab_crash.c")
                .read_text())
    p = check(6, d)
    assert p.returncode == 0, p.stdout + p.stderr
    assert re.search(r"^  ok   csp-loses-jobs +jobs_done: \[csp\] 45 / "
                     r"\[actor\] 200", p.stdout, re.M), p.stdout
    assert re.search(r"^  ok   threads-loses-jobs +jobs_done: \[threads\] "
                     r"45 / \[actor\] 200", p.stdout, re.M), p.stdout
    r = subprocess.run([str(d / ".lab-build" / "student"), "run", "-m",
                        "csp", "-w", "lab-crash", "-p", "crash=panic"],
                       capture_output=True, text=True, timeout=300 * SCALE)
    assert "panic: {crash," in r.stdout + r.stderr, r.stdout + r.stderr
    assert "outcome: crashed" in r.stdout, r.stdout
