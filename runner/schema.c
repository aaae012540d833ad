/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * The schema of a run record, checked on every line a reader takes in,
 * and what to say about a file that is not a results file at all.
 *
 * A summary is only as honest as the rows under it: one duplicated line
 * turns `--reps 3` into n = 4, a negative time or a repetition numbered
 * 1.5 produces statistics that look like any others.  So a reader refuses
 * a row that no concbench writer could have written, naming the file,
 * the line and the field, rather than skipping it quietly (a skipped row
 * is a silently smaller n) or repairing it (a guess).
 *
 * Invariants:
 *   - every field the reader uses has the type and range a writer gives
 *     it: model, workload and outcome are non-empty strings and the
 *     outcome is one concbench knows; rep, order and seed are
 *     non-negative integers; warmup and quick are booleans; wall_s is a
 *     non-negative number; reason, label and stderr_tail are strings
 *     (or null);
 *   - a metric is a number, null (a value the writer could not compute:
 *     JSON has no NaN) or a histogram object of non-negative numbers with
 *     [lo, hi, count] buckets, lo <= hi; a counter is a non-negative
 *     integer; a series is an array of [t, value] points;
 *   - metrics are non-negative, because each is a count, a time, a size,
 *     a rate or a ratio of those, except the few that are a difference
 *     or a workload's computed answer (signed_metrics below);
 *   - a repetition is recorded once: (cell, warm-up or not, rep) is
 *     unique in a file, except that a repetition recorded as "skipped"
 *     (a spent time budget) is superseded by the record `--resume` later
 *     appends for it.
 *
 * Fields the reader does not use (window, placement, machine facts, a
 * newer writer's additions) are not checked beyond being valid JSON: a
 * reader that refuses what it does not need blocks results for nothing.
 *
 * Rejected: skipping bad rows with a warning (a warning scrolls away, the
 * smaller n stays), and a JSON Schema document with a general validator
 * here (a dependency for a dozen fields, and its messages name schema
 * paths a user does not know).  The same rules are published for other
 * tools as docs/results.schema.json; tests/test_json_hygiene.py checks
 * the lines the runner writes against it, so the two cannot drift.
 */
#include "runner/results.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Metrics that may be negative: a difference of two measured means (the
 * cost per skipped message is the loaded minus the empty receive time;
 * selective-receive now floors it at 0, but results written before that
 * hold negative ones where noise beat a backlog that costs nothing), a
 * workload's computed answer, whatever the workload computes, and bank's
 * units lost to a race (negative when the race created units). */
static const char *const signed_metrics[] = {"ns_per_skipped_msg", "result",
                                             "lost_units"};

static bool is_signed_metric(const char *name)
{
    for (size_t i = 0; i < sizeof signed_metrics / sizeof *signed_metrics;
         i++)
        if (strcmp(name, signed_metrics[i]) == 0)
            return true;
    return false;
}

static const char *kind_name(const jv_t *v)
{
    static const char *const names[] = {"null",   "a boolean", "a number",
                                        "text",   "an array",  "an object"};
    return names[v->kind];
}

/* A non-negative integer below lim in field key (absent allowed when
 * optional); 0, or -1 with the reason in why. */
static int want_count(const jv_t *rec, const char *key, double lim,
                      bool optional, char *why, size_t len)
{
    const jv_t *v = jv_get(rec, key);
    if (!v) {
        if (optional)
            return 0;
        snprintf(why, len, "no \"%s\"", key);
        return -1;
    }
    if (v->kind != JV_NUM) {
        snprintf(why, len, "\"%s\" is %s, not a number", key, kind_name(v));
        return -1;
    }
    if (v->num < 0 || v->num != floor(v->num) || v->num >= lim) {
        snprintf(why, len,
                 "\"%s\" is %.17g, not an integer in 0..%.0f", key, v->num,
                 lim - 1);
        return -1;
    }
    return 0;
}

