/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Reading a results folder back, and writing the files derived from its
 * runs.jsonl.  The layout and its invariants are in results.h.
 *
 * Why derived files are regenerated from runs.jsonl rather than kept up
 * to date as repetitions finish: an interrupted and resumed matrix, an ab
 * run merged from rounds and a plain matrix then go through one code path,
 * and a summary can never disagree with the repetitions it summarises.
 */
#include "runner/results.h"
#include "runner/stats.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- reading ---- */

#define errf results_error

int results_error(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* Whole file into a NUL-terminated buffer; files over 1 GiB are refused
 * (a results file that large is not one concbench wrote). */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n + 65536 + 1 > cap) {
            size_t nc = cap ? cap * 2 : 1 << 17;
            if (nc > (1u << 30)) {
                free(buf);
                fclose(f);
                errno = EFBIG;
                return NULL;
            }
            char *nb = realloc(buf, nc);
            if (!nb) {
                free(buf);
                fclose(f);
                errno = ENOMEM;
                return NULL;
            }
            buf = nb;
            cap = nc;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
    }
    bool bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        errno = EIO;
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Append " k=v" for each member of obj, keys sorted, prefix before k. */
static bool append_params(char *out, size_t len, const jv_t *obj,
                          const char *prefix)
{
    if (!obj)
        return true;
    if (obj->kind != JV_OBJ || obj->n > 64)
        return false;
    char *keys[64];
    for (size_t i = 0; i < obj->n; i++)
        keys[i] = obj->keys[i];
    qsort(keys, obj->n, sizeof keys[0], cmp_str);
    for (size_t i = 0; i < obj->n; i++) {
        const jv_t *v = jv_get(obj, keys[i]);
        size_t used = strlen(out);
        int w;
        if (v->kind == JV_NUM)
            w = snprintf(out + used, len - used, " %s%s=%.17g", prefix, keys[i],
                         v->num);
        else if (v->kind == JV_STR)
            w = snprintf(out + used, len - used, " %s%s=%s", prefix, keys[i],
                         v->str);
        else
            return false;
        if (w < 0 || (size_t)w >= len - used)
            return false;
    }
    return true;
}

int results_cell_id(const jv_t *rec, char *out, size_t len)
{
    snprintf(out, len, "%s %s", jv_str(jv_get(rec, "model")),
             jv_str(jv_get(rec, "workload")));
    if (!append_params(out, len, jv_get(rec, "params"), "") ||
        !append_params(out, len, jv_get(rec, "model_params"), "model."))
        return -1;
    /* A merge of several machines stamps each run with its machine's
     * fingerprint (runner/shard.c): its cell is that machine's, so no
     * statistic pools two machines. */
    const char *fp = jv_str(jv_get(rec, "machine_fingerprint"));
    size_t used = strlen(out);
    if (fp && snprintf(out + used, len - used, " @%s", fp) >= (int)(len - used))
        return -1;
    return 0;
}

static int add_run(res_set_t *s, jv_t *line, const char *where,
                   size_t lineno, char *err, size_t errlen)
{
    if (s->nruns == s->cap) {
        size_t n = s->cap ? s->cap * 2 : 64;
        res_run_t *r = realloc(s->runs, n * sizeof *r);
        if (!r)
            return errf(err, errlen, "%s: out of memory", where);
        s->runs = r;
        s->cap = n;
    }
    res_run_t *r = &s->runs[s->nruns];
    memset(r, 0, sizeof *r);
    r->model = jv_str(jv_get(line, "model"));
    r->workload = jv_str(jv_get(line, "workload"));
    r->outcome = jv_str(jv_get(line, "outcome"));
    r->reason = jv_str(jv_get(line, "reason"));
    double rep = 0, order = -1;
    if (!jv_get(line, "model") || !jv_get(line, "workload") ||
        !jv_get(line, "outcome") || !jv_get(line, "rep"))
        return errf(err, errlen,
                    "%s: a run record needs model, workload, outcome and "
                    "rep",
                    where);
    char why[300];
    if (results_check_run(line, why, sizeof why) < 0)
        return errf(err, errlen, "%s: %s", where, why);
    jv_num(jv_get(line, "rep"), &rep);
    jv_num(jv_get(line, "order"), &order);
    const jv_t *w = jv_get(line, "warmup");
    r->warmup = w && w->kind == JV_BOOL && w->b;
    r->rep = (int)rep;
    r->order = order >= 0 && order < 1e9 ? (int)order : (int)s->nruns;
    const jv_t *m = jv_get(line, "metrics");
    if (m && m->kind != JV_OBJ)
        return errf(err, errlen, "%s: \"metrics\" is not an object", where);
    r->label = jv_str(jv_get(line, "label"));
    if (results_cell_id(line, r->cell, sizeof r->cell) < 0)
        return errf(err, errlen,
                    "%s: \"params\" must be an object of numbers and strings",
                    where);
    r->lineno = lineno;
    r->line = line;
    s->nruns++;
    return 0;
}

