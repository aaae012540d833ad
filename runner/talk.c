/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * The judge's arithmetic for checks with a verdict (runner/talk.h): the
 * registry of talk/NAME.c and agree/NAME.c, the results a judge reads, and the
 * shape rules on bootstrap intervals.
 *
 * A value is the median of a metric over a cell's successful measured
 * repetitions with the bootstrap 95% interval of that median, the same
 * figures summary.csv holds (results_summarise, stats_summary).  A rule
 * on a ratio a / b takes the interval of the ratio from the two
 * intervals end to end: [a.lo / b.hi, a.hi / b.lo].  That is the widest
 * the ratio can be when each median lies in its own interval, so a
 * verdict drawn from it is drawn from the noise of both sides at once,
 * never from one lucky median.  A rule holds when that whole interval
 * is on the holding side of its bound, does not hold when the whole
 * interval is on the other side, and is inconclusive when it straddles
 * the bound.
 *
 * Invariants:
 *   - a value that is not ok (a cell that did not run, a metric the cell
 *     lacks, a step that was not run) makes every rule that reads it
 *     "cannot be shown here"; the judge names why (talk_why_missing);
 *   - a value without an interval (one successful repetition: the
 *     bootstrap needs two), a NaN, or a ratio with no meaning (0 / 0, a
 *     negative side) is inconclusive, never holds: a verdict needs the
 *     noise to be known;
 *   - a zero denominator whose numerator is above zero is an infinitely
 *     large ratio (money lost against none), which is as decisive as any
 *     large one;
 *   - talk_get answers exactly one cell or none: a WHERE that matches
 *     several cells is a bug in the check, reported as "ambiguous".
 *
 * Rejected: bootstrapping the ratio from the raw repetitions
 * (stats_ratio_ci).  With the three repetitions of --quick it gives
 * almost the same interval (a resampled median of three values is one
 * of them), and the end-to-end interval is what a reader can recompute
 * from summary.csv by hand.  Rejected too: a t-test or a U test per
 * rule.  A p-value says whether two cells differ, not whether their
 * ratio is past a bound, and three repetitions give no U test below
 * p = 0.1.
 */
#include "runner/talk.h"
#include "runner/talk_engine.h"
#include "runner/results.h"
#include "runner/stats.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- the registry ---- */

/* talk_list.h and agree_list.h are generated from the folder listings
 * (runner/CMakeLists.txt): CB_TALK(name) for every talk/NAME.c,
 * CB_AGREE(name) for every agree/NAME.c. */
#define CB_TALK(n) extern const talk_check_t cb_talk_##n;
#include "talk_list.h"
#undef CB_TALK
#define CB_AGREE(n) extern const talk_check_t cb_agree_##n;
#include "agree_list.h"
#undef CB_AGREE

static const talk_check_t *claims_listed[] = {
#define CB_TALK(n) &cb_talk_##n,
#include "talk_list.h"
#undef CB_TALK
    NULL};
static const talk_check_t *agree_listed[] = {
#define CB_AGREE(n) &cb_agree_##n,
#include "agree_list.h"
#undef CB_AGREE
    NULL};

#define NCLAIMS (sizeof claims_listed / sizeof claims_listed[0] - 1)
#define NAGREE (sizeof agree_listed / sizeof agree_listed[0] - 1)

static const talk_check_t *claims_sorted[NCLAIMS + 1];
static const talk_check_t *agree_sorted[NAGREE + 1];
static bool sorted;

/* In the talk's order, additions after, then by id. */
static int cmp_check(const void *x, const void *y)
{
    const talk_check_t *a = *(const talk_check_t *const *)x;
    const talk_check_t *b = *(const talk_check_t *const *)y;
    if (a->addition != b->addition)
        return a->addition ? 1 : -1;
    if (a->order != b->order)
        return a->order < b->order ? -1 : 1;
    return strcmp(a->id, b->id);
}

