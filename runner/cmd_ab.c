/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * concbench ab BASE_BINARY HEAD_BINARY [matrix options]: the regression
 * check that survives a noisy shared CI runner.
 *
 * Both builds run on the same machine in the same job, alternating: each
 * round runs the whole matrix once with one binary and once with the
 * other, with the same seed, and the binary that goes first alternates
 * from round to round (A B, B A, A B, ...).  Whatever the machine does
 * over the job (a neighbour starts, the CPU heats up) then lands on both
 * sides alike instead of on whichever side ran later; strict A B A B
 * would still hand a steady drift to B.  Rounds become repetitions: round
 * k is repetition k of every cell on each side, merged into DIR/base and
 * DIR/head, and the verdict is `concbench compare DIR/base DIR/head`.
 *
 * A suspected regression is confirmed before it is reported: when the
 * first comparison finds a metric slower, the suspect cells alone (not
 * the matrix) run as many rounds again, alternating as before; DIR/confirm
 * holds those cells' first rounds and the new ones, and a regression is
 * reported only when a metric is slower in the first comparison and in
 * this one over twice the repetitions, with Holm's correction over the
 * suspect cells' metrics.  A disturbance that landed on a few of one
 * side's rounds (a neighbour's build on a shared 2-core runner) is
 * outvoted by the new rounds; a real regression is in all of them.
 * Rejected: judging the new rounds alone (measured on this machine: it
 * missed an injected 20% slowdown in 3 trials of 3, each half having too
 * little power under the noise), and re-running the whole matrix (the
 * first design: the time goes to cells nobody suspects, and with no
 * correction for the metrics judged at once a 1.2x A/A difference was
 * "confirmed").
 *
 * The statistics are compare's: Holm's correction over every metric
 * judged at once, a minimum effect per metric family, and a refusal to
 * judge with fewer repetitions than the U test needs (exit 6 with
 * --fail-on-regression).  Hence the default of 8 rounds: 8 against 8
 * can reach p = 1.6e-4, significance for up to 300 metrics judged at
 * once; 5 rounds reach 0.008, a family of 6.  Measured rates (A/A false
 * alarms, detection of a 20% slowdown) are in the README; the
 * measurement is scripts/gate_rates.py.
 *
 * Rejected: running all of A then all of B (drift becomes the verdict),
 * and comparing against a stored baseline from another job (another
 * machine, another day: `compare` would call it not comparable anyway).
 */
#include "runner/args.h"
#include "runner/cli.h"
#include "runner/json.h"
#include "runner/results.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char ab_usage[] =
    "usage: concbench ab BASE_BINARY HEAD_BINARY -o DIR [--reps N]\n"
    "                    [--threshold PCT] [--alpha A] [--format "
    "table|markdown|json]\n"
    "                    [--fail-on-regression] [--no-confirm] [matrix "
    "options]\n"
    "\n"
    "Runs the same matrix with two concbench builds on this machine, "
    "alternating\nthem round by round (A B, B A, ...), N rounds (default 8): "
    "round k is\nrepetition k of every cell on both sides.  Results go to "
    "DIR/base and\nDIR/head; the verdict is `concbench compare DIR/base "
    "DIR/head`.  A\nsuspected regression is confirmed before it is "
    "reported: the suspect cells\nalone run as many rounds again, and are "
    "judged over all their rounds\n(--no-confirm skips that); only a metric "
    "slower both times is a regression.\nMatrix "
    "options (-m, -w, -p, --cpus,\n--placement, --quick, --seed, --timeout, "
    "--mem-cap) are passed to both\nbuilds.\n"
    "\n"
    "Exit: as compare: 0 ok, 1 a confirmed regression (with "
    "--fail-on-regression),\n2 usage, 3 a cell crashed or failed its "
    "check, 6 nothing was judged (with\n--fail-on-regression: too few "
    "rounds for the metrics judged, see compare).\n";

typedef struct ab_opts {
    const char *bin[2];
    const char *out;
    int reps;
    int64_t seed;
    bool confirm, fail;
    const char *cmp_args[16];
    int ncmp;
    char *mx_args[128];
    int nmx;
} ab_opts_t;

