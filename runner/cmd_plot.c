/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * concbench plot DIR: PNG and SVG figures of a results folder, drawn by
 * gnuplot with the scripts in plots/.
 *
 * The division of labour: this file decides which figures the data can
 * support and which cells form each series; the scripts read only the
 * folder's CSV files (results.h) and draw.  A series is handed to a script
 * as the list of its cell ids, so a script never needs to know which
 * models, workloads or parameters exist: a model or a workload added
 * later gets its figures with no change here or in plots/.
 *
 * What is drawn, per workload, when its results have it:
 *   - its headline: the measurements it is judged by (metric_roles), a
 *     panel each, a bar per cell;
 *   - latency CDFs (a histogram whose name holds "latency"), log x;
 *   - lateness percentiles (a histogram whose name holds "lateness"): how
 *     late sleeping probes wake beside CPU hogs;
 *   - fairness (fairness_jain) per series;
 *   - throughput against the task count when `tasks` was swept, log-log;
 *   - throughput against contention when `accounts` was swept (the bank
 *     workload: fewer accounts, more conflicts);
 *   - time series (queue length, memory) over the window;
 *   - wall time per command for hyperfine results;
 * and over the whole matrix the run-order drift.  A figure the data
 * cannot support is skipped with a note saying what would produce it.
 *
 * How they read (docs/figures.md): colour is the model in every figure
 * (plot_system_colour, shared with the talk report), the dash the other
 * parameters' values (series_style); where a model has lines at several
 * values, a panel per value.  A cell without a value is never dropped in
 * silence: its legend entry or bar label says which point is missing and
 * the outcome that lost it (note_missing, plot_headline).  The scripts
 * put units people read on the axes (plots/common.gp).
 */
#include "runner/args.h"
#include "runner/cli.h"
#include "runner/results.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CB_PLOTS_DIR
#define CB_PLOTS_DIR "plots"
#endif

static const char plot_usage[] =
    "usage: concbench plot DIR [-o OUTDIR] [--format png|svg|both]\n"
    "\n"
    "Draws the figures a results folder supports with gnuplot (gnuplot-nox)\n"
    "into OUTDIR (default DIR/plots), as PNG and SVG: the headline\n"
    "measurements of each workload that names them, latency CDFs per model,\n"
    "probe lateness beside CPU hogs, fairness, throughput vs task count,\n"
    "throughput vs contention (accounts), queue length and memory over time,\n"
    "hyperfine wall times, and the run-order drift.  Colour is the model,\n"
    "line style the other parameters (docs/figures.md).  Figures the data\n"
    "cannot support are skipped with a note.  The scripts live in plots/\n"
    "(override with CONCBENCH_PLOTS) and read only DIR's CSV files, which\n"
    "plot first rewrites from DIR/runs.jsonl.\n"
    "\n"
    "Exit: 0 ok, 1 gnuplot failed or is missing, 2 usage or unreadable "
    "results.\n";

typedef struct plotter {
    const char *dir, *outdir, *scripts;
    const char *formats[2];
    int nformats;
    res_set_t set;
    res_summary_t sum;
    int made, failed;
    bool had_param[2]; /* some workload declares tasks, accounts */
} plotter_t;

/* A gnuplot string literal: single quotes, a quote doubled. */
static void gp_str(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'')
            fputc('\'', f);
        fputc(*s, f);
    }
    fputc('\'', f);
}

/* A title as a gnuplot string expression, broken at a space into lines
 * of at most 80 characters so that it fits the canvas's width. */
static void gp_title(FILE *f, const char *s)
{
    char line[512];
    bool first = true;
    while (*s) {
        size_t n = strlen(s);
        if (n > 80) {
            n = 80;
            while (n > 20 && s[n] != ' ')
                n--;
            if (s[n] != ' ')
                n = 80;
        }
        snprintf(line, sizeof line, "%.*s", (int)n, s);
        if (!first)
            fputs(".\"\\n\".", f);
        gp_str(f, line);
        first = false;
        s += n;
        while (*s == ' ')
            s++;
    }
    if (first)
        gp_str(f, "");
}

/* Series under construction: cell ids and a title each. */
typedef struct series {
    char *ids[256];
    char titles[256][200];
    int rep[256];
    int n;
    char *buf[256];
    /* Filled by series_style: colour says the model, dash the rest. */
    char colour[256][8];
    int dash[256];
    char variant[256][200]; /* dash k's parameters ("tasks=100") */
    int nvariants;
    char panel[256][200]; /* a title within its variant's panel */
} series_t;

static void series_free(series_t *s)
{
    for (int i = 0; i < s->n; i++)
        free(s->buf[i]);
    memset(s, 0, sizeof *s);
}