static void sort_once(void)
{
    if (sorted)
        return;
    memcpy(claims_sorted, claims_listed, sizeof claims_listed);
    memcpy(agree_sorted, agree_listed, sizeof agree_listed);
    if (NCLAIMS > 1)
        qsort(claims_sorted, NCLAIMS, sizeof claims_sorted[0], cmp_check);
    if (NAGREE > 1)
        qsort(agree_sorted, NAGREE, sizeof agree_sorted[0], cmp_check);
    sorted = true;
}

size_t talk_claim_count(void)
{
    return NCLAIMS;
}

const talk_check_t *talk_claim_at(size_t i)
{
    sort_once();
    size_t n = talk_claim_count();
    return i < n ? claims_sorted[i] : NULL;
}

size_t talk_agree_count(void)
{
    return NAGREE;
}

const talk_check_t *talk_agree_at(size_t i)
{
    sort_once();
    size_t n = talk_agree_count();
    return i < n ? agree_sorted[i] : NULL;
}

static const char *const verdict_names[TALK_VERDICT_COUNT] = {
    [TALK_HOLDS] = "holds",
    [TALK_NOT_HERE] = "does not hold here",
    [TALK_INCONCLUSIVE] = "inconclusive",
    [TALK_CANNOT_SHOW] = "cannot be shown here",
};
static const char *const agree_names[TALK_VERDICT_COUNT] = {
    [TALK_HOLDS] = "agree",
    [TALK_NOT_HERE] = "differ",
    [TALK_INCONCLUSIVE] = "inconclusive",
    [TALK_CANNOT_SHOW] = "cannot be shown here",
};

const char *talk_verdict_name(talk_verdict_t v)
{
    return (unsigned)v < TALK_VERDICT_COUNT ? verdict_names[v] : "invalid";
}

const char *talk_verdict_label(talk_verdict_t v, bool agree)
{
    if ((unsigned)v >= TALK_VERDICT_COUNT)
        return "invalid";
    return agree ? agree_names[v] : verdict_names[v];
}

int talk_verdict_parse(const char *s)
{
    for (int v = 0; s && v < TALK_VERDICT_COUNT; v++)
        if (strcmp(s, verdict_names[v]) == 0 || strcmp(s, agree_names[v]) == 0)
            return v;
    return -1;
}

static bool is_name(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '-'))
            return false;
    return true;
}

int talk_check_validate(const talk_check_t *c, char *err, size_t errlen)
{
    const char *id = c->id ? c->id : "(no id)";
    if (!is_name(c->id))
        return snprintf(err, errlen, "check '%s': the id must be [a-z0-9-]+",
                        id),
               -1;
    if (!c->title || !c->claim || !c->rule)
        return snprintf(err, errlen, "check '%s' needs a title, a claim and "
                        "a rule", id),
               -1;
    if (!c->judge)
        return snprintf(err, errlen, "check '%s' has no judge", id), -1;
    if (c->nsteps < 1 || c->nsteps > TALK_MAX_STEPS)
        return snprintf(err, errlen, "check '%s': %zu steps (1..%d)", id,
                        c->nsteps, TALK_MAX_STEPS),
               -1;
    if (c->nplots > TALK_MAX_PLOTS)
        return snprintf(err, errlen, "check '%s': %zu plots (at most %d)", id,
                        c->nplots, TALK_MAX_PLOTS),
               -1;
    for (size_t i = 0; i < c->nsteps; i++) {
        const talk_step_t *s = &c->steps[i];
        if (!is_name(s->name))
            return snprintf(err, errlen, "check '%s': step %zu's name must "
                            "be [a-z0-9-]+", id, i + 1),
                   -1;
        for (size_t k = 0; k < i; k++)
            if (strcmp(c->steps[k].name, s->name) == 0)
                return snprintf(err, errlen, "check '%s': two steps named "
                                "'%s'", id, s->name),
                       -1;
        if (!s->systems || !*s->systems || !s->workload || !*s->workload)
            return snprintf(err, errlen, "check '%s': step '%s' needs systems "
                            "and a workload", id, s->name),
                   -1;
        if (s->reps < 0 || s->reps > 1000 || s->quick_reps < 0 ||
            s->quick_reps > 1000 || !(s->timeout_s >= 0) ||
            s->timeout_s > 86400)
            return snprintf(err, errlen, "check '%s': step '%s': reps in "
                            "0..1000, timeout in 0..86400 s", id, s->name),
                   -1;
    }
    for (size_t i = 0; i < c->nplots; i++) {
        const talk_plot_t *p = &c->plots[i];
        bool found = false;
        for (size_t k = 0; p->step && k < c->nsteps; k++)
            found |= strcmp(c->steps[k].name, p->step) == 0;
        if (!found || !p->metric)
            return snprintf(err, errlen, "check '%s': plot %zu names no step "
                            "of the check or no metric", id, i + 1),
                   -1;
    }
    return 0;
}