static int want_kind(const jv_t *rec, const char *key, jv_kind_t kind,
                     bool null_ok, char *why, size_t len)
{
    const jv_t *v = jv_get(rec, key);
    if (!v || v->kind == kind || (null_ok && v->kind == JV_NULL))
        return 0;
    static const char *const want[] = {"null",   "a boolean", "a number",
                                       "text",   "an array",  "an object"};
    snprintf(why, len, "\"%s\" is %s, not %s", key, kind_name(v), want[kind]);
    return -1;
}

static int want_name(const jv_t *rec, const char *key, char *why, size_t len)
{
    const jv_t *v = jv_get(rec, key);
    if (!v || v->kind != JV_STR || !v->str[0]) {
        snprintf(why, len, "\"%s\" is %s, not a name", key,
                 v ? (v->kind == JV_STR ? "empty" : kind_name(v)) : "missing");
        return -1;
    }
    return 0;
}

static const char *const hist_fields[] = {"count", "min", "mean", "p50",
                                          "p90",   "p99", "p999", "max"};

static int check_hist(const char *name, const jv_t *h, char *why, size_t len)
{
    for (size_t k = 0; k < sizeof hist_fields / sizeof *hist_fields; k++) {
        const jv_t *v = jv_get(h, hist_fields[k]);
        if (!v || v->kind == JV_NULL)
            continue;
        if (v->kind != JV_NUM || v->num < 0) {
            snprintf(why, len, "metric \"%.60s.%s\" is %s%s", name,
                     hist_fields[k], kind_name(v),
                     v->kind == JV_NUM ? " below zero" : ", not a number");
            return -1;
        }
    }
    const jv_t *b = jv_get(h, "buckets");
    if (!b)
        return 0;
    if (b->kind != JV_ARR) {
        snprintf(why, len, "metric \"%.60s\": \"buckets\" is %s, not an array",
                 name, kind_name(b));
        return -1;
    }
    for (size_t i = 0; i < b->n; i++) {
        const jv_t *t = &b->items[i];
        bool ok = t->kind == JV_ARR && t->n == 3;
        for (size_t k = 0; ok && k < 3; k++)
            ok = t->items[k].kind == JV_NUM && t->items[k].num >= 0;
        if (ok)
            ok = t->items[0].num <= t->items[1].num;
        if (!ok) {
            snprintf(why, len,
                     "metric \"%.60s\": bucket %zu is not [lo, hi, count] "
                     "with 0 <= lo <= hi and count >= 0",
                     name, i);
            return -1;
        }
    }
    return 0;
}

static int check_metrics(const jv_t *m, char *why, size_t len)
{
    for (size_t i = 0; i < m->n; i++) {
        const char *name = m->keys[i];
        const jv_t *v = &m->items[i];
        if (v->kind == JV_NULL)
            continue;
        if (v->kind == JV_OBJ) {
            if (check_hist(name, v, why, len) < 0)
                return -1;
            continue;
        }
        if (v->kind != JV_NUM) {
            snprintf(why, len, "metric \"%.60s\" is %s, not a number", name,
                     kind_name(v));
            return -1;
        }
        if (v->num < 0 && !is_signed_metric(name)) {
            snprintf(why, len,
                     "metric \"%.60s\" is %.17g: below zero, which no count, "
                     "time, size or rate can be",
                     name, v->num);
            return -1;
        }
    }
    return 0;
}

static int check_counters(const jv_t *c, char *why, size_t len)
{
    for (size_t i = 0; i < c->n; i++) {
        const jv_t *v = &c->items[i];
        if (v->kind != JV_NUM || v->num < 0 || v->num != floor(v->num)) {
            snprintf(why, len,
                     "counter \"%.60s\" is %s, not a non-negative integer",
                     c->keys[i], v->kind == JV_NUM ? "fractional or negative"
                                                   : kind_name(v));
            return -1;
        }
    }
    return 0;
}

