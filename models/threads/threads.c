/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * The `threads` model: one OS thread per task.
 *
 * This is the baseline every other model is measured against: what you get
 * from core.async's `thread`, from JVM platform threads, or from pthreads
 * with no runtime in between.  A task is a pthread; every wait (a receive
 * on an empty port, a send on a full one, a sleep, an fd) blocks the thread
 * in the kernel (futex through a condition variable, clock_nanosleep,
 * ppoll), and the kernel scheduler preempts and balances.  There is no
 * reduction budget: cb_reduce only counts down a budget that is never
 * honoured, because the kernel's timeslice already bounds a hog.
 *
 * What it costs, and why it is shown rather than hidden: each task has a
 * real stack (`-p stack=`, 256 KiB of address space by default, resident
 * only where touched) and a kernel task; spawn is a clone(2); a blocked
 * receive is a futex sleep and wake-up, i.e. two kernel crossings and a
 * scheduler decision.  These are the numbers green threads exist to beat.
 *
 * A task's abnormal cb_exit is an uncaught exception: that thread ends
 * (through a landing frame, models/crash.h) and reports it on stderr, and
 * the program runs on, as a JVM thread's does; no links or monitors.
 *
 * Invariants:
 *   - a task's thread runs only that task, so per-thread state (the current
 *     task, its counters) is exact in thread-locals;
 *   - the model lock guards the live-task count and the totals; it is never
 *     held while a task runs user code or blocks on a port;
 *   - every thread the model starts is bound to the PUs of --cpus (all of
 *     them: the kernel places threads within the set, as it would for a
 *     JVM started under taskset).
 *
 * Rejected: a thread pool (that is the `locks` model's executor; this model
 * exists to show the 1:1 cost), and busy-waiting queues (they would hide
 * the kernel's wake-up latency, which is part of what is measured).
 */
#include "models/threads/threads_int.h"

#include "models/crash.h"

#include "runtime/clock.h"
#include "runtime/common.h"
#include "runtime/topo.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const cb_param_def_t threads_params[] = {
    {.name = "stack",
     .kind = CB_PARAM_INT,
     .help = "stack size of each task's thread (address space; resident "
             "only where touched)",
     .unit = "KiB",
     .def = 256,
     .quick = 256,
     .min = 64,
     .max = 1024 * 1024},
    {0},
};

/* Cumulative counters, in the order they are reported. */
#define THREADS_TOTALS(X)                                                      \
    X(tasks_spawned)                                                           \
    X(threads_peak)                                                            \
    X(sends)                                                                   \
    X(recvs)                                                                   \
    X(send_blocks)                                                             \
    X(recv_blocks)                                                             \
    X(blocked_ns)                                                              \
    X(drops)                                                                   \
    X(max_queue_len)                                                           \
    X(selects)                                                                 \
    X(sleeps)                                                                  \
    X(io_waits)                                                                \
    X(yields)                                                                  \
    X(cell_updates)                                                            \
    X(cell_reads)                                                              \
    X(cell_lock_waits)

static struct {
    pthread_mutex_t lock; /* guards everything below but the constants */
    pthread_cond_t idle;  /* signalled when live drops to 0 */
    int64_t live;
    struct {
#define X(name) int64_t name;
        THREADS_TOTALS(X)
#undef X
    } totals;
    /* Constant between start and stop. */
    size_t stack_bytes;
    int cpus[RT_TOPO_MAX_PUS];
    int ncpus;
    uint64_t seed;
    _Atomic uint64_t next_id; /* relaxed: ids need only uniqueness */
} model = {.lock = PTHREAD_MUTEX_INITIALIZER};

static _Thread_local cb_task_t *current;
/* Counters of threads the model did not start (e.g. the runner's). */
static _Thread_local threads_stats_t foreign_stats;

cb_task_t *threads_current(void)
{
    return current;
}

threads_stats_t *threads_stats(void)
{
    return current ? &current->stats : &foreign_stats;
}

