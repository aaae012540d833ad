/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Claim 4: native code that never yields blocks its scheduler; dirty
 * schedulers fix it.
 *
 * The talk: for sustained number crunching one leaves the BEAM for
 * native code (NIFs) or ports; native functions are outside preemptive
 * scheduling, so one that runs long can block, and the cure is to run
 * them on the dirty schedulers.
 *
 * The real system: a NIF runs on the scheduler thread of the process
 * that calls it and is charged as one function call; the VM cannot
 * preempt it, so erl_nif's "Long-running NIFs" section asks a NIF to
 * return within about a millisecond, and a NIF that cannot is to be
 * flagged ERL_NIF_DIRTY_JOB_CPU_BOUND, which runs it on one of the dirty
 * CPU schedulers, a separate set of threads (by default one per normal
 * scheduler), leaving the normal schedulers to every other process
 * (erts/doc/references/erl_nif.md, "Long-running NIFs" and "Dirty NIFs";
 * https://www.erlang.org/doc/man/erl_nif.html#lengthy_work).
 *
 * The experiment: `cpu-crunch` on `actor`, 4 hogs (twice the schedulers
 * of a 2-core machine, so every scheduler holds one) beside a probe that
 * sleeps 1 ms at a time, with the hogs' work done three ways: nif=none
 * (reduction points after each unit: the ordinary BEAM process),
 * nif=plain (native calls of 10 ms, no reduction point inside, one
 * reduction each, so a slice of 4,000 reductions is 40 s of native code)
 * and nif=dirty (the same calls flagged dirty CPU-bound, run on the
 * model's dirty CPU schedulers).  With plain calls the probe's scheduler
 * is never free within the window and the probe's wake-up is late by
 * about the whole window; with dirty calls the probe is served as with
 * none.  The real BEAM is not part of it: the real-system programs have
 * no NIF of their own (loading one needs a C build against erl_nif.h).
 *
 * The rule: the probe's median lateness with plain calls is at least 10x
 * that with none (the scheduler is blocked) and at least 10x that with
 * dirty calls (dirty schedulers fix it), both on the end-to-end interval
 * of the ratio.  Blocked lateness is the window (300 ms at --quick, 2 s
 * at full size) against a fraction of a millisecond unblocked, three
 * orders of magnitude apart, so a bound of 10 leaves room for a machine
 * whose other load makes the unblocked probe 30 times later than on a
 * quiet one.  The median, not p99: p99 of a few hundred wake-ups on a
 * shared 2-core machine is one neighbour's time slice, and the claim is
 * about the probe's ordinary wake-up.
 */
#include "runner/talk.h"

#include <stdio.h>

static void judge(const talk_results_t *r, talk_judgement_t *j)
{
    const char *m = "lateness_ns.p50";
    talk_value_t none = talk_get(r, "crunch", "actor", "nif=none", m);
    talk_value_t plain = talk_get(r, "crunch", "actor", "nif=plain", m);
    talk_value_t dirty = talk_get(r, "crunch", "actor", "nif=dirty", m);
    char a[32], b[32], c[32], why[300];
    talk_figure(j, "probe median lateness, nif=none: %s [%s .. %s]",
                talk_fmt(a, sizeof a, none.median, "ns"),
                talk_fmt(b, sizeof b, none.lo, "ns"),
                talk_fmt(c, sizeof c, none.hi, "ns"));
    talk_figure(j, "nif=plain (10 ms native calls): %s [%s .. %s]",
                talk_fmt(a, sizeof a, plain.median, "ns"),
                talk_fmt(b, sizeof b, plain.lo, "ns"),
                talk_fmt(c, sizeof c, plain.hi, "ns"));
    talk_figure(j, "nif=dirty (the same calls, dirty CPU): %s [%s .. %s]",
                talk_fmt(a, sizeof a, dirty.median, "ns"),
                talk_fmt(b, sizeof b, dirty.lo, "ns"),
                talk_fmt(c, sizeof c, dirty.hi, "ns"));
    const struct {
        const char *name;
        talk_value_t v;
    } cells[] = {{"nif=none", none}, {"nif=plain", plain}, {"nif=dirty", dirty}};
    for (size_t i = 0; i < 3; i++)
        if (!cells[i].v.ok) {
            talk_why_missing(why, sizeof why, "actor", cells[i].v);
            talk_judge(j, TALK_CANNOT_SHOW, "the %s cell gave no figure: %s",
                       cells[i].name, why);
            return;
        }
    double blocked, fixed;
    talk_verdict_t v[2] = {
        talk_ratio_at_least(plain, none, 10, &blocked),
        talk_ratio_at_least(plain, dirty, 10, &fixed),
    };
    talk_verdict_t all = talk_all(v, 2);
    switch (all) {
    case TALK_HOLDS:
        talk_judge(j, all,
                   "plain native calls made the probe %.0fx later than "
                   "ordinary processes (its scheduler was held), and the "
                   "same calls on dirty schedulers %.0fx less late than "
                   "plain ones",
                   blocked, fixed);
        break;
    case TALK_NOT_HERE:
        talk_judge(j, all,
                   v[0] == TALK_NOT_HERE
                       ? "plain native calls did not hold up the probe: "
                         "%.1fx the lateness of ordinary processes (bound "
                         "10x), fixed by dirty schedulers %.1fx"
                       : "plain native calls held up the probe %.1fx, but "
                         "dirty schedulers did not relieve it: plain is only "
                         "%.1fx dirty's lateness (bound 10x)",
                   blocked, fixed);
        break;
    default:
        talk_judge(j, all,
                   "the intervals straddle the bound of 10x: plain / none "
                   "%.1fx, plain / dirty %.1fx, with intervals wider than "
                   "the effect",
                   blocked, fixed);
        break;
    }
}

const talk_check_t cb_talk_nif_dirty = {
    .id = "nif-dirty",
    .order = 4,
    .title = "native code that never yields blocks its scheduler; dirty "
             "schedulers fix it",
    .claim = "A NIF runs on its caller's scheduler and cannot be preempted, "
             "so long native calls starve every other process on that "
             "scheduler; flagged dirty, the same calls run on the dirty "
             "schedulers and the normal ones stay free.",
    .rule = "cpu-crunch on actor, 4 hogs and a 1 ms probe: the probe's "
            "median lateness with plain 10 ms native calls is at least 10x "
            "that with ordinary hogs (nif=none) and at least 10x that with "
            "the calls flagged dirty, each on the whole bootstrap interval "
            "of the ratio.",
    .steps = {{
        .name = "crunch",
        .systems = "actor",
        .workload = "cpu-crunch",
        .params = {"nif=none,plain,dirty", "hogs=4"},
        .timeout_s = 60,
    }},
    .nsteps = 1,
    .judge = judge,
    .plots = {{
        .kind = TALK_PLOT_BARS,
        .step = "crunch",
        .metric = "lateness_ns.p50",
        .x = "nif",
        .title = "probe median wake-up lateness with 4 hogs: ordinary, "
                 "plain native and dirty native work",
        .unit = "ns",
        .log_y = true,
    }},
    .nplots = 1,
};
