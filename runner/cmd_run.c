/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * concbench run: one workload on one model, repeated, each repetition in
 * its own child process; the figures are the median over the repetitions
 * that succeeded, and every repetition is kept in the JSON output.
 *
 * Every argument is validated before anything runs, and sizes are checked
 * against the machine before anything is allocated: the workload estimates
 * its tasks, bytes and file descriptors from the parameters alone, the
 * model says what a task costs, and a run that cannot fit is refused with
 * the arithmetic in the message.  So is the output: -o FILE must name a
 * file that can be created in a folder that exists, checked by creating
 * the temporary file the result will go through, because a result lost
 * after a long run is the worst way to learn that.  A finished result is
 * never discarded: when FILE cannot be written after all (the folder went
 * away, the disk filled), it goes to a file in $TMPDIR, or to stdout, and
 * the message names where.
 */
#include "runner/args.h"
#include "runner/cli.h"
#include "runner/json.h"
#include "runner/peer.h"
#include "runner/results.h"

#include "runtime/topo.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static const char run_usage[] =
    "usage: concbench run -m MODEL -w WORKLOAD [-p key=value]... "
    "[--cpus LIST]\n"
    "                     [--reps N] [--warmup N] [--quick] [--seed N]\n"
    "                     [--timeout SEC] [--format table|json|csv] "
    "[-o FILE]\n"
    "\n"
    "Runs WORKLOAD on MODEL.  Each repetition (and warm-up) runs in its own\n"
    "child process; the reported figures are medians over the successful\n"
    "repetitions, and the JSON output keeps every repetition.\n"
    "\n"
    "  -m, --model MODEL      a model or a real system (concbench list\n"
    "                         models, concbench list systems)\n"
    "  -w, --workload NAME    a workload (concbench list workloads)\n"
    "  -p, --param KEY=VALUE  a workload or model parameter (concbench\n"
    "                         describe NAME lists them); integers take k, M,\n"
    "                         G or Ki, Mi, Gi suffixes; seed=N also works;\n"
    "                         another model's or workload's parameter is\n"
    "                         checked and reported as not applying\n"
    "      --cpus LIST        PUs to run on, by OS index: 0-3,6 (default:\n"
    "                         every PU this process may use)\n"
    "      --reps N           measured repetitions, 1..1000 (default 1)\n"
    "      --warmup N         discarded repetitions first, 0..100 (default "
    "0)\n"
    "      --quick            small sizes, for tests and smoke runs\n"
    "      --seed N           master seed (default 1)\n"
    "      --timeout SEC      per repetition, 1..86400 (default 600)\n"
    "      --format FMT       table (default), json or csv\n"
    "  -o, --output FILE      write there (atomically) instead of stdout\n"
    "\n"
    "Exit: 0 ok, 1 crashed/timed out/could not run, 2 usage, 3 invariant\n"
    "broken, 4 unsupported by the model, 5 out of a resource (threads,\n"
    "process ids, file descriptors, memory: refused before the run when\n"
    "the estimate does not fit the kernel's limits).\n";

typedef enum { FMT_TABLE, FMT_JSON, FMT_CSV } format_t;

typedef struct run_opts {
    run_spec_t spec;
    int reps, warmup;
    bool quick;
    format_t format;
    const char *output;
    const char *cpus_arg;
    /* -p key=value pairs that another model or workload declares: kept,
     * reported as not applying to this run, ignored. */
    const char *not_applied[256];
    int nnot_applied;
} run_opts_t;

static void print_names(const char *label, bool models)
{
    fprintf(stderr, "%s:", label);
    size_t n = models ? cb_model_count() : cb_workload_count();
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, " %s",
                models ? cb_model_at(i)->name : cb_workload_at(i)->name);
    fputc('\n', stderr);
}

static void print_keys(const cb_param_set_t *s)
{
    for (size_t i = 0; i < s->n; i++)
        fprintf(stderr, " %s", s->defs[i].name);
}

/*
 * A key this model and workload lack but another model or workload
 * declares is accepted and reported as not applying, as matrix does for
 * the cells a swept key means nothing to, so one command line can be
 * looped over models; its value is still checked against the declaring
 * table.  The name of the first that declares it, or NULL (then the key
 * is unknown and refused).  1 when the value is bad (err filled).
 */
static const char *declared_elsewhere(const char *key, const char *val,
                                      char *err, size_t errlen, int *bad)
{
    size_t nm = cb_model_count(), nw = cb_workload_count();
    for (size_t i = 0; i < nm + nw; i++) {
        const cb_param_def_t *defs = i < nm ? cb_model_at(i)->params
                                            : cb_workload_at(i - nm)->params;
        cb_param_set_t set;
        cb_params_defaults(&set, defs, false);
        int k = cb_params_find(&set, key);
        if (k < 0)
            continue;
        *bad = cb_params_set(&set, k, val, err, errlen) < 0;
        return i < nm ? cb_model_at(i)->name : cb_workload_at(i - nm)->name;
    }
    return NULL;
}