static int parse_args(int argc, char **argv, ab_opts_t *o)
{
    o->reps = 8;
    o->seed = 1;
    o->confirm = true;
    int pos = 0;
    static const char *const once[] = {
        "-o",          "--output",  "--reps",
        "--seed",      "--threshold", "--alpha",
        "--format",    "--fail-on-regression", "--no-confirm"};
    arg_seen_t seen = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        bool has_value =
            strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0 ||
            strcmp(a, "--reps") == 0 ||
            strcmp(a, "--seed") == 0 || strcmp(a, "--threshold") == 0 ||
            strcmp(a, "--alpha") == 0 || strcmp(a, "--format") == 0;
        if (is_help(a)) {
            fputs(ab_usage, stdout);
            return -1;
        }
        if (has_value && !next)
            return usage_error("ab: option %s needs a value", a);
        for (int k = 0; k < (int)(sizeof once / sizeof *once); k++)
            if (strcmp(a, once[k]) == 0 &&
                arg_once_named(&seen, "ab", k < 2 ? 0 : k,
                               k < 2 ? "-o/--output" : a))
                return EXIT_USAGE;
        if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
            o->out = argv[++i];
        } else if (strcmp(a, "--reps") == 0) {
            int64_t v;
            if (cb_parse_int(next, &v) < 0 || v < 2 || v > 1000)
                return usage_error("ab: --reps: '%s' is not an integer in "
                                   "2..1000",
                                   arg_clip(next));
            o->reps = (int)v;
            i++;
        } else if (strcmp(a, "--seed") == 0) {
            if (cb_parse_int(next, &o->seed) < 0 || o->seed < 0)
                return usage_error("ab: --seed: '%s' is not a non-negative "
                                   "integer",
                                   arg_clip(next));
            i++;
        } else if (strcmp(a, "--threshold") == 0 || strcmp(a, "--alpha") == 0 ||
                   strcmp(a, "--format") == 0) {
            o->cmp_args[o->ncmp++] = a;
            o->cmp_args[o->ncmp++] = argv[++i];
        } else if (strcmp(a, "--fail-on-regression") == 0) {
            o->fail = true;
        } else if (strcmp(a, "--no-confirm") == 0) {
            o->confirm = false;
        } else if (strcmp(a, "--reps") == 0 || strcmp(a, "--warmup") == 0 ||
                   strcmp(a, "--resume") == 0 || strcmp(a, "--export") == 0 ||
                   strcmp(a, "--order") == 0 || strcmp(a, "--quiet") == 0 ||
                   strcmp(a, "-q") == 0) {
            return usage_error("ab: %s is decided by ab itself", a);
        } else if (a[0] != '-' && pos < 2) {
            o->bin[pos++] = a;
        } else {
            if (o->nmx == 100)
                return usage_error("ab: too many options");
            o->mx_args[o->nmx++] = argv[i];
        }
    }
    if (pos < 2)
        return usage_error("ab: wants BASE_BINARY and HEAD_BINARY; see "
                           "--help");
    if (!o->out)
        return usage_error("ab: -o DIR is required");
    for (int k = 0; k < 2; k++)
        if (access(o->bin[k], X_OK) < 0)
            return usage_error("ab: %s is not an executable: %s", o->bin[k],
                               strerror(errno));
    return 0;
}

/* A cell to run alone (a suspect being confirmed): matrix arguments. */
typedef struct ab_cell {
    char id[1024]; /* results_cell_id of the cell */
    size_t args[96]; /* -m M -w W -p k=v ..., as offsets into buf (the
                        array of cells is reallocated as it grows) */
    int nargs;
    char buf[8192];
} ab_cell_t;

/* Whether matrix option a (with its value, when not given with '=')
 * chooses cells, which a confirmation of one cell replaces: *skip is 1
 * when the value is the next argument. */
static bool selects_cells(const char *a, int *skip)
{
    static const char *const with_value[] = {"-m", "--models", "-w",
                                             "--workloads", "-p", "--param"};
    *skip = 0;
    if (strcmp(a, "--quick") == 0)
        return true;
    for (size_t k = 0; k < sizeof with_value / sizeof *with_value; k++) {
        size_t n = strlen(with_value[k]);
        if (strcmp(a, with_value[k]) == 0) {
            *skip = 1;
            return true;
        }
        if (strncmp(a, with_value[k], n) == 0 &&
            (a[n] == '=' || (n == 2 && a[n] != '\0')))
            return true;
    }
    return false;
}

