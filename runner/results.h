/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * The results folder: what `matrix`, `ab` and `hyperfine` write and what
 * `compare`, `plot` and `--resume` read back.
 *
 *   runs.jsonl    one JSON object per line: a "matrix" header, then one
 *                 "run" per repetition (warm-ups included, marked), each
 *                 with "schema_version"; appended with one write(2) per
 *                 line and fsync'd, so an interruption loses at most the
 *                 line being written
 *   machine.json  the machine, build and fingerprint (type "machine")
 *   summary.csv   long form: one row per cell and metric with n, median,
 *                 mean, min, max, MAD, CV and the bootstrap 95% interval of
 *                 the median, then one column per parameter
 *   cells.csv     one row per cell: outcomes counted, the first reason
 *   runs.csv      one row per measured repetition and metric, in run
 *                 order, with the value relative to the cell's median (the
 *                 drift plot)
 *   hist.csv      histogram buckets merged over a cell's repetitions, with
 *                 the cumulative fraction (latency CDFs)
 *   series.csv    time series (queue length, memory over time)
 *
 * Everything but runs.jsonl is derived from it and rewritten atomically
 * (temporary file, fsync, rename) by results_finalize.
 *
 * Invariants:
 *   - a reader accepts only schema_version RESULTS_SCHEMA and the record
 *     types it knows; anything else is an error naming the file and line,
 *     never a partial read;
 *   - every run record is checked against the schema (runner/schema.c):
 *     a field out of type or range, or a repetition recorded twice, is
 *     refused with the line number;
 *   - the derived files are never read without being regenerated from
 *     runs.jsonl first (plot rewrites them), so they cannot be stale;
 *   - a cell is identified by model, workload and every parameter value,
 *     so results with different parameters never meet in one comparison;
 *     in a merge of several machines (runner/shard.c) also by the run's
 *     machine_fingerprint, so runs of two machines never meet in one
 *     statistic.
 */
#ifndef CB_RUNNER_RESULTS_H
#define CB_RUNNER_RESULTS_H

#include "runner/cli.h"
#include "runner/json.h"
#include "runner/stats.h"

#include <stdbool.h>
#include <stddef.h>

#define RESULTS_SCHEMA 1

typedef struct res_run {
    const char *model, *workload; /* point into line */
    const char *label;            /* short name for tables; never NULL */
    char cell[1024];              /* "model workload k=v k=v ..." */
    int rep, order;
    bool warmup;
    const char *outcome, *reason; /* point into line; reason may be NULL */
    jv_t *line;                   /* the parsed record, owned */
    size_t lineno; /* its line in runs.jsonl; 0 for a hyperfine time */
} res_run_t;

typedef struct res_set {
    char dir[4096];
    jv_t *machine; /* machine.json, owned; NULL when absent */
    jv_t *header;  /* the "matrix" record, owned; NULL when absent */
    res_run_t *runs;
    size_t nruns, cap;
    size_t partial_tail; /* bytes of an unterminated last line (resume) */
} res_set_t;

/*
 * Load a results folder (or a hyperfine --export-json file, converted to
 * runs with the metric wall_time_s).  0, or -1 with a message in err.
 * tolerate_tail: an unterminated last line is the one an interruption cut;
 * drop it (for --resume) instead of failing.
 */
int results_load(const char *path, bool tolerate_tail, res_set_t *set,
                 char *err, size_t errlen);
void results_free(res_set_t *set);
/* The runs.jsonl part of results_load, on a buffer (what the fuzz target
 * feeds); path names the input in messages.  set must be zeroed. */
int results_parse_lines(const char *path, char *buf, size_t len,
                        bool tolerate_tail, res_set_t *set, char *err,
                        size_t errlen);
/* The cell a run record belongs to: "model workload k=v ... model.k=v"
 * with keys sorted; 0, or -1 when params are not flat objects. */
int results_cell_id(const jv_t *record, char *out, size_t len);

/* Per cell (in first-seen order) and metric: the values of the measured,
 * successful repetitions and their statistics; outcomes counted. */
typedef struct res_mvals {
    char name[160];
    double *v;
    size_t n, cap;
    stats_t st;
} res_mvals_t;