static int apply_param(run_opts_t *o, const char *kv)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv)
        return usage_error("run: -p wants key=value, got '%s'", kv);
    char key[64];
    size_t klen = (size_t)(eq - kv);
    if (klen >= sizeof key)
        return usage_error("run: parameter name too long in '%s'", kv);
    memcpy(key, kv, klen);
    key[klen] = '\0';
    const char *val = eq + 1;
    char err[256];
    if (strcmp(key, "seed") == 0) {
        int64_t v = 0;
        if (parse_int_arg("run", "seed", val, 0, INT64_MAX, &v))
            return EXIT_USAGE;
        o->spec.seed = (uint64_t)v;
        return 0;
    }
    cb_param_set_t *sets[2] = {&o->spec.workload_params,
                               &o->spec.model_params};
    for (int k = 0; k < 2; k++) {
        int i = cb_params_find(sets[k], key);
        if (i < 0)
            continue;
        if (cb_params_set(sets[k], i, val, err, sizeof err) < 0)
            return usage_error("run: %s", err);
        return 0;
    }
    int bad = 0;
    const char *owner = declared_elsewhere(key, val, err, sizeof err, &bad);
    if (owner && bad)
        return usage_error("run: %s", err);
    if (owner) {
        if (o->nnot_applied < 256)
            o->not_applied[o->nnot_applied++] = kv;
        fprintf(stderr,
                "concbench: run: note: %s does not apply to model %s or "
                "workload %s (it is a parameter of %s); ignored\n",
                kv, o->spec.model->name, o->spec.workload->name, owner);
        return 0;
    }
    fprintf(stderr,
            "concbench: run: unknown parameter '%s'\n  workload %s:",
            key, o->spec.workload->name);
    print_keys(&o->spec.workload_params);
    fprintf(stderr, "\n  model %s:", o->spec.model->name);
    print_keys(&o->spec.model_params);
    fprintf(stderr, "\n  runner: seed\n");
    return EXIT_USAGE;
}

int64_t mem_available_bytes(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];
    int64_t kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %" SCNd64, &kib) == 1)
            break;
    if (f)
        fclose(f);
    if (kib > 0)
        return kib * 1024;
    return (int64_t)sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE);
}

/*
 * Under ThreadSanitizer every task, green or not, is a TSan thread or
 * fiber with state of its own (shadow stack, vector clock, trace parts):
 * 878 KB of resident memory per parked task, measured with spawn on actor
 * (rss_per_task_bytes at tasks=500), against a few KB without TSan.  So a
 * TSan build adds it to every model's task cost, and the default skynet
 * (1.1 M tasks, some 950 GB here) is refused at once instead of paging
 * until the timeout.
 */
#ifdef CB_SANITIZE_THREAD
#define TSAN_TASK_BYTES (850 * 1024)
#else
#define TSAN_TASK_BYTES 0
#endif

/* Refuse what cannot fit, before a child allocates anything. */
int run_check_sizes(const run_spec_t *s, char *err, size_t errlen)
{
    cb_wl_estimate_t est = {0};
    if (s->workload->estimate(&s->workload_params, &est, err, errlen) < 0)
        return EXIT_USAGE;
    /* The model's own cap on threads first: it names the parameter. */
    int64_t most = 0;
    int64_t threads = s->model->threads_for(&s->model_params, s->ncpus,
                                            est.tasks, &most);
    if (threads < 0) {
        snprintf(err, errlen,
                 "%s keeps %" PRId64 " tasks alive at once, each of which "
                 "may block and so hold a thread, but %s starts at most %" PRId64
                 " threads (-p max_threads); raise max_threads or lower "
                 "the sizes",
                 s->workload->name, est.tasks, s->model->name, most);
        return EXIT_RESOURCE;
    }
    int64_t per_task = (int64_t)s->model->task_cost_bytes(&s->model_params) +
                       TSAN_TASK_BYTES;
    int64_t avail = mem_available_bytes();
    double need = (double)est.tasks * (double)per_task + (double)est.bytes;
    if (need > (double)avail) {
        snprintf(err, errlen,
                 "this run needs about %.1f MiB (%" PRId64 " tasks x %" PRId64
                 " bytes on %s%s + %.1f MiB for %s) but %.1f MiB are "
                 "available; lower the sizes",
                 need / 1048576.0, est.tasks, per_task, s->model->name,
                 TSAN_TASK_BYTES ? " under ThreadSanitizer" : "",
                 (double)est.bytes / 1048576.0, s->workload->name,
                 (double)avail / 1048576.0);
        return EXIT_RESOURCE;
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        /* The soft limit is often 1024 while the hard one is far higher:
         * take what is allowed, then check. */
        if (rl.rlim_cur < rl.rlim_max) {
            rl.rlim_cur = rl.rlim_max;
            setrlimit(RLIMIT_NOFILE, &rl);
            getrlimit(RLIMIT_NOFILE, &rl);
        }
        if (est.fds + 64 > (int64_t)rl.rlim_cur) {
            snprintf(err, errlen,
                     "this run needs %" PRId64
                     " file descriptors but the limit is %llu (ulimit -n); "
                     "lower the sizes",
                     est.fds, (unsigned long long)rl.rlim_cur);
            return EXIT_RESOURCE;
        }
    }
    /* Then the kernel's limits on threads (runner/limits.c), with a few
     * more for the runner's own: the child's placement sampler, a
     * sanitizer's background thread. */
    char which[200];
    int64_t left = limits_threads_left(which, sizeof which);
    if (left >= 0 && threads + 8 > left) {
        snprintf(err, errlen,
                 "this run needs %" PRId64 " threads (%" PRId64
                 " tasks on %s) but only %" PRId64
                 " more can be started here (%s); lower the sizes",
                 threads, est.tasks, s->model->name, left, which);
        return EXIT_RESOURCE;
    }
    return 0;
}

