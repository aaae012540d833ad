/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Private to models/csp/: shared by csp.c (lifecycle, the table), sched.c
 * (go blocks, threads, workers, the timer thread), chan.c (channels and
 * alts) and cell.c.  The design essay is at the top of csp.c.
 *
 * Lock order, outermost first (never the reverse):
 *   1. a channel's mu (never two channels at once);
 *   2. handler locks, two at most, in address order;
 *   3. a run queue's mu, a waiter's mu, idle_mu, live_mu or the timer
 *      thread's mu (leaves: nothing is taken while one is held).
 * Wake-ups (csp_handler_wake) run after the channel's mu is released, so
 * a run queue's lock is never taken under a channel's in practice either.
 */
#ifndef CSP_INT_H
#define CSP_INT_H

#include "models/model.h"
#include "runtime/clock.h"
#include "runtime/ctx.h"
#include "runtime/stack.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* core.async's impl.protocols/MAX-QUEUE-SIZE: pending puts or takes on
 * one channel; the 1025th is refused (an AssertionError there, -EBUSY
 * here). */
#define CSP_MAX_PENDING 1024
/* core.async's channels/MAX_DIRTY: stale handlers tolerated in a queue
 * before it is swept. */
#define CSP_MAX_DIRTY 64

/* ---- spinlocks ----
 *
 * Channels, run queues and handlers are locked for a few dozen
 * instructions at a time, never across a park, a wake-up call into the
 * kernel or a context switch.  With pthread mutexes there (and a malloc
 * per handler) bench/bench_csp.c's round trip was ~430 ns; with this lock
 * and the handler cache, ~260 ns.  core.async's ReentrantLock and Go's
 * runtime lock are a CAS on the fast path too.  Contended, it spins
 * briefly and then yields the CPU, so a holder that was preempted gets
 * it back.
 */
typedef struct csp_lock {
    _Atomic int held;
} csp_lock_t;

static inline void csp_cpu_relax(void)
{
#if defined(__x86_64__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

void csp_lock_slow(csp_lock_t *l);

static inline void csp_lock(csp_lock_t *l)
{
    /* acquire: pairs with csp_unlock's release; orders the critical
     * section after the previous holder's. */
    if (__builtin_expect(
            !atomic_exchange_explicit(&l->held, 1, memory_order_acquire), 1))
        return;
    csp_lock_slow(l);
}

static inline void csp_unlock(csp_lock_t *l)
{
    atomic_store_explicit(&l->held, 0, memory_order_release);
}

/* ---- waiters: how an OS thread blocks (a `thread`, or a worker thread
 * that a go block made block with go_ops=block) ---- */
typedef struct csp_waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* Written under mu; read without it by the waiter's spin. */
    _Atomic int woken;
} csp_waiter_t;

void csp_waiter_init(csp_waiter_t *w);
void csp_waiter_destroy(csp_waiter_t *w);
/* Blocks until woken, then consumes the wake-up. */
void csp_waiter_wait(csp_waiter_t *w);
void csp_waiter_wake(csp_waiter_t *w);

/* ---- handlers: a parked operation, core.async's fn-handler/alt-flag ----
 *
 * One handler stands for one parked party: a single put or take, or every
 * op of one alts (which shares it across channels: core.async's alt-flag).
 * It is committed exactly once, under its lock; whoever commits it writes
 * the result and then wakes the party.  Channel queues hold references to
 * it; a committed handler left in other queues is stale and swept lazily
 * (CSP_MAX_DIRTY), so it is reference counted.
 *
 * A solo handler (a single put or take, chan.c's single_op) is the
 * exception, after core.async's fn-handler, whose lock is a no-op: it
 * waits in one queue at most, and is committed only under that channel's
 * mu (by its own op, or by whoever pops it), so it takes no lock of its
 * own and is never stale.  It lives in its party's frame, and its queue
 * entry borrows the party's reference: the committer's last touch is the
 * wake-up, which the party waits for before its frame goes.
 */
typedef struct csp_handler {
    csp_lock_t lock;      /* core.async's alt-flag lock */
    _Atomic bool active;  /* true until committed; written under lock */
    _Atomic int refs;     /* the party's + one per queue entry */
    cb_task_t *go;        /* the go block to unpark, or NULL */
    csp_waiter_t *waiter; /* else the OS thread to wake */
    /* The result, written by the committer before the wake-up. */
    int index;                     /* which op completed */
    int status;                    /* 0, CB_SEND_DROPPED, -EPIPE */
    cb_term_t val;                 /* a take's value */
    struct csp_handler *next_free; /* a worker's cache of free handlers */
    bool solo;                     /* see above; constant */
} csp_handler_t;

csp_handler_t *csp_handler_new(void);
void csp_handler_unref(csp_handler_t *h);
/* Wake the party of a committed handler; expects no lock held. */
void csp_handler_wake(csp_handler_t *h);

