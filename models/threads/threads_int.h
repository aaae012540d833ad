/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/* Private to models/threads/: shared by threads.c, port.c and cell.c. */
#ifndef THREADS_INT_H
#define THREADS_INT_H

#include "models/model.h"

#include <pthread.h>
#include <stdint.h>

/*
 * Per-task counters.  Written only by the task's own thread, folded into
 * the model totals under the model lock when the task exits, so the hot
 * paths never share a counter cache line between threads.
 */
typedef struct threads_stats {
    int64_t sends, recvs, send_blocks, recv_blocks, blocked_ns;
    int64_t selects, sleeps, io_waits, yields;
    int64_t cell_updates, cell_reads, cell_lock_waits;
} threads_stats_t;

/*
 * A select waiter: a task blocked in cb_select registers it on every port
 * it waits on; any change of a port's state fires it.  Lock order: a
 * port's mutex, then a waiter's mutex; never the reverse.
 */
typedef struct threads_waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int fired; /* guarded by mu */
} threads_waiter_t;

struct cb_task {
    pthread_t thread;
    uint64_t id;
    cb_task_fn fn;
    void *arg;
    int detached;
    threads_stats_t stats; /* owner thread only */
    threads_waiter_t waiter;
    uint64_t rng; /* owner thread only: select's random start */
};

/* The calling thread's task, or NULL on a thread the model did not start.
 * A thread never migrates in this model, so a thread-local is exact. */
cb_task_t *threads_current(void);
/* Counters of the calling task, or of a scratch block for foreign threads. */
threads_stats_t *threads_stats(void);

void threads_waiter_init(threads_waiter_t *w);
void threads_waiter_destroy(threads_waiter_t *w);
/* Absolute CLOCK_MONOTONIC deadline for timeout_ns (CB_FOREVER: none). */
struct timespec threads_deadline(int64_t timeout_ns);
/* pthread_cond_timedwait or wait; returns ETIMEDOUT or 0. */
int threads_cond_wait(pthread_cond_t *cv, pthread_mutex_t *mu,
                      int64_t timeout_ns, const struct timespec *deadline);
void threads_cond_init(pthread_cond_t *cv);

/* Folded into the model's totals when a port is freed. */
void threads_port_totals(int64_t drops, int64_t max_len);

/* port.c */
int threads_port_open(const cb_port_opts_t *opts, cb_port_t **out);
int threads_port_close(cb_port_t *p);
void threads_port_free(cb_port_t *p);
size_t threads_port_length(cb_port_t *p);
int threads_send(cb_port_t *p, cb_term_t msg);
int threads_recv(cb_port_t *p, cb_term_t *out, int64_t timeout_ns);
int threads_select(cb_select_op_t *ops, size_t n, unsigned flags,
                   int64_t timeout_ns);

/* cell.c */
int threads_cell_new(int64_t initial, cb_cell_t **out);
void threads_cell_free(cb_cell_t *c);
int threads_cells_update(cb_cell_t **cells, size_t n, cb_cells_fn fn,
                         void *arg);
int threads_cells_read(cb_cell_t **cells, size_t n, int64_t *out);
int threads_cells_update_reading(cb_cell_t **cells, size_t n, size_t nwrite,
                                 cb_cells_fn fn, void *arg);

#endif