/* ---- the results a judge reads ---- */

typedef struct tr_metric {
    char *name;
    double *v;
    size_t n;
    stats_t st;
} tr_metric_t;

typedef struct tr_cell {
    char *step, *system;
    char *params; /* " k=v k=v model.k=v", as in the cell id */
    char *status; /* "ok" when a measured repetition succeeded, else the
                     outcome most repetitions had */
    char *reason;
    size_t n_ok, n_measured;
    size_t counts[REP_OUTCOME_COUNT]; /* measured repetitions by outcome */
    tr_metric_t *m;
    size_t nm, capm;
} tr_cell_t;

struct talk_results {
    bool quick;
    tr_cell_t *cells;
    size_t n, cap;
    /* What talk_get noticed (talk_results_notes); grows from a const
     * results set, so it is reached through a pointer. */
    struct {
        char *buf;
        size_t len;
    } *notes;
};

static char *xstrdup(const char *s)
{
    char *p = strdup(s ? s : "");
    if (!p) {
        fprintf(stderr, "concbench: out of memory\n");
        abort();
    }
    return p;
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fprintf(stderr, "concbench: out of memory\n");
        abort();
    }
    return q;
}

/* The outcome a name stands for, exactly; -1 for none. */
static int outcome_index(const char *name)
{
    for (int o = 0; name && o < REP_OUTCOME_COUNT; o++)
        if (strcmp(name, rep_outcome_name((rep_outcome_t)o)) == 0)
            return o;
    return -1;
}

static talk_results_t *results_new(bool quick)
{
    talk_results_t *r = calloc(1, sizeof *r);
    if (!r || !(r->notes = calloc(1, sizeof *r->notes))) {
        fprintf(stderr, "concbench: out of memory\n");
        abort();
    }
    r->quick = quick;
    return r;
}

/* Params as the cell id writes them: " k=v" each, so that a WHERE given
 * as "k=v k2=v2" matches its tokens. */
static char *norm_params(const char *where)
{
    size_t len = where ? strlen(where) : 0;
    char *out = xrealloc(NULL, len + 2);
    size_t o = 0;
    const char *p = where ? where : "";
    while (*p) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        out[o++] = ' ';
        while (*p && *p != ' ')
            out[o++] = *p++;
    }
    out[o] = '\0';
    return out;
}

static tr_cell_t *cell_new(talk_results_t *r, const char *step,
                           const char *system, const char *params)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 16;
        r->cells = xrealloc(r->cells, r->cap * sizeof *r->cells);
    }
    tr_cell_t *c = &r->cells[r->n++];
    memset(c, 0, sizeof *c);
    c->step = xstrdup(step);
    c->system = xstrdup(system);
    c->params = xstrdup(params);
    c->status = xstrdup("ok");
    return c;
}

