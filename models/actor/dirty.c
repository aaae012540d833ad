/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Native calls and the dirty CPU schedulers of the `actor` model: the
 * BEAM's remedy for a NIF that never yields.
 *
 * What the BEAM does.  A NIF runs on the scheduler thread of the process
 * that called it, and nothing preempts it there: erl_nif's "Long-running
 * NIFs" asks a NIF to return within about a millisecond, because until it
 * does, its scheduler serves no other process.  "A NIF that cannot be
 * split and cannot execute in a millisecond or less is called a dirty
 * NIF"; flagged ERL_NIF_DIRTY_JOB_CPU_BOUND (in its ErlNifFunc entry, or
 * through enif_schedule_nif), it runs on a separate set of dirty CPU
 * scheduler threads and "does not have the same duration restriction"
 * (erts/doc/references/erl_nif.md).  The calling process is put on the
 * dirty CPU run queue, one queue that every dirty CPU scheduler serves
 * (ERTS_NUM_DIRTY_CPU_RUNQS is 1, erts/emulator/beam/erl_process.h), and
 * waits there when all of them are busy.  When the dirty NIF returns,
 * erts_call_dirty_nif schedules a normal NIF, dirty_nif_finalizer, to
 * hand the result back (erts/emulator/beam/erl_nif.c): the process goes
 * back to a normal run queue and continues on a normal scheduler, where
 * it receives and is preempted by reductions as before.  +SDcpu sets how
 * many dirty CPU schedulers there are: by default as many as normal
 * schedulers, and never more, "in order to limit the effect on processes
 * executing on ordinary schedulers" (erts/doc/references/erl_cmd.md).
 * Messages sent to a process running a dirty NIF are queued for it;
 * enif_consume_timeslice is a no-op on a dirty scheduler.
 *
 * What this file does.  cb_native_call(fn, arg, 0) runs fn inline on the
 * process's normal scheduler, which runs nothing else until fn returns
 * (the pathology, as `reductions=0` shows it for code without reduction
 * points).  With CB_NATIVE_DIRTY_CPU the process parks (the park protocol
 * of sched.c: PARKING, register, re-check, switch), and its registration
 * is a job on the one dirty run queue; a dirty scheduler thread takes the
 * job, runs fn on its own thread and stack (a NIF's C code runs on its
 * scheduler thread's native stack on the BEAM too, not on the Erlang
 * process's stack), marks the job done and wakes the process, which goes
 * back on its home scheduler's run queue like any woken process and
 * continues there or wherever a thief takes it.  The normal schedulers
 * never wait for a dirty call: they run other processes meanwhile.
 *
 * Dirty scheduler i is pinned to the PU of normal scheduler i (there are
 * never more of them), so with 2 PUs the dirty and normal schedulers share
 * the CPUs, as the BEAM's do, and the kernel shares each CPU between the
 * two threads; `dirty_cpu` sets how many (0: as many as normal
 * schedulers, the BEAM's default).  An idle dirty scheduler sleeps on the
 * queue's condition variable.
 *
 * Invariants:
 *   - a job is on the dirty run queue at most once, and only while its
 *     process is PARKING or PARKED in actor_native_call, whose stack frame
 *     frees the job only after reading done == 1;
 *   - the dirty thread reads nothing of the job after storing done (the
 *     process may free it at once), and wakes the process afterwards: a
 *     wake that finds the process running already is a spurious wake-up
 *     of a later park, which every park loop tolerates (sched.c);
 *   - native code never switches: a budget read before it is restored on
 *     the same thread, and a cb_reduce inside it never yields;
 *   - the dirty threads are joined before the normal schedulers stop, so
 *     no wake from a dirty thread can touch a freed poller.
 *
 * Rejected:
 *   - running the process's own context on the dirty thread (a true
 *     migration of its stack): a process on copying stacks (stacks=copy)
 *     lives on its scheduler's shared stack, which that scheduler reuses
 *     while the call runs; and the sanitizers would have to be told about
 *     a fiber switch on a thread that is not a scheduler.  What a user can
 *     observe (which thread runs the code, what the normal schedulers do
 *     meanwhile, where the process continues) is the same.
 *   - a job record inside cb_task_t: the struct is shared with the rest
 *     of the model; a malloc per call (tens of ns) is nothing beside a
 *     native call that is worth sending to a dirty scheduler (>= 1 ms).
 *   - a dirty run queue per dirty scheduler: the BEAM has one, and a job
 *     waits on it only while every dirty scheduler is busy.
 */
#include "models/actor/actor_int.h"

#include "runtime/clock.h"
#include "runtime/topo.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct dirty_job {
    cb_native_fn fn;
    void *arg;
    cb_task_t *proc;
    /* 0 until fn has returned; seq_cst store by the dirty thread, read by
     * the process in its park loop (see actor_native_call). */
    _Atomic int done;
    struct dirty_job *next; /* guarded by dirty.mu */
} dirty_job_t;

