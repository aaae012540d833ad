/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Go blocks, `thread` tasks, the worker pool and the timer thread of the
 * `csp` model.
 *
 * A go block is a context (runtime/ctx.h) on a pooled guarded stack
 * (runtime/stack.h).  A fixed pool of worker threads runs them.  A go
 * block that parks or exits switches straight into the next runnable go
 * block of its worker (leave_go), and only into the worker's own loop
 * when there is none, or when it yields; whatever runs next on that
 * worker, once off the old stack, does what the go block asked (park,
 * yield, exit: finish_switch).  Going through the worker's stack every
 * time was two switches per hand-off instead of one: an unbuffered round
 * trip on one worker went from ~150 ns to ~100 ns without it.  A `thread`
 * is a pthread; its channel ops block it on a condition variable
 * (csp_waiter_t) instead of parking.
 *
 * Park protocol.  A go block that must wait registers a handler somewhere
 * (a channel queue, a timer, a join), then leaves its stack.  The party
 * that commits the handler may run on another thread and call csp_unpark
 * before the go block has left its stack, so `park` is a small state
 * machine:
 *   - whatever runs next on the worker (the next go block, or the
 *     worker's loop), once off the parked stack, CASes RUNNING -> PARKED;
 *     if it finds WAKE_PENDING instead, the wake-up came early and the go
 *     block is made runnable again at once;
 *   - csp_unpark stores PARKED -> RUNNING and enqueues (no CAS: only the
 *     one wake-up leaves PARKED), or CASes RUNNING -> WAKE_PENDING and
 *     leaves the enqueue to the CAS above.
 * Exactly one wake-up answers each park, because a handler is committed
 * once; a second wake-up of a running go block is a broken invariant.
 * A go block that parks on one channel op (no alts, no timeout) keeps the
 * channel's lock across the switch instead, and whatever runs next
 * stores PARKED and then releases it, as Go's gopark hands the channel
 * lock to park_m: whoever commits the op needs that lock, so it always
 * finds PARKED, and the park costs no CAS (a ping-pong round trip parks
 * twice).  The lock is then held while the worker finds and enters the
 * next go block, a queue pop in the common case.
 *
 * Run queues.  sched=shared: one FIFO under one lock, as core.async's
 * go pool is one ThreadPoolExecutor with one queue, plus one slot per
 * worker: a go block that a go block readies (or spawns) while nothing is
 * queued goes to its worker's slot instead, which is where the FIFO would
 * have put it (first), without the queue's lock (two RMWs per hand-off,
 * and four when a counter of queued go blocks was kept: a third of a
 * round trip on one worker).  A worker takes
 * its own slot first, then the queue; with more than one worker, idle
 * ones take other workers' slots when the queue is empty, and look at
 * them first every SLOT_LOOK pops, so a go block in the slot of a worker
 * that runs a hog is not starved by a queue that never empties; and a
 * slot counts as work in the idle protocol below.  sched=stealing: one
 * FIFO per worker plus a runnext slot; a go block woken or spawned by a
 * worker goes to that worker's runnext (the one it displaces to the
 * queue's tail), one woken by another thread goes round robin, and an
 * idle worker steals half of a victim's queue, then its runnext (Go's
 * runqput and runqsteal).  sched=lifo: one LIFO per worker, thieves take
 * the oldest half (Cilk's and Rayon's deques): depth first, so a tree of
 * spawns keeps a path alive instead of a whole level (skynet: ~2,500 go
 * blocks alive at once instead of a million).  Idle workers sleep on one
 * condition variable.
 *
 * Invariants:
 *   - a go block is in at most one run queue or slot, and only while
 *     RUNNING and not on a worker;
 *   - only a slot's worker thread fills it;
 *   - what a go block asked when it left its stack (w->after, w->prev) is
 *     done by the next code to run on that worker, before anything else;
 *   - per-worker state is reached through t->worker (kept in the task) or
 *     the noinline accessors below, never through a thread-local address
 *     cached across a switch;
 *   - no lock is held across a context switch;
 *   - whoever switches a go block in sets its reduction budget first
 *     (enter_go; INT64_MAX with preempt=none: a hog keeps its worker, as
 *     in core.async).
 *
 * Idle protocol (why no wake-up is lost): a producer puts a go block in
 * a run queue (its length is stored under the queue's lock), a runnext or
 * a slot, issues a seq_cst fence and then reads `nspinning` and `nidle`;
 * a worker going to sleep increments `nidle` under idle_mu (seq_cst) and
 * then reads every queue's length, runnext and slot (work_visible).  So
 * at least one sees the other (Go's wakep and its spinning M's final
 * check of every P make the same pair); the producer that sees a sleeper
 * (and no spinner) signals under idle_mu, which the sleeper holds from its
 * check until its wait.  Nothing is counted globally on the way: a
 * counter of queued go blocks that every enqueue and every pop wrote was
 * the line two workers fought over most (skynet 1M, sched=lifo, 2
 * workers: 30% of the time, and slower than one worker).  At most one
 * worker spins for a few microseconds before sleeping (Go's spinning M),
 * and producers leave the wake-up to it; so a worker that pops a go
 * block while more are queued in its own queue wakes a sleeper in turn
 * (Go's wakep), and one that spun or slept and then finds work does so if
 * more is visible in any queue (next_task), or a burst enqueued during
 * one spin would leave all but one go block waiting behind a busy worker
 * while others sleep (test_csp's burst_wakes_all).
 *
 * Rejected: a global count of queued go blocks for idle workers to watch
 * (every enqueue and pop wrote its line: see above); a slot for a go
 * block readied while others are queued (it would run ahead of them, as
 * Go's runnext does, which core.async's executor never does);
 * waking a worker per enqueue unconditionally (a futex call per
 * message hand-off even when every worker is busy); letting every idle
 * worker spin (two cores are shared with the rest of the machine here,
 * and eight spinning workers would starve the busy ones); per-worker
 * pollers (a hog would then delay the timers of every go block that slept
 * on its worker; core.async's timeouts run on their own daemon thread, and
 * so do ours: the timer thread below).
 */
#include "models/csp/csp_int.h"

#include "models/crash.h"

#include "runtime/clock.h"
#include "runtime/common.h"
#include "runtime/ids.h"
#include "runtime/poller.h"
#include "runtime/topo.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A run queue.  head/tail/n guarded by mu; n is also read without it
 * (relaxed, or after a fence in the idle protocol), so it is stored
 * atomically, by plain stores under mu rather than RMWs. */
typedef struct rq {
    csp_lock_t mu;
    cb_task_t *head, *tail;
    _Atomic int64_t n;
} RT_ALIGNED_CACHELINE rq_t;

/* Per-worker counters: written by the worker only (relaxed load+store, no
 * RMW), read by counters() from the runner thread.  spawned and exited
 * are the go blocks spawned on this worker and finished on it, from
 * which go_alive() counts the live ones; go_peak is the most it saw. */
typedef struct wstats {
    _Atomic int64_t switches, parks, yields, preemptions, steals, idle_sleeps,
        spawned, exited, go_peak;
} wstats_t;

#define WSTAT_ADD(w, f)                                                        \
    atomic_store_explicit(                                                     \
        &(w)->st.f,                                                            \
        atomic_load_explicit(&(w)->st.f, memory_order_relaxed) + 1,            \
        memory_order_relaxed)

struct csp_worker {
    rq_t q; /* this worker's queue (stealing); unused with shared */
    rt_ctx_t ctx;
    rt_stack_pool_t *pool; /* this worker's thread only */
    csp_waiter_t waiter;   /* go_ops=block: the worker thread blocks here */
    pthread_t thread;
    int idx;
    /* Set by a go block just before it leaves its stack: what it asked
     * (CSP_AFTER_*) and who it is; done by whatever runs next on this
     * worker, once off that stack (finish_switch). */
    int after;
    cb_task_t *prev;
    csp_lock_t *park_unlock; /* csp_park_unlock's lock, or NULL */
    uint64_t rng;                 /* steal victims; this worker only */
    rt_id_range_t ids;            /* task ids it hands out next; this worker */
    _Atomic(cb_task_t *) runnext; /* stealing: the next to run */
    /* shared: a go block this worker's go blocks readied while nothing
     * was queued (the run queues' essay). */
    _Atomic(cb_task_t *) slot;
    /* Consecutive runnext picks (stealing, lifo), or pops since the last
     * look at the other workers' slots (shared); this worker only. */
    int streak;
    csp_handler_t *hfree; /* free handlers; this worker's thread only */
    int nfree;
    cb_task_t *tfree; /* free task records (via next); this thread only */
    int ntfree;
    wstats_t st;
} RT_ALIGNED_CACHELINE;

static struct {
    csp_worker_t *workers;
    int nworkers;
    rq_t shared;
    _Atomic int nidle;
    _Atomic int nspinning;   /* 0 or 1: a worker looking for work, awake */
    pthread_mutex_t idle_mu; /* guards the sleep/wake hand-off */
    pthread_cond_t idle_cv;
    _Atomic bool stopping;
    _Atomic uint64_t rr; /* round robin for foreign enqueues (stealing) */
    _Atomic uint64_t next_id;
    /* Live `thread` processes; stop waits for 0 (go blocks: go_alive). */
    pthread_mutex_t live_mu;
    pthread_cond_t live_cv;
    _Atomic int64_t live;
    _Atomic int64_t blocked_workers;
    int64_t t0_ns, t0_ticks; /* csp_ticks_to_ns's origin; set at start */
} S = {.idle_mu = PTHREAD_MUTEX_INITIALIZER,
       .live_mu = PTHREAD_MUTEX_INITIALIZER};

static struct {
    pthread_t thread;
    rt_poller_t *poller;
    pthread_mutex_t mu; /* guards head, tail, stop */
    csp_preq_t *head, **tail;
    bool stop;
    bool running;
} T = {.mu = PTHREAD_MUTEX_INITIALIZER};

csp_totals_t csp_totals;
csp_config_t csp_cfg;

static _Thread_local cb_task_t *tls_task;
static _Thread_local csp_worker_t *tls_worker;
static _Thread_local csp_waiter_t tls_foreign_waiter;
static _Thread_local bool tls_foreign_ready;

/*
 * The accessors a go block uses after a possible switch: noinline, and an
 * empty asm with a memory clobber so the compiler can neither inline the
 * thread-local address nor reuse an earlier call's result (ctx.h).
 */
RT_NOINLINE cb_task_t *csp_current(void)
{
    __asm__ volatile("" ::: "memory");
    return tls_task;
}

static RT_NOINLINE csp_worker_t *worker_self(void)
{
    __asm__ volatile("" ::: "memory");
    return tls_worker;
}

static RT_NOINLINE void set_current(cb_task_t *t)
{
    __asm__ volatile("" ::: "memory");
    tls_task = t;
}

void csp_count_max(_Atomic int64_t *field, int64_t v)
{
    int64_t cur = atomic_load_explicit(field, memory_order_relaxed);
    /* Relaxed: a high-water mark, ordered with nothing else. */
    while (v > cur &&
           !atomic_compare_exchange_weak_explicit(
               field, &cur, v, memory_order_relaxed, memory_order_relaxed))
        ;
}

/* ---- waiters ---- */

void csp_waiter_init(csp_waiter_t *w)
{
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    atomic_init(&w->woken, 0);
}

void csp_waiter_destroy(csp_waiter_t *w)
{
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
}

/*
 * How many times a blocking thread polls its wake-up before it sleeps: a
 * pause is ~28 ns here, so ~6 us, under the cost of the futex wait and
 * wake it saves (io-fanout's coordinator, a `thread` gathering replies
 * from 1000 go blocks, slept and was woken ~0.7 times per request).  The
 * spin is only a cost on a machine with a core to spare or none busy.
 */
#define WAITER_SPINS 200

void csp_waiter_wait(csp_waiter_t *w)
{
    /* Relaxed: the mutex below orders the waker's writes before ours. */
    for (int i = 0; i < WAITER_SPINS &&
                    !atomic_load_explicit(&w->woken, memory_order_relaxed);
         i++)
        csp_cpu_relax();
    pthread_mutex_lock(&w->mu);
    while (!atomic_load_explicit(&w->woken, memory_order_relaxed))
        pthread_cond_wait(&w->cv, &w->mu);
    atomic_store_explicit(&w->woken, 0, memory_order_relaxed);
    pthread_mutex_unlock(&w->mu);
}

void csp_waiter_wake(csp_waiter_t *w)
{
    /* Signalled under mu: the waiter cannot return, and free the waiter,
     * before we are done with it. */
    pthread_mutex_lock(&w->mu);
    atomic_store_explicit(&w->woken, 1, memory_order_relaxed);
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

csp_waiter_t *csp_thread_waiter(void)
{
    cb_task_t *t = csp_current();
    if (t && t->kind == CSP_GO)
        return &t->worker->waiter;
    if (t)
        return t->waiter;
    if (!tls_foreign_ready) {
        csp_waiter_init(&tls_foreign_waiter);
        tls_foreign_ready = true;
    }
    return &tls_foreign_waiter;
}

bool csp_parks(void)
{
    cb_task_t *t = csp_current();
    return t && t->kind == CSP_GO && !csp_cfg.go_ops_block;
}

/* ---- handlers ---- */

void csp_lock_slow(csp_lock_t *l)
{
    for (;;) {
        for (int i = 0; i < 64; i++) {
            if (!atomic_load_explicit(&l->held, memory_order_relaxed) &&
                !atomic_exchange_explicit(&l->held, 1, memory_order_acquire))
                return;
            csp_cpu_relax();
        }
        sched_yield();
    }
}

/*
 * An alts or a join allocates its handler (a single put or take uses a
 * solo one in its frame, chan.c), so each worker thread keeps a cache of
 * free ones (a malloc and a free per park were a fifth of a round trip).
 * Only worker threads cache, and a worker drains its cache when it stops;
 * a handler freed on one worker may be reused by another.
 */
#define HANDLER_CACHE 256

static csp_handler_t *handler_alloc(void)
{
    csp_worker_t *w = worker_self();
    if (w && w->hfree) {
        csp_handler_t *h = w->hfree;
        w->hfree = h->next_free;
        w->nfree--;
        return h;
    }
    return malloc(sizeof(csp_handler_t));
}

static void handler_free(csp_handler_t *h)
{
    csp_worker_t *w = worker_self();
    if (w && w->nfree < HANDLER_CACHE) {
        h->next_free = w->hfree;
        w->hfree = h;
        w->nfree++;
        return;
    }
    free(h);
}

static void drain_handler_cache(csp_worker_t *w)
{
    while (w->hfree) {
        csp_handler_t *h = w->hfree;
        w->hfree = h->next_free;
        free(h);
    }
    w->nfree = 0;
}

csp_handler_t *csp_handler_new(void)
{
    csp_handler_t *h = handler_alloc();
    if (!h)
        return NULL;
    atomic_init(&h->lock.held, 0);
    atomic_init(&h->active, true);
    atomic_init(&h->refs, 1);
    h->go = NULL;
    h->waiter = NULL;
    h->index = -1;
    h->status = 0;
    h->val = CB_NIL;
    h->solo = false;
    return h;
}

void csp_handler_unref(csp_handler_t *h)
{
    /* acq_rel: the last owner's free must see every other owner's writes
     * (the committer's result stores, the party's reads). */
    if (atomic_fetch_sub_explicit(&h->refs, 1, memory_order_acq_rel) == 1)
        handler_free(h);
}

void csp_handler_wake(csp_handler_t *h)
{
    /* Read both before waking: the party may free h once it runs. */
    cb_task_t *go = h->go;
    csp_waiter_t *w = h->waiter;
    if (go)
        csp_unpark(go);
    else
        csp_waiter_wake(w);
}

void csp_wait_handler(csp_handler_t *h)
{
    if (h->go) {
        csp_park(h->go);
    } else {
        cb_task_t *t = csp_current();
        bool in_go = t && t->kind == CSP_GO;
        int64_t t0 = 0;
        if (in_go) {
            /* The pitfall made visible: a go block blocking its worker. */
            CSP_COUNT(blocking_in_go, 1);
            atomic_fetch_add_explicit(&S.blocked_workers, 1,
                                      memory_order_relaxed);
            t0 = rt_now_ns();
        } else {
            CSP_COUNT(thread_blocks, 1);
        }
        csp_waiter_wait(h->waiter);
        if (in_go) {
            CSP_COUNT(blocked_in_go_ns, rt_now_ns() - t0);
            atomic_fetch_sub_explicit(&S.blocked_workers, 1,
                                      memory_order_relaxed);
        }
    }
    RT_ASSERT(!atomic_load_explicit(&h->active, memory_order_acquire));
}

int64_t csp_blocked_workers(void)
{
    return atomic_load_explicit(&S.blocked_workers, memory_order_relaxed);
}

/* ---- run queues ---- */

/* Go's runqsteal takes half a victim's queue (of 256 slots at most). */
#define STEAL_MAX 128

static void rq_init(rq_t *q)
{
    atomic_init(&q->mu.held, 0);
    q->head = q->tail = NULL;
    atomic_init(&q->n, 0);
}

/* Expects q->mu. */
static void rq_count(rq_t *q, int64_t d)
{
    atomic_store_explicit(&q->n,
                          atomic_load_explicit(&q->n, memory_order_relaxed) + d,
                          memory_order_relaxed);
}

static int64_t rq_len(rq_t *q)
{
    return atomic_load_explicit(&q->n, memory_order_relaxed);
}

static void rq_push(rq_t *q, cb_task_t *t, bool at_head)
{
    csp_lock(&q->mu);
    if (at_head) {
        t->prev = NULL;
        t->next = q->head;
        if (q->head)
            q->head->prev = t;
        else
            q->tail = t;
        q->head = t;
    } else {
        t->next = NULL;
        t->prev = q->tail;
        if (q->tail)
            q->tail->next = t;
        else
            q->head = t;
        q->tail = t;
    }
    rq_count(q, 1);
    csp_unlock(&q->mu);
}

/* Expects q->mu; unlinks t. */
static void rq_unlink(rq_t *q, cb_task_t *t)
{
    if (t->prev)
        t->prev->next = t->next;
    else
        q->head = t->next;
    if (t->next)
        t->next->prev = t->prev;
    else
        q->tail = t->prev;
    rq_count(q, -1);
}

static cb_task_t *rq_pop(rq_t *q, bool from_tail)
{
    csp_lock(&q->mu);
    cb_task_t *t = from_tail ? q->tail : q->head;
    if (t)
        rq_unlink(q, t);
    csp_unlock(&q->mu);
    return t;
}

/* Move half of victim's queue (at least one) from its oldest end to w's
 * queue; return one of them.  Two queue locks are never held at once: the
 * batch is cut out first. */
static cb_task_t *steal(csp_worker_t *w, rq_t *victim, bool oldest_at_tail)
{
    cb_task_t *batch[STEAL_MAX];
    int got = 0;
    csp_lock(&victim->mu);
    int64_t take = (rq_len(victim) + 1) / 2;
    while (got < take && got < STEAL_MAX) {
        cb_task_t *t = oldest_at_tail ? victim->tail : victim->head;
        rq_unlink(victim, t);
        batch[got++] = t;
    }
    csp_unlock(&victim->mu);
    if (got == 0)
        return NULL;
    WSTAT_ADD(w, steals);
    for (int i = 1; i < got; i++)
        rq_push(&w->q, batch[i], false);
    return batch[0];
}

/* A spinning worker will find the work; otherwise wake a sleeper.  The
 * fence orders the caller's store of the work (a queue length, runnext,
 * a slot) before these loads: the idle protocol's producer side. */
static void wake_idle(void)
{
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&S.nspinning, memory_order_relaxed) == 0 &&
        atomic_load_explicit(&S.nidle, memory_order_relaxed) > 0) {
        pthread_mutex_lock(&S.idle_mu);
        pthread_cond_signal(&S.idle_cv);
        pthread_mutex_unlock(&S.idle_mu);
    }
}

/*
 * The shared queue's worker slots (the run queues' essay).  With one
 * worker nobody else reads a slot, so its owner needs no RMW; with more,
 * idle workers take from slots too, so the owner's take is an exchange.
 */
static bool slot_put(csp_worker_t *w, cb_task_t *t)
{
    /* Only the owner fills its slot, so this relaxed load is exact when it
     * says full; an empty shared queue means t goes ahead of nobody (a
     * stale answer only changes which of two go blocks runs first). */
    if (atomic_load_explicit(&w->slot, memory_order_relaxed) ||
        rq_len(&S.shared) != 0)
        return false;
    if (S.nworkers == 1) {
        /* Relaxed: this thread is the slot's only reader. */
        atomic_store_explicit(&w->slot, t, memory_order_relaxed);
        return true;
    }
    /* The release hands t (and what its waker wrote) to a thief's
     * exchange; wake_idle's fence orders it before the idle loads. */
    atomic_store_explicit(&w->slot, t, memory_order_release);
    wake_idle();
    return true;
}

static cb_task_t *slot_take(csp_worker_t *w)
{
    if (!atomic_load_explicit(&w->slot, memory_order_relaxed))
        return NULL;
    if (S.nworkers == 1) {
        cb_task_t *t = atomic_load_explicit(&w->slot, memory_order_relaxed);
        atomic_store_explicit(&w->slot, NULL, memory_order_relaxed);
        return t;
    }
    /* acq_rel: owner and thieves race for the slot; pairs with slot_put's
     * store. */
    return atomic_exchange_explicit(&w->slot, NULL, memory_order_acq_rel);
}

/* Another worker's slot, for an idle worker (shared, pool > 1). */
static cb_task_t *slot_steal(csp_worker_t *w)
{
    for (int k = 1; k < S.nworkers; k++) {
        cb_task_t *t = slot_take(&S.workers[(w->idx + k) % S.nworkers]);
        if (t)
            return t;
    }
    return NULL;
}

/* Work an idle worker could find: in a run queue or a runnext, and with
 * `slots`, in a worker's slot.  After the fence, these are the idle
 * protocol's loads that follow the sleeper's increment of nidle, which
 * must look at the slots too.  A spinning worker leaves them out: a slot
 * is work its own worker runs next, and a spinner that took it would
 * turn a hand-off between two go blocks on one worker into one between
 * two workers (a round trip of ~1 us instead of ~0.35 us, pool=2). */
static bool work_visible(bool slots)
{
    atomic_thread_fence(memory_order_seq_cst);
    if (csp_cfg.sched == CSP_SCHED_SHARED) {
        if (rq_len(&S.shared) > 0)
            return true;
        for (int k = 0; slots && k < S.nworkers; k++)
            if (atomic_load_explicit(&S.workers[k].slot, memory_order_relaxed))
                return true;
        return false;
    }
    for (int k = 0; k < S.nworkers; k++) {
        csp_worker_t *v = &S.workers[k];
        if (rq_len(&v->q) > 0 ||
            atomic_load_explicit(&v->runnext, memory_order_relaxed))
            return true;
    }
    return false;
}

/* Queue t; `behind` (a go block that yielded or was preempted) puts it
 * behind everything queued, never in runnext or on top of a LIFO: Go puts
 * a preempted goroutine on the global queue for the same reason. */
static void enqueue_task(cb_task_t *t, bool behind)
{
    csp_worker_t *w = worker_self();
    if (csp_cfg.sched == CSP_SCHED_SHARED && w && !behind && slot_put(w, t))
        return;
    if (csp_cfg.sched == CSP_SCHED_SHARED) {
        rq_push(&S.shared, t, false);
    } else if (w && behind) {
        rq_push(&w->q, t, false);
    } else if (!w) {
        uint64_t i = atomic_fetch_add_explicit(&S.rr, 1, memory_order_relaxed);
        rq_push(&S.workers[i % (uint64_t)S.nworkers].q, t, false);
    } else if (csp_cfg.sched == CSP_SCHED_LIFO) {
        /* Depth first: what this worker just readied or spawned runs
         * next, on top of what it readied before. */
        rq_push(&w->q, t, true);
    } else {
        /* Go's runnext: what this worker just readied or spawned runs
         * next, and the one it displaces goes to the queue's tail.
         * acq_rel: hands t (and what its waker wrote) to whoever takes it
         * from the slot, here or by stealing. */
        cb_task_t *old =
            atomic_exchange_explicit(&w->runnext, t, memory_order_acq_rel);
        if (old)
            rq_push(&w->q, old, false);
    }
    wake_idle();
}

static void make_runnable(cb_task_t *t)
{
    enqueue_task(t, false);
}

/* Go's schedule() looks past runnext every 61 ticks; so do we.  A LIFO
 * queue looks at its oldest end more rarely: each look starts a new
 * subtree of a depth-first computation (skynet: 30,000 go blocks alive
 * at once with 61, 2,500 with 1024) and 1024 still bounds how long
 * the oldest waits behind a ping-pong pair. */
#define RUNNEXT_STREAK 61
#define LIFO_STREAK 1024

static cb_task_t *try_pop(csp_worker_t *w)
{
    if (csp_cfg.sched == CSP_SCHED_SHARED)
        return rq_pop(&S.shared, false);
    cb_task_t *t = NULL;
    bool lifo = csp_cfg.sched == CSP_SCHED_LIFO;
    /* The newest first (runnext, or the top of a LIFO queue), but not for
     * ever: two go blocks readying each other would otherwise keep the
     * older ones waiting (Go bounds runnext with the time slice it
     * inherits; here every RUNNEXT_STREAK picks take the oldest). */
    if (w->streak < (lifo ? LIFO_STREAK : RUNNEXT_STREAK)) {
        t = lifo ? rq_pop(&w->q, false)
                 : atomic_exchange_explicit(&w->runnext, NULL,
                                            memory_order_acq_rel);
        if (t) {
            w->streak++;
            return t;
        }
    }
    w->streak = 0;
    if ((t = rq_pop(&w->q, lifo)) ||
        (!lifo && (t = atomic_exchange_explicit(&w->runnext, NULL,
                                                memory_order_acq_rel))) ||
        S.nworkers == 1)
        return t;
    w->rng ^= w->rng << 13, w->rng ^= w->rng >> 7, w->rng ^= w->rng << 17;
    int start = (int)(w->rng % (uint64_t)S.nworkers);
    for (int k = 0; k < S.nworkers && !t; k++) {
        csp_worker_t *v = &S.workers[(start + k) % S.nworkers];
        if (v != w)
            t = steal(w, &v->q, lifo);
    }
    /* Queues empty everywhere: a victim's runnext, as Go's runqsteal. */
    for (int k = 0; !lifo && k < S.nworkers && !t; k++) {
        csp_worker_t *v = &S.workers[(start + k) % S.nworkers];
        if (v != w && (t = atomic_exchange_explicit(&v->runnext, NULL,
                                                    memory_order_acq_rel)))
            WSTAT_ADD(w, steals);
    }
    return t;
}

/* How many times the spinning worker looks for work before it sleeps: a
 * pause is ~28 ns here, so ~8 us, the order of a futex wake-up plus a
 * thread switch.  Longer spins take a core, on a two-core machine, from
 * the very thread that is about to hand the worker some work. */
#define SPIN_CHECKS 300

/* w popped a go block from a queue.  If more wait behind it, pass the
 * wake-up on, since producers that saw a spinning worker woke nobody and
 * that spinner is about to be busy (Go's wakep on leaving the spinning
 * state). */
static void leave_queued(csp_worker_t *w)
{
    if (csp_cfg.sched == CSP_SCHED_SHARED ? rq_len(&S.shared) > 0
                                          : rq_len(&w->q) > 0)
        wake_idle();
}

/* How often a worker of the shared queue looks at the other workers'
 * slots before the queue: a go block in the slot of a worker that runs a
 * hog then waits at most this many pops of a queue that never empties. */
#define SLOT_LOOK 61

/* The next runnable go block for w, or NULL; never waits. */
static cb_task_t *take_work(csp_worker_t *w)
{
    cb_task_t *t;
    if (csp_cfg.sched != CSP_SCHED_SHARED) {
        if ((t = try_pop(w)))
            leave_queued(w);
        return t;
    }
    if ((t = slot_take(w)))
        return t;
    bool others = S.nworkers > 1;
    if (others && ++w->streak >= SLOT_LOOK) {
        w->streak = 0;
        if ((t = slot_steal(w)))
            goto stolen;
    }
    if ((t = try_pop(w))) {
        leave_queued(w);
        return t;
    }
    if (!others || !(t = slot_steal(w)))
        return NULL;
stolen:
    WSTAT_ADD(w, steals);
    return t;
}

/* The next go block for w, sleeping while there is none; NULL at stop. */
static cb_task_t *next_task(csp_worker_t *w)
{
    /* Whether w has spun or slept for work.  Producers that saw it
     * spinning (or woke it) woke nobody else, so once it has work it
     * passes the wake-up on if more is visible anywhere (Go's
     * resetspinning and wakep): leave_queued looks only at w's own queue,
     * and a go block in another sleeping worker's queue would otherwise
     * wait for as long as w's go block runs. */
    bool looked = false;
    for (;;) {
        cb_task_t *t = take_work(w);
        if (t) {
            if (looked && work_visible(false))
                wake_idle();
            return t;
        }
        if (atomic_load(&S.stopping))
            return NULL;
        looked = true;
        /* One worker at a time spins a little before sleeping (Go's
         * spinning M): a burst of enqueues then wakes nobody, where each
         * would otherwise cost a futex wake and a thread switch. */
        int zero = 0;
        if (atomic_compare_exchange_strong(&S.nspinning, &zero, 1)) {
            bool found = false;
            for (int i = 0; i < SPIN_CHECKS && !found; i++) {
                found = work_visible(false);
                csp_cpu_relax();
            }
            /* seq_cst store, then the idle protocol's loads below. */
            atomic_store(&S.nspinning, 0);
            if (found)
                continue;
        }
        pthread_mutex_lock(&S.idle_mu);
        atomic_fetch_add(&S.nidle, 1);
        if (!work_visible(true) && !atomic_load(&S.stopping)) {
            WSTAT_ADD(w, idle_sleeps);
            pthread_cond_wait(&S.idle_cv, &S.idle_mu);
        }
        atomic_fetch_sub(&S.nidle, 1);
        pthread_mutex_unlock(&S.idle_mu);
    }
}

/* ---- parking ---- */

static void leave_go(csp_worker_t *w, cb_task_t *t, int after);
static void finish_switch(csp_worker_t *w);

void csp_park(cb_task_t *t)
{
    RT_ASSERT(t->kind == CSP_GO);
    leave_go(t->worker, t, CSP_AFTER_PARK);
    /* Resumed, maybe on another worker, which wrote t->worker. */
    finish_switch(t->worker);
}

void csp_park_unlock(cb_task_t *t, csp_lock_t *l)
{
    RT_ASSERT(t->kind == CSP_GO);
    t->worker->park_unlock = l;
    csp_park(t);
}

void csp_unpark(cb_task_t *t)
{
    /* acquire: pairs with after_park's CAS, so the worker is done with
     * t's stack before t can be queued. */
    int s = atomic_load_explicit(&t->park, memory_order_acquire);
    for (;;) {
        if (s == CSP_PARKED) {
            /* No CAS: PARKED is left only by the one wake-up that answers
             * the park (us); the worker's CAS, the only other writer, is
             * behind us.  Relaxed: the run queue (its lock, or the slot's
             * owner being this very thread, or its exchange) publishes
             * the handler's result to whoever runs t. */
            atomic_store_explicit(&t->park, CSP_RUNNING, memory_order_relaxed);
            make_runnable(t);
            return;
        } else if (s == CSP_RUNNING) {
            /* acq_rel: the release publishes the handler's result to the
             * worker's CAS in after_park, which queues t itself. */
            if (atomic_compare_exchange_weak_explicit(
                    &t->park, &s, CSP_WAKE_PENDING, memory_order_acq_rel,
                    memory_order_acquire))
                return;
        } else {
            rt_panic("csp: go block %llu woken twice",
                     (unsigned long long)t->id);
        }
    }
}

static void after_park(csp_worker_t *w, cb_task_t *t)
{
    WSTAT_ADD(w, parks);
    csp_lock_t *l = w->park_unlock;
    if (l) {
        /* Nobody can commit t's op before l is released: a store, not a
         * CAS.  Relaxed: the unlock's release publishes it. */
        w->park_unlock = NULL;
        atomic_store_explicit(&t->park, CSP_PARKED, memory_order_relaxed);
        csp_unlock(l);
        return;
    }
    int s = CSP_RUNNING;
    /* Pairs with csp_unpark's CAS. */
    if (!atomic_compare_exchange_strong_explicit(&t->park, &s, CSP_PARKED,
                                                 memory_order_acq_rel,
                                                 memory_order_acquire)) {
        RT_ASSERT(s == CSP_WAKE_PENDING);
        atomic_store_explicit(&t->park, CSP_RUNNING, memory_order_relaxed);
        make_runnable(t);
    }
}

/* ---- task life ---- */

/*
 * Live go blocks, with no word that every spawn and exit writes: such a
 * word (a CAS at each) was the line two workers fought over most once the
 * count of queued go blocks was gone (skynet 1M depth first: a quarter of
 * the time).  Each worker counts the go blocks spawned on it and finished
 * on it; spawns from other threads are counted in csp_totals.  The live
 * ones are the spawns minus the exits, summed over the workers: a sum
 * read while they change is only near the truth, but the counts only
 * grow, so two reads in a row that agree saw every count at one instant
 * (a double collect), which is how stop knows that none is left.
 */
static int64_t go_collect(int64_t *exited)
{
    int64_t spawned =
        atomic_load_explicit(&csp_totals.go_spawned, memory_order_acquire);
    *exited = 0;
    for (int i = 0; i < S.nworkers; i++) {
        wstats_t *st = &S.workers[i].st;
        spawned += atomic_load_explicit(&st->spawned, memory_order_acquire);
        *exited += atomic_load_explicit(&st->exited, memory_order_acquire);
    }
    return spawned;
}

/* exact: a double collect (see above); otherwise one read, for go_peak. */
static int64_t go_alive(bool exact)
{
    int64_t exited, spawned = go_collect(&exited);
    while (exact) {
        int64_t exited2, spawned2 = go_collect(&exited2);
        if (spawned2 == spawned && exited2 == exited)
            break;
        spawned = spawned2;
        exited = exited2;
    }
    return spawned - exited;
}

/* How often a spawn samples go_alive for go_peak: each of a thread's
 * first PEAK_EVERY spawns, then every PEAK_EVERY-th (a read of every
 * worker's counters, lines they are writing). */
#define PEAK_EVERY 64

static void sample_peak(_Atomic int64_t *peak, int64_t nth_spawn, bool rmw)
{
    if (nth_spawn > PEAK_EVERY && nth_spawn % PEAK_EVERY != 0)
        return;
    int64_t alive = go_alive(false);
    if (rmw)
        csp_count_max(peak, alive);
    else if (alive > atomic_load_explicit(peak, memory_order_relaxed))
        atomic_store_explicit(peak, alive, memory_order_relaxed);
}

/* Live `thread` processes: d is +1 or -1; returns the new count. */
static int64_t live_add(int64_t d)
{
    /* The step that brings the count to zero is taken under live_mu, and
     * the broadcast with it: stop reads the count under live_mu too, so
     * once it sees zero the last exit has left the condition variable
     * and stop may destroy it.  (A bare fetch_add followed by lock and
     * broadcast let stop see zero, return and destroy live_cv while a
     * `thread` process, on its way out, was still broadcasting.)  Every
     * other step is a lock-free CAS; acq_rel so the last exit's writes
     * are visible to stop. */
    int64_t cur = atomic_load_explicit(&S.live, memory_order_relaxed);
    while (cur + d != 0)
        if (atomic_compare_exchange_weak_explicit(&S.live, &cur, cur + d,
                                                  memory_order_acq_rel,
                                                  memory_order_relaxed))
            return cur + d;
    pthread_mutex_lock(&S.live_mu);
    int64_t v = atomic_fetch_add_explicit(&S.live, d, memory_order_acq_rel) + d;
    if (v == 0)
        pthread_cond_broadcast(&S.live_cv);
    pthread_mutex_unlock(&S.live_mu);
    return v;
}

/*
 * Task records, like handlers, are cached per worker thread: skynet's
 * workers spawn on one and finish on the other, which sends glibc's
 * per-thread cache to its shared arena at every spawn and exit.
 */
#define TASK_CACHE 256

static cb_task_t *alloc_task(void)
{
    csp_worker_t *w = worker_self();
    if (w && w->tfree) {
        cb_task_t *t = w->tfree;
        w->tfree = t->next;
        w->ntfree--;
        memset(t, 0, sizeof *t);
        return t;
    }
    return calloc(1, sizeof(cb_task_t));
}

static void free_task(cb_task_t *t)
{
    free(t->order);
    if (t->waiter) {
        csp_waiter_destroy(t->waiter);
        free(t->waiter);
    }
    csp_worker_t *w = worker_self();
    if (w && w->ntfree < TASK_CACHE) {
        t->next = w->tfree;
        w->tfree = t;
        w->ntfree++;
        return;
    }
    free(t);
}

static void drain_task_cache(csp_worker_t *w)
{
    while (w->tfree) {
        cb_task_t *t = w->tfree;
        w->tfree = t->next;
        free(t);
    }
    w->ntfree = 0;
}

/* t's code has returned: answer its joiner, or free it, and count it
 * out (w: the worker a go block finished on; NULL for a `thread`). */
static void task_done(cb_task_t *t, csp_worker_t *w)
{
    bool detached = t->detached;
    int kind = t->kind;
    if (detached) {
        free_task(t);
    } else {
        /* acq_rel: publishes the task's writes to the joiner (the model's
         * "exit happens-before join returns"); pairs with csp_join. */
        csp_handler_t *j = atomic_exchange_explicit(&t->joiner, CSP_JOINED_DONE,
                                                    memory_order_acq_rel);
        if (j) {
            atomic_store_explicit(&j->active, false, memory_order_release);
            csp_handler_wake(j);
        }
    }
    if (kind == CSP_GO) {
        /* Release: what the go block did is seen by stop's go_alive. */
        atomic_store_explicit(
            &w->st.exited,
            atomic_load_explicit(&w->st.exited, memory_order_relaxed) + 1,
            memory_order_release);
    } else {
        live_add(-1);
    }
}

static int prepare_stack(cb_task_t *t, csp_worker_t *w);

/* Make t ready to be switched to on w, from whatever runs there now. */
static void enter_go(csp_worker_t *w, cb_task_t *t)
{
    if (!t->stack.lo) {
        /* Its first run.  Out of memory here is fatal, as for a
         * goroutine's stack ("runtime: out of memory"). */
        int rc = prepare_stack(t, w);
        if (rc < 0)
            rt_panic("csp: no stack for go block %llu: %s",
                     (unsigned long long)t->id, strerror(-rc));
    }
    t->worker = w;
    set_current(t);
    rt_stack_set_current(&t->stack, t->id);
    cb__budget = csp_cfg.preempt == CSP_PREEMPT_REDUCTIONS ? csp_cfg.reductions
                                                           : INT64_MAX;
    WSTAT_ADD(w, switches);
}

/*
 * Go block t leaves its stack for good reason `after`: straight into the
 * next runnable go block on w when there is one (a park or an exit), else
 * into w's loop (a yield goes to the loop too: it queues t behind the rest
 * first).  What t asked is done by whoever runs next, in finish_switch.
 */
static void leave_go(csp_worker_t *w, cb_task_t *t, int after)
{
    w->after = after;
    w->prev = t;
    cb_task_t *n = after == CSP_AFTER_YIELD ? NULL : take_work(w);
    rt_ctx_t *to = &w->ctx;
    if (n) {
        enter_go(w, n);
        to = &n->ctx;
    }
    if (after == CSP_AFTER_EXIT)
        rt_ctx_switch_final(&t->ctx, to);
    rt_ctx_switch(&t->ctx, to);
}

/* The first thing run after a switch on w: what the go block that left
 * asked for, now that nothing runs on its stack. */
static void finish_switch(csp_worker_t *w)
{
    cb_task_t *t = w->prev;
    int after = w->after;
    w->prev = NULL;
    w->after = CSP_AFTER_NONE;
    switch (after) {
    case CSP_AFTER_NONE: /* entered from w's loop */
        break;
    case CSP_AFTER_PARK:
        after_park(w, t);
        break;
    case CSP_AFTER_YIELD:
        enqueue_task(t, true);
        break;
    case CSP_AFTER_EXIT:
        rt_ctx_destroy(&t->ctx);
        rt_stack_release(w->pool, &t->stack);
        task_done(t, w);
        break;
    }
}

static void go_entry(void *arg)
{
    cb_task_t *t = arg;
    finish_switch(t->worker);
    t->fn(t->arg);
    leave_go(t->worker, t, CSP_AFTER_EXIT); /* the worker we end on */
}

void csp_exit_now(void)
{
    cb_task_t *t = csp_current();
    RT_ASSERT(t != NULL);
    if (t->kind == CSP_THREAD)
        cb_crash_unwind();
    leave_go(t->worker, t, CSP_AFTER_EXIT);
    __builtin_unreachable(); /* a final switch never returns */
}

static void *worker_main(void *arg)
{
    csp_worker_t *w = arg;
    tls_worker = w;
    rt_stack_thread_init();
    if (csp_cfg.ncpus > 0)
        rt_topo_pin_self(csp_cfg.cpus[w->idx % csp_cfg.ncpus]);
    rt_ctx_init_thread(&w->ctx);
    cb_task_t *t;
    while ((t = next_task(w))) {
        enter_go(w, t);
        w->after = CSP_AFTER_NONE;
        rt_ctx_switch(&w->ctx, &t->ctx);
        /* Back from whichever go block found nothing else to run. */
        rt_stack_set_current(NULL, 0);
        set_current(NULL);
        RT_ASSERT(w->after != CSP_AFTER_NONE);
        finish_switch(w);
    }
    drain_handler_cache(w);
    drain_task_cache(w);
    rt_stack_thread_term();
    return NULL;
}

static void *thread_main(void *arg)
{
    cb_task_t *t = arg;
    set_current(t);
    cb__budget = INT64_MAX; /* the kernel preempts a `thread` */
    if (csp_cfg.ncpus > 0)
        rt_topo_pin_self_set(csp_cfg.cpus, csp_cfg.ncpus);
    cb_crash_call(t->fn, t->arg);
    set_current(NULL);
    task_done(t, NULL);
    return NULL;
}

static int spawn_thread(cb_task_t *t)
{
    t->waiter = malloc(sizeof *t->waiter);
    if (!t->waiter)
        return -ENOMEM;
    csp_waiter_init(t->waiter);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr,
                              t->stack_size ? t->stack_size : 256 * 1024);
    CSP_COUNT(threads_spawned, 1);
    live_add(1);
    /* The thread may finish (and free a detached t) before create returns:
     * nothing reads t after a successful create. */
    int rc = pthread_create(&t->thread, &attr, thread_main, t);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        live_add(-1);
        return -rc;
    }
    return 0;
}

/* Map t's stack and make its context; expects to run on worker w (or
 * w == NULL: a fresh mapping). */
static int prepare_stack(cb_task_t *t, csp_worker_t *w)
{
    int rc =
        w && !t->stack_size
            ? rt_stack_alloc(w->pool, &t->stack)
            : rt_stack_map(t->stack_size ? t->stack_size : csp_cfg.stack_bytes,
                           &t->stack);
    /* A fresh slab stack gets its guard page before anything runs on it
     * (runtime/stack.h, "Slabs"). */
    if (rc == 0 && (rc = rt_stack_ready(&t->stack)) < 0)
        rt_stack_release(w->pool, &t->stack);
    if (rc < 0)
        return rc;
    rt_ctx_make(&t->ctx, t->stack.lo, t->stack.size, go_entry, t);
    return 0;
}

static int spawn_go(cb_task_t *t)
{
    /* The stack is mapped by the worker that first runs the go block:
     * a go block waiting in a run queue costs its task record only (a
     * breadth-first tree of a million spawns would otherwise hold a
     * million stacks before any of them ran), and a `thread` never
     * touches a worker's stack pool. */
    csp_worker_t *w = worker_self();
    if (w) {
        /* Release: with go_collect's acquire, a go block counted as
         * finished is never one whose spawn was not counted yet. */
        int64_t n =
            atomic_load_explicit(&w->st.spawned, memory_order_relaxed) + 1;
        atomic_store_explicit(&w->st.spawned, n, memory_order_release);
        sample_peak(&w->st.go_peak, n, false);
    } else {
        sample_peak(&csp_totals.go_peak, CSP_COUNT(go_spawned, 1) + 1, true);
    }
    make_runnable(t);
    return 0;
}

int csp_spawn(cb_task_fn fn, void *arg, const cb_spawn_opts_t *opts,
              cb_task_t **out)
{
    if (!fn)
        return -EINVAL;
    if (opts && opts->stack_size &&
        (opts->stack_size < RT_STACK_MIN_SIZE ||
         opts->stack_size > RT_STACK_MAX_SIZE))
        return -EINVAL;
    if (opts && (opts->link || opts->monitor_ref))
        return -ENOTSUP; /* no links or monitors: csp.c */
    cb_task_t *t = alloc_task();
    if (!t)
        return -ENOMEM;
    t->fn = fn;
    t->arg = arg;
    t->detached = out == NULL;
    t->kind = opts && opts->os_thread ? CSP_THREAD : CSP_GO;
    t->stack_size = opts ? opts->stack_size : 0;
    csp_worker_t *w = worker_self();
    t->id = rt_id_next(&S.next_id, w ? &w->ids : NULL);
    t->rng = (csp_cfg.seed ^ (t->id * 0x9E3779B97F4A7C15ULL)) | 1;
    atomic_init(&t->park, CSP_RUNNING);
    atomic_init(&t->joiner, NULL);
    if (out)
        *out = t;
    int rc = t->kind == CSP_GO ? spawn_go(t) : spawn_thread(t);
    if (rc < 0) {
        free_task(t);
        return rc;
    }
    return 0;
}

int csp_join(cb_task_t *t)
{
    if (!t || t->detached)
        return -EINVAL;
    if (atomic_load_explicit(&t->joiner, memory_order_acquire) !=
        CSP_JOINED_DONE) {
        csp_handler_t *h = csp_handler_new();
        if (!h)
            return -ENOMEM;
        csp_handler_bind(h);
        csp_handler_t *expect = NULL;
        /* Pairs with task_done's exchange. */
        if (atomic_compare_exchange_strong_explicit(&t->joiner, &expect, h,
                                                    memory_order_acq_rel,
                                                    memory_order_acquire))
            csp_wait_handler(h);
        else
            RT_ASSERT(expect == CSP_JOINED_DONE);
        csp_handler_unref(h);
    }
    free_task(t);
    return 0;
}

cb_task_t *csp_self(void)
{
    return csp_current();
}

void csp_yield(void)
{
    cb_task_t *t = csp_current();
    if (!t || t->kind != CSP_GO) {
        CSP_COUNT(yields, 1);
        sched_yield();
        return;
    }
    WSTAT_ADD(t->worker, yields);
    leave_go(t->worker, t, CSP_AFTER_YIELD);
    finish_switch(t->worker);
}

void csp_reduce_slow(void)
{
    cb_task_t *t = csp_current();
    if (!t || t->kind != CSP_GO || csp_cfg.preempt != CSP_PREEMPT_REDUCTIONS) {
        /* No preemption: the hog keeps its worker (core.async). */
        cb__budget = INT64_MAX;
        return;
    }
    if (!work_visible(true)) {
        /* Nobody waits for a worker: a new slice on the spot. */
        cb__budget = csp_cfg.reductions;
        return;
    }
    WSTAT_ADD(t->worker, preemptions);
    leave_go(t->worker, t, CSP_AFTER_YIELD);
    finish_switch(t->worker);
}

/* ---- the timer and IO thread ---- */

void csp_timer_submit(csp_preq_t *r)
{
    r->next = NULL;
    pthread_mutex_lock(&T.mu);
    *T.tail = r;
    T.tail = &r->next;
    pthread_mutex_unlock(&T.mu);
    rt_poller_wake(T.poller);
}

static bool apply_requests(void)
{
    pthread_mutex_lock(&T.mu);
    csp_preq_t *r = T.head;
    T.head = NULL;
    T.tail = &T.head;
    bool stop = T.stop;
    pthread_mutex_unlock(&T.mu);
    while (r) {
        csp_preq_t *nx = r->next;
        r->apply(r, T.poller);
        r = nx;
    }
    return stop;
}

static void *timer_main(void *arg)
{
    (void)arg;
    if (csp_cfg.ncpus > 0)
        rt_topo_pin_self_set(csp_cfg.cpus, csp_cfg.ncpus);
    while (!apply_requests()) {
        int rc = rt_poller_poll(T.poller, -1);
        if (rc < 0 && rc != -EINTR)
            rt_panic("csp: timer thread poll failed: %s", strerror(-rc));
    }
    return NULL;
}

/* ---- sleeping and IO ---- */

typedef struct sleep_req {
    csp_preq_t req;
    rt_timer_t timer;
    int64_t deadline;
    cb_task_t *task;
} sleep_req_t;

static void sleep_fire(rt_timer_t *tm, void *arg)
{
    (void)tm;
    sleep_req_t *r = arg;
    csp_unpark(r->task);
}

static void sleep_apply(csp_preq_t *req, void *poller)
{
    sleep_req_t *r = (sleep_req_t *)req;
    rt_timer_init(&r->timer);
    rt_timer_start(poller, &r->timer, r->deadline, sleep_fire, r);
}

static void block_sleep(int64_t ns)
{
    struct timespec at = rt_ns_to_timespec(rt_now_ns() + ns);
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL) == EINTR)
        ;
}