static tr_metric_t *metric_add(tr_cell_t *c, const char *name,
                               const double *v, size_t n, uint64_t seed)
{
    if (c->nm == c->capm) {
        c->capm = c->capm ? c->capm * 2 : 8;
        c->m = xrealloc(c->m, c->capm * sizeof *c->m);
    }
    tr_metric_t *m = &c->m[c->nm++];
    memset(m, 0, sizeof *m);
    m->name = xstrdup(name);
    m->v = xrealloc(NULL, n * sizeof *m->v);
    if (n)
        memcpy(m->v, v, n * sizeof *v);
    m->n = n;
    stats_summary(m->v, n, seed, &m->st);
    return m;
}

void talk_results_free(talk_results_t *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        tr_cell_t *c = &r->cells[i];
        for (size_t k = 0; k < c->nm; k++) {
            free(c->m[k].name);
            free(c->m[k].v);
        }
        free(c->m);
        free(c->step);
        free(c->system);
        free(c->params);
        free(c->status);
        free(c->reason);
    }
    free(r->cells);
    if (r->notes)
        free(r->notes->buf);
    free(r->notes);
    free(r);
}

bool talk_quick(const talk_results_t *r)
{
    return r && r->quick;
}

const char *talk_results_notes(const talk_results_t *r)
{
    return r && r->notes->buf ? r->notes->buf : "";
}

__attribute__((format(printf, 2, 3))) static void
note(const talk_results_t *r, const char *fmt, ...)
{
    char line[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* Judges read a value more than once; say it once. */
    if (r->notes->buf) {
        for (const char *p = r->notes->buf; (p = strstr(p, line)); p++)
            if ((p == r->notes->buf || p[-1] == '\n') &&
                p[strlen(line)] == '\n')
                return;
    }
    size_t add = strlen(line) + 1;
    r->notes->buf = xrealloc(r->notes->buf, r->notes->len + add + 1);
    memcpy(r->notes->buf + r->notes->len, line, add - 1);
    r->notes->len += add;
    r->notes->buf[r->notes->len - 1] = '\n';
    r->notes->buf[r->notes->len] = '\0';
}

talk_results_t *talk_results_synthetic(bool quick)
{
    return results_new(quick);
}

static tr_cell_t *cell_find_exact(talk_results_t *r, const char *step,
                                  const char *system, const char *params)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->cells[i].step, step) == 0 &&
            strcmp(r->cells[i].system, system) == 0 &&
            strcmp(r->cells[i].params, params) == 0)
            return &r->cells[i];
    return NULL;
}

void talk_results_add(talk_results_t *r, const char *step, const char *system,
                      const char *where, const char *metric,
                      const double *values, size_t n)
{
    char *params = norm_params(where);
    tr_cell_t *c = cell_find_exact(r, step, system, params);
    if (!c)
        c = cell_new(r, step, system, params);
    free(params);
    metric_add(c, metric, values, n, 0x7a1c + r->n * 131 + c->nm);
    if (n > c->n_ok) {
        c->n_measured += n - c->n_ok;
        c->counts[REP_OK] = c->n_ok = n;
    }
}

void talk_results_add_missing(talk_results_t *r, const char *step,
                              const char *system, const char *where,
                              const char *status, const char *reason)
{
    char *params = norm_params(where);
    tr_cell_t *c = cell_find_exact(r, step, system, params);
    if (!c)
        c = cell_new(r, step, system, params);
    free(params);
    free(c->status);
    free(c->reason);
    c->status = xstrdup(status ? status : "absent");
    c->reason = reason ? xstrdup(reason) : NULL;
    c->n_ok = 0;
    memset(c->counts, 0, sizeof c->counts);
    int o = outcome_index(c->status);
    c->n_measured = o >= 0 ? 1 : 0;
    if (o >= 0)
        c->counts[o] = 1;
}