static int check_schema(const jv_t *v, const char *where, char *err,
                        size_t errlen)
{
    double sv;
    if (!v || v->kind != JV_OBJ)
        return errf(err, errlen, "%s: not a JSON object", where);
    if (!jv_num(jv_get(v, "schema_version"), &sv))
        return errf(err, errlen, "%s: no schema_version", where);
    if (sv != RESULTS_SCHEMA)
        return errf(err, errlen,
                    "%s: unknown schema_version %g (this concbench reads %d)",
                    where, sv, RESULTS_SCHEMA);
    return 0;
}

/* A hyperfine --export-json file: {"results": [{"command", "times",
 * "exit_codes"}, ...]}.  Each time becomes a repetition. */
static int load_hyperfine(jv_t *doc, const char *path, res_set_t *s, char *err,
                          size_t errlen)
{
    const jv_t *res = jv_get(doc, "results");
    if (!res || res->kind != JV_ARR)
        return errf(err, errlen,
                    "%s: not a concbench results folder nor a hyperfine "
                    "export (no \"results\" array)",
                    path);
    int order = 0;
    for (size_t i = 0; i < res->n; i++) {
        const jv_t *r = &res->items[i];
        const char *cmd = jv_str(jv_get(r, "command"));
        const jv_t *times = jv_get(r, "times");
        const jv_t *codes = jv_get(r, "exit_codes");
        if (!cmd || !times || times->kind != JV_ARR)
            return errf(err, errlen,
                        "%s: results[%zu] needs \"command\" and \"times\"",
                        path, i);
        for (size_t k = 0; k < times->n; k++) {
            double t, code = 0;
            if (!jv_num(&times->items[k], &t))
                return errf(err, errlen,
                            "%s: results[%zu].times[%zu] is "
                            "not a number",
                            path, i, k);
            if (codes && codes->kind == JV_ARR && k < codes->n)
                jv_num(&codes->items[k], &code);
            /* Rebuild a run record in our own schema and parse it, so
             * that the rest of the reader sees one kind of run. */
            res_line_t l;
            json_t *j = res_line_begin(&l, "run");
            if (!j)
                return errf(err, errlen, "out of memory");
            json_str(j, "model", cmd);
            json_str(j, "workload", "hyperfine");
            json_obj_begin(j, "params");
            json_obj_end(j);
            json_int(j, "rep", (int64_t)k);
            json_int(j, "order", order++);
            json_str(j, "outcome", code == 0 ? "ok" : "error");
            json_obj_begin(j, "metrics");
            json_f64(j, "wall_time_s", t);
            json_obj_end(j);
            if (res_line_end(&l, -1) < 0)
                return errf(err, errlen, "out of memory");
            jv_t *line = jv_parse(l.buf, l.len, err, errlen);
            free(l.buf);
            if (!line || add_run(s, line, path, 0, err, errlen) < 0) {
                jv_free(line);
                return -1;
            }
        }
    }
    return 0;
}