/* ---- tasks ---- */

enum { CSP_GO = 1, CSP_THREAD = 2 };

/* Why a go block left its stack; read by the worker after the switch. */
enum { CSP_AFTER_NONE, CSP_AFTER_PARK, CSP_AFTER_YIELD, CSP_AFTER_EXIT };

/* Park states of a go block (see sched.c's essay for the protocol). */
enum { CSP_RUNNING = 0, CSP_PARKED = 1, CSP_WAKE_PENDING = 2 };

typedef struct csp_worker csp_worker_t;

struct cb_task {
    rt_ctx_t ctx;           /* GO: written by the worker running it */
    rt_stack_t stack;       /* GO: mapped on first run, by the worker */
    cb_task_t *next, *prev; /* run queue links, guarded by the queue's mu */
    csp_worker_t *worker;   /* GO: the worker running it now */
    cb_task_fn fn;
    void *arg;
    uint64_t id;
    uint64_t rng;  /* select's random order; owner only */
    size_t *order; /* select's last permutation; owner only */
    size_t order_cap, order_m;
    _Atomic int park; /* GO: CSP_RUNNING / PARKED / WAKE_PENDING */
    /* Join: NULL, a joiner's handler, or CSP_JOINED_DONE (exited). */
    _Atomic(csp_handler_t *) joiner;
    int kind; /* CSP_GO or CSP_THREAD */
    bool detached;
    size_t stack_size;    /* GO: 0 for the model's default */
    csp_waiter_t *waiter; /* THREAD: how it blocks */
    pthread_t thread;     /* THREAD */
};

#define CSP_JOINED_DONE ((csp_handler_t *)(uintptr_t)1)

/* The running task of the calling thread (a go block, a `thread`, or NULL
 * on a thread the model did not start).  noinline: see sched.c. */
cb_task_t *csp_current(void);
/* The calling thread's waiter: its task's, its worker's or a thread-local
 * one for foreign threads. */
csp_waiter_t *csp_thread_waiter(void);
/* True when the caller is a go block whose channel ops park it. */
bool csp_parks(void);
/* Suspend the calling go block until csp_unpark; returns on any worker. */
void csp_park(cb_task_t *t);
/* The same for a go block whose one op is queued under l, which it still
 * holds: l is released once the go block is off its stack, so the party
 * that commits the op (under l) always finds it PARKED. */
void csp_park_unlock(cb_task_t *t, csp_lock_t *l);
/* Make a parked (or parking) go block runnable; any thread. */
void csp_unpark(cb_task_t *t);
/* Block the caller until h is committed: park a go block, or block the
 * thread (counted as a blocking op inside a go block when it is one). */
void csp_wait_handler(csp_handler_t *h);
/* csp_handler_bind (fill h's waking fields for the caller) is below,
 * after csp_cfg. */

/* ---- the timer and IO thread ---- */

typedef struct csp_preq csp_preq_t;
struct csp_preq {
    csp_preq_t *next;
    /* Runs on the timer thread, which owns the poller. */
    void (*apply)(csp_preq_t *r, void *poller);
};
void csp_timer_submit(csp_preq_t *r);

/* ---- model-wide counters ---- */

/*
 * put_blocked_ns is summed in ticks of the cycle counter and converted
 * when the counters are read, at the rate the counter and the monotonic
 * clock advanced together since start (csp_ticks_to_ns): a clock_gettime
 * is ~30 ns here, and two per parked put were a third of an unbuffered
 * round trip; rdtsc is ~12 ns.  Go's block profile does the same
 * (cputicks, converted with tickspersecond).  Elsewhere, nanoseconds.
 */
static inline int64_t csp_ticks(void)
{
#if defined(__x86_64__)
    return (int64_t)__builtin_ia32_rdtsc();
#else
    return rt_now_ns();
#endif
}
int64_t csp_ticks_to_ns(int64_t ticks);

#define CSP_COUNTERS(X)                                                        \
    X(go_spawned)                                                              \
    X(threads_spawned)                                                         \
    X(go_peak)                                                                 \
    X(context_switches)                                                        \
    X(parks)                                                                   \
    X(yields)                                                                  \
    X(preemptions)                                                             \
    X(steals)                                                                  \
    X(idle_sleeps)                                                             \
    X(puts)                                                                    \
    X(takes)                                                                   \
    X(chan_parks)                                                              \
    X(put_parks)                                                               \
    X(put_blocked_ns)                                                          \
    X(drops)                                                                   \
    X(max_queue_len)                                                           \
    X(pending_limit_hits)                                                      \
    X(alts)                                                                    \
    X(timeouts)                                                                \
    X(sleeps)                                                                  \
    X(io_waits)                                                                \
    X(thread_blocks)                                                           \
    X(blocking_in_go)                                                          \
    X(blocked_in_go_ns)                                                        \
    X(cell_updates)                                                            \
    X(cell_reads)                                                              \
    X(cell_swap_retries)                                                       \
    X(cell_lock_waits)

