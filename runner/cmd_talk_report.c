/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * concbench talk report: the talk's claims as one page a person reads,
 * DIR/report.html (self-contained) and DIR/report.md (figures in
 * DIR/figures/ as PNG).
 *
 * What the report guarantees:
 *   - it never judges: verdicts, their sentences and figures come from
 *     DIR/verdicts.json as `talk run` wrote them (runner/talk.h); the
 *     report only draws the steps' results and lays them out;
 *   - it never shows a stale or mismatched run: when DIR has no
 *     verdicts.json, or one at other sizes (--quick or not), or one that
 *     lacks a claim asked for (all registered claims when none is named),
 *     it runs `talk run` first by executing this same binary, which
 *     resumes the steps that already finished;
 *   - report.html opens with no network and no other file: CSS inline,
 *     figures inline as SVG (gnuplot's svg terminal, their element ids
 *     prefixed per figure so that two figures never share an id), no
 *     script, no URL; report.md's every link is a file under DIR;
 *   - a figure that cannot be drawn (gnuplot missing or failing, a step
 *     with no results) is said in its place, never silently left out, and
 *     the command exits 1;
 *   - a cell that has no samples (not installed, unsupported, crashed)
 *     is named in the figure's legend as "no samples" and in the caption
 *     with its outcome, and a bar chart keeps its place marked "n/a":
 *     never drawn as a zero, never closed up as if it had not been run.
 *
 * Figures (plots/talk-*.gp): colour is the system, the same in every
 * figure (a reader learns "orange is csp" once); line style or fill is a
 * parameter's value; the legend sits under the plot; values are drawn in
 * the unit a person reads (ns as ns/µs/ms/s, bytes as KiB/MiB/GiB) picked
 * from the data's magnitude.  The division of labour is `concbench
 * plot`'s: this file decides which cells form each series and how they
 * are labelled, the scripts read only the step's CSV files and draw.
 *
 * Rejected: figures as external files linked from the HTML (a report
 * mailed or attached loses them); PNG inlined as base64 (blurry when
 * zoomed, and four times the bytes of the SVG for line plots); drawing in
 * a browser script (the report must open with scripts off and print).
 */
#include "runner/args.h"
#include "runner/cli.h"
#include "runner/json.h"
#include "runner/peer.h"
#include "runner/results.h"
#include "runner/talk.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef CB_PLOTS_DIR
#define CB_PLOTS_DIR "plots"
#endif

static const char report_usage[] =
    "usage: concbench talk report [ID...] [-o DIR] [--quick]\n"
    "\n"
    "Writes DIR/report.html (one self-contained page: figures inline as "
    "SVG,\nno network, no other file) and DIR/report.md (figures as PNG "
    "in\nDIR/figures/): for each claim of the talk its point, the "
    "experiment, the\nfigures, the verdict with its figures and why, and "
    "the command that reruns\nit; a header with the machine, the real "
    "systems' versions, the time the\nrun took and the noise warnings; a "
    "verdict table at the top.\n"
    "\n"
    "When DIR has no verdicts.json, or one at other sizes, or one that "
    "lacks a\nclaim asked for (every claim when no ID is named), `talk "
    "run` runs first\n(finished steps are resumed, not rerun).  DIR "
    "defaults to results/talk,\nor results/talk-quick with --quick.  "
    "Figures need gnuplot (gnuplot-nox).\n"
    "\n"
    "Exit: 0 written, 1 a run or a figure failed (the report is still "
    "written\nwhen verdicts exist), 2 usage or an unreadable "
    "verdicts.json.\n";

#define MAX_IDS 64
#define MAX_CELLS 256
#define MAX_KEYS 48

typedef struct report {
    const char *dir;
    const char *scripts;
    bool quick;
    const char *ids[MAX_IDS];
    int nids;
    jv_t *verdicts;
    const jv_t *machine; /* the first step's machine.json, when found */
    jv_t *machine_owned;
    double run_s;        /* the time `talk run` took when we ran it; <0 */
    double draw_s;       /* the time the figures took */
    int figures_made, figures_failed, figure_seq;
    char noisy[8192];    /* cells with a CV over NOISY_CV, all steps */
} report_t;

/* ---- small helpers ---- */

/* A message into buf, cut to fit: the messages quote paths and gnuplot's
 * words, whose length no buffer bounds. */
__attribute__((format(printf, 3, 4))) static void
setf(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
}

static void html_esc(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
    }
}

/* Markdown text: the characters that would start markup or break a
 * table cell are escaped; line breaks become spaces. */
static void md_esc(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        if (strchr("\\`*_[]<>|#", *s))
            fputc('\\', f);
        fputc(*s == '\n' ? ' ' : *s, f);
    }
}

static const char *str_or(const jv_t *v, const char *key, const char *dflt)
{
    const char *s = jv_str(jv_get(v, key));
    return s ? s : dflt;
}

static bool valid_id(const char *s)
{
    if (!s || !*s || strlen(s) > 64)
        return false;
    for (; *s; s++)
        if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) ||
              *s == '-'))
            return false;
    return true;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 65536 + 1 > cap) {
            cap = cap ? cap * 2 : 131072;
            char *p = realloc(buf, cap);
            if (!p) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = p;
        }
        size_t got = fread(buf + n, 1, 65536, f);
        n += got;
        if (got < 65536)
            break;
    }
    fclose(f);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

