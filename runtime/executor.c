/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * The executor: one FIFO run queue under one mutex, drained by a pool of
 * OS threads (ThreadPoolExecutor over a LinkedBlockingQueue).
 *
 * What it guarantees:
 *   - every submitted task runs exactly once, on one thread, to the end;
 *   - the end of a task happens-before rt_exec_join on it returns (the
 *     pool mutex is released by the finisher and taken by the joiner);
 *   - with compensation off the pool never grows: a task that blocks
 *     holds one of `parallelism` threads, and enough blocked tasks starve
 *     the queue, which is the JVM fixed pool's pathology and is kept;
 *   - with compensation on, when a task blocks while work is queued (or
 *     work is submitted while tasks block) and fewer than `parallelism`
 *     threads are able to run, a spare thread starts, up to max_threads
 *     (ForkJoinPool's tryCompensate); a pool whose tasks never block
 *     never starts a spare.
 *
 * Invariants (under e->mu):
 *   - 0 <= idle + blocked <= live <= max_threads;
 *   - pending == tasks queued + tasks running (the root excepted);
 *   - a worker struct outlives its thread until rt_exec_free, so counters
 *     of retired threads stay readable.
 *
 * Lock order: e->mu is a leaf; no user code runs under it.
 *
 * Pinning: core threads are pinned one per PU, spares float over the
 * whole set.  Whichever idle thread times out first retires, so after a
 * burst of blocking the survivors may be spares rather than the pinned
 * core threads; the kernel still keeps them within --cpus.
 *
 * Rejected: per-thread deques with stealing (the FIFO shared queue is
 * what ThreadPoolExecutor does and what `locks` stands for; stealing is
 * the green models' business), retiring a spare as soon as the blocked
 * task resumes (ping-pong between two tasks would start and retire a
 * thread per message; ForkJoinPool keeps spares alive for a keep-alive
 * period too), and a per-task condition variable for join (a broadcast
 * on one pool-wide variable costs a spurious wake-up per join but keeps a
 * task to two pointers and an id).
 */
#include "runtime/executor.h"

#include "runtime/clock.h"
#include "runtime/common.h"
#include "runtime/topo.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rt_exec_task {
    rt_exec_task_t *next; /* run queue link; guarded by e->mu */
    rt_exec_t *e;
    rt_exec_fn fn;
    void *arg;
    uint64_t id;
    bool joinable;
    bool done; /* guarded by e->mu */
};

typedef struct worker {
    struct worker *next; /* e->workers list; guarded by e->mu */
    rt_exec_t *e;
    pthread_t thread;
    int index;     /* core threads 0..parallelism-1; spares above */
    bool pooled;   /* false for the thread running the root */
    bool detached; /* retired on its own; guarded by e->mu */
    /* Written by the owner thread only, read by rt_exec_stats at any
     * time: relaxed atomics, a single writer needs no RMW. */
    _Atomic int64_t blocks, blocked_ns;
    int64_t block_start; /* owner only */
    void *data;          /* thread_data_size zeroed bytes */
} worker_t;

struct rt_exec {
    pthread_mutex_t mu;
    pthread_cond_t work; /* idle workers wait here */
    pthread_cond_t done; /* joiners and rt_exec_free wait here */
    /* Guarded by mu. */
    rt_exec_task_t *head, *tail;
    int64_t pending;
    int live, idle, blocked, next_index;
    bool stopping;
    worker_t *workers;
    rt_exec_stats_t st; /* threads_*, spares_started, tasks_run */
    uint64_t next_id;
    /* Constant after rt_exec_new. */
    rt_exec_opts_t o;
    int cpus[RT_TOPO_MAX_PUS];
};

static _Thread_local worker_t *self_worker;
static _Thread_local rt_exec_task_t *self_task;

static void cond_init(pthread_cond_t *cv)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(cv, &a);
    pthread_condattr_destroy(&a);
}