/* The index of the series titled title, created when new; -1 when all
 * 256 are taken. */
static int series_find(series_t *s, const char *title)
{
    int i = 0;
    while (i < s->n && strcmp(s->titles[i], title) != 0)
        i++;
    if (i == s->n) {
        if (s->n == 256)
            return -1;
        snprintf(s->titles[i], sizeof s->titles[i], "%s", title);
        s->buf[i] = strdup("|");
        s->rep[i] = 0;
        s->n++;
    }
    return i;
}

/* Add cell id to the series titled title (created when new). */
static void series_add(series_t *s, const char *title, const char *id)
{
    int i = series_find(s, title);
    if (i < 0 || !s->buf[i])
        return;
    size_t n = strlen(s->buf[i]) + strlen(id) + 2;
    char *p = realloc(s->buf[i], n);
    if (!p)
        return;
    strcat(p, id);
    strcat(p, "|");
    s->buf[i] = p;
}

/* Appends the n bytes at word to out (length *o, size len), after a
 * space unless out is empty; a word that does not fit is left out. */
static void append_word(char *out, size_t len, size_t *o, const char *word,
                        size_t n)
{
    if (*o + n + 2 >= len)
        return;
    if (*o)
        out[(*o)++] = ' ';
    memcpy(out + *o, word, n);
    *o += n;
    out[*o] = '\0';
}

/* The label without the workload: "threads tasks=10". */
static void title_of(const res_run_t *r, const char *drop_param, char *out,
                     size_t len)
{
    const char *l = r->label;
    size_t wl = strlen(r->workload);
    out[0] = '\0';
    size_t o = 0;
    for (const char *p = l; *p;) {
        size_t n = strcspn(p, " ");
        bool skip =
            (n == wl && strncmp(p, r->workload, n) == 0 && p != l) ||
            (drop_param && strncmp(p, drop_param, strlen(drop_param)) == 0 &&
             p[strlen(drop_param)] == '=');
        if (!skip)
            append_word(out, len, &o, p, n);
        p += n;
        while (*p == ' ')
            p++;
    }
}

/* Colour is the model (a title's first word: every title starts with
 * it), the same in every figure; the dash is what is left of the title,
 * the other parameters' values, numbered in order of first appearance,
 * so "tasks=100" is one dash on every model. */
static void series_style(series_t *s)
{
    char(*rest)[200] = s->variant;
    int nrest = 0;
    for (int i = 0; i < s->n; i++) {
        char model[64];
        size_t n = strcspn(s->titles[i], " ");
        snprintf(model, sizeof model, "%.*s", (int)(n < 63 ? n : 63),
                 s->titles[i]);
        snprintf(s->colour[i], sizeof s->colour[i], "%s",
                 plot_system_colour(model));
        const char *r = s->titles[i] + n;
        r += strspn(r, " ");
        /* A legend's note in parentheses is no parameter. */
        const char *note = r + strcspn(r, "(");
        size_t rl = (size_t)(note - r);
        while (rl && r[rl - 1] == ' ')
            rl--;
        int k = 0;
        while (k < nrest &&
               (strlen(rest[k]) != rl || strncmp(rest[k], r, rl) != 0))
            k++;
        if (k == nrest && nrest < 256)
            snprintf(rest[nrest++], sizeof rest[0], "%.*s", (int)rl, r);
        s->dash[i] = k + 1;
        snprintf(s->panel[i], sizeof s->panel[i], "%s%s%s", model,
                 *note ? " " : "", note);
    }
    s->nvariants = nrest;
    /* In the values' order (tasks=10 before tasks=100 before
     * tasks=1000), not the results': panels and dashes read in order. */
    for (int k = 1; k < nrest; k++)
        for (int j = k; j > 0 && strverscmp(rest[j - 1], rest[j]) > 0; j--) {
            char t[200];
            memcpy(t, rest[j], sizeof t);
            memcpy(rest[j], rest[j - 1], sizeof t);
            memcpy(rest[j - 1], t, sizeof t);
            for (int i = 0; i < s->n; i++)
                s->dash[i] = s->dash[i] == j + 1 ? j
                             : s->dash[i] == j   ? j + 1
                                                 : s->dash[i];
        }
}