void talk_results_add_outcomes(talk_results_t *r, const char *step,
                               const char *system, const char *where,
                               const char *outcome, size_t n,
                               const char *reason)
{
    int o = outcome_index(outcome);
    if (o < 0 || o == REP_OK || n == 0)
        return; /* ok repetitions come with their figures: talk_results_add */
    char *params = norm_params(where);
    tr_cell_t *c = cell_find_exact(r, step, system, params);
    if (!c)
        c = cell_new(r, step, system, params);
    free(params);
    c->counts[o] += n;
    c->n_measured += n;
    if (!c->reason && reason)
        c->reason = xstrdup(reason);
    if (c->n_ok == 0) {
        int worst = -1;
        for (int k = 0; k < REP_OUTCOME_COUNT; k++)
            if (k != REP_OK && c->counts[k] &&
                (worst < 0 || c->counts[k] > c->counts[worst]))
                worst = k;
        free(c->status);
        c->status = xstrdup(rep_outcome_name((rep_outcome_t)worst));
    }
}

talk_results_t *talk_results_load(const talk_check_t *chk,
                                  const char *checkdir, bool quick, char *err,
                                  size_t errlen)
{
    talk_results_t *r = results_new(quick);
    for (size_t s = 0; s < chk->nsteps; s++) {
        char path[4200], runs[4300];
        snprintf(path, sizeof path, "%s/%s", checkdir, chk->steps[s].name);
        snprintf(runs, sizeof runs, "%s/runs.jsonl", path);
        struct stat st;
        if (stat(runs, &st) < 0)
            continue; /* not run: talk_get says so */
        res_set_t set;
        res_summary_t sum;
        if (results_load(path, true, &set, err, errlen) < 0) {
            results_free(&set);
            talk_results_free(r);
            return NULL;
        }
        if (results_summarise(&set, &sum) < 0) {
            snprintf(err, errlen, "%s: out of memory", path);
            results_summary_free(&sum);
            results_free(&set);
            talk_results_free(r);
            return NULL;
        }
        for (size_t i = 0; i < sum.ncells; i++) {
            const res_cell_t *rc = &sum.cells[i];
            /* The cell id is "model workload k=v ..."; keep " k=v ...". */
            const char *p = strchr(rc->first->cell, ' ');
            p = p ? strchr(p + 1, ' ') : NULL;
            tr_cell_t *c =
                cell_new(r, chk->steps[s].name, rc->first->model, p ? p : "");
            size_t measured = 0;
            int worst = -1;
            for (int o = 0; o < REP_OUTCOME_COUNT; o++) {
                measured += rc->counts[o];
                if (o != REP_OK &&
                    (worst < 0 || rc->counts[o] > rc->counts[worst]))
                    worst = o;
            }
            c->n_ok = rc->counts[REP_OK];
            c->n_measured = measured;
            memcpy(c->counts, rc->counts, sizeof c->counts);
            if (rc->reason)
                c->reason = xstrdup(rc->reason);
            if (c->n_ok == 0) {
                free(c->status);
                c->status = xstrdup(
                    measured ? rep_outcome_name((rep_outcome_t)worst)
                             : "absent");
                if (!measured && !c->reason)
                    c->reason = xstrdup("no measured repetition");
            }
            for (size_t k = 0; k < rc->nm; k++) {
                const res_mvals_t *mv = &rc->m[k];
                tr_metric_t *m =
                    metric_add(c, mv->name, mv->v, mv->n, 0x5eed + i * 131 + k);
                /* The interval summary.csv shows, not a second draw. */
                m->st = mv->st;
            }
        }
        results_summary_free(&sum);
        results_free(&set);
    }
    return r;
}

/* Whether two "k=v" tokens say the same (numbers compared as numbers:
 * "1000" and "1e3"). */
static bool token_eq(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen == blen && memcmp(a, b, alen) == 0)
        return true;
    const char *ea = memchr(a, '=', alen), *eb = memchr(b, '=', blen);
    if (!ea || !eb || ea - a != eb - b || memcmp(a, b, (size_t)(ea - a)))
        return false;
    char va[128], vb[128];
    size_t la = alen - (size_t)(ea + 1 - a), lb = blen - (size_t)(eb + 1 - b);
    if (la >= sizeof va || lb >= sizeof vb || !la || !lb)
        return false;
    memcpy(va, ea + 1, la);
    va[la] = '\0';
    memcpy(vb, eb + 1, lb);
    vb[lb] = '\0';
    char *enda, *endb;
    errno = 0;
    double x = strtod(va, &enda), y = strtod(vb, &endb);
    return !*enda && !*endb && errno == 0 && x == y;
}

