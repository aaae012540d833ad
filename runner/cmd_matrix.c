/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * concbench matrix: models x workloads x parameter values, every
 * repetition in its own child process, in a seeded random order.
 *
 * What it guarantees:
 *   - every cell of the product is accounted for in runs.jsonl: run, failed
 *     (crash, hang, out-of-memory, broken invariant, error: with the
 *     reason and the child's last words), unsupported by the model, or
 *     skipped because the time budget ran out; nothing is dropped silently;
 *   - a failing repetition never stops the matrix;
 *   - what finished survives Ctrl-C and `--resume` runs only what is
 *     missing, with the same seeds and the same order;
 *   - bad arguments (unknown names, values out of range, sizes the machine
 *     cannot hold) are refused before the first child starts.
 *
 * Invariants:
 *   - the run order is a function of --seed and the cells alone, so a
 *     resumed matrix continues the sequence it started;
 *   - a repetition's seed depends on its cell and index only, not on its
 *     position, so the same cell gets the same seeds in any matrix;
 *   - a shard (--shard K/N, runner/shard.c) expands the whole plan and
 *     runs its own cells' slots with the seeds and order positions the
 *     whole matrix gives them, so merged shards are the whole matrix;
 *   - runs.jsonl is the single source of truth; the other files are
 *     derived from it at the end (results.c).
 *
 * Order: interleaved at random by default, because a machine drifts
 * (heat, frequency, a neighbour's load) and running cell A's repetitions
 * before cell B's turns that drift into a difference between A and B.
 * Sequential order (cells in turn) is there for debugging a cell.
 *
 * Rejected: threads instead of child processes (a crash or an exhausted
 * heap in one cell would end the matrix, and peak RSS would be shared),
 * and writing one JSON document at the end (an interruption would lose
 * everything).
 */
#include "runner/args.h"
#include "runner/cli.h"
#include "runner/json.h"
#include "runner/peer.h"
#include "runner/probe.h"
#include "runner/pspec.h"
#include "runner/results.h"
#include "runner/shard.h"

#include "runtime/clock.h"
#include "runtime/topo.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char matrix_usage[] =
    "usage: concbench matrix [-m LIST] [-w LIST] [-p key=v1,v2,...]... "
    "-o DIR\n"
    "                        [--cpus LIST] [--placement compact|scatter]\n"
    "                        [--reps N] [--warmup N] [--quick] [--seed N]\n"
    "                        [--timeout SEC] [--mem-cap SIZE] "
    "[--max-time SEC]\n"
    "                        [--order random|sequential] [--resume] "
    "[--dry-run]\n"
    "                        [--progress auto|always|never] [--quiet]\n"
    "                        [--export bmf|gab]... [--metric instructions]\n"
    "                        [--shard K/N|auto]\n"
    "\n"
    "Runs every workload of -w on every model of -m (default: all of "
    "each,\nas `concbench list` shows them), once per combination of the "
    "-p values.\nEvery repetition runs in its own child process; a crash, "
    "hang, memory\nblow-up or broken invariant is recorded with its reason "
    "and the matrix\ngoes on.  Results go to DIR (see README: runs.jsonl, "
    "summary.csv, ...).\n"
    "\n"
    "  -m, --models LIST      comma-separated models (default: all), real\n"
    "                         systems among them (concbench list systems)\n"
    "  -w, --workloads LIST   comma-separated workloads (default: all)\n"
    "  -p, --param K=V1,V2    sweep a parameter over values; applies to the\n"
    "                         workloads and models that declare K\n"
    "  -o, --output DIR       the results folder (required)\n"
    "      --cpus LIST        PUs to use, hwloc style: 0-3,6 (default: all\n"
    "                         allowed); PUs outside the allowed set are "
    "refused\n"
    "      --placement P      order of the PUs handed to the model, one\n"
    "                         worker per PU: compact (fill a core's SMT\n"
    "                         siblings first) or scatter (one PU per core\n"
    "                         first; default)\n"
    "      --reps N           measured repetitions per cell, 1..1000 "
    "(default 3)\n"
    "      --warmup N         discarded repetitions per cell, 0..100 "
    "(default 0)\n"
    "      --quick            the workloads' small sizes\n"
    "      --seed N           master seed of the order and the runs "
    "(default 1)\n"
    "      --timeout SEC      per repetition, 1..86400 (default 300)\n"
    "      --mem-cap SIZE     kill a repetition whose resident memory "
    "passes\n"
    "                         SIZE (bytes; k/M/G/Ki/Mi/Gi); 0: no cap "
    "(default:\n"
    "                         half the memory available at start)\n"
    "      --max-time SEC     stop starting repetitions after SEC; the rest "
    "are\n"
    "                         recorded as skipped (default: no limit)\n"
    "      --order O          random (default: seeded, interleaved) or "
    "sequential\n"
    "      --resume           continue an interrupted matrix in DIR\n"
    "      --dry-run          print the cells and an estimated time; run "
    "nothing\n"
    "      --progress P       auto (default: when stderr is a terminal), "
    "always,\n"
    "                         never\n"
    "  -q, --quiet            no progress and no warnings\n"
    "      --export FMT       also write bmf.json (Bencher) or gab-*.json\n"
    "                         (github-action-benchmark) into DIR\n"
    "      --metric instructions\n"
    "                         count instructions under valgrind's callgrind\n"
    "                         on one PU instead of timing (noise-free; the\n"
    "                         whole process); workloads whose point is\n"
    "                         contention or fairness are refused as\n"
    "                         unsupported, with the reason\n"
    "      --shard K/N|auto   run only shard K of N of the plan (whole cells,\n"
    "                         the same seeds and order as the whole matrix);\n"
    "                         auto: K and N from a Slurm job array or a\n"
    "                         Kubernetes Indexed Job (JOB_COMPLETION_INDEX\n"
    "                         with CONCBENCH_SHARDS); `concbench merge`\n"
    "                         joins the shards' folders\n"
    "\n"
    "Exit: 0 every cell ran (or is unsupported), 1 a repetition crashed, "
    "hung,\nran out of memory or could not run, 2 usage, 3 a workload's "
    "invariant\nbroke, 5 a cell needs more threads, process ids, "
    "descriptors or memory\nthan the machine allows (recorded as "
    "\"resource\", not run) or ran out of them,\n130 interrupted (what "
    "finished is kept; --resume continues).\n";

#define MAX_MODELS 64
#define MAX_WORKLOADS 256
#define MAX_PSPECS 32
#define MAX_CELLS 20000

typedef struct cell {
    const cb_model_t *model;
    const cb_workload_t *workload;
    cb_param_set_t wp, mp;
    char id[1024];
    char label[512]; /* model, workload and the swept values */
    double est_s;
    /* Why the machine cannot run it (run_check_sizes): its repetitions
     * are recorded as "resource" without a child; empty when it fits. */
    char refused[512];
    int shard; /* the shard (0-based) that runs it: shard_assign */
} cell_t;

typedef struct slot {
    int cell, rep;
    bool warmup, done;
} slot_t;

typedef enum { PROGRESS_AUTO, PROGRESS_ALWAYS, PROGRESS_NEVER } progress_t;

typedef struct matrix_opts {
    const cb_model_t *models[MAX_MODELS];
    int nmodels;
    const cb_workload_t *workloads[MAX_WORKLOADS];
    int nworkloads;
    pspec_t ps[MAX_PSPECS];
    int nps;
    run_spec_t spec; /* cpus, timeout, memory cap */
    int reps, warmup;
    bool quick, dry_run, sequential, resume, quiet, scatter;
    bool export_bmf, export_gab;
    bool instructions; /* --metric instructions: callgrind counts */
    progress_t progress;
    shard_t shard; /* n == 0: not sharded (the whole plan, 1/1) */
    uint64_t seed;
    double max_time_s;
    const char *out;
    int argc;
    char **argv;
} matrix_opts_t;

static volatile int stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static int bad(const char *fmt, const char *a, const char *b)
{
    fputs("concbench: matrix: ", stderr);
    fprintf(stderr, fmt, a, b);
    fputc('\n', stderr);
    return EXIT_USAGE;
}

static void list_names(bool models)
{
    size_t n = models ? cb_model_count() : cb_workload_count();
    fprintf(stderr, "  valid %s:", models ? "models" : "workloads");
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, " %s",
                models ? cb_model_at(i)->name : cb_workload_at(i)->name);
    fputc('\n', stderr);
}

/* Split a comma list of registry names; every name must exist. */
static int parse_names(const char *list, bool models, const void **out, int max,
                       int *n)
{
    char buf[4096];
    if (strlen(list) >= sizeof buf || !list[0])
        return bad("%s list '%s' is empty or too long",
                   models ? "model" : "workload", arg_clip(list));
    size_t len = strlen(list);
    if (list[0] == ',' || list[len - 1] == ',' || strstr(list, ",,"))
        return bad("%s list '%s' has an empty name",
                   models ? "model" : "workload", arg_clip(list));
    snprintf(buf, sizeof buf, "%s", list);
    *n = 0;
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t;
         t = strtok_r(NULL, ",", &save)) {
        const void *p = models ? (const void *)peer_model_find(t)
                               : (const void *)cb_workload_find(t);
        if (!p) {
            bad("unknown %s '%s'", models ? "model" : "workload", arg_clip(t));
            list_names(models);
            return EXIT_USAGE;
        }
        for (int i = 0; i < *n; i++)
            if (out[i] == p)
                return bad("%s '%s' listed twice",
                           models ? "model" : "workload", arg_clip(t));
        if (*n == max)
            return bad("too many %s%s", models ? "models" : "workloads", "");
        out[(*n)++] = p;
    }
    if (*n == 0)
        return bad("%s list '%s' is empty", models ? "model" : "workload",
                   list);
    return 0;
}