static int run_gnuplot(plotter_t *p, const char *script, const char *name,
                       const char *vars, series_t *s)
{
    int rc = 0;
    series_style(s);
    for (int k = 0; k < p->nformats; k++) {
        char *cmd = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&cmd, &len);
        if (!f)
            return -1;
        fprintf(f, "FMT='%s'; SCRIPTS=", p->formats[k]);
        gp_str(f, p->scripts);
        fprintf(f, "; OUT=");
        char out[4200];
        snprintf(out, sizeof out, "%s/%s", p->outdir, name);
        gp_str(f, out);
        fprintf(f,
                "; %s; array G[%d]; array T[%d]; array REP[%d]; "
                "array C[%d]; array D[%d]; array P[%d]; ",
                vars, s->n, s->n, s->n, s->n, s->n, s->n);
        for (int i = 0; i < s->n; i++) {
            fprintf(f, "G[%d]=", i + 1);
            gp_str(f, s->buf[i]);
            fprintf(f, "; T[%d]=", i + 1);
            gp_str(f, s->titles[i]);
            fprintf(f, "; REP[%d]=%d; C[%d]='%s'; D[%d]=%d; P[%d]=", i + 1,
                    s->rep[i], i + 1, s->colour[i], i + 1, s->dash[i], i + 1);
            gp_str(f, s->panel[i]);
            fputs("; ", f);
        }
        fprintf(f, "NV=%d; array V[%d]; ", s->nvariants,
                s->nvariants ? s->nvariants : 1);
        /* A legend of long titles would take the plot's width beside
         * it: it goes under the plot instead. */
        size_t longest = 0;
        for (int i = 0; i < s->n; i++)
            if (strlen(s->titles[i]) > longest)
                longest = strlen(s->titles[i]);
        if (longest > 28)
            fputs("LONGKEY=1; ", f);
        for (int v = 0; v < s->nvariants; v++) {
            fprintf(f, "V[%d]=", v + 1);
            gp_str(f, s->variant[v]);
            fputs("; ", f);
        }
        fclose(f);
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", p->scripts, script);
        int errfd = memfd_create("gnuplot-stderr", MFD_CLOEXEC);
        char *argv[] = {"gnuplot", "-e", cmd, path, NULL};
        int status = spawn_wait(spawn(argv, errfd, false, false));
        free(cmd);
        char file[4300];
        snprintf(file, sizeof file, "%s.%s", out, p->formats[k]);
        struct stat st;
        bool ok = status >= 0 && WIFEXITED(status) &&
                  WEXITSTATUS(status) == 0 && stat(file, &st) == 0 &&
                  st.st_size > 0;
        if (ok) {
            printf("%s\n", file);
            p->made++;
        } else {
            char msg[2048] = "";
            if (errfd >= 0) {
                ssize_t n = pread(errfd, msg, sizeof msg - 1, 0);
                msg[n > 0 ? n : 0] = '\0';
            }
            fprintf(stderr, "concbench: plot: gnuplot failed on %s (%s):\n%s",
                    file, script,
                    WIFEXITED(status) && WEXITSTATUS(status) == 127
                        ? "gnuplot is not installed (gnuplot-nox; "
                          "scripts/deps.sh installs it)\n"
                        : msg);
            p->failed++;
            rc = -1;
        }
        if (errfd >= 0)
            close(errfd);
    }
    return rc;
}

static void skipped(const char *what, const char *why)
{
    fprintf(stderr, "concbench: plot: skipped %s: %s\n", what, why);
}

/* A metric in words, its unit left to the axis: "audit_latency_ns" ->
 * "audit latency", "ns_per_task" -> "time per task", "round_ns_min" ->
 * "fastest round", "rss_bytes" -> "rss". */
static void metric_words(const char *m, char *out, size_t len)
{
    static const char *const units[] = {"ns", "bytes", "s"};
    size_t o = 0;
    out[0] = '\0';
    for (const char *p = m; *p;) {
        size_t n = strcspn(p, "_.");
        bool unit = false;
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
            unit |= n == strlen(units[i]) && strncmp(p, units[i], n) == 0;
        if (!unit && n)
            append_word(out, len, &o, p, n);
        p += n;
        if (*p)
            p++;
    }
    if (!o)
        snprintf(out, len, "%s", m);
    else if (strncmp(out, "per ", 4) == 0 && o + 6 < len) {
        /* "ns_per_task" is a time per task, not a "per task". */
        memmove(out + 5, out, o + 1);
        memcpy(out, "time ", 5);
    } else if (o > 4 && strcmp(out + o - 4, " min") == 0 && o + 5 < len) {
        /* "round_ns_min" is the fastest round. */
        out[o - 4] = '\0';
        memmove(out + 8, out, o - 3);
        memcpy(out, "fastest ", 8);
    }
}

/* Names of the histograms (metrics with buckets) a cell's runs report. */
static const jv_t *metrics_of(const plotter_t *p, const res_cell_t *c)
{
    for (size_t i = 0; i < p->set.nruns; i++) {
        const res_run_t *r = &p->set.runs[i];
        if (!r->warmup && strcmp(r->outcome, "ok") == 0 &&
            strcmp(r->cell, c->first->cell) == 0)
            return jv_get(r->line, "metrics");
    }
    return NULL;
}

