/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * The `locks` model: the JVM's shared heap with `synchronized` and
 * java.util.concurrent.
 *
 * Tasks are submitted to an executor, a pool of OS threads (default one
 * per PU of --cpus, each pinned to its PU), and run to completion on the
 * thread that took them.  Everything a task shares lives in one heap:
 * messages are passed by pointer, never copied, and shared values are
 * guarded by locks.  Ports are blocking queues (models/locks/port.c),
 * cells are values behind one lock each (models/locks/cell.c).  A task
 * that waits — on a queue, a join, a sleep, an fd — blocks its OS thread
 * in the kernel and keeps it, as a JVM platform thread does; the pool
 * does not get the thread back until the task runs on.
 *
 * Two pools, so both behaviours can be measured: `-p compensate=off` is a
 * fixed pool (Executors.newFixedThreadPool): once every thread holds a
 * blocked task, queued tasks wait, and a program whose progress needs
 * them starves — the classic thread-starvation deadlock, kept on
 * purpose.  `compensate=on` (default) starts a spare thread while tasks
 * block, as ForkJoinPool's managed blocking does, up to `max_threads`;
 * the default cap is high (ForkJoinPool's common pool stops at
 * parallelism + 256 spares) so that workloads that park thousands of
 * tasks at once, as io-fanout does, still run.
 *
 * The root task runs on the calling thread, beside the pool, as a JVM's
 * main thread does.
 *
 * Invariants:
 *   - a task runs on one thread from start to end, so per-thread counters
 *     and the current task are exact in thread-locals;
 *   - no lock of the model is held while a task runs user code, except
 *     the cell locks around a cb_cells_fn (which must not block);
 *   - lock nesting: cell locks in address order (or request order with
 *     ordering=naive); a port's mutex, then a selector's mutex; the
 *     model's totals lock is a leaf.
 *
 * Rejected: green threads here (that is what `csp` and `actor` are; this
 * model shows what the kernel-thread JVM costs), and copying messages (a
 * shared heap is the point: the receiver sees the sender's very object).
 */
#include "models/locks/locks_int.h"
#include "models/pool.h"

#include "runtime/clock.h"
#include "runtime/common.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

static const cb_param_def_t locks_params[] = {
    {.name = "lock",
     .kind = CB_PARAM_ENUM,
     .help = "the lock guarding each cell: pthread mutex, spinlock with "
             "backoff, reader-writer lock, or none (unsynchronized field "
             "access: the race that claim \"locks prevent races\" is "
             "about; bank then loses units and fails its invariant)",
     .choices = "mutex|spin|rwlock|none",
     .enum_def = "mutex"},
    {.name = "ordering",
     .kind = CB_PARAM_ENUM,
     .help = "cell locks taken in global (address) order, or naively in "
             "request order (deadlocks; for the watchdog)",
     .choices = "global|naive",
     .enum_def = "global"},
    {.name = "capacity",
     .kind = CB_PARAM_INT,
     .unit = "messages",
     .help = "capacity of a default port; 0: unbounded "
             "(LinkedBlockingQueue)",
     .def = 0,
     .quick = 0,
     .min = 0,
     .max = (int64_t)1 << 32},
    CB_POOL_PARAMS,
    {0},
};

locks_config_t locks_config;

/* Cumulative counters the model keeps besides the per-thread ones. */
static struct {
    pthread_mutex_t lock; /* guards the two totals; a leaf */
    int64_t drops, max_queue_len;
} model = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* Counters of threads outside the executor. */
static _Thread_local locks_stats_t foreign_stats;

locks_stats_t *locks_stats(void)
{
    locks_stats_t *s = rt_exec_thread_data();
    return s ? s : &foreign_stats;
}

void locks_cond_init(pthread_cond_t *cv)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(cv, &a);
    pthread_condattr_destroy(&a);
}

int locks_cond_wait(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t deadline)
{
    if (deadline < 0)
        return pthread_cond_wait(cv, mu);
    struct timespec at = rt_ns_to_timespec(deadline);
    return pthread_cond_timedwait(cv, mu, &at);
}

void locks_mutex_lock(pthread_mutex_t *mu, locks_stats_t *st)
{
    locks_count(&st->acquisitions, 1);
    if (RT_LIKELY(pthread_mutex_trylock(mu) == 0))
        return;
    locks_count(&st->contended, 1);
    int64_t t0 = rt_now_ns();
    pthread_mutex_lock(mu);
    locks_count(&st->wait_ns, rt_now_ns() - t0);
}

void locks_port_totals(int64_t drops, int64_t max_len)
{
    pthread_mutex_lock(&model.lock);
    model.drops += drops;
    if (max_len > model.max_queue_len)
        model.max_queue_len = max_len;
    pthread_mutex_unlock(&model.lock);
}

/* ---- lifecycle ---- */