/* Whether -o FILE can be written: 0, or EXIT_USAGE with the reason. */
static int check_output(const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return usage_error("run: -o %s is a folder; name a file", path);
    char tmp[4096];
    FILE *f = outfile_open(path, tmp, sizeof tmp);
    if (!f)
        return usage_error("run: cannot write %s: %s", path, strerror(errno));
    fclose(f);
    unlink(tmp);
    return 0;
}

static int check_sizes(const run_opts_t *o)
{
    char err[512] = "";
    int rc = run_check_sizes(&o->spec, err, sizeof err);
    if (rc == EXIT_RESOURCE)
        fprintf(stderr, "concbench: run: %s on %s: out of a resource: %s\n",
                o->spec.workload->name, o->spec.model->name, err);
    else if (rc)
        usage_error("run: %s", err);
    return rc;
}

/* A second -p for one key is refused, whatever the key names (a model
 * or workload parameter, one that does not apply, or seed, which is also
 * --seed): the rule of runner/args.h. */
static int param_given_twice(const char *const *prev, int nprev,
                             const char *kv, arg_seen_t *seen, int seed_slot)
{
    size_t klen = strcspn(kv, "=");
    for (int i = 0; i < nprev; i++)
        if (strncmp(prev[i], kv, klen) == 0 && prev[i][klen] == '=' &&
            kv[klen] == '=')
            return usage_error("run: -p %.*s given twice; give it once",
                               (int)(klen < 48 ? klen : 48), kv);
    if (klen == 4 && strncmp(kv, "seed=", 5) == 0)
        return arg_once_named(seen, "run", seed_slot, "--seed (or -p seed)");
    return 0;
}