static int first_ok_rep(const plotter_t *p, const res_cell_t *c,
                        const char *series)
{
    for (size_t i = 0; i < p->set.nruns; i++) {
        const res_run_t *r = &p->set.runs[i];
        if (!r->warmup && strcmp(r->outcome, "ok") == 0 &&
            strcmp(r->cell, c->first->cell) == 0 &&
            jv_get(jv_get(r->line, "series"), series))
            return r->rep;
    }
    return -1;
}

static void csv_path(const plotter_t *p, const char *name, char *out,
                     size_t len)
{
    snprintf(out, len, "%s/%s", p->dir, name);
}

static void vars(char *buf, size_t len, const char *data, const char *title,
                 const char *extra)
{
    char *s = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&s, &n);
    if (!f) {
        buf[0] = '\0';
        return;
    }
    fputs("DATA=", f);
    gp_str(f, data);
    fputs("; TITLE=", f);
    gp_title(f, title);
    fprintf(f, "%s%s", extra[0] ? "; " : "", extra);
    fclose(f);
    snprintf(buf, len, "%s", s);
    free(s);
}

/* Series: one per cell of workload w that reports metric m. */
static void cells_with(const plotter_t *p, const char *w, const char *m,
                       series_t *s)
{
    for (size_t i = 0; i < p->sum.ncells; i++) {
        const res_cell_t *c = &p->sum.cells[i];
        if (strcmp(c->first->workload, w) != 0 || !results_find_metric(c, m))
            continue;
        char t[200];
        title_of(c->first, NULL, t, sizeof t);
        series_add(s, t, c->first->cell);
    }
}

/* Series for histogram h's CDF: one per cell of workload w reporting it,
 * titled "... (no samples)" when its count was 0 in every repetition. */
static void cells_with_samples(const plotter_t *p, const char *w,
                               const char *h, series_t *s)
{
    char p50[200], count[200];
    snprintf(p50, sizeof p50, "%s.p50", h);
    snprintf(count, sizeof count, "%s.count", h);
    for (size_t i = 0; i < p->sum.ncells; i++) {
        const res_cell_t *c = &p->sum.cells[i];
        if (strcmp(c->first->workload, w) != 0 || !results_find_metric(c, p50))
            continue;
        const res_mvals_t *n = results_find_metric(c, count);
        char t[200];
        title_of(c->first, NULL, t, sizeof t);
        if (n && n->n && n->st.max == 0) {
            size_t l = strlen(t);
            snprintf(t + l, sizeof t - l, " (no samples)");
        }
        series_add(s, t, c->first->cell);
    }
}

/* How many distinct values param takes over w's cells reporting m. */
static int distinct_values(const plotter_t *p, const char *w, const char *param,
                           const char *m)
{
    double seen[64];
    int n = 0;
    for (size_t i = 0; i < p->sum.ncells; i++) {
        const res_cell_t *c = &p->sum.cells[i];
        double v;
        if (strcmp(c->first->workload, w) != 0 || !results_find_metric(c, m) ||
            !jv_num(jv_get(jv_get(c->first->line, "params"), param), &v))
            continue;
        bool dup = false;
        for (int k = 0; k < n; k++)
            dup |= seen[k] == v;
        if (!dup && n < 64)
            seen[n++] = v;
    }
    return n;
}

/* Why cell c has no figure: the outcome of its first measured
 * repetition that did not succeed ("timeout", "crash", "unsupported"). */
static const char *cell_failure(const plotter_t *p, const res_cell_t *c)
{
    for (size_t i = 0; i < p->set.nruns; i++) {
        const res_run_t *r = &p->set.runs[i];
        if (!r->warmup && strcmp(r->cell, c->first->cell) == 0 &&
            strcmp(r->outcome, "ok") != 0)
            return r->outcome;
    }
    return "not reported";
}

/* A point the data lacks is said in the legend, never dropped in
 * silence: every cell of w that declares param but has no value of m (no
 * successful repetition) adds "(none at param=V: outcome)" to its series'
 * title, a series of its own when none of its points exists. */
