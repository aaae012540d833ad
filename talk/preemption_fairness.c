/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Claim 2: preemption every 4,000 reductions gives each of many processes
 * a fair share, while core.async's go pool, which never preempts, lets a
 * few go blocks keep every worker and starves all the others.
 *
 * The talk: a BEAM process is put at the back of its run queue after 4,000
 * reductions (about 4,000 function calls), so with 100,000 processes none
 * takes more than its share of the CPU; a go block runs on a fixed pool
 * until it parks on a channel, so CPU-bound go blocks hold the pool.
 *
 * The real systems: the BEAM's slice is CONTEXT_REDS, 4000 reductions
 * (erts/emulator/beam/erl_vm.h); a process that uses it up is scheduled
 * out and queued behind the others at its priority.  core.async runs go
 * blocks on a fixed pool, `clojure.core.async.pool-size`, 8 threads by
 * default (src/main/clojure/clojure/core/async/impl/exec/threadpool.clj),
 * and a go block gives its thread back only when it parks on a channel
 * operation: nothing preempts one that computes.  Go preempts a goroutine
 * that runs for more than 10 ms (forcePreemptNS, src/runtime/proc.go),
 * a far longer slice than the BEAM's.
 *
 * The experiment: `cpu-crunch` with 1,000 spinning processes at --quick
 * (10,000 at full size, the talk's "many"), each doing one unit of work
 * per reduction (work=1), on `actor` (the BEAM's budget) and on `csp`
 * with pool=2 (core.async's pool sized to a 2-core machine, so both its
 * workers are taken by the first two spinners).  Jain's index over the
 * spinners' progress in the window says how equally the CPU was shared:
 * 1 when every spinner did the same work, 1/n when one did all of it.
 * A second step puts 4 hogs beside a probe that sleeps 1 ms at a time:
 * with the BEAM's budget the probe's wake-up waits at most a few slices;
 * with the go pool it waits for the window's end, as the hogs never let
 * go of the two workers.  The real BEAM, core.async (pool=2) and Go run
 * the same spinners in a third step, drawn and listed beside the models
 * but not judged here: whether each model agrees with its real system is
 * `concbench agree`'s question, and a verdict about the models must not
 * turn into "cannot be shown" on a machine without the toolchains.
 *
 * The rule: actor's Jain index over the spinners is at least 0.5 and
 * csp's (pool=2) at most 0.05, each on the whole bootstrap interval of
 * its median; and csp's probe mean lateness with 4 hogs is at least
 * 10x actor's, on the whole interval of the ratio (each repetition's
 * mean over the probe's wake-ups, then the median of those).
 * Why these bounds:
 * Jain's index is the fraction of spinners that effectively got an equal
 * share, so 0.5 means at least half of 1,000 did, while a pool of 2 that
 * never preempts gives 2/1000 = 0.002; a fair scheduler measured 0.93 to
 * 0.99 here on a loaded 2-core machine, and one slice more or less per
 * spinner moves the index by a few hundredths, so 0.5 and 0.05 each sit
 * an order of magnitude from what they separate.  The starved probe is
 * late by about the window (300 ms at --quick) against a few ms for
 * actor's, so 10x leaves room for a busy machine.  The mean, not the
 * median or p99: a starved probe wakes only once or twice in the window,
 * and one of those can fall in the instant the window opens, before the
 * hogs hold both workers (seen in one repetition of three: 9 us and
 * 300 ms, whose lower median read "on time"); the mean keeps the starved
 * wait, and over actor's few hundred wake-ups one neighbour's time slice
 * moves it by tens of microseconds, where p99 would be that slice.
 */
#include "runner/talk.h"

#include <stdio.h>

static void interval_figure(talk_judgement_t *j, const char *label,
                            talk_value_t v, const char *unit)
{
    char a[32], b[32], c[32], why[300];
    if (!v.ok) {
        talk_figure(j, "%s: %s", label,
                    talk_why_missing(why, sizeof why, label, v));
        return;
    }
    talk_figure(j, "%s: %s [%s .. %s]", label,
                talk_fmt(a, sizeof a, v.median, unit),
                talk_fmt(b, sizeof b, v.lo, unit),
                talk_fmt(c, sizeof c, v.hi, unit));
}

/* The real systems beside the models: one line, not judged. */
static void real_figure(const talk_results_t *r, talk_judgement_t *j)
{
    static const char *const systems[] = {"beam", "core.async", "go"};
    char line[200], buf[32];
    size_t len = (size_t)snprintf(line, sizeof line,
                                  "real systems, Jain over the spinners:");
    for (size_t i = 0; i < 3 && len < sizeof line; i++) {
        talk_value_t v =
            talk_get(r, "real", systems[i], NULL, "fairness_jain");
        len += (size_t)snprintf(line + len, sizeof line - len, " %s %s%s",
                                systems[i],
                                v.ok ? talk_fmt(buf, sizeof buf, v.median, "")
                                     : v.status ? v.status : "absent",
                                i < 2 ? "," : "");
    }
    talk_figure(j, "%s", line);
}

static void judge(const talk_results_t *r, talk_judgement_t *j)
{
    talk_value_t actor_jain =
        talk_get(r, "spinners", "actor", NULL, "fairness_jain");
    talk_value_t csp_jain =
        talk_get(r, "spinners", "csp", NULL, "fairness_jain");
    talk_value_t actor_late =
        talk_get(r, "hogs", "actor", NULL, "lateness_ns.mean");
    talk_value_t csp_late =
        talk_get(r, "hogs", "csp", NULL, "lateness_ns.mean");
    interval_figure(j, "actor, Jain over the spinners", actor_jain, "");
    interval_figure(j, "csp pool=2, Jain over the spinners", csp_jain, "");
    char a[32], b[32], why[300];
    if (actor_late.ok && csp_late.ok)
        talk_figure(j, "probe mean lateness with 4 hogs: actor %s, csp "
                       "pool=2 %s",
                    talk_fmt(a, sizeof a, actor_late.median, "ns"),
                    talk_fmt(b, sizeof b, csp_late.median, "ns"));
    real_figure(r, j);

    const struct {
        const char *name;
        talk_value_t v;
    } cells[] = {{"actor", actor_jain}, {"csp", csp_jain},
                 {"actor", actor_late}, {"csp", csp_late}};
    for (size_t i = 0; i < 4; i++)
        if (!cells[i].v.ok) {
            talk_why_missing(why, sizeof why, cells[i].name, cells[i].v);
            talk_judge(j, TALK_CANNOT_SHOW, "a model's cell gave no figure: %s",
                       why);
            return;
        }
    double starved;
    talk_verdict_t v[3] = {
        talk_value_at_least(actor_jain, 0.5),
        talk_value_at_most(csp_jain, 0.05),
        talk_ratio_at_least(csp_late, actor_late, 10, &starved),
    };
    talk_verdict_t all = talk_all(v, 3);
    switch (all) {
    case TALK_HOLDS:
        talk_judge(j, all,
                   "the reduction budget shared the CPU among the spinners "
                   "(Jain %.3f) while the go pool let a few keep its "
                   "workers (Jain %.4f), and its probe woke %.0fx later "
                   "than actor's",
                   actor_jain.median, csp_jain.median, starved);
        break;
    case TALK_NOT_HERE:
        talk_judge(j, all,
                   v[0] == TALK_NOT_HERE
                       ? "actor's spinners did not get fair shares: Jain "
                         "%.3f (bound 0.5; csp %.4f, probe ratio %.1fx)"
                   : v[1] == TALK_NOT_HERE
                       ? "actor Jain %.3f, but the go pool was not unfair: "
                         "Jain %.4f (bound 0.05; probe ratio %.1fx)"
                       : "actor Jain %.3f and csp Jain %.4f as claimed, but "
                         "csp's probe was only %.1fx later than actor's "
                         "(bound 10x)",
                   actor_jain.median, csp_jain.median, starved);
        break;
    default:
        talk_judge(j, all,
                   "an interval straddles its bound: actor Jain [%.3f .. "
                   "%.3f] (0.5), csp Jain [%.4f .. %.4f] (0.05), probe "
                   "ratio %.1fx [%.1f .. %.1f] (10x)",
                   actor_jain.lo, actor_jain.hi, csp_jain.lo, csp_jain.hi,
                   starved, csp_late.lo / actor_late.hi,
                   csp_late.hi / actor_late.lo);
        break;
    }
}

const talk_check_t cb_talk_preemption_fairness = {
    .id = "preemption-fairness",
    .order = 2,
    .title = "preemption every 4,000 reductions shares the CPU fairly; a go "
             "pool without preemption starves all but a few",
    .claim = "A BEAM process is scheduled out after 4,000 reductions, so "
             "however many processes spin, each gets its share and a "
             "sleeping process wakes on time; core.async's go blocks run on "
             "a fixed pool until they park, so CPU-bound go blocks keep "
             "every worker and the rest never run.",
    .rule = "cpu-crunch, 1,000 spinners (10,000 at full size, work=1): "
            "actor's Jain index at least 0.5 and csp pool=2's at most 0.05; "
            "with 4 hogs, csp pool=2's probe mean lateness at least 10x "
            "actor's; each on the whole bootstrap interval.  The real BEAM, "
            "core.async and Go are shown beside, not judged.",
    .steps = {
        {
            .name = "spinners",
            .systems = "actor,csp",
            .workload = "cpu-crunch",
            .params = {"hogs=10000", "work=1", "probes=1", "pool=2",
                       "duration_ms=1000"},
            .quick_params = {"hogs=1000", "work=1", "probes=1", "pool=2"},
            .timeout_s = 120,
        },
        {
            .name = "hogs",
            .systems = "actor,csp",
            .workload = "cpu-crunch",
            .params = {"hogs=4", "probes=1", "pool=2"},
            .timeout_s = 60,
        },
        {
            .name = "real",
            .systems = "beam,core.async,go",
            .workload = "cpu-crunch",
            .params = {"hogs=10000", "work=1", "probes=1", "pool=2",
                       "duration_ms=1000"},
            .quick_params = {"hogs=1000", "work=1", "probes=1", "pool=2"},
            /* Shown, not judged: fewer repetitions keep it short (three
             * JVM and BEAM start-ups and 10,000 tasks each). */
            .reps = 3,
            .quick_reps = 1,
            .timeout_s = 120,
        },
    },
    .nsteps = 3,
    .judge = judge,
    .plots = {
        {
            .kind = TALK_PLOT_BARS,
            .step = "spinners",
            .metric = "fairness_jain",
            .title = "Jain's index over many spinners: the reduction budget "
                     "shares, the go pool does not (1 = equal shares)",
            .unit = "",
            .log_y = true,
        },
        {
            .kind = TALK_PLOT_BARS,
            .step = "hogs",
            .metric = "lateness_ns.mean",
            .title = "a 1 ms sleeper's mean wake-up lateness beside 4 "
                     "hogs",
            .unit = "ns",
            .log_y = true,
        },
        {
            .kind = TALK_PLOT_BARS,
            .step = "real",
            .metric = "fairness_jain",
            .title = "the real systems with the same spinners (Jain's "
                     "index, not judged)",
            .unit = "",
            .log_y = true,
        },
    },
    .nplots = 3,
};