static int parse_args(int argc, char **argv, run_opts_t *o)
{
    enum { O_CPUS = 256, O_REPS, O_WARMUP, O_QUICK, O_SEED, O_TIMEOUT, O_FMT };
    static const struct option longopts[] = {
        {"model", required_argument, NULL, 'm'},
        {"workload", required_argument, NULL, 'w'},
        {"param", required_argument, NULL, 'p'},
        {"output", required_argument, NULL, 'o'},
        {"cpus", required_argument, NULL, O_CPUS},
        {"reps", required_argument, NULL, O_REPS},
        {"warmup", required_argument, NULL, O_WARMUP},
        {"quick", no_argument, NULL, O_QUICK},
        {"seed", required_argument, NULL, O_SEED},
        {"timeout", required_argument, NULL, O_TIMEOUT},
        {"format", required_argument, NULL, O_FMT},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    const char *model = NULL, *workload = NULL, *params[256];
    int nparams = 0;
    int64_t v = 0;
    o->reps = 1;
    o->spec.seed = 1;
    o->spec.timeout_s = 600;
    opterr = 0;
    optind = 1;
    int c;
    arg_seen_t seen = {0};
    while ((c = getopt_long(argc, argv, ":m:w:p:o:h", longopts, NULL)) != -1) {
        if (c != 'p' && c != 'h' && c != ':' && c != '?' &&
            arg_once(&seen, "run", c, longopts))
            return EXIT_USAGE;
        switch (c) {
        case 'm':
            model = optarg;
            break;
        case 'w':
            workload = optarg;
            break;
        case 'p':
            if (nparams == 256)
                return usage_error("run: too many -p options");
            if (param_given_twice(params, nparams, optarg, &seen, O_SEED))
                return EXIT_USAGE;
            params[nparams++] = optarg;
            break;
        case 'o':
            o->output = optarg;
            break;
        case O_CPUS:
            o->cpus_arg = optarg;
            break;
        case O_REPS:
            if (parse_int_arg("run", "--reps", optarg, 1, 1000, &v))
                return EXIT_USAGE;
            o->reps = (int)v;
            break;
        case O_WARMUP:
            if (parse_int_arg("run", "--warmup", optarg, 0, 100, &v))
                return EXIT_USAGE;
            o->warmup = (int)v;
            break;
        case O_QUICK:
            o->quick = true;
            break;
        case O_SEED:
            if (parse_int_arg("run", "--seed", optarg, 0, INT64_MAX, &v))
                return EXIT_USAGE;
            o->spec.seed = (uint64_t)v;
            break;
        case O_TIMEOUT:
            if (parse_int_arg("run", "--timeout", optarg, 1, 86400, &v))
                return EXIT_USAGE;
            o->spec.timeout_s = (double)v;
            break;
        case O_FMT:
            if (strcmp(optarg, "table") == 0)
                o->format = FMT_TABLE;
            else if (strcmp(optarg, "json") == 0)
                o->format = FMT_JSON;
            else if (strcmp(optarg, "csv") == 0)
                o->format = FMT_CSV;
            else
                return usage_error("run: --format: '%s' is not one of "
                                   "table, json, csv", arg_clip(optarg));
            break;
        case 'h':
            fputs(run_usage, stdout);
            return -1;
        case ':':
            return usage_error("run: option '%s' needs a value",
                               arg_clip(argv[optind - 1]));
        default:
            return usage_error("run: unknown option '%s' (see concbench run "
                               "--help)", arg_clip(argv[optind - 1]));
        }
    }
    if (optind < argc)
        return usage_error("run: unexpected argument '%s'",
                           arg_clip(argv[optind]));
    if (!model || !workload) {
        fputs(run_usage, stderr);
        return usage_error("run: -m MODEL and -w WORKLOAD are required");
    }
    o->spec.model = peer_model_find(model);
    if (!o->spec.model) {
        usage_error("run: unknown model '%s'", arg_clip(model));
        print_names("models", true);
        fprintf(stderr, "real systems:");
        for (size_t i = 0; i < peer_count(); i++)
            fprintf(stderr, " %s", peer_name(peer_at(i)));
        fputc('\n', stderr);
        return EXIT_USAGE;
    }
    o->spec.workload = cb_workload_find(workload);
    if (!o->spec.workload) {
        usage_error("run: unknown workload '%s'", arg_clip(workload));
        print_names("workloads", false);
        return EXIT_USAGE;
    }
    cb_params_defaults(&o->spec.model_params, o->spec.model->params,
                       o->quick);
    cb_params_defaults(&o->spec.workload_params, o->spec.workload->params,
                       o->quick);
    for (int i = 0; i < nparams; i++)
        if (apply_param(o, params[i]))
            return EXIT_USAGE;

    char err[512];
    if (o->cpus_arg) {
        int n = rt_topo_parse_cpulist(o->cpus_arg, o->spec.cpus,
                                      RT_TOPO_MAX_PUS, err, sizeof err);
        if (n < 0)
            return usage_error("run: --cpus: %s", err);
        o->spec.ncpus = n;
    } else {
        o->spec.ncpus = rt_topo_npus();
        for (int i = 0; i < o->spec.ncpus; i++)
            o->spec.cpus[i] = rt_topo_pu_os_index(i);
    }
    if (o->output && check_output(o->output))
        return EXIT_USAGE;
    return check_sizes(o);
}

/* ---- aggregation: medians over the successful repetitions ---- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
    if (n == 0)
        return NAN;
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

typedef struct agg {
    const rep_result_t *reps;
    int nreps;
} agg_t;

static const rep_result_t *first_ok(const agg_t *a)
{
    for (int i = 0; i < a->nreps; i++)
        if (a->reps[i].outcome == REP_OK)
            return &a->reps[i];
    return NULL;
}

/* Median of a field over the ok repetitions that have the metric. */
static double med_field(const agg_t *a, const char *name, int field,
                        double *lo, double *hi)
{
    double v[1000];
    size_t n = 0;
    for (int i = 0; i < a->nreps; i++) {
        if (a->reps[i].outcome != REP_OK)
            continue;
        const rep_metric_t *m = rep_metric_find(&a->reps[i], name);
        if (!m)
            continue;
        const rep_hist_t *h = &m->hist;
        double x = m->kind != CB_METRIC_HIST ? m->value
                   : field == 0             ? (double)h->count
                   : field == 1             ? (double)h->min
                   : field == 2             ? h->mean
                   : field == 3             ? (double)h->p50
                   : field == 4             ? (double)h->p90
                   : field == 5             ? (double)h->p99
                   : field == 6             ? (double)h->p999
                                            : (double)h->max;
        v[n++] = x;
    }
    double med = median(v, n);
    if (lo)
        *lo = n ? v[0] : NAN;
    if (hi)
        *hi = n ? v[n - 1] : NAN;
    return med;
}

static double med_counter(const agg_t *a, const char *name)
{
    double v[1000];
    size_t n = 0;
    for (int i = 0; i < a->nreps; i++) {
        if (a->reps[i].outcome != REP_OK)
            continue;
        for (size_t k = 0; k < a->reps[i].ncounters; k++)
            if (strcmp(a->reps[i].counters[k].name, name) == 0)
                v[n++] = (double)a->reps[i].counters[k].value;
    }
    return median(v, n);
}

static const char *const hist_fields[] = {"count", "min", "mean", "p50",
                                          "p90",   "p99", "p999", "max"};

static rep_outcome_t overall(const agg_t *a, const char **reason)
{
    /* The worst outcome speaks for the run: a failure or a crash in one
     * repetition is never averaged away. */
    static const int rank[] = {[REP_OK] = 0,      [REP_UNSUPPORTED] = 1,
                               [REP_FAILED] = 4,  [REP_ERROR] = 2,
                               [REP_CRASHED] = 3, [REP_TIMEOUT] = 3,
                               [REP_OOM] = 3,     [REP_SKIPPED] = 1,
                               [REP_RESOURCE] = 3};
    rep_outcome_t worst = REP_OK;
    *reason = NULL;
    for (int i = 0; i < a->nreps; i++)
        if (rank[a->reps[i].outcome] > rank[worst]) {
            worst = a->reps[i].outcome;
            *reason = a->reps[i].reason;
        }
    return worst;
}

void rep_write_params(json_t *j, const char *key, const cb_param_set_t *s)
{
    json_obj_begin(j, key);
    for (size_t i = 0; i < s->n; i++) {
        if (s->defs[i].kind == CB_PARAM_INT)
            json_int(j, s->defs[i].name, s->ival[i]);
        else
            json_str(j, s->defs[i].name, s->sval[i]);
    }
    json_obj_end(j);
}

void rep_write_metric(json_t *j, const rep_metric_t *m, bool buckets)
{
    if (m->kind == CB_METRIC_INT) {
        json_int(j, m->name, (int64_t)m->value);
    } else if (m->kind == CB_METRIC_F64) {
        json_f64(j, m->name, m->value);
    } else if (m->kind == CB_METRIC_HIST) {
        const rep_hist_t *h = &m->hist;
        json_obj_begin(j, m->name);
        json_int(j, "count", h->count);
        json_int(j, "min", h->min);
        json_f64(j, "mean", h->mean);
        json_int(j, "p50", h->p50);
        json_int(j, "p90", h->p90);
        json_int(j, "p99", h->p99);
        json_int(j, "p999", h->p999);
        json_int(j, "max", h->max);
        if (buckets) {
            bool pretty = j->pretty;
            j->pretty = false;
            json_arr_begin(j, "buckets");
            for (size_t b = 0; b < h->nbuckets; b++) {
                json_arr_begin(j, NULL);
                for (int k = 0; k < 3; k++)
                    json_int(j, NULL, h->buckets[b][k]);
                json_arr_end(j);
            }
            json_arr_end(j);
            j->pretty = pretty;
        }
        json_obj_end(j);
    }
}

static void write_placement(json_t *j, const run_spec_t *s,
                            const rep_result_t *r)
{
    json_obj_begin(j, "placement");
    json_arr_begin(j, "cpus");
    for (int i = 0; i < s->ncpus; i++)
        json_int(j, NULL, s->cpus[i]);
    json_arr_end(j);
    if (r->have_placement) {
        json_arr_begin(j, "seen_cpus");
        for (int i = 0; i < r->nseen; i++)
            json_int(j, NULL, r->seen_cpus[i]);
        json_arr_end(j);
        json_int(j, "samples", r->samples);
        json_int(j, "threads_seen", r->threads_seen);
        json_int(j, "migrations_seen", r->migrations);
        json_int(j, "voluntary_ctx_switches", r->vcsw);
        json_int(j, "involuntary_ctx_switches", r->ivcsw);
        json_int(j, "root_start_cpu", r->start_cpu);
        json_int(j, "root_end_cpu", r->end_cpu);
    }
    json_obj_end(j);
}

void rep_write_window_placement(json_t *j, const run_spec_t *s,
                                const rep_result_t *r)
{
    json_obj_begin(j, "window");
    /* Measured by the workload (cb_wl_window_start/stop): the ramp-up
     * from the model's start until every worker was running, and the
     * window the throughput is computed over. */
    json_bool(j, "synchronised", r->window_ns > 0);
    json_int(j, "open_after_ns", r->window_open_ns);
    json_int(j, "length_ns", r->window_ns);
    json_obj_end(j);
    write_placement(j, s, r);
}

static void write_json(FILE *f, const run_opts_t *o, const agg_t *a,
                       const agg_t *all)
{
    json_t j;
    json_init(&j, f, true);
    const char *reason;
    rep_outcome_t out = overall(all, &reason);
    json_obj_begin(&j, NULL);
    json_int(&j, "schema_version", 1);
    json_str(&j, "type", "run");
    json_str(&j, "model", o->spec.model->name);
    json_str(&j, "workload", o->spec.workload->name);
    peer_write_json(&j, o->spec.model);
    json_bool(&j, "quick", o->quick);
    json_int(&j, "seed", (int64_t)o->spec.seed);
    json_int(&j, "reps", o->reps);
    json_int(&j, "warmup", o->warmup);
    rep_write_params(&j, "params", &o->spec.workload_params);
    rep_write_params(&j, "model_params", &o->spec.model_params);
    json_arr_begin(&j, "not_applied");
    for (int i = 0; i < o->nnot_applied; i++)
        json_str(&j, NULL, o->not_applied[i]);
    json_arr_end(&j);
    json_str(&j, "outcome", rep_outcome_name(out));
    json_str(&j, "reason", reason);
    machine_write_json(&j, &o->spec);

    const rep_result_t *ref = first_ok(a);
    json_obj_begin(&j, "metrics");
    for (size_t i = 0; ref && i < ref->nmetrics; i++) {
        const rep_metric_t *m = &ref->metrics[i];
        if (m->kind == CB_METRIC_SERIES)
            continue;
        if (m->kind != CB_METRIC_HIST) {
            double v = med_field(a, m->name, 0, NULL, NULL);
            if (m->kind == CB_METRIC_INT && v == floor(v))
                json_int(&j, m->name, (int64_t)v);
            else
                json_f64(&j, m->name, v);
            continue;
        }
        json_obj_begin(&j, m->name);
        for (int k = 0; k < 8; k++)
            json_f64(&j, hist_fields[k], med_field(a, m->name, k, NULL, NULL));
        json_obj_end(&j);
    }
    json_obj_end(&j);
    json_obj_begin(&j, "counters");
    for (size_t i = 0; ref && i < ref->ncounters; i++)
        json_f64(&j, ref->counters[i].name,
                 med_counter(a, ref->counters[i].name));
    json_obj_end(&j);

    json_arr_begin(&j, "repetitions");
    for (int r = 0; r < all->nreps; r++) {
        const rep_result_t *rep = &all->reps[r];
        json_obj_begin(&j, NULL);
        json_int(&j, "index", rep->index);
        json_bool(&j, "warmup", rep->warmup);
        json_str(&j, "outcome", rep_outcome_name(rep->outcome));
        json_str(&j, "reason", rep->reason[0] ? rep->reason : NULL);
        json_f64(&j, "wall_s", rep->wall_s);
        json_obj_begin(&j, "metrics");
        for (size_t i = 0; i < rep->nmetrics; i++)
            rep_write_metric(&j, &rep->metrics[i], true);
        json_obj_end(&j);
        json_obj_begin(&j, "series");
        for (size_t i = 0; i < rep->nmetrics; i++) {
            const rep_metric_t *m = &rep->metrics[i];
            if (m->kind != CB_METRIC_SERIES)
                continue;
            bool pretty = j.pretty;
            j.pretty = false;
            json_arr_begin(&j, m->name);
            for (size_t p = 0; p < m->npoints; p++) {
                json_arr_begin(&j, NULL);
                json_f64(&j, NULL, m->points[p][0]);
                json_f64(&j, NULL, m->points[p][1]);
                json_arr_end(&j);
            }
            json_arr_end(&j);
            j.pretty = pretty;
        }
        json_obj_end(&j);
        json_obj_begin(&j, "counters");
        for (size_t i = 0; i < rep->ncounters; i++)
            json_int(&j, rep->counters[i].name, rep->counters[i].value);
        json_obj_end(&j);
        rep_write_window_placement(&j, &o->spec, rep);
        json_obj_end(&j);
    }
    json_arr_end(&j);
    json_obj_end(&j);
}

static void csv_row(FILE *f, const run_opts_t *o, const rep_result_t *rep,
                    const char *metric, const char *field, double v)
{
    fprintf(f, "%s,%s,%d,%s,%s%s%s,%.15g\n", o->spec.model->name,
            o->spec.workload->name, rep->index, rep_outcome_name(rep->outcome),
            metric, field ? "." : "", field ? field : "", v);
}

static void write_csv(FILE *f, const run_opts_t *o, const agg_t *a)
{
    fprintf(f, "model,workload,rep,outcome,metric,value\n");
    for (int r = 0; r < a->nreps; r++) {
        const rep_result_t *rep = &a->reps[r];
        if (rep->warmup)
            continue;
        for (size_t i = 0; i < rep->nmetrics; i++) {
            const rep_metric_t *m = &rep->metrics[i];
            const rep_hist_t *h = &m->hist;
            if (m->kind == CB_METRIC_INT || m->kind == CB_METRIC_F64) {
                csv_row(f, o, rep, m->name, NULL, m->value);
            } else if (m->kind == CB_METRIC_HIST) {
                double v[8] = {(double)h->count, (double)h->min, h->mean,
                               (double)h->p50,   (double)h->p90,
                               (double)h->p99,   (double)h->p999,
                               (double)h->max};
                for (int k = 0; k < 8; k++)
                    csv_row(f, o, rep, m->name, hist_fields[k], v[k]);
            }
        }
        for (size_t i = 0; i < rep->ncounters; i++)
            csv_row(f, o, rep, "counter", rep->counters[i].name,
                    (double)rep->counters[i].value);
    }
}

static const char *human(double v, char *buf, size_t len)
{
    if (isnan(v))
        snprintf(buf, len, "-");
    else if (fabs(v) >= 1000 && fabs(v) < 1e15)
        snprintf(buf, len, "%.0f", v);
    else
        snprintf(buf, len, "%.4g", v);
    return buf;
}

static void write_table(FILE *f, const run_opts_t *o, const agg_t *a,
                        const agg_t *all)
{
    const char *reason;
    rep_outcome_t out = overall(all, &reason);
    fprintf(f, "%s on %s%s: %d rep%s", o->spec.workload->name,
            o->spec.model->name, o->quick ? " (quick)" : "", o->reps,
            o->reps == 1 ? "" : "s");
    if (o->warmup)
        fprintf(f, " after %d warm-up", o->warmup);
    fprintf(f, ", %d PU%s, seed %" PRIu64 "\n", o->spec.ncpus,
            o->spec.ncpus == 1 ? "" : "s", o->spec.seed);
    fprintf(f, "params:");
    const cb_param_set_t *sets[2] = {&o->spec.workload_params,
                                     &o->spec.model_params};
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < sets[k]->n; i++) {
            if (sets[k]->defs[i].kind == CB_PARAM_INT)
                fprintf(f, " %s=%" PRId64, sets[k]->defs[i].name,
                        sets[k]->ival[i]);
            else
                fprintf(f, " %s=%s", sets[k]->defs[i].name, sets[k]->sval[i]);
        }
    if (o->nnot_applied) {
        fprintf(f, "\nnot applied (no such parameter on %s or %s):",
                o->spec.model->name, o->spec.workload->name);
        for (int i = 0; i < o->nnot_applied; i++)
            fprintf(f, " %s", o->not_applied[i]);
    }
    fprintf(f, "\noutcome: %s%s%s\n", rep_outcome_name(out),
            reason ? ": " : "", reason ? reason : "");
    const rep_result_t *ref = first_ok(a);
    if (!ref)
        return;
    char b1[32], b2[32], b3[32];
    fprintf(f, "\n%-30s %16s %16s %16s\n", "metric", "median", "min", "max");
    for (size_t i = 0; i < ref->nmetrics; i++) {
        const rep_metric_t *m = &ref->metrics[i];
        double lo, hi, med;
        if (m->kind == CB_METRIC_SERIES) {
            fprintf(f, "%-30s %16s\n", m->name, "(series: json)");
        } else if (m->kind != CB_METRIC_HIST) {
            med = med_field(a, m->name, 0, &lo, &hi);
            fprintf(f, "%-30s %16s %16s %16s\n", m->name,
                    human(med, b1, sizeof b1), human(lo, b2, sizeof b2),
                    human(hi, b3, sizeof b3));
        } else {
            for (int k = 0; k < 8; k++) {
                char label[64];
                snprintf(label, sizeof label, "%s %s", m->name,
                         hist_fields[k]);
                med = med_field(a, m->name, k, &lo, &hi);
                fprintf(f, "%-30s %16s %16s %16s\n", label,
                        human(med, b1, sizeof b1), human(lo, b2, sizeof b2),
                        human(hi, b3, sizeof b3));
            }
        }
    }
    if (ref->ncounters)
        fprintf(f, "\ncounters (%s, median):\n", o->spec.model->name);
    for (size_t i = 0; i < ref->ncounters; i++)
        fprintf(f, "  %-28s %16s\n", ref->counters[i].name,
                human(med_counter(a, ref->counters[i].name), b1, sizeof b1));
}