static void note_missing(const plotter_t *p, const char *w, const char *param,
                         const char *m, series_t *s)
{
    char notes[256][160] = {{0}};
    int nseries = s->n;
    for (size_t i = 0; i < p->sum.ncells; i++) {
        const res_cell_t *c = &p->sum.cells[i];
        double v;
        if (strcmp(c->first->workload, w) != 0 || results_find_metric(c, m) ||
            !jv_num(jv_get(jv_get(c->first->line, "params"), param), &v))
            continue;
        char t[200];
        title_of(c->first, param, t, sizeof t);
        int k = series_find(s, t);
        if (k < 0)
            continue;
        size_t l = strlen(notes[k]);
        snprintf(notes[k] + l, sizeof notes[k] - l, "%s%s=%g: %s",
                 l ? "; " : "", param, v, cell_failure(p, c));
    }
    for (int k = 0; k < s->n; k++) {
        if (!notes[k][0])
            continue;
        size_t l = strlen(s->titles[k]);
        snprintf(s->titles[k] + l, sizeof s->titles[k] - l, " (%s %s)",
                 k < nseries ? "none at" : "no point;", notes[k]);
    }
}

static void plot_xy(plotter_t *p, const char *w, const char *param,
                    const char *kind, const char *title, const char *xlabel,
                    const char *hint)
{
    const char *m = "throughput_ops_s";
    char what[256];
    snprintf(what, sizeof what, "%s of %s", kind, w);
    int n = distinct_values(p, w, param, m);
    if (n == 0)
        return; /* this workload has no such parameter: nothing to say */
    p->had_param[strcmp(param, "tasks") != 0] = true;
    if (n < 2) {
        skipped(what, hint);
        return;
    }
    series_t s = {0};
    for (size_t i = 0; i < p->sum.ncells; i++) {
        const res_cell_t *c = &p->sum.cells[i];
        if (strcmp(c->first->workload, w) != 0 || !results_find_metric(c, m))
            continue;
        char t[200];
        title_of(c->first, param, t, sizeof t);
        series_add(&s, t, c->first->cell);
    }
    note_missing(p, w, param, m, &s);
    char data[4200], v[8192], extra[512], name[512];
    csv_path(p, "summary.csv", data, sizeof data);
    snprintf(extra, sizeof extra,
             "METRIC='%s'; XPARAM='%s'; XLABEL='%s'; "
             "YLABEL='throughput (operations/s, log scale)'",
             m, param, xlabel);
    vars(v, sizeof v, data, title, extra);
    snprintf(name, sizeof name, "%s-%s", kind, w);
    run_gnuplot(p, "xy.gp", name, v, &s);
    series_free(&s);
}

/* The headline of a workload that names its measurements (metric_roles):
 * one panel per judged metric, one bar per cell; the derived metrics are
 * the same reading in other units and get no panel.  A cell with no value
 * keeps its place on the axis, its label saying why. */
static void plot_headline(plotter_t *p, const char *w)
{
    const cb_workload_t *wl = cb_workload_find(w);
    if (!wl || !wl->metric_roles)
        return;
    char metrics[512] = "", labels[2048] = "";
    int nm = 0;
    bool times = true;
    for (const cb_wl_metric_role_t *r = wl->metric_roles; r->name; r++) {
        if (r->derived_from || r->diagnostic || nm == 4)
            continue;
        bool have = false;
        for (size_t i = 0; i < p->sum.ncells && !have; i++)
            have = strcmp(p->sum.cells[i].first->workload, w) == 0 &&
                   results_find_metric(&p->sum.cells[i], r->name);
        if (!have)
            continue;
        char words[200];
        metric_words(r->name, words, sizeof words);
        size_t l = strlen(metrics);
        snprintf(metrics + l, sizeof metrics - l, "%s%s", nm ? " " : "",
                 r->name);
        l = strlen(labels);
        snprintf(labels + l, sizeof labels - l, "; L[%d]='%s'", nm + 1, words);
        times &= strstr(r->name, "ns") != NULL;
        nm++;
    }
    char what[256];
    snprintf(what, sizeof what, "headline of %s", w);
    if (!nm) {
        skipped(what, "none of the measurements it is judged by was "
                      "reported (an instruction count has no headline)");
        return;
    }
    char first[200];
    snprintf(first, sizeof first, "%.*s", (int)strcspn(metrics, " "), metrics);
    series_t s = {0};
    for (size_t i = 0; i < p->sum.ncells; i++) {
        const res_cell_t *c = &p->sum.cells[i];
        if (strcmp(c->first->workload, w) != 0)
            continue;
        char t[200];
        title_of(c->first, NULL, t, sizeof t);
        if (!results_find_metric(c, first)) {
            size_t l = strlen(t);
            snprintf(t + l, sizeof t - l, " (%s)", cell_failure(p, c));
        }
        series_add(&s, t, c->first->cell);
    }
    char data[4200], v[8192], extra[2600], title[512], name[512];
    csv_path(p, "summary.csv", data, sizeof data);
    snprintf(title, sizeof title, "%s: %s (medians, 95%% intervals%s)", w,
             wl->summary, times ? "; lower is faster" : "");
    snprintf(extra, sizeof extra, "BARS=1; METRICS='%s'; array L[%d]%s",
             metrics, nm, labels);
    vars(v, sizeof v, data, title, extra);
    snprintf(name, sizeof name, "headline-%s", w);
    run_gnuplot(p, "headline.gp", name, v, &s);
    series_free(&s);
}