static jv_t *read_json(const char *path, char *err, size_t errlen)
{
    size_t n;
    char *buf = read_file(path, &n);
    if (!buf) {
        setf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    char perr[512];
    jv_t *v = jv_parse(buf, n, perr, sizeof perr);
    free(buf);
    if (!v)
        setf(err, errlen, "%s: %s", path, perr);
    return v;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- verdicts: which are wanted, and whether DIR has them ---- */

static const jv_t *checks_of(const jv_t *v)
{
    const jv_t *c = jv_get(v, "checks");
    return c && c->kind == JV_ARR ? c : NULL;
}

static const jv_t *check_by_id(const jv_t *v, const char *id)
{
    const jv_t *c = checks_of(v);
    for (size_t i = 0; c && i < c->n; i++) {
        const char *s = jv_str(jv_get(&c->items[i], "id"));
        if (s && strcmp(s, id) == 0)
            return &c->items[i];
    }
    return NULL;
}

/* Why verdicts v cannot serve this report (NULL: it can). */
static const char *verdicts_stale(const report_t *r, const jv_t *v,
                                  char *why, size_t len)
{
    const jv_t *q = jv_get(v, "quick");
    const char *set = jv_str(jv_get(v, "set"));
    if (!checks_of(v) || (set && strcmp(set, "talk") != 0)) {
        snprintf(why, len, "it holds no talk verdicts");
        return why;
    }
    if (!q || q->kind != JV_BOOL || q->b != r->quick) {
        snprintf(why, len, "it was run %s --quick", r->quick ? "without"
                                                             : "with");
        return why;
    }
    if (r->nids) {
        for (int i = 0; i < r->nids; i++)
            if (!check_by_id(v, r->ids[i])) {
                snprintf(why, len, "it lacks %s", r->ids[i]);
                return why;
            }
        return NULL;
    }
    for (size_t i = 0; i < talk_claim_count(); i++)
        if (!check_by_id(v, talk_claim_at(i)->id)) {
            snprintf(why, len, "it lacks %s", talk_claim_at(i)->id);
            return why;
        }
    return NULL;
}

/* `talk run [ID...] [--quick] -o DIR` by this same binary; its exit
 * status (127 when it could not start). */
static int run_talk(report_t *r)
{
    char *argv[MAX_IDS + 8];
    int n = 0;
    argv[n++] = "/proc/self/exe";
    argv[n++] = "talk";
    argv[n++] = "run";
    for (int i = 0; i < r->nids; i++)
        argv[n++] = (char *)r->ids[i];
    if (r->quick)
        argv[n++] = "--quick";
    argv[n++] = "-o";
    argv[n++] = (char *)r->dir;
    argv[n] = NULL;
    double t0 = now_s();
    /* Its verdict table goes to /dev/null: the report prints its own once
     * the pages are written; its progress and warnings stay on stderr. */
    int status = spawn_wait(spawn(argv, -1, true, false));
    r->run_s = now_s() - t0;
    if (status < 0)
        return 127;
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}

/* ---- the steps of a check ---- */

/* The folder of step `name` of check c (talk.h: DIR/ID/STEP). */
static void step_dir(const report_t *r, const jv_t *c, const char *name,
                     char *out, size_t len)
{
    const jv_t *steps = jv_get(c, "steps");
    struct stat st;
    for (size_t i = 0; steps && steps->kind == JV_ARR && i < steps->n; i++) {
        const char *sn = jv_str(jv_get(&steps->items[i], "name"));
        const char *sd = jv_str(jv_get(&steps->items[i], "dir"));
        if (!sn || !sd || strcmp(sn, name) != 0)
            continue;
        if (sd[0] == '/')
            snprintf(out, len, "%s", sd);
        else
            snprintf(out, len, "%s/%s", r->dir, sd);
        if (stat(out, &st) == 0 && S_ISDIR(st.st_mode))
            return;
        break;
    }
    snprintf(out, len, "%s/%s/%s", r->dir, str_or(c, "id", "?"), name);
}

/* The command line that reran step `name`, when verdicts.json has it. */
static const char *step_command(const jv_t *c, const char *name)
{
    const jv_t *steps = jv_get(c, "steps"), *cmds = jv_get(c, "commands");
    if (!steps || !cmds || steps->kind != JV_ARR || cmds->kind != JV_ARR)
        return NULL;
    for (size_t i = 0; i < steps->n && i < cmds->n; i++) {
        const char *sn = jv_str(jv_get(&steps->items[i], "name"));
        if (sn && strcmp(sn, name) == 0)
            return jv_str(&cmds->items[i]);
    }
    return NULL;
}

/* Whether the command gives parameter key with -p. */
static bool command_sets(const char *cmd, const char *key)
{
    size_t kl = strlen(key);
    for (const char *p = cmd ? strstr(cmd, "-p ") : NULL; p;
         p = strstr(p + 3, "-p ")) {
        const char *k = p + 3;
        while (*k == ' ' || *k == '\'' || *k == '"')
            k++;
        if (strncmp(k, key, kl) == 0 && k[kl] == '=')
            return true;
    }
    return false;
}

/* Put the groups (x values) in the order the command's -p list for
 * key gives them; values it does not list keep their place after. */
static void order_as_command(const char *cmd, const char *key,
                             char groups[][200], int n)
{
    if (!cmd || !key || n < 2)
        return;
    size_t kl = strlen(key);
    const char *list = NULL;
    for (const char *p = strstr(cmd, "-p "); p && !list;
         p = strstr(p + 3, "-p ")) {
        const char *k = p + 3;
        if (strncmp(k, key, kl) == 0 && k[kl] == '=')
            list = k + kl + 1;
    }
    if (!list)
        return;
    int placed = 0;
    for (const char *v = list; *v && *v != ' ' && placed < n;) {
        size_t len = strcspn(v, ", ");
        for (int g = placed; g < n; g++)
            if (strlen(groups[g]) == len && strncmp(groups[g], v, len) == 0) {
                char tmp[200];
                memcpy(tmp, groups[g], sizeof tmp);
                memmove(groups[placed + 1], groups[placed],
                        (size_t)(g - placed) * sizeof groups[0]);
                memcpy(groups[placed], tmp, sizeof tmp);
                placed++;
                break;
            }
        v += len;
        if (*v == ',')
            v++;
    }
}

/* ---- figures ---- */

/* A value's unit as people read it: the divisor and the unit's name,
 * chosen from the data's magnitude m. */
static void unit_of(const char *unit, double m, double *div, char *name,
                    size_t len)
{
    *div = 1;
    if (!unit)
        unit = "";
    if (strcmp(unit, "ns") == 0) {
        static const struct {
            double d;
            const char *n;
        } t[] = {{1e9, "s"}, {1e6, "ms"}, {1e3, "µs"}, {1, "ns"}};
        for (size_t i = 0; i < 4; i++)
            if (m >= t[i].d || i == 3) {
                *div = t[i].d;
                snprintf(name, len, "%s", t[i].n);
                return;
            }
    }
    if (strcmp(unit, "B") == 0) {
        static const struct {
            double d;
            const char *n;
        } t[] = {{1073741824.0, "GiB"},
                 {1048576.0, "MiB"},
                 {1024.0, "KiB"},
                 {1, "B"}};
        for (size_t i = 0; i < 4; i++)
            if (m >= t[i].d || i == 3) {
                *div = t[i].d;
                snprintf(name, len, "%s", t[i].n);
                return;
            }
    }
    if (strcmp(unit, "ops/s") == 0 && m >= 1e6) {
        *div = 1e6;
        snprintf(name, len, "M ops/s");
        return;
    }
    if (strcmp(unit, "ops/s") == 0 && m >= 1e3) {
        *div = 1e3;
        snprintf(name, len, "k ops/s");
        return;
    }
    if (!unit[0] && m >= 1e6) {
        *div = 1e6;
        snprintf(name, len, "millions");
        return;
    }
    if (!unit[0] && m >= 1e4) {
        *div = 1e3;
        snprintf(name, len, "thousands");
        return;
    }
    snprintf(name, len, "%s", unit);
}

/* "lateness_ns.p99" -> "lateness p99", "spawn_ns_per_task" -> "spawn
 * per task": the metric in words, its unit words dropped (the axis names
 * the unit). */
static void metric_words(const char *m, char *out, size_t len)
{
    static const char *units[] = {"ns", "us", "ms", "s", "bytes", "b"};
    size_t o = 0;
    out[0] = '\0';
    for (const char *p = m ? m : ""; *p;) {
        size_t n = strcspn(p, "_.");
        bool unit = false;
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
            unit |= n == strlen(units[i]) && strncmp(p, units[i], n) == 0;
        if (!unit && n) {
            int w = snprintf(out + o, len - o, "%s%.*s", o ? " " : "",
                             (int)n, p);
            if (w > 0 && (size_t)w < len - o)
                o += (size_t)w;
        }
        p += n;
        if (*p)
            p++;
    }
}

/* A gnuplot string literal: single quotes, a quote doubled. */
static void gp_str(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; s && *s; s++) {
        if (*s == '\'')
            fputc('\'', f);
        fputc(*s, f);
    }
    fputc('\'', f);
}

/* A figure's title as a gnuplot string, on two lines when one would run
 * past the canvas (about 85 characters at its font): broken at the space
 * nearest the middle. */
static void gp_title(FILE *f, const char *s)
{
    size_t n = strlen(s), brk = 0;
    if (n > 85)
        for (size_t i = 0; i < n; i++)
            if (s[i] == ' ' && (brk == 0 || (i > n / 2 ? i - n / 2 : n / 2 - i) <
                                                (brk > n / 2 ? brk - n / 2
                                                             : n / 2 - brk)))
                brk = i;
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        if (brk && i == brk) {
            fputs("\\n", f);
            continue;
        }
        if (s[i] == '"' || s[i] == '\\')
            fputc('\\', f);
        fputc(s[i], f);
    }
    fputc('"', f);
}

/* The k=v tokens of a cell id after "model workload". */
typedef struct kv {
    char key[64], val[128];
} kv_t;

static int cell_params(const char *cell, kv_t *out, int max)
{
    int n = 0, word = 0;
    for (const char *p = cell; *p && n < max;) {
        size_t len = strcspn(p, " ");
        if (word >= 2) {
            const char *eq = memchr(p, '=', len);
            if (eq) {
                snprintf(out[n].key, sizeof out[n].key, "%.*s",
                         (int)(eq - p), p);
                snprintf(out[n].val, sizeof out[n].val, "%.*s",
                         (int)(len - (size_t)(eq - p) - 1), eq + 1);
                n++;
            }
        }
        word++;
        p += len;
        while (*p == ' ')
            p++;
    }
    return n;
}

static const char *kv_find(const kv_t *kv, int n, const char *key)
{
    for (int i = 0; i < n; i++)
        if (strcmp(kv[i].key, key) == 0)
            return kv[i].val;
    return NULL;
}

/* Whether the cell key names the plot's x parameter (a model's
 * parameter is "model.pool" in a cell id, "pool" on the command line). */
static bool is_x(const char *key, const char *x)
{
    return x && *x &&
           (strcmp(key, x) == 0 ||
            (strncmp(key, "model.", 6) == 0 && strcmp(key + 6, x) == 0));
}

typedef struct fig_cell {
    const res_cell_t *c;
    kv_t kv[MAX_KEYS];
    int nkv;
    char label[200];   /* system and the parameters that tell it apart */
    char params[200];  /* the label without the system */
    char variant[160]; /* the parameters that vary within a system */
    bool has;          /* samples of the metric */
    char missing[300]; /* when !has: why */
    int rep;           /* SERIES: the repetition drawn */
    double xval;       /* the x parameter's value (numeric, else NaN) */
    double pos;        /* BARS: where its bar stands on the x axis */
    char xs[128];      /* ... as text */
} fig_cell_t;

typedef struct figure {
    const char *kind, *metric, *x, *title, *unit;
    bool log_y;
    fig_cell_t cells[MAX_CELLS];
    int ncells;
} figure_t;

static int first_ok_rep(const res_set_t *set, const res_cell_t *c,
                        const char *series)
{
    for (size_t i = 0; i < set->nruns; i++) {
        const res_run_t *r = &set->runs[i];
        if (!r->warmup && strcmp(r->outcome, "ok") == 0 &&
            strcmp(r->cell, c->first->cell) == 0 &&
            jv_get(jv_get(r->line, "series"), series))
            return r->rep;
    }
    return -1;
}

/* The largest value of series `name` in cell c's repetition rep. */
static double series_max(const res_set_t *set, const res_cell_t *c,
                         const char *name, int rep)
{
    double m = 0;
    for (size_t i = 0; i < set->nruns; i++) {
        const res_run_t *r = &set->runs[i];
        if (r->warmup || r->rep != rep ||
            strcmp(r->cell, c->first->cell) != 0)
            continue;
        const jv_t *pts = jv_get(jv_get(r->line, "series"), name);
        for (size_t p = 0; pts && pts->kind == JV_ARR && p < pts->n; p++) {
            double v;
            if (pts->items[p].kind == JV_ARR && pts->items[p].n == 2 &&
                jv_num(&pts->items[p].items[1], &v) && v > m)
                m = v;
        }
    }
    return m;
}

/* Why cell c has no samples of the metric: its outcomes. */
static void why_missing(const res_cell_t *c, char *out, size_t len)
{
    size_t ok = c->counts[REP_OK];
    for (int o = 0; o < REP_OUTCOME_COUNT; o++)
        if (o != REP_OK && c->counts[o]) {
            snprintf(out, len, "%s%s%s", rep_outcome_name((rep_outcome_t)o),
                     c->reason ? ": " : "", c->reason ? c->reason : "");
            return;
        }
    snprintf(out, len, ok ? "the metric is not reported"
                          : "no measured repetition");
}

/* Label every cell by its system and the parameters that tell it apart
 * from the other cells of its system: a parameter that takes two values
 * or more within one system (the x parameter aside; a parameter that only
 * differs between systems, such as each model's own defaults, says
 * nothing the colour does not), then, first, a model parameter the
 * step's command sets (the claim is about "csp with pool=2", so the
 * legend says so).  The variant, which picks the line style, is the
 * varying parameters only, so "hogs=4" is dashed on every system. */