static void write_result(FILE *out, const run_opts_t *o, const agg_t *a,
                         const agg_t *all)
{
    if (o->format == FMT_JSON)
        write_json(out, o, a, all);
    else if (o->format == FMT_CSV)
        write_csv(out, o, all);
    else
        write_table(out, o, a, all);
}

/* The warning matrix gives for a noisy cell (results_finalize), for the
 * repetitions of this run: the spread of its main figure. */
static void noise_warning(const agg_t *a)
{
    static const char *const main_metric[] = {"throughput_ops_s",
                                              "elapsed_ns"};
    for (int k = 0; k < 2; k++) {
        double v[1000];
        size_t n = 0;
        for (int i = 0; i < a->nreps && n < 1000; i++) {
            const rep_metric_t *m = a->reps[i].outcome == REP_OK
                                        ? rep_metric_find(&a->reps[i],
                                                          main_metric[k])
                                        : NULL;
            if (m)
                v[n++] = m->value;
        }
        if (n == 0)
            continue;
        stats_t st;
        stats_summary(v, n, 1, &st);
        if (n >= 2 && isfinite(st.cv) && st.cv > NOISY_CV)
            fprintf(stderr,
                    "concbench: warning: noisy: %s varies by %.0f%% (CV) "
                    "over %zu repetitions; pin with --cpus, stop other load, "
                    "add --reps, or compare builds with `concbench ab`\n",
                    main_metric[k], st.cv * 100, n);
        return;
    }
}