/* Run BIN matrix ... for one round (of the whole matrix, or of one cell);
 * the matrix's own exit status. */
static int run_round(const ab_opts_t *o, int side, int round, const char *dir,
                     const ab_cell_t *cell)
{
    char seed[32], *argv[280];
    int n = 0;
    snprintf(seed, sizeof seed, "%lld", (long long)(o->seed + round));
    argv[n++] = (char *)o->bin[side];
    argv[n++] = "matrix";
    for (int i = 0; i < o->nmx; i++) {
        int skip;
        if (cell && selects_cells(o->mx_args[i], &skip)) {
            i += skip;
            continue;
        }
        argv[n++] = o->mx_args[i];
    }
    for (int i = 0; cell && i < cell->nargs; i++)
        argv[n++] = (char *)cell->buf + cell->args[i];
    argv[n++] = "--reps";
    argv[n++] = "1";
    argv[n++] = "--seed";
    argv[n++] = seed;
    argv[n++] = "--quiet";
    argv[n++] = "-o";
    argv[n++] = (char *)dir;
    argv[n] = NULL;
    int status = spawn_wait(spawn(argv, -1, true, false));
    if (status < 0 || !WIFEXITED(status))
        return EXIT_RUN_ERROR;
    /* Could not start the binary: as bad as an argument it refused. */
    return WEXITSTATUS(status) == 127 ? EXIT_USAGE : WEXITSTATUS(status);
}

/* Append round's runs (as repetition `round`) to side's merged folder. */
static int merge_round(const char *round_dir, const char *merged, int round,
                       int *order, char *err, size_t errlen)
{
    res_set_t s;
    if (results_load(round_dir, false, &s, err, errlen) < 0) {
        results_free(&s);
        return -1;
    }
    char path[4400];
    snprintf(path, sizeof path, "%.4000s/runs.jsonl", merged);
    bool fresh = access(path, F_OK) != 0;
    if (fresh && mkdir(merged, 0777) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %.900s: %s", merged,
                 strerror(errno));
        results_free(&s);
        return -1;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
    int rc = fd < 0 ? -1 : 0;
    for (size_t i = 0; rc == 0 && i <= s.nruns; i++) {
        const jv_t *rec = i == 0 ? s.header : s.runs[i - 1].line;
        if (!rec || (i == 0 && !fresh))
            continue;
        res_line_t l;
        json_t *j = res_line_begin(&l, NULL);
        if (!j) {
            rc = -1;
            break;
        }
        for (size_t k = 0; k < rec->n; k++) {
            const char *key = rec->keys[k];
            if (i > 0 && strcmp(key, "rep") == 0)
                json_int(j, key, round);
            else if (i > 0 && strcmp(key, "order") == 0)
                json_int(j, key, (*order)++);
            else if (i == 0 && strcmp(key, "reps") == 0)
                json_int(j, key, 0); /* grows with the rounds */
            else
                json_value(j, key, &rec->items[k]);
        }
        if (res_line_end(&l, fd) < 0)
            rc = -1;
    }
    if (fd >= 0)
        close(fd);
    if (rc == 0 && fresh) {
        /* The machine description of the first round speaks for all. */
        char from[4400], to[4400];
        snprintf(from, sizeof from, "%.4000s/machine.json", round_dir);
        snprintf(to, sizeof to, "%.4000s/machine.json", merged);
        size_t len = 0;
        FILE *in = fopen(from, "rb");
        char tmp[4500];
        FILE *out = outfile_open(to, tmp, sizeof tmp);
        char buf[65536];
        while (in && out && (len = fread(buf, 1, sizeof buf, in)) > 0)
            fwrite(buf, 1, len, out);
        if (in)
            fclose(in);
        if (!in || !out || outfile_commit(out, tmp, to) < 0)
            rc = -1;
    }
    if (rc < 0 && !err[0])
        snprintf(err, errlen, "cannot write %.900s", merged);
    results_free(&s);
    return rc;
}