int results_parse_lines(const char *path, char *buf, size_t len,
                        bool tolerate_tail, res_set_t *s, char *err,
                        size_t errlen)
{
    size_t lineno = 0;
    for (size_t pos = 0; pos < len;) {
        char *nl = memchr(buf + pos, '\n', len - pos);
        lineno++;
        char where[4200];
        snprintf(where, sizeof where, "%.4000s:%zu", path, lineno);
        if (!nl) {
            if (tolerate_tail) {
                s->partial_tail = len - pos;
                break;
            }
            return errf(err, errlen,
                        "%s: truncated line (no newline at the end of the "
                        "file); the run that wrote it was interrupted: "
                        "`concbench matrix --resume` repairs it",
                        where);
        }
        size_t n = (size_t)(nl - (buf + pos));
        char perr[256];
        jv_t *v = jv_parse(buf + pos, n, perr, sizeof perr);
        pos += n + 1;
        if (!v)
            return errf(err, errlen, "%s: %s", where, perr);
        if (check_schema(v, where, err, errlen) < 0) {
            jv_free(v);
            return -1;
        }
        const char *type = jv_str(jv_get(v, "type"));
        if (type && strcmp(type, "matrix") == 0 && !s->header) {
            s->header = v;
        } else if (type && strcmp(type, "run") == 0) {
            if (add_run(s, v, where, lineno, err, errlen) < 0) {
                jv_free(v);
                return -1;
            }
        } else {
            /* The message quotes the type: format it before the free. */
            errf(err, errlen, "%s: unknown record type \"%.60s\"", where,
                 type ? type : "(none)");
            jv_free(v);
            return -1;
        }
    }
    return results_finish_runs(s, path, err, errlen);
}

int results_load(const char *path, bool tolerate_tail, res_set_t *s, char *err,
                 size_t errlen)
{
    memset(s, 0, sizeof *s);
    snprintf(s->dir, sizeof s->dir, "%s", path);
    struct stat st;
    if (stat(path, &st) < 0)
        return errf(err, errlen, "%s: %s", path, strerror(errno));
    char file[4200];
    size_t len;
    char *buf;
    if (S_ISREG(st.st_mode)) {
        if (!(buf = slurp(path, &len)))
            return errf(err, errlen, "%s: %s", path, strerror(errno));
        char perr[256], what[400];
        jv_t *doc = jv_parse(buf, len, perr, sizeof perr);
        const jv_t *res = jv_get(doc, "results");
        if (!res || res->kind != JV_ARR) {
            results_what_is(path, buf, len, doc, perr, what, sizeof what);
            free(buf);
            jv_free(doc);
            return errf(err, errlen,
                        "%s: not a results folder nor a hyperfine export: "
                        "%s",
                        path, what);
        }
        free(buf);
        int rc = load_hyperfine(doc, path, s, err, errlen);
        jv_free(doc);
        return rc < 0 ? rc : results_finish_runs(s, path, err, errlen);
    }
    if (!S_ISDIR(st.st_mode))
        return errf(err, errlen, "%s: not a results folder", path);
    snprintf(file, sizeof file, "%s/runs.jsonl", path);
    if (!(buf = slurp(file, &len))) {
        if (errno == ENOENT)
            return errf(err, errlen, "%s: not a results folder (no runs.jsonl)",
                        path);
        return errf(err, errlen, "%s: %s", file, strerror(errno));
    }
    int rc = results_parse_lines(file, buf, len, tolerate_tail, s, err, errlen);
    free(buf);
    if (rc < 0)
        return -1;
    snprintf(file, sizeof file, "%s/machine.json", path);
    if ((buf = slurp(file, &len))) {
        char perr[256];
        s->machine = jv_parse(buf, len, perr, sizeof perr);
        free(buf);
        if (!s->machine)
            return errf(err, errlen, "%s: %s", file, perr);
        if (check_schema(s->machine, file, err, errlen) < 0)
            return -1;
    } else if (errno != ENOENT) {
        return errf(err, errlen, "%s: %s", file, strerror(errno));
    }
    return 0;
}