int cmd_run(int argc, char **argv)
{
    run_opts_t *o = calloc(1, sizeof *o);
    if (!o)
        return EXIT_RUN_ERROR;
    int rc = parse_args(argc, argv, o);
    if (rc != 0) {
        free(o);
        return rc < 0 ? EXIT_OK : rc;
    }
    int total = o->warmup + o->reps;
    rep_result_t *reps = calloc((size_t)total, sizeof *reps);
    if (!reps) {
        free(o);
        return EXIT_RUN_ERROR;
    }
    bool tty = isatty(STDERR_FILENO);
    {
        /* What makes this machine's figures noisy, as matrix says it. */
        char warn[4096] = "";
        machine_noise_warnings(&o->spec, warn, sizeof warn);
        for (char *l = strtok(warn, "\n"); l; l = strtok(NULL, "\n"))
            fprintf(stderr, "concbench: warning: %s\n", l);
    }
    for (int i = 0; i < total; i++) {
        bool warm = i < o->warmup;
        if (tty)
            fprintf(stderr, "\r%s on %s: %s %d/%d ...",
                    o->spec.workload->name, o->spec.model->name,
                    warm ? "warm-up" : "rep", warm ? i + 1 : i - o->warmup + 1,
                    warm ? o->warmup : o->reps);
        child_run(&o->spec, warm ? i : i - o->warmup, warm, &reps[i]);
    }
    if (tty)
        fprintf(stderr, "\r\033[K");
    /* Warm-ups are reported in the JSON but never enter the medians. */
    agg_t a = {.reps = reps + o->warmup, .nreps = o->reps};
    noise_warning(&a);
    agg_t all = {.reps = reps, .nreps = total};

    FILE *out = stdout;
    char tmp[4096];
    bool written = false;
    if (o->output && (out = outfile_open(o->output, tmp, sizeof tmp))) {
        write_result(out, o, &a, &all);
        written = outfile_commit(out, tmp, o->output) == 0;
    }
    if (o->output && !written) {
        /* Checked before the run, lost since: keep the result anyway. */
        int why = errno;
        const char *dir = getenv("TMPDIR");
        char alt[4096];
        snprintf(alt, sizeof alt, "%s/concbench-run-XXXXXX",
                 dir && dir[0] ? dir : "/tmp");
        int fd = mkstemp(alt);
        FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
        if (f) {
            write_result(f, o, &a, &all);
            if (fflush(f) != 0 || ferror(f)) {
                unlink(alt);
                fd = -1;
            }
            fclose(f);
        } else if (fd >= 0) {
            close(fd);
            unlink(alt);
            fd = -1;
        }
        if (fd >= 0) {
            usage_error("run: writing %s failed (%s); the result is in %s",
                        o->output, strerror(why), alt);
        } else {
            usage_error("run: writing %s failed (%s); the result follows "
                        "on stdout",
                        o->output, strerror(why));
            write_result(stdout, o, &a, &all);
        }
        rc = EXIT_RUN_ERROR;
        goto done;
    }
    if (!o->output)
        write_result(stdout, o, &a, &all);
    const char *reason;
    switch (overall(&all, &reason)) {
    case REP_OK:
        rc = EXIT_OK;
        break;
    case REP_FAILED:
        rc = EXIT_INVARIANT;
        break;
    case REP_UNSUPPORTED:
        rc = EXIT_UNSUPPORTED;
        break;
    case REP_RESOURCE:
        rc = EXIT_RESOURCE;
        break;
    default:
        rc = EXIT_RUN_ERROR;
    }
    if (rc != EXIT_OK)
        fprintf(stderr, "concbench: run: %s on %s: %s\n",
                o->spec.workload->name, o->spec.model->name,
                reason ? reason : "failed");
done:
    for (int i = 0; i < total; i++)
        rep_result_free(&reps[i]);
    free(reps);
    free(o);
    return rc;
}
