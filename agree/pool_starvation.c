/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Agreement: go blocks that compute without parking starve the pool, on
 * the csp model and on the real core.async.
 *
 * The real system: core.async runs go blocks on one fixed pool of
 * clojure.core.async.pool-size threads (default 8, whatever the CPU
 * count: clojure/core/async/impl/exec/threadpool.clj), and a go block is
 * a state machine that gives its thread back only where it parks, at a
 * channel operation (<!, >!, alts!: clojure/core/async/impl/ioc_macros.clj);
 * nothing preempts it.  The `go` docstring says so: go blocks should not
 * perform operations that may block indefinitely, since they run on a
 * fixed-size pool.  With more hogs than threads, a probe parked on
 * (timeout 1) is ready on time but waits for a thread until a hog
 * finishes, i.e. until the window closes.  The csp model's pool has the
 * same rule (models/csp, preempt=none by default).
 *
 * The experiment: cpu-crunch on 2 PUs, pool=2 on both, 4 hogs beside one
 * probe, a 1 s window at --quick (2 s at full size).
 *
 * The rule, on each system by itself: the probe's p99 lateness is at
 * least half of the run's window (elapsed_ns).  A starved probe waits for
 * the hogs' end: ~0.95-1.0 of the window (measured here: csp 0.94-1.0,
 * core.async 0.96 of a 0.3 s window); a preemptive scheduler serves it
 * within a few slices, a few hundredths (agree/probe_lateness.c).  Half
 * leaves a factor of ~2 on the starving side, and a factor of 10 or more
 * on the served side: a busy machine delays a served probe by ms, not by
 * half a window.
 */
#include "agree/agree.h"

static const char *const sides[] = {"csp", "core.async"};

static void judge(const talk_results_t *r, talk_judgement_t *j)
{
    agree_side_t s[2];
    for (size_t i = 0; i < 2; i++) {
        const char *sys = sides[i];
        talk_value_t v[2] = {
            talk_get(r, "crunch", sys, "hogs=4", "lateness_ns.p99"),
            talk_get(r, "crunch", sys, "hogs=4", "elapsed_ns"),
        };
        if (agree_any_missing(&s[i], sys, v, 2))
            continue;
        double frac = 0;
        char late[32], win[32];
        s[i].system = sys;
        s[i].verdict = talk_ratio_at_least(v[0], v[1], 0.5, &frac);
        snprintf(s[i].text, sizeof s[i].text,
                 "%s pool=2: probe p99 %s with 4 hogs in a %s window = "
                 "%.2f of it",
                 sys, talk_fmt(late, sizeof late, v[0].median, "ns"),
                 talk_fmt(win, sizeof win, v[1].median, "ns"), frac);
    }
    agree_conclude(j, s, 2,
                   "a probe starved by 4 hogs on a pool of 2 (p99 at least "
                   "half the window)");
}

const talk_check_t cb_agree_pool_starvation = {
    .id = "pool-starvation",
    .order = 2,
    .title = "pool starvation: csp and core.async with pool=2 both starve "
             "a probe behind 4 hogs",
    .claim = "core.async's go blocks run on a fixed pool and are never "
             "preempted, so hogs that outnumber the pool's threads keep "
             "them and a parked probe waits until they stop; the csp model "
             "must starve the same way.",
    .rule = "On each of csp and core.async with pool=2, the probe's p99 "
            "lateness with 4 hogs on 2 PUs is at least 0.5 of the run's "
            "window; agree when both hold.",
    .steps = {{
        .name = "crunch",
        .systems = "csp,core.async",
        .workload = "cpu-crunch",
        .params = {"hogs=4", "probes=1", "pool=2", "duration_ms=2000"},
        .quick_params = {"hogs=4", "probes=1", "pool=2", "duration_ms=1000"},
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
        .x = NULL,
        .title = "probe p99 lateness with 4 hogs on a pool of 2",
        .unit = "ns",
        .log_y = false,
    }},
    .nplots = 1,
};