void results_free(res_set_t *s)
{
    for (size_t i = 0; i < s->nruns; i++)
        jv_free(s->runs[i].line);
    free(s->runs);
    jv_free(s->machine);
    jv_free(s->header);
    memset(s, 0, sizeof *s);
}

static const char *const hist_fields[] = {"count", "min", "mean", "p50",
                                          "p90",   "p99", "p999", "max"};

void results_foreach_metric(const res_run_t *run,
                            void (*fn)(const char *, double, void *), void *arg)
{
    const jv_t *m = jv_get(run->line, "metrics");
    char name[160];
    for (size_t i = 0; m && m->kind == JV_OBJ && i < m->n; i++) {
        const jv_t *v = &m->items[i];
        double x;
        if (jv_num(v, &x)) {
            fn(m->keys[i], x, arg);
        } else if (v->kind == JV_OBJ) {
            for (size_t k = 0; k < 8; k++)
                if (jv_num(jv_get(v, hist_fields[k]), &x)) {
                    snprintf(name, sizeof name, "%s.%s", m->keys[i],
                             hist_fields[k]);
                    fn(name, x, arg);
                }
        }
    }
    const jv_t *c = jv_get(run->line, "counters");
    for (size_t i = 0; c && c->kind == JV_OBJ && i < c->n; i++) {
        double x;
        if (jv_num(&c->items[i], &x)) {
            snprintf(name, sizeof name, "counters.%s", c->keys[i]);
            fn(name, x, arg);
        }
    }
}

