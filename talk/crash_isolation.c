/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Claim 11: a crashing process takes down only what is linked to it, and
 * a supervisor restarts it.
 *
 * The talk: OTP gives process linking and supervision; isolated
 * processes with their own heaps mean that a crash is one process's
 * business, and the system heals by restarting it.
 *
 * The real system: when a process exits abnormally, an exit signal goes
 * to every process linked to it, which then exits too unless it traps
 * exits, in which case the signal arrives as a message (the Erlang
 * reference manual, "Processes", sections Links and Receiving Exit
 * Signals, https://www.erlang.org/doc/reference_manual/processes.html);
 * nothing else is touched.  A supervisor is such a trapping process: it
 * restarts a crashed child by its restart strategy (one_for_one: only
 * that child) within a restart intensity (OTP design principles,
 * "Supervisor Behaviour",
 * https://www.erlang.org/doc/design_principles/sup_princ.html).  The JVM
 * has no links: an uncaught exception ends that thread only, and nothing
 * restarts it unless the program does (Thread.UncaughtExceptionHandler);
 * a core.async go block's exception goes to the uncaught-exception
 * handler and the go block is gone.
 *
 * The experiment: `supervision`, 4 workers (--quick; 8 at full size)
 * doing 1 us operations, each crashing after an operation with
 * probability 2,000 per million at --quick (1,000 at full size), so a
 * worker lives about half a millisecond of work to a millisecond.  On
 * `actor` and the real `beam` (where installed) the workers are a
 * one_for_one supervisor's children; on `csp` (core.async) and `threads`
 * (JVM platform threads) they are plain tasks.
 *
 * The rule: on actor (and beam when it ran) every run survived
 * (`survived`, 0 or 1 per run, has the interval of its median at 1) and
 * at least one crash was restarted; on csp and threads no worker was
 * restarted and at most half the workers were alive at the end (with a
 * crash every ~500 operations and 100,000s of operations in the window,
 * all of them die; half is generous).  These are counts of what
 * happened, not times: the only way for noise to matter is a machine so
 * busy that a worker does fewer than a few hundred operations in the
 * whole window, which would show as csp and threads keeping workers
 * (does not hold here, with the counts in the figures).
 */
#include "runner/talk.h"

#include <stdio.h>

static void figure_of(talk_judgement_t *j, const talk_results_t *r,
                      const char *sys)
{
    talk_value_t crashes = talk_get(r, "crash", sys, NULL, "crashes");
    talk_value_t restarts = talk_get(r, "crash", sys, NULL, "restarts");
    talk_value_t alive =
        talk_get(r, "crash", sys, NULL, "workers_alive_at_end");
    char why[300];
    if (!crashes.ok || !restarts.ok || !alive.ok) {
        talk_figure(j, "%s",
                    talk_why_missing(why, sizeof why, sys,
                                     !crashes.ok    ? crashes
                                     : !restarts.ok ? restarts
                                                    : alive));
        return;
    }
    talk_figure(j,
                "%s: %.0f crashes, %.0f restarts, %.0f workers alive "
                "at the end",
                sys, crashes.median, restarts.median, alive.median);
}

static void judge(const talk_results_t *r, talk_judgement_t *j)
{
    /* Workers per run: the step's parameter at either size. */
    const double workers = talk_quick(r) ? 4 : 8;
    const char *supervised[] = {"actor", "beam"};
    const char *unlinked[] = {"csp", "threads"};
    talk_verdict_t v[8];
    size_t n = 0;
    char why[400];

    figure_of(j, r, "actor");
    figure_of(j, r, "beam");
    figure_of(j, r, "csp");
    figure_of(j, r, "threads");

    for (size_t i = 0; i < 2; i++) {
        talk_value_t survived =
            talk_get(r, "crash", supervised[i], NULL, "survived");
        talk_value_t restarts =
            talk_get(r, "crash", supervised[i], NULL, "restarts");
        if (!survived.ok && i == 1)
            continue; /* the real BEAM is optional: named in the figures */
        if (!survived.ok || !restarts.ok) {
            talk_why_missing(why, sizeof why, supervised[i],
                             survived.ok ? restarts : survived);
            talk_judge(j, TALK_CANNOT_SHOW,
                       "the supervised run gave no "
                       "figure: %s",
                       why);
            return;
        }
        v[n++] = talk_value_at_least(survived, 1);
        v[n++] = talk_value_at_least(restarts, 1);
    }
    for (size_t i = 0; i < 2; i++) {
        talk_value_t alive =
            talk_get(r, "crash", unlinked[i], NULL, "workers_alive_at_end");
        talk_value_t restarts =
            talk_get(r, "crash", unlinked[i], NULL, "restarts");
        if (!alive.ok || !restarts.ok) {
            talk_why_missing(why, sizeof why, unlinked[i],
                             alive.ok ? restarts : alive);
            talk_judge(j, TALK_CANNOT_SHOW,
                       "the unsupervised run gave no "
                       "figure: %s",
                       why);
            return;
        }
        v[n++] = talk_value_at_most(alive, workers / 2);
        v[n++] = talk_value_at_most(restarts, 0);
    }
    talk_verdict_t all = talk_all(v, n);
    switch (all) {
    case TALK_HOLDS:
        talk_judge(j, all,
                   "under a supervisor every crash was one worker's and was "
                   "restarted, and every run survived; without links or "
                   "supervisors (core.async, JVM threads) the crashed "
                   "workers stayed dead");
        break;
    case TALK_NOT_HERE:
        talk_judge(j, all,
                   "the counts disagree with the claim: a supervised run "
                   "did not survive or restarted nothing, or unsupervised "
                   "workers outlived their crashes (see the figures)");
        break;
    default:
        talk_judge(j, all,
                   "the counts vary across repetitions across the bound "
                   "(or too few repetitions for an interval)");
        break;
    }
}

const talk_check_t cb_talk_crash_isolation = {
    .id = "crash-isolation",
    .order = 11,
    .title = "a crash takes down only what is linked to it; supervisors "
             "restart it",
    .claim = "On the BEAM a crashing process takes only its linked "
             "processes with it, and a supervisor restarts the crashed "
             "child; without links and supervisors (core.async go blocks, "
             "JVM threads) a crashed worker is simply gone.",
    .rule = "supervision with workers that crash at random: on actor (and "
            "the real BEAM where installed) every run survives and crashes "
            "are restarted; on csp and threads nothing is restarted and at "
            "most half the workers are alive at the end; counts judged on "
            "the intervals of their medians.",
    .steps = {{
        .name = "crash",
        .systems = "actor,beam,csp,threads",
        .workload = "supervision",
        .params = {"workers=8", "crash_ppm=1000"},
        .quick_params = {"workers=4", "crash_ppm=2000"},
        .timeout_s = 60,
    }},
    .nsteps = 1,
    .judge = judge,
    .plots = {{
                  .kind = TALK_PLOT_BARS,
                  .step = "crash",
                  .metric = "workers_alive_at_end",
                  .title = "workers still working at the end of the run",
                  .unit = "",
              },
              {
                  .kind = TALK_PLOT_BARS,
                  .step = "crash",
                  .metric = "ops",
                  .title = "operations committed in the window: restarted "
                           "workers keep working",
                  .unit = "",
                  .log_y = true,
              }},
    .nplots = 2,
};
