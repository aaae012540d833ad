# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
"""Labs 3 and 4 beyond their starter and solution (which test_labs.py
runs for every lab): the mistakes the sheets expect students to make
get the feedback the sheets promise, and lab 4's run on a model without
selective receive says unsupported before it sends anything.  Each test
builds a student file with `lab check` (the runner it leaves in
.lab-build/student is then run directly, with parameters of its own)."""
import json
import re
import subprocess

from conftest import ROOT, SCALE, run_cb

LAB3 = ROOT / "labs" / "03-mailboxes"
LAB4 = ROOT / "labs" / "04-selective-receive"


def edited(lab, file, old, new):
    text = (lab / "solution" / file).read_text()
    assert old in text, old
    return text.replace(old, new, 1)


def student_run(folder, *args, timeout=120):
    """Run the student's runner; the run's JSON result."""
    out = folder / "run.json"
    p = subprocess.run([str(folder / ".lab-build" / "student"), "run",
                        *map(str, args), "--format", "json", "-o", str(out)],
                       capture_output=True, text=True,
                       timeout=timeout * SCALE)
    assert "Traceback" not in p.stderr
    return json.loads(out.read_text())


def test_lab3_grants_never_sent_is_named(tmp_path):
    """Step 3 done, step 4 not: every producer spends its credit and
    waits for grants nobody sends; the run names who waited, after how
    many messages, instead of hanging."""
    d = tmp_path / "s"
    d.mkdir()
    (d / "lab_mailbox.c").write_text(edited(
        LAB3, "lab_mailbox.c",
        "        cb_send(f->prod[p].port, cb_int(after));\n", ""))
    p = run_cb("lab", "check", 3, d, "--models", "threads", "--timeout", "2",
               timeout=300)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "never finished" in p.stdout, p.stdout
    assert re.search(r"^score: 0/", p.stdout, re.M), p.stdout
    for model in ("actor", "threads"):
        r = student_run(d, "-m", model, "-w", "lab-mailbox",
                        "-p", "msgs=1000", "-p", "stall_ms=300")
        assert r["outcome"] == "failed", r
        assert re.search(r"producer \d waited 300 ms for credit after "
                         r"sending 200", r["reason"]), r["reason"]


def test_lab3_order_broken_scores_zero(tmp_path):
    """A producer that sends its messages out of order breaks the
    invariant the lab checks first: score 0, with the message that
    arrived and the one that was next."""
    d = tmp_path / "s"
    d.mkdir()
    (d / "lab_mailbox.c").write_text(edited(
        LAB3, "lab_mailbox.c", "cb_tuple2(cb_int(p->idx), cb_int(seq))",
        "cb_tuple2(cb_int(p->idx), cb_int(seq ^ 1))"))
    p = run_cb("lab", "check", 3, d, "--models", "csp", timeout=300)
    assert p.returncode == 1, p.stdout + p.stderr
    assert re.search(r"the invariant broke on csp: message 1 of producer "
                     r"\d arrived when 0 was next", p.stdout), p.stdout
    assert "correctness first" in p.stdout


def test_lab4_unsupported_without_selective_receive(tmp_path):
    """Lab 4 applies to actor only; every other model reports the run
    unsupported, pointing to the model's own reason, and `describe`
    gives that reason."""
    d = tmp_path / "s"
    d.mkdir()
    (d / "lab_receive.c").write_text(
        (LAB4 / "solution" / "lab_receive.c").read_text())
    # No check of lab 4 runs on csp: this only builds the runner.
    p = run_cb("lab", "check", 4, d, "--models", "csp", timeout=300)
    assert "ok   build" in p.stdout, p.stdout
    for model in ("csp", "locks", "stm", "threads"):
        r = student_run(d, "-m", model, "-w", "lab-receive", "--quick")
        assert r["outcome"] == "unsupported", r
        assert "selective receive" in r["reason"], r["reason"]
        assert "concbench describe" in r["reason"], r["reason"]
        desc = run_cb("describe", model, check=0).stdout
        assert re.search(r"recv_match\s+\S.*selective receive", desc), desc
    r = student_run(d, "-m", "actor", "-w", "lab-receive", "--quick")
    assert r["outcome"] == "ok", r


def test_lab4_a_mark_after_the_reply_is_named(tmp_path):
    """The trick skips what was queued before the mark, so a mark made
    after the request (question 3 of the sheet) misses a reply that came
    first.  Waiting for the server before marking makes that certain:
    the run says what to look at instead of hanging."""
    d = tmp_path / "s"
    d.mkdir()
    text = edited(LAB4, "lab_receive.c", ".ref = cb_recv_mark(c->me)}",
                  ".ref = cb_make_ref()}")
    text = text.replace(
        "    return cb_recv_match_ref(c->me, w.ref,",
        "    cb_sleep(200000000); /* the server replies meanwhile */\n"
        "    cb_term_t mark = cb_recv_mark(c->me);\n"
        "    return cb_recv_match_ref(c->me, mark,", 1)
    assert "cb_term_t mark" in text
    (d / "lab_receive.c").write_text(text)
    p = run_cb("lab", "check", 4, d, "--models", "csp", timeout=300)
    assert "ok   build" in p.stdout, p.stdout
    r = student_run(d, "-m", "actor", "-w", "lab-receive",
                    "-p", "requests=3", "-p", "stall_ms=300")
    assert r["outcome"] == "failed", r
    assert "queued before the receive's mark" in r["reason"], r["reason"]