int results_append(int fd, const char *line, size_t len)
{
    /* One write(2) of the whole line on an O_APPEND descriptor: a reader
     * never sees two records interleaved, and an interruption leaves at
     * most one unterminated line, which --resume drops. */
    while (len > 0) {
        ssize_t n = write(fd, line, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        line += n;
        len -= (size_t)n;
    }
    return fsync(fd) < 0 ? -errno : 0;
}

json_t *res_line_begin(res_line_t *l, const char *type)
{
    memset(l, 0, sizeof *l);
    if (!(l->f = open_memstream(&l->buf, &l->len)))
        return NULL;
    json_init(&l->j, l->f, false);
    json_obj_begin(&l->j, NULL);
    if (type) {
        json_int(&l->j, "schema_version", RESULTS_SCHEMA);
        json_str(&l->j, "type", type);
    }
    return &l->j;
}

int res_line_end(res_line_t *l, int fd)
{
    json_obj_end(&l->j); /* ends the line: the object is at depth 0 */
    if (fclose(l->f) != 0) {
        free(l->buf);
        l->buf = NULL;
        return -ENOMEM;
    }
    if (fd < 0)
        return 0;
    int rc = results_append(fd, l->buf, l->len);
    free(l->buf);
    l->buf = NULL;
    return rc;
}

/* ---- the derived files ---- */

static res_cell_t *cell_for(res_summary_t *a, const res_run_t *r)
{
    for (size_t i = 0; i < a->ncells; i++)
        if (strcmp(a->cells[i].first->cell, r->cell) == 0)
            return &a->cells[i];
    if (a->ncells == a->cap) {
        size_t n = a->cap ? a->cap * 2 : 32;
        res_cell_t *c = realloc(a->cells, n * sizeof *c);
        if (!c)
            return NULL;
        a->cells = c;
        a->cap = n;
    }
    res_cell_t *c = &a->cells[a->ncells++];
    memset(c, 0, sizeof *c);
    c->first = r;
    return c;
}

static void add_value(const char *name, double v, void *arg)
{
    res_summary_t *a = arg;
    res_cell_t *c = a->cur;
    res_mvals_t *m = NULL;
    for (size_t i = 0; i < c->nm; i++)
        if (strcmp(c->m[i].name, name) == 0)
            m = &c->m[i];
    if (!m) {
        if (c->nm == c->capm) {
            size_t n = c->capm ? c->capm * 2 : 32;
            res_mvals_t *p = realloc(c->m, n * sizeof *p);
            if (!p) {
                a->oom = true;
                return;
            }
            c->m = p;
            c->capm = n;
        }
        m = &c->m[c->nm++];
        memset(m, 0, sizeof *m);
        snprintf(m->name, sizeof m->name, "%s", name);
    }
    if (m->n == m->cap) {
        size_t n = m->cap ? m->cap * 2 : 8;
        double *p = realloc(m->v, n * sizeof *p);
        if (!p) {
            a->oom = true;
            return;
        }
        m->v = p;
        m->cap = n;
    }
    m->v[m->n++] = v;
}

void results_summary_free(res_summary_t *a)
{
    for (size_t i = 0; i < a->ncells; i++) {
        for (size_t k = 0; k < a->cells[i].nm; k++)
            free(a->cells[i].m[k].v);
        free(a->cells[i].m);
    }
    free(a->cells);
}

static int cmp_cell_label(const void *x, const void *y)
{
    const res_cell_t *a = x, *b = y;
    int c = strcmp(a->first->label, b->first->label);
    return c ? c : strcmp(a->first->cell, b->first->cell);
}

int results_summarise(const res_set_t *set, res_summary_t *a)
{
    memset(a, 0, sizeof *a);
    for (size_t i = 0; i < set->nruns; i++) {
        const res_run_t *r = &set->runs[i];
        res_cell_t *c = cell_for(a, r);
        if (!c)
            return -1;
        if (r->warmup)
            continue;
        rep_outcome_t o = rep_outcome_parse(r->outcome);
        c->counts[o]++;
        if (o != REP_OK && !c->reason)
            c->reason = r->reason ? r->reason : r->outcome;
        if (o != REP_OK)
            continue;
        a->cur = c;
        results_foreach_metric(r, add_value, a);
        if (a->oom)
            return -1;
    }
    /* Cells in name order, whatever order they ran in. */
    if (a->ncells > 1)
        qsort(a->cells, a->ncells, sizeof *a->cells, cmp_cell_label);
    a->cur = NULL;
    for (size_t i = 0; i < a->ncells; i++)
        for (size_t m = 0; m < a->cells[i].nm; m++) {
            res_mvals_t *v = &a->cells[i].m[m];
            stats_summary(v->v, v->n, 0x5eed + i * 131 + m, &v->st);
        }
    return 0;
}

rep_outcome_t rep_outcome_parse(const char *s)
{
    for (int o = 0; o < REP_OUTCOME_COUNT; o++)
        if (strcmp(s, rep_outcome_name((rep_outcome_t)o)) == 0)
            return (rep_outcome_t)o;
    return REP_ERROR;
}

/* CSV field: quoted when it holds a comma, a quote or a line break. */
static void csv_str(FILE *f, const char *s)
{
    if (!s)
        return;
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s == '\n' || *s == '\r' ? ' ' : *s, f);
    }
    fputc('"', f);
}

static void csv_num(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.10g", v);
}

/* Union of parameter names over all runs, in first-seen order. */
typedef struct keys {
    char names[128][64];
    bool model[128];
    size_t n;
} keys_t;

static void collect_keys(keys_t *k, const jv_t *obj, bool model)
{
    for (size_t i = 0; obj && obj->kind == JV_OBJ && i < obj->n; i++) {
        bool seen = false;
        for (size_t j = 0; j < k->n; j++)
            if (k->model[j] == model && strcmp(k->names[j], obj->keys[i]) == 0)
                seen = true;
        if (!seen && k->n < 128 && strlen(obj->keys[i]) < 64) {
            snprintf(k->names[k->n], 64, "%s", obj->keys[i]);
            k->model[k->n++] = model;
        }
    }
}

static void write_param_cols(FILE *f, const keys_t *k, const res_run_t *r)
{
    for (size_t i = 0; i < k->n; i++) {
        fputc(',', f);
        const jv_t *v =
            jv_get(jv_get(r->line, k->model[i] ? "model_params" : "params"),
                   k->names[i]);
        if (v && v->kind == JV_NUM)
            csv_num(f, v->num);
        else if (v && v->kind == JV_STR)
            csv_str(f, v->str);
    }
}