/* Order the PUs: scatter puts one PU of each core first (then the second
 * PU of each core...), compact keeps a core's PUs together.  Models bind
 * worker i to cpus[i], so this is the placement of the workers. */
static void place(run_spec_t *s, bool scatter)
{
    int n = s->ncpus, out[RT_TOPO_MAX_PUS], k = 0;
    bool used[RT_TOPO_MAX_PUS] = {false};
    if (scatter) {
        while (k < n) {
            int seen_cores[RT_TOPO_MAX_PUS], nseen = 0;
            for (int i = 0; i < n; i++) {
                if (used[i])
                    continue;
                int core = rt_topo_core_of_pu(s->cpus[i]);
                bool dup = false;
                for (int j = 0; j < nseen; j++)
                    dup |= seen_cores[j] == core;
                if (dup)
                    continue;
                seen_cores[nseen++] = core;
                used[i] = true;
                out[k++] = s->cpus[i];
            }
        }
    } else {
        for (int i = 0; i < n; i++) {
            if (used[i])
                continue;
            int core = rt_topo_core_of_pu(s->cpus[i]);
            for (int j = i; j < n; j++)
                if (!used[j] && rt_topo_core_of_pu(s->cpus[j]) == core) {
                    used[j] = true;
                    out[k++] = s->cpus[j];
                }
        }
    }
    memcpy(s->cpus, out, sizeof(int) * (size_t)n);
}