/* Every token of where is among the cell's parameters (a model's
 * parameter is written "model.k=v" in the cell and may be asked as
 * "k=v"). */
static bool params_match(const char *params, const char *where)
{
    const char *w = where ? where : "";
    while (*w) {
        while (*w == ' ')
            w++;
        if (!*w)
            break;
        size_t wl = strcspn(w, " ");
        bool found = false;
        for (const char *p = params; *p && !found;) {
            while (*p == ' ')
                p++;
            size_t pl = strcspn(p, " ");
            if (pl) {
                found = token_eq(p, pl, w, wl) ||
                        (pl > 6 && strncmp(p, "model.", 6) == 0 &&
                         token_eq(p + 6, pl - 6, w, wl));
            }
            p += pl;
        }
        if (!found)
            return false;
        w += wl;
    }
    return true;
}

static talk_value_t missing(const char *status, const char *reason)
{
    return (talk_value_t){.ok = false, .status = status, .reason = reason,
                          .median = NAN, .lo = NAN, .hi = NAN};
}

/* The one cell of step for system whose parameters include where; NULL
 * (and a note) when none or several match. */
static const tr_cell_t *find_cell(const talk_results_t *r, const char *step,
                                  const char *system, const char *where,
                                  size_t *nhit, bool *step_seen)
{
    const tr_cell_t *hit = NULL;
    *nhit = 0;
    *step_seen = false;
    for (size_t i = 0; i < r->n; i++) {
        const tr_cell_t *c = &r->cells[i];
        if (strcmp(c->step, step) != 0)
            continue;
        *step_seen = true;
        if (strcmp(c->system, system) == 0 && params_match(c->params, where)) {
            hit = c;
            (*nhit)++;
        }
    }
    const char *w = where && *where ? where : "(any)";
    if (*nhit > 1) {
        note(r, "%s %s where %s: %zu cells match; the check must name one",
             step, system, w, *nhit);
        return NULL;
    }
    if (!hit) {
        if (!*step_seen)
            note(r, "step %s has no results: it was not run", step);
        else
            note(r, "step %s has no cell %s where %s", step, system, w);
    }
    return hit;
}

int talk_count(const talk_results_t *r, const char *step, const char *system,
               const char *where, const char *outcome, int *measured,
               const char **reason)
{
    if (measured)
        *measured = 0;
    if (reason)
        *reason = NULL;
    int o = outcome_index(outcome);
    if (!r || !step || !system || o < 0)
        return -1;
    size_t nhit;
    bool step_seen;
    const tr_cell_t *c = find_cell(r, step, system, where, &nhit, &step_seen);
    if (!c)
        return -1;
    if (measured)
        *measured = (int)c->n_measured;
    if (reason)
        *reason = c->reason;
    return (int)c->counts[o];
}

