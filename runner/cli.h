/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * What the runner's files share: subcommands, exit codes, the result of
 * one repetition, and the argument helpers.
 *
 * Exit codes (documented in `concbench --help` and the README):
 *   0  success
 *   1  a run crashed, timed out or could not start
 *   2  usage: unknown name, malformed or out-of-range argument
 *   3  a workload's invariant broke (the result is not a result)
 *   4  the model does not support what the workload needs
 *   5  out of a resource (threads, process ids, file descriptors, memory):
 *      found from the estimate before the run, or met during it
 *   6  compare/ab --fail-on-regression: nothing was comparable, so nothing
 *      was judged
 */
#ifndef CB_RUNNER_CLI_H
#define CB_RUNNER_CLI_H

#include "models/model.h"
#include "workloads/workload.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

enum {
    EXIT_OK = 0,
    EXIT_RUN_ERROR = 1,
    EXIT_USAGE = 2,
    EXIT_INVARIANT = 3,
    EXIT_UNSUPPORTED = 4,
    EXIT_RESOURCE = 5,
    /* compare/ab --fail-on-regression judged nothing: a gate that checked
     * nothing must not pass */
    EXIT_NOTHING_JUDGED = 6,
};

int cmd_list(int argc, char **argv);
int cmd_describe(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_matrix(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_plot(int argc, char **argv);
int cmd_ab(int argc, char **argv);
int cmd_hyperfine(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_summary(int argc, char **argv);
int cmd_talk(int argc, char **argv);
int cmd_agree(int argc, char **argv);
int cmd_talk_report(int argc, char **argv);
int cmd_baseline(int argc, char **argv);
/* The folder of stored baseline NAME (runner/cmd_baseline.c); 0, or -1
 * after a message when there is none. */
int baseline_resolve(const char *name, char *out, size_t len);
int cmd_lab(int argc, char **argv);
int cmd_merge(int argc, char **argv);

/* "concbench: " + message on stderr; returns EXIT_USAGE for convenience. */
__attribute__((format(printf, 1, 2))) int usage_error(const char *fmt, ...);
/* Parse an integer option (with the k/M/G/Ki/Mi/Gi suffixes) in lo..hi;
 * 0, or EXIT_USAGE after "concbench: CMD: WHAT: 'S' is not ..." */
int parse_int_arg(const char *cmd, const char *what, const char *s,
                  int64_t lo, int64_t hi, int64_t *out);
/* The folder of the gnuplot scripts holding probe_file: $CONCBENCH_PLOTS,
 * the source tree's plots/, or <prefix>/share/concbench/plots beside an
 * installed binary (runner/cmd_plot.c). */
const char *plot_scripts_dir(const char *probe_file);
/* The colour of a model or real system in every figure ('#rrggbb'). */
const char *plot_system_colour(const char *sys);
/* Whether argv[i] is -h or --help. */
bool is_help(const char *arg);

/* ---- one repetition's result, as the parent collects it ---- */

typedef enum rep_outcome {
    REP_OK,
    REP_FAILED,      /* invariant broken */
    REP_UNSUPPORTED, /* the model lacks a capability */
    REP_ERROR,       /* the model or the workload could not run */
    REP_CRASHED,     /* killed by a signal */
    REP_TIMEOUT,
    REP_OOM,         /* resident memory went over the cap: killed */
    REP_SKIPPED,     /* not run: the matrix's time budget ran out */
    REP_RESOURCE,    /* out of threads, pids, fds or memory (or would be) */
    REP_MISSING,     /* planned, in a shard whose folder merge lacked */
    REP_OUTCOME_COUNT
} rep_outcome_t;

const char *rep_outcome_name(rep_outcome_t o);
/* The outcome a name stands for; REP_ERROR for an unknown name. */
rep_outcome_t rep_outcome_parse(const char *s);

typedef struct rep_hist {
    int64_t count, min, max;
    double mean;
    int64_t p50, p90, p99, p999;
    size_t nbuckets, cap;
    int64_t (*buckets)[3]; /* lo, hi, count */
} rep_hist_t;

typedef struct rep_metric {
    char name[48];
    cb_metric_kind_t kind;
    double value; /* INT and F64 */
    rep_hist_t hist;
    size_t npoints, cap;
    double (*points)[2]; /* t_ns, value */
} rep_metric_t;

#define REP_MAX_METRICS 64

typedef struct rep_result {
    int index;
    bool warmup;
    rep_outcome_t outcome;
    char reason[512];
    double wall_s;
    rep_metric_t metrics[REP_MAX_METRICS];
    size_t nmetrics;
    cb_counter_t counters[CB_COUNTERS_MAX];
    char counter_names[CB_COUNTERS_MAX][48];
    size_t ncounters;
    /* The last words the child wrote on stderr (when captured). */
    char stderr_tail[1024];
    /* Placement obtained: PUs the child's threads were seen on (sampled
     * every PLACEMENT_SAMPLE_MS), migrations seen between samples, and the
     * context switches getrusage counted over the whole child. */
    int seen_cpus[64];
    int nseen;
    int64_t samples, migrations, threads_seen;
    int64_t vcsw, ivcsw;
    int start_cpu, end_cpu; /* sched_getcpu() of the root, -1 unknown */
    /* The measurement window, from the model's start: when it opened (the
     * ramp-up every worker took to be running) and how long it lasted. */
    int64_t window_open_ns, window_ns;
    bool have_placement;
    bool interrupted; /* abandoned because spec->stop was set */
} rep_result_t;

/* What a child process runs. */
typedef struct run_spec {
    const cb_model_t *model;
    const cb_workload_t *workload;
    cb_param_set_t model_params;
    cb_param_set_t workload_params;
    int cpus[4096];
    int ncpus;
    uint64_t seed;
    double timeout_s;
    int64_t mem_cap_bytes;  /* kill the child above this RSS; 0: no cap */
    bool capture_stderr;    /* keep the child's stderr tail in the result */
    bool own_group;         /* child in its own process group (Ctrl-C) */
    volatile int *stop;     /* set by a signal handler: abandon the child */
} run_spec_t;

/* Period of the child's placement sampler: 20 ms reads every thread's
 * last CPU from /proc at most 50 times a second, under 0.1% of a core
 * for a hundred threads, while catching migrations that last longer than
 * a scheduler tick or two. */
#define PLACEMENT_SAMPLE_MS 20

/* Run one repetition in a child process; fills *out.  Never fails: a
 * crash, a timeout or a bad exit becomes out->outcome with a reason. */
void child_run(const run_spec_t *spec, int index, bool warmup,
               rep_result_t *out);
/* The same repetition as `concbench run` under valgrind's callgrind on
 * the first PU of spec->cpus: the metric "instructions" is the count of
 * the whole process (start-up included), deterministic where wall time
 * is not.  Same outcomes as child_run. */
void child_run_callgrind(const run_spec_t *spec, int index, bool warmup,
                         rep_result_t *out);
void rep_result_free(rep_result_t *r);

/* Start argv[0] (searched in PATH) with stdout on /dev/null when quiet,
 * stderr on errfd when >= 0, in its own process group when own_group;
 * exit status 127 when it cannot be run.  The pid, or -1. */
pid_t spawn(char *const argv[], int errfd, bool quiet, bool own_group);
/* Wait for it: its wait status, or -1. */
int spawn_wait(pid_t pid);
const rep_metric_t *rep_metric_find(const rep_result_t *r, const char *name);

/* Refuse a run that cannot fit this machine (memory, file descriptors,
 * threads): EXIT_RESOURCE with the arithmetic in err, EXIT_USAGE for
 * parameters that make no sense together, or 0. */
int run_check_sizes(const run_spec_t *s, char *err, size_t errlen);
/* Threads this process may still start (runner/limits.c), and in which
 * the binding limit named; -1 when no limit could be read. */
int64_t limits_threads_left(char *which, size_t len);
/* Memory the kernel says is available now, in bytes. */
int64_t mem_available_bytes(void);

/* ---- machine metadata ---- */
struct json;
/* JSON writers shared by run and matrix: a parameter set as an object,
 * and one metric (histograms with their buckets when asked). */
void rep_write_params(struct json *j, const char *key,
                      const cb_param_set_t *s);
void rep_write_metric(struct json *j, const rep_metric_t *m, bool buckets);
/* A repetition's measurement window and the placement it obtained. */
void rep_write_window_placement(struct json *j, const run_spec_t *s,
                                const rep_result_t *r);
void machine_write_json(struct json *j, const run_spec_t *spec);
const char *machine_cpu_model(void);

/* ---- atomic output files ---- */
/* Open a temporary file beside path; commit renames it into place. */
FILE *outfile_open(const char *path, char *tmp, size_t tmplen);
int outfile_commit(FILE *f, const char *tmp, const char *path);
/* mkdir -p: DIR and every missing folder above it; 0 or -errno. */
int mkdir_p(const char *dir);

#endif