typedef struct csp_totals {
#define X(name) _Atomic int64_t name;
    CSP_COUNTERS(X)
#undef X
} csp_totals_t;

extern csp_totals_t csp_totals;

/* Relaxed: counters are read once the run is over, after joins that
 * order them; only their sum matters, not their order with other data. */
#define CSP_COUNT(field, n)                                                    \
    atomic_fetch_add_explicit(&csp_totals.field, (n), memory_order_relaxed)
void csp_count_max(_Atomic int64_t *field, int64_t v);

/* ---- configuration, constant between start and stop ---- */

enum { CSP_SCHED_SHARED, CSP_SCHED_STEALING, CSP_SCHED_LIFO };
enum { CSP_PREEMPT_NONE, CSP_PREEMPT_REDUCTIONS };
enum { CSP_ROOT_THREAD, CSP_ROOT_GO };
enum { CSP_CELL_ATOM, CSP_CELL_MUTEX, CSP_CELL_GOBLOCK };

typedef struct csp_config {
    int pool;
    int sched;
    int preempt;
    int64_t reductions;
    bool go_ops_block;
    int root;
    size_t stack_bytes;
    size_t default_buffer;
    const int *cpus;
    int ncpus;
    uint64_t seed;
    bool crash_panic; /* -p crash=panic: an abnormal exit is a Go panic */
    int cell; /* CSP_CELL_*: how cells keep their state (cell.c) */
} csp_config_t;

extern csp_config_t csp_cfg;

/* Fill h's waking fields for the caller: its go block, or its thread's
 * waiter.  Inline: every channel op binds a handler. */
static inline void csp_handler_bind(csp_handler_t *h)
{
    /* csp_parks() inlined: one call of the noinline accessor per op. */
    cb_task_t *t = csp_current();
    if (t && t->kind == CSP_GO && !csp_cfg.go_ops_block)
        h->go = t;
    else
        h->waiter = csp_thread_waiter();
}

/* sched.c */
int csp_sched_start(char *err, size_t errlen);
int csp_sched_stop(char *err, size_t errlen);
int csp_spawn(cb_task_fn fn, void *arg, const cb_spawn_opts_t *opts,
              cb_task_t **out);
int csp_join(cb_task_t *t);
cb_task_t *csp_self(void);
/* End the calling task now (cb_exit's last step): a go block leaves its
 * worker as if its function had returned; a `thread` unwinds to its
 * landing frame (models/crash.h). */
__attribute__((noreturn)) void csp_exit_now(void);
void csp_yield(void);
void csp_reduce_slow(void);
int csp_sleep(int64_t ns);
int csp_io_wait(int fd, uint32_t events, int64_t timeout_ns);
size_t csp_sched_counters(cb_counter_t *out, size_t max);

/* chan.c */
int csp_port_open(const cb_port_opts_t *opts, cb_port_t **out);
int csp_port_close(cb_port_t *p);
void csp_port_free(cb_port_t *p);
size_t csp_port_length(cb_port_t *p);
int csp_send(cb_port_t *p, cb_term_t msg);
int csp_recv(cb_port_t *p, cb_term_t *out, int64_t timeout_ns);
int csp_select(cb_select_op_t *ops, size_t n, unsigned flags,
               int64_t timeout_ns);
/* Drop the timer thread's hold on a timeout channel. */
void csp_port_unref(cb_port_t *p);
void csp_timeouts_free_pending(void);

/* Public to the tests through this header: core.async's `timeout`, a
 * channel that closes after ns; and per-channel counters. */
int csp_timeout(int64_t ns, cb_port_t **out);
typedef struct csp_chan_stats {
    int64_t puts, takes, parks, drops, pending_puts, pending_takes;
} csp_chan_stats_t;
void csp_chan_stats(cb_port_t *p, csp_chan_stats_t *out);
/* Blocking put and take (>!! and <!!) whatever the caller is: inside a go
 * block they block its worker thread, and are counted. */
int csp_put_blocking(cb_port_t *p, cb_term_t msg);
int csp_take_blocking(cb_port_t *p, cb_term_t *out);
/* How many go blocks are blocking a worker thread right now. */
int64_t csp_blocked_workers(void);

/* cell.c */
int csp_cell_new(int64_t initial, cb_cell_t **out);
void csp_cell_free(cb_cell_t *c);
int csp_cells_update(cb_cell_t **cells, size_t n, cb_cells_fn fn, void *arg);
int csp_cells_read(cb_cell_t **cells, size_t n, int64_t *out);
int csp_cells_update_reading(cb_cell_t **cells, size_t n, size_t nwrite,
                             cb_cells_fn fn, void *arg);

#endif