static int parse_args(int argc, char **argv, matrix_opts_t *o)
{
    enum {
        O_CPUS = 256,
        O_PLACEMENT,
        O_REPS,
        O_WARMUP,
        O_QUICK,
        O_SEED,
        O_TIMEOUT,
        O_MEMCAP,
        O_MAXTIME,
        O_ORDER,
        O_RESUME,
        O_DRY,
        O_PROGRESS,
        O_EXPORT,
        O_METRIC,
        O_SHARD,
    };
    static const struct option longopts[] = {
        {"models", required_argument, NULL, 'm'},
        {"workloads", required_argument, NULL, 'w'},
        {"param", required_argument, NULL, 'p'},
        {"output", required_argument, NULL, 'o'},
        {"quiet", no_argument, NULL, 'q'},
        {"cpus", required_argument, NULL, O_CPUS},
        {"placement", required_argument, NULL, O_PLACEMENT},
        {"reps", required_argument, NULL, O_REPS},
        {"warmup", required_argument, NULL, O_WARMUP},
        {"quick", no_argument, NULL, O_QUICK},
        {"seed", required_argument, NULL, O_SEED},
        {"timeout", required_argument, NULL, O_TIMEOUT},
        {"mem-cap", required_argument, NULL, O_MEMCAP},
        {"max-time", required_argument, NULL, O_MAXTIME},
        {"order", required_argument, NULL, O_ORDER},
        {"resume", no_argument, NULL, O_RESUME},
        {"dry-run", no_argument, NULL, O_DRY},
        {"progress", required_argument, NULL, O_PROGRESS},
        {"export", required_argument, NULL, O_EXPORT},
        {"metric", required_argument, NULL, O_METRIC},
        {"shard", required_argument, NULL, O_SHARD},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    const char *mlist = NULL, *wlist = NULL, *cpus = NULL;
    int64_t v;
    o->reps = 3;
    o->seed = 1;
    o->scatter = true;
    o->spec.timeout_s = 300;
    o->spec.mem_cap_bytes = -1; /* default decided below */
    o->argc = argc;
    o->argv = argv;
    opterr = 0;
    optind = 1;
    int c;
    char err[512];
    arg_seen_t seen = {0};
    while ((c = getopt_long(argc, argv, ":m:w:p:o:qh", longopts, NULL)) != -1) {
        if (c != 'p' && c != 'h' && c != ':' && c != '?' &&
            arg_once(&seen, "matrix", c, longopts))
            return EXIT_USAGE;
        switch (c) {
        case 'm':
            mlist = optarg;
            break;
        case 'w':
            wlist = optarg;
            break;
        case 'p':
            if (o->nps == MAX_PSPECS)
                return bad("too many -p options%s%s", "", "");
            if (pspec_parse(optarg, &o->ps[o->nps], err, sizeof err) < 0)
                return bad("%s%s", err, "");
            for (int i = 0; i < o->nps; i++)
                if (strcmp(o->ps[i].key, o->ps[o->nps].key) == 0)
                    return bad("-p %s given twice; list its values in one "
                               "-p%s",
                               o->ps[i].key, "");
            if (strcmp(o->ps[o->nps].key, "seed") == 0)
                return bad("-p seed: the matrix derives every repetition's "
                           "seed from --seed%s%s",
                           "", "");
            o->nps++;
            break;
        case 'o':
            o->out = optarg;
            break;
        case 'q':
            o->quiet = true;
            break;
        case O_CPUS:
            cpus = optarg;
            break;
        case O_PLACEMENT:
            if (strcmp(optarg, "compact") == 0)
                o->scatter = false;
            else if (strcmp(optarg, "scatter") == 0)
                o->scatter = true;
            else
                return bad("--placement: '%s' is not compact or scatter%s",
                           arg_clip(optarg), "");
            break;
        case O_REPS:
            if (parse_int_arg("matrix", "--reps", optarg, 1, 1000, &v))
                return EXIT_USAGE;
            o->reps = (int)v;
            break;
        case O_WARMUP:
            if (parse_int_arg("matrix", "--warmup", optarg, 0, 100, &v))
                return EXIT_USAGE;
            o->warmup = (int)v;
            break;
        case O_QUICK:
            o->quick = true;
            break;
        case O_SEED:
            if (parse_int_arg("matrix", "--seed", optarg, 0, INT64_MAX, &v))
                return EXIT_USAGE;
            o->seed = (uint64_t)v;
            break;
        case O_TIMEOUT:
            if (parse_int_arg("matrix", "--timeout", optarg, 1, 86400, &v))
                return EXIT_USAGE;
            o->spec.timeout_s = (double)v;
            break;
        case O_MEMCAP:
            if (parse_int_arg("matrix", "--mem-cap", optarg, 0, INT64_MAX, &v))
                return EXIT_USAGE;
            if (v > 0 && v < (1 << 20))
                return bad("--mem-cap %s is below 1 MiB: no run fits%s",
                           arg_clip(optarg), "");
            o->spec.mem_cap_bytes = v;
            break;
        case O_MAXTIME:
            if (parse_int_arg("matrix", "--max-time", optarg, 1, 30 * 86400,
                              &v))
                return EXIT_USAGE;
            o->max_time_s = (double)v;
            break;
        case O_ORDER:
            if (strcmp(optarg, "sequential") == 0)
                o->sequential = true;
            else if (strcmp(optarg, "random") != 0)
                return bad("--order: '%s' is not random or sequential%s",
                           arg_clip(optarg), "");
            break;
        case O_RESUME:
            o->resume = true;
            break;
        case O_DRY:
            o->dry_run = true;
            break;
        case O_PROGRESS:
            if (strcmp(optarg, "auto") == 0)
                o->progress = PROGRESS_AUTO;
            else if (strcmp(optarg, "always") == 0)
                o->progress = PROGRESS_ALWAYS;
            else if (strcmp(optarg, "never") == 0)
                o->progress = PROGRESS_NEVER;
            else
                return bad("--progress: '%s' is not auto, always or "
                           "never%s",
                           arg_clip(optarg), "");
            break;
        case O_EXPORT:
            if (strcmp(optarg, "bmf") == 0)
                o->export_bmf = true;
            else if (strcmp(optarg, "gab") == 0)
                o->export_gab = true;
            else
                return bad("--export: '%s' is not bmf or gab%s",
                           arg_clip(optarg), "");
            break;
        case O_METRIC:
            if (strcmp(optarg, "instructions") != 0)
                return bad("--metric: '%s' is not instructions (timing is "
                           "the default)%s",
                           arg_clip(optarg), "");
            o->instructions = true;
            break;
        case O_SHARD:
            if (shard_parse(optarg, &o->shard, err, sizeof err) < 0)
                return bad("%s%s", err, "");
            break;
        case 'h':
            fputs(matrix_usage, stdout);
            return -1;
        case ':':
            return bad("option %s needs a value%s",
                       arg_clip(argv[optind - 1]), "");
        default:
            return bad("unknown option '%s'; see concbench matrix "
                       "--help%s",
                       arg_clip(argv[optind - 1]), "");
        }
    }
    if (optind < argc)
        return bad("unexpected argument '%s'%s", arg_clip(argv[optind]),
                   "");
    if (!o->out && !o->dry_run)
        return bad("-o DIR is required (the results folder)%s%s", "", "");
    if (mlist) {
        if (parse_names(mlist, true, (const void **)o->models, MAX_MODELS,
                        &o->nmodels))
            return EXIT_USAGE;
    } else {
        for (size_t i = 0; i < cb_model_count() && i < MAX_MODELS; i++)
            o->models[o->nmodels++] = cb_model_at(i);
    }
    if (wlist) {
        if (parse_names(wlist, false, (const void **)o->workloads,
                        MAX_WORKLOADS, &o->nworkloads))
            return EXIT_USAGE;
    } else {
        for (size_t i = 0; i < cb_workload_count() && i < MAX_WORKLOADS; i++)
            o->workloads[o->nworkloads++] = cb_workload_at(i);
    }
    if (rt_topo_init() < 0)
        return bad("cannot read the machine's topology%s%s", "", "");
    if (cpus) {
        int n = rt_topo_parse_cpulist(cpus, o->spec.cpus, RT_TOPO_MAX_PUS, err,
                                      sizeof err);
        if (n < 0)
            return bad("--cpus: %s%s", err, "");
        o->spec.ncpus = n;
    } else {
        o->spec.ncpus = rt_topo_npus();
        for (int i = 0; i < o->spec.ncpus; i++)
            o->spec.cpus[i] = rt_topo_pu_os_index(i);
    }
    place(&o->spec, o->scatter);
    if (o->spec.mem_cap_bytes < 0)
        o->spec.mem_cap_bytes = mem_available_bytes() / 2;
    return 0;
}

/* ---- the cells ---- */

static uint64_t fnv(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* The record of a cell's identity, as results.c reads it back. */
static void write_identity(json_t *j, const cell_t *c)
{
    json_str(j, "model", c->model->name);
    json_str(j, "workload", c->workload->name);
    rep_write_params(j, "params", &c->wp);
    rep_write_params(j, "model_params", &c->mp);
    peer_write_json(j, c->model);
}

static int cell_id(cell_t *c)
{
    res_line_t l;
    json_t *j = res_line_begin(&l, NULL);
    if (!j)
        return -1;
    write_identity(j, c);
    if (res_line_end(&l, -1) < 0)
        return -1;
    jv_t *v = jv_parse(l.buf, l.len, NULL, 0);
    free(l.buf);
    int rc = v ? results_cell_id(v, c->id, sizeof c->id) : -1;
    jv_free(v);
    return rc;
}

/* Rough seconds per repetition: the window when a duration_ms parameter
 * says it, plus what a child costs to start, spawn and tear down (0.7 s,
 * measured on the quick sizes of the first workloads on a 2-core VM). */
#define EST_OVERHEAD_S 0.7

static double estimate(const cell_t *c, double timeout_s)
{
    double s = EST_OVERHEAD_S;
    int i = cb_params_find(&c->wp, "duration_ms");
    if (i >= 0 && c->wp.defs[i].kind == CB_PARAM_INT)
        s += (double)c->wp.ival[i] / 1000.0;
    return fmin(s, timeout_s);
}

typedef struct expand {
    matrix_opts_t *o;
    cell_t *cells;
    int ncells, cap;
} expand_t;

/* Which set of (model, workload) declares key: 1 workload, 2 model. */
static int where(const cell_t *c, const char *key)
{
    if (cb_params_find(&c->wp, key) >= 0)
        return 1;
    if (cb_params_find(&c->mp, key) >= 0)
        return 2;
    return 0;
}

static int add_cells(expand_t *e, const cb_model_t *m, const cb_workload_t *w)
{
    matrix_opts_t *o = e->o;
    cell_t base = {.model = m, .workload = w};
    cb_params_defaults(&base.wp, w->params, o->quick);
    cb_params_defaults(&base.mp, m->params, o->quick);
    int idx[MAX_PSPECS] = {0}, applies[MAX_PSPECS], na = 0;
    for (int i = 0; i < o->nps; i++)
        if (where(&base, o->ps[i].key))
            applies[na++] = i;
    char err[512];
    for (;;) {
        if (e->ncells == MAX_CELLS)
            return bad("more than %s cells: sweep fewer values%s", "20000", "");
        if (e->ncells == e->cap) {
            int n = e->cap ? e->cap * 2 : 64;
            cell_t *p = realloc(e->cells, (size_t)n * sizeof *p);
            if (!p)
                return bad("out of memory%s%s", "", "");
            e->cells = p;
            e->cap = n;
        }
        cell_t *c = &e->cells[e->ncells];
        *c = base;
        snprintf(c->label, sizeof c->label, "%s %s", m->name, w->name);
        for (int k = 0; k < na; k++) {
            const pspec_t *p = &o->ps[applies[k]];
            const char *val = p->values[idx[k]];
            cb_param_set_t *set = where(c, p->key) == 1 ? &c->wp : &c->mp;
            if (cb_params_set(set, cb_params_find(set, p->key), val, err,
                              sizeof err) < 0)
                return bad("-p %s: %s", p->key, err);
            size_t n = strlen(c->label);
            snprintf(c->label + n, sizeof c->label - n, " %s=%s", p->key, val);
        }
        run_spec_t s = o->spec;
        s.model = m;
        s.workload = w;
        s.workload_params = c->wp;
        s.model_params = c->mp;
        int fit = run_check_sizes(&s, err, sizeof err);
        if (fit == EXIT_RESOURCE)
            snprintf(c->refused, sizeof c->refused, "%s", err);
        else if (fit)
            return bad("cell %s: %s", c->label, err);
        if (cell_id(c) < 0)
            return bad("cell %s: cannot name it%s", c->label, "");
        c->est_s = estimate(c, o->spec.timeout_s);
        e->ncells++;
        /* The next combination, odometer style. */
        int k = na - 1;
        while (k >= 0 && ++idx[k] == o->ps[applies[k]].nvalues)
            idx[k--] = 0;
        if (k < 0)
            return 0;
    }
}

static int expand(matrix_opts_t *o, cell_t **cells, int *ncells)
{
    expand_t e = {.o = o};
    /* A swept key must mean something to at least one cell. */
    for (int i = 0; i < o->nps; i++) {
        bool known = false;
        for (int m = 0; m < o->nmodels && !known; m++) {
            cb_param_set_t s;
            cb_params_defaults(&s, o->models[m]->params, false);
            known = cb_params_find(&s, o->ps[i].key) >= 0;
        }
        for (int w = 0; w < o->nworkloads && !known; w++) {
            cb_param_set_t s;
            cb_params_defaults(&s, o->workloads[w]->params, false);
            known = cb_params_find(&s, o->ps[i].key) >= 0;
        }
        if (!known) {
            free(e.cells);
            return bad("-p %s: no selected workload or model has this "
                       "parameter (concbench describe NAME lists them)%s",
                       o->ps[i].key, "");
        }
    }
    for (int m = 0; m < o->nmodels; m++)
        for (int w = 0; w < o->nworkloads; w++)
            if (add_cells(&e, o->models[m], o->workloads[w])) {
                free(e.cells);
                return EXIT_USAGE;
            }
    *cells = e.cells;
    *ncells = e.ncells;
    return 0;
}

/* Every cell appears warmup + reps times; its k-th appearance is warm-up k
 * or repetition k - warmup, so warm-ups come first within a cell whatever
 * the order. */
static slot_t *schedule(const matrix_opts_t *o, int ncells, size_t *nslots)
{
    size_t per = (size_t)(o->warmup + o->reps);
    size_t n = per * (size_t)ncells;
    slot_t *s = calloc(n ? n : 1, sizeof *s);
    int *seen = calloc((size_t)ncells, sizeof *seen);
    if (!s || !seen) {
        free(s);
        free(seen);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        s[i].cell = (int)(i / per);
    if (!o->sequential) {
        uint64_t st = mix(o->seed ^ 0x6f72646572ull); /* "order" */
        for (size_t i = n; i > 1; i--) {              /* Fisher-Yates */
            st = mix(st);
            size_t j = (size_t)(st % i);
            slot_t t = s[i - 1];
            s[i - 1] = s[j];
            s[j] = t;
        }
    }
    for (size_t i = 0; i < n; i++) {
        int k = seen[s[i].cell]++;
        s[i].warmup = k < o->warmup;
        s[i].rep = s[i].warmup ? k : k - o->warmup;
    }
    free(seen);
    *nslots = n;
    return s;
}

/* Which shard runs each cell (all of them shard 0 when not sharded), and
 * the slots of the other shards marked done, so that this shard runs its
 * own in the whole plan's order and records their positions in it. */
static bool assign_shards(const matrix_opts_t *o, cell_t *cells, int ncells,
                          slot_t *slots, size_t nslots)
{
    int n = o->shard.n ? o->shard.n : 1;
    double *est = malloc(((size_t)ncells + 1) * sizeof *est);
    int *owner = malloc(((size_t)ncells + 1) * sizeof *owner);
    if (!est || !owner) {
        free(est);
        free(owner);
        return false;
    }
    for (int i = 0; i < ncells; i++)
        est[i] = cells[i].est_s;
    shard_assign(est, ncells, o->seed, n, owner);
    for (int i = 0; i < ncells; i++)
        cells[i].shard = owner[i];
    for (size_t i = 0; i < nslots && o->shard.n; i++)
        slots[i].done = cells[slots[i].cell].shard != o->shard.k - 1;
    free(est);
    free(owner);
    return true;
}

static uint64_t cells_hash(const cell_t *cells, int n)
{
    uint64_t h = 0;
    for (int i = 0; i < n; i++)
        h = mix(h ^ fnv(cells[i].id));
    return h;
}

/* Under --metric instructions every run is callgrind's: valgrind's
 * manual puts its slowdown at 20 to 100 times (we take 50), and the
 * tool's start costs about a second before the program starts. */
#define CALLGRIND_SLOWDOWN 50.0
#define CALLGRIND_START_S 1.5

static void dry_run(const matrix_opts_t *o, const cell_t *cells, int ncells,
                    size_t nslots)
{
    double total = 0;
    int refused = 0;
    printf("%-60s %10s%s\n", "cell", "est. s/run", o->shard.n ? "  shard" : "");
    for (int i = 0; i < ncells; i++) {
        char where[64] = "";
        if (o->shard.n) {
            snprintf(where, sizeof where, "  %d/%d%s", cells[i].shard + 1,
                     o->shard.n,
                     cells[i].shard == o->shard.k - 1 ? " (this one)" : "");
        }
        bool mine = !o->shard.n || cells[i].shard == o->shard.k - 1;
        double est = cells[i].est_s;
        if (o->instructions && cells[i].workload->no_instruction_count) {
            /* matrix records it as unsupported without running it */
            printf("%-60s %10s%s  refused: %s\n", cells[i].label, "-", where,
                   cells[i].workload->no_instruction_count);
            refused += mine;
            continue;
        }
        if (o->instructions)
            est = CALLGRIND_START_S +
                  CALLGRIND_SLOWDOWN * (est - EST_OVERHEAD_S);
        printf("%-60s %10.1f%s%s\n", cells[i].label, est, where,
               o->instructions ? "  (callgrind)" : "");
        if (mine)
            total += est * (o->reps + o->warmup);
    }
    if (refused)
        printf("\n%d cell%s refused by --metric instructions (not run, "
               "recorded as unsupported)\n",
               refused, refused == 1 ? "" : "s");
    if (o->shard.n)
        printf("\n%s: this shard's estimate below\n", o->shard.source);
    printf("\n%d cells x (%d warm-up + %d reps) = %zu runs on %d PU%s\n",
           ncells, o->warmup, o->reps, nslots, o->spec.ncpus,
           o->spec.ncpus == 1 ? "" : "s");
    printf("estimated time: %.0f s (%.1f min)%s\n", total, total / 60,
           o->max_time_s > 0 && total > o->max_time_s
               ? "; more than --max-time: the last runs would be skipped"
               : "");
    if (o->instructions)
        printf("(a rough estimate: callgrind's %.1f s start plus %.0f times "
               "each run's native time)\n",
               CALLGRIND_START_S, CALLGRIND_SLOWDOWN);
    else
        printf("(a rough estimate: %.1f s per run plus each run's "
               "duration_ms)\n",
               EST_OVERHEAD_S);
}

/* ---- writing records ---- */

#ifndef CB_GIT_REV
#define CB_GIT_REV "unknown"
#endif
#ifndef CB_GIT_DIRTY
#define CB_GIT_DIRTY 0
#endif

/* The plan's identity (runner/shard.c): what every shard of one matrix
 * shares.  Not --cpus, --mem-cap or the machine: those are the shard's
 * own, and the machine travels in machine.json. */
static uint64_t plan_hash(const matrix_opts_t *o, uint64_t cells_h,
                          const char *rev)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%016" PRIx64 "|%d|%d|%" PRIu64 "|%d|%d|%d|%.0f|%s",
             cells_h, o->reps, o->warmup, o->seed, o->quick, o->sequential,
             o->instructions, o->spec.timeout_s, rev);
    return mix(fnv(buf));
}

static void write_plan(json_t *j, const matrix_opts_t *o, const cell_t *cells,
                       int ncells)
{
    char rev[64], h[32];
    snprintf(rev, sizeof rev, "%s%s", CB_GIT_REV, CB_GIT_DIRTY ? "-dirty" : "");
    snprintf(h, sizeof h, "%016" PRIx64,
             plan_hash(o, cells_hash(cells, ncells), rev));
    json_str(j, "plan_id", h);
    json_str(j, "revision", rev);
    json_f64(j, "timeout_s", o->spec.timeout_s);
    json_int(j, "shard", o->shard.n ? o->shard.k : 1);
    json_int(j, "shards", o->shard.n ? o->shard.n : 1);
    json_str(j, "shard_source", o->shard.n ? o->shard.source : NULL);
    /* Every cell with its owner, so that merge can name a missing
     * shard's cells without inventing them. */
    json_arr_begin(j, "plan_cells");
    for (int i = 0; i < ncells; i++) {
        json_obj_begin(j, NULL);
        write_identity(j, &cells[i]);
        json_str(j, "label", cells[i].label);
        json_int(j, "shard", cells[i].shard + 1);
        json_obj_end(j);
    }
    json_arr_end(j);
}

static int write_header(int fd, const matrix_opts_t *o, const cell_t *cells,
                        int ncells)
{
    res_line_t l;
    json_t *j = res_line_begin(&l, "matrix");
    if (!j)
        return -ENOMEM;
    char h[32];
    snprintf(h, sizeof h, "%016" PRIx64, cells_hash(cells, ncells));
    json_str(j, "cells_hash", h);
    json_int(j, "cells", ncells);
    json_int(j, "reps", o->reps);
    json_int(j, "warmup", o->warmup);
    json_int(j, "seed", (int64_t)o->seed);
    json_bool(j, "quick", o->quick);
    json_str(j, "order", o->sequential ? "sequential" : "random");
    json_str(j, "metric", o->instructions ? "instructions" : "time");
    json_arr_begin(j, "argv");
    for (int i = 0; i < o->argc; i++)
        json_str(j, NULL, o->argv[i]);
    json_arr_end(j);
    write_plan(j, o, cells, ncells);
    return res_line_end(&l, fd);
}

static int write_record(int fd, const cell_t *c, const run_spec_t *s,
                        const rep_result_t *r, int order, bool quick)
{
    res_line_t l;
    json_t *j = res_line_begin(&l, "run");
    if (!j)
        return -ENOMEM;
    write_identity(j, c);
    json_str(j, "label", c->label);
    json_bool(j, "quick", quick);
    json_int(j, "rep", r->index);
    json_bool(j, "warmup", r->warmup);
    json_int(j, "order", order);
    json_int(j, "seed", (int64_t)s->seed);
    json_str(j, "outcome", rep_outcome_name(r->outcome));
    json_str(j, "reason", r->reason[0] ? r->reason : NULL);
    json_str(j, "stderr_tail", r->stderr_tail[0] ? r->stderr_tail : NULL);
    json_f64(j, "wall_s", r->wall_s);
    json_obj_begin(j, "metrics");
    for (size_t i = 0; i < r->nmetrics; i++)
        rep_write_metric(j, &r->metrics[i], true);
    json_obj_end(j);
    json_obj_begin(j, "series");
    for (size_t i = 0; i < r->nmetrics; i++) {
        const rep_metric_t *m = &r->metrics[i];
        if (m->kind != CB_METRIC_SERIES)
            continue;
        json_arr_begin(j, m->name);
        for (size_t p = 0; p < m->npoints; p++) {
            json_arr_begin(j, NULL);
            json_f64(j, NULL, m->points[p][0]);
            json_f64(j, NULL, m->points[p][1]);
            json_arr_end(j);
        }
        json_arr_end(j);
    }
    json_obj_end(j);
    json_obj_begin(j, "counters");
    for (size_t i = 0; i < r->ncounters; i++)
        json_int(j, r->counters[i].name, r->counters[i].value);
    json_obj_end(j);
    rep_write_window_placement(j, s, r);
    return res_line_end(&l, fd);
}

/* ---- progress ---- */

static void fmt_secs(double s, char *buf, size_t len)
{
    if (s >= 3600)
        snprintf(buf, len, "%dh%02dm", (int)(s / 3600), (int)fmod(s / 60, 60));
    else if (s >= 60)
        snprintf(buf, len, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60));
    else
        snprintf(buf, len, "%.0fs", s);
}