static void plot_workload(plotter_t *p, const char *w)
{
    char data[4200], v[8192], extra[1024], name[512], title[512];
    const res_cell_t *any = NULL;
    for (size_t i = 0; i < p->sum.ncells && !any; i++)
        if (strcmp(p->sum.cells[i].first->workload, w) == 0 &&
            p->sum.cells[i].counts[REP_OK])
            any = &p->sum.cells[i];
    if (!any) {
        char what[256];
        snprintf(what, sizeof what, "every figure of %s", w);
        skipped(what, "no successful repetition");
        return;
    }
    /* Histograms: CDFs for latencies, percentile ladders for lateness. */
    const jv_t *m = metrics_of(p, any);
    for (size_t k = 0; m && m->kind == JV_OBJ && k < m->n; k++) {
        const char *h = m->keys[k];
        if (!jv_get(&m->items[k], "buckets"))
            continue;
        char p50[200];
        snprintf(p50, sizeof p50, "%s.p50", h);
        series_t s = {0};
        cells_with(p, w, p50, &s);
        char words[200];
        metric_words(h, words, sizeof words);
        if (strstr(h, "lateness")) {
            csv_path(p, "summary.csv", data, sizeof data);
            snprintf(title, sizeof title,
                     "%s: how late sleeping probes wake beside CPU hogs, "
                     "per model (lower is better)",
                     w);
            snprintf(extra, sizeof extra, "METRIC='%s'; XLABEL='%s'", h, words);
            vars(v, sizeof v, data, title, extra);
            snprintf(name, sizeof name, "lateness-%s-%s", w, h);
            run_gnuplot(p, "ladder.gp", name, v, &s);
        } else if (strstr(h, "latency")) {
            /* A cell whose histogram stayed empty (supervision's restart
             * latency where nothing restarts) has no line to draw: its
             * legend entry says so rather than stand for an unseen one. */
            series_free(&s);
            cells_with_samples(p, w, h, &s);
            csv_path(p, "hist.csv", data, sizeof data);
            snprintf(title, sizeof title,
                     "%s: %s, cumulative distribution per model (further "
                     "left is faster)",
                     w, words);
            snprintf(extra, sizeof extra, "METRIC='%s'; XLABEL='%s'", h, words);
            vars(v, sizeof v, data, title, extra);
            snprintf(name, sizeof name, "cdf-%s-%s", w, h);
            run_gnuplot(p, "cdf.gp", name, v, &s);
        }
        series_free(&s);
    }
    /* Bars: fairness, and wall time for hyperfine results. */
    static const struct {
        const char *metric, *kind, *title, *ylabel, *range;
    } bars[] = {
        {"fairness_jain", "fairness",
         "fairness of the tasks' progress per model (Jain's index; 1 = "
         "equal shares)",
         "Jain fairness index (1 = equal shares)", "YMIN=0; YMAX=1.05"},
        {"wall_time_s", "walltime", "wall time of the whole process",
         "wall time (s)", ""},
    };
    for (size_t b = 0; b < sizeof bars / sizeof bars[0]; b++) {
        series_t s = {0};
        cells_with(p, w, bars[b].metric, &s);
        if (s.n) {
            csv_path(p, "summary.csv", data, sizeof data);
            snprintf(title, sizeof title, "%s: %s", w, bars[b].title);
            snprintf(extra, sizeof extra,
                     "BARS=1; METRIC='%s'; YLABEL='%s'%s%s", bars[b].metric,
                     bars[b].ylabel, bars[b].range[0] ? "; " : "",
                     bars[b].range);
            vars(v, sizeof v, data, title, extra);
            snprintf(name, sizeof name, "%s-%s", bars[b].kind, w);
            run_gnuplot(p, "bars.gp", name, v, &s);
        }
        series_free(&s);
    }
    plot_headline(p, w);
    snprintf(title, sizeof title,
             "%s: throughput as the task count grows (medians, 95%% "
             "intervals)",
             w);
    plot_xy(p, w, "tasks", "throughput-vs-tasks", title, "tasks (log scale)",
            "fewer than two values of tasks; sweep it (-p tasks=10,100,1000)");
    /* Not "fewer accounts, less throughput": fewer accounts make more
     * transfers conflict, but every audit reads all of them, so on
     * --quick sizes throughput falls as accounts grow on every model.
     * The title names both forces and lets the data say which wins. */
    snprintf(title, sizeof title,
             "%s: throughput against the number of accounts (fewer: more "
             "transfers conflict; more: each audit reads more)",
             w);
    plot_xy(p, w, "accounts", "throughput-vs-contention", title,
            "accounts (log scale)",
            "fewer than two values of accounts; sweep it "
            "(-p accounts=4,64,1024)");
    /* Time series. */
    const jv_t *ser = NULL;
    for (size_t i = 0; i < p->set.nruns && !ser; i++)
        if (strcmp(p->set.runs[i].workload, w) == 0 &&
            strcmp(p->set.runs[i].outcome, "ok") == 0) {
            ser = jv_get(p->set.runs[i].line, "series");
            if (ser && (ser->kind != JV_OBJ || ser->n == 0))
                ser = NULL;
        }
    if (ser) {
        char metrics[512] = "";
        for (size_t k = 0; k < ser->n && k < 4; k++) {
            size_t n = strlen(metrics);
            snprintf(metrics + n, sizeof metrics - n, "%s%s", k ? " " : "",
                     ser->keys[k]);
        }
        series_t s = {0};
        for (size_t i = 0; i < p->sum.ncells; i++) {
            const res_cell_t *c = &p->sum.cells[i];
            int rep = first_ok_rep(p, c, ser->keys[0]);
            if (strcmp(c->first->workload, w) != 0 || rep < 0)
                continue;
            char t[200];
            title_of(c->first, NULL, t, sizeof t);
            series_add(&s, t, c->first->cell);
            s.rep[s.n - 1] = rep;
        }
        csv_path(p, "series.csv", data, sizeof data);
        snprintf(title, sizeof title,
                 "%s over time, per model (first measured repetition)", w);
        snprintf(extra, sizeof extra, "METRICS='%s'", metrics);
        vars(v, sizeof v, data, title, extra);
        snprintf(name, sizeof name, "series-%s", w);
        run_gnuplot(p, "series.gp", name, v, &s);
        series_free(&s);
    }
}