int csp_sleep(int64_t ns)
{
    CSP_COUNT(sleeps, 1);
    if (ns <= 0)
        return 0;
    cb_task_t *t = csp_current();
    if (!csp_parks()) {
        if (t && t->kind == CSP_GO) {
            /* Thread/sleep inside a go block: its worker sleeps too. */
            CSP_COUNT(blocking_in_go, 1);
            CSP_COUNT(blocked_in_go_ns, ns);
        }
        block_sleep(ns);
        return 0;
    }
    /* On the go block's stack, which stays put until the wake-up. */
    sleep_req_t r = {
        .req.apply = sleep_apply, .deadline = rt_now_ns() + ns, .task = t};
    csp_timer_submit(&r.req);
    csp_park(t);
    return 0;
}

typedef struct io_req {
    csp_preq_t req;
    rt_timer_t timer;
    int fd;
    uint32_t events;
    int64_t deadline; /* -1: none */
    cb_task_t *task;
    int result; /* written on the timer thread before the unpark */
    bool armed_fd;
} io_req_t;

static void io_finish(io_req_t *r, rt_poller_t *p, int result)
{
    if (r->armed_fd)
        rt_poller_del_fd(p, r->fd);
    rt_timer_cancel(p, &r->timer);
    r->result = result;
    csp_unpark(r->task);
}