typedef struct progress_state {
    bool on, color;
    size_t done, total;
    int bad;
    double started;
    bool tty; /* else plain lines: a log file gets no escapes */
} progress_state_t;

static void progress_line(progress_state_t *p, const char *label,
                          const slot_t *s, int reps)
{
    if (!p->on)
        return;
    double el = (double)rt_now_ns() / 1e9 - p->started;
    char eta[32] = "?", took[32];
    if (p->done > 0)
        fmt_secs(el / (double)p->done * (double)(p->total - p->done), eta,
                 sizeof eta);
    fmt_secs(el, took, sizeof took);
    char bad_s[64] = "";
    if (p->bad)
        snprintf(bad_s, sizeof bad_s, " %s%d failed%s",
                 p->color ? "\033[31m" : "", p->bad, p->color ? "\033[0m" : "");
    fprintf(stderr, "%s[%zu/%zu] %3.0f%% %s, eta %s%s  %.60s %s %d/%d%s",
            p->tty ? "\r\033[K" : "", p->done + 1, p->total,
            p->total ? 100.0 * (double)p->done / (double)p->total : 100.0, took,
            eta, bad_s, label, s->warmup ? "warm-up" : "rep", s->rep + 1, reps,
            p->tty ? "" : "\n");
    fflush(stderr);
}

