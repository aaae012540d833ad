/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Agreement: a sleeping probe stays served under CPU hogs, on the actor
 * model and on the real BEAM.
 *
 * The real system: the BEAM preempts a running process when its
 * reduction budget is spent (CONTEXT_REDS, 4000 in OTP 20 and later,
 * erts/emulator/beam/erl_vm.h; the scheduler's loop in
 * erts/emulator/beam/erl_process.c puts it back at the end of its
 * priority's run queue).  A probe that sleeps in `receive after 1` is
 * woken by its timer, queued behind the hogs of its scheduler, and runs
 * once each of them has had at most one slice: its lateness is bounded by
 * a round of the run queue, whatever the hogs compute.  The actor model
 * does the same with its reduction budget (models/actor), so both keep
 * the probe's p99 a small part of the window.
 *
 * The experiment: cpu-crunch on 2 PUs, 4 hogs beside one probe (and 0
 * hogs, the quiet figure), on actor and beam, a 1 s window at --quick
 * (2 s at full size, the workload's default).
 *
 * The rule, on each system by itself: the probe's p99 lateness with 4
 * hogs is at most a quarter of the run's window (elapsed_ns), judged on
 * the interval of that ratio.  A scheduler that does not preempt (csp
 * pool=2, core.async pool=2: agree/pool_starvation.c) makes the probe
 * wait for the hogs to stop, p99 ~ 1.0 of the window; a preemptive one
 * keeps it to a few slices, a few ms of a 1 s window (~0.003-0.05 here,
 * a 2-core machine shared with other work).  A quarter sits between with
 * a margin of 4x on the starving side and 5x or more on the served side,
 * so a busy machine's extra ms do not flip the verdict.  Rejected: the
 * ratio of the p99 with hogs to the p99 without, which the talk's
 * figures suggest: both are a few ms dominated by timer granularity
 * (the BEAM's receive-after is in whole ms) and by other processes on the
 * machine, and their ratio swung 5x-15x between runs on a loaded 2-core
 * machine; it is printed as a figure, not judged.
 */
#include "agree/agree.h"

static const char *const sides[] = {"actor", "beam"};

static void judge(const talk_results_t *r, talk_judgement_t *j)
{
    agree_side_t s[2];
    for (size_t i = 0; i < 2; i++) {
        const char *sys = sides[i];
        talk_value_t v[3] = {
            talk_get(r, "crunch", sys, "hogs=4", "lateness_ns.p99"),
            talk_get(r, "crunch", sys, "hogs=4", "elapsed_ns"),
            talk_get(r, "crunch", sys, "hogs=0", "lateness_ns.p99"),
        };
        if (agree_any_missing(&s[i], sys, v, 3))
            continue;
        double frac = 0;
        char late[32], quiet[32];
        s[i].system = sys;
        s[i].verdict = talk_ratio_at_most(v[0], v[1], 0.25, &frac);
        snprintf(s[i].text, sizeof s[i].text,
                 "%s: probe p99 %s with 4 hogs = %.3f of the window "
                 "(%s without hogs, x%.1f)",
                 sys, talk_fmt(late, sizeof late, v[0].median, "ns"), frac,
                 talk_fmt(quiet, sizeof quiet, v[2].median, "ns"),
                 v[2].median > 0 ? v[0].median / v[2].median : 0.0);
    }
    agree_conclude(j, s, 2,
                   "a probe served within the window under 4 hogs on 2 PUs "
                   "(p99 at most 0.25 of it)");
}

const talk_check_t cb_agree_probe_lateness = {
    .id = "probe-lateness",
    .order = 1,
    .title = "probe lateness under CPU hogs: actor and the BEAM both stay "
             "served",
    .claim = "The BEAM's reduction budget preempts a process that computes "
             "without blocking, so a 1 ms sleeper keeps waking close to its "
             "deadline beside CPU hogs; the actor model's budget must do "
             "the same.",
    .rule = "On each of actor and beam, the probe's p99 lateness with 4 "
            "hogs on 2 PUs is at most 0.25 of the run's window (a starving "
            "pool gives ~1.0); agree when both hold.",
    .steps = {{
        .name = "crunch",
        .systems = "actor,beam",
        .workload = "cpu-crunch",
        .params = {"hogs=0,4", "probes=1", "duration_ms=2000"},
        .quick_params = {"hogs=0,4", "probes=1", "duration_ms=1000"},
        .reps = 5,
        .quick_reps = 3,
        .timeout_s = 60,
    }},
    .nsteps = 1,
    .judge = judge,
    .plots = {{
        .kind = TALK_PLOT_BARS,
        .step = "crunch",
        .metric = "lateness_ns.p99",
        .x = "hogs",
        .title = "probe p99 lateness without and with 4 hogs",
        .unit = "ns",
        .log_y = true,
    }},
    .nplots = 1,
};