talk_value_t talk_get(const talk_results_t *r, const char *step,
                      const char *system, const char *where,
                      const char *metric)
{
    if (!r || !step || !system || !metric)
        return missing("absent", "talk_get: no results, step, system or "
                                 "metric");
    bool step_seen = false;
    size_t nhit = 0;
    const tr_cell_t *hit = find_cell(r, step, system, where, &nhit,
                                     &step_seen);
    if (!hit)
        return missing(nhit > 1 ? "ambiguous" : "absent",
                       nhit > 1    ? "several cells match; the check must "
                                     "name one"
                       : step_seen ? "no such cell in the step"
                                   : "the step was not run");
    if (hit->n_ok == 0)
        return missing(hit->status, hit->reason);
    const tr_metric_t *m = NULL;
    for (size_t k = 0; k < hit->nm; k++)
        if (strcmp(hit->m[k].name, metric) == 0)
            m = &hit->m[k];
    if (!m || m->n == 0) {
        note(r, "%s %s%s: no metric %s", step, system, hit->params, metric);
        return missing("absent", "the cell does not report this metric");
    }
    if (hit->n_ok < hit->n_measured)
        note(r, "%s %s%s: %zu of %zu repetitions failed (%s)", step, system,
             hit->params, hit->n_measured - hit->n_ok, hit->n_measured,
             hit->reason ? hit->reason : "no reason recorded");
    if (m->n < 2)
        note(r, "%s %s%s %s: %zu successful repetition, no interval (the "
                "bootstrap needs two)",
             step, system, hit->params, metric, m->n);
    return (talk_value_t){.ok = true, .median = m->st.median,
                          .lo = m->st.ci_lo, .hi = m->st.ci_hi, .n = m->n};
}

/* ---- the rules ---- */

static bool has_interval(talk_value_t v)
{
    return v.n >= 2 && isfinite(v.median) && !isnan(v.lo) && !isnan(v.hi) &&
           v.lo <= v.hi;
}

/* x / y for non-negative x and y: a positive x over 0 is +inf, 0 / 0 NaN. */
static double ratio_of(double x, double y)
{
    if (y > 0)
        return x / y;
    return x > 0 ? INFINITY : NAN;
}

/* The interval of a / b end to end, or false when it has no meaning. */
static bool ratio_interval(talk_value_t a, talk_value_t b, double *lo,
                           double *hi, double *ratio)
{
    *ratio = a.ok && b.ok ? ratio_of(a.median, b.median) : NAN;
    if (!has_interval(a) || !has_interval(b) || a.lo < 0 || b.lo < 0)
        return false;
    *lo = ratio_of(a.lo, b.hi);
    *hi = ratio_of(a.hi, b.lo);
    return !isnan(*lo) && !isnan(*hi);
}

static talk_verdict_t on_interval(double lo, double hi, double bound,
                                  bool at_most)
{
    if (isnan(bound))
        return TALK_INCONCLUSIVE;
    if (at_most)
        return hi <= bound ? TALK_HOLDS
               : lo > bound ? TALK_NOT_HERE
                            : TALK_INCONCLUSIVE;
    return lo >= bound ? TALK_HOLDS
           : hi < bound ? TALK_NOT_HERE
                        : TALK_INCONCLUSIVE;
}

static talk_verdict_t ratio_rule(talk_value_t a, talk_value_t b, double bound,
                                 double *ratio, bool at_most)
{
    double r = NAN, lo = NAN, hi = NAN;
    bool ok = ratio_interval(a, b, &lo, &hi, &r);
    if (ratio)
        *ratio = r;
    if (!a.ok || !b.ok)
        return TALK_CANNOT_SHOW;
    if (!ok)
        return TALK_INCONCLUSIVE;
    return on_interval(lo, hi, bound, at_most);
}

talk_verdict_t talk_ratio_at_most(talk_value_t a, talk_value_t b,
                                  double bound, double *ratio)
{
    return ratio_rule(a, b, bound, ratio, true);
}

talk_verdict_t talk_ratio_at_least(talk_value_t a, talk_value_t b,
                                   double bound, double *ratio)
{
    return ratio_rule(a, b, bound, ratio, false);
}

talk_verdict_t talk_value_at_most(talk_value_t a, double bound)
{
    if (!a.ok)
        return TALK_CANNOT_SHOW;
    if (!has_interval(a))
        return TALK_INCONCLUSIVE;
    return on_interval(a.lo, a.hi, bound, true);
}

talk_verdict_t talk_value_at_least(talk_value_t a, double bound)
{
    if (!a.ok)
        return TALK_CANNOT_SHOW;
    if (!has_interval(a))
        return TALK_INCONCLUSIVE;
    return on_interval(a.lo, a.hi, bound, false);
}