static int check_series(const jv_t *s, char *why, size_t len)
{
    for (size_t i = 0; i < s->n; i++) {
        const jv_t *pts = &s->items[i];
        bool ok = pts->kind == JV_ARR;
        for (size_t p = 0; ok && p < pts->n; p++) {
            const jv_t *pt = &pts->items[p];
            ok = pt->kind == JV_ARR && pt->n == 2 &&
                 pt->items[0].kind == JV_NUM && pt->items[0].num >= 0 &&
                 (pt->items[1].kind == JV_NUM ||
                  pt->items[1].kind == JV_NULL);
        }
        if (!ok) {
            snprintf(why, len,
                     "series \"%.60s\" is not an array of [t >= 0, value] "
                     "points",
                     s->keys[i]);
            return -1;
        }
    }
    return 0;
}

int results_check_run(const jv_t *rec, char *why, size_t len)
{
    if (want_name(rec, "model", why, len) < 0 ||
        want_name(rec, "workload", why, len) < 0 ||
        want_name(rec, "outcome", why, len) < 0)
        return -1;
    const char *outcome = jv_str(jv_get(rec, "outcome"));
    bool known = false;
    for (int o = 0; o < REP_OUTCOME_COUNT; o++)
        known |= strcmp(outcome, rep_outcome_name((rep_outcome_t)o)) == 0;
    if (!known) {
        snprintf(why, len, "unknown outcome \"%.40s\"", outcome);
        return -1;
    }
    if (want_count(rec, "rep", 1e6, false, why, len) < 0 ||
        want_count(rec, "order", 1e9, true, why, len) < 0 ||
        want_count(rec, "seed", 18446744073709551616.0, true, why, len) < 0 ||
        want_kind(rec, "warmup", JV_BOOL, false, why, len) < 0 ||
        want_kind(rec, "quick", JV_BOOL, false, why, len) < 0 ||
        want_kind(rec, "label", JV_STR, false, why, len) < 0 ||
        want_kind(rec, "reason", JV_STR, true, why, len) < 0 ||
        want_kind(rec, "stderr_tail", JV_STR, true, why, len) < 0 ||
        want_kind(rec, "wall_s", JV_NUM, true, why, len) < 0 ||
        want_kind(rec, "metrics", JV_OBJ, false, why, len) < 0 ||
        want_kind(rec, "counters", JV_OBJ, false, why, len) < 0 ||
        want_kind(rec, "series", JV_OBJ, false, why, len) < 0)
        return -1;
    double wall;
    if (jv_num(jv_get(rec, "wall_s"), &wall) && wall < 0) {
        snprintf(why, len, "\"wall_s\" is %.17g: below zero", wall);
        return -1;
    }
    const jv_t *m = jv_get(rec, "metrics");
    const jv_t *c = jv_get(rec, "counters");
    const jv_t *s = jv_get(rec, "series");
    if ((m && check_metrics(m, why, len) < 0) ||
        (c && check_counters(c, why, len) < 0) ||
        (s && check_series(s, why, len) < 0))
        return -1;
    return 0;
}

/* Runs sorted by (cell, warm-up, rep, line): a repeated repetition is
 * two neighbours. */
static int cmp_slot(const void *a, const void *b)
{
    const res_run_t *x = *(const res_run_t *const *)a;
    const res_run_t *y = *(const res_run_t *const *)b;
    int c = strcmp(x->cell, y->cell);
    if (c)
        return c;
    if (x->warmup != y->warmup)
        return x->warmup - y->warmup;
    if (x->rep != y->rep)
        return (x->rep > y->rep) - (x->rep < y->rep);
    return (x->lineno > y->lineno) - (x->lineno < y->lineno);
}