typedef struct res_cell {
    const res_run_t *first;           /* names model, workload and parameters */
    size_t counts[REP_OUTCOME_COUNT]; /* measured repetitions only */
    const char *reason;               /* the first failure's */
    res_mvals_t *m;
    size_t nm, capm;
} res_cell_t;

typedef struct res_summary {
    res_cell_t *cells;
    size_t ncells, cap;
    res_cell_t *cur; /* internal: the cell being filled */
    bool oom;
} res_summary_t;

/* 0, or -1 when out of memory; free with results_summary_free either way. */
int results_summarise(const res_set_t *set, res_summary_t *sum);
void results_summary_free(res_summary_t *sum);
const res_mvals_t *results_find_metric(const res_cell_t *c, const char *name);

/* Calls fn for every scalar the run reports: metrics (histograms as
 * NAME.p50 and so on) and counters (as counters.NAME). */
void results_foreach_metric(const res_run_t *run,
                            void (*fn)(const char *name, double v, void *arg),
                            void *arg);

/*
 * Write the derived files of a folder from its runs.jsonl; 0 or -1.
 * noisy (may be NULL) gets one line per cell whose main metric
 * (throughput_ops_s, else elapsed_ns) varies with a CV above NOISY_CV.
 */
#define NOISY_CV 0.10
int results_finalize(const char *dir, char *noisy, size_t noisylen, char *err,
                     size_t errlen);

/* Append one record line (NUL-terminated, newline included) to fd with
 * one write(2), then fsync; 0 or -errno. */
int results_append(int fd, const char *line, size_t len);

/* A record built in memory, then appended whole (results_append). */
typedef struct res_line {
    FILE *f;
    char *buf;
    size_t len;
    json_t j;
} res_line_t;

/* Open the record's object; with type, "schema_version" and "type" come
 * first.  NULL when out of memory. */
json_t *res_line_begin(res_line_t *l, const char *type);
/* Close the record and append it to fd (0 or -errno); with fd < 0 the
 * caller takes l->buf and l->len (and frees buf). */
int res_line_end(res_line_t *l, int fd);

/* The schema of a run record (runner/schema.c): 0, or -1 with what is
 * wrong in why (no file or line: the caller adds them). */
int results_check_run(const jv_t *record, char *why, size_t len);
/* Once every run is in: refuse a repetition recorded twice (naming both
 * lines), drop "skipped" records that a later one supersedes, and give
 * unlabelled runs their cell id as label.  0, or -1 with err. */
int results_finish_runs(res_set_t *set, const char *path, char *err,
                        size_t errlen);
/* What the file at path is, when it is not a results file: buf and len
 * its bytes, doc its parse (NULL when it does not parse, perr why). */
void results_what_is(const char *path, const char *buf, size_t len,
                     const jv_t *doc, const char *perr, char *out,
                     size_t outlen);

/* "concbench: "-style message into err; returns -1. */
int results_error(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Write DIR/bmf.json (Bencher Metric Format) or DIR/gab-bigger.json and
 * DIR/gab-smaller.json (github-action-benchmark's custom formats) from the
 * folder's runs; fmt "bmf" or "gab"; out NULL writes the files, else the
 * export goes to out.  0 or -1 with err. */
int export_write(const char *dir, const char *fmt, char *err, size_t errlen);

/* Which way a metric is better, from its name: +1 higher (throughput,
 * fairness), -1 lower (times, latencies, memory), 0 unknown (counts and
 * counters: informational, never judged). */
int metric_direction(const char *name);
/* A metric's unit, from its name: "ns", "s", "ops/s", "bytes", "index"
 * (fairness), "instructions", or "" (a count). */
const char *metric_unit(const char *name);

/* Machine description of this host as one JSON object (machine.json). */
void machine_write_full(json_t *j, const run_spec_t *spec, uint64_t seed,
                        const char *placement);
/* The fingerprint of this machine: what must match for two results to be
 * comparable (CPU model, topology, PUs used, kernel, VM, CPU limit). */
const char *machine_fingerprint(const run_spec_t *spec);
/* Warnings about measurement noise on this host, one per line, appended
 * to buf (VM, governor, shared PUs, CPU quota). */
void machine_noise_warnings(const run_spec_t *spec, char *buf, size_t len);

#endif