static void label_cells(figure_t *fg, const char *cmd)
{
    char keys[MAX_KEYS][64];
    bool varies[MAX_KEYS];
    int nkeys = 0;
    for (int i = 0; i < fg->ncells; i++)
        for (int k = 0; k < fg->cells[i].nkv; k++) {
            const kv_t *a = &fg->cells[i].kv[k];
            bool have = false;
            for (int j = 0; j < nkeys; j++)
                have |= strcmp(keys[j], a->key) == 0;
            if (have || nkeys == MAX_KEYS || is_x(a->key, fg->x))
                continue;
            bool set = strncmp(a->key, "model.", 6) == 0 &&
                       command_sets(cmd, a->key + 6);
            bool vary = false;
            for (int m = 0; m < fg->ncells && !vary; m++) {
                for (int n = 0; n < fg->ncells && !vary; n++) {
                    if (strcmp(fg->cells[m].c->first->model,
                               fg->cells[n].c->first->model) != 0)
                        continue;
                    const char *v1 = kv_find(fg->cells[m].kv,
                                             fg->cells[m].nkv, a->key);
                    const char *v2 = kv_find(fg->cells[n].kv,
                                             fg->cells[n].nkv, a->key);
                    vary = v1 && v2 && strcmp(v1, v2) != 0;
                }
            }
            if (set || vary) {
                varies[nkeys] = vary;
                snprintf(keys[nkeys++], sizeof keys[0], "%s", a->key);
            }
        }
    for (int i = 0; i < fg->ncells; i++) {
        fig_cell_t *fc = &fg->cells[i];
        char lab[200] = "";
        size_t lo = 0, vo = 0;
        fc->variant[0] = '\0';
        /* Pass 0: the model parameters the command sets; 1: the rest. */
        for (int pass = 0; pass < 2; pass++)
            for (int j = 0; j < nkeys; j++) {
                const char *v = kv_find(fc->kv, fc->nkv, keys[j]);
                const char *k = keys[j];
                if (!v || (pass == 0) == varies[j])
                    continue;
                if (strncmp(k, "model.", 6) == 0)
                    k += 6;
                int w = snprintf(lab + lo, sizeof lab - lo, "%s%s=%s",
                                 lo ? " " : "", k, v);
                if (w > 0 && (size_t)w < sizeof lab - lo)
                    lo += (size_t)w;
                if (!varies[j])
                    continue;
                w = snprintf(fc->variant + vo, sizeof fc->variant - vo,
                             "%s%s=%s", vo ? " " : "", k, v);
                if (w > 0 && (size_t)w < sizeof fc->variant - vo)
                    vo += (size_t)w;
            }
        setf(fc->label, sizeof fc->label, "%s%s%s", fc->c->first->model,
             lab[0] ? " " : "", lab);
        setf(fc->params, sizeof fc->params, "%s", lab);
    }
}

/* Index (1-based) of s among the distinct strings seen so far, adding
 * it when new. */
static int ordinal(char seen[][200], int *n, int max, const char *s)
{
    for (int i = 0; i < *n; i++)
        if (strcmp(seen[i], s) == 0)
            return i + 1;
    if (*n == max)
        return max;
    setf(seen[*n], 200, "%s", s);
    return ++*n;
}

/* Where each bar stands.  With an x parameter, the cells form groups by
 * its value (numbers in order, other values in the order the step's
 * command lists them, cells without the parameter last), and inside a
 * group the bars present stand side by side, centred on the group's tic,
 * in the order their labels first appear; every bar has the same width,
 * the widest group's share.  Without x, one bar per cell.  Cells without
 * samples get their place too (marked "n/a"): a gap says what is
 * missing where a shifted bar would hide it. */
static void place_bars(figure_t *fg, const char *cmd, char groups[][200],
                       int *ngroups, double *bw)
{
    int ng = 0;
    *bw = 0.6;
    if (!fg->x) {
        for (int i = 0; i < fg->ncells; i++)
            fg->cells[i].pos = i + 1;
        *ngroups = 0;
        return;
    }
    bool numeric = true, blank = false;
    double gx[MAX_CELLS];
    for (int i = 0; i < fg->ncells; i++) {
        const fig_cell_t *fc = &fg->cells[i];
        if (!fc->xs[0]) {
            blank = true;
            continue;
        }
        int before = ng;
        int k = ordinal(groups, &ng, MAX_CELLS, fc->xs) - 1;
        if (ng > before)
            gx[k] = fc->xval;
        numeric &= !isnan(fc->xval);
    }
    if (numeric && ng > 1) {
        /* Sort the values and their texts together. */
        for (int a = 1; a < ng; a++)
            for (int b = a; b > 0 && gx[b - 1] > gx[b]; b--) {
                double t = gx[b];
                gx[b] = gx[b - 1];
                gx[b - 1] = t;
                char tmp[200];
                memcpy(tmp, groups[b], sizeof tmp);
                memcpy(groups[b], groups[b - 1], sizeof tmp);
                memcpy(groups[b - 1], tmp, sizeof tmp);
            }
    } else
        order_as_command(cmd, fg->x, groups, ng);
    if (blank && ng < MAX_CELLS)
        groups[ng++][0] = '\0';
    /* Labels in order of first appearance: the slot order in a group. */
    char labels[MAX_CELLS][200];
    int nl = 0, widest = 1;
    for (int i = 0; i < fg->ncells; i++)
        ordinal(labels, &nl, MAX_CELLS, fg->cells[i].label);
    for (int g = 0; g < ng; g++) {
        int m = 0;
        for (int l = 0; l < nl; l++)
            for (int i = 0; i < fg->ncells; i++)
                if (strcmp(fg->cells[i].xs, groups[g]) == 0 &&
                    strcmp(fg->cells[i].label, labels[l]) == 0) {
                    m++;
                    break;
                }
        widest = m > widest ? m : widest;
    }
    *bw = 0.8 / widest;
    for (int g = 0; g < ng; g++) {
        int m = 0, rank[MAX_CELLS];
        for (int l = 0; l < nl; l++) {
            rank[l] = -1;
            for (int i = 0; i < fg->ncells; i++)
                if (strcmp(fg->cells[i].xs, groups[g]) == 0 &&
                    strcmp(fg->cells[i].label, labels[l]) == 0) {
                    rank[l] = m++;
                    break;
                }
        }
        for (int i = 0; i < fg->ncells; i++) {
            fig_cell_t *fc = &fg->cells[i];
            if (strcmp(fc->xs, groups[g]) != 0)
                continue;
            for (int l = 0; l < nl; l++)
                if (strcmp(fc->label, labels[l]) == 0)
                    fc->pos = (g + 1) + (rank[l] - (m - 1) / 2.0) * *bw;
        }
    }
    *ngroups = ng;
}

/* Spawn gnuplot on script with the variables in vars; 0 when the
 * figure file was written, else -1 with gnuplot's words in err. */
static int gnuplot(const char *scripts, const char *script, const char *vars,
                   const char *file, char *err, size_t errlen)
{
    char path[4300];
    snprintf(path, sizeof path, "%s/%s", scripts, script);
    int errfd = memfd_create("gnuplot-stderr", MFD_CLOEXEC);
    char *argv[] = {"gnuplot", "-e", (char *)vars, path, NULL};
    unlink(file);
    int status = spawn_wait(spawn(argv, errfd, true, false));
    struct stat st;
    bool ok = status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
              stat(file, &st) == 0 && st.st_size > 0;
    err[0] = '\0';
    if (!ok) {
        if (status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 127)
            snprintf(err, errlen, "gnuplot is not installed (gnuplot-nox; "
                                  "scripts/deps.sh installs it)");
        else if (errfd >= 0) {
            ssize_t n = pread(errfd, err, errlen - 1, 0);
            err[n > 0 ? n : 0] = '\0';
        }
        if (!err[0])
            setf(err, errlen, "gnuplot wrote no %s", file);
    }
    if (errfd >= 0)
        close(errfd);
    return ok ? 0 : -1;
}

typedef struct drawn {
    char svg[4300], png[4300], png_rel[300];
    char missing[2048]; /* "csp hogs=4: timeout; ..." */
    char error[1024];   /* why it could not be drawn */
    char step_dir[4200];
} drawn_t;

