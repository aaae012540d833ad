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
             "backoff, or reader-writer lock",
     .choices = "mutex|spin|rwlock",
     .enum_def = "mutex"},
    {.name = "ordering",
     .kind = CB_PARAM_ENUM,
     .help = "cell locks taken in global (address) order, or naively in "
             "request order (deadlocks; for the watchdog)",
     .choices = "global|naive",
     .enum_def = "global"},
    {.name = "compensate",
     .kind = CB_PARAM_ENUM,
     .help = "start spare threads while tasks block (ForkJoinPool managed "
             "blocking); off: a fixed pool that can starve",
     .choices = "on|off",
     .enum_def = "on"},
    {.name = "pool",
     .kind = CB_PARAM_INT,
     .unit = "threads",
     .help = "core threads of the executor; 0: one per PU of --cpus",
     .def = 0,
     .quick = 0,
     .min = 0,
     .max = 4096},
    {.name = "max_threads",
     .kind = CB_PARAM_INT,
     .unit = "threads",
     .help = "cap on threads, spares included",
     .def = 16384,
     .quick = 16384,
     .min = 1,
     .max = 1000000},
    {.name = "capacity",
     .kind = CB_PARAM_INT,
     .unit = "messages",
     .help = "capacity of a default port; 0: unbounded "
             "(LinkedBlockingQueue)",
     .def = 0,
     .quick = 0,
     .min = 0,
     .max = (int64_t)1 << 32},
    {.name = "stack",
     .kind = CB_PARAM_INT,
     .unit = "KiB",
     .help = "stack size of each pool thread (address space)",
     .def = 256,
     .quick = 256,
     .min = 64,
     .max = 1024 * 1024},
    {0},
};

locks_config_t locks_config;

/* Cumulative counters the model keeps besides the per-thread ones. */
static struct {
    pthread_mutex_t lock; /* guards the two totals; a leaf */
    int64_t drops, max_queue_len;
    rt_exec_t *exec; /* set between start and stop */
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
                                                         : LOCKS_MUTEX;
    locks_config.naive_order =
        strcmp(cb_params_str(params, "ordering"), "naive") == 0;
    locks_config.default_capacity = cb_params_int(params, "capacity");
    model.drops = model.max_queue_len = 0;
    rt_exec_opts_t o = {
        .cpus = env->cpus,
        .ncpus = env->ncpus,
        .parallelism = (int)cb_params_int(params, "pool"),
        .compensate = strcmp(cb_params_str(params, "compensate"), "on") == 0,
        .max_threads = (int)cb_params_int(params, "max_threads"),
        .stack_size = (size_t)cb_params_int(params, "stack") * 1024,
        /* ForkJoinPool's keep-alive is 60 s; a run is seconds long, so a
         * spare that idles for 1 s is not coming back to work. */
        .keepalive_ns = RT_NS_PER_S,
        .thread_data_size = sizeof(locks_stats_t),
    };
    if (o.max_threads < o.parallelism) {
        snprintf(err, errlen, "max_threads (%d) is below pool (%d)",
                 o.max_threads, o.parallelism);
        return -EINVAL;
    }
    int rc = rt_exec_new(&o, &model.exec);
    if (rc < 0)
        snprintf(err, errlen, "starting the executor: %s", cb_strerror(rc));
    cb__budget = INT64_MAX;
    return rc;
}

static int locks_run(cb_task_fn root, void *arg)
{
    cb__budget = INT64_MAX;
    rt_exec_run(model.exec, root, arg);
    return 0;
}

static int locks_stop(char *err, size_t errlen)
{
    int rc = rt_exec_free(model.exec, RT_NS_PER_S, err, errlen);
    if (rc == 0)
        model.exec = NULL;
    return rc;
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
    if (!model.exec)
        return 0;
    locks_stats_t sum = {0};
    rt_exec_foreach_thread_data(model.exec, add_stats, &sum);
    rt_exec_stats_t es;
    rt_exec_stats(model.exec, &es);
    pthread_mutex_lock(&model.lock);
    cb_counter_t all[] = {
        {"threads_started", es.threads_started},
        {"threads_peak", es.threads_peak},
        {"spares_started", es.spares_started},
        {"tasks_run", es.tasks_run},
        {"blocks", es.blocks},
        {"blocked_ns", es.blocked_ns},
#define X(f) {#f, sum.f},
        LOCKS_STATS(X)
#undef X
            {"drops", model.drops},
        {"max_queue_len", model.max_queue_len},
    };
    pthread_mutex_unlock(&model.lock);
    size_t n = 0;
    for (; n < max && n < sizeof all / sizeof all[0]; n++)
        out[n] = all[n];
    return n;
}

static size_t locks_task_cost(const cb_param_set_t *params)
{
    /* A task waiting in the queue is a 48-byte record; one that blocks
     * holds a thread: kernel stack and task_struct (~20 KiB) plus the
     * touched top of its stack, as for the threads model. */
    (void)params;
    return 32 * 1024;
}

/* ---- tasks: the executor's tasks under the model's opaque name ---- */

static int locks_spawn(cb_task_fn fn, void *arg, const cb_spawn_opts_t *opts,
                       cb_task_t **out)
{
    (void)opts; /* pool threads have one stack size: `-p stack=` */
    return rt_exec_submit(model.exec, fn, arg, (rt_exec_task_t **)out);
}

static int locks_join(cb_task_t *t)
{
    return rt_exec_join((rt_exec_task_t *)t);
}

static cb_task_t *locks_self(void)
{
    return (cb_task_t *)rt_exec_current();
}

static uint64_t locks_task_id(const cb_task_t *t)
{
    return rt_exec_task_id((const rt_exec_task_t *)t);
}

static void locks_yield(void)
{
    locks_count(&locks_stats()->yields, 1);
    sched_yield();
}

static void locks_reduce_slow(void)
{
    /* The kernel preempts; keep cb_reduce a single decrement. */
    cb__budget = INT64_MAX;
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
    {CB_CAP_RECV_MATCH,
     "a java.util.concurrent blocking queue has no selective receive; "
     "scanning and requeueing would reorder other receivers' messages"},
    {0, NULL},
};

static int locks_recv_match(cb_port_t *p, cb_match_fn match, void *ctx,
                            cb_term_t *out, int64_t timeout_ns)
{
    (void)p, (void)match, (void)ctx, (void)out, (void)timeout_ns;
    return -ENOTSUP;
}

const cb_model_t cb_model_locks = {
    .name = "locks",
    .stands_for = "the JVM's shared heap: synchronized and "
                  "java.util.concurrent on an executor of OS threads",
    .summary = "tasks on a thread pool; lock-guarded blocking queues and "
               "cells, pointer passing",
    .params = locks_params,
    .unsupported = locks_unsupported,
    .start = locks_start,
    .run = locks_run,
    .stop = locks_stop,
    .counters = locks_counters,
    .task_cost_bytes = locks_task_cost,
    .spawn = locks_spawn,
    .join = locks_join,
    .self = locks_self,
    .task_id = locks_task_id,
    .yield = locks_yield,
    .reduce_slow = locks_reduce_slow,
    .port_open = locks_port_open,
    .port_close = locks_port_close,
    .port_free = locks_port_free,
    .port_length = locks_port_length,
    .send = locks_send,
    .recv = locks_recv,
    .recv_match = locks_recv_match,
    .select = locks_select,
    .sleep = locks_sleep,
    .io_wait = locks_io_wait,
    .cell_new = locks_cell_new,
    .cell_free = locks_cell_free,
    .cells_update = locks_cells_update,
    .cells_read = locks_cells_read,
};