static int rounds(const ab_opts_t *o, const char *out, int from, int to,
                  int order[2], const ab_cell_t *cells, int ncells)
{
    static const char *const side_name[2] = {"base", "head"};
    char err[1024] = "";
    for (int r = from; r < to; r++) {
        for (int k = 0; k < 2; k++) {
            int side = (r % 2 == 0) ? k : 1 - k; /* A B, then B A */
            for (int c = 0; c < (cells ? ncells : 1); c++) {
                char dir[4400], merged[4400];
                if (cells)
                    snprintf(dir, sizeof dir, "%.4000s/rounds/%s-%d-%d", out,
                             side_name[side], r, c);
                else
                    snprintf(dir, sizeof dir, "%.4000s/rounds/%s-%d", out,
                             side_name[side], r);
                snprintf(merged, sizeof merged, "%.4000s/%s", out,
                         side_name[side]);
                fprintf(stderr, "concbench: ab: %sround %d/%d: %s\n",
                        cells ? "confirming, " : "", r + 1, to,
                        o->bin[side]);
                int rc = run_round(o, side, r, dir, cells ? &cells[c] : NULL);
                if (rc == EXIT_USAGE)
                    return usage_error("ab: %s matrix refused the arguments "
                                       "(above)",
                                       o->bin[side]);
                if (merge_round(dir, merged, r, &order[side], err,
                                sizeof err) < 0)
                    return usage_error("ab: %s", err);
            }
        }
    }
    return 0;
}

/* `concbench compare OUT/base OUT/head`; json_to (may be NULL): its JSON
 * goes to that file instead of the requested format to stdout. */