/* Draw plot p of check c into DIR/figures/ID-N.{svg,png}. */
static int draw(report_t *r, const jv_t *c, const jv_t *p, int n,
                drawn_t *out)
{
    memset(out, 0, sizeof *out);
    const char *id = str_or(c, "id", "?");
    const char *step = str_or(p, "step", "");
    figure_t *fg = calloc(1, sizeof *fg);
    res_set_t set = {0};
    res_summary_t sum = {0};
    char *vars = NULL;
    size_t vlen = 0;
    int rc = -1;
    if (!fg) {
        setf(out->error, sizeof out->error, "out of memory");
        return -1;
    }
    fg->kind = str_or(p, "kind", "bars");
    fg->metric = str_or(p, "metric", "");
    fg->x = jv_str(jv_get(p, "x"));
    fg->title = str_or(p, "title", fg->metric);
    fg->unit = str_or(p, "unit", "");
    const jv_t *ly = jv_get(p, "log_y");
    fg->log_y = ly && ly->kind == JV_BOOL && ly->b;
    bool bars = strcmp(fg->kind, "bars") == 0,
         xy = strcmp(fg->kind, "xy") == 0,
         cdf = strcmp(fg->kind, "cdf") == 0,
         series = strcmp(fg->kind, "series") == 0;
    if (!bars && !xy && !cdf && !series) {
        setf(out->error, sizeof out->error,
                 "unknown figure kind '%s' (bars, xy, cdf, series)",
                 fg->kind);
        goto done;
    }
    if (xy && !(fg->x && *fg->x)) {
        setf(out->error, sizeof out->error,
                 "an xy figure needs its x parameter");
        goto done;
    }
    step_dir(r, c, step, out->step_dir, sizeof out->step_dir);
    char err[1024], noisy[2048] = "";
    if (results_load(out->step_dir, false, &set, err, sizeof err) < 0 ||
        results_finalize(out->step_dir, noisy, sizeof noisy, err,
                         sizeof err) < 0) {
        setf(out->error, sizeof out->error, "%s", err);
        goto done;
    }
    for (char *l = strtok(noisy, "\n"); l; l = strtok(NULL, "\n")) {
        size_t o = strlen(r->noisy);
        if (!strstr(r->noisy, l))
            snprintf(r->noisy + o, sizeof r->noisy - o, "%s: %s\n", id, l);
    }
    if (results_summarise(&set, &sum) < 0) {
        setf(out->error, sizeof out->error, "out of memory");
        goto done;
    }
    if (!r->machine && set.machine) {
        /* The header describes the machine the steps ran on. */
        r->machine_owned = set.machine;
        r->machine = set.machine;
        set.machine = NULL;
    }

    /* The cells, what each has, and the data's magnitude. */
    char hname[200];
    snprintf(hname, sizeof hname, "%s.p50", fg->metric);
    double lo = INFINITY, hi = 0;
    for (size_t i = 0; i < sum.ncells && fg->ncells < MAX_CELLS; i++) {
        fig_cell_t *fc = &fg->cells[fg->ncells++];
        fc->c = &sum.cells[i];
        fc->nkv = cell_params(fc->c->first->cell, fc->kv, MAX_KEYS);
        fc->rep = -1;
        fc->xval = NAN;
        if (fg->x) {
            for (int k = 0; k < fc->nkv; k++)
                if (is_x(fc->kv[k].key, fg->x)) {
                    setf(fc->xs, sizeof fc->xs, "%s", fc->kv[k].val);
                    char *end;
                    double v = strtod(fc->kv[k].val, &end);
                    if (end != fc->kv[k].val && !*end)
                        fc->xval = v;
                }
        }
        const res_mvals_t *m = NULL;
        if (bars || xy)
            m = results_find_metric(fc->c, fg->metric);
        else if (cdf)
            m = results_find_metric(fc->c, hname);
        if (series) {
            fc->rep = first_ok_rep(&set, fc->c, fg->metric);
            fc->has = fc->rep >= 0;
            if (fc->has) {
                double v = series_max(&set, fc->c, fg->metric, fc->rep);
                hi = fmax(hi, v);
                if (v > 0)
                    lo = fmin(lo, v);
            }
        } else
            fc->has = m && m->n > 0 && isfinite(m->st.median);
        if (xy && fc->has && isnan(fc->xval)) {
            fc->has = false;
            setf(fc->missing, sizeof fc->missing,
                     "%s=%s is not a number to draw", fg->x, fc->xs);
        }
        if (!fc->has) {
            if (!fc->missing[0])
                why_missing(fc->c, fc->missing, sizeof fc->missing);
            continue;
        }
        if (m) {
            double top = isfinite(m->st.ci_hi) ? m->st.ci_hi : m->st.median;
            if (cdf) {
                char mx[200];
                snprintf(mx, sizeof mx, "%s.max", fg->metric);
                const res_mvals_t *mm = results_find_metric(fc->c, mx);
                if (mm && isfinite(mm->st.median))
                    top = mm->st.median;
            }
            hi = fmax(hi, top);
            double bottom = isfinite(m->st.ci_lo) && m->st.ci_lo > 0
                                ? m->st.ci_lo
                                : m->st.median;
            if (bottom > 0)
                lo = fmin(lo, bottom);
        }
    }
    if (fg->ncells == 0) {
        setf(out->error, sizeof out->error,
                 "step %s has no results in %s", step, out->step_dir);
        goto done;
    }
    label_cells(fg, step_command(c, step));

    /* Units: the divisor from the data's magnitude (the middle of a log
     * axis's decades, so its labels are neither 0.001 nor 10000). */
    double mag = hi;
    if ((fg->log_y || cdf) && isfinite(lo) && lo > 0 && hi > 0)
        mag = sqrt(lo * hi);
    double div;
    char uname[32], words[200], ylabel[300], xlabel[300];
    /* "throughput_ops_s" says its unit in its name. */
    const char *unit = fg->unit;
    size_t ml = strlen(fg->metric);
    if (!unit[0] && ml > 6 && strcmp(fg->metric + ml - 6, "_ops_s") == 0)
        unit = "ops/s";
    unit_of(unit, mag, &div, uname, sizeof uname);
    metric_words(fg->metric, words, sizeof words);
    if (strcmp(unit, "ops/s") == 0) {
        char *ops = strstr(words, " ops");
        if (ops && !ops[4])
            *ops = '\0';
    }
    const char *logs = fg->log_y ? "log scale" : "";
    if (cdf) {
        snprintf(xlabel, sizeof xlabel, "%s (%s%slog scale)", words, uname,
                 uname[0] ? ", " : "");
        snprintf(ylabel, sizeof ylabel, "fraction of samples at or below x");
    } else {
        if (uname[0] || fg->log_y)
            snprintf(ylabel, sizeof ylabel, "%s (%s%s%s)", words, uname,
                     uname[0] && fg->log_y ? ", " : "", logs);
        else
            snprintf(ylabel, sizeof ylabel, "%s", words);
        if (series)
            snprintf(xlabel, sizeof xlabel,
                     "time since the measurement window opened (ms)");
        else if (fg->x && !bars) /* bars: the x tics say "hogs=4" */
            snprintf(xlabel, sizeof xlabel, "%s", fg->x);
        else
            xlabel[0] = '\0';
    }

    /* Series: one per cell, except xy (one per label: its x values). */
    int nser = 0, nmiss = 0;
    char titles[MAX_CELLS][200], variants[MAX_CELLS][200];
    int nvar = 0;
    for (int i = 0; i < fg->ncells; i++) {
        fig_cell_t *fc = &fg->cells[i];
        if (fc->has) {
            ordinal(variants, &nvar, MAX_CELLS, fc->variant);
            continue;
        }
        nmiss++;
        size_t o = strlen(out->missing);
        bool kv = fg->x && fc->xs[0];
        setf(out->missing + o, sizeof out->missing - o, "%s%s%s%s%s%s: %s",
             o ? "; " : "", fc->label, kv ? " " : "", kv ? fg->x : "",
             kv ? "=" : "", kv ? fc->xs : "", fc->missing);
    }
    char groups[MAX_CELLS][200];
    int ngroups = 0;
    double bw = 0.6;
    if (bars)
        place_bars(fg, step_command(c, step), groups, &ngroups, &bw);
    FILE *f = open_memstream(&vars, &vlen);
    if (!f)
        goto done;
    char file_base[4300];
    snprintf(file_base, sizeof file_base, "%s/figures/%s-%d", r->dir, id, n);
    fputs("SCRIPTS=", f);
    gp_str(f, r->scripts);
    fputs("; OUT=", f);
    gp_str(f, file_base);
    fputs("; DATA=", f);
    char data[4300];
    snprintf(data, sizeof data, "%s/%s", out->step_dir,
             cdf ? "hist.csv" : series ? "series.csv" : "summary.csv");
    gp_str(f, data);
    fputs("; TITLE=", f);
    gp_title(f, fg->title);
    fputs("; METRIC=", f);
    gp_str(f, fg->metric);
    fputs("; YLABEL=", f);
    gp_str(f, ylabel);
    fputs("; XLABEL=", f);
    gp_str(f, xlabel);
    /* A log axis starts a little under the smallest value (bars would
     * otherwise reach down to gnuplot's guess of a few decades below). */
    fprintf(f, "; YDIV=%.17g; LOGY=%d; YMIN=%.17g", div, fg->log_y ? 1 : 0,
            isfinite(lo) && lo > 0 ? lo / div / 2 : 0);
    if (xy) {
        /* The x column: the cell id's key ("model.pool" for a model's). */
        const char *xcol = fg->x;
        for (int i = 0; i < fg->ncells; i++)
            for (int k = 0; k < fg->cells[i].nkv; k++)
                if (is_x(fg->cells[i].kv[k].key, fg->x))
                    xcol = fg->cells[i].kv[k].key;
        double xmin = INFINITY, xmax = -INFINITY;
        for (int i = 0; i < fg->ncells; i++)
            if (fg->cells[i].has) {
                xmin = fmin(xmin, fg->cells[i].xval);
                xmax = fmax(xmax, fg->cells[i].xval);
            }
        fputs("; XPARAM=", f);
        gp_str(f, xcol);
        bool logx = xmin > 0 && xmax / xmin >= 20;
        /* Room around the first and last points: a point on the border
         * hides its interval. */
        double pad = (xmax - xmin) * 0.04;
        fprintf(f, "; LOGX=%d; XLO=%.17g; XHI=%.17g", logx ? 1 : 0,
                logx ? xmin / 1.25 : xmin - (pad > 0 ? pad : 0.5),
                logx ? xmax * 1.25 : xmax + (pad > 0 ? pad : 0.5));
    }
    /* Series arrays. */
    char gbuf[MAX_CELLS][1100];
    int scell[MAX_CELLS];
    for (int i = 0; i < fg->ncells; i++) {
        fig_cell_t *fc = &fg->cells[i];
        if (!fc->has)
            continue;
        int s = nser;
        if (xy)
            for (int k = 0; k < nser; k++)
                if (strcmp(titles[k], fc->label) == 0)
                    s = k;
        if (s == nser) {
            snprintf(titles[s], sizeof titles[0], "%s", fc->label);
            snprintf(gbuf[s], sizeof gbuf[0], "|");
            scell[s] = i;
            nser++;
        }
        size_t o = strlen(gbuf[s]);
        snprintf(gbuf[s] + o, sizeof gbuf[0] - o, "%s|", fc->c->first->cell);
    }
    if (nser == 0) {
        fclose(f);
        setf(out->error, sizeof out->error,
                 "no cell of step %s has samples of %s (%s)", step,
                 fg->metric, out->missing);
        goto done;
    }
    fprintf(f, "; array G[%d]; array T[%d]; array C[%d]; array D[%d]; "
               "array P[%d]; array REP[%d]",
            nser, nser, nser, nser, nser, nser);
    /* Bars in groups: one legend entry per label. */
    char seen_titles[MAX_CELLS][200];
    int nseen = 0;
    for (int s = 0; s < nser; s++) {
        const fig_cell_t *fc = &fg->cells[scell[s]];
        double pos = bars ? fc->pos : s + 1;
        bool title = true;
        if (bars && fg->x) {
            int before = nseen;
            title = ordinal(seen_titles, &nseen, MAX_CELLS, titles[s]) > before;
        }
        fprintf(f, "; G[%d]=", s + 1);
        gp_str(f, gbuf[s]);
        fprintf(f, "; T[%d]=", s + 1);
        /* Bars without x name themselves on the x axis: no legend. */
        gp_str(f, title && !(bars && !fg->x) ? titles[s] : "");
        fprintf(f, "; C[%d]=", s + 1);
        gp_str(f, plot_system_colour(fc->c->first->model));
        fprintf(f, "; D[%d]=%d; P[%d]=%.6f; REP[%d]=%d", s + 1,
                ordinal(variants, &nvar, MAX_CELLS, fc->variant), s + 1, pos,
                s + 1, fc->rep);
    }
    /* Legend entries for cells without samples. */
    fprintf(f, "; NM=%d; array M[%d]; array MC[%d]", nmiss,
            nmiss ? nmiss : 1, nmiss ? nmiss : 1);
    int j = 0;
    for (int i = 0; i < fg->ncells; i++) {
        const fig_cell_t *fc = &fg->cells[i];
        if (fc->has)
            continue;
        char t[600];
        setf(t, sizeof t, "%s%s%s%s%s: no samples", fc->label,
             fg->x && fc->xs[0] ? " " : "", fg->x && fc->xs[0] ? fg->x : "",
             fg->x && fc->xs[0] ? "=" : "", fg->x && fc->xs[0] ? fc->xs : "");
        fprintf(f, "; M[%d]=", ++j);
        gp_str(f, t);
        fprintf(f, "; MC[%d]=", j);
        gp_str(f, plot_system_colour(fc->c->first->model));
    }
    if (bars) {
        /* x tics: the groups (x values), or one tic per bar. */
        char *tics = NULL;
        size_t tl = 0;
        FILE *t = open_memstream(&tics, &tl);
        if (!t) {
            fclose(f);
            goto done;
        }
        fputs("set xtics (", t);
        /* With x: a tic per group, "nif=plain" ("without nif" for cells
         * that lack the parameter: another system's); without: a tic per
         * bar, the system over its parameters. */
        int count = fg->x ? ngroups : fg->ncells;
        bool two = false;
        for (int k = 0; k < count; k++) {
            char lab[600];
            double at = k + 1;
            if (fg->x && groups[k][0])
                setf(lab, sizeof lab, "%s=%s", fg->x, groups[k]);
            else if (fg->x)
                setf(lab, sizeof lab, "without %s", fg->x);
            else {
                const fig_cell_t *tc = &fg->cells[k];
                setf(lab, sizeof lab, "%s%s%s", tc->c->first->model,
                     tc->params[0] ? "\n" : "", tc->params);
                two |= tc->params[0] != '\0';
                at = tc->pos;
            }
            /* gnuplot's eval: a double-quoted string, quotes escaped. */
            fputs(k ? ", \"" : "\"", t);
            for (const char *q = lab; *q; q++) {
                if (*q == '"' || *q == '\\')
                    fputc('\\', t);
                if (*q == '\n')
                    fputs("\\n", t);
                else
                    fputc(*q, t);
            }
            fprintf(t, "\" %.6f", at);
        }
        fputs(") noenhanced", t);
        fclose(t);
        fputs("; XTICS=", f);
        gp_str(f, tics);
        free(tics);
        fprintf(f, "; BW=%.6f; XMIN=0.4; XMAX=%d.6; TICLINES=%d", bw, count,
                two ? 2 : 1);
        /* "n/a" where a bar has no samples. */
        int nl = 0;
        char lbuf[8192] = "";
        for (int i = 0; i < fg->ncells; i++) {
            const fig_cell_t *fc = &fg->cells[i];
            if (fc->has)
                continue;
            size_t o = strlen(lbuf);
            nl++;
            snprintf(lbuf + o, sizeof lbuf - o,
                     "; LX[%d]=%.6f; LT[%d]='n/a'", nl, fc->pos, nl);
        }
        fprintf(f, "; NL=%d; array LX[%d]; array LT[%d]%s", nl,
                nl ? nl : 1, nl ? nl : 1, lbuf);
    }
    fclose(f);
    const char *script = bars     ? "talk-bars.gp"
                         : xy     ? "talk-xy.gp"
                         : cdf    ? "talk-cdf.gp"
                                  : "talk-series.gp";
    rc = 0;
    snprintf(out->png_rel, sizeof out->png_rel, "figures/%s-%d.png", id, n);
    /* Neither file of an earlier report may stand for this one. */
    for (int k = 0; k < 2; k++) {
        char old[4400];
        setf(old, sizeof old, "%s.%s", file_base, k ? "png" : "svg");
        unlink(old);
    }
    for (int k = 0; k < 2 && rc == 0; k++) {
        const char *fmt = k ? "png" : "svg";
        char *cmd = NULL;
        size_t cl = 0;
        FILE *cf = open_memstream(&cmd, &cl);
        if (!cf) {
            rc = -1;
            break;
        }
        fprintf(cf, "FMT='%s'; %s", fmt, vars);
        fclose(cf);
        char *file = k ? out->png : out->svg;
        setf(file, sizeof out->svg, "%s.%s", file_base, fmt);
        rc = gnuplot(r->scripts, script, cmd, file, out->error,
                     sizeof out->error);
        free(cmd);
    }
done:
    free(vars);
    results_summary_free(&sum);
    results_free(&set);
    free(fg);
    if (rc == 0)
        r->figures_made++;
    else
        r->figures_failed++;
    return rc;
}