static void io_fire(int fd, uint32_t revents, void *arg)
{
    (void)fd;
    io_req_t *r = arg;
    io_finish(r, T.poller, (int)revents);
}

static void io_timeout(rt_timer_t *tm, void *arg)
{
    (void)tm;
    io_req_t *r = arg;
    io_finish(r, T.poller, -ETIMEDOUT);
}

static void io_apply(csp_preq_t *req, void *poller)
{
    io_req_t *r = (io_req_t *)req;
    rt_timer_init(&r->timer);
    int rc = rt_poller_add_fd(poller, r->fd, r->events, io_fire, r);
    if (rc < 0) {
        r->result = rc;
        csp_unpark(r->task);
        return;
    }
    r->armed_fd = true;
    if (r->deadline >= 0)
        rt_timer_start(poller, &r->timer, r->deadline, io_timeout, r);
}

static int poll_once(int fd, uint32_t events, int64_t timeout_ns)
{
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
        if (n > 0)
            return pfd.revents & POLLNVAL ? -EBADF : pfd.revents;
        if (n == 0)
            return -ETIMEDOUT;
        if (errno != EINTR)
            return -errno;
    }
}

int csp_io_wait(int fd, uint32_t events, int64_t timeout_ns)
{
    CSP_COUNT(io_waits, 1);
    if (fd < 0 || !(events & (POLLIN | POLLOUT)))
        return -EINVAL;
    cb_task_t *t = csp_current();
    if (timeout_ns == 0 || !csp_parks()) {
        if (timeout_ns != 0 && t && t->kind == CSP_GO)
            CSP_COUNT(blocking_in_go, 1);
        return poll_once(fd, events, timeout_ns);
    }
    io_req_t r = {.req.apply = io_apply,
                  .fd = fd,
                  .events = events,
                  .deadline = timeout_ns < 0 ? -1 : rt_now_ns() + timeout_ns,
                  .task = t};
    csp_timer_submit(&r.req);
    csp_park(t);
    return r.result;
}

