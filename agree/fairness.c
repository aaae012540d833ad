/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Agreement: how evenly many CPU hogs share the CPUs (Jain's index over
 * the hogs' progress): high on actor and the BEAM, low on csp,
 * core.async and Go.
 *
 * The real systems:
 *   - BEAM: every process is preempted after its reduction budget
 *     (CONTEXT_REDS, 4000: erts/emulator/beam/erl_vm.h) and goes to the
 *     back of its scheduler's run queue, so the processes of one run
 *     queue take turns.  Run queues are balanced against each other only
 *     every 2000 x CONTEXT_REDS reductions per scheduler
 *     (ERTS_RUNQ_CHECK_BALANCE_REDS_PER_SCHED, erts/emulator/beam/
 *     erl_process.c); between checks, only an idle scheduler steals.
 *   - core.async: go blocks are never preempted; a fixed pool of 8
 *     threads (clojure/core/async/impl/exec/threadpool.clj) runs the
 *     first 8 hogs to the end, the rest never start: Jain = 8 / hogs.
 *   - Go: asynchronous preemption (Go 1.14, runtime/preempt.go) stops a
 *     goroutine that ran more than 10 ms (forcePreemptNS, runtime/proc.go's
 *     sysmon), so each of GOMAXPROCS Ps gives ~100 slices a second: over
 *     more hogs than that, most get none in a 1 s window.
 *   - the csp model (default preempt=none) is core.async's pool.
 *
 * The experiment: cpu-crunch on 2 PUs with 1,000 hogs in a 1 s window at
 * --quick (10,000 in 2 s at full size, the figure: BEAM 0.987,
 * Go 0.03, core.async 0.0008 in November).
 *
 * The rule: actor's and beam's index at least 0.3 (as if 30% of the hogs
 * had equal shares and the rest none), csp's, core.async's and go's at
 * most 0.1.  The pools give 8/1000 = 0.008 and Go 0.02-0.06 here, 2x or
 * more under the bound; the actor model 0.93-0.97 on a quiet machine and
 * down to 0.5-0.77 while other work kept the 2 CPUs busy (a load average
 * of 30): 0.3 keeps it on the sharing side of the bound under such load.
 *
 * What this machine showed (the reason this check may say "differ" on a
 * small shared machine): the real BEAM's hogs here are bignum arithmetic
 * (the C workload's 64-bit mixing exceeds the BEAM's 60-bit small
 * integers), ~7 us a unit and ~29 reductions, so a slice is ~1 ms; over
 * 200 hogs, erl +S 1:1 gave Jain 0.96 (one run queue, strict turns), but
 * +S 2:2 gave 0.01-0.3, in a 1 s or a 4 s window, because one scheduler's
 * queue kept a few hogs and the other most of them (its hogs each got a
 * larger share); the balancing check above comes only every 8 million
 * reductions per scheduler, about 2 s of this work.  The actor model
 * steals and migrates eagerly, so it keeps ~0.93: the model is fairer
 * than the BEAM it stands for across two schedulers, and this check is
 * where that shows.
 */
#include "agree/agree.h"

static const struct {
    const char *system;
    bool fair;
} sides[] = {
    {"actor", true}, {"beam", true}, {"csp", false},
    {"core.async", false}, {"go", false},
};
#define NSIDES (sizeof sides / sizeof sides[0])

static void judge(const talk_results_t *r, talk_judgement_t *j)
{
    agree_side_t s[NSIDES];
    for (size_t i = 0; i < NSIDES; i++) {
        const char *sys = sides[i].system;
        talk_value_t v = talk_get(r, "crunch", sys, NULL, "fairness_jain");
        if (agree_any_missing(&s[i], sys, &v, 1))
            continue;
        s[i].system = sys;
        s[i].verdict = sides[i].fair ? talk_value_at_least(v, 0.3)
                                     : talk_value_at_most(v, 0.1);
        snprintf(s[i].text, sizeof s[i].text, "%s Jain %.3g [%.3g, %.3g]",
                 sys, v.median, v.lo, v.hi);
    }
    agree_conclude(j, s, NSIDES,
                   "the expected sharing (Jain >= 0.3 on actor and beam, "
                   "<= 0.1 on csp, core.async and go)");
}

const talk_check_t cb_agree_fairness = {
    .id = "fairness",
    .order = 3,
    .title = "Jain's index over many hogs: preemptive actor/BEAM share, "
             "csp/core.async/Go pools do not",
    .claim = "Reduction-budget preemption gives each of many spinning "
             "processes a fair share (BEAM, actor model); go blocks on a "
             "fixed pool without preemption (core.async, csp) let a few "
             "hogs keep the threads, and Go's 10 ms slices reach only some "
             "of many hogs in a short window.",
    .rule = "Jain's index over 1,000 hogs (--quick; 10,000 at full size) "
            "on 2 PUs: at least 0.3 on actor and beam, at most 0.1 on csp, "
            "core.async and go; agree when all five hold.",
    .steps = {{
        .name = "crunch",
        .systems = "actor,beam,csp,core.async,go",
        .workload = "cpu-crunch",
        .params = {"hogs=10000", "probes=1", "duration_ms=2000"},
        .quick_params = {"hogs=1000", "probes=1", "duration_ms=1000"},
        .reps = 3,
        .quick_reps = 3,
        .timeout_s = 120,
    }},
    .nsteps = 1,
    .judge = judge,
    .plots = {{
        .kind = TALK_PLOT_BARS,
        .step = "crunch",
        .metric = "fairness_jain",
        .x = NULL,
        .title = "Jain's index over the hogs' progress (1 = equal shares)",
        .unit = "",
        .log_y = true,
    }},
    .nplots = 1,
};
