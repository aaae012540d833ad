/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Checks with a verdict: the talk's claims (`concbench talk`, one file per
 * claim in talk/) and the agreement between a model and the real system it
 * stands for (`concbench agree`, one file per shape in agree/).  Both are
 * the same thing to the runner: a small experiment (one or more matrices),
 * a shape rule with a stated tolerance that turns its results into a
 * verdict, and the figures that tell its story.
 *
 * Layout of an output folder DIR (`talk run -o DIR`, `agree -o DIR`):
 *
 *   DIR/ID/STEP/      a results folder exactly as `concbench matrix -o`
 *                     writes it (runs.jsonl, summary.csv, ...), one per
 *                     step of check ID; rerunning resumes it
 *   DIR/verdicts.json one object {"type": "verdicts", "set": "talk"|"agree",
 *                     "quick": bool, "machine": {...}, "checks": [...]};
 *                     each check {"id", "order", "addition", "title",
 *                     "claim", "rule", "verdict" ("holds" | "does not hold
 *                     here" | "inconclusive" | "cannot be shown here"),
 *                     "why", "figures": [strings], "commands": [the exact
 *                     `concbench matrix` lines that rerun each step],
 *                     "steps": [{"name", "dir"}], "plots": [{"kind",
 *                     "step", "metric", "x", "title", "unit"}]}
 *                   and besides (runner/cmd_talk.c): top level "started",
 *                   "finished" (UTC), "elapsed_s", "concbench"; machine =
 *                   the first step's machine.json plus "systems" {name:
 *                   version of each real system the steps ran} and
 *                   "noise_warnings" [lines]; per check "label" (the
 *                   set's word: "agree"/"differ" for agreement), "notes"
 *                   [what talk_get noticed: one repetition, failed
 *                   repetitions, absent cells], "elapsed_s", and per step
 *                   "systems", "workload", "exit" (the matrix's status)
 *   DIR/ID/STEP/command  the matrix command the step holds, so that a
 *                     rerun resumes only the same command
 *
 * The report (`talk report`) reads DIR back: verdicts.json and the steps'
 * results; it never re-judges.
 *
 * A verdict is never an absolute time.  Rules compare medians measured
 * side by side in the same run, as ratios, and use the bootstrap 95%
 * intervals of those medians: a rule holds when the whole interval of the
 * ratio is on the holding side of its bound, does not hold when the whole
 * interval is on the other side, and is inconclusive when the interval
 * straddles the bound (the noise is larger than the effect).  A cell that
 * could not run (a real system not installed, a capability a model lacks)
 * makes the verdict "cannot be shown here", naming the reason.
 *
 * A check is added by adding a file: talk/NAME.c defines
 *     const talk_check_t cb_talk_NAME = { ... };
 * and agree/NAME.c defines `const talk_check_t cb_agree_NAME`; the build
 * registers every such file (generated lists, as for workloads).
 */
#ifndef CB_RUNNER_TALK_H
#define CB_RUNNER_TALK_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

typedef enum talk_verdict {
    TALK_HOLDS,
    TALK_NOT_HERE,      /* "does not hold here" */
    TALK_INCONCLUSIVE,  /* intervals overlap the bound */
    TALK_CANNOT_SHOW,   /* a needed cell cannot run on this machine */
    TALK_VERDICT_COUNT
} talk_verdict_t;

const char *talk_verdict_name(talk_verdict_t v);

#define TALK_MAX_PARAMS 8
#define TALK_MAX_STEPS 6
#define TALK_MAX_PLOTS 3

/* One matrix of an experiment, run as
 *   concbench matrix -m SYSTEMS -w WORKLOAD -p P... --reps R --timeout T
 *                    [--quick] -o DIR/ID/NAME
 * Real systems named in SYSTEMS that are not installed run as unsupported
 * cells (the matrix records why), which the judge turns into "cannot be
 * shown here" when it needs them. */
typedef struct talk_step {
    const char *name;     /* folder and label, [a-z0-9-]+ */
    const char *systems;  /* -m: models and real systems, comma-separated */
    const char *workload; /* -w: one workload */
    /* -p K=V1,V2,...: at full size, and with --quick (NULL entries end the
     * lists; a NULL quick list means the same parameters).  --quick is
     * passed to the matrix too, so unnamed parameters take the workload's
     * quick sizes. */
    const char *params[TALK_MAX_PARAMS];
    const char *quick_params[TALK_MAX_PARAMS];
    int reps;         /* measured repetitions per cell; 0: 5 */
    int quick_reps;   /* with --quick; 0: 3 */
    double timeout_s; /* per repetition; 0: 120 (scaled as the runner's) */
} talk_step_t;

/* A figure drawn from one step's results (what `plot` can draw). */
typedef enum talk_plot_kind {
    TALK_PLOT_BARS,   /* median and interval of METRIC per cell, grouped
                         by X (a parameter) when X is set */
    TALK_PLOT_XY,     /* METRIC against the parameter X, a line per system */
    TALK_PLOT_CDF,    /* the distribution of a histogram METRIC per cell */
    TALK_PLOT_SERIES, /* a time series METRIC per cell */
} talk_plot_kind_t;

typedef struct talk_plot {
    talk_plot_kind_t kind;
    const char *step;
    const char *metric; /* as in summary.csv: lateness_ns.p99, fairness_jain */
    const char *x;      /* parameter name, or NULL */
    const char *title;  /* what the data shows, in words */
    const char *unit;   /* "ns" (drawn as µs/ms/s), "B" (KiB/MiB), "" */
    bool log_y;
} talk_plot_t;

/* One value of the results: the median over a cell's successful measured
 * repetitions of a metric, with the bootstrap 95% interval. */
typedef struct talk_value {
    bool ok;            /* false: the cell did not run or lacks the metric */
    const char *status; /* when !ok: the cell's outcome ("unsupported",
                           "crashed", "timeout", ...) or "absent" */
    const char *reason; /* when !ok and known: the reason recorded */
    double median, lo, hi;
    size_t n;
} talk_value_t;

typedef struct talk_results talk_results_t; /* a check's loaded steps */

/* The value of METRIC in step STEP for system SYSTEM, in the cell whose
 * parameters include every "k=v" of WHERE (space-separated; NULL or ""
 * for any).  Exactly one cell must match; several is a bug in the check
 * and gives !ok with status "ambiguous". */
talk_value_t talk_get(const talk_results_t *r, const char *step,
                      const char *system, const char *where,
                      const char *metric);
/* How many measured repetitions of the cell talk_get would pick had
 * OUTCOME ("ok", "failed", "timeout", "crashed", "unsupported", ... as
 * cells.csv names them); *measured (may be NULL) gets all its measured
 * repetitions, *reason (may be NULL) the first failure's reason or NULL.
 * -1 when no single cell matches or OUTCOME is no outcome's name.  For
 * judges of outcomes: a deadlock in some repetitions, not all. */
int talk_count(const talk_results_t *r, const char *step, const char *system,
               const char *where, const char *outcome, int *measured,
               const char **reason);
/* Whether --quick sizes were used (rules may loosen their tolerance). */
bool talk_quick(const talk_results_t *r);

/* What a judge fills in. */
typedef struct talk_judgement {
    talk_verdict_t verdict;
    char why[600];        /* one sentence: why this verdict */
    char figures[4][200]; /* the two or three figures behind it */
    size_t nfigures;
} talk_judgement_t;

/* Rule helpers.  Each returns the verdict of its own rule; ratio (may be
 * NULL) gets the ratio of the medians.  A !ok value gives CANNOT_SHOW. */
/* a / b <= bound (e.g. "within 2x of"). */
talk_verdict_t talk_ratio_at_most(talk_value_t a, talk_value_t b,
                                  double bound, double *ratio);
/* a / b >= bound (e.g. "at least 10x worse"). */
talk_verdict_t talk_ratio_at_least(talk_value_t a, talk_value_t b,
                                   double bound, double *ratio);
/* a <= bound / a >= bound for dimensionless figures (Jain's index, a
 * fraction of rounds), judged on a's interval the same way. */
talk_verdict_t talk_value_at_most(talk_value_t a, double bound);
talk_verdict_t talk_value_at_least(talk_value_t a, double bound);
/* All of them: CANNOT_SHOW if any is, else NOT_HERE if any is, else
 * INCONCLUSIVE if any is, else HOLDS. */
talk_verdict_t talk_all(const talk_verdict_t *v, size_t n);

/* Set the verdict and its sentence; add one figure line. */
__attribute__((format(printf, 3, 4))) void
talk_judge(talk_judgement_t *j, talk_verdict_t v, const char *fmt, ...);
__attribute__((format(printf, 2, 3))) void
talk_figure(talk_judgement_t *j, const char *fmt, ...);
/* A value in units people read: "1.3 ms", "2.7 KiB", "0.987". */
const char *talk_fmt(char *buf, size_t len, double v, const char *unit);
/* The sentence for a value that is not ok: "beam: unsupported (erlang not
 * installed; scripts/deps.sh installs it)". */
const char *talk_why_missing(char *buf, size_t len, const char *system,
                             talk_value_t v);

typedef struct talk_check {
    const char *id;      /* on the command line: [a-z0-9-]+, unique */
    int order;           /* position in the talk (1..11); additions after */
    bool addition;       /* not in the talk: ours */
    const char *title;   /* one line */
    const char *claim;   /* the talk's point in our words (and slide) */
    const char *rule;    /* the shape rule and its tolerance, in words */
    talk_step_t steps[TALK_MAX_STEPS];
    size_t nsteps;
    void (*judge)(const talk_results_t *r, talk_judgement_t *out);
    talk_plot_t plots[TALK_MAX_PLOTS];
    size_t nplots;
} talk_check_t;

/* The registered checks of each set, in order. */
size_t talk_claim_count(void);
const talk_check_t *talk_claim_at(size_t i);
size_t talk_agree_count(void);
const talk_check_t *talk_agree_at(size_t i);

/* For the tests of the rules: results made from synthetic samples.  A
 * talk_results_t built this way answers talk_get for the cells added. */
talk_results_t *talk_results_synthetic(bool quick);
void talk_results_add(talk_results_t *r, const char *step, const char *system,
                      const char *where, const char *metric,
                      const double *values, size_t n);
void talk_results_add_missing(talk_results_t *r, const char *step,
                              const char *system, const char *where,
                              const char *status, const char *reason);
/* N measured repetitions of the cell with a non-ok OUTCOME (what a
 * results folder records for a cell that ran some repetitions to a
 * failure); the reason is kept when the cell has none yet. */
void talk_results_add_outcomes(talk_results_t *r, const char *step,
                               const char *system, const char *where,
                               const char *outcome, size_t n,
                               const char *reason);
void talk_results_free(talk_results_t *r);

#endif