static int cmp_order(const void *a, const void *b)
{
    const res_run_t *x = *(const res_run_t *const *)a;
    const res_run_t *y = *(const res_run_t *const *)b;
    return (x->order > y->order) - (x->order < y->order);
}

static bool counts_toward(const res_run_t *r)
{
    return !r->warmup && strcmp(r->outcome, "ok") == 0;
}

typedef struct bucket {
    double lo, hi, count;
} bucket_t;

static int cmp_bucket(const void *a, const void *b)
{
    return (((const bucket_t *)a)->lo > ((const bucket_t *)b)->lo) -
           (((const bucket_t *)a)->lo < ((const bucket_t *)b)->lo);
}

/* Merge the buckets of histogram `name` over a cell's measured runs and
 * write them with the cumulative fraction. */
static void write_hist(FILE *f, const res_set_t *s, const res_cell_t *c,
                       const char *name)
{
    bucket_t *b = NULL;
    size_t n = 0, cap = 0;
    for (size_t i = 0; i < s->nruns; i++) {
        const res_run_t *r = &s->runs[i];
        if (!counts_toward(r) || strcmp(r->cell, c->first->cell) != 0)
            continue;
        const jv_t *h =
            jv_get(jv_get(jv_get(r->line, "metrics"), name), "buckets");
        for (size_t k = 0; h && h->kind == JV_ARR && k < h->n; k++) {
            const jv_t *t = &h->items[k];
            double lo, hi, cnt;
            if (t->kind != JV_ARR || t->n != 3 || !jv_num(&t->items[0], &lo) ||
                !jv_num(&t->items[1], &hi) || !jv_num(&t->items[2], &cnt))
                continue;
            size_t j = 0;
            while (j < n && b[j].lo != lo)
                j++;
            if (j == n) {
                if (n == cap) {
                    size_t nc = cap ? cap * 2 : 256;
                    bucket_t *p = realloc(b, nc * sizeof *p);
                    if (!p)
                        goto out;
                    b = p;
                    cap = nc;
                }
                b[n++] = (bucket_t){lo, hi, 0};
            }
            b[j].count += cnt;
        }
    }
    if (n > 1)
        qsort(b, n, sizeof *b, cmp_bucket);
    double total = 0, acc = 0;
    for (size_t j = 0; j < n; j++)
        total += b[j].count;
    for (size_t j = 0; j < n && total > 0; j++) {
        acc += b[j].count;
        csv_str(f, c->first->model);
        fputc(',', f);
        csv_str(f, c->first->workload);
        fputc(',', f);
        csv_str(f, c->first->cell);
        fprintf(f, ",%s,%.0f,%.0f,%.0f,%.8f\n", name, b[j].lo, b[j].hi,
                b[j].count, acc / total);
    }
out:
    free(b);
}

typedef struct outfile {
    FILE *f;
    char tmp[4300], path[4300];
} outfile_t;

static bool out_open(outfile_t *o, const char *dir, const char *name)
{
    snprintf(o->path, sizeof o->path, "%s/%s", dir, name);
    o->f = outfile_open(o->path, o->tmp, sizeof o->tmp);
    return o->f != NULL;
}

static bool out_commit(outfile_t *o)
{
    return outfile_commit(o->f, o->tmp, o->path) == 0;
}