static int verdict(const ab_opts_t *o, const char *out, const char *json_to,
                   bool fail)
{
    char base[4200], head[4200];
    snprintf(base, sizeof base, "%.4000s/base", out);
    snprintf(head, sizeof head, "%.4000s/head", out);
    char err[1024];
    if (results_finalize(base, NULL, 0, err, sizeof err) < 0 ||
        results_finalize(head, NULL, 0, err, sizeof err) < 0)
        return usage_error("ab: %s", err);
    char *argv[24];
    int n = 0;
    argv[n++] = "compare";
    argv[n++] = base;
    argv[n++] = head;
    for (int i = 0; i < o->ncmp; i++) {
        if (json_to && strcmp(o->cmp_args[i], "--format") == 0) {
            i++;
            continue;
        }
        argv[n++] = (char *)o->cmp_args[i];
    }
    if (json_to) {
        argv[n++] = "--format";
        argv[n++] = "json";
    }
    if (fail)
        argv[n++] = "--fail-on-regression";
    argv[n] = NULL;
    int saved = -1;
    fflush(stdout);
    if (json_to) {
        saved = dup(STDOUT_FILENO);
        int fd = open(json_to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
        if (fd < 0 || saved < 0) {
            if (fd >= 0)
                close(fd);
            if (saved >= 0)
                close(saved);
            return usage_error("ab: cannot write %s: %s", json_to,
                               strerror(errno));
        }
        dup2(fd, STDOUT_FILENO);
        close(fd);
    }
    int rc = cmd_compare(n, argv);
    fflush(stdout);
    if (saved >= 0) {
        dup2(saved, STDOUT_FILENO);
        close(saved);
    }
    return rc;
}

/* A whole small file, NUL-terminated; NULL when unreadable. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t cap = 0;
    *len = 0;
    for (;;) {
        if (*len + 65536 + 1 > cap) {
            cap = cap ? cap * 2 : 131072;
            char *p = realloc(buf, cap);
            if (!p) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = p;
        }
        size_t k = fread(buf + *len, 1, 65536, f);
        *len += k;
        if (k == 0)
            break;
    }
    fclose(f);
    buf[*len] = '\0';
    return buf;
}

/* The matrix arguments that run cell_id alone, from a run of it in set. */
static bool cell_args(const res_set_t *set, const char *cell_id,
                      ab_cell_t *c)
{
    const res_run_t *run = NULL;
    for (size_t i = 0; i < set->nruns && !run; i++)
        if (strcmp(set->runs[i].cell, cell_id) == 0)
            run = &set->runs[i];
    if (!run)
        return false;
    size_t used = 0;
    c->nargs = 0;
#define ARG(...)                                                               \
    do {                                                                       \
        int w_ = snprintf(c->buf + used, sizeof c->buf - used, __VA_ARGS__);   \
        if (w_ < 0 || used + (size_t)w_ + 1 > sizeof c->buf ||                 \
            c->nargs + 1 >= (int)(sizeof c->args / sizeof *c->args))           \
            return false;                                                      \
        c->args[c->nargs++] = used;                                            \
        used += (size_t)w_ + 1;                                                \
    } while (0)
    ARG("-m");
    ARG("%s", run->model);
    ARG("-w");
    ARG("%s", run->workload);
    const jv_t *wp = jv_get(run->line, "params");
    const jv_t *mp = jv_get(run->line, "model_params");
    for (int pass = 0; pass < 2; pass++) {
        const jv_t *ps = pass ? mp : wp;
        for (size_t k = 0; ps && ps->kind == JV_OBJ && k < ps->n; k++) {
            /* matrix gives -p K to the workload when both declare K */
            if (pass && jv_get(wp, ps->keys[k]))
                continue;
            const jv_t *v = &ps->items[k];
            ARG("-p");
            if (v->kind == JV_STR)
                ARG("%s=%s", ps->keys[k], v->str);
            else
                ARG("%s=%.17g", ps->keys[k], v->num);
        }
    }
#undef ARG
    return true;
}

/* Cells with a metric slower in the comparison at json_path, as matrix
 * arguments; -1 when the file cannot be read. */
static int suspects(const char *json_path, const res_set_t *base,
                    ab_cell_t **out)
{
    size_t len;
    char err[256];
    char *text = slurp(json_path, &len);
    jv_t *doc = text ? jv_parse(text, len, err, sizeof err) : NULL;
    free(text);
    if (!doc)
        return -1;
    const jv_t *rows = jv_get(doc, "rows");
    int n = 0;
    *out = NULL;
    for (size_t i = 0; rows && rows->kind == JV_ARR && i < rows->n; i++) {
        const jv_t *r = &rows->items[i];
        const char *v = jv_str(jv_get(r, "verdict"));
        const char *id = jv_str(jv_get(r, "cell_id"));
        if (!v || !id || strcmp(v, "slower") != 0)
            continue;
        bool seen = false;
        for (size_t k = 0; k < i && !seen; k++) {
            const jv_t *q = &rows->items[k];
            const char *qv = jv_str(jv_get(q, "verdict"));
            const char *qid = jv_str(jv_get(q, "cell_id"));
            seen = qv && qid && strcmp(qv, "slower") == 0 &&
                   strcmp(qid, id) == 0;
        }
        if (seen)
            continue;
        ab_cell_t *p = realloc(*out, (size_t)(n + 1) * sizeof *p);
        if (!p)
            break;
        *out = p;
        if (cell_args(base, id, &p[n])) {
            snprintf(p[n].id, sizeof p[n].id, "%s", id);
            n++;
        }
    }
    jv_free(doc);
    return n;
}

/* Copy the runs of cells[] (and the header and machine.json) from the
 * folder from into the new folder to; the next order number in *order. */
static int copy_cells(const char *from, const char *to, const ab_cell_t *cells,
                      int ncells, int *order, char *err, size_t errlen)
{
    res_set_t s;
    if (results_load(from, false, &s, err, errlen) < 0) {
        results_free(&s);
        return -1;
    }
    char path[4400];
    if (mkdir(to, 0777) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %.900s: %s", to, strerror(errno));
        results_free(&s);
        return -1;
    }
    snprintf(path, sizeof path, "%.4000s/runs.jsonl", to);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    int rc = fd < 0 ? -1 : 0;
    for (size_t i = 0; rc == 0 && i <= s.nruns; i++) {
        const jv_t *rec = i == 0 ? s.header : s.runs[i - 1].line;
        bool keep = i == 0;
        for (int c = 0; i > 0 && c < ncells && !keep; c++)
            keep = strcmp(s.runs[i - 1].cell, cells[c].id) == 0;
        if (!rec || !keep)
            continue;
        res_line_t l;
        json_t *j = res_line_begin(&l, NULL);
        if (!j) {
            rc = -1;
            break;
        }
        for (size_t k = 0; k < rec->n; k++)
            if (i > 0 && strcmp(rec->keys[k], "order") == 0)
                json_int(j, rec->keys[k], (*order)++);
            else
                json_value(j, rec->keys[k], &rec->items[k]);
        if (res_line_end(&l, fd) < 0)
            rc = -1;
    }
    if (fd >= 0)
        close(fd);
    results_free(&s);
    char mfrom[4400], mto[4400];
    snprintf(mfrom, sizeof mfrom, "%.4000s/machine.json", from);
    snprintf(mto, sizeof mto, "%.4000s/machine.json", to);
    FILE *in = fopen(mfrom, "rb");
    char tmp[4500], buf[65536];
    FILE *out = in ? outfile_open(mto, tmp, sizeof tmp) : NULL;
    size_t len;
    while (in && out && (len = fread(buf, 1, sizeof buf, in)) > 0)
        fwrite(buf, 1, len, out);
    if (in)
        fclose(in);
    if (in && (!out || outfile_commit(out, tmp, mto) < 0))
        rc = -1;
    if (rc < 0 && !err[0])
        snprintf(err, errlen, "cannot write %.900s", to);
    return rc;
}

/* (cell_id, metric) pairs slower in both comparisons. */
static int confirmed(const char *first, const char *second)
{
    size_t la, lb;
    char err[256];
    char *ta = slurp(first, &la), *tb = slurp(second, &lb);
    jv_t *a = ta ? jv_parse(ta, la, err, sizeof err) : NULL;
    jv_t *b = tb ? jv_parse(tb, lb, err, sizeof err) : NULL;
    free(ta);
    free(tb);
    int n = 0;
    const jv_t *ra = jv_get(a, "rows"), *rb = jv_get(b, "rows");
    for (size_t i = 0; ra && rb && i < ra->n; i++)
        for (size_t k = 0; k < rb->n; k++) {
            const jv_t *x = &ra->items[i], *y = &rb->items[k];
            const char *xv = jv_str(jv_get(x, "verdict"));
            const char *yv = jv_str(jv_get(y, "verdict"));
            const char *xi = jv_str(jv_get(x, "cell_id"));
            const char *yi = jv_str(jv_get(y, "cell_id"));
            const char *xm = jv_str(jv_get(x, "metric"));
            const char *ym = jv_str(jv_get(y, "metric"));
            if (xv && yv && xi && yi && xm && ym &&
                strcmp(xv, "slower") == 0 && strcmp(yv, "slower") == 0 &&
                strcmp(xi, yi) == 0 && strcmp(xm, ym) == 0)
                n++;
        }
    jv_free(a);
    jv_free(b);
    return n;
}

static bool want_json(const ab_opts_t *o)
{
    for (int i = 0; i + 1 < o->ncmp; i++)
        if (strcmp(o->cmp_args[i], "--format") == 0)
            return strcmp(o->cmp_args[i + 1], "json") == 0;
    return false;
}

static void cat_file(const char *path)
{
    size_t len;
    char *t = slurp(path, &len);
    if (t)
        fwrite(t, 1, len, stdout);
    free(t);
}

int cmd_ab(int argc, char **argv)
{
    ab_opts_t o = {0};
    int rc = parse_args(argc, argv, &o);
    if (rc != 0)
        return rc < 0 ? EXIT_OK : rc;
    char path[4200];
    snprintf(path, sizeof path, "%s/base/runs.jsonl", o.out);
    if (access(path, F_OK) == 0)
        return usage_error("ab: %s already holds results; choose another -o",
                           o.out);
    if (mkdir(o.out, 0777) < 0 && errno != EEXIST)
        return usage_error("ab: cannot create %s: %s", o.out, strerror(errno));
    snprintf(path, sizeof path, "%s/rounds", o.out);
    if (mkdir(path, 0777) < 0 && errno != EEXIST)
        return usage_error("ab: cannot create %s: %s", path, strerror(errno));
    int order[2] = {0, 0};
    if ((rc = rounds(&o, o.out, 0, o.reps, order, NULL, 0)) != 0)
        return rc;
    char first[4300], second[4300], cdir[4100];
    snprintf(first, sizeof first, "%.4000s/compare.json", o.out);
    snprintf(cdir, sizeof cdir, "%.4000s/confirm", o.out);
    snprintf(second, sizeof second, "%.4000s/confirm/compare.json", o.out);
    int first_rc = verdict(&o, o.out, first, true);
    if (first_rc == EXIT_USAGE)
        return first_rc;
    bool json = want_json(&o);
    int ncells = 0, nconfirmed = -1, second_rc = EXIT_OK;
    if (o.confirm && first_rc == EXIT_RUN_ERROR) {
        res_set_t bs;
        char err[1024];
        snprintf(path, sizeof path, "%s/base", o.out);
        if (results_load(path, false, &bs, err, sizeof err) < 0) {
            results_free(&bs);
            return usage_error("ab: %s", err);
        }
        ab_cell_t *cells = NULL;
        ncells = suspects(first, &bs, &cells);
        results_free(&bs);
        if (ncells < 0)
            return usage_error("ab: cannot read %s", first);
        fprintf(stderr,
                "concbench: ab: a regression is suspected in %d cell%s; "
                "confirming with %d more rounds of %s alone\n",
                ncells, ncells == 1 ? "" : "s", o.reps,
                ncells == 1 ? "it" : "them");
        int corder[2] = {0, 0};
        char from[4400], to[4400];
        snprintf(path, sizeof path, "%s/rounds", cdir);
        if (mkdir(cdir, 0777) < 0 && errno != EEXIST)
            rc = usage_error("ab: cannot create %s: %s", cdir,
                             strerror(errno));
        else if (mkdir(path, 0777) < 0 && errno != EEXIST)
            rc = usage_error("ab: cannot create %s: %s", path,
                             strerror(errno));
        for (int k = 0; rc == 0 && ncells > 0 && k < 2; k++) {
            static const char *const side[2] = {"base", "head"};
            snprintf(from, sizeof from, "%.4000s/%s", o.out, side[k]);
            snprintf(to, sizeof to, "%.4000s/%s", cdir, side[k]);
            err[0] = '\0';
            if (copy_cells(from, to, cells, ncells, &corder[k], err,
                           sizeof err) < 0)
                rc = usage_error("ab: %s", err);
        }
        if (rc == 0 && ncells > 0)
            rc = rounds(&o, cdir, o.reps, 2 * o.reps, corder, cells, ncells);
        free(cells);
        if (rc != 0)
            return rc;
        if (ncells > 0) {
            second_rc = verdict(&o, cdir, second, true);
            if (second_rc == EXIT_USAGE)
                return second_rc;
            nconfirmed = confirmed(first, second);
        } else {
            nconfirmed = 0;
        }
    }
    /* The report: the whole matrix's comparison, then the confirmation. */
    if (json) {
        printf("{\"schema_version\": %d, \"type\": \"ab\", \"rounds\": %d,"
               "\n\"first\": ",
               RESULTS_SCHEMA, o.reps);
        cat_file(first);
        printf(",\n\"confirmation\": ");
        if (nconfirmed >= 0 && ncells > 0)
            cat_file(second);
        else
            printf("null");
        printf(",\n\"suspect_cells\": %d, \"confirmed_regressions\": %d}\n",
               ncells, nconfirmed > 0 ? nconfirmed : 0);
    } else {
        verdict(&o, o.out, NULL, false);
        if (nconfirmed >= 0 && ncells > 0) {
            printf("\nconfirmation: the %d suspect cell%s over %d rounds, "
                   "%d of them run alone (%s):\n",
                   ncells, ncells == 1 ? "" : "s", 2 * o.reps, o.reps, cdir);
            verdict(&o, cdir, NULL, false);
        }
        if (nconfirmed >= 0)
            printf("\nab: %d metric%s slower in both comparisons%s\n",
                   nconfirmed, nconfirmed == 1 ? "" : "s",
                   nconfirmed ? "" : ": the suspected regression was noise");
    }
    fflush(stdout);
    if (first_rc == EXIT_INVARIANT || second_rc == EXIT_INVARIANT)
        return EXIT_INVARIANT;
    bool regression = o.confirm ? nconfirmed > 0 : first_rc == EXIT_RUN_ERROR;
    if (o.fail && regression)
        return EXIT_RUN_ERROR;
    if (o.fail && first_rc == EXIT_NOTHING_JUDGED)
        return EXIT_NOTHING_JUDGED;
    return EXIT_OK;
}
