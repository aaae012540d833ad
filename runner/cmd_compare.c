/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * concbench compare BASE NEW: per cell and metric, is NEW faster, slower,
 * unchanged, or not comparable with BASE?
 *
 * The verdict for one metric of one cell:
 *   1. both sides need successful repetitions of the same cell (model,
 *      workload, every parameter) on the same machine fingerprint;
 *      otherwise "not comparable", with the reason (the fingerprint fields
 *      that differ, old -> new);
 *   2. one verdict per measurement: a metric its workload declares
 *      derived from another (ping-pong's elapsed_ns and throughput_ops_s
 *      from round_trip_ns; workloads/workload.h, cb_wl_metric_role_t) is
 *      shown, never judged nor counted in the geometric mean; so is a
 *      diagnostic, a measurement that moves with something other than
 *      the code (ping-pong's window_cpu_ns, an idle worker's spinning,
 *      moved 27-32% between two runs of one binary on a quiet machine);
 *   3. the change is the ratio of medians NEW / BASE, with a bootstrap 95%
 *      interval (stats_ratio_ci);
 *   4. it is significant when the two-sided Mann-Whitney U test over the
 *      repetitions gives p below Holm's step-down limit over every metric
 *      judged at once (alpha 0.05, as Google Benchmark's compare.py, for
 *      the whole family: see decide); with so few repetitions that even a
 *      total separation cannot reach alpha / k, the row is refused as
 *      not comparable, naming the repetitions needed, never judged by
 *      something weaker;
 *   5. a significant change is "faster" or "slower" only when the whole
 *      interval of the ratio lies beyond the metric family's minimum effect
 *      (at least 1 + m, or at most 1 - m); otherwise it is "no change": a
 *      1% shift in a 2-core VM's throughput is real and uninteresting, and
 *      two runs one after the other differ by more than their repetitions
 *      do (csp skynet's peak RSS: 1.064x, interval [1.025, 1.145], p 0.0006,
 *      same binary).  The minimums (--threshold overrides them all):
 *      throughput 5%, times 5%, medians and means of latencies 5%, p90/p99
 *      10%, p99.9 and max 25% (tails move with every stray interrupt),
 *      memory 5%, fairness 2%;
 *   6. the machine's own drift widens that band on the side it moved:
 *      every matrix times a fixed probe before each repetition
 *      (runner/probe.c).  When the probe's NEW/BASE ratio is at least
 *      DRIFT_TOLERANCE from 1 and its interval excludes 1, the machine
 *      drifted, by at most d, the interval's end farther from 1; a timed
 *      metric (ns, s, ops/s) must then pass (1 + m) * d to be "slower"
 *      on a machine that ran slower (d > 1), or (1 - m) * d to be
 *      "faster" on one that ran faster (d < 1); the other side keeps its
 *      band, and memory is judged as ever.  An allowance, not a
 *      correction: how much a workload moves with the machine varies (54
 *      runs of one binary here: the cells' log-medians moved by 0.1 to
 *      0.8 of the probe's, csp skynet by 0.7), so dividing by the probe
 *      would invent changes.  Nor a bound for every workload: once actor
 *      ping-pong's round trip moved 28% while the probe moved 8.6%
 *      (interval [1.011, 1.115]); the allowance covered it only with the
 *      band's 5% on top;
 *   7. instruction counts (matrix --metric instructions) are counted,
 *      not timed: their spread is a few percent, not tens, so one
 *      repetition a side is enough and the ratio alone is judged against
 *      their 10% minimum (see INSTR_TOLERANCE for the spreads measured).
 *
 * With --fail-on-regression, a comparison that judged nothing exits 6
 * (EXIT_NOTHING_JUDGED): a gate that checked nothing must not pass.
 *
 * "faster" and "slower" mean better and worse in the metric's own
 * direction: higher throughput and fairness are better, lower times,
 * latencies and memory are better.  Metrics with no direction (counts,
 * counters) are reported, never judged.
 *
 * Rejected: a t-test on means (repetitions are not normal; one outlier
 * moves the mean); a fixed-percentage rule without a test (flags noise on
 * a busy machine and misses small, steady regressions); judging each
 * metric at alpha alone (forty metrics give two false calls per A/A run);
 * judging by the bootstrap interval when the test cannot reach alpha
 * (two repetitions a side "confirmed" regressions that were noise).
 */
#include "runner/args.h"
#include "runner/cli.h"
#include "runner/probe.h"
#include "runner/results.h"
#include "runner/stats.h"

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char compare_usage[] =
    "usage: concbench compare BASE|@NAME NEW [--threshold PCT] [--alpha A]\n"
    "                         [--metric NAME]... [--format "
    "table|markdown|json]\n"
    "                         [--all] [--fail-on-regression] [--force]\n"
    "                         [--ignore-drift]\n"
    "\n"
    "Compares two results folders (from matrix, ab or hyperfine) or hyperfine\n"
    "--export-json files, cell by cell: ratio of medians NEW/BASE with a\n"
    "bootstrap 95% interval, a Mann-Whitney U test over the repetitions, a\n"
    "minimum effect per metric family, a geometric mean over the matrix and a\n"
    "verdict: faster, slower, no change or not comparable.  When the machine\n"
    "itself ran slower or faster (the drift probe every matrix times), a\n"
    "timing change must exceed that drift to count.  @NAME is a baseline kept\n"
    "by `concbench baseline keep DIR NAME`.\n"
    "\n"
    "  --threshold PCT       minimum effect for every metric (default: per\n"
    "                        family: throughput 5, times 5, latency p50 5,\n"
    "                        p99 10, p99.9/max 25, memory 5, fairness 2)\n"
    "  --alpha A             significance level of the U test (default "
    "0.05)\n"
    "  --metric NAME         judge only this metric (repeatable; histogram\n"
    "                        fields as latency_ns.p99)\n"
    "  --format FMT          table (default), markdown or json\n"
    "  --all                 list unchanged rows too (table, markdown)\n"
    "  --fail-on-regression  exit 1 when a metric got slower\n"
    "  --force               compare results from different machines\n"
    "  --ignore-drift        judge timings as if the machine had not drifted\n"
    "                        between the runs (its probe is still shown)\n"
    "\n"
    "Exit: 0 ok, 1 a regression (only with --fail-on-regression), 2 usage or\n"
    "unreadable input, 3 a cell of NEW crashed, hung, ran out of memory or\n"
    "failed its correctness check, 6 nothing was judged (only with\n"
    "--fail-on-regression: no cell comparable, e.g. another machine, too few\n"
    "repetitions, or time results against instruction counts).\n";

typedef enum { FMT_TABLE, FMT_MARKDOWN, FMT_JSON } fmt_t;

typedef enum {
    V_FASTER,
    V_SLOWER,
    V_SAME,
    V_NOT_COMPARABLE,
    V_DERIVED,    /* shown, never judged: another metric speaks for it */
    V_DIAGNOSTIC, /* shown, never judged: it moves with more than the code */
    V_COUNT
} verdict_t;

static const char *const verdict_names[] = {"faster", "slower", "no change",
                                            "not comparable", "derived",
                                            "diagnostic"};

typedef struct row {
    const char *cell, *metric;
    const char *cell_id; /* model, workload and every parameter */
    double base, new_, ratio, lo, hi, p, min_effect;
    double drift;     /* the machine's drift in this metric's ratio (rule
                         6); 1 when none is allowed for */
    double floor_p;   /* the smallest p the U test can give these sizes */
    double p_holm;    /* p adjusted for the metrics judged at once */
    bool tested;      /* judged by the U test (Holm's family) */
    bool excused;     /* a change the machine's drift explains (rule 6) */
    size_t nb, nn;
    verdict_t v;
    char note[200];
} row_t;

typedef struct cmp_opts {
    const char *base, *new_;
    double threshold; /* fraction; < 0: per family */
    double alpha;
    const char *metrics[32];
    int nmetrics;
    fmt_t fmt;
    bool all, fail_on_regression, force, ignore_drift;
} cmp_opts_t;

/* The probe's ratio NEW / BASE (rule 6). */
typedef struct drift {
    bool moved;   /* beyond DRIFT_TOLERANCE, the interval excluding 1 */
    double ratio, lo, hi;
    double allow; /* the interval's end farther from 1 when moved, else 1;
                     NaN, as the ratio, when there is no ratio */
    size_t nb, nn;
    const char *missing; /* which side has no probe; NULL when both do */
    bool other_version;  /* both have one, of different work */
} drift_t;

/* The probe's own run-to-run spread: the medians of 54 matrices of one
 * binary here mostly lay within 3% of their median; the host changed
 * under a few (13% once, 10% twice, 26-44% for four runs in a row, the
 * skynet cells moving with it).  340 pairs of the gate's measurement gave
 * ratios from 0.87 to 1.14, 95% of them within [0.91, 1.06].  5% leaves
 * most pairs alone; a pair beyond it gets the allowance, which costs only
 * sensitivity on that side. */
#define DRIFT_TOLERANCE 0.05

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Instruction counts are counted, not timed, but not exact for a
 * runtime with several threads: callgrind serialises them, and how often
 * an idle worker spins before it parks, or a sender finds its receiver
 * already waiting, depends on that order.  Four runs of one cell each, on
 * a loaded 2-core machine, spread (max / min) by 0.5% (actor ping-pong),
 * 1.0% (actor skynet), 1.3% (threads ping-pong), 1.7% (csp skynet) and
 * 5.3% (csp ping-pong), and an A/A pair of csp ping-pong differed by
 * 3.2%.  A 1% minimum, chosen from one single-scheduler cell, gave A/A
 * runs "slower" verdicts; 10% sits above every spread seen, so one
 * repetition a side suffices and the ratio is judged without a test. */
#define INSTR_TOLERANCE 0.10

static double family_min_effect(const char *m)
{
    if (strcmp(m, "instructions") == 0)
        return INSTR_TOLERANCE;
    if (strstr(m, "fairness"))
        return 0.02;
    if (ends_with(m, ".p999") || ends_with(m, ".max"))
        return 0.25;
    if (ends_with(m, ".p90") || ends_with(m, ".p99"))
        return 0.10;
    return 0.05;
}

static int parse_args(int argc, char **argv, cmp_opts_t *o)
{
    enum {
        O_THR = 256,
        O_ALPHA,
        O_METRIC,
        O_FMT,
        O_ALL,
        O_FAIL,
        O_FORCE,
        O_NODRIFT
    };
    static const struct option longopts[] = {
        {"threshold", required_argument, NULL, O_THR},
        {"alpha", required_argument, NULL, O_ALPHA},
        {"metric", required_argument, NULL, O_METRIC},
        {"format", required_argument, NULL, O_FMT},
        {"all", no_argument, NULL, O_ALL},
        {"fail-on-regression", no_argument, NULL, O_FAIL},
        {"force", no_argument, NULL, O_FORCE},
        {"ignore-drift", no_argument, NULL, O_NODRIFT},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    o->threshold = -1;
    o->alpha = 0.05;
    opterr = 0;
    optind = 1;
    int c;
    char *end;
    arg_seen_t seen = {0};
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        if (c != O_METRIC && c != 'h' && c != ':' && c != '?' &&
            arg_once(&seen, "compare", c, longopts))
            return EXIT_USAGE;
        switch (c) {
        case O_THR:
            o->threshold = strtod(optarg, &end) / 100;
            if (*end || end == optarg || !(o->threshold >= 0) ||
                o->threshold > 10)
                return usage_error("compare: --threshold: '%s' is not a "
                                   "percentage in 0..1000",
                                   arg_clip(optarg));
            break;
        case O_ALPHA:
            o->alpha = strtod(optarg, &end);
            if (*end || end == optarg || !(o->alpha > 0) || o->alpha >= 1)
                return usage_error("compare: --alpha: '%s' is not in (0, 1)",
                                   arg_clip(optarg));
            break;
        case O_METRIC:
            if (o->nmetrics == 32)
                return usage_error("compare: too many --metric options");
            for (int i = 0; i < o->nmetrics; i++)
                if (strcmp(o->metrics[i], optarg) == 0)
                    return usage_error("compare: --metric '%s' given twice; "
                                       "give it once",
                                       arg_clip(optarg));
            o->metrics[o->nmetrics++] = optarg;
            break;
        case O_FMT:
            if (strcmp(optarg, "table") == 0)
                o->fmt = FMT_TABLE;
            else if (strcmp(optarg, "markdown") == 0)
                o->fmt = FMT_MARKDOWN;
            else if (strcmp(optarg, "json") == 0)
                o->fmt = FMT_JSON;
            else
                return usage_error("compare: --format: '%s' is not table, "
                                   "markdown or json",
                                   arg_clip(optarg));
            break;
        case O_ALL:
            o->all = true;
            break;
        case O_FAIL:
            o->fail_on_regression = true;
            break;
        case O_FORCE:
            o->force = true;
            break;
        case O_NODRIFT:
            o->ignore_drift = true;
            break;
        case 'h':
            fputs(compare_usage, stdout);
            return -1;
        case ':':
            return usage_error("compare: option %s needs a value",
                               arg_clip(argv[optind - 1]));
        default:
            return usage_error("compare: unknown option '%s'; see concbench "
                               "compare --help",
                               arg_clip(argv[optind - 1]));
        }
    }
    if (argc - optind != 2)
        return usage_error("compare: wants BASE and NEW (results folders or "
                           "hyperfine exports); see --help");
    o->base = argv[optind];
    o->new_ = argv[optind + 1];
    /* @NAME: a stored baseline (concbench baseline keep DIR NAME). */
    static char resolved[2][4096];
    const char **side[2] = {&o->base, &o->new_};
    for (int i = 0; i < 2; i++)
        if ((*side[i])[0] == '@') {
            if (baseline_resolve(*side[i] + 1, resolved[i],
                                 sizeof resolved[i]) < 0)
                return EXIT_USAGE;
            *side[i] = resolved[i];
        }
    return 0;
}

static bool wanted(const cmp_opts_t *o, const char *metric)
{
    if (o->nmetrics == 0)
        return metric_direction(metric) != 0;
    for (int i = 0; i < o->nmetrics; i++)
        if (strcmp(o->metrics[i], metric) == 0)
            return true;
    return false;
}

/* The metric this one derives from in its workload (metric_roles in
 * workloads/<name>.c), or NULL: judged.  A metric named by --metric is judged
 * whatever it derives from: it was asked for. */
static const char *derived_from(const cmp_opts_t *o, const res_cell_t *c,
                                const char *metric)
{
    if (o->nmetrics > 0)
        return NULL;
    const char *from = cb_wl_metric_derived_from(
        cb_workload_find(c->first->workload ? c->first->workload : ""),
        metric);
    /* Derived from a metric the cell does not report: judged itself. */
    return from && results_find_metric(c, from) ? from : NULL;
}

/* Why this metric is a diagnostic of its workload, or NULL; as with
 * derived metrics, one named by --metric is judged. */
static const char *diagnostic(const cmp_opts_t *o, const res_cell_t *c,
                              const char *metric)
{
    if (o->nmetrics > 0)
        return NULL;
    return cb_wl_metric_diagnostic(
        cb_workload_find(c->first->workload ? c->first->workload : ""),
        metric);
}

static const res_cell_t *find_cell(const res_summary_t *s, const char *id)
{
    for (size_t i = 0; i < s->ncells; i++)
        if (strcmp(s->cells[i].first->cell, id) == 0)
            return &s->cells[i];
    return NULL;
}

static size_t bad_runs(const res_cell_t *c)
{
    return c->counts[REP_FAILED] + c->counts[REP_CRASHED] +
           c->counts[REP_TIMEOUT] + c->counts[REP_OOM] + c->counts[REP_ERROR] +
           c->counts[REP_RESOURCE];
}

typedef struct rows {
    row_t *r;
    size_t n, cap;
} rows_t;

static row_t *add_row(rows_t *rs, const char *cell, const char *metric)
{
    if (rs->n == rs->cap) {
        size_t n = rs->cap ? rs->cap * 2 : 64;
        row_t *p = realloc(rs->r, n * sizeof *p);
        if (!p)
            return NULL;
        rs->r = p;
        rs->cap = n;
    }
    row_t *r = &rs->r[rs->n++];
    memset(r, 0, sizeof *r);
    r->cell = cell;
    r->metric = metric;
    r->base = r->new_ = r->ratio = r->lo = r->hi = r->p = NAN;
    r->floor_p = r->p_holm = NAN;
    r->drift = 1;
    r->v = V_NOT_COMPARABLE;
    return r;
}


static bool deterministic(const char *metric)
{
    return strcmp(metric, "instructions") == 0;
}

/* First pass over one metric: medians, ratio, interval, U test.  The
 * verdict of a tested row waits for the whole family (decide). */
static void judge(const cmp_opts_t *o, const res_mvals_t *b,
                  const res_mvals_t *n, row_t *r, uint64_t seed)
{
    r->nb = b->n;
    r->nn = n->n;
    r->base = b->st.median;
    r->new_ = n->st.median;
    int dir = metric_direction(r->metric);
    r->min_effect =
        o->threshold >= 0 ? o->threshold : family_min_effect(r->metric);
    if (r->base == 0 && r->new_ == 0) {
        r->v = V_SAME; /* e.g. a message with no heap part on both */
        snprintf(r->note, sizeof r->note, "0 on both sides");
        return;
    }
    if (r->base == 0 || !isfinite(r->base) || !isfinite(r->new_)) {
        snprintf(r->note, sizeof r->note, "base median is 0 or missing");
        return;
    }
    r->ratio = r->new_ / r->base;
    stats_ratio_ci(b->v, b->n, n->v, n->n, seed, &r->lo, &r->hi);
    double u;
    r->floor_p = stats_mann_whitney(b->v, b->n, n->v, n->n, &u, &r->p);
    if (deterministic(r->metric)) {
        snprintf(r->note, sizeof r->note,
                 "counted: judged by the ratio (%zu+%zu repetitions)", b->n,
                 n->n);
        if (fabs(r->ratio - 1) < r->min_effect || dir == 0)
            r->v = V_SAME;
        else
            r->v = (dir > 0) == (r->ratio > 1) ? V_FASTER : V_SLOWER;
        return;
    }
    r->tested = true;
}

/* Repetitions a side at which the exact U test's smallest p (total
 * separation, 2 / C(2n, n)) falls below alpha. */
static size_t reps_needed(double alpha)
{
    double c = 2; /* C(2n, n) for n = 1 */
    for (size_t k = 1; k < 60; k++) {
        if (2 / c < alpha)
            return k;
        c = c * (double)(2 * k + 2) * (double)(2 * k + 1) /
            (double)((k + 1) * (k + 1));
    }
    return 60;
}

static int cmp_row_p(const void *a, const void *b)
{
    double x = (*(row_t *const *)a)->p, y = (*(row_t *const *)b)->p;
    return (x > y) - (x < y);
}

/* The whole interval of the ratio beyond the minimum effect, on the side
 * of the median's ratio (rule 5), the band widened by the machine's drift
 * on the side it moved (rule 6); without an interval, the ratio alone. */
static bool beyond_band(const row_t *r, double drift)
{
    double up = (1 + r->min_effect) * fmax(1, drift),
           down = (1 - r->min_effect) * fmin(1, drift);
    if (r->ratio < up && r->ratio > down)
        return false;
    if (!isfinite(r->lo) || !isfinite(r->hi))
        return true;
    return r->ratio >= up ? r->lo >= up : r->hi <= down;
}

/*
 * Second pass: the verdicts of the tested rows, as one family.  Judging
 * forty metrics at alpha 0.05 each calls about two of them changed in an
 * A/A run; Holm's step-down (Holm 1979) keeps the chance of any false
 * call at alpha whatever the dependence between the metrics: the i-th
 * smallest p (from 0) must be below alpha / (k - i), and the first that
 * is not stops the descent.  A row whose smallest possible p is not below
 * alpha / k cannot be called changed at any repetition values: it is
 * refused as not comparable, with the repetitions it would need, rather
 * than judged by something weaker.
 */
static int decide(const cmp_opts_t *o, rows_t *rs)
{
    size_t k = 0;
    for (size_t i = 0; i < rs->n; i++)
        k += rs->r[i].tested;
    if (k == 0)
        return 0;
    double alpha_k = o->alpha / (double)k;
    row_t **fam = malloc(k * sizeof *fam);
    if (!fam)
        return -1;
    size_t m = 0;
    for (size_t i = 0; i < rs->n; i++) {
        row_t *r = &rs->r[i];
        if (!r->tested)
            continue;
        if (!(r->floor_p < alpha_k) || !isfinite(r->p)) {
            r->tested = false;
            r->v = V_NOT_COMPARABLE;
            snprintf(r->note, sizeof r->note,
                     "too few repetitions (%zu+%zu): the U test cannot "
                     "reach p<%.2g (alpha/%zu, Holm) below %zu a side",
                     r->nb, r->nn, alpha_k, k, reps_needed(alpha_k));
            continue;
        }
        fam[m++] = r;
    }
    qsort(fam, m, sizeof *fam, cmp_row_p);
    bool stopped = false;
    double adj = 0;
    for (size_t i = 0; i < m; i++) {
        row_t *r = fam[i];
        adj = fmax(adj, fmin(1, (double)(k - i) * r->p));
        r->p_holm = adj;
        if (!(r->p < o->alpha / (double)(k - i)))
            stopped = true;
        int dir = metric_direction(r->metric);
        if (stopped || !beyond_band(r, r->drift) || dir == 0) {
            r->v = V_SAME;
            r->excused = !stopped && dir != 0 && beyond_band(r, 1);
            if (r->excused)
                snprintf(r->note, sizeof r->note,
                         "within the machine's drift (allowed %.3fx in "
                         "this metric's terms)",
                         r->drift);
        } else {
            r->v = (dir > 0) == (r->ratio > 1) ? V_FASTER : V_SLOWER;
        }
    }
    free(fam);
    return 0;
}

/* Timed metrics, which a slower machine stretches: times and rates. */
static bool timed(const char *metric)
{
    const char *u = metric_unit(metric);
    return strcmp(u, "ns") == 0 || strcmp(u, "s") == 0 ||
           strcmp(u, "ops/s") == 0;
}

/* The probes of both folders (rule 6): 0, or -1 with err on a malformed
 * probe.jsonl. */
static int measure_drift(const char *base, const char *new_, drift_t *d,
                         char *err, size_t errlen)
{
    double *b = NULL, *n = NULL;
    size_t nb = 0, nn = 0;
    int vb, vn;
    memset(d, 0, sizeof *d);
    d->ratio = d->lo = d->hi = d->allow = NAN;
    int rb = probe_load(base, &b, &nb, &vb, err, errlen);
    int rn = rb < 0 ? 0 : probe_load(new_, &n, &nn, &vn, err, errlen);
    if (rb < 0 || rn < 0) {
        free(b);
        free(n);
        return -1;
    }
    if (rb || rn) {
        d->missing = rb && rn ? "BASE and NEW" : rb ? "BASE" : "NEW";
    } else if (vb != vn) {
        d->other_version = true; /* different work: not comparable */
    } else {
        d->nb = nb;
        d->nn = nn;
        d->ratio = stats_median(n, nn) / stats_median(b, nb);
        stats_ratio_ci(b, nb, n, nn, 0xd21f7, &d->lo, &d->hi);
        d->moved = (d->ratio >= 1 + DRIFT_TOLERANCE && d->lo > 1) ||
                   (d->ratio <= 1 - DRIFT_TOLERANCE && d->hi < 1);
        d->allow = d->moved ? (d->ratio > 1 ? d->hi : d->lo) : 1;
    }
    free(b);
    free(n);
    return 0;
}

static void print_drift(const drift_t *d, bool ignored, size_t excused)
{
    if (d->other_version) {
        printf("no comparable drift probe: BASE's and NEW's are of "
               "different versions (different work); a timing change cannot "
               "be told from the machine's own drift\n");
        return;
    }
    if (d->missing) {
        printf("no drift probe in %s (results from before the probe, "
               "merged shards or a hyperfine export): a timing change "
               "cannot be told from the machine's own drift\n",
               d->missing);
        return;
    }
    printf("%s: the drift probe took %.3fx [%.3f, %.3f] as long in NEW as in "
           "BASE (%zu and %zu probes)",
           d->moved ? "machine drift" : "machine steady", d->ratio, d->lo,
           d->hi, d->nb, d->nn);
    if (d->moved && ignored)
        printf("; ignored (--ignore-drift)");
    else if (d->moved)
        printf("; a timing change counts only beyond %.3fx times the "
               "minimum effect, on the side the machine moved (%zu metric%s "
               "within it: --all shows them)",
               d->allow, excused, excused == 1 ? "" : "s");
    printf("\n");
}

static const char *machine_fp(const res_set_t *s)
{
    return jv_str(jv_get(s->machine, "fingerprint"));
}

static void fmt_num(double v, char *buf, size_t len)
{
    if (!isfinite(v))
        snprintf(buf, len, "-");
    else if (fabs(v) >= 1e5 && fabs(v) < 1e15)
        snprintf(buf, len, "%.0f", v);
    else
        snprintf(buf, len, "%.4g", v);
}

static void print_rows(const cmp_opts_t *o, const rows_t *rs)
{
    bool md = o->fmt == FMT_MARKDOWN;
    if (md)
        printf("| cell | metric | base | new | new/base [95%% CI] | p | "
               "verdict |\n|---|---|---:|---:|---:|---:|---|\n");
    else
        printf("%-36s %-22s %12s %12s %22s %7s  %s\n", "cell", "metric", "base",
               "new", "new/base [95% CI]", "p", "verdict");
    size_t hidden = 0, derived = 0, diag = 0;
    for (size_t i = 0; i < rs->n; i++) {
        const row_t *r = &rs->r[i];
        if ((r->v == V_SAME || r->v == V_DERIVED || r->v == V_DIAGNOSTIC) &&
            !o->all) {
            *(r->v == V_SAME      ? &hidden
              : r->v == V_DERIVED ? &derived
                                  : &diag) += 1;
            continue;
        }
        char b[32], n[32], ci[64], p[16];
        fmt_num(r->base, b, sizeof b);
        fmt_num(r->new_, n, sizeof n);
        if (isfinite(r->lo))
            snprintf(ci, sizeof ci, "%.3f [%.3f, %.3f]", r->ratio, r->lo,
                     r->hi);
        else
            fmt_num(r->ratio, ci, sizeof ci);
        fmt_num(r->p, p, sizeof p);
        if (md)
            printf("| %s | %s | %s | %s | %s | %s | %s%s%s |\n", r->cell,
                   r->metric ? r->metric : "", b, n, ci, p, verdict_names[r->v],
                   r->note[0] ? ": " : "", r->note);
        else
            printf("%-36s %-22s %12s %12s %22s %7s  %s%s%s\n", r->cell,
                   r->metric ? r->metric : "", b, n, ci, p, verdict_names[r->v],
                   r->note[0] ? ": " : "", r->note);
    }
    if (diag)
        printf("%s%zu metric%s with no change, %zu derived and %zu "
               "diagnostic (not judged) not shown (--all shows them)\n",
               md ? "\n" : "", hidden, hidden == 1 ? "" : "s", derived, diag);
    else if (hidden || derived)
        printf("%s%zu metric%s with no change and %zu derived metric%s (not "
               "judged) not shown (--all shows them)\n",
               md ? "\n" : "", hidden, hidden == 1 ? "" : "s", derived,
               derived == 1 ? "" : "s");
}

static void print_json(const rows_t *rs, const char *reason, double geo,
                       size_t ngeo, const size_t *counts, size_t crashed,
                       size_t unsupported_both, const drift_t *d,
                       bool ignored)
{
    json_t j;
    json_init(&j, stdout, true);
    json_obj_begin(&j, NULL);
    json_int(&j, "schema_version", RESULTS_SCHEMA);
    json_str(&j, "type", "compare");
    json_str(&j, "not_comparable_reason", reason);
    json_f64(&j, "geomean_cost_ratio", geo);
    json_int(&j, "geomean_metrics", (int64_t)ngeo);
    json_obj_begin(&j, "verdicts");
    for (int v = 0; v < V_COUNT; v++)
        json_int(&j, verdict_names[v], (int64_t)counts[v]);
    json_obj_end(&j);
    json_int(&j, "new_cells_failed", (int64_t)crashed);
    json_int(&j, "cells_unsupported_on_both_sides",
             (int64_t)unsupported_both);
    json_obj_begin(&j, "machine_drift");
    json_str(&j, "missing_in", d->missing);
    json_bool(&j, "other_version", d->other_version);
    json_f64(&j, "probe_ratio", d->ratio);
    json_f64(&j, "probe_ratio_ci_lo", d->lo);
    json_f64(&j, "probe_ratio_ci_hi", d->hi);
    json_int(&j, "probes_base", (int64_t)d->nb);
    json_int(&j, "probes_new", (int64_t)d->nn);
    json_f64(&j, "tolerance", DRIFT_TOLERANCE);
    json_f64(&j, "allowance", d->allow);
    json_bool(&j, "moved", d->moved);
    json_bool(&j, "allowed_for", d->moved && !ignored);
    json_obj_end(&j);
    json_arr_begin(&j, "rows");
    for (size_t i = 0; i < rs->n; i++) {
        const row_t *r = &rs->r[i];
        json_obj_begin(&j, NULL);
        json_str(&j, "cell", r->cell);
        json_str(&j, "cell_id", r->cell_id);
        json_str(&j, "metric", r->metric);
        json_f64(&j, "base_median", r->base);
        json_f64(&j, "new_median", r->new_);
        json_f64(&j, "ratio", r->ratio);
        json_f64(&j, "ratio_ci_lo", r->lo);
        json_f64(&j, "ratio_ci_hi", r->hi);
        json_f64(&j, "p_value", r->p);
        json_f64(&j, "p_holm", r->p_holm);
        json_f64(&j, "min_effect", r->min_effect);
        json_f64(&j, "drift_allowed", r->drift);
        json_int(&j, "n_base", (int64_t)r->nb);
        json_int(&j, "n_new", (int64_t)r->nn);
        json_str(&j, "verdict", verdict_names[r->v]);
        json_str(&j, "note", r->note[0] ? r->note : NULL);
        json_obj_end(&j);
    }
    json_arr_end(&j);
    json_obj_end(&j);
}

/* A machine.json value, short, for "field: old -> new". */
static void jv_brief(const jv_t *v, char *out, size_t len)
{
    if (!v || v->kind == JV_NULL) {
        snprintf(out, len, "-");
    } else if (v->kind == JV_STR) {
        snprintf(out, len, "'%.60s'", v->str);
    } else if (v->kind == JV_NUM) {
        snprintf(out, len, "%g", v->num);
    } else if (v->kind == JV_BOOL) {
        snprintf(out, len, "%s", v->b ? "true" : "false");
    } else if (v->kind == JV_ARR) {
        size_t n = 0;
        out[0] = '\0';
        for (size_t i = 0; i < v->n && n + 16 < len; i++)
            n += (size_t)snprintf(out + n, len - n, "%s%g", i ? "," : "",
                                  v->items[i].num);
        if (v->n == 0)
            snprintf(out, len, "none");
    } else {
        snprintf(out, len, "{...}");
    }
}

/* The machine.json fields the fingerprint is made of (runner/machine.c,
 * machine_fingerprint): the ones named when two fingerprints differ. */
static const char *const fingerprint_fields[] = {
    "cpu_model", "pus",  "cores",  "packages",         "numa_nodes",
    "kernel",    "vm",   "cpus",   "cgroup_cpu_limit", "sanitize",
};

static bool jv_same(const jv_t *a, const jv_t *b)
{
    char x[256], y[256];
    jv_brief(a, x, sizeof x);
    jv_brief(b, y, sizeof y);
    return strcmp(x, y) == 0;
}

/* Whether two sets may be compared at all; why (empty when they may)
 * says why not, naming the fingerprint fields that differ, old -> new. */
static int compare_sets(const res_set_t *bs, const res_set_t *ns, bool force,
                        char *why, size_t len)
{
    const char *fb = machine_fp(bs), *fn = machine_fp(ns);
    why[0] = '\0';
    if (force)
        return 1;
    if ((fb == NULL) != (fn == NULL)) {
        snprintf(why, len,
                 "%s has no machine fingerprint (machine.json); --force "
                 "compares anyway",
                 fb ? "NEW" : "BASE");
    } else if (fb && strcmp(fb, fn) != 0) {
        size_t n = (size_t)snprintf(why, len,
                                    "different machine fingerprints (%s -> "
                                    "%s):",
                                    fb, fn);
        size_t named = 0;
        for (size_t i = 0;
             i < sizeof fingerprint_fields / sizeof *fingerprint_fields &&
             n < len;
             i++) {
            const jv_t *a = jv_get(bs->machine, fingerprint_fields[i]);
            const jv_t *b = jv_get(ns->machine, fingerprint_fields[i]);
            if (jv_same(a, b))
                continue;
            char x[256], y[256];
            jv_brief(a, x, sizeof x);
            jv_brief(b, y, sizeof y);
            n += (size_t)snprintf(why + n, len - n, "%s %s %s -> %s",
                                  named++ ? ";" : "", fingerprint_fields[i],
                                  x, y);
        }
        if (!named && n < len)
            n += (size_t)snprintf(why + n, len - n,
                                  " no recorded field differs (a field "
                                  "machine.json does not hold)");
        if (n < len)
            snprintf(why + n, len - n, "; --force compares anyway");
    }
    return why[0] == '\0';
}

int cmd_compare(int argc, char **argv)
{
    cmp_opts_t o = {0};
    int rc = parse_args(argc, argv, &o);
    if (rc != 0)
        return rc < 0 ? EXIT_OK : rc;
    res_set_t bs, ns;
    res_summary_t bsum = {0}, nsum = {0};
    rows_t rs = {0};
    char err[1024];
    memset(&ns, 0, sizeof ns);
    if (results_load(o.base, false, &bs, err, sizeof err) < 0 ||
        results_load(o.new_, false, &ns, err, sizeof err) < 0) {
        rc = usage_error("compare: %s", err);
        goto out;
    }
    if (bs.nruns == 0 || ns.nruns == 0) {
        rc = usage_error("compare: %s holds no runs",
                         bs.nruns == 0 ? o.base : o.new_);
        goto out;
    }
    if (results_summarise(&bs, &bsum) < 0 ||
        results_summarise(&ns, &nsum) < 0) {
        rc = usage_error("compare: out of memory");
        goto out;
    }
    char whybuf[1024];
    bool comparable =
        compare_sets(&bs, &ns, o.force, whybuf, sizeof whybuf);
    const char *why = comparable ? NULL : whybuf;
    drift_t drift;
    if (measure_drift(o.base, o.new_, &drift, err, sizeof err) < 0) {
        rc = usage_error("compare: %s", err);
        goto out;
    }
    size_t counts[V_COUNT] = {0}, crashed = 0, ngeo = 0, unsupported_both = 0;
    double logsum = 0;
    for (size_t i = 0; i < bsum.ncells; i++) {
        const res_cell_t *b = &bsum.cells[i];
        const res_cell_t *n = find_cell(&nsum, b->first->cell);
        row_t *r;
        if (!n || !comparable) {
            if (!(r = add_row(&rs, b->first->label, NULL)))
                goto oom;
            snprintf(r->note, sizeof r->note, "%s",
                     !comparable ? "another machine (below)"
                                 : "only in BASE (NEW has no cell with "
                                   "these parameters)");
            continue;
        }
        if (bad_runs(n)) {
            crashed++;
            if (!(r = add_row(&rs, b->first->label, NULL)))
                goto oom;
            snprintf(r->note, sizeof r->note, "NEW failed: %.140s",
                     n->reason ? n->reason : "?");
            continue;
        }
        if (!n->counts[REP_OK] && !b->counts[REP_OK] &&
            n->counts[REP_UNSUPPORTED] && b->counts[REP_UNSUPPORTED]) {
            /* The model cannot run this workload on either side: nothing
             * to judge and nothing new; counted, not listed. */
            unsupported_both++;
            continue;
        }
        if (!n->counts[REP_OK] || !b->counts[REP_OK]) {
            if (!(r = add_row(&rs, b->first->label, NULL)))
                goto oom;
            snprintf(r->note, sizeof r->note,
                     "no successful repetition in %s%s%.100s",
                     b->counts[REP_OK] ? "NEW" : "BASE",
                     (b->counts[REP_OK] ? n : b)->reason ? ": " : "",
                     (b->counts[REP_OK] ? n : b)->reason
                         ? (b->counts[REP_OK] ? n : b)->reason
                         : "");
            continue;
        }
        for (size_t m = 0; m < b->nm; m++) {
            const res_mvals_t *bm = &b->m[m];
            if (!wanted(&o, bm->name))
                continue;
            const res_mvals_t *nm = results_find_metric(n, bm->name);
            if (!(r = add_row(&rs, b->first->label, bm->name)))
                goto oom;
            if (!nm) {
                snprintf(r->note, sizeof r->note, "metric missing in NEW");
                continue;
            }
            r->cell_id = b->first->cell;
            if (drift.moved && !o.ignore_drift && timed(bm->name))
                r->drift = metric_direction(bm->name) > 0 ? 1 / drift.allow
                                                          : drift.allow;
            judge(&o, bm, nm, r, 0xc0ffee + i * 977 + m);
            const char *from = derived_from(&o, b, bm->name);
            const char *diag_why = diagnostic(&o, b, bm->name);
            if (from) {
                r->tested = false;
                r->v = V_DERIVED;
                snprintf(r->note, sizeof r->note,
                         "derived from %s: not judged", from);
            } else if (diag_why) {
                r->tested = false;
                r->v = V_DIAGNOSTIC;
                snprintf(r->note, sizeof r->note, "%s", diag_why);
            }
        }
    }
    if (decide(&o, &rs) < 0)
        goto oom;
    for (size_t i = 0; i < rs.n; i++) {
        const row_t *r = &rs.r[i];
        int dir = r->metric ? metric_direction(r->metric) : 0;
        if (isfinite(r->ratio) && r->ratio > 0 && dir != 0 &&
            (r->v == V_FASTER || r->v == V_SLOWER || r->v == V_SAME)) {
            /* Cost: > 1 means NEW is worse, whatever the direction. */
            logsum += dir < 0 ? log(r->ratio) : -log(r->ratio);
            ngeo++;
        }
    }
    for (size_t i = 0; i < nsum.ncells; i++)
        if (!find_cell(&bsum, nsum.cells[i].first->cell)) {
            row_t *r = add_row(&rs, nsum.cells[i].first->label, NULL);
            if (!r)
                goto oom;
            snprintf(r->note, sizeof r->note, "only in NEW");
            if (bad_runs(&nsum.cells[i]))
                crashed++;
        }
    for (size_t i = 0; i < rs.n; i++)
        counts[rs.r[i].v]++;
    double geo = ngeo ? exp(logsum / (double)ngeo) : NAN;
    if (o.fmt == FMT_JSON) {
        print_json(&rs, why, geo, ngeo, counts, crashed, unsupported_both,
                   &drift, o.ignore_drift);
    } else {
        print_rows(&o, &rs);
        printf("%s%zu faster, %zu slower, %zu no change, %zu not comparable",
               o.fmt == FMT_MARKDOWN ? "\n" : "\n", counts[V_FASTER],
               counts[V_SLOWER], counts[V_SAME], counts[V_NOT_COMPARABLE]);
        if (ngeo)
            printf("; geometric mean of the cost ratio over %zu metrics: "
                   "%.3f (above 1: NEW is worse)",
                   ngeo, geo);
        printf("\n");
        if (unsupported_both)
            printf("%zu cell%s unsupported on both sides (not listed)\n",
                   unsupported_both, unsupported_both == 1 ? "" : "s");
        size_t excused = 0;
        for (size_t i = 0; i < rs.n; i++)
            excused += rs.r[i].excused;
        if (comparable)
            print_drift(&drift, o.ignore_drift, excused);
        if (why)
            printf("not comparable: %s\n", why);
    }
    size_t judged = counts[V_FASTER] + counts[V_SLOWER] + counts[V_SAME];
    if (crashed) {
        fprintf(stderr,
                "concbench: compare: %zu cell%s of NEW crashed, hung, ran "
                "out of memory or failed its check\n",
                crashed, crashed == 1 ? "" : "s");
        rc = EXIT_INVARIANT;
    } else if (o.fail_on_regression && counts[V_SLOWER]) {
        rc = EXIT_RUN_ERROR;
    } else if (o.fail_on_regression && judged == 0) {
        fprintf(stderr,
                "concbench: compare: nothing was judged: no cell and metric "
                "of NEW is comparable with BASE (exit %d)\n",
                EXIT_NOTHING_JUDGED);
        rc = EXIT_NOTHING_JUDGED;
    } else {
        rc = EXIT_OK;
    }
    goto out;
oom:
    rc = usage_error("compare: out of memory");
out:
    free(rs.r);
    results_summary_free(&bsum);
    results_summary_free(&nsum);
    results_free(&bs);
    results_free(&ns);
    return rc;
}