/* ---- the run ---- */

/* Mark the slots runs.jsonl already holds; refuse a different matrix. */
static int load_done(const matrix_opts_t *o, const char *path,
                     const cell_t *cells, int ncells, slot_t *slots,
                     size_t nslots, size_t *ndone)
{
    res_set_t set;
    char err[1024];
    if (results_load(o->out, true, &set, err, sizeof err) < 0) {
        results_free(&set);
        return bad("--resume: %s%s", err, "");
    }
    char h[32];
    snprintf(h, sizeof h, "%016" PRIx64, cells_hash(cells, ncells));
    double reps = -1, warm = -1, seed = -1;
    const jv_t *hd = set.header;
    jv_num(jv_get(hd, "reps"), &reps);
    jv_num(jv_get(hd, "warmup"), &warm);
    jv_num(jv_get(hd, "seed"), &seed);
    const char *hh = jv_str(jv_get(hd, "cells_hash"));
    double shard = 1, shards = 1;
    jv_num(jv_get(hd, "shard"), &shard);
    jv_num(jv_get(hd, "shards"), &shards);
    if (!hd || !hh || strcmp(hh, h) != 0 || reps != o->reps ||
        warm != o->warmup || seed != (double)o->seed ||
        shard != (o->shard.n ? o->shard.k : 1) ||
        shards != (o->shard.n ? o->shard.n : 1)) {
        results_free(&set);
        return bad("--resume: %s holds a different matrix (other cells, "
                   "--reps, --warmup, --seed or --shard); give the same "
                   "arguments or "
                   "another -o%s",
                   o->out, "");
    }
    *ndone = 0;
    for (size_t i = 0; i < set.nruns; i++) {
        const res_run_t *r = &set.runs[i];
        if (strcmp(r->outcome, "skipped") == 0)
            continue; /* a spent time budget: run it now */
        for (size_t k = 0; k < nslots; k++)
            if (!slots[k].done && slots[k].rep == r->rep &&
                slots[k].warmup == r->warmup &&
                strcmp(cells[slots[k].cell].id, r->cell) == 0) {
                slots[k].done = true;
                (*ndone)++;
                break;
            }
    }
    /* Drop the line an interruption cut short, so appends start clean. */
    if (set.partial_tail) {
        struct stat st;
        if (stat(path, &st) == 0)
            if (truncate(path, st.st_size - (off_t)set.partial_tail) < 0) {
                results_free(&set);
                return bad("--resume: cannot repair %s%s", path, "");
            }
    }
    results_free(&set);
    return 0;
}