typedef struct dirty_sched {
    pthread_t thread;
    int index;
    int pu; /* the PU of normal scheduler `index` */
    bool started;
    /* Written by the dirty thread only (relaxed), summed at the end. */
    _Atomic int64_t calls;
    _Atomic int64_t busy_ns;
} dirty_sched_t;

/* The dirty CPU run queue and its schedulers.  mu is a leaf lock: nothing
 * else is taken while it is held (the wake happens after it is released). */
static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    dirty_job_t *head, *tail; /* guarded by mu */
    int64_t len, max_len;     /* guarded by mu */
    bool stopping;            /* guarded by mu */
    dirty_sched_t *scheds;    /* written by start/stop only */
    int n;
    /* Plain (inline) native calls made by processes; any thread adds. */
    _Atomic int64_t plain_calls;
} dirty = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void add_relaxed(_Atomic int64_t *c, int64_t d)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + d,
                          memory_order_relaxed);
}

static void *dirty_main(void *arg)
{
    dirty_sched_t *d = arg;
    if (d->pu >= 0)
        rt_topo_pin_self(d->pu);
    /* No reduction point in native code yields (this thread runs no
     * process, so actor_reduce_slow would only reset it anyway). */
    *cb__budget_addr() = INT64_MAX / 2;
    pthread_mutex_lock(&dirty.mu);
    for (;;) {
        while (!dirty.head && !dirty.stopping)
            pthread_cond_wait(&dirty.cv, &dirty.mu);
        dirty_job_t *job = dirty.head;
        if (!job)
            break; /* stopping, and nothing left to run */
        dirty.head = job->next;
        if (!dirty.head)
            dirty.tail = NULL;
        dirty.len--;
        pthread_mutex_unlock(&dirty.mu);

        cb_task_t *p = job->proc;
        int64_t t0 = rt_now_ns();
        job->fn(job->arg);
        add_relaxed(&d->busy_ns, rt_now_ns() - t0);
        add_relaxed(&d->calls, 1);
        /* seq_cst store, then a seq_cst fence before actor_wake reads the
         * state: with the process's fence between its PARKING store and
         * its load of done, either it sees done or we see PARKING (the
         * store-buffering pair of Dekker's protocol).  After this store
         * the job may be freed: only p, read above, is used. */
        atomic_store_explicit(&job->done, 1, memory_order_seq_cst);
        atomic_thread_fence(memory_order_seq_cst);
        actor_wake(p);
        pthread_mutex_lock(&dirty.mu);
    }
    pthread_mutex_unlock(&dirty.mu);
    return NULL;
}

/* Run fn inline on the calling thread with reduction points disabled:
 * fn never switches, so the budget is restored on the thread it was read
 * on (cb__budget_addr: a process's code may have migrated before). */
static void run_inline(cb_native_fn fn, void *arg)
{
    int64_t *budget = cb__budget_addr();
    int64_t saved = *budget;
    *budget = INT64_MAX / 2;
    fn(arg);
    *budget = saved;
}

int actor_native_call(cb_native_fn fn, void *arg, unsigned flags)
{
    if (flags & ~CB_NATIVE_DIRTY_CPU)
        return -EINVAL;
    cb_task_t *p = actor_self();
    if (!p || !(flags & CB_NATIVE_DIRTY_CPU)) {
        /* A plain NIF: it holds this normal scheduler until it returns.
         * On a foreign or a dirty thread there is no scheduler to hold. */
        if (p)
            atomic_fetch_add_explicit(&dirty.plain_calls, 1,
                                      memory_order_relaxed);
        run_inline(fn, arg);
        return 0;
    }
    dirty_job_t *job = malloc(sizeof *job);
    if (!job)
        return -ENOMEM;
    *job = (dirty_job_t){.fn = fn, .arg = arg, .proc = p};
    atomic_init(&job->done, 0);

    /* Park first, then register (the job on the queue), then re-check:
     * the park protocol of sched.c.  The queue's mutex publishes the
     * PARKING store to the dirty thread that takes the job. */
    actor_park_begin(p);
    pthread_mutex_lock(&dirty.mu);
    if (dirty.tail)
        dirty.tail->next = job;
    else
        dirty.head = job;
    dirty.tail = job;
    if (++dirty.len > dirty.max_len)
        dirty.max_len = dirty.len;
    pthread_cond_signal(&dirty.cv);
    pthread_mutex_unlock(&dirty.mu);
    for (;;) {
        /* Pairs with the dirty thread's store and fence (dirty_main). */
        atomic_thread_fence(memory_order_seq_cst);
        if (atomic_load_explicit(&job->done, memory_order_seq_cst)) {
            actor_park_cancel(p);
            break;
        }
        /* May resume on another normal scheduler: nothing per-thread is
         * held across it. */
        actor_park(p, -1);
        actor_park_begin(p);
    }
    free(job);
    return 0;
}