static int locks_start(const cb_param_set_t *params, const cb_model_env_t *env,
                       char *err, size_t errlen)
{
    const char *lk = cb_params_str(params, "lock");
    locks_config.cell_lock = strcmp(lk, "spin") == 0     ? LOCKS_SPIN
                             : strcmp(lk, "rwlock") == 0 ? LOCKS_RWLOCK
                             : strcmp(lk, "none") == 0   ? LOCKS_NONE
                                                         : LOCKS_MUTEX;
    locks_config.naive_order =
        strcmp(cb_params_str(params, "ordering"), "naive") == 0;
    locks_config.default_capacity = cb_params_int(params, "capacity");
    model.drops = model.max_queue_len = 0;
    return cb_pool_start(params, env, sizeof(locks_stats_t), err, errlen);
}

#define LOCKS_STATS(X)                                                         \
    X(sends)                                                                   \
    X(recvs)                                                                   \
    X(send_blocks)                                                             \
    X(recv_blocks)                                                             \
    X(selects)                                                                 \
    X(sleeps)                                                                  \
    X(io_waits)                                                                \
    X(yields)                                                                  \
    X(cell_updates)                                                            \
    X(cell_reads)                                                              \
    X(acquisitions)                                                            \
    X(contended)                                                               \
    X(wait_ns)

static void add_stats(void *data, void *ctx)
{
    const locks_stats_t *s = data;
    locks_stats_t *sum = ctx;
#define X(f) sum->f += atomic_load_explicit(&s->f, memory_order_relaxed);
    LOCKS_STATS(X)
#undef X
}

static size_t locks_counters(cb_counter_t *out, size_t max)
{
    rt_exec_t *e = cb_pool_exec();
    if (!e)
        return 0;
    locks_stats_t sum = {0};
    rt_exec_foreach_thread_data(e, add_stats, &sum);
    size_t n = cb_pool_counters(out, max);
    pthread_mutex_lock(&model.lock);
    cb_counter_t all[] = {
#define X(f) {#f, sum.f},
        LOCKS_STATS(X)
#undef X
            {"drops", model.drops},
        {"max_queue_len", model.max_queue_len},
    };
    pthread_mutex_unlock(&model.lock);
    for (size_t i = 0; n < max && i < sizeof all / sizeof all[0]; i++)
        out[n++] = all[i];
    return n;
}

static void locks_yield(void)
{
    locks_count(&locks_stats()->yields, 1);
    sched_yield();
}

static int locks_sleep(int64_t ns)
{
    locks_count(&locks_stats()->sleeps, 1);
    return rt_exec_sleep(ns);
}

static int locks_io_wait(int fd, uint32_t events, int64_t timeout_ns)
{
    locks_count(&locks_stats()->io_waits, 1);
    return rt_exec_io_wait(fd, events, timeout_ns);
}

static const cb_unsupported_t locks_unsupported[] = {
    {CB_CAP_LINKS, CB_POOL_NO_LINKS},
    {CB_CAP_MONITORS, CB_POOL_NO_MONITORS},
    {CB_CAP_RECV_MATCH,
     "a java.util.concurrent blocking queue has no selective receive; "
     "scanning and requeueing would reorder other receivers' messages"},
    {0, NULL},
};

const cb_model_t cb_model_locks = {
    .name = "locks",
    .stands_for = "the JVM's shared heap: synchronized and "
                  "java.util.concurrent on an executor of OS threads",
    .summary = "tasks on a thread pool; lock-guarded blocking queues and "
               "cells, pointer passing; -p lock=none drops the cells' locks "
               "to demonstrate the claim \"locks prevent races\" (bank "
               "loses units)",
    .params = locks_params,
    .unsupported = locks_unsupported,
    .start = locks_start,
    .run = cb_pool_run,
    .stop = cb_pool_stop,
    .counters = locks_counters,
    .task_cost_bytes = cb_pool_task_cost,
    .spawn = cb_pool_spawn,
    .join = cb_pool_join,
    .self = cb_pool_self,
    .task_id = cb_pool_task_id,
    .yield = locks_yield,
    .reduce_slow = cb_pool_reduce_slow,
    .port_open = locks_port_open,
    .port_close = locks_port_close,
    .port_free = locks_port_free,
    .port_length = locks_port_length,
    .send = locks_send,
    .recv = locks_recv,
    .recv_match = cb_model_no_recv_match,
    .recv_mark = cb_model_plain_recv_mark,
    .recv_match_ref = cb_model_no_recv_match_ref,
    .select = locks_select,
    .sleep = locks_sleep,
    .io_wait = locks_io_wait,
    .cell_new = locks_cell_new,
    .cell_free = locks_cell_free,
    .cells_update = locks_cells_update,
    .cells_read = locks_cells_read,
    .exit_self = cb_pool_exit_self,
    CB_MODEL_NO_LINKS,
    .native_call = cb_model_native_inline,
    .cells_update_reading = locks_cells_update_reading,
    .threads_for = cb_pool_threads_for,
};