static void write_summary(FILE *f, const res_summary_t *a, const keys_t *k)
{
    fputs("model,workload,cell,metric,n,median,mean,min,max,mad,cv,ci_lo,"
          "ci_hi",
          f);
    for (size_t i = 0; i < k->n; i++)
        fprintf(f, ",%s%s", k->model[i] ? "model." : "", k->names[i]);
    fputc('\n', f);
    for (size_t i = 0; i < a->ncells; i++) {
        const res_cell_t *c = &a->cells[i];
        for (size_t m = 0; m < c->nm; m++) {
            const stats_t *st = &c->m[m].st;
            csv_str(f, c->first->model);
            fputc(',', f);
            csv_str(f, c->first->workload);
            fputc(',', f);
            csv_str(f, c->first->cell);
            fprintf(f, ",%s,%zu", c->m[m].name, st->n);
            double v[] = {st->median, st->mean, st->min,   st->max,
                          st->mad,    st->cv,   st->ci_lo, st->ci_hi};
            for (size_t j = 0; j < sizeof v / sizeof v[0]; j++) {
                fputc(',', f);
                csv_num(f, v[j]);
            }
            write_param_cols(f, k, c->first);
            fputc('\n', f);
        }
    }
}

static void write_cells(FILE *f, const res_summary_t *a, const keys_t *k)
{
    fputs("model,workload,cell", f);
    for (int o = 0; o < REP_OUTCOME_COUNT; o++)
        fprintf(f, ",%s", rep_outcome_name((rep_outcome_t)o));
    fputs(",reason", f);
    for (size_t i = 0; i < k->n; i++)
        fprintf(f, ",%s%s", k->model[i] ? "model." : "", k->names[i]);
    fputc('\n', f);
    for (size_t i = 0; i < a->ncells; i++) {
        const res_cell_t *c = &a->cells[i];
        csv_str(f, c->first->model);
        fputc(',', f);
        csv_str(f, c->first->workload);
        fputc(',', f);
        csv_str(f, c->first->cell);
        for (int o = 0; o < REP_OUTCOME_COUNT; o++)
            fprintf(f, ",%zu", c->counts[o]);
        fputc(',', f);
        csv_str(f, c->reason);
        write_param_cols(f, k, c->first);
        fputc('\n', f);
    }
}

const res_mvals_t *results_find_metric(const res_cell_t *c, const char *name)
{
    for (size_t i = 0; i < c->nm; i++)
        if (strcmp(c->m[i].name, name) == 0)
            return &c->m[i];
    return NULL;
}

typedef struct runs_ctx {
    FILE *f;
    const res_run_t *r;
    const res_cell_t *c;
} runs_ctx_t;

static void runs_row(const char *name, double v, void *arg)
{
    runs_ctx_t *x = arg;
    if (strncmp(name, "counters.", 9) == 0)
        return;
    const res_mvals_t *m = results_find_metric(x->c, name);
    double med = m ? m->st.median : NAN;
    fprintf(x->f, "%d,", x->r->order);
    csv_str(x->f, x->r->model);
    fputc(',', x->f);
    csv_str(x->f, x->r->workload);
    fputc(',', x->f);
    csv_str(x->f, x->r->cell);
    fprintf(x->f, ",%d,%s,", x->r->rep, name);
    csv_num(x->f, v);
    fputc(',', x->f);
    csv_num(x->f, med != 0 ? v / med : NAN);
    fputc('\n', x->f);
}

static void write_series(FILE *f, const res_set_t *s)
{
    fputs("model,workload,cell,rep,metric,t_ms,value\n", f);
    for (size_t i = 0; i < s->nruns; i++) {
        const res_run_t *r = &s->runs[i];
        const jv_t *ser = jv_get(r->line, "series");
        if (!counts_toward(r) || !ser || ser->kind != JV_OBJ)
            continue;
        for (size_t k = 0; k < ser->n; k++) {
            const jv_t *pts = &ser->items[k];
            for (size_t p = 0; pts->kind == JV_ARR && p < pts->n; p++) {
                const jv_t *pt = &pts->items[p];
                double t, v;
                if (pt->kind != JV_ARR || pt->n != 2 ||
                    !jv_num(&pt->items[0], &t) || !jv_num(&pt->items[1], &v))
                    continue;
                csv_str(f, r->model);
                fputc(',', f);
                csv_str(f, r->workload);
                fputc(',', f);
                csv_str(f, r->cell);
                fprintf(f, ",%d,%s,%.6f,", r->rep, ser->keys[k], t / 1e6);
                csv_num(f, v);
                fputc('\n', f);
            }
        }
    }
}