/* ---- start and stop ---- */

static void stop_timer_thread(void)
{
    if (!T.running)
        return;
    pthread_mutex_lock(&T.mu);
    T.stop = true;
    pthread_mutex_unlock(&T.mu);
    rt_poller_wake(T.poller);
    pthread_join(T.thread, NULL);
    /* Requests that raced with the stop start their timers now, so that
     * the pending timeouts are freed with the rest. */
    apply_requests();
    /* The poller first: it disarms the timers still in its heap, which
     * live in the pending timeout records. */
    rt_poller_free(T.poller);
    T.poller = NULL;
    csp_timeouts_free_pending();
    T.running = false;
}

static void stop_workers(int started, int inited)
{
    atomic_store(&S.stopping, true);
    pthread_mutex_lock(&S.idle_mu);
    pthread_cond_broadcast(&S.idle_cv);
    pthread_mutex_unlock(&S.idle_mu);
    for (int i = 0; i < started; i++)
        pthread_join(S.workers[i].thread, NULL);
    for (int i = 0; i < inited; i++) {
        rt_stack_pool_free(S.workers[i].pool);
        csp_waiter_destroy(&S.workers[i].waiter);
    }
    free(S.workers);
    S.workers = NULL;
}

int csp_sched_start(char *err, size_t errlen)
{
    memset(&csp_totals, 0, sizeof csp_totals);
    S.t0_ns = rt_now_ns();
    S.t0_ticks = csp_ticks();
    atomic_store(&S.nidle, 0);
    atomic_store(&S.nspinning, 0);
    atomic_store(&S.stopping, false);
    atomic_store(&S.next_id, 1);
    atomic_store(&S.blocked_workers, 0);
    atomic_store(&S.live, 0);
    pthread_cond_init(&S.idle_cv, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&S.live_cv, &ca);
    pthread_condattr_destroy(&ca);
    rq_init(&S.shared);
    rt_stack_overflow_handler_install();

    T.head = NULL;
    T.tail = &T.head;
    T.stop = false;
    int rc = rt_poller_new(&T.poller);
    if (rc < 0) {
        snprintf(err, errlen, "creating the timer thread's poller: %s",
                 strerror(-rc));
        return rc;
    }
    if ((rc = pthread_create(&T.thread, NULL, timer_main, NULL)) != 0) {
        rt_poller_free(T.poller);
        snprintf(err, errlen, "starting the timer thread: %s", strerror(rc));
        return -rc;
    }
    T.running = true;

    S.nworkers = csp_cfg.pool;
    S.workers = calloc((size_t)S.nworkers, sizeof *S.workers);
    if (!S.workers) {
        stop_timer_thread();
        snprintf(err, errlen, "out of memory for %d workers", S.nworkers);
        return -ENOMEM;
    }
    /* Every worker's queue exists before any worker can steal from it. */
    int inited = 0, started = 0;
    for (; inited < S.nworkers; inited++) {
        csp_worker_t *w = &S.workers[inited];
        w->idx = inited;
        w->rng =
            (csp_cfg.seed + 0x9E3779B97F4A7C15ULL * (uint64_t)(inited + 1)) | 1;
        /* Stacks are carved from slabs (one memory map for thousands of
         * guarded stacks) and up to 65,536 released ones are cached per
         * worker, as the actor model's schedulers do: a stack past the
         * cap gives its pages back, and every page given back is a TLB
         * shootdown of the other workers and a fresh fault on its next
         * use (skynet 1M, pool=2: 2.0 s with 1,024 cached unslabbed
         * stacks).  What the cache keeps resident is each cached
         * stack's touched pages, usually one. */
        if ((rc = rt_stack_pool_new_slabs(&w->pool, csp_cfg.stack_bytes,
                                          RT_STACK_POOL_MAX_CACHED)) < 0)
            break;
        rq_init(&w->q);
        csp_waiter_init(&w->waiter);
    }
    for (; inited == S.nworkers && started < S.nworkers; started++) {
        csp_worker_t *w = &S.workers[started];
        if ((rc = -pthread_create(&w->thread, NULL, worker_main, w)) < 0)
            break;
    }
    if (started < S.nworkers) {
        stop_workers(started, inited);
        stop_timer_thread();
        snprintf(err, errlen, "starting worker %d: %s", started, strerror(-rc));
        return rc;
    }
    return 0;
}