static int write_machine(const matrix_opts_t *o)
{
    char path[4200], tmp[4300];
    snprintf(path, sizeof path, "%s/machine.json", o->out);
    FILE *f = outfile_open(path, tmp, sizeof tmp);
    if (!f)
        return -1;
    json_t j;
    json_init(&j, f, true);
    machine_write_full(&j, &o->spec, o->seed,
                       o->scatter ? "scatter" : "compact");
    return outfile_commit(f, tmp, path);
}

/*
 * Whether runs.jsonl holds no complete record: empty, or cut inside its
 * header line (a disk that filled, or a kill, at the very start).  Such a
 * file is started afresh by a plain run and by --resume alike; refusing
 * it would block both for want of a single result.
 */
static bool holds_no_record(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    char buf[4096];
    size_t n;
    bool line = false;
    while (!line && (n = fread(buf, 1, sizeof buf, f)) > 0)
        line = memchr(buf, '\n', n) != NULL;
    fclose(f);
    return !line;
}

static int run_matrix(matrix_opts_t *o, cell_t *cells, int ncells,
                      slot_t *slots, size_t nslots)
{
    char path[4200];
    if (mkdir_p(o->out) < 0)
        return bad("cannot create %s: %s", o->out, strerror(errno));
    snprintf(path, sizeof path, "%s/runs.jsonl", o->out);
    size_t ndone = 0, other_shards = 0;
    for (size_t i = 0; i < nslots; i++)
        other_shards += slots[i].done; /* marked by mark_shard */
    bool exists = access(path, F_OK) == 0;
    if (exists && holds_no_record(path)) {
        if (truncate(path, 0) < 0)
            return bad("cannot write %s: %s", path, strerror(errno));
        exists = false;
    }
    if (exists && !o->resume)
        return bad("%s already holds results; --resume continues them, or "
                   "choose another -o%s",
                   o->out, "");
    if (exists && load_done(o, path, cells, ncells, slots, nslots, &ndone))
        return EXIT_USAGE;
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
    if (fd < 0)
        return bad("cannot write %s: %s", path, strerror(errno));
    int hrc;
    if (!exists && (hrc = write_header(fd, o, cells, ncells)) < 0) {
        close(fd);
        /* Leave no file that holds nothing (a full disk, say). */
        unlink(path);
        return bad("cannot write %s: %s", path, strerror(-hrc));
    }
    if (write_machine(o) < 0) {
        close(fd);
        return bad("cannot write %s/machine.json%s", o->out, "");
    }
    char probe_path[4200];
    snprintf(probe_path, sizeof probe_path, "%s/probe.jsonl", o->out);
    if (!exists)
        unlink(probe_path); /* a fresh matrix: no earlier run's probes */
    /* Instruction counts do not drift with the machine: no probe. */
    probe_t *probe =
        o->instructions ? NULL : probe_open(o->spec.cpus, o->spec.ncpus);
    if (!probe && !o->instructions && !o->quiet)
        fprintf(stderr, "concbench: warning: the drift probe could not "
                        "start (out of memory or threads); compare cannot "
                        "allow for the machine's drift\n");
    if (!o->quiet) {
        char warn[4096] = "";
        machine_noise_warnings(&o->spec, warn, sizeof warn);
        for (char *l = strtok(warn, "\n"); l; l = strtok(NULL, "\n"))
            fprintf(stderr, "concbench: warning: %s\n", l);
    }

    struct sigaction sa = {.sa_handler = on_signal}, old_int, old_term;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    stop_flag = 0;

    bool tty = isatty(STDERR_FILENO);
    progress_state_t pr = {
        .on = !o->quiet && (o->progress == PROGRESS_ALWAYS ||
                            (o->progress == PROGRESS_AUTO && tty)),
        .color = tty && !getenv("NO_COLOR"),
        .total = nslots - ndone - other_shards,
        .started = (double)rt_now_ns() / 1e9,
        .tty = tty,
    };
    int worst = EXIT_OK;
    bool interrupted = false;
    rep_result_t *r = malloc(sizeof *r);
    if (!r) {
        probe_close(probe);
        close(fd);
        return bad("out of memory%s%s", "", "");
    }
    for (size_t i = 0; i < nslots; i++) {
        slot_t *s = &slots[i];
        if (s->done)
            continue;
        if (stop_flag) {
            interrupted = true;
            break;
        }
        cell_t *c = &cells[s->cell];
        run_spec_t spec = o->spec;
        spec.model = c->model;
        spec.workload = c->workload;
        spec.workload_params = c->wp;
        spec.model_params = c->mp;
        /* 53 bits, so that every JSON reader holds the seed exactly. */
        spec.seed = mix(o->seed ^ fnv(c->id) ^ ((uint64_t)(s->rep + 1) << 32) ^
                        (s->warmup ? 1 : 0)) >>
                    11;
        spec.capture_stderr = true;
        spec.own_group = true;
        spec.stop = &stop_flag;
        double el = (double)rt_now_ns() / 1e9 - pr.started;
        progress_line(&pr, c->label, s, s->warmup ? o->warmup : o->reps);
        if (o->max_time_s > 0 && el + c->est_s > o->max_time_s) {
            memset(r, 0, sizeof *r);
            r->index = s->rep;
            r->warmup = s->warmup;
            r->outcome = REP_SKIPPED;
            snprintf(r->reason, sizeof r->reason,
                     "not run: the time budget (--max-time %.0f s) was "
                     "spent; --resume runs it",
                     o->max_time_s);
        } else if (c->refused[0]) {
            memset(r, 0, sizeof *r);
            r->index = s->rep;
            r->warmup = s->warmup;
            r->outcome = REP_RESOURCE;
            snprintf(r->reason, sizeof r->reason, "not run: %.490s",
                     c->refused);
        } else if (o->instructions && c->workload->no_instruction_count) {
            memset(r, 0, sizeof *r);
            r->index = s->rep;
            r->warmup = s->warmup;
            r->outcome = REP_UNSUPPORTED;
            snprintf(r->reason, sizeof r->reason,
                     "no instruction count for %s: %s", c->workload->name,
                     c->workload->no_instruction_count);
        } else if (o->instructions) {
            child_run_callgrind(&spec, s->rep, s->warmup, r);
        } else {
            probe_sample_t ps;
            int prc = probe ? probe_time(probe, &ps) : 0;
            if (probe && prc == 0)
                prc = probe_append(o->out, (int)i, &ps);
            if (prc < 0 && !o->quiet)
                fprintf(stderr,
                        "concbench: warning: drift probe (%s): %s; it stops "
                        "here, and compare allows for the drift it saw\n",
                        probe_path, strerror(-prc));
            if (prc < 0) {
                probe_close(probe);
                probe = NULL;
            }
            child_run(&spec, s->rep, s->warmup, r);
        }
        if (r->interrupted) {
            rep_result_free(r);
            interrupted = true;
            break;
        }
        int wrc = write_record(fd, c, &spec, r, (int)i, o->quick);
        pr.done++;
        if (!s->warmup) {
            if (r->outcome == REP_FAILED)
                worst = EXIT_INVARIANT;
            else if (r->outcome == REP_RESOURCE && worst == EXIT_OK)
                worst = EXIT_RESOURCE;
            else if (r->outcome != REP_OK && r->outcome != REP_UNSUPPORTED &&
                     r->outcome != REP_SKIPPED && r->outcome != REP_RESOURCE &&
                     (worst == EXIT_OK || worst == EXIT_RESOURCE))
                worst = EXIT_RUN_ERROR;
            if (r->outcome != REP_OK && r->outcome != REP_UNSUPPORTED &&
                r->outcome != REP_SKIPPED)
                pr.bad++;
        }
        rep_result_free(r);
        if (wrc < 0) {
            fprintf(stderr,
                    "\nconcbench: matrix: writing %s: %s; this repetition "
                    "is not recorded: make room, then --resume runs it "
                    "and the rest\n",
                    path, strerror(-wrc));
            free(r);
            probe_close(probe);
            close(fd);
            return EXIT_RUN_ERROR;
        }
    }
    free(r);
    probe_close(probe);
    close(fd);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (pr.on && pr.tty)
        fprintf(stderr, "\r\033[K");

    char err[1024], noisy[8192] = "";
    if (results_finalize(o->out, noisy, sizeof noisy, err, sizeof err) < 0) {
        fprintf(stderr, "concbench: matrix: %s\n", err);
        return EXIT_RUN_ERROR;
    }
    if (!o->quiet && noisy[0]) {
        fprintf(stderr,
                "concbench: warning: noisy cells (CV above %.0f%%); pin "
                "with --cpus, stop other load, add --reps, or compare with "
                "`concbench ab`:\n",
                NOISY_CV * 100);
        for (char *l = strtok(noisy, "\n"); l; l = strtok(NULL, "\n"))
            fprintf(stderr, "  %s\n", l);
    }
    const char *fmts[2] = {o->export_bmf ? "bmf" : NULL,
                           o->export_gab ? "gab" : NULL};
    for (int k = 0; k < 2; k++)
        if (fmts[k] && export_write(o->out, fmts[k], err, sizeof err) < 0) {
            fprintf(stderr, "concbench: matrix: --export %s: %s\n", fmts[k],
                    err);
            return EXIT_RUN_ERROR;
        }
    if (interrupted) {
        fprintf(stderr,
                "concbench: matrix: interrupted; what finished is in %s, "
                "`concbench matrix ... --resume` continues\n",
                o->out);
        return 130;
    }
    if (!o->quiet && o->shard.n) {
        int mine = 0;
        for (int i = 0; i < ncells; i++)
            mine += cells[i].shard == o->shard.k - 1;
        fprintf(stderr,
                "concbench: matrix: shard %d/%d: %d of %d cells, %zu of %zu "
                "runs in %s; `concbench merge` joins the shards\n",
                o->shard.k, o->shard.n, mine, ncells, nslots - other_shards,
                nslots, o->out);
    } else if (!o->quiet) {
        fprintf(stderr,
                "concbench: matrix: %d cells, %zu runs in %s; the headline "
                "figures: concbench summary %s; against another run: "
                "concbench compare BASE %s\n",
                ncells, nslots, o->out, o->out, o->out);
    }
    return worst;
}

int cmd_matrix(int argc, char **argv)
{
    matrix_opts_t *o = calloc(1, sizeof *o);
    if (!o)
        return EXIT_RUN_ERROR;
    int rc = parse_args(argc, argv, o);
    if (rc != 0) {
        free(o);
        return rc < 0 ? EXIT_OK : rc;
    }
    cell_t *cells = NULL;
    int ncells = 0;
    if ((rc = expand(o, &cells, &ncells)) != 0) {
        free(o);
        return rc;
    }
    size_t nslots = 0;
    slot_t *slots = schedule(o, ncells, &nslots);
    if (slots && !assign_shards(o, cells, ncells, slots, nslots)) {
        free(slots);
        slots = NULL;
    }
    if (!slots) {
        rc = bad("out of memory%s%s", "", "");
    } else if (o->dry_run) {
        dry_run(o, cells, ncells, nslots);
        rc = EXIT_OK;
    } else {
        rc = run_matrix(o, cells, ncells, slots, nslots);
    }
    free(slots);
    free(cells);
    free(o);
    return rc;
}