/* ---- time and condition variables on CLOCK_MONOTONIC ---- */

void threads_cond_init(pthread_cond_t *cv)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(cv, &a);
    pthread_condattr_destroy(&a);
}

struct timespec threads_deadline(int64_t timeout_ns)
{
    if (timeout_ns < 0)
        return (struct timespec){0};
    int64_t now = rt_now_ns();
    int64_t at = timeout_ns > INT64_MAX - now ? INT64_MAX : now + timeout_ns;
    return rt_ns_to_timespec(at);
}

int threads_cond_wait(pthread_cond_t *cv, pthread_mutex_t *mu,
                      int64_t timeout_ns, const struct timespec *deadline)
{
    if (timeout_ns < 0)
        return pthread_cond_wait(cv, mu);
    return pthread_cond_timedwait(cv, mu, deadline);
}

void threads_waiter_init(threads_waiter_t *w)
{
    pthread_mutex_init(&w->mu, NULL);
    threads_cond_init(&w->cv);
    w->fired = 0;
}

void threads_waiter_destroy(threads_waiter_t *w)
{
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
}

void threads_port_totals(int64_t drops, int64_t max_len)
{
    pthread_mutex_lock(&model.lock);
    model.totals.drops += drops;
    if (max_len > model.totals.max_queue_len)
        model.totals.max_queue_len = max_len;
    pthread_mutex_unlock(&model.lock);
}

static void fold_stats(const threads_stats_t *s)
{
    model.totals.sends += s->sends;
    model.totals.recvs += s->recvs;
    model.totals.send_blocks += s->send_blocks;
    model.totals.recv_blocks += s->recv_blocks;
    model.totals.blocked_ns += s->blocked_ns;
    model.totals.selects += s->selects;
    model.totals.sleeps += s->sleeps;
    model.totals.io_waits += s->io_waits;
    model.totals.yields += s->yields;
    model.totals.cell_updates += s->cell_updates;
    model.totals.cell_reads += s->cell_reads;
    model.totals.cell_lock_waits += s->cell_lock_waits;
}

/* ---- lifecycle ---- */

static int threads_start(const cb_param_set_t *params,
                         const cb_model_env_t *env, char *err, size_t errlen)
{
    model.stack_bytes = (size_t)cb_params_int(params, "stack") * 1024;
    model.ncpus = env->ncpus;
    if (env->ncpus > RT_TOPO_MAX_PUS) {
        snprintf(err, errlen, "too many PUs (%d)", env->ncpus);
        return -EINVAL;
    }
    memcpy(model.cpus, env->cpus, sizeof(int) * (size_t)env->ncpus);
    model.seed = env->seed;
    memset(&model.totals, 0, sizeof model.totals);
    model.live = 0;
    threads_cond_init(&model.idle);
    atomic_store_explicit(&model.next_id, 1, memory_order_relaxed);
    cb__budget = INT64_MAX;
    return 0;
}

static void *task_main(void *p)
{
    cb_task_t *t = p;
    current = t;
    /* The kernel, not a budget, preempts here; keep the counter far from
     * zero so cb_reduce costs one decrement. */
    cb__budget = INT64_MAX;
    if (model.ncpus > 0)
        rt_topo_pin_self_set(model.cpus, model.ncpus);
    cb_crash_call(t->fn, t->arg);

    pthread_mutex_lock(&model.lock);
    fold_stats(&t->stats);
    int detached = t->detached;
    if (--model.live == 0)
        pthread_cond_broadcast(&model.idle);
    pthread_mutex_unlock(&model.lock);
    current = NULL;
    if (detached) {
        threads_waiter_destroy(&t->waiter);
        free(t);
    }
    return NULL;
}

