/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * The workload descriptor and the run context workloads report into.
 *
 * A workload is one file, workloads/<name>.c, defining
 * `const cb_workload_t cb_workload_<name>` (the file name with '_'; the
 * CLI name uses '-').  It is written against models/model.h only and never
 * names a model.  Its run function is the root task of the run: it spawns
 * what it needs, synchronises a measurement window, checks its own
 * invariant, and reports metrics into the context.
 *
 * The measurement window: a workload calls cb_wl_window_start once every
 * task it measures is running and waiting for the go signal, and
 * cb_wl_window_stop before any of them ramps down, so spawn and teardown
 * costs never leak into throughput (JMH's synchronised iterations).
 *
 * Outcomes: a run is "ok" unless the workload calls cb_wl_fail (its
 * invariant broke: the runner exits 3 and prints the reason instead of a
 * fast number) or cb_wl_unsupported (the model lacks a capability the
 * workload needs: reported as such, never as a result).  Running out of
 * a resource (threads, process ids, file descriptors, memory) is an
 * outcome of its own, neither of those (cb_wl_error; the runner exits 5).
 */
#ifndef CB_WORKLOAD_H
#define CB_WORKLOAD_H

#include "models/model.h"
#include "runtime/hist.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cb_wl_ctx cb_wl_ctx_t;

/* What a run will need, estimated from the parameters alone. */
typedef struct cb_wl_estimate {
    int64_t tasks; /* tasks alive at once */
    int64_t bytes; /* memory besides the tasks themselves */
    int64_t fds;   /* file descriptors */
} cb_wl_estimate_t;

/*
 * What one metric is to a regression gate (runner/cmd_compare.c): one
 * verdict per measurement.  ping-pong's elapsed_ns, round_trip_ns and
 * throughput_ops_s are one stopwatch reading in three units; judging each
 * would report one slowdown three times and weigh it thrice in the
 * geometric mean.  A derived metric names the metric it is computed from
 * in the same repetition: it is shown, never judged.  Metrics a workload's
 * table does not name follow the runner's default: throughput_ops_s is
 * judged and elapsed_ns derives from it (ops / window; a workload that
 * runs for a fixed time has a window that measures nothing).  A
 * diagnostic is a measurement of its own that moves with something other
 * than the code under test (ping-pong's CPU time is mostly an idle worker
 * spinning before it parks): shown, never judged, with the reason; by
 * default window_cpu_ns, the runner's CPU time of the window, is one for
 * every workload, for the same reason.
 */
typedef struct cb_wl_metric_role {
    const char *name;         /* as reported; a histogram by its name */
    const char *derived_from; /* NULL: judged; else what it derives from */
    const char *diagnostic;   /* non-NULL: shown, never judged: why */
} cb_wl_metric_role_t;

typedef struct cb_workload {
    const char *name;
    const char *summary;
    const char *description; /* what it does and what each metric means */
    const cb_param_def_t *params;
    /* Fill est; return -EINVAL with err for combinations that make no
     * sense.  Called before anything is allocated. */
    int (*estimate)(const cb_param_set_t *params, cb_wl_estimate_t *est,
                    char *err, size_t errlen);
    void (*run)(cb_wl_ctx_t *ctx);
    /* Why instruction counts (matrix --metric instructions, under
     * callgrind, which runs one thread at a time) say nothing about this
     * workload, e.g. its point is contention or fairness between threads
     * running in parallel; NULL when counting is meaningful. */
    const char *no_instruction_count;
    /* Primary and derived metrics, ended by {NULL}; NULL: the default
     * (see cb_wl_metric_role_t). */
    const cb_wl_metric_role_t *metric_roles;
} cb_workload_t;

/* ---- registry ---- */
size_t cb_workload_count(void);
const cb_workload_t *cb_workload_at(size_t i);
const cb_workload_t *cb_workload_find(const char *name);
/* The metric a reported metric (histogram fields as NAME.p99) derives
 * from in workload w (NULL: unknown workload, default roles), or NULL
 * when it is a measurement of its own. */
const char *cb_wl_metric_derived_from(const cb_workload_t *w,
                                      const char *metric);
/* Why a reported metric of workload w is a diagnostic, never judged, or
 * NULL when it is not one. */
const char *cb_wl_metric_diagnostic(const cb_workload_t *w,
                                    const char *metric);

/* ---- what a workload calls ---- */
int64_t cb_wl_int(const cb_wl_ctx_t *ctx, const char *name);
const char *cb_wl_str(const cb_wl_ctx_t *ctx, const char *name);
uint64_t cb_wl_seed(const cb_wl_ctx_t *ctx);

void cb_wl_window_start(cb_wl_ctx_t *ctx);
void cb_wl_window_stop(cb_wl_ctx_t *ctx);
/* Operations done inside the window; throughput is ops / window. */
void cb_wl_ops(cb_wl_ctx_t *ctx, int64_t ops);
void cb_wl_metric_int(cb_wl_ctx_t *ctx, const char *name, int64_t v);
void cb_wl_metric_f64(cb_wl_ctx_t *ctx, const char *name, double v);
/* Takes a copy of h. */
void cb_wl_metric_hist(cb_wl_ctx_t *ctx, const char *name,
                       const rt_hist_t *h);
/* Append one (time since window start, value) point to a time series. */
void cb_wl_series(cb_wl_ctx_t *ctx, const char *name, int64_t t_ns,
                  double v);
__attribute__((format(printf, 2, 3))) void cb_wl_fail(cb_wl_ctx_t *ctx,
                                                      const char *fmt, ...);
void cb_wl_unsupported(cb_wl_ctx_t *ctx, const char *what, int err);
/* What failed and the model's error, judged by the error: -ENOTSUP is
 * unsupported; -EAGAIN (no thread could be started), -ENOMEM, -EMFILE and
 * -ENFILE (and -ENOLCK, locks a build can hold) are out of a resource; anything else breaks the run's
 * invariant.  cb_wl_unsupported sends the resource errors to their
 * outcome too. */
__attribute__((format(printf, 3, 4))) void
cb_wl_error(cb_wl_ctx_t *ctx, int err, const char *fmt, ...);
bool cb_wl_failed(const cb_wl_ctx_t *ctx);

/* ---- helpers shared by workloads ---- */
/* The port policies by name, for a workload's enum parameter. */
#define CB_WL_PORT_POLICIES                                                    \
    "default|unbounded|fixed|sliding|dropping|rendezvous"
/* The policy named (one of CB_WL_PORT_POLICIES); CB_PORT_DEFAULT if none. */
cb_port_policy_t cb_wl_port_policy(const char *name);
/* Open a port that up to `messages` reports from many tasks (ready, done,
 * replies) can reach at once without one sender having to wait: a fixed
 * buffer of that size, or the model's default port where it has no fixed
 * ones (actor's mailboxes are unbounded).  Without it, a model that bounds
 * its parked senders (core.async's 1024 pending puts) refuses the excess
 * sends and the coordinator waits for ever.  0 or -errno. */
int cb_wl_gather_port_open(int64_t messages, cb_port_t **out);
/* Resident bytes of the process now (for memory per task). */
int64_t cb_wl_rss_bytes(void);
/* Jain's fairness index of x[0..n): 1 = perfectly equal shares. */
double cb_wl_jain(const double *x, size_t n);
/* splitmix64: seeds per-task generators from one master seed. */
uint64_t cb_wl_mix(uint64_t x);
/* Burn about ns of CPU with reduction points every ~1 us. */
void cb_wl_spin_ns(int64_t ns);
/* A connected, non-blocking pair of stream fds: transport "tcp" (loopback
 * 127.0.0.1) or "unix" (socketpair). 0 or -errno. */
int cb_wl_fd_pair(const char *transport, int fds[2]);
/* Write/read exactly len bytes on a non-blocking fd, parking in
 * cb_io_wait whenever the kernel says EAGAIN.  0 or -errno. */
int cb_wl_write_all(int fd, const void *buf, size_t len);
int cb_wl_read_all(int fd, void *buf, size_t len);

/* ---- what the runner calls ---- */
typedef enum cb_metric_kind {
    CB_METRIC_INT = 1,
    CB_METRIC_F64,
    CB_METRIC_HIST,
    CB_METRIC_SERIES,
} cb_metric_kind_t;

typedef struct cb_metric {
    char name[48];
    cb_metric_kind_t kind;
    int64_t i;
    double f;
    rt_hist_t *hist;
    size_t npoints, cap;
    int64_t *t;
    double *v;
} cb_metric_t;

typedef enum cb_outcome {
    CB_OUTCOME_OK = 0,
    CB_OUTCOME_FAILED,      /* invariant broken */
    CB_OUTCOME_UNSUPPORTED, /* model lacks a needed capability */
    CB_OUTCOME_RESOURCE,    /* out of threads, pids, fds or memory */
} cb_outcome_t;

cb_wl_ctx_t *cb_wl_ctx_new(const cb_param_set_t *params, uint64_t seed);
void cb_wl_ctx_free(cb_wl_ctx_t *ctx);
/* Stretch every measurement window by fraction (0.2: 20% slower) with a
 * busy wait before it closes: the real slowdown the regression gate's
 * tests need (CONCBENCH_INJECT_FAULT=slowPCT, runner/child.c). */
void cb_wl_ctx_slow_window(cb_wl_ctx_t *ctx, double fraction);
cb_outcome_t cb_wl_outcome(const cb_wl_ctx_t *ctx, const char **reason);
/* Window length (0 if never opened) and ops reported. */
int64_t cb_wl_elapsed_ns(const cb_wl_ctx_t *ctx);
/* CPU time the whole process spent inside the window (every thread,
 * user and system), -1 if never opened.  On a shared machine it moves
 * far less than the window's wall time when neighbours take the CPUs,
 * which makes it the regression gate's steadiest timing. */
int64_t cb_wl_window_cpu_ns(const cb_wl_ctx_t *ctx);
/* CLOCK_MONOTONIC time the window opened (rt_now_ns), 0 if never. */
int64_t cb_wl_window_start_ns(const cb_wl_ctx_t *ctx);
size_t cb_wl_metric_count(const cb_wl_ctx_t *ctx);
const cb_metric_t *cb_wl_metric_at(const cb_wl_ctx_t *ctx, size_t i);

#endif
