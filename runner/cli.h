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
 */
#ifndef CB_RUNNER_CLI_H
#define CB_RUNNER_CLI_H

#include "models/model.h"
#include "workloads/workload.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum {
    EXIT_OK = 0,
    EXIT_RUN_ERROR = 1,
    EXIT_USAGE = 2,
    EXIT_INVARIANT = 3,
    EXIT_UNSUPPORTED = 4,
};

int cmd_list(int argc, char **argv);
int cmd_describe(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_bench(int argc, char **argv);

/* "concbench: " + message on stderr; returns EXIT_USAGE for convenience. */
__attribute__((format(printf, 1, 2))) int usage_error(const char *fmt, ...);
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
} rep_outcome_t;

const char *rep_outcome_name(rep_outcome_t o);

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
} run_spec_t;

/* Run one repetition in a child process; fills *out.  Never fails: a
 * crash, a timeout or a bad exit becomes out->outcome with a reason. */
void child_run(const run_spec_t *spec, int index, bool warmup,
               rep_result_t *out);
void rep_result_free(rep_result_t *r);
const rep_metric_t *rep_metric_find(const rep_result_t *r, const char *name);

/* ---- machine metadata ---- */
struct json;
void machine_write_json(struct json *j, const run_spec_t *spec);
const char *machine_cpu_model(void);

/* ---- atomic output files ---- */
/* Open a temporary file beside path; commit renames it into place. */
FILE *outfile_open(const char *path, char *tmp, size_t tmplen);
int outfile_commit(FILE *f, const char *tmp, const char *path);

#endif