static worker_t *worker_new(rt_exec_t *e, bool pooled)
{
    worker_t *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    if (e->o.thread_data_size) {
        /* Whole cache lines: threads' counters must not share one. */
        size_t sz = (e->o.thread_data_size + RT_CACHELINE - 1) &
                    ~(size_t)(RT_CACHELINE - 1);
        if (!(w->data = aligned_alloc(RT_CACHELINE, sz))) {
            free(w);
            return NULL;
        }
        memset(w->data, 0, sz);
    }
    w->e = e;
    w->pooled = pooled;
    return w;
}

static void run_task(rt_exec_t *e, rt_exec_task_t *t)
{
    self_task = t;
    if (e->o.call)
        e->o.call(t->fn, t->arg);
    else
        t->fn(t->arg);
    self_task = NULL;
    pthread_mutex_lock(&e->mu);
    e->st.tasks_run++;
    e->pending--;
    if (t->joinable) {
        t->done = true;
        pthread_cond_broadcast(&e->done);
    } else {
        free(t);
    }
    if (e->pending == 0)
        pthread_cond_broadcast(&e->done);
    pthread_mutex_unlock(&e->mu);
}

static void *worker_main(void *p)
{
    worker_t *w = p;
    rt_exec_t *e = w->e;
    self_worker = w;
    if (e->o.ncpus > 0) {
        /* Core threads one per PU; spares float over the whole set, as
         * the kernel would place them. */
        if (w->index < e->o.parallelism)
            rt_topo_pin_self(e->cpus[w->index % e->o.ncpus]);
        else
            rt_topo_pin_self_set(e->cpus, e->o.ncpus);
    }
    pthread_mutex_lock(&e->mu);
    bool retire = false;
    while (!retire) {
        if (!e->head && !e->stopping) {
            bool surplus = e->live - e->blocked > e->o.parallelism;
            e->idle++;
            int rc = 0;
            if (surplus) {
                struct timespec at =
                    rt_ns_to_timespec(rt_now_ns() + e->o.keepalive_ns);
                rc = pthread_cond_timedwait(&e->work, &e->mu, &at);
            } else {
                pthread_cond_wait(&e->work, &e->mu);
            }
            e->idle--;
            /* Not once stopping: rt_exec_free joins every thread that
             * has not retired before it stopped the pool. */
            retire = rc == ETIMEDOUT && !e->head && !e->stopping &&
                     e->live - e->blocked > e->o.parallelism;
            continue;
        }
        if (!e->head)
            break; /* stopping and drained */
        rt_exec_task_t *t = e->head;
        e->head = t->next;
        if (!e->head)
            e->tail = NULL;
        pthread_mutex_unlock(&e->mu);
        run_task(e, t);
        pthread_mutex_lock(&e->mu);
    }
    if (retire) {
        /* Nobody will join a spare that retires mid-run: let it go. */
        w->detached = true;
        pthread_detach(pthread_self());
    }
    e->live--;
    e->st.threads_live = e->live;
    pthread_mutex_unlock(&e->mu);
    self_worker = NULL;
    return NULL;
}

/* Expects e->mu held.  0 or -errno; the worker is listed either way so
 * that rt_exec_free finds it. */
static int start_thread(rt_exec_t *e, bool spare)
{
    worker_t *w = worker_new(e, true);
    if (!w)
        return -ENOMEM;
    w->index = e->next_index++;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, e->o.stack_size);
    int rc = pthread_create(&w->thread, &attr, worker_main, w);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        free(w->data);
        free(w);
        return -rc;
    }
    w->next = e->workers;
    e->workers = w;
    e->live++;
    e->st.threads_started++;
    e->st.spares_started += spare;
    e->st.threads_live = e->live;
    if (e->live > e->st.threads_peak)
        e->st.threads_peak = e->live;
    return 0;
}

/* Expects e->mu held: start a spare when queued work has fewer than
 * `parallelism` threads able to run it and none idle to take it. */
static void maybe_compensate(rt_exec_t *e)
{
    if (e->o.compensate && e->head && e->idle == 0 &&
        e->live - e->blocked < e->o.parallelism && e->live < e->o.max_threads)
        (void)start_thread(e, true); /* on failure the queue just waits */
}