static void note_noisy(const res_summary_t *a, char *buf, size_t len)
{
    if (!buf)
        return;
    buf[0] = '\0';
    for (size_t i = 0; i < a->ncells; i++) {
        const res_mvals_t *m =
            results_find_metric(&a->cells[i], "throughput_ops_s");
        if (!m)
            m = results_find_metric(&a->cells[i], "elapsed_ns");
        if (!m || m->st.n < 2 || !(m->st.cv > NOISY_CV))
            continue;
        size_t n = strlen(buf);
        snprintf(buf + n, len - n, "%s: %s varies by %.0f%% (CV)\n",
                 a->cells[i].first->label, m->name, m->st.cv * 100);
    }
}

int results_finalize(const char *dir, char *noisy, size_t noisylen, char *err,
                     size_t errlen)
{
    res_set_t s;
    if (results_load(dir, true, &s, err, errlen) < 0) {
        results_free(&s);
        return -1;
    }
    res_summary_t a = {0};
    keys_t k = {0};
    int rc = -1;
    for (size_t i = 0; i < s.nruns; i++) {
        collect_keys(&k, jv_get(s.runs[i].line, "params"), false);
        collect_keys(&k, jv_get(s.runs[i].line, "model_params"), true);
    }
    if (results_summarise(&s, &a) < 0)
        goto oom;
    note_noisy(&a, noisy, noisylen);

    outfile_t o;
    if (!out_open(&o, dir, "summary.csv"))
        goto io;
    write_summary(o.f, &a, &k);
    if (!out_commit(&o))
        goto io;
    if (!out_open(&o, dir, "cells.csv"))
        goto io;
    write_cells(o.f, &a, &k);
    if (!out_commit(&o))
        goto io;

    if (!out_open(&o, dir, "runs.csv"))
        goto io;
    fputs("order,model,workload,cell,rep,metric,value,relative\n", o.f);
    const res_run_t **byorder = malloc((s.nruns + 1) * sizeof *byorder);
    if (!byorder) {
        fclose(o.f);
        unlink(o.tmp);
        goto oom;
    }
    for (size_t i = 0; i < s.nruns; i++)
        byorder[i] = &s.runs[i];
    qsort(byorder, s.nruns, sizeof *byorder, cmp_order);
    for (size_t i = 0; i < s.nruns; i++) {
        if (!counts_toward(byorder[i]))
            continue;
        runs_ctx_t x = {o.f, byorder[i], cell_for(&a, byorder[i])};
        results_foreach_metric(byorder[i], runs_row, &x);
    }
    free(byorder);
    if (!out_commit(&o))
        goto io;

    if (!out_open(&o, dir, "hist.csv"))
        goto io;
    fputs("model,workload,cell,metric,lo,hi,count,cdf\n", o.f);
    for (size_t i = 0; i < a.ncells; i++) {
        const jv_t *m = NULL;
        for (size_t r = 0; r < s.nruns && !m; r++)
            if (counts_toward(&s.runs[r]) &&
                strcmp(s.runs[r].cell, a.cells[i].first->cell) == 0)
                m = jv_get(s.runs[r].line, "metrics");
        for (size_t j = 0; m && m->kind == JV_OBJ && j < m->n; j++)
            if (jv_get(&m->items[j], "buckets"))
                write_hist(o.f, &s, &a.cells[i], m->keys[j]);
    }
    if (!out_commit(&o))
        goto io;

    if (!out_open(&o, dir, "series.csv"))
        goto io;
    write_series(o.f, &s);
    if (!out_commit(&o))
        goto io;
    rc = 0;
    goto done;
io:
    errf(err, errlen, "%s: cannot write the derived files: %s", dir,
         strerror(errno));
    goto done;
oom:
    errf(err, errlen, "out of memory summarising %s", dir);
done:
    results_summary_free(&a);
    results_free(&s);
    return rc;
}