/* ---- the pages ---- */

/* What a figure of this kind shows of the repetitions. */
static const char *caption_of(const char *kind)
{
    if (strcmp(kind, "cdf") == 0)
        return "the samples of every measured repetition merged";
    if (strcmp(kind, "series") == 0)
        return "the first measured repetition of each cell";
    return "medians over the repetitions with their bootstrap 95% intervals";
}

static const char *verdict_class(const char *v)
{
    if (!v)
        return "none";
    if (strcmp(v, "holds") == 0 || strcmp(v, "agree") == 0)
        return "holds";
    if (strncmp(v, "does not hold", 13) == 0 || strcmp(v, "differ") == 0)
        return "not";
    if (strcmp(v, "inconclusive") == 0)
        return "inconclusive";
    return "none";
}

/* Inline an SVG file into the page: the XML prologue and namespace
 * declarations dropped (HTML knows <svg>), every element id and every
 * reference to one (href="#..", url(#..)) prefixed with the figure's own
 * "fN_", so that two figures on one page never resolve each other's
 * references nor share an id. */
static int inline_svg(FILE *out, const char *path, int seq, const char *alt)
{
    char *svg = read_file(path, NULL);
    if (!svg)
        return -1;
    char *p = strstr(svg, "<svg");
    if (!p) {
        free(svg);
        return -1;
    }
    static const char *drop[] = {
        "xmlns=\"http://www.w3.org/2000/svg\"",
        "xmlns:xlink=\"http://www.w3.org/1999/xlink\"",
    };
    /* What precedes an id or a reference to one. */
    static const char *refs[] = {" id='", " id=\"", "href='#", "href=\"#",
                                 "url(#"};
    fprintf(out, "<svg class=\"fig\" role=\"img\" aria-label=\"");
    html_esc(out, alt);
    fputc('"', out);
    p += 4;
    while (*p) {
        bool done = false;
        for (size_t i = 0; i < sizeof drop / sizeof drop[0] && !done; i++)
            if (strncmp(p, drop[i], strlen(drop[i])) == 0) {
                p += strlen(drop[i]);
                done = true;
            }
        for (size_t i = 0; i < sizeof refs / sizeof refs[0] && !done; i++)
            if (strncmp(p, refs[i], strlen(refs[i])) == 0) {
                fprintf(out, "%sf%d_", refs[i], seq);
                p += strlen(refs[i]);
                done = true;
            }
        if (!done)
            fputc(*p++, out);
    }
    free(svg);
    return 0;
}

static const char css[] =
    "body{font:15px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,"
    "sans-serif;color:#1f2328;max-width:1080px;margin:0 auto;padding:1.5em;"
    "background:#fff}\n"
    "h1{font-size:1.7em;margin:.2em 0}h2{font-size:1.3em;margin-top:2.2em;"
    "border-bottom:1px solid #d0d7de;padding-bottom:.2em}\n"
    "table{border-collapse:collapse;margin:.8em 0;width:100%}"
    "th,td{border:1px solid #d0d7de;padding:.35em .6em;text-align:left;"
    "vertical-align:top}th{background:#f6f8fa}\n"
    "td.n{text-align:right;white-space:nowrap}\n"
    ".badge{display:inline-block;padding:.1em .6em;border-radius:1em;"
    "font-weight:600;font-size:.85em;white-space:nowrap;color:#fff}\n"
    ".holds{background:#1a7f37}.not{background:#cf222e}"
    ".inconclusive{background:#9a6700}.none{background:#6e7781}\n"
    "pre{background:#f6f8fa;border:1px solid #d0d7de;border-radius:6px;"
    "padding:.6em;overflow-x:auto;font-size:.85em;white-space:pre-wrap;"
    "word-break:break-all}\n"
    "code{font-size:.9em}\n"
    "dl.machine{display:grid;grid-template-columns:max-content auto;"
    "gap:.15em 1em;margin:.5em 0}dl.machine dt{font-weight:600}"
    "dl.machine dd{margin:0}\n"
    ".warn{background:#fff8c5;border:1px solid #d4a72c;border-radius:6px;"
    "padding:.4em .8em}\n"
    "figure{margin:1em 0}svg.fig{width:100%;height:auto;display:block;"
    "border:1px solid #eaeef2}\n"
    "figcaption{font-size:.9em;color:#57606a}\n"
    ".missing{color:#9a6700}.err{color:#cf222e}\n"
    ".addition{font-size:.7em;color:#57606a;font-weight:400}\n";

typedef struct check_view {
    const jv_t *c;
    drawn_t *figs;
    int nfigs;
} check_view_t;