int actor_dirty_start(int n, char *err, size_t errlen)
{
    if (n == 0)
        n = actor.nscheds;
    if (n < 0 || n > actor.nscheds) {
        snprintf(err, errlen,
                 "dirty_cpu=%d: at most %d, the number of normal schedulers "
                 "(the BEAM caps +SDcpu at the normal schedulers, so dirty "
                 "work cannot starve normal work)",
                 n, actor.nscheds);
        return -EINVAL;
    }
    dirty.scheds = calloc((size_t)n, sizeof *dirty.scheds);
    if (!dirty.scheds) {
        snprintf(err, errlen, "no memory for %d dirty schedulers", n);
        return -ENOMEM;
    }
    pthread_cond_init(&dirty.cv, NULL);
    dirty.n = n;
    dirty.head = dirty.tail = NULL;
    dirty.len = dirty.max_len = 0;
    dirty.stopping = false;
    atomic_store_explicit(&dirty.plain_calls, 0, memory_order_relaxed);
    for (int i = 0; i < n; i++) {
        dirty_sched_t *d = &dirty.scheds[i];
        d->index = i;
        d->pu = actor.scheds[i].pu;
        int rc = pthread_create(&d->thread, NULL, dirty_main, d);
        if (rc != 0) {
            snprintf(err, errlen, "starting dirty scheduler %d: %s", i,
                     strerror(rc));
            actor_dirty_stop(false);
            return -rc;
        }
        d->started = true;
    }
    return 0;
}

void actor_dirty_stop(bool halted)
{
    if (!dirty.scheds)
        return;
    pthread_mutex_lock(&dirty.mu);
    dirty.stopping = true;
    pthread_cond_broadcast(&dirty.cv);
    pthread_mutex_unlock(&dirty.mu);
    for (int i = 0; i < dirty.n; i++) {
        dirty_sched_t *d = &dirty.scheds[i];
        if (!d->started)
            continue;
        if (halted) {
            /* A VM stopped by max_memory may leave a native call running
             * for ever; it is given up on after a second, as a normal
             * scheduler is (actor_sched_halt), and the memory stays. */
            struct timespec at;
            clock_gettime(CLOCK_REALTIME, &at);
            at.tv_sec += 1;
            if (pthread_timedjoin_np(d->thread, NULL, &at) != 0)
                return;
        } else {
            pthread_join(d->thread, NULL);
        }
    }
    RT_ASSERT(halted || dirty.head == NULL);
    pthread_cond_destroy(&dirty.cv);
    free(dirty.scheds);
    dirty.scheds = NULL;
    dirty.n = 0;
}

size_t actor_dirty_counters(cb_counter_t *out, size_t max)
{
    size_t n = 0;
    int64_t calls = 0, busy = 0;
    for (int i = 0; i < dirty.n; i++) {
        calls +=
            atomic_load_explicit(&dirty.scheds[i].calls, memory_order_relaxed);
        busy += atomic_load_explicit(&dirty.scheds[i].busy_ns,
                                     memory_order_relaxed);
    }
    pthread_mutex_lock(&dirty.mu);
    int64_t max_len = dirty.max_len;
    pthread_mutex_unlock(&dirty.mu);
    if (n < max)
        out[n++] = (cb_counter_t){"dirty_cpu_schedulers", dirty.n};
    if (n < max)
        out[n++] = (cb_counter_t){"dirty_calls", calls};
    if (n < max)
        out[n++] = (cb_counter_t){"dirty_busy_ns", busy};
    if (n < max)
        out[n++] = (cb_counter_t){"dirty_queue_max_len", max_len};
    if (n < max)
        out[n++] = (cb_counter_t){
            "native_calls_plain",
            atomic_load_explicit(&dirty.plain_calls, memory_order_relaxed)};
    return n;
}