int csp_sched_stop(char *err, size_t errlen)
{
    /* Tasks that outlive the root are a workload bug; give stragglers on
     * their way out a moment, then say how many are left. */
    int64_t deadline = rt_now_ns() + 2 * RT_NS_PER_S;
    struct timespec at = rt_ns_to_timespec(deadline);
    pthread_mutex_lock(&S.live_mu);
    while (atomic_load(&S.live) != 0)
        if (pthread_cond_timedwait(&S.live_cv, &S.live_mu, &at) == ETIMEDOUT)
            break;
    int64_t left = atomic_load(&S.live);
    pthread_mutex_unlock(&S.live_mu);
    /* Go blocks signal nothing when they finish (go_alive): look again
     * every 100 us until the deadline. */
    int64_t go_left;
    while ((go_left = go_alive(true)) > 0 && rt_now_ns() < deadline)
        nanosleep(&(struct timespec){.tv_nsec = 100 * RT_NS_PER_US}, NULL);
    left += go_left;
    if (left > 0) {
        snprintf(err, errlen,
                 "%lld tasks still running after the root task "
                 "returned",
                 (long long)left);
        return -EBUSY;
    }
    stop_workers(S.nworkers, S.nworkers);
    stop_timer_thread();
    pthread_cond_destroy(&S.idle_cv);
    pthread_cond_destroy(&S.live_cv);
    return 0;
}