static const char *machine_str(const report_t *r, const char *key)
{
    const jv_t *m = jv_get(r->verdicts, "machine");
    const char *s = jv_str(jv_get(m, key));
    if (!s)
        s = jv_str(jv_get(r->machine, key));
    return s;
}

/* The real systems and their versions: as verdicts.json recorded them,
 * else asked now (the same machine, as a rule). */
static void systems_each(const report_t *r,
                         void (*fn)(void *, const char *, const char *),
                         void *arg)
{
    const jv_t *s = jv_get(jv_get(r->verdicts, "machine"), "systems");
    if (s && s->kind == JV_OBJ) {
        /* `talk run` records the systems its steps ran. */
        for (size_t i = 0; i < s->n; i++)
            fn(arg, s->keys[i], jv_str(&s->items[i]) ? jv_str(&s->items[i])
                                                     : "?");
        if (s->n == 0)
            fn(arg, NULL, "no claim shown here ran a real system");
        return;
    }
    for (size_t i = 0; i < peer_count(); i++)
        fn(arg, peer_name(peer_at(i)), peer_version(peer_at(i)));
}

/* The noise warnings: as recorded, else rebuilt from the first step's
 * machine.json (the same tests machine_noise_warnings makes before a
 * matrix), then the noisy cells. */
static void noise_lines(const report_t *r, char *buf, size_t len)
{
    buf[0] = '\0';
    size_t o = 0;
#define ADD(...)                                                              \
    do {                                                                      \
        int w_ = snprintf(buf + o, len - o, __VA_ARGS__);                     \
        if (w_ > 0 && (size_t)w_ < len - o)                                   \
            o += (size_t)w_;                                                  \
    } while (0)
    const jv_t *w = jv_get(jv_get(r->verdicts, "machine"), "noise_warnings");
    if (w && w->kind == JV_ARR) {
        for (size_t i = 0; i < w->n; i++)
            if (jv_str(&w->items[i]))
                ADD("%s\n", jv_str(&w->items[i]));
    } else if (r->machine) {
        const char *vm = jv_str(jv_get(r->machine, "vm"));
        const char *gov = jv_str(jv_get(r->machine, "governor"));
        const char *load = jv_str(jv_get(r->machine, "loadavg"));
        double lim;
        if (vm)
            ADD("this is a virtual machine (%s): neighbours can take CPU "
                "time; publish figures from bare metal\n",
                vm);
        if (gov && strcmp(gov, "performance") != 0)
            ADD("the CPU frequency governor is '%s', not 'performance'\n",
                gov);
        if (jv_num(jv_get(r->machine, "cgroup_cpu_limit"), &lim) && lim > 0)
            ADD("a cgroup limits the run to %.2f CPUs\n", lim);
        double l1;
        if (load && sscanf(load, "%lf", &l1) == 1 && l1 > 0.5)
            ADD("the load average was %.2f when the first step started: "
                "other processes shared the PUs\n",
                l1);
    }
    int noisy = 0;
    for (const char *p = r->noisy; (p = strchr(p, '\n')); p++)
        noisy++;
    if (noisy)
        ADD("%d cell%s varied by more than %.0f%% (coefficient of variation) "
            "between repetitions: their intervals are wide (each is named "
            "with its claim)\n",
            noisy, noisy == 1 ? "" : "s", NOISY_CV * 100);
#undef ADD
}

/* Calls fn for each noisy cell of check id ("ID: cell ..." lines). */
static void noisy_of(const report_t *r, const char *id,
                     void (*fn)(FILE *, const char *), FILE *f)
{
    size_t n = strlen(id);
    for (const char *p = r->noisy; *p;) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len > n + 2 && strncmp(p, id, n) == 0 && p[n] == ':') {
            char line[1024];
            snprintf(line, sizeof line, "%.*s", (int)(len - n - 2), p + n + 2);
            fn(f, line);
        }
        p += len + (e ? 1 : 0);
    }
}

static void html_li(FILE *f, const char *s)
{
    fputs("<li>", f);
    html_esc(f, s);
    fputs("</li>", f);
}

static void md_li(FILE *f, const char *s)
{
    fputs("- ", f);
    md_esc(f, s);
    fputc('\n', f);
}

static double elapsed_of(const report_t *r)
{
    double e;
    if (jv_num(jv_get(r->verdicts, "elapsed_s"), &e))
        return e;
    return r->run_s;
}

static void html_system(void *arg, const char *name, const char *ver)
{
    FILE *f = arg;
    fputs("<li>", f);
    if (name) {
        fputs("<b>", f);
        html_esc(f, name);
        fputs("</b>: ", f);
    }
    html_esc(f, ver);
    fputs("</li>", f);
}

static void md_system(void *arg, const char *name, const char *ver)
{
    FILE *f = arg;
    fputs("- ", f);
    if (name) {
        fputs("**", f);
        md_esc(f, name);
        fputs("**: ", f);
    }
    md_esc(f, ver);
    fputc('\n', f);
}

static void rerun_line(const report_t *r, const char *id, char *out,
                       size_t len)
{
    snprintf(out, len, "concbench talk run %s%s -o %s", id,
             r->quick ? " --quick" : "", r->dir);
}

static void write_html(report_t *r, FILE *f, const check_view_t *v, int nv)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta "
          "charset=\"utf-8\">\n<meta name=\"viewport\" "
          "content=\"width=device-width,initial-scale=1\">\n"
          "<title>concbench: the talk's claims, measured</title>\n<style>\n",
          f);
    fputs(css, f);
    fputs("</style>\n</head>\n<body>\n", f);
    fputs("<h1>The talk's claims, measured on this machine</h1>\n<p>Each "
          "claim of the talk <i>Comparing the Actor Model and CSP "
          "Concurrency with Elixir and Clojure</i> is an experiment run by "
          "<code>concbench</code>, judged by a shape rule on the bootstrap "
          "95% intervals of medians measured side by side: never an "
          "absolute time.",
          f);
    fprintf(f, " Sizes: <b>%s</b>.</p>\n",
            r->quick ? "--quick (a few minutes in all; wider intervals)"
                     : "full");

    /* The machine. */
    fputs("<dl class=\"machine\">\n", f);
    const char *cpu = machine_str(r, "cpu_model"),
               *topo = machine_str(r, "topology"),
               *vm = machine_str(r, "vm"), *kern = machine_str(r, "kernel"),
               *date = machine_str(r, "date"),
               *san = machine_str(r, "sanitize");
    fputs("<dt>CPU</dt><dd>", f);
    html_esc(f, cpu ? cpu : "unknown");
    if (topo) {
        fputs(" (", f);
        html_esc(f, topo);
        fputs(")", f);
    }
    fputs("</dd>\n<dt>Virtual machine</dt><dd>", f);
    html_esc(f, vm ? vm : r->machine ? "no (none detected)" : "unknown");
    fputs("</dd>\n<dt>Kernel</dt><dd>", f);
    html_esc(f, kern ? kern : "unknown");
    fputs("</dd>\n<dt>concbench</dt><dd>", f);
    html_esc(f, str_or(r->machine, "concbench_version", "?"));
    fputs(" (", f);
    html_esc(f, str_or(r->machine, "git_revision", "?"));
    fputs(", ", f);
    html_esc(f, str_or(r->machine, "build_type", "?"));
    fputs(" build, ", f);
    html_esc(f, str_or(r->machine, "compiler", "?"));
    fputs(")</dd>\n<dt>Real systems</dt><dd><ul style=\"margin:0;"
          "padding-left:1.2em\">",
          f);
    systems_each(r, html_system, f);
    fputs("</ul></dd>\n<dt>Run</dt><dd>", f);
    if (date) {
        fputs("started ", f);
        html_esc(f, date);
        fputs("; ", f);
    }
    double e = elapsed_of(r);
    if (e >= 0)
        fprintf(f, "took %.0f s to run, ", e);
    fprintf(f, "%.1f s to draw %d figure%s</dd>\n</dl>\n", r->draw_s,
            r->figures_made, r->figures_made == 1 ? "" : "s");
    char noise[16384];
    noise_lines(r, noise, sizeof noise);
    if (san && *san) {
        fputs("<p class=\"warn\">A sanitizer build (", f);
        html_esc(f, san);
        fputs("): its timings, fairness and memory are the sanitizer's, not "
              "the models'.</p>\n",
              f);
    }
    if (noise[0]) {
        fputs("<div class=\"warn\"><b>Noise warnings</b><ul>", f);
        for (char *l = strtok(noise, "\n"); l; l = strtok(NULL, "\n")) {
            fputs("<li>", f);
            html_esc(f, l);
            fputs("</li>", f);
        }
        fputs("</ul></div>\n", f);
    }

    /* The verdict table. */
    int count[5] = {0};
    for (int i = 0; i < nv; i++) {
        const char *k = verdict_class(jv_str(jv_get(v[i].c, "verdict")));
        count[strcmp(k, "holds") == 0          ? 0
              : strcmp(k, "not") == 0          ? 1
              : strcmp(k, "inconclusive") == 0 ? 2
                                               : 3]++;
    }
    fprintf(f,
            "<h2 id=\"verdicts\">Verdicts</h2>\n<p>%d claims: %d hold, %d do "
            "not hold here, %d inconclusive, %d cannot be shown here.</p>\n"
            "<table>\n<tr><th>#</th><th>claim</th><th>verdict</th>"
            "<th>why</th></tr>\n",
            nv, count[0], count[1], count[2], count[3]);
    for (int i = 0; i < nv; i++) {
        const jv_t *c = v[i].c;
        double order = 0;
        jv_num(jv_get(c, "order"), &order);
        const char *verdict = str_or(c, "verdict", "no verdict");
        const jv_t *add = jv_get(c, "addition");
        fprintf(f, "<tr><td class=\"n\">%s%.0f</td><td><a href=\"#",
                add && add->kind == JV_BOOL && add->b ? "+" : "", order);
        html_esc(f, str_or(c, "id", "?"));
        fputs("\">", f);
        html_esc(f, str_or(c, "title", str_or(c, "id", "?")));
        fprintf(f, "</a></td><td><span class=\"badge %s\">",
                verdict_class(verdict));
        html_esc(f, verdict);
        fputs("</span></td><td>", f);
        html_esc(f, str_or(c, "why", ""));
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n", f);

    /* One section per claim. */
    for (int i = 0; i < nv; i++) {
        const jv_t *c = v[i].c;
        const char *id = str_or(c, "id", "?");
        const char *verdict = str_or(c, "verdict", "no verdict");
        double order = 0;
        jv_num(jv_get(c, "order"), &order);
        const jv_t *add = jv_get(c, "addition");
        bool addition = add && add->kind == JV_BOOL && add->b;
        fputs("<section id=\"", f);
        html_esc(f, id);
        fprintf(f, "\">\n<h2>%.0f. ", order);
        html_esc(f, str_or(c, "title", id));
        fprintf(f, " <span class=\"badge %s\">", verdict_class(verdict));
        html_esc(f, verdict);
        fputs("</span>", f);
        if (addition)
            fputs(" <span class=\"addition\">(not in the talk: an "
                  "addition)</span>",
                  f);
        fputs("</h2>\n<p><b>The talk's point.</b> ", f);
        html_esc(f, str_or(c, "claim", ""));
        fputs("</p>\n<p><b>The rule.</b> ", f);
        html_esc(f, str_or(c, "rule", ""));
        fputs("</p>\n<p><b>The experiment.</b> ", f);
        const jv_t *steps = jv_get(c, "steps");
        size_t ns = steps && steps->kind == JV_ARR ? steps->n : 0;
        fprintf(f, "%zu step%s, each a <code>concbench matrix</code> "
                   "(every repetition in its own process)",
                ns, ns == 1 ? "" : "s");
        double took;
        if (jv_num(jv_get(c, "elapsed_s"), &took))
            fprintf(f, ", %.0f s in all", took);
        fputs(":</p>\n", f);
        const jv_t *cmds = jv_get(c, "commands");
        fputs("<pre>", f);
        for (size_t k = 0; cmds && cmds->kind == JV_ARR && k < cmds->n; k++) {
            html_esc(f, jv_str(&cmds->items[k]));
            fputc('\n', f);
        }
        fputs("</pre>\n", f);
        for (int k = 0; k < v[i].nfigs; k++) {
            const drawn_t *d = &v[i].figs[k];
            const jv_t *p = &jv_get(c, "plots")->items[k];
            const char *title = str_or(p, "title", "figure");
            fputs("<figure>\n", f);
            if (d->error[0] ||
                inline_svg(f, d->svg, ++r->figure_seq, title) < 0) {
                fputs("<p class=\"err\">This figure could not be drawn: ", f);
                html_esc(f, d->error[0] ? d->error : "no SVG was written");
                fputs("</p>\n", f);
            }
            fputs("\n<figcaption>", f);
            html_esc(f, title);
            fputs(" (step ", f);
            html_esc(f, str_or(p, "step", "?"));
            fputs(", ", f);
            fputs(caption_of(str_or(p, "kind", "bars")), f);
            fputs(")", f);
            if (d->missing[0]) {
                fputs("<br><span class=\"missing\">No samples: ", f);
                html_esc(f, d->missing);
                fputs("</span>", f);
            }
            fputs("</figcaption>\n</figure>\n", f);
        }
        fprintf(f, "<p><b>Verdict:</b> <span class=\"badge %s\">",
                verdict_class(verdict));
        html_esc(f, verdict);
        fputs("</span> ", f);
        html_esc(f, str_or(c, "why", ""));
        fputs("</p>\n", f);
        const jv_t *figs = jv_get(c, "figures");
        if (figs && figs->kind == JV_ARR && figs->n) {
            fputs("<ul>", f);
            for (size_t k = 0; k < figs->n; k++) {
                fputs("<li>", f);
                html_esc(f, jv_str(&figs->items[k]));
                fputs("</li>", f);
            }
            fputs("</ul>\n", f);
        }
        const jv_t *notes = jv_get(c, "notes");
        if (notes && notes->kind == JV_ARR && notes->n) {
            fputs("<p class=\"missing\">Noted while judging:</p><ul "
                  "class=\"missing\">",
                  f);
            for (size_t k = 0; k < notes->n; k++)
                html_li(f, jv_str(&notes->items[k]));
            fputs("</ul>\n", f);
        }
        if (strstr(r->noisy, id)) {
            fputs("<p class=\"missing\">Noisy cells (their intervals are "
                  "wide):</p><ul class=\"missing\">",
                  f);
            noisy_of(r, id, html_li, f);
            fputs("</ul>\n", f);
        }
        char rerun[4400];
        rerun_line(r, id, rerun, sizeof rerun);
        fputs("<p><b>Rerun it:</b></p>\n<pre>", f);
        html_esc(f, rerun);
        fputs("</pre>\n<p><a href=\"#verdicts\">back to the verdicts</a></p>"
              "\n</section>\n",
              f);
    }
    fputs("</body>\n</html>\n", f);
}