talk_verdict_t talk_all(const talk_verdict_t *v, size_t n)
{
    static const talk_verdict_t precedence[] = {
        TALK_CANNOT_SHOW, TALK_NOT_HERE, TALK_INCONCLUSIVE};
    for (size_t p = 0; p < sizeof precedence / sizeof precedence[0]; p++)
        for (size_t i = 0; i < n; i++)
            if (v[i] == precedence[p])
                return precedence[p];
    for (size_t i = 0; i < n; i++)
        if (v[i] != TALK_HOLDS)
            return TALK_INCONCLUSIVE; /* not a verdict: never holds */
    return TALK_HOLDS;
}

/* ---- what a judge writes ---- */

void talk_judge(talk_judgement_t *j, talk_verdict_t v, const char *fmt, ...)
{
    j->verdict = v;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->why, sizeof j->why, fmt, ap);
    va_end(ap);
}

void talk_figure(talk_judgement_t *j, const char *fmt, ...)
{
    if (j->nfigures >= sizeof j->figures / sizeof j->figures[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->figures[j->nfigures++], sizeof j->figures[0], fmt, ap);
    va_end(ap);
}

/* Three significant digits without an exponent below a million. */
static void sig3(char *buf, size_t len, double v, const char *unit,
                 const char *sep)
{
    double a = fabs(v);
    int prec = a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3;
    if (a >= 1e6 || (a > 0 && a < 0.001))
        snprintf(buf, len, "%.3g%s%s", v, sep, unit);
    else
        snprintf(buf, len, "%.*f%s%s", prec, v, sep, unit);
}

const char *talk_fmt(char *buf, size_t len, double v, const char *unit)
{
    if (!buf || !len)
        return "";
    const char *u = unit ? unit : "";
    if (isnan(v)) {
        snprintf(buf, len, "n/a");
        return buf;
    }
    if (isinf(v)) {
        snprintf(buf, len, "%sinf%s%s", v < 0 ? "-" : "", *u ? " " : "", u);
        return buf;
    }
    double a = fabs(v);
    if (strcmp(u, "ns") == 0 || strcmp(u, "s") == 0) {
        double ns = strcmp(u, "s") == 0 ? v * 1e9 : v;
        a = fabs(ns);
        if (a < 1e3)
            sig3(buf, len, ns, "ns", " ");
        else if (a < 1e6)
            sig3(buf, len, ns / 1e3, "µs", " ");
        else if (a < 1e9)
            sig3(buf, len, ns / 1e6, "ms", " ");
        else
            sig3(buf, len, ns / 1e9, "s", " ");
    } else if (strcmp(u, "B") == 0) {
        if (a < 1024)
            snprintf(buf, len, "%.0f B", v);
        else if (a < 1024.0 * 1024)
            sig3(buf, len, v / 1024, "KiB", " ");
        else if (a < 1024.0 * 1024 * 1024)
            sig3(buf, len, v / (1024.0 * 1024), "MiB", " ");
        else
            sig3(buf, len, v / (1024.0 * 1024 * 1024), "GiB", " ");
    } else if (strcmp(u, "x") == 0 || strcmp(u, "%") == 0) {
        sig3(buf, len, v, u, "");
    } else {
        sig3(buf, len, v, u, *u ? " " : "");
    }
    return buf;
}

const char *talk_why_missing(char *buf, size_t len, const char *system,
                             talk_value_t v)
{
    if (!buf || !len)
        return "";
    if (v.ok)
        snprintf(buf, len, "%s: ran", system ? system : "?");
    else if (v.reason && *v.reason)
        snprintf(buf, len, "%s: %s (%s)", system ? system : "?",
                 v.status ? v.status : "absent", v.reason);
    else
        snprintf(buf, len, "%s: %s", system ? system : "?",
                 v.status ? v.status : "absent");
    return buf;
}