/* ---- counters ---- */

int64_t csp_ticks_to_ns(int64_t ticks)
{
    int64_t dns = rt_now_ns() - S.t0_ns, dticks = csp_ticks() - S.t0_ticks;
    if (dns <= 0 || dticks <= 0)
        return ticks;
    return (int64_t)((double)ticks * ((double)dns / (double)dticks));
}

size_t csp_sched_counters(cb_counter_t *out, size_t max)
{
    int64_t sw[7] = {0}, go_peak = 0;
    for (int i = 0; S.workers && i < S.nworkers; i++) {
        wstats_t *s = &S.workers[i].st;
        sw[0] += atomic_load_explicit(&s->switches, memory_order_relaxed);
        sw[1] += atomic_load_explicit(&s->parks, memory_order_relaxed);
        sw[2] += atomic_load_explicit(&s->yields, memory_order_relaxed);
        sw[3] += atomic_load_explicit(&s->preemptions, memory_order_relaxed);
        sw[4] += atomic_load_explicit(&s->steals, memory_order_relaxed);
        sw[5] += atomic_load_explicit(&s->idle_sleeps, memory_order_relaxed);
        sw[6] += atomic_load_explicit(&s->spawned, memory_order_relaxed);
        int64_t peak = atomic_load_explicit(&s->go_peak, memory_order_relaxed);
        go_peak = peak > go_peak ? peak : go_peak;
    }
    size_t n = 0;
#define X(name)                                                                \
    if (n < max) {                                                             \
        int64_t v =                                                            \
            atomic_load_explicit(&csp_totals.name, memory_order_relaxed);      \
        if (strcmp(#name, "context_switches") == 0)                            \
            v += sw[0];                                                        \
        else if (strcmp(#name, "parks") == 0)                                  \
            v += sw[1];                                                        \
        else if (strcmp(#name, "yields") == 0)                                 \
            v += sw[2];                                                        \
        else if (strcmp(#name, "preemptions") == 0)                            \
            v += sw[3];                                                        \
        else if (strcmp(#name, "steals") == 0)                                 \
            v += sw[4];                                                        \
        else if (strcmp(#name, "idle_sleeps") == 0)                            \
            v += sw[5];                                                        \
        else if (strcmp(#name, "go_spawned") == 0)                             \
            v += sw[6];                                                        \
        else if (strcmp(#name, "go_peak") == 0)                                \
            v = v > go_peak ? v : go_peak;                                     \
        else if (strcmp(#name, "put_blocked_ns") == 0)                         \
            v = csp_ticks_to_ns(v);                                            \
        out[n++] = (cb_counter_t){#name, v};                                   \
    }
    CSP_COUNTERS(X)
#undef X
    return n;
}
