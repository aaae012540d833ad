/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Schedulers and processes of the `actor` model: the ERTS scheduler loop
 * in miniature.  The guarantees (the reduction budget, fairness, idle
 * sleep, polling while busy) are stated in actor.c's essay; this file
 * holds the protocols that make them true.
 *
 * Parking.  A process that must wait sets itself PARKING, registers where
 * a waker will find it (a mailbox's waiter slot, a join word, a timer or
 * an fd on its scheduler's poller), re-checks its condition, and only then
 * switches to its scheduler, which completes the park with a CAS
 * PARKING -> PARKED.  A receive on one mailbox, the commonest park,
 * leaves the registration and the re-check to its scheduler after the
 * switch instead (park_port; mailbox.c's essay): nobody can find the
 * process before it is off its stack, so PARKED is a store, and a round
 * trip of two messages saves two CASes.  A waker CASes PARKED -> RUNNABLE
 * and enqueues, or PARKING -> WAKE_PENDING and leaves the enqueue to the
 * scheduler that is finishing the park.  Exactly one party enqueues a
 * woken process (a late waker of an earlier receive can only add a
 * spurious wake-up, see mailbox.c), and a
 * process is never on a run queue while it still runs on its stack (Go's
 * park_m does the same with its unlock function; the BEAM with its
 * process status lock).
 *
 * Direct hand-off.  A process that parks may switch straight to the
 * process its scheduler's loop would run next rather than to the loop
 * (direct_next): it records itself in s->prev with the reason, and the
 * context that runs next on that thread, whichever it is (the loop after
 * its switch returns, or the process switched to, in resumed()), finishes
 * the slice of s->prev: so "the scheduler, after the switch away" in the
 * park protocol means "whoever runs next on that scheduler", and the
 * CAS PARKING -> PARKED still happens only once the parker is off its
 * stack.  The next slot.  A process made runnable by its own scheduler's
 * thread while that scheduler's queue is empty goes in s->next, which only
 * that thread touches, so the wake and the dequeue take no lock.  The
 * queue order stays the BEAM's FIFO: the slot is filled only when the
 * queue is empty and is taken before the queue, and everything made
 * runnable while it is full goes behind it in the queue.  Thieves never
 * see the slot; it holds one process that its own scheduler runs next.
 *
 * Timers and fds live on the poller of the scheduler the process parked
 * on; such a process is "pinned" (pins > 0) until it has run again and
 * cancelled them, so wakers enqueue it on that scheduler and thieves leave
 * it alone: only the poller's owner may touch the poller.
 *
 * Processes are type-stable: their memory is recycled through per-
 * scheduler caches and freed only when the model stops, so a waker that
 * read a stale waiter pointer touches a live struct (and at worst causes
 * a spurious wake-up, which every park loop tolerates), never freed
 * memory.
 *
 * Invariants:
 *   - a process is on at most one run queue (or next slot), and on one
 *     only in state RUNNABLE;
 *   - s->next is non-NULL only while, or just after, s's queue is empty,
 *     and is written and read only by s's thread;
 *   - s->prev is set from a process's last instruction before it switches
 *     away to the first of the context that runs next on that thread;
 *   - a pinned process is enqueued only on its own scheduler and is never
 *     stolen;
 *   - rq_lock is a leaf lock: nothing else is taken while it is held;
 *   - a scheduler sleeps in its poller only after publishing sleeping = 1
 *     and re-checking its run queue under rq_lock, and every enqueue that
 *     exchanges sleeping from 1 to 0 writes the poller's eventfd, so no
 *     wake-up is lost.
 */
#include "models/actor/actor_int.h"

#include "runtime/clock.h"
#include "runtime/mem.h"
#include "runtime/topo.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* How often a busy scheduler looks at its poller: every POLL_EVERY short
 * slices, and after every slice that used its whole budget.  It then
 * polls when a timer is due or when BUSY_POLL_NS passed since its last
 * poll, so fds are seen at least that often under load; a scheduler that
 * polled only when idle would leave them unseen for as long as the load
 * lasts.  BUSY_POLL_NS is about one slice of cpu-crunch's hogs (~0.2 ms
 * for 4000 reductions), so a due timer is seen within a slice, and an
 * epoll_pwait2 that finds nothing (~0.5 us) costs under 0.3% of it. */
#define POLL_EVERY 16
#define BUSY_POLL_NS (200 * RT_NS_PER_US)
/* Processes allocated at once when a scheduler's cache is empty. */
#define PROC_BLOCK 256
/* Stacks a scheduler's pool keeps for reuse.  A stack released past the
 * cap is unmapped, and with two schedulers in one address space every
 * munmap of touched pages is a TLB shootdown of the other core: skynet's
 * waves of exits and spawns spent 63% of their time there with a cap of
 * 4096 (100,000 leaves: 697 ms; 95 ms with this cap).  The price is what
 * the cached stacks keep resident, their touched pages (usually one), as
 * the BEAM's allocators keep freed process memory in their carriers. */
#define STACKS_CACHED RT_STACK_POOL_MAX_CACHED

static _Thread_local actor_sched_t *tls_sched;

RT_NOINLINE actor_sched_t *actor_this_sched(void)
{
    /* The empty asm keeps the compiler from treating the call as const
     * and reusing a result from before a switch (see runtime/ctx.h). */
    __asm__ volatile("" ::: "memory");
    return tls_sched;
}

RT_NOINLINE cb_task_t *actor_self(void)
{
    actor_sched_t *s = actor_this_sched();
    return s ? s->current : NULL;
}

#define COUNT(s, name, n)                                                      \
    atomic_store_explicit(                                                     \
        &(s)->c.name,                                                          \
        atomic_load_explicit(&(s)->c.name, memory_order_relaxed) + (n),        \
        memory_order_relaxed)

/* ---- the run-queue lock ---- */

void actor_lock(actor_lock_t *l)
{
    for (int spins = 0;;) {
        /* Acquire: pairs with the release in actor_unlock, so the queue
         * the previous holder left is what we see. */
        if (!atomic_exchange_explicit(&l->held, 1, memory_order_acquire))
            return;
        while (atomic_load_explicit(&l->held, memory_order_relaxed)) {
            if (++spins > 100) {
                sched_yield();
                spins = 0;
            }
        }
    }
}

void actor_unlock(actor_lock_t *l)
{
    atomic_store_explicit(&l->held, 0, memory_order_release);
}

/* ---- run queues ---- */

static void notify(actor_sched_t *s)
{
    /* seq_cst: the enqueue (under rq_lock) comes before this load, and a
     * sleeper stores sleeping = 1 before taking rq_lock to re-check, so
     * either it sees our task or we see its flag. */
    if (atomic_load_explicit(&s->sleeping, memory_order_seq_cst) &&
        atomic_exchange_explicit(&s->sleeping, 0, memory_order_seq_cst))
        rt_poller_wake(s->poller);
}

/* Wake one sleeping scheduler other than self, so it can steal. */
static void kick_idle(actor_sched_t *self)
{
    if (atomic_load_explicit(&actor.nsleeping, memory_order_relaxed) <= 0)
        return;
    for (int i = 0; i < actor.nscheds; i++) {
        actor_sched_t *o = &actor.scheds[i];
        if (o != self &&
            atomic_load_explicit(&o->sleeping, memory_order_relaxed)) {
            notify(o);
            return;
        }
    }
}

/* Expects s->rq_lock held. */
static int64_t rq_add(actor_sched_t *s, int64_t d)
{
    int64_t n = atomic_load_explicit(&s->rq_len, memory_order_relaxed) + d;
    atomic_store_explicit(&s->rq_len, n, memory_order_relaxed);
    return n;
}

/* Make p runnable on s from the thread of scheduler me (NULL: a foreign
 * thread), which the caller read and has not switched since. */
static void enqueue_from(actor_sched_t *me, actor_sched_t *s, cb_task_t *p)
{
    /* Relaxed: rq_len may be stale by a remote enqueue in flight, which
     * then races with this one and may land on either side of it; no
     * process queued before this wake is overtaken. */
    if (me == s && !s->next &&
        atomic_load_explicit(&s->rq_len, memory_order_relaxed) == 0) {
        s->next = p;
        return;
    }
    p->rq_next = NULL;
    actor_lock(&s->rq_lock);
    if (s->rq_tail)
        s->rq_tail->rq_next = p;
    else
        s->rq_head = p;
    s->rq_tail = p;
    int64_t len = rq_add(s, 1);
    actor_unlock(&s->rq_lock);
    if (me != s)
        notify(s);
    else if (len + (s->next != NULL) > 1)
        kick_idle(s);
}

static void enqueue(actor_sched_t *s, cb_task_t *p)
{
    enqueue_from(actor_this_sched(), s, p);
}

/* Owner thread only. */
static cb_task_t *dequeue(actor_sched_t *s)
{
    cb_task_t *p = s->next;
    if (p) {
        s->next = NULL;
        return p;
    }
    /* Relaxed: a remote enqueue this misses is found by idle(), which
     * re-checks under rq_lock after publishing sleeping (see notify). */
    if (atomic_load_explicit(&s->rq_len, memory_order_relaxed) == 0)
        return NULL;
    actor_lock(&s->rq_lock);
    p = s->rq_head;
    if (p) {
        s->rq_head = p->rq_next;
        if (!s->rq_head)
            s->rq_tail = NULL;
        rq_add(s, -1);
    }
    actor_unlock(&s->rq_lock);
    return p;
}

/* Processes a thief looks at per victim, so a queue full of pinned
 * processes (stacks=copy) is not walked end to end under its lock. */
#define STEAL_SCAN_MAX 256

/*
 * Move up to `want` unpinned processes from the head of v's queue (the
 * ones that would run next there) to s: all of them onto s's queue, except
 * the first when first_out is given, which the caller runs at once.
 * Returns how many moved.
 */
static int64_t take_from(actor_sched_t *s, actor_sched_t *v, int64_t want,
                         cb_task_t **first_out)
{
    cb_task_t *got = NULL, *got_tail = NULL;
    int64_t n = 0, looked = 0;
    actor_lock(&v->rq_lock);
    cb_task_t **pp = &v->rq_head, *prev = NULL;
    while (*pp && n < want && looked++ < STEAL_SCAN_MAX) {
        cb_task_t *p = *pp;
        if (p->pins > 0) {
            prev = p;
            pp = &p->rq_next;
            continue;
        }
        *pp = p->rq_next;
        if (v->rq_tail == p)
            v->rq_tail = prev;
        rq_add(v, -1);
        p->rq_next = NULL;
        p->sched = s;
        if (got_tail)
            got_tail->rq_next = p;
        else
            got = p;
        got_tail = p;
        n++;
    }
    actor_unlock(&v->rq_lock);
    if (!got)
        return 0;
    cb_task_t *rest = got;
    int64_t nrest = n;
    if (first_out) {
        *first_out = got;
        rest = got->rq_next;
        got->rq_next = NULL;
        nrest--;
    }
    if (rest) {
        actor_lock(&s->rq_lock);
        if (s->rq_tail)
            s->rq_tail->rq_next = rest;
        else
            s->rq_head = rest;
        s->rq_tail = got_tail;
        rq_add(s, nrest);
        actor_unlock(&s->rq_lock);
    }
    COUNT(s, stolen_processes, n);
    return n;
}

/* An idle scheduler takes half of the first non-empty queue it finds. */
static cb_task_t *steal(actor_sched_t *s)
{
    for (int k = 1; k < actor.nscheds; k++) {
        actor_sched_t *v = &actor.scheds[(s->index + k) % actor.nscheds];
        int64_t len = atomic_load_explicit(&v->rq_len, memory_order_relaxed);
        if (len < 1)
            continue;
        cb_task_t *first = NULL;
        if (take_from(s, v, (len + 1) / 2, &first)) {
            COUNT(s, steals, 1);
            return first;
        }
    }
    return NULL;
}

/*
 * A busy scheduler evens out its queue with a longer one: stealing alone
 * never moves work to a scheduler that is never idle, so 8,000 processes
 * on one queue and 2,000 on the other would keep that 4:1 split of the
 * CPU for ever.  The BEAM balances run queues periodically in the same
 * spirit (check_balance, migration paths), with averages over a longer
 * interval; this is its pairwise, greedy form.
 */
static void balance(actor_sched_t *s)
{
    int64_t mine = atomic_load_explicit(&s->rq_len, memory_order_relaxed);
    for (int k = 1; k < actor.nscheds; k++) {
        actor_sched_t *v = &actor.scheds[(s->index + k) % actor.nscheds];
        int64_t len = atomic_load_explicit(&v->rq_len, memory_order_relaxed);
        if (len > mine + 1) {
            if (take_from(s, v, (len - mine) / 2, NULL))
                COUNT(s, migrations, 1);
            return;
        }
    }
}

/* ---- waking and parking ---- */

void actor_wake(cb_task_t *p)
{
    int st = atomic_load_explicit(&p->state, memory_order_acquire);
    for (;;) {
        if (st == ACTOR_PARKED) {
            /* acq_rel: acquire what the process wrote before parking
             * (pins, sched), release our own writes (the message) to it. */
            if (atomic_compare_exchange_weak_explicit(
                    &p->state, &st, ACTOR_RUNNABLE, memory_order_acq_rel,
                    memory_order_acquire)) {
                actor_sched_t *me = actor_this_sched();
                if (me && me != p->sched)
                    COUNT(me, wakeups_remote, 1);
                enqueue_from(me, p->sched, p);
                return;
            }
        } else if (st == ACTOR_PARKING) {
            /* The scheduler finishing the park sees WAKE_PENDING in its
             * CAS (acq_rel there) and enqueues the process itself. */
            if (atomic_compare_exchange_weak_explicit(
                    &p->state, &st, ACTOR_WAKE_PENDING, memory_order_acq_rel,
                    memory_order_acquire))
                return;
        } else {
            return;
        }
    }
}

void actor_park_begin(cb_task_t *p)
{
    /* Relaxed: every registration that follows (a mailbox's waiter, a
     * join word) is a seq_cst store or RMW, whose release half publishes
     * this store to the waker that acquires the registration; timers and
     * fds fire on this very thread. */
    atomic_store_explicit(&p->state, ACTOR_PARKING, memory_order_relaxed);
}

void actor_park_cancel(cb_task_t *p)
{
    /* A waker may have turned PARKING into WAKE_PENDING meanwhile; either
     * way the process goes on running and nobody enqueues it. */
    atomic_store_explicit(&p->state, ACTOR_RUNNING, memory_order_relaxed);
}

static cb_task_t *direct_next(actor_sched_t *s, cb_task_t *p);
static void slice_begin(actor_sched_t *s, cb_task_t *p);
static void finish_park(actor_sched_t *s, cb_task_t *p);

/* Its slice's reductions, added by the process itself before it switches
 * away (it is still on the thread whose budget it spent).  Through
 * cb__budget_addr: this code runs on process stacks, which migrate, so a
 * thread-local's address must not be reused from before a switch. */
static inline void account(cb_task_t *p)
{
    if (actor.reductions)
        p->reductions += actor.reductions - *cb__budget_addr();
}

/*
 * First thing a process does when it resumes: if it was switched to
 * directly by a process that parked (s->prev set), finish that park here,
 * on this stack, now that the parked one is off its own.  noinline: the
 * process may resume on another thread than it left.
 */
static RT_NOINLINE void resumed(void)
{
    actor_sched_t *s = actor_this_sched();
    cb_task_t *prev = s->prev;
    if (!prev)
        return;
    s->prev = NULL;
    COUNT(s, slices, 1);
    s->ticks++;
    finish_park(s, prev);
}

static void switch_out(cb_task_t *p, actor_why_t why)
{
    actor_sched_t *s = p->sched;
    account(p);
    s->why = why;
    s->prev = p;
    cb_task_t *q = why == ACTOR_WHY_PARK ? direct_next(s, p) : NULL;
    if (q) {
        slice_begin(s, q);
        rt_ctx_switch(&p->ctx, &q->ctx);
    } else {
        rt_ctx_switch(&p->ctx, &s->ctx);
    }
    resumed();
}

static void timer_fired(rt_timer_t *t, void *arg)
{
    (void)t;
    actor_wake(arg);
}

void actor_park_recv(cb_task_t *p, cb_port_t *port, int64_t deadline_ns)
{
    p->park_port = port;
    actor_park(p, deadline_ns);
}

void actor_park(cb_task_t *p, int64_t deadline_ns)
{
    actor_sched_t *s = p->sched;
    bool timed = deadline_ns >= 0;
    if (timed) {
        p->pins++;
        rt_timer_start(s->poller, &p->timer, deadline_ns, timer_fired, p);
    }
    COUNT(s, parks, 1);
    switch_out(p, ACTOR_WHY_PARK);
    if (timed) {
        /* Pinned: we resumed on the scheduler that owns the timer. */
        RT_ASSERT(p->sched == s);
        rt_timer_cancel(s->poller, &p->timer);
        p->pins--;
    }
}

/* ---- processes ---- */

static cb_term_t atom_normal;

static void proc_entry(void *arg)
{
    cb_task_t *p = arg;
    resumed();
    p->fn(p->arg);
    actor_proc_exit(p, atom_normal);
}

/* The one way out of a process: its function returned, it called cb_exit,
 * or an exit signal killed it (exit.c).  Its C frames above are simply
 * left behind; the stack is released by the scheduler after the switch. */
void actor_proc_exit(cb_task_t *p, cb_term_t reason)
{
    actor_exit_signals(p, reason);
    if (p->reply) {
        actor_port_free(p->reply);
        p->reply = NULL;
    }
    actor_sched_t *s = p->sched;
    account(p);
    s->why = ACTOR_WHY_EXIT;
    s->prev = p;
    rt_ctx_switch_final(&p->ctx, &s->ctx);
}

void *actor_block_alloc(size_t n, size_t size)
{
    /* Aligned to a line, so the fields that a struct puts on a line of
     * their own (a port's producers' words, its senders' reads) do not
     * straddle two.  calloc and a rounded-up pointer, not aligned_alloc
     * and memset: calloc takes fresh pages already zero, and the memset
     * of a block of processes cost spawn ~20 ns a process. */
    if (size && n > (SIZE_MAX - RT_CACHELINE) / size)
        return NULL;
    void *block = calloc(1, n * size + RT_CACHELINE - 1);
    if (!block)
        return NULL;
    /* Every object of a block is written before long (a fresh process
     * record at spawn, a message node at send): one call faults the
     * block's pages in, where a trap each was ~50 ns of a spawn. */
    rt_mem_prefault(block, n * size);
    pthread_mutex_lock(&actor.reg_mu);
    if (actor.nblocks == actor.blocks_cap) {
        size_t cap = actor.blocks_cap ? actor.blocks_cap * 2 : 64;
        void **b = realloc(actor.blocks, cap * sizeof *b);
        if (!b) {
            pthread_mutex_unlock(&actor.reg_mu);
            free(block);
            return NULL;
        }
        actor.blocks = b;
        actor.blocks_cap = cap;
    }
    actor.blocks[actor.nblocks++] = block; /* what stop frees */
    pthread_mutex_unlock(&actor.reg_mu);
    return (void *)(((uintptr_t)block + RT_CACHELINE - 1) &
                    ~(uintptr_t)(RT_CACHELINE - 1));
}

static cb_task_t *proc_alloc(actor_sched_t *s)
{
    if (s && s->free_procs) {
        cb_task_t *p = s->free_procs;
        s->free_procs = p->free_next;
        s->free_count--;
        return p;
    }
    cb_task_t *block = actor_block_alloc(PROC_BLOCK, sizeof *block);
    if (!block)
        return NULL;
    atomic_fetch_add_explicit(&actor.procs_allocated, PROC_BLOCK,
                              memory_order_relaxed);
    for (int i = 0; i < PROC_BLOCK; i++) {
        atomic_init(&block[i].state, ACTOR_DONE);
        atomic_init(&block[i].join_word, ACTOR_JOIN_EXITED);
    }
    /* Keep the first; the rest go to this scheduler's cache.  A foreign
     * thread (run() spawning the root, once per run) has no cache and
     * leaves the rest unused until stop frees the block. */
    if (s) {
        for (int i = PROC_BLOCK - 1; i >= 1; i--) {
            block[i].free_next = s->free_procs;
            s->free_procs = &block[i];
        }
        s->free_count += PROC_BLOCK - 1;
    }
    return &block[0];
}

static void proc_recycle(actor_sched_t *s, cb_task_t *p)
{
    p->free_next = s->free_procs;
    s->free_procs = p;
    s->free_count++;
}

static int spawn(cb_task_fn fn, void *arg, const cb_spawn_opts_t *opts,
                 cb_task_t **out, bool is_root)
{
    if (opts && opts->os_thread)
        return -ENOTSUP;
    actor_sched_t *s = actor_this_sched();
    cb_task_t *p = proc_alloc(s);
    if (!p)
        return -ENOMEM;
    p->stack = (rt_stack_t){0};
    p->own_stack = false;
    if (opts && opts->stack_size && opts->stack_size != actor.stack_bytes) {
        int rc = rt_stack_map(opts->stack_size, &p->stack);
        if (rc < 0) {
            if (s)
                proc_recycle(s, p);
            return rc;
        }
        p->own_stack = true;
    } else if ((!actor.copy_stacks || is_root) &&
               !(s && !is_root && rt_stack_pool_carves_slabs(s->stacks))) {
        /* Taken now only where it cannot wait for the first run
         * (slice_begin): a process that has not run needs no stack, and
         * one taken then from the cache is one the last exit left hot,
         * where one taken at spawn is a fresh page to fault in (skynet's
         * million leaves wait in the run queue before any runs).  So a
         * pool that carves slabs defers; any other takes the stack here,
         * so that running out of them (a guarded stack is then two memory
         * maps, and vm.max_map_count allows ~65,000) is spawn's -ENOMEM,
         * not a scheduler's panic.  A foreign thread (run() spawning the
         * root) has no pool and maps its own. */
        int rc = s ? rt_stack_alloc(s->stacks, &p->stack)
                   : rt_stack_map(actor.stack_bytes, &p->stack);
        if (rc < 0) {
            if (s)
                proc_recycle(s, p);
            return rc;
        }
        p->own_stack = s == NULL;
    }
    p->pins = 0;
    p->fn = fn;
    p->arg = arg;
    p->id = rt_id_next(&actor.next_id, s ? &s->ids : NULL);
    p->detached = out == NULL || is_root;
    p->is_root = is_root;
    p->started = false;
    p->copied = false;
    p->reductions = 0;
    p->msgs_in = 0;
    p->msg_bytes_in = 0;
    rt_timer_init(&p->timer);
    p->io_revents = 0;
    p->reply = NULL;
    p->rng = (actor.seed ^ (p->id * 0x9E3779B97F4A7C15ULL)) | 1;
    atomic_store_explicit(&p->join_word, ACTOR_JOIN_NONE, memory_order_relaxed);
    atomic_store_explicit(&p->state, ACTOR_RUNNABLE, memory_order_relaxed);
    actor_exit_init(p);
    if (opts && (opts->link || opts->monitor_ref)) {
        /* Before it can run, so it cannot die unobserved. */
        int rc = actor_spawn_watch(p, opts);
        if (rc < 0) {
            /* Never ran: no signal was sent, no stack was used. */
            actor_exit_signals(p, CB_NIL);
            if (p->own_stack)
                rt_stack_unmap(&p->stack);
            else if (p->stack.map && s)
                rt_stack_release(s->stacks, &p->stack);
            if (s)
                proc_recycle(s, p);
            return rc;
        }
    }
    /* The BEAM puts a new process on its parent's run queue. */
    actor_sched_t *home = s ? s : &actor.scheds[0];
    p->sched = home;
    if (s) {
        COUNT(s, spawns, 1);
        atomic_store_explicit(
            &s->live, atomic_load_explicit(&s->live, memory_order_relaxed) + 1,
            memory_order_relaxed);
    } else {
        /* A foreign thread (run()) spawning the root: count it on
         * scheduler 0 with an RMW, as that thread also writes it. */
        atomic_fetch_add_explicit(&home->live, 1, memory_order_relaxed);
    }
    if (out)
        *out = p;
    enqueue(home, p);
    return 0;
}

int actor_spawn(cb_task_fn fn, void *arg, const cb_spawn_opts_t *opts,
                cb_task_t **out)
{
    return spawn(fn, arg, opts, out, false);
}

int actor_spawn_root(cb_task_fn fn, void *arg)
{
    cb_task_t *t;
    return spawn(fn, arg, NULL, &t, true);
}

int actor_join(cb_task_t *t)
{
    cb_task_t *self = actor_self();
    if (!t || t->detached || !self || t == self)
        return -EINVAL;
    for (;;) {
        uintptr_t w = atomic_load_explicit(&t->join_word, memory_order_acquire);
        if (w == ACTOR_JOIN_EXITED)
            break;
        actor_park_begin(self);
        uintptr_t expect = ACTOR_JOIN_NONE;
        if (w == (uintptr_t)self ||
            atomic_compare_exchange_strong_explicit(
                &t->join_word, &expect, (uintptr_t)self, memory_order_seq_cst,
                memory_order_acquire)) {
            /* Re-check after registering (the exit exchanges the word, so
             * it either saw us or we see EXITED now). */
            if (atomic_load_explicit(&t->join_word, memory_order_acquire) ==
                ACTOR_JOIN_EXITED) {
                actor_park_cancel(self);
                break;
            }
            actor_park(self, -1);
            if (actor_kill_pending(self))
                actor_die_killed(self);
        } else {
            actor_park_cancel(self);
            RT_ASSERT(expect == ACTOR_JOIN_EXITED);
            break;
        }
    }
    /* acquire above: everything t did happens-before this point. */
    proc_recycle(actor_this_sched(), t);
    return 0;
}

void actor_yield(void)
{
    cb_task_t *p = actor_self();
    if (!p) {
        sched_yield();
        return;
    }
    COUNT(p->sched, yields, 1);
    switch_out(p, ACTOR_WHY_YIELD);
    if (actor_kill_pending(p))
        actor_die_killed(p);
}

void actor_reduce_slow(void)
{
    actor_sched_t *s = actor_this_sched();
    if (!s || !s->current || actor.reductions == 0) {
        cb__budget = INT64_MAX / 2;
        return;
    }
    cb_task_t *p = s->current;
    switch_out(p, ACTOR_WHY_PREEMPT);
    /* A reduction point is a safe point: the caller holds nothing of the
     * runtime's (see exit.c on where signals take effect). */
    if (actor_kill_pending(p))
        actor_die_killed(p);
}

int actor_sleep(int64_t ns)
{
    cb_task_t *p = actor_self();
    RT_ASSERT(p != NULL);
    int64_t deadline = rt_now_ns() + (ns > 0 ? ns : 0);
    if (ns <= 0) {
        actor_yield();
        return 0;
    }
    while (rt_now_ns() < deadline) {
        actor_park_begin(p);
        actor_park(p, deadline);
        if (actor_kill_pending(p))
            actor_die_killed(p);
    }
    return 0;
}

static void fd_ready(int fd, uint32_t revents, void *arg)
{
    (void)fd;
    cb_task_t *p = arg;
    p->io_revents = revents ? revents : 1;
    actor_wake(p);
}

int actor_io_wait(int fd, uint32_t events, int64_t timeout_ns)
{
    cb_task_t *p = actor_self();
    RT_ASSERT(p != NULL);
    actor_sched_t *s = p->sched;
    /* POLLIN/POLLOUT and EPOLLIN/EPOLLOUT have the same values on Linux. */
    p->io_revents = 0;
    int rc = rt_poller_add_fd(s->poller, fd, events, fd_ready, p);
    if (rc < 0)
        return rc;
    p->pins++;
    int64_t deadline = timeout_ns < 0 ? -1 : rt_now_ns() + timeout_ns;
    int result = -ETIMEDOUT;
    for (;;) {
        actor_park_begin(p);
        if (p->io_revents) {
            actor_park_cancel(p);
            result = (int)p->io_revents;
            break;
        }
        if (deadline >= 0 && rt_now_ns() >= deadline) {
            actor_park_cancel(p);
            break;
        }
        actor_park(p, deadline);
        if (actor_kill_pending(p)) {
            rt_poller_del_fd(s->poller, fd);
            p->pins--;
            actor_die_killed(p);
        }
    }
    RT_ASSERT(p->sched == s);
    rt_poller_del_fd(s->poller, fd);
    p->pins--;
    return result;
}

/* ---- memory accounting and the cap ---- */

void actor_mem_add(int64_t delta)
{
    actor_mem_add_on(actor_this_sched(), delta);
}

int64_t actor_mem_total(void)
{
    int64_t total =
        atomic_load_explicit(&actor.foreign_mem, memory_order_relaxed);
    for (int i = 0; i < actor.nscheds; i++)
        total += atomic_load_explicit(&actor.scheds[i].mem_bytes,
                                      memory_order_relaxed);
    /* Process heaps: the struct, and one page of stack per live process
     * (the least a started process keeps resident). */
    total += actor_live() * (int64_t)(sizeof(cb_task_t) + 4096);
    return total;
}

void actor_halt_memory(int64_t total)
{
    int expect = 0;
    if (!atomic_compare_exchange_strong(&actor.halted, &expect, 1))
        return;
    int64_t len = 0;
    uint64_t owner = 0;
    actor_biggest_mailbox(&len, &owner);
    fprintf(stderr,
            "concbench: actor: VM stopped: process heaps and mailboxes use "
            "%lld bytes, over max_memory=%lld; biggest mailbox: process "
            "<0.%llu.0> with %lld messages queued\n",
            (long long)total, (long long)actor.max_memory,
            (unsigned long long)owner, (long long)len);
    fflush(stderr);
    pthread_mutex_lock(&actor.done_mu);
    actor.root_done = 1;
    pthread_cond_broadcast(&actor.done_cv);
    pthread_mutex_unlock(&actor.done_mu);
}

/* ---- the scheduler loop ---- */

int64_t actor_live(void)
{
    int64_t n = 0;
    for (int i = 0; i < actor.nscheds; i++)
        n += atomic_load_explicit(&actor.scheds[i].live, memory_order_relaxed);
    return n;
}

static void finish_exit(actor_sched_t *s, cb_task_t *p)
{
    rt_ctx_destroy(&p->ctx);
    if (p->copied) {
        free(p->saved);
        p->saved = NULL;
        p->saved_len = p->saved_cap = 0;
        p->copied = false;
    } else if (p->own_stack) {
        rt_stack_unmap(&p->stack);
    } else {
        rt_stack_release(s->stacks, &p->stack);
    }
    p->stack = (rt_stack_t){0};
    COUNT(s, exits, 1);
    atomic_store_explicit(
        &s->live, atomic_load_explicit(&s->live, memory_order_relaxed) - 1,
        memory_order_relaxed);
    atomic_store_explicit(&p->state, ACTOR_DONE, memory_order_relaxed);
    bool root = p->is_root;
    if (p->detached) {
        proc_recycle(s, p);
    } else {
        /* acq_rel: release everything the process did to the joiner's
         * acquire load; after this exchange p belongs to the joiner. */
        uintptr_t w = atomic_exchange_explicit(&p->join_word, ACTOR_JOIN_EXITED,
                                               memory_order_acq_rel);
        if (w != ACTOR_JOIN_NONE)
            actor_wake((cb_task_t *)w);
    }
    if (root) {
        pthread_mutex_lock(&actor.done_mu);
        actor.root_done = 1;
        pthread_cond_broadcast(&actor.done_cv);
        pthread_mutex_unlock(&actor.done_mu);
    }
}

/*
 * Copying stacks (-p stacks=copy, after libaco's shared stacks): every
 * slice of a copy-mode process runs on its scheduler's one shared stack;
 * when it switches out, the scheduler saves the live bytes [sp, top) into
 * the process, and copies them back before its next slice.  A parked
 * process then costs the bytes its stack really used (a few hundred)
 * instead of a page and two memory maps, which is what lets a million
 * processes be started at once; the price is two copies per switch and
 * that a started process can never migrate (its frames hold addresses
 * inside this scheduler's shared stack), so only processes that have not
 * run yet are stolen.
 *
 * A copied process's stack is somewhere else whenever it is not running,
 * so a pointer into it that another process follows reads whatever runs
 * there now.  Erlang processes cannot share their stacks; C code can, and
 * coordinators do (arguments in the root's locals), so the root process
 * keeps a guarded stack of its own, and so does a process spawned with an
 * explicit stack_size.  Other processes must not hand out pointers to
 * their locals in this mode.
 *
 * Under ASan the copies must not be checked (the shared stack's shadow
 * holds the previous process's redzones), so they are plain word loops in
 * an uninstrumented function, and the restored range is unpoisoned.
 */
#if defined(CB_SANITIZE_ADDRESS)
#include <sanitizer/asan_interface.h>
__attribute__((no_sanitize("address"), noinline)) static void
copy_words(void *dst, const void *src, size_t len)
{
    volatile uint64_t *d = dst;
    const volatile uint64_t *from = src;
    for (size_t i = 0; i < len / 8; i++)
        d[i] = from[i];
}
#else
static void copy_words(void *dst, const void *src, size_t len)
{
    memcpy(dst, src, len);
}
#endif

static char *shared_top(actor_sched_t *s)
{
    /* Rounded down to 16 bytes, as rt_ctx_make rounds the top it uses. */
    return (char *)(((uintptr_t)s->shared.lo + s->shared.size) &
                    ~(uintptr_t)15);
}

static void stack_save(actor_sched_t *s, cb_task_t *p)
{
    char *sp = (char *)((uintptr_t)rt_ctx_saved_sp(&p->ctx) & ~(uintptr_t)7);
    char *top = shared_top(s);
    RT_ASSERT(sp >= (char *)s->shared.lo && sp < top);
    size_t len = (size_t)(top - sp);
    if (len > p->saved_cap) {
        size_t cap = (len + 255) & ~(size_t)255;
        void *b = realloc(p->saved, cap);
        if (!b)
            rt_panic("actor: no memory to save a %zu-byte stack", len);
        p->saved = b;
        p->saved_cap = cap;
    }
    copy_words(p->saved, sp, len);
    p->saved_len = len;
    COUNT(s, stack_bytes_copied, (int64_t)len);
}

static void stack_restore(actor_sched_t *s, cb_task_t *p)
{
    char *top = shared_top(s);
#if defined(CB_SANITIZE_ADDRESS)
    __asan_unpoison_memory_region(s->shared.lo, s->shared.size);
#endif
    copy_words(top - p->saved_len, p->saved, p->saved_len);
    COUNT(s, stack_bytes_copied, (int64_t)p->saved_len);
}

static inline void busy_poll(actor_sched_t *s, bool long_slice);

static bool halted(void)
{
    return atomic_load_explicit(&actor.halted, memory_order_acquire);
}

/* Whether p's slices run on its scheduler's shared stack (stacks=copy). */
static bool on_shared_stack(const cb_task_t *p)
{
    return p->copied ||
           (!p->started && actor.copy_stacks && !p->own_stack && !p->is_root);
}

/*
 * Ready p to run its next slice on s; the caller switches to it next.  The
 * scheduler's loop calls it, and so does a process that parks and hands
 * its scheduler straight to p (direct_next).
 */
static void slice_begin(actor_sched_t *s, cb_task_t *p)
{
    if (p->copied) {
        stack_restore(s, p);
    } else if (!p->started && on_shared_stack(p)) {
#if defined(CB_SANITIZE_ADDRESS)
        __asan_unpoison_memory_region(s->shared.lo, s->shared.size);
#endif
        rt_ctx_make(&p->ctx, s->shared.lo, s->shared.size, proc_entry, p);
        p->started = true;
        p->copied = true;
        /* Its frames will point into this scheduler's shared stack. */
        p->pins++;
    } else if (!p->started) {
        /* A slab stack is bound now (see spawn); a fresh one gets its
         * guard page before anything runs on it (runtime/stack.h,
         * "Slabs").  Failing here means the address space or memory is
         * gone, which stops a BEAM node too. */
        int rc = p->stack.map ? 0 : rt_stack_alloc(s->stacks, &p->stack);
        if (rc == 0)
            rc = rt_stack_ready(&p->stack);
        if (rc < 0)
            rt_panic("actor: no stack for process %llu: %s",
                     (unsigned long long)p->id, cb_strerror(rc));
        rt_ctx_make(&p->ctx, p->stack.lo, p->stack.size, proc_entry, p);
        p->started = true;
    }
    p->sched = s;
    s->current = p;
    atomic_store_explicit(&p->state, ACTOR_RUNNING, memory_order_relaxed);
    /* Through cb__budget_addr: see account(). */
    *cb__budget_addr() = actor.reductions ? actor.reductions : INT64_MAX / 2;
    /* No rt_stack_set_current(NULL) after a slice: the scheduler's own
     * stack is not a task's, so the stale record can only make the
     * overflow reporter pass a fault on, which it does for non-task
     * faults anyway, and a call per slice is saved. */
    rt_stack_set_current(p->copied ? &s->shared : &p->stack, p->id);
}

/*
 * Direct hand-off.  A process that parks may switch straight to the
 * process that would run next on its scheduler, instead of through the
 * scheduler's context and loop: half the switches of a ping-pong, and
 * none of the loop.  It does so only when the scheduler's loop would do
 * nothing else in between: the next process is the one the loop would
 * dequeue (the `next` slot, or the head of the run queue), this slice is
 * not one after which the loop looks at its poller (every POLL_EVERY-th),
 * the VM is not halted, and neither process runs on the shared stack of
 * stacks=copy (the parked one's bytes must be saved off it before the
 * next one's are copied onto it, which only the scheduler's stack can
 * do).  The park is finished (PARKING -> PARKED) by the process switched
 * to, first thing when it resumes (resumed()), exactly as the loop would
 * have after the switch: the parked process is off its stack by then.
 */
static cb_task_t *direct_next(actor_sched_t *s, cb_task_t *p)
{
    if (p->copied || (s->ticks + 1) % POLL_EVERY == 0 || halted())
        return NULL;
    cb_task_t *q = s->next;
    if (q) {
        if (on_shared_stack(q))
            return NULL;
        s->next = NULL;
        return q;
    }
    /* Relaxed: a stale zero only sends this park through the loop. */
    if (atomic_load_explicit(&s->rq_len, memory_order_relaxed) == 0)
        return NULL;
    actor_lock(&s->rq_lock);
    q = s->rq_head;
    if (q && !on_shared_stack(q)) {
        s->rq_head = q->rq_next;
        if (!s->rq_head)
            s->rq_tail = NULL;
        rq_add(s, -1);
    } else {
        q = NULL;
    }
    actor_unlock(&s->rq_lock);
    return q;
}

/*
 * Whether p, just PARKED, has an exit signal to act on: a signaller that
 * set p->kill while p still ran found nothing to wake, so the park itself
 * must look (exit.c).  A Dekker pair: the park's PARKED (then the
 * waiter's seq_cst store, or the CAS) before this seq_cst load; the
 * signaller's kill RMW, a seq_cst fence, then actor_wake's load of the
 * state.  One of the two sees the other.  defer_kill is read on the
 * thread p last ran on, which is this one.
 */
static bool park_killed(cb_task_t *p)
{
    return atomic_load_explicit(&p->kill, memory_order_seq_cst) != CB_NIL &&
           p->defer_kill == 0;
}

/* Complete the park of p, which has left its stack: PARKING -> PARKED,
 * or enqueue it if a waker came in between; for a receive, PARKED and the
 * registration that only now lets wakers find it. */
static void finish_park(actor_sched_t *s, cb_task_t *p)
{
    cb_port_t *port = p->park_port;
    if (port) {
        /* Release, not relaxed, though the registration's seq_cst store
         * publishes it to senders: a late waker of an earlier park may
         * CAS this PARKED without reading waiter, and must still see what
         * p wrote while it ran (its sched). */
        p->park_port = NULL;
        atomic_store_explicit(&p->state, ACTOR_PARKED, memory_order_release);
        if (!actor_port_register(port, p) || park_killed(p))
            actor_wake(p); /* as the sender whose message came would */
        return;
    }
    int st = ACTOR_PARKING;
    /* acq_rel: release the process's registration writes to wakers
     * that CAS PARKED, acquire a racing waker's writes. */
    if (!atomic_compare_exchange_strong_explicit(&p->state, &st, ACTOR_PARKED,
                                                 memory_order_acq_rel,
                                                 memory_order_acquire)) {
        RT_ASSERT(st == ACTOR_WAKE_PENDING);
        atomic_store_explicit(&p->state, ACTOR_RUNNABLE, memory_order_relaxed);
        enqueue(s, p);
    } else if (park_killed(p)) {
        actor_wake(p);
    }
}

static void run_one(actor_sched_t *s, cb_task_t *p)
{
    slice_begin(s, p);
    rt_ctx_switch(&s->ctx, &p->ctx);
    /* The process that switched back is p, or the last of the processes
     * p handed the scheduler to directly. */
    p = s->prev;
    s->prev = NULL;
    if (p->copied && s->why != ACTOR_WHY_EXIT)
        stack_save(s, p);
    s->current = NULL;
    COUNT(s, slices, 1);
    switch (s->why) {
    case ACTOR_WHY_PREEMPT:
        COUNT(s, preemptions, 1);
        /* fall through */
    case ACTOR_WHY_YIELD:
        atomic_store_explicit(&p->state, ACTOR_RUNNABLE, memory_order_relaxed);
        /* Poll first: a process whose timer or fd fired during this slice
         * goes in the queue ahead of the one that used up its budget, so
         * it waits for one slice of each other runnable process, not one
         * more. */
        busy_poll(s, s->why == ACTOR_WHY_PREEMPT);
        enqueue(s, p);
        return;
    case ACTOR_WHY_PARK:
        finish_park(s, p);
        break;
    case ACTOR_WHY_EXIT:
        finish_exit(s, p);
        break;
    }
    busy_poll(s, false);
}

static void check_memory(void)
{
    if (actor.max_memory <= 0)
        return;
    int64_t total = actor_mem_total();
    if (total > actor.max_memory)
        actor_halt_memory(total);
}

static RT_NOINLINE void busy_poll_now(actor_sched_t *s);

/* Inline: its common case, not yet time to look, is two instructions. */
static inline void busy_poll(actor_sched_t *s, bool long_slice)
{
    if (long_slice || (++s->ticks % POLL_EVERY) == 0)
        busy_poll_now(s);
}

static RT_NOINLINE void busy_poll_now(actor_sched_t *s)
{
    int64_t now = rt_now_ns();
    int64_t next = rt_poller_next_deadline(s->poller);
    if ((next >= 0 && next <= now) || now - s->last_poll_ns >= BUSY_POLL_NS) {
        s->last_poll_ns = now;
        COUNT(s, polls_busy, 1);
        rt_poller_poll(s->poller, 0);
        check_memory();
        if (actor.nscheds > 1)
            balance(s);
    }
}

static void idle(actor_sched_t *s)
{
    /* seq_cst: see notify(). */
    atomic_store_explicit(&s->sleeping, 1, memory_order_seq_cst);
    atomic_fetch_add_explicit(&actor.nsleeping, 1, memory_order_relaxed);
    actor_lock(&s->rq_lock);
    bool empty = s->rq_head == NULL && s->next == NULL;
    actor_unlock(&s->rq_lock);
    bool stop = atomic_load_explicit(&actor.stopping, memory_order_acquire);
    if (empty && !stop) {
        COUNT(s, sleeps, 1);
        check_memory();
        rt_poller_poll(s->poller, -1);
    } else {
        rt_poller_poll(s->poller, 0);
    }
    s->last_poll_ns = rt_now_ns();
    atomic_store_explicit(&s->sleeping, 0, memory_order_relaxed);
    atomic_fetch_sub_explicit(&actor.nsleeping, 1, memory_order_relaxed);
}

static void *sched_main(void *arg)
{
    actor_sched_t *s = arg;
    tls_sched = s;
    if (s->pu >= 0)
        rt_topo_pin_self(s->pu);
    rt_stack_thread_init();
    rt_ctx_init_thread(&s->ctx);
    s->last_poll_ns = rt_now_ns();
    for (;;) {
        if (halted()) {
            /* The memory cap stopped the VM: run nothing more. */
            if (atomic_load_explicit(&actor.stopping, memory_order_acquire))
                break;
            rt_poller_poll(s->poller, 10 * RT_NS_PER_MS);
            continue;
        }
        cb_task_t *p = dequeue(s);
        if (!p && actor.nscheds > 1)
            p = steal(s);
        if (p) {
            run_one(s, p);
            continue;
        }
        if (atomic_load_explicit(&actor.stopping, memory_order_acquire))
            break;
        idle(s);
    }
    rt_stack_thread_term();
    tls_sched = NULL;
    return NULL;
}

int actor_sched_start(char *err, size_t errlen)
{
    atom_normal = cb_atom("normal");
    for (int i = 0; i < actor.nscheds; i++) {
        actor_sched_t *s = &actor.scheds[i];
        int rc = rt_poller_new(&s->poller);
        if (rc == 0)
            rc = rt_stack_pool_new_slabs(&s->stacks, actor.stack_bytes,
                                         STACKS_CACHED);
        if (rc == 0 && actor.copy_stacks)
            rc = rt_stack_map(actor.stack_bytes, &s->shared);
        if (rc < 0) {
            snprintf(err, errlen, "scheduler %d: %s", i, cb_strerror(rc));
            return rc;
        }
        s->rng = actor.seed + (uint64_t)i * 0x9E3779B97F4A7C15ULL;
    }
    for (int i = 0; i < actor.nscheds; i++) {
        int rc = pthread_create(&actor.scheds[i].thread, NULL, sched_main,
                                &actor.scheds[i]);
        if (rc != 0) {
            snprintf(err, errlen, "starting scheduler %d: %s", i, strerror(rc));
            atomic_store(&actor.stopping, 1);
            for (int k = 0; k < i; k++) {
                notify(&actor.scheds[k]);
                rt_poller_wake(actor.scheds[k].poller);
                pthread_join(actor.scheds[k].thread, NULL);
            }
            return -rc;
        }
    }
    return 0;
}

void actor_sched_halt(void)
{
    /* Release: pairs with the schedulers' acquire loads of stopping. */
    atomic_store_explicit(&actor.stopping, 1, memory_order_release);
    for (int i = 0; i < actor.nscheds; i++)
        rt_poller_wake(actor.scheds[i].poller);
    /* A scheduler ends the slice it is in (a budget at most), sees the
     * halt and leaves; one running a process that never reaches a
     * reduction point (reductions=0) is given up on after a second. */
    for (int i = 0; i < actor.nscheds; i++) {
        struct timespec at;
        clock_gettime(CLOCK_REALTIME, &at);
        at.tv_sec += 1;
        pthread_timedjoin_np(actor.scheds[i].thread, NULL, &at);
    }
}

void actor_sched_stop(void)
{
    /* Release: pairs with the schedulers' acquire loads of stopping. */
    atomic_store_explicit(&actor.stopping, 1, memory_order_release);
    for (int i = 0; i < actor.nscheds; i++)
        rt_poller_wake(actor.scheds[i].poller);
    for (int i = 0; i < actor.nscheds; i++)
        pthread_join(actor.scheds[i].thread, NULL);
    for (int i = 0; i < actor.nscheds; i++) {
        rt_stack_pool_free(actor.scheds[i].stacks);
        if (actor.scheds[i].shared.lo)
            rt_stack_unmap(&actor.scheds[i].shared);
        rt_poller_free(actor.scheds[i].poller);
    }
}

void actor_process_info(const cb_task_t *t, actor_info_t *out)
{
    out->reductions = t->reductions;
    if (t == actor_self() && actor.reductions)
        out->reductions += actor.reductions - cb__budget;
    out->msgs_in = t->msgs_in;
    out->msg_bytes_in = t->msg_bytes_in;
}