int rt_exec_new(const rt_exec_opts_t *o, rt_exec_t **out)
{
    if (o->ncpus < 0 || o->ncpus > RT_TOPO_MAX_PUS || o->parallelism < 0 ||
        o->keepalive_ns < 0)
        return -EINVAL;
    rt_exec_t *e = calloc(1, sizeof *e);
    if (!e)
        return -ENOMEM;
    e->o = *o;
    if (o->ncpus > 0)
        memcpy(e->cpus, o->cpus, sizeof(int) * (size_t)o->ncpus);
    e->o.cpus = e->cpus;
    if (e->o.parallelism == 0)
        e->o.parallelism = o->ncpus > 0 ? o->ncpus : rt_topo_npus();
    if (e->o.max_threads < e->o.parallelism)
        e->o.max_threads = e->o.parallelism;
    if (e->o.stack_size == 0)
        e->o.stack_size = 256 * 1024;
    if (e->o.stack_size < (size_t)PTHREAD_STACK_MIN)
        e->o.stack_size = PTHREAD_STACK_MIN;
    e->next_id = 2; /* 1 is the root */
    pthread_mutex_init(&e->mu, NULL);
    cond_init(&e->work);
    cond_init(&e->done);
    pthread_mutex_lock(&e->mu);
    int rc = 0;
    for (int i = 0; i < e->o.parallelism && rc == 0; i++)
        rc = start_thread(e, false);
    pthread_mutex_unlock(&e->mu);
    if (rc < 0) {
        (void)rt_exec_free(e, 0, NULL, 0);
        return rc;
    }
    *out = e;
    return 0;
}

int rt_exec_free(rt_exec_t *e, int64_t grace_ns, char *err, size_t errlen)
{
    struct timespec at = rt_ns_to_timespec(rt_now_ns() + grace_ns);
    pthread_mutex_lock(&e->mu);
    while (e->pending > 0)
        if (pthread_cond_timedwait(&e->done, &e->mu, &at) == ETIMEDOUT)
            break;
    if (e->pending > 0) {
        if (err)
            snprintf(err, errlen,
                     "%lld tasks still running after the root task returned",
                     (long long)e->pending);
        pthread_mutex_unlock(&e->mu);
        return -EBUSY;
    }
    e->stopping = true;
    pthread_cond_broadcast(&e->work);
    pthread_mutex_unlock(&e->mu);
    /* Threads only leave the list at free, so walking it unlocked after
     * `stopping` is safe: nothing adds to it once pending is 0 and no
     * task runs. */
    for (worker_t *w = e->workers; w; w = w->next)
        if (w->pooled && !w->detached)
            pthread_join(w->thread, NULL);
    while (e->workers) {
        worker_t *w = e->workers;
        e->workers = w->next;
        free(w->data);
        free(w);
    }
    pthread_cond_destroy(&e->work);
    pthread_cond_destroy(&e->done);
    pthread_mutex_destroy(&e->mu);
    free(e);
    return 0;
}

int rt_exec_submit(rt_exec_t *e, rt_exec_fn fn, void *arg, rt_exec_task_t **out)
{
    rt_exec_task_t *t = calloc(1, sizeof *t);
    if (!t)
        return -ENOMEM;
    t->e = e;
    t->fn = fn;
    t->arg = arg;
    t->joinable = out != NULL;
    pthread_mutex_lock(&e->mu);
    t->id = e->next_id++;
    if (e->tail)
        e->tail->next = t;
    else
        e->head = t;
    e->tail = t;
    e->pending++;
    if (e->idle > 0)
        pthread_cond_signal(&e->work);
    else
        maybe_compensate(e);
    pthread_mutex_unlock(&e->mu);
    /* A detached task may already be freed here: t is not read again. */
    if (out)
        *out = t;
    return 0;
}

int rt_exec_join(rt_exec_task_t *t)
{
    if (!t || !t->joinable)
        return -EINVAL;
    rt_exec_t *e = t->e;
    rt_exec_block_begin();
    pthread_mutex_lock(&e->mu);
    while (!t->done)
        pthread_cond_wait(&e->done, &e->mu);
    pthread_mutex_unlock(&e->mu);
    rt_exec_block_end();
    free(t);
    return 0;
}