int results_finish_runs(res_set_t *s, const char *path, char *err,
                        size_t errlen)
{
    res_run_t **v = malloc((s->nruns + 1) * sizeof *v);
    bool *drop = calloc(s->nruns + 1, sizeof *drop);
    if (!v || !drop) {
        free(v);
        free(drop);
        return results_error(err, errlen, "%s: out of memory", path);
    }
    for (size_t i = 0; i < s->nruns; i++)
        v[i] = &s->runs[i];
    if (s->nruns > 1)
        qsort(v, s->nruns, sizeof *v, cmp_slot);
    int rc = 0;
    for (size_t i = 1; i < s->nruns && rc == 0; i++) {
        const res_run_t *a = v[i - 1], *b = v[i];
        if (strcmp(a->cell, b->cell) != 0 || a->warmup != b->warmup ||
            a->rep != b->rep)
            continue;
        if (strcmp(a->outcome, "skipped") == 0) {
            drop[a - s->runs] = true; /* superseded by --resume's record */
            continue;
        }
        const char *what = b->label ? b->label : b->cell;
        if (a->lineno && b->lineno)
            rc = results_error(
                err, errlen,
                "%.4000s:%zu: %s %d of \"%.200s\" is already recorded at "
                "line %zu; a results file holds each repetition once "
                "(delete one of the two lines, or rerun the cell)",
                path, b->lineno, b->warmup ? "warm-up" : "repetition", b->rep,
                what, a->lineno);
        else
            rc = results_error(err, errlen,
                               "%.4000s: \"%.200s\" appears twice (time %d)",
                               path, what, b->rep);
    }
    free(v);
    if (rc == 0) {
        size_t k = 0;
        for (size_t i = 0; i < s->nruns; i++) {
            if (drop[i])
                jv_free(s->runs[i].line);
            else
                s->runs[k++] = s->runs[i];
        }
        s->nruns = k;
        /* Only now that the array no longer moves may a label point at
         * its own run's cell id. */
        for (size_t i = 0; i < s->nruns; i++)
            if (!s->runs[i].label)
                s->runs[i].label = s->runs[i].cell;
    }
    free(drop);
    return rc;
}

/* The first line of buf, printable and cut to 60 characters. */
static void first_line(const char *buf, size_t len, char *out, size_t outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < len && buf[i] != '\n' && o + 4 < outlen; i++) {
        if (o == 60) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        unsigned char c = (unsigned char)buf[i];
        out[o++] = c < ' ' || c == 0x7f ? '?' : (char)c;
    }
    out[o] = '\0';
}

void results_what_is(const char *path, const char *buf, size_t len,
                     const jv_t *doc, const char *perr, char *out,
                     size_t outlen)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (len == 0) {
        snprintf(out, outlen, "an empty file");
        return;
    }
    size_t binary = 0, scan = len < 4096 ? len : 4096;
    for (size_t i = 0; i < scan; i++) {
        unsigned char c = (unsigned char)buf[i];
        binary += c == 0 || (c < ' ' && c != '\n' && c != '\r' && c != '\t');
    }
    if (binary) {
        snprintf(out, outlen, "a binary file, not JSON");
        return;
    }
    const char *type = jv_str(jv_get(doc, "type"));
    if (strcmp(base, "runs.jsonl") == 0 ||
        (!doc && buf[0] == '{' && memchr(buf, '\n', len) &&
         strstr(buf, "\"schema_version\""))) {
        snprintf(out, outlen,
                 "the runs.jsonl of a results folder: give the folder "
                 "that holds it");
        return;
    }
    if (type && strcmp(type, "run") == 0 && jv_get(doc, "reps")) {
        snprintf(out, outlen,
                 "the JSON of one `concbench run`: compare, plot and summary "
                 "read a results folder (`concbench matrix -o DIR`) or a "
                 "hyperfine --export-json file");
        return;
    }
    if (type && strcmp(type, "machine") == 0) {
        snprintf(out, outlen,
                 "a machine description (machine.json): give the folder "
                 "that holds it");
        return;
    }
    if (doc) {
        snprintf(out, outlen, "JSON %s without a \"results\" array",
                 doc->kind == JV_OBJ ? "object" : "value");
        return;
    }
    size_t i = 0;
    while (i < len && strchr(" \t\r\n", buf[i]))
        i++;
    if (i < len && (buf[i] == '{' || buf[i] == '[')) {
        snprintf(out, outlen, "JSON that does not parse (%s)",
                 perr ? perr : "?");
        return;
    }
    char line[80];
    first_line(buf, len, line, sizeof line);
    snprintf(out, outlen, "a text file, not JSON (its first line: '%s')",
             line);
}