static int threads_spawn(cb_task_fn fn, void *arg, const cb_spawn_opts_t *opts,
                         cb_task_t **out)
{
    if (opts && (opts->link || opts->monitor_ref))
        return -ENOTSUP;
    cb_task_t *t = calloc(1, sizeof *t);
    if (!t)
        return -ENOMEM;
    t->fn = fn;
    t->arg = arg;
    t->detached = out == NULL;
    t->id = atomic_fetch_add_explicit(&model.next_id, 1, memory_order_relaxed);
    t->rng = (model.seed ^ (t->id * 0x9E3779B97F4A7C15ULL)) | 1;
    threads_waiter_init(&t->waiter);

    pthread_attr_t attr;
    pthread_attr_init(&attr);
    size_t stack = opts && opts->stack_size ? opts->stack_size
                                            : model.stack_bytes;
    if (stack < (size_t)PTHREAD_STACK_MIN)
        stack = PTHREAD_STACK_MIN;
    pthread_attr_setstacksize(&attr, stack);
    if (t->detached)
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);

    pthread_mutex_lock(&model.lock);
    model.live++;
    model.totals.tasks_spawned++;
    if (model.live > model.totals.threads_peak)
        model.totals.threads_peak = model.live;
    pthread_mutex_unlock(&model.lock);

    /* The detached thread may finish and free t before pthread_create
     * returns, so nothing reads t after a successful create. */
    int rc = pthread_create(&t->thread, &attr, task_main, t);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        pthread_mutex_lock(&model.lock);
        model.live--;
        model.totals.tasks_spawned--;
        pthread_mutex_unlock(&model.lock);
        threads_waiter_destroy(&t->waiter);
        free(t);
        return -rc;
    }
    if (out)
        *out = t;
    return 0;
}

static int threads_join(cb_task_t *t)
{
    if (!t || t->detached)
        return -EINVAL;
    int rc = pthread_join(t->thread, NULL);
    if (rc != 0)
        return -rc;
    threads_waiter_destroy(&t->waiter);
    free(t);
    return 0;
}

static cb_task_t *threads_self(void)
{
    return current;
}

static uint64_t threads_task_id(const cb_task_t *t)
{
    return t ? t->id : 0;
}

static void threads_yield(void)
{
    threads_stats()->yields++;
    sched_yield();
}

static void threads_reduce_slow(void)
{
    cb__budget = INT64_MAX;
}

static int threads_run(cb_task_fn root, void *arg)
{
    cb_task_t *t;
    int rc = threads_spawn(root, arg, NULL, &t);
    if (rc < 0)
        return rc;
    return threads_join(t);
}

static int threads_stop(char *err, size_t errlen)
{
    /* Tasks that outlive the root are a workload bug; give stragglers that
     * are on their way out a moment, then say how many are left. */
    struct timespec deadline = threads_deadline(2 * RT_NS_PER_S);
    pthread_mutex_lock(&model.lock);
    while (model.live > 0)
        if (pthread_cond_timedwait(&model.idle, &model.lock, &deadline) ==
            ETIMEDOUT)
            break;
    int64_t left = model.live;
    pthread_mutex_unlock(&model.lock);
    if (left > 0) {
        snprintf(err, errlen, "%lld tasks still running after the root task "
                 "returned", (long long)left);
        return -EBUSY;
    }
    pthread_cond_destroy(&model.idle);
    return 0;
}

static size_t threads_counters(cb_counter_t *out, size_t max)
{
    size_t n = 0;
    pthread_mutex_lock(&model.lock);
#define X(field)                                                               \
    if (n < max)                                                               \
        out[n++] = (cb_counter_t){#field, model.totals.field};
    THREADS_TOTALS(X)
#undef X
    pthread_mutex_unlock(&model.lock);
    return n;
}

static size_t threads_task_cost(const cb_param_set_t *params)
{
    /* Resident cost of a parked thread: the kernel stack and task_struct
     * (~20 KiB) plus the touched top of the user stack and the TLS block;
     * measured with the spawn figures of `concbench bench`. */
    (void)params;
    return 32 * 1024;
}

static int64_t threads_threads_for(const cb_param_set_t *params, int ncpus,
                                   int64_t tasks, int64_t *most)
{
    /* One kernel thread per task, the root's being the caller's. */
    (void)params, (void)ncpus, (void)most;
    return tasks;
}

/* ---- waiting ---- */

static int threads_sleep(int64_t ns)
{
    threads_stats()->sleeps++;
    if (ns <= 0)
        return 0;
    struct timespec at = rt_ns_to_timespec(rt_now_ns() + ns);
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL) == EINTR)
        ;
    return 0;
}