void rt_exec_run(rt_exec_t *e, rt_exec_fn fn, void *arg)
{
    worker_t *w = worker_new(e, false);
    RT_ASSERT(w != NULL);
    pthread_mutex_lock(&e->mu);
    w->next = e->workers;
    e->workers = w;
    pthread_mutex_unlock(&e->mu);
    rt_exec_task_t root = {.e = e, .fn = fn, .arg = arg, .id = 1};
    worker_t *saved_w = self_worker;
    rt_exec_task_t *saved_t = self_task;
    self_worker = w;
    self_task = &root;
    if (e->o.call)
        e->o.call(fn, arg);
    else
        fn(arg);
    self_worker = saved_w;
    self_task = saved_t;
}

rt_exec_task_t *rt_exec_current(void)
{
    return self_task;
}

uint64_t rt_exec_task_id(const rt_exec_task_t *t)
{
    return t ? t->id : 0;
}

void *rt_exec_thread_data(void)
{
    return self_worker ? self_worker->data : NULL;
}

void rt_exec_foreach_thread_data(rt_exec_t *e, void (*fn)(void *, void *),
                                 void *ctx)
{
    pthread_mutex_lock(&e->mu);
    for (worker_t *w = e->workers; w; w = w->next)
        fn(w->data, ctx);
    pthread_mutex_unlock(&e->mu);
}

void rt_exec_block_begin(void)
{
    worker_t *w = self_worker;
    if (!w)
        return;
    /* Single writer: a relaxed load and store, no RMW (see worker_t). */
    atomic_store_explicit(
        &w->blocks, atomic_load_explicit(&w->blocks, memory_order_relaxed) + 1,
        memory_order_relaxed);
    w->block_start = rt_now_ns();
    if (!w->pooled)
        return;
    rt_exec_t *e = w->e;
    pthread_mutex_lock(&e->mu);
    e->blocked++;
    maybe_compensate(e);
    pthread_mutex_unlock(&e->mu);
}

void rt_exec_block_end(void)
{
    worker_t *w = self_worker;
    if (!w)
        return;
    int64_t ns = rt_now_ns() - w->block_start;
    atomic_store_explicit(
        &w->blocked_ns,
        atomic_load_explicit(&w->blocked_ns, memory_order_relaxed) + ns,
        memory_order_relaxed);
    if (!w->pooled)
        return;
    rt_exec_t *e = w->e;
    pthread_mutex_lock(&e->mu);
    e->blocked--;
    pthread_mutex_unlock(&e->mu);
}

int rt_exec_sleep(int64_t ns)
{
    if (ns <= 0)
        return 0;
    rt_exec_block_begin();
    struct timespec at = rt_ns_to_timespec(rt_now_ns() + ns);
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL) == EINTR)
        ;
    rt_exec_block_end();
    return 0;
}

int rt_exec_io_wait(int fd, uint32_t events, int64_t timeout_ns)
{
    struct pollfd pfd = {.fd = fd, .events = (short)events};
    int64_t deadline = timeout_ns < 0 ? -1 : rt_now_ns() + timeout_ns;
    int rc;
    rt_exec_block_begin();
    for (;;) {
        struct timespec ts, *tsp = NULL;
        if (deadline >= 0) {
            int64_t left = deadline - rt_now_ns();
            ts = rt_ns_to_timespec(left > 0 ? left : 0);
            tsp = &ts;
        }
        int n = ppoll(&pfd, 1, tsp, NULL);
        if (n > 0) {
            rc = pfd.revents & POLLNVAL ? -EBADF : pfd.revents;
            break;
        }
        if (n == 0) {
            rc = -ETIMEDOUT;
            break;
        }
        if (errno != EINTR) {
            rc = -errno;
            break;
        }
    }
    rt_exec_block_end();
    return rc;
}

void rt_exec_stats(rt_exec_t *e, rt_exec_stats_t *out)
{
    pthread_mutex_lock(&e->mu);
    *out = e->st;
    out->blocks = out->blocked_ns = 0;
    for (worker_t *w = e->workers; w; w = w->next) {
        out->blocks += atomic_load_explicit(&w->blocks, memory_order_relaxed);
        out->blocked_ns +=
            atomic_load_explicit(&w->blocked_ns, memory_order_relaxed);
    }
    pthread_mutex_unlock(&e->mu);
}
