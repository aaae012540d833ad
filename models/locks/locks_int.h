/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/* Private to models/locks/: shared by locks.c, port.c and cell.c. */
#ifndef LOCKS_INT_H
#define LOCKS_INT_H

#include "models/model.h"
#include "runtime/executor.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

/*
 * Counters of one member thread of the executor (its thread-data block).
 * Written only by that thread, so the hot paths never share a counter
 * cache line; read by locks_counters at any time, even while a task is
 * stuck in a deadlock, hence relaxed atomics.
 */
typedef struct locks_stats {
    _Atomic int64_t sends, recvs, send_blocks, recv_blocks, selects;
    _Atomic int64_t sleeps, io_waits, yields;
    _Atomic int64_t cell_updates, cell_reads;
    /* Every lock the model takes: cell locks and port locks. */
    _Atomic int64_t acquisitions, contended, wait_ns;
} locks_stats_t;

/* Add to a counter of the calling thread: one writer, so a relaxed load
 * and store (plain moves) instead of a locked read-modify-write. */
static inline void locks_count(_Atomic int64_t *c, int64_t d)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + d,
                          memory_order_relaxed);
}

/* The calling task's counters (a scratch block outside the executor). */
locks_stats_t *locks_stats(void);

typedef enum locks_kind {
    LOCKS_MUTEX, /* pthread mutex: futex, sleeps when contended */
    LOCKS_SPIN,  /* test-and-test-and-set with bounded backoff */
    LOCKS_RWLOCK, /* pthread rwlock: reads share, updates exclude */
    LOCKS_NONE    /* no lock at all: the race, on purpose (cell.c) */
} locks_kind_t;

/* Constant between start and stop. */
typedef struct locks_config {
    locks_kind_t cell_lock;
    int naive_order;          /* take cell locks in request order */
    int64_t default_capacity; /* 0: DEFAULT ports are unbounded */
} locks_config_t;

extern locks_config_t locks_config;

/*
 * A selector: a task blocked in cb_select registers it on every port it
 * waits on; any change of such a port fires it.  Lock order: a port's
 * mutex, then a selector's mutex.
 */
typedef struct locks_selector {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int fired; /* guarded by mu */
} locks_selector_t;

/* Absolute CLOCK_MONOTONIC deadline; wait on cv until it or forever. */
void locks_cond_init(pthread_cond_t *cv);
int locks_cond_wait(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t deadline);
/* Lock a port's mutex, counting contention. */
void locks_mutex_lock(pthread_mutex_t *mu, locks_stats_t *st);

void locks_port_totals(int64_t drops, int64_t max_len);

/* port.c */
int locks_port_open(const cb_port_opts_t *opts, cb_port_t **out);
int locks_port_close(cb_port_t *p);
void locks_port_free(cb_port_t *p);
size_t locks_port_length(cb_port_t *p);
int locks_send(cb_port_t *p, cb_term_t msg);
int locks_recv(cb_port_t *p, cb_term_t *out, int64_t timeout_ns);
int locks_select(cb_select_op_t *ops, size_t n, unsigned flags,
                 int64_t timeout_ns);

/* cell.c */
int locks_cell_new(int64_t initial, cb_cell_t **out);
void locks_cell_free(cb_cell_t *c);
int locks_cells_update(cb_cell_t **cells, size_t n, cb_cells_fn fn, void *arg);
int locks_cells_update_reading(cb_cell_t **cells, size_t n, size_t nwrite,
                               cb_cells_fn fn, void *arg);
int locks_cells_read(cb_cell_t **cells, size_t n, int64_t *out);

#endif