static int threads_io_wait(int fd, uint32_t events, int64_t timeout_ns)
{
    threads_stats()->io_waits++;
    struct pollfd pfd = {.fd = fd, .events = (short)events};
    int64_t deadline = timeout_ns < 0 ? -1 : rt_now_ns() + timeout_ns;
    for (;;) {
        struct timespec ts, *tsp = NULL;
        if (deadline >= 0) {
            int64_t left = deadline - rt_now_ns();
            ts = rt_ns_to_timespec(left > 0 ? left : 0);
            tsp = &ts;
        }
        int n = ppoll(&pfd, 1, tsp, NULL);
        if (n > 0) {
            if (pfd.revents & POLLNVAL)
                return -EBADF;
            return pfd.revents;
        }
        if (n == 0)
            return -ETIMEDOUT;
        if (errno != EINTR)
            return -errno;
    }
}

/* An uncaught exception ends the thread it was thrown in, and only that
 * thread (models/crash.h); the program runs on. */
static void threads_exit_self(cb_term_t reason)
{
    cb_task_t *t = current;
    cb_crash_exit_thread(reason, t ? t->id : 0,
                         "(an uncaught exception; the other threads run on)");
}

static const cb_unsupported_t threads_unsupported[] = {
    {CB_CAP_LINKS,
     "threads have no links: a thread's uncaught exception ends that "
     "thread only (the JVM's Thread.UncaughtExceptionHandler; a pthread "
     "has no exceptions), and no thread can safely kill another (Thread.stop "
     "throws UnsupportedOperationException since Java 20; pthread_cancel "
     "is not an exit signal)"},
    {CB_CAP_MONITORS,
     "threads have no monitors of another's death; a program joins the "
     "thread"},
    {CB_CAP_RECV_MATCH,
     "a blocking queue has no selective receive; scanning and requeueing "
     "behind the sender's back would reorder other receivers' messages"},
    {0, NULL},
};

const cb_model_t cb_model_threads = {
    .name = "threads",
    .stands_for = "one OS thread per task (core.async `thread`, JVM "
                  "platform threads, pthreads)",
    .summary = "1:1 kernel threads with blocking queues; the kernel "
               "preempts and blocks",
    .params = threads_params,
    .unsupported = threads_unsupported,
    .start = threads_start,
    .run = threads_run,
    .stop = threads_stop,
    .counters = threads_counters,
    .task_cost_bytes = threads_task_cost,
    .spawn = threads_spawn,
    .join = threads_join,
    .self = threads_self,
    .task_id = threads_task_id,
    .yield = threads_yield,
    .reduce_slow = threads_reduce_slow,
    .port_open = threads_port_open,
    .port_close = threads_port_close,
    .port_free = threads_port_free,
    .port_length = threads_port_length,
    .send = threads_send,
    .recv = threads_recv,
    .recv_match = cb_model_no_recv_match,
    .select = threads_select,
    .sleep = threads_sleep,
    .io_wait = threads_io_wait,
    .cell_new = threads_cell_new,
    .cell_free = threads_cell_free,
    .cells_update = threads_cells_update,
    .cells_read = threads_cells_read,
    .cells_update_reading = threads_cells_update_reading,
    .recv_mark = cb_model_plain_recv_mark,
    .recv_match_ref = cb_model_no_recv_match_ref,
    .exit_self = threads_exit_self,
    CB_MODEL_NO_LINKS,
    .native_call = cb_model_native_inline,
    .threads_for = threads_threads_for,
};