static void write_md(report_t *r, FILE *f, const check_view_t *v, int nv)
{
    fputs("# The talk's claims, measured on this machine\n\n", f);
    fputs("Each claim of the talk *Comparing the Actor Model and CSP "
          "Concurrency with Elixir and Clojure* is an experiment run by "
          "`concbench`, judged by a shape rule on the bootstrap 95% "
          "intervals of medians measured side by side: never an absolute "
          "time. ",
          f);
    fprintf(f, "Sizes: **%s**.\n\n", r->quick ? "--quick" : "full");
    const char *cpu = machine_str(r, "cpu_model"),
               *topo = machine_str(r, "topology"),
               *vm = machine_str(r, "vm"), *kern = machine_str(r, "kernel"),
               *date = machine_str(r, "date");
    fputs("- **CPU**: ", f);
    md_esc(f, cpu ? cpu : "unknown");
    if (topo) {
        fputs(" (", f);
        md_esc(f, topo);
        fputs(")", f);
    }
    fputs("\n- **Virtual machine**: ", f);
    md_esc(f, vm ? vm : r->machine ? "no (none detected)" : "unknown");
    fputs("\n- **Kernel**: ", f);
    md_esc(f, kern ? kern : "unknown");
    fputs("\n- **concbench**: ", f);
    md_esc(f, str_or(r->machine, "concbench_version", "?"));
    fputs(" (", f);
    md_esc(f, str_or(r->machine, "git_revision", "?"));
    fputs(", ", f);
    md_esc(f, str_or(r->machine, "build_type", "?"));
    fputs(" build)\n- **Run**: ", f);
    if (date) {
        fputs("started ", f);
        md_esc(f, date);
        fputs("; ", f);
    }
    double e = elapsed_of(r);
    if (e >= 0)
        fprintf(f, "took %.0f s to run, ", e);
    fprintf(f, "%.1f s to draw %d figure%s\n\n**Real systems**\n\n",
            r->draw_s, r->figures_made, r->figures_made == 1 ? "" : "s");
    systems_each(r, md_system, f);
    char noise[16384];
    noise_lines(r, noise, sizeof noise);
    if (noise[0]) {
        fputs("\n**Noise warnings**\n\n", f);
        for (char *l = strtok(noise, "\n"); l; l = strtok(NULL, "\n")) {
            fputs("- ", f);
            md_esc(f, l);
            fputc('\n', f);
        }
    }
    fputs("\n## Verdicts\n\n| # | claim | verdict | why |\n|---:|---|---|---|\n",
          f);
    for (int i = 0; i < nv; i++) {
        const jv_t *c = v[i].c;
        double order = 0;
        jv_num(jv_get(c, "order"), &order);
        const jv_t *add = jv_get(c, "addition");
        fprintf(f, "| %s%.0f | [", add && add->kind == JV_BOOL && add->b ? "+"
                                                                         : "",
                order);
        md_esc(f, str_or(c, "title", "?"));
        fputs("](#", f);
        fputs(str_or(c, "id", "?"), f); /* valid_id: [a-z0-9-]+ */
        fputs(") | **", f);
        md_esc(f, str_or(c, "verdict", "no verdict"));
        fputs("** | ", f);
        md_esc(f, str_or(c, "why", ""));
        fputs(" |\n", f);
    }
    for (int i = 0; i < nv; i++) {
        const jv_t *c = v[i].c;
        const char *id = str_or(c, "id", "?");
        double order = 0;
        jv_num(jv_get(c, "order"), &order);
        const jv_t *add = jv_get(c, "addition");
        /* An explicit anchor: the heading's own slug differs between
         * renderers. */
        fprintf(f, "\n<a id=\"%s\"></a>\n\n## %.0f. ", id, order);
        md_esc(f, str_or(c, "title", id));
        fputs(add && add->kind == JV_BOOL && add->b
                  ? " (an addition, not in the talk)\n\n"
                  : "\n\n",
              f);
        fputs("**Verdict: ", f);
        md_esc(f, str_or(c, "verdict", "no verdict"));
        fputs("**. ", f);
        md_esc(f, str_or(c, "why", ""));
        fputs("\n\n**The talk's point.** ", f);
        md_esc(f, str_or(c, "claim", ""));
        fputs("\n\n**The rule.** ", f);
        md_esc(f, str_or(c, "rule", ""));
        fputs("\n\n**The experiment:**\n\n```\n", f);
        const jv_t *cmds = jv_get(c, "commands");
        for (size_t k = 0; cmds && cmds->kind == JV_ARR && k < cmds->n; k++)
            fprintf(f, "%s\n", jv_str(&cmds->items[k]) ? jv_str(&cmds->items[k])
                                                       : "");
        fputs("```\n\n", f);
        for (int k = 0; k < v[i].nfigs; k++) {
            const drawn_t *d = &v[i].figs[k];
            const jv_t *p = &jv_get(c, "plots")->items[k];
            const char *title = str_or(p, "title", "figure");
            if (d->error[0]) {
                fputs("*This figure could not be drawn: ", f);
                md_esc(f, d->error);
                fputs("*\n\n", f);
                continue;
            }
            fputs("![", f);
            md_esc(f, title);
            fprintf(f, "](%s)\n\n", d->png_rel);
            if (d->missing[0]) {
                fputs("*No samples: ", f);
                md_esc(f, d->missing);
                fputs("*\n\n", f);
            }
        }
        const jv_t *figs = jv_get(c, "figures");
        for (size_t k = 0; figs && figs->kind == JV_ARR && k < figs->n; k++) {
            fputs("- ", f);
            md_esc(f, jv_str(&figs->items[k]));
            fputc('\n', f);
        }
        const jv_t *notes = jv_get(c, "notes");
        if (notes && notes->kind == JV_ARR && notes->n) {
            fputs("\nNoted while judging:\n\n", f);
            for (size_t k = 0; k < notes->n; k++)
                md_li(f, jv_str(&notes->items[k]));
        }
        if (strstr(r->noisy, id)) {
            fputs("\nNoisy cells (their intervals are wide):\n\n", f);
            noisy_of(r, id, md_li, f);
        }
        char rerun[4400];
        rerun_line(r, id, rerun, sizeof rerun);
        fprintf(f, "\nRerun it:\n\n```\n%s\n```\n", rerun);
    }
}