static void plot_drift(plotter_t *p)
{
    const char *m = "throughput_ops_s";
    bool have = false;
    size_t runs = 0;
    for (size_t i = 0; i < p->sum.ncells; i++)
        if (results_find_metric(&p->sum.cells[i], m))
            have = true;
    if (!have)
        m = "wall_time_s";
    for (size_t i = 0; i < p->sum.ncells; i++) {
        const res_mvals_t *v = results_find_metric(&p->sum.cells[i], m);
        runs += v ? v->n : 0;
    }
    if (runs < 3) {
        skipped("run-order drift", "fewer than 3 measured repetitions");
        return;
    }
    series_t s = {0};
    for (size_t i = 0; i < p->sum.ncells; i++) {
        const res_cell_t *c = &p->sum.cells[i];
        if (results_find_metric(c, m))
            series_add(&s, c->first->model, c->first->cell);
    }
    char data[4200], v[8192], extra[256], title[512];
    csv_path(p, "runs.csv", data, sizeof data);
    char words[200];
    metric_words(m, words, sizeof words);
    snprintf(title, sizeof title,
             "run-order drift: each run's %s over its cell's median (a flat "
             "band around 1 is a steady machine)",
             words);
    snprintf(extra, sizeof extra, "METRIC='%s'", m);
    vars(v, sizeof v, data, title, extra);
    run_gnuplot(p, "drift.gp", "drift", v, &s);
    series_free(&s);
}

/* One colour per system, fixed, so that a colour means one system in
 * every figure (plot's and the talk report's): a model and the real
 * system it stands for share a hue, the real system in the darker
 * shade. */
const char *plot_system_colour(const char *sys)
{
    static const struct {
        const char *name, *rgb;
    } fixed[] = {
        {"actor", "#1b9e77"},      {"beam", "#0b5d46"}, {"csp", "#d95f02"},
        {"core.async", "#8c3d00"}, {"go", "#e6ab02"},   {"locks", "#7570b3"},
        {"jvm", "#3f3a80"},        {"stm", "#e7298a"},  {"threads", "#666666"},
    };
    static const char *other[] = {"#66a61e", "#a6761d", "#1f78b4", "#b15928"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (strcmp(fixed[i].name, sys) == 0)
            return fixed[i].rgb;
    unsigned h = 0;
    for (const char *s = sys; *s; s++)
        h = h * 31 + (unsigned char)*s;
    return other[h % (sizeof other / sizeof other[0])];
}

const char *plot_scripts_dir(const char *probe_file)
{
    static char buf[4200];
    const char *env = getenv("CONCBENCH_PLOTS");
    struct stat st;
    if (env && *env)
        return env;
    snprintf(buf, sizeof buf, "%s/%s", CB_PLOTS_DIR, probe_file);
    if (stat(buf, &st) == 0)
        return CB_PLOTS_DIR;
    /* Installed: <prefix>/bin/concbench and <prefix>/share/concbench. */
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash)
            *slash = '\0';
        snprintf(buf, sizeof buf, "%s/../share/concbench/plots", exe);
        char probe[4300];
        snprintf(probe, sizeof probe, "%s/%s", buf, probe_file);
        if (stat(probe, &st) == 0)
            return buf;
    }
    return CB_PLOTS_DIR;
}