/* The verdict table on stdout, after the pages are written. */
static void print_table(const check_view_t *v, int nv)
{
    size_t w = 5;
    for (int i = 0; i < nv; i++)
        w = strlen(str_or(v[i].c, "id", "?")) > w
                ? strlen(str_or(v[i].c, "id", "?"))
                : w;
    for (int i = 0; i < nv; i++) {
        double order = 0;
        jv_num(jv_get(v[i].c, "order"), &order);
        printf("%3.0f  %-*s  %s\n", order, (int)w, str_or(v[i].c, "id", "?"),
               str_or(v[i].c, "verdict", "no verdict"));
    }
}

static int write_pages(report_t *r, const check_view_t *v, int nv)
{
    static const char *names[] = {"report.html", "report.md"};
    for (int k = 0; k < 2; k++) {
        char path[4300], tmp[4400];
        snprintf(path, sizeof path, "%s/%s", r->dir, names[k]);
        FILE *f = outfile_open(path, tmp, sizeof tmp);
        if (!f) {
            fprintf(stderr, "concbench: talk report: cannot write %s: %s\n",
                    path, strerror(errno));
            return -1;
        }
        if (k == 0)
            write_html(r, f, v, nv);
        else
            write_md(r, f, v, nv);
        if (outfile_commit(f, tmp, path) < 0) {
            fprintf(stderr, "concbench: talk report: cannot write %s: %s\n",
                    path, strerror(errno));
            return -1;
        }
    }
    return 0;
}

static double rank_of(const jv_t *c)
{
    double order = 0;
    const jv_t *add = jv_get(c, "addition");
    jv_num(jv_get(c, "order"), &order);
    return order + (add && add->kind == JV_BOOL && add->b ? 1e6 : 0);
}

static int cmp_view(const void *a, const void *b)
{
    double x = rank_of(((const check_view_t *)a)->c),
           y = rank_of(((const check_view_t *)b)->c);
    return x < y ? -1 : x > y;
}

int cmd_talk_report(int argc, char **argv)
{
    report_t r = {.run_s = -1};
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},
        {"quick", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    opterr = 0;
    optind = 1;
    int c;
    arg_seen_t given = {0};
    while ((c = getopt_long(argc, argv, ":o:h", longopts, NULL)) != -1) {
        if ((c == 'o' || c == 'q') &&
            arg_once(&given, "talk report", c, longopts))
            return EXIT_USAGE;
        if (c == 'o')
            r.dir = optarg;
        else if (c == 'q')
            r.quick = true;
        else if (c == 'h') {
            fputs(report_usage, stdout);
            return EXIT_OK;
        } else if (c == ':')
            return usage_error("talk report: option %s needs a value",
                               arg_clip(argv[optind - 1]));
        else
            return usage_error("talk report: unknown option '%s'; see "
                               "concbench talk report --help",
                               arg_clip(argv[optind - 1]));
    }
    for (int i = optind; i < argc; i++) {
        if (!valid_id(argv[i]))
            return usage_error("talk report: '%s' is not a claim id "
                               "([a-z0-9-]+); `concbench talk` lists them",
                               arg_clip(argv[i]));
        if (r.nids == MAX_IDS)
            return usage_error("talk report: more than %d ids", MAX_IDS);
        r.ids[r.nids++] = argv[i];
    }
    if (!r.dir)
        r.dir = r.quick ? "results/talk-quick" : "results/talk";
    if (!r.dir[0])
        return usage_error("talk report: -o: an empty folder name");

    /* Verdicts that fit, or a run that makes them. */
    char path[4300], err[1024], why[256];
    snprintf(path, sizeof path, "%s/verdicts.json", r.dir);
    struct stat st;
    int rc = EXIT_OK;
    if (stat(path, &st) == 0) {
        /* A file that does not parse is refused, not run over: it may be
         * a hand edit, and a run would replace it. */
        r.verdicts = read_json(path, err, sizeof err);
        if (!r.verdicts)
            return usage_error("talk report: %s (remove it to run the "
                               "claims again)",
                               err);
    }
    const char *stale = r.verdicts
                            ? verdicts_stale(&r, r.verdicts, why, sizeof why)
                            : "there is none";
    if (stale) {
        fprintf(stderr,
                "concbench: talk report: running `talk run` first: %s "
                "holds no verdicts.json that fits (%s)\n",
                r.dir, stale);
        jv_free(r.verdicts);
        r.verdicts = NULL;
        int run = run_talk(&r);
        if (run == EXIT_USAGE)
            return EXIT_USAGE;
        if (run != 0)
            rc = EXIT_RUN_ERROR;
        if (run == 127 || stat(path, &st) != 0) {
            fprintf(stderr, "concbench: talk report: `talk run` exited %d "
                            "and wrote no %s\n",
                    run, path);
            return EXIT_RUN_ERROR;
        }
        r.verdicts = read_json(path, err, sizeof err);
        if (!r.verdicts)
            return usage_error("talk report: %s", err);
        if (verdicts_stale(&r, r.verdicts, why, sizeof why)) {
            fprintf(stderr, "concbench: talk report: after `talk run`, %s "
                            "still does not fit (%s)\n",
                    path, why);
            rc = EXIT_RUN_ERROR;
        }
    }

    /* The machine the steps ran on, as `talk run` recorded it. */
    const jv_t *vm = jv_get(r.verdicts, "machine");
    if (vm && vm->kind == JV_OBJ && jv_get(vm, "cpu_model"))
        r.machine = vm;

    /* The checks shown: those asked for, else every one in the file. */
    const jv_t *checks = checks_of(r.verdicts);
    size_t ncheck = checks ? checks->n : 0;
    check_view_t *views = calloc(ncheck ? ncheck : 1, sizeof *views);
    if (!views) {
        jv_free(r.verdicts);
        return usage_error("talk report: out of memory");
    }
    int nv = 0;
    for (size_t i = 0; i < ncheck; i++) {
        const jv_t *ch = &checks->items[i];
        const char *id = jv_str(jv_get(ch, "id"));
        if (!valid_id(id)) {
            free(views);
            jv_free(r.verdicts);
            return usage_error("talk report: %s: check %zu's id '%s' is not "
                               "[a-z0-9-]+",
                               path, i, id ? arg_clip(id) : "(none)");
        }
        bool want = r.nids == 0;
        for (int k = 0; k < r.nids; k++)
            want |= strcmp(r.ids[k], id) == 0;
        if (want)
            views[nv++].c = ch;
    }

    /* The talk's order, additions after it. */
    qsort(views, (size_t)nv, sizeof *views, cmp_view);

    /* Figures. */
    char figdir[4300];
    snprintf(figdir, sizeof figdir, "%s/figures", r.dir);
    if (mkdir(figdir, 0777) < 0 && errno != EEXIST) {
        free(views);
        jv_free(r.verdicts);
        return usage_error("talk report: cannot create %s: %s", figdir,
                           strerror(errno));
    }
    r.scripts = plot_scripts_dir("talk-common.gp");
    double t0 = now_s();
    for (int i = 0; i < nv; i++) {
        const jv_t *plots = jv_get(views[i].c, "plots");
        size_t np = plots && plots->kind == JV_ARR ? plots->n : 0;
        views[i].figs = calloc(np ? np : 1, sizeof *views[i].figs);
        if (!views[i].figs)
            continue;
        for (size_t k = 0; k < np; k++) {
            if (draw(&r, views[i].c, &plots->items[k], (int)k + 1,
                     &views[i].figs[k]) < 0) {
                fprintf(stderr,
                        "concbench: talk report: %s: figure %zu: %s\n",
                        str_or(views[i].c, "id", "?"), k + 1,
                        views[i].figs[k].error);
                rc = EXIT_RUN_ERROR;
            }
            views[i].nfigs = (int)k + 1;
        }
    }
    r.draw_s = now_s() - t0;
    if (!r.machine) {
        /* No figure loaded a step: the first step's machine.json. */
        for (int i = 0; i < nv && !r.machine; i++) {
            const jv_t *steps = jv_get(views[i].c, "steps");
            if (!steps || steps->kind != JV_ARR || !steps->n)
                continue;
            char dir[4200], mpath[4400];
            step_dir(&r, views[i].c,
                     str_or(&steps->items[0], "name", ""), dir, sizeof dir);
            snprintf(mpath, sizeof mpath, "%s/machine.json", dir);
            r.machine_owned = read_json(mpath, err, sizeof err);
            r.machine = r.machine_owned;
        }
    }
    if (write_pages(&r, views, nv) < 0)
        rc = EXIT_RUN_ERROR;
    else {
        print_table(views, nv);
        printf("report: %s/report.html (and report.md, figures in "
               "%s/figures/)\n",
               r.dir, r.dir);
    }
    for (int i = 0; i < nv; i++)
        free(views[i].figs);
    free(views);
    jv_free(r.machine_owned);
    jv_free(r.verdicts);
    return rc;
}