int cmd_plot(int argc, char **argv)
{
    plotter_t p = {0};
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},
        {"format", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    const char *fmt = "both";
    opterr = 0;
    optind = 1;
    int c;
    arg_seen_t given = {0};
    while ((c = getopt_long(argc, argv, ":o:h", longopts, NULL)) != -1) {
        if ((c == 'o' || c == 'f') && arg_once(&given, "plot", c, longopts))
            return EXIT_USAGE;
        if (c == 'o')
            p.outdir = optarg;
        else if (c == 'f')
            fmt = optarg;
        else if (c == 'h') {
            fputs(plot_usage, stdout);
            return EXIT_OK;
        } else if (c == ':')
            return usage_error("plot: option %s needs a value",
                               arg_clip(argv[optind - 1]));
        else
            return usage_error("plot: unknown option '%s'; see concbench "
                               "plot --help",
                               arg_clip(argv[optind - 1]));
    }
    if (argc - optind != 1)
        return usage_error("plot: wants one results folder; see --help");
    p.dir = argv[optind];
    if (strcmp(fmt, "png") == 0 || strcmp(fmt, "both") == 0)
        p.formats[p.nformats++] = "png";
    if (strcmp(fmt, "svg") == 0 || strcmp(fmt, "both") == 0)
        p.formats[p.nformats++] = "svg";
    if (!p.nformats)
        return usage_error("plot: --format: '%s' is not png, svg or both",
                           arg_clip(fmt));
    char err[1024], outbuf[4200];
    struct stat st;
    if (stat(p.dir, &st) < 0 || !S_ISDIR(st.st_mode))
        return usage_error("plot: %s is not a results folder", p.dir);
    /* A cut last line is refused (as compare and summary refuse it), and
     * the CSV files the scripts read are rewritten from runs.jsonl every
     * time: derived files left by an earlier run of a folder whose
     * runs.jsonl changed since would otherwise be drawn as its figures. */
    if (results_load(p.dir, false, &p.set, err, sizeof err) < 0) {
        results_free(&p.set);
        return usage_error("plot: %s", err);
    }
    if (results_finalize(p.dir, NULL, 0, err, sizeof err) < 0) {
        results_free(&p.set);
        return usage_error("plot: %s", err);
    }
    if (results_summarise(&p.set, &p.sum) < 0) {
        results_summary_free(&p.sum);
        results_free(&p.set);
        return usage_error("plot: out of memory");
    }
    if (!p.outdir) {
        snprintf(outbuf, sizeof outbuf, "%s/plots", p.dir);
        p.outdir = outbuf;
    }
    if (mkdir(p.outdir, 0777) < 0 && errno != EEXIST) {
        results_summary_free(&p.sum);
        results_free(&p.set);
        return usage_error("plot: cannot create %s: %s", p.outdir,
                           strerror(errno));
    }
    p.scripts = plot_scripts_dir("common.gp");
    /* One pass per workload, in the order the results name them. */
    const char *done[256];
    int ndone = 0;
    for (size_t i = 0; i < p.sum.ncells; i++) {
        const char *w = p.sum.cells[i].first->workload;
        bool seen = false;
        for (int k = 0; k < ndone; k++)
            seen |= strcmp(done[k], w) == 0;
        if (seen || ndone == 256)
            continue;
        done[ndone++] = w;
        plot_workload(&p, w);
    }
    plot_drift(&p);
    if (!p.had_param[0])
        skipped("throughput vs task count",
                "no workload in these results has a `tasks` parameter "
                "with a throughput");
    if (!p.had_param[1])
        skipped("throughput vs contention",
                "no workload in these results has an `accounts` parameter "
                "(the bank workload's); run it with -p accounts=4,64,1024");
    int rc = p.failed ? EXIT_RUN_ERROR : EXIT_OK;
    if (!p.made && !p.failed)
        fprintf(stderr, "concbench: plot: nothing to draw in %s\n", p.dir);
    results_summary_free(&p.sum);
    results_free(&p.set);
    return rc;
}
