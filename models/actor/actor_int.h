/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Private to models/actor/: the process, scheduler and mailbox structs
 * shared by actor.c (model table, lifecycle), sched.c (schedulers,
 * processes, parking), mailbox.c (ports, send, receive) and cell.c.
 * The design essay is at the top of actor.c.
 */
#ifndef ACTOR_INT_H
#define ACTOR_INT_H

#include "models/model.h"
#include "runtime/common.h"
#include "runtime/ctx.h"
#include "runtime/ids.h"
#include "runtime/poller.h"
#include "runtime/queue.h"
#include "runtime/stack.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct actor_sched actor_sched_t;

/*
 * Process states.  Only the transitions below exist; each arrow names who
 * makes it:
 *   RUNNABLE -> RUNNING        the scheduler that dequeues it
 *   RUNNING  -> PARKED         its scheduler, after the switch away, for a
 *                              receive on one mailbox, just before it
 *                              registers the process there (mailbox.c)
 *   RUNNING  -> PARKING        the process itself, before registering as a
 *                              waiter anywhere (every other park)
 *   PARKING  -> RUNNING        the process, when its re-check finds work
 *   PARKING  -> PARKED         its scheduler, after the switch away (CAS)
 *   PARKING  -> WAKE_PENDING   a waker that raced with the park (CAS)
 *   PARKED   -> RUNNABLE       a waker (CAS), which then enqueues it
 *   WAKE_PENDING -> RUNNABLE   its scheduler, which then enqueues it
 *   RUNNING  -> RUNNABLE       the scheduler on a yield or a preemption
 *   RUNNING  -> DONE           the scheduler when the process has exited
 * A waker that finds any other state does nothing: the process is awake
 * already, and every park sits in a loop that re-checks its condition, so
 * a stale or spurious wake-up costs a re-check, never a lost message.
 */
enum {
    ACTOR_RUNNABLE,
    ACTOR_RUNNING,
    ACTOR_PARKING,
    ACTOR_PARKED,
    ACTOR_WAKE_PENDING,
    ACTOR_DONE,
};

/* What a process asks of its scheduler when it switches to it. */
typedef enum actor_why {
    ACTOR_WHY_YIELD,   /* go to the back of the run queue */
    ACTOR_WHY_PREEMPT, /* same, counted as a reduction preemption */
    ACTOR_WHY_PARK,    /* finish the park (PARKING -> PARKED) */
    ACTOR_WHY_EXIT,    /* the process returned: free its stack, notify */
} actor_why_t;

/*
 * A test-and-test-and-set spinlock for the run queues (the BEAM's run
 * queues are locked too; its locks spin before they sleep).  Critical
 * sections are a few pointer moves.  After ~100 spins it yields the CPU,
 * because on a shared two-core machine the holder may be descheduled.
 */
typedef struct actor_lock {
    _Atomic int held;
} actor_lock_t;

void actor_lock(actor_lock_t *l);
void actor_unlock(actor_lock_t *l);

/* join_word values besides a parked joiner's pointer. */
#define ACTOR_JOIN_NONE ((uintptr_t)0)
#define ACTOR_JOIN_EXITED ((uintptr_t)1)

struct cb_task {
    /* Written by the process while it runs, or by the scheduler that runs
     * it while it is switched out. */
    rt_ctx_t ctx;
    rt_stack_t stack; /* lo == NULL until the first run */
    bool own_stack;   /* mapped for a custom size, not pooled */
    bool started;     /* has a context on its stack */
    bool copied;      /* stacks=copy: runs on sched's shared
                         stack, its live bytes kept in saved */
    void *saved;      /* stacks=copy: the live top of its stack */
    size_t saved_len, saved_cap;
    actor_sched_t *sched; /* the scheduler it last ran on (its home) */
    int pins;             /* timers/fds armed on sched's poller */
    cb_task_fn fn;
    void *arg;
    uint64_t id;
    bool detached;
    bool is_root;
    int64_t reductions;   /* done, over all its slices */
    int64_t msgs_in;      /* messages it received */
    int64_t msg_bytes_in; /* bytes of those messages (its heap's
                             intake: the copies made for it) */
    rt_timer_t timer;     /* on sched->poller while pins > 0 */
    /* A receive's mailbox, from its park until the scheduler registers
     * the process there (after the switch; mailbox.c's essay). */
    cb_port_t *park_port;
    uint32_t io_revents;  /* set by the fd callback on sched's thread */
    cb_port_t *reply;     /* lazily opened: replies from cell owners */
    uint64_t rng;         /* select's random start */

    /* Shared with wakers on other threads: see the state table above. */
    _Atomic int state;
    /* ACTOR_JOIN_NONE, a joiner parked on this process, or
     * ACTOR_JOIN_EXITED.  The exit publishes with one exchange, after
     * which the exiting side never touches the process again. */
    _Atomic uintptr_t join_word;

    /* Run-queue link: guarded by the lock of the queue it is on. */
    cb_task_t *rq_next;
    /* Free-list link: owned by the scheduler whose cache holds it. */
    cb_task_t *free_next;

    /* Crash isolation (exit.c).  sig_id is the process's id while it
     * lives and 0 from the moment its exit begins: whoever holds a
     * possibly stale pointer checks it under sig_lock before touching
     * anything else.  The lists are guarded by sig_lock; never two
     * processes' sig_locks at once. */
    actor_lock_t sig_lock;
    _Atomic uint64_t sig_id;
    struct actor_peer *links;    /* linked processes */
    struct actor_peer *mons_in;  /* monitors of this process (watchers) */
    struct actor_peer *mons_out; /* monitors this process holds */
    uint32_t nlinks, links_cap, nmons_in, mons_in_cap, nmons_out,
        mons_out_cap;
    cb_port_t *trap; /* EXIT messages go here while trapping */
    /* A pending exit signal's reason (CB_NIL: none), set once by a
     * signaller (CAS, release) and acted on by the process itself at its
     * next safe point, unless defer_kill > 0 (the process only). */
    _Atomic cb_term_t kill;
    int defer_kill;
    /* The mailboxes it received on, which die with it: the process only
     * (mailbox.c). */
    struct actor_owned *owned;
    uint32_t nowned, owned_cap;
};

/* A link or monitor: the other process (checked by id), the monitor's
 * reference and where its DOWN message goes. */
typedef struct actor_peer {
    cb_task_t *task;
    uint64_t id;
    cb_term_t ref;
    cb_port_t *mailbox;
} actor_peer_t;

/* A mailbox a process received on, and the generation it had then. */
typedef struct actor_owned {
    cb_port_t *port;
    uint64_t gen;
} actor_owned_t;

/* A message in a mailbox: the node the MPSC queue links, and the copy. */
typedef struct actor_msg {
    rt_qnode_t node; /* MPSC link, then the private list's link */
    cb_term_t term;
    uint64_t bytes; /* what it is accounted for: node + copied heap */
} actor_msg_t;


/* Scheduler counters: written only by the scheduler's thread (relaxed
 * stores, so other threads may read a snapshot), summed at the end. */
#define ACTOR_SCHED_COUNTERS(X)                                                \
    X(spawns)                                                                  \
    X(exits)                                                                   \
    X(slices)                                                                  \
    X(preemptions)                                                             \
    X(yields)                                                                  \
    X(parks)                                                                   \
    X(wakeups_remote)                                                          \
    X(steals)                                                                  \
    X(migrations)                                                              \
    X(stolen_processes)                                                        \
    X(sleeps)                                                                  \
    X(polls_busy)                                                              \
    X(sends)                                                                   \
    X(receives)                                                                \
    X(messages_skipped)                                                        \
    X(marker_hits)                                                             \
    X(bytes_copied)                                                            \
    X(stack_bytes_copied)                                                      \
    X(sends_dropped)                                                           \
    X(exits_abnormal)                                                          \
    X(exit_signals)

struct actor_sched {
    /* Guarded by rq_lock: the run queue (FIFO).  rq_len is written only
     * under the lock; thieves peek at it without (relaxed) to skip empty
     * queues. */
    actor_lock_t rq_lock;
    cb_task_t *rq_head, *rq_tail;
    _Atomic int64_t rq_len;
    /* 1 while the scheduler sleeps (or is about to) in its poller: the
     * waker that exchanges it to 0 writes the poller's eventfd. */
    _Atomic int sleeping;
    char pad_[RT_CACHELINE];

    /* Owned by the scheduler thread. */
    rt_ctx_t ctx;
    pthread_t thread;
    int index;
    int pu; /* OS index it is pinned to, or -1 */
    rt_poller_t *poller;
    rt_stack_pool_t *stacks;
    rt_stack_t shared; /* stacks=copy: the one stack slices run on */
    cb_task_t *current;
    /* The process whose slice just ended and why, set by it just before
     * it switches away (to this scheduler's context or, on a park, to the
     * next process) and cleared by whichever context runs next on this
     * thread once it has finished that slice (sched.c). */
    cb_task_t *prev;
    actor_why_t why;
    /* A woken or spawned process that found the run queue empty: it runs
     * before anything queued after it, and taking it needs no lock.
     * Written and read only by this scheduler's thread (sched.c). */
    cb_task_t *next;
    cb_task_t *free_procs;
    int64_t free_count;
    cb_port_t *free_ports;
    actor_msg_t *free_msgs; /* free message nodes (mailbox.c) */
    int64_t nfree_msgs;
    int64_t last_poll_ns;
    rt_id_range_t ids; /* process ids it hands out next (runtime/ids.h) */
    uint64_t ticks;
    uint64_t rng;
    /* Bytes of mailboxes this thread added minus those it removed (a
     * relaxed store by the owner, read by the memory check). */
    _Atomic int64_t mem_bytes;
    _Atomic int64_t live; /* spawned here minus exited here (relaxed) */
    struct {
#define X(n) _Atomic int64_t n;
        ACTOR_SCHED_COUNTERS(X)
#undef X
    } c;
};

/* The model's global state (actor.c). */
typedef struct actor_model {
    actor_sched_t *scheds;
    int nscheds;
    int64_t reductions; /* budget per slice; 0: no reduction preemption */
    int64_t max_memory; /* bytes; 0: no cap */
    size_t stack_bytes;
    bool copy_stacks; /* -p stacks=copy */
    uint64_t seed;
    _Atomic int stopping; /* release by stop, acquire by schedulers */
    _Atomic int halted;   /* set once by the memory cap */
    /* Above: read on every spawn and park, written once a run.  Below:
     * written while processes run; a line apart, so those writes do not
     * take the line the reads need from the other cores. */
    char pad_[RT_CACHELINE];
    _Atomic uint64_t next_id;    /* runtime/ids.h */
    _Atomic int64_t foreign_mem; /* mailbox bytes added by non-schedulers */
    _Atomic int64_t procs_allocated;
    _Atomic int64_t nsleeping; /* schedulers asleep now (a hint) */
    /* The root process: run() waits on done_cv until it exits or the
     * memory cap halts the VM. */
    pthread_mutex_t done_mu;
    pthread_cond_t done_cv;
    int root_done; /* guarded by done_mu */
    /* Every process, port or message block ever allocated (freed at
     * stop), and, when the memory cap is on, every open port; both
     * guarded by reg_mu. */
    pthread_mutex_t reg_mu;
    void **blocks;
    size_t nblocks, blocks_cap;
    cb_port_t *ports;
    int64_t port_max_len; /* high-water mark of any queue, folded at free */
    /* The pool of free message nodes that schedulers hand over and draw
     * from (mailbox.c); guarded by msg_mu, a leaf lock. */
    pthread_mutex_t msg_mu;
    actor_msg_t *free_msgs;
    int64_t nfree_msgs;
    /* -p copy: whether a send deep-copies its message (on, the BEAM) or
     * hands the box over (off, Akka).  Written by start, read by every
     * send: a line of its own, away from the lines written above. */
    RT_ALIGNED_CACHELINE bool copy_messages;
} actor_model_t;

extern actor_model_t actor;

/* sched.c */
/* n zeroed objects of size bytes, aligned to a cache line, that live
 * until stop (type-stable memory: see sched.c and mailbox.c); NULL when
 * out of memory. */
void *actor_block_alloc(size_t n, size_t size);
/* The scheduler the calling thread runs, NULL on a foreign thread.  A
 * noinline accessor: a process may migrate between two calls. */
actor_sched_t *actor_this_sched(void);
/* The running process, NULL outside one. */
cb_task_t *actor_self(void);
int actor_sched_start(char *err, size_t errlen);
void actor_sched_stop(void);
/* Stop the scheduler threads of a VM halted by the memory cap. */
void actor_sched_halt(void);
int64_t actor_live(void);
int actor_spawn(cb_task_fn fn, void *arg, const cb_spawn_opts_t *opts,
                cb_task_t **out);
/* Spawn the root process from a foreign thread; its exit ends run(). */
int actor_spawn_root(cb_task_fn fn, void *arg);
int actor_join(cb_task_t *t);
void actor_yield(void);
void actor_reduce_slow(void);
int actor_sleep(int64_t ns);
int actor_io_wait(int fd, uint32_t events, int64_t timeout_ns);
/* Set p PARKING (the process itself, before registering anywhere). */
void actor_park_begin(cb_task_t *p);
/* Undo a park whose re-check found work. */
void actor_park_cancel(cb_task_t *p);
/* Switch away until woken, or until deadline_ns (>= 0) passes. */
void actor_park(cb_task_t *p, int64_t deadline_ns);
/* The same for a receive on port, without actor_park_begin: once p is off
 * its stack, its scheduler registers it as port's waiter. */
void actor_park_recv(cb_task_t *p, cb_port_t *port, int64_t deadline_ns);
/* Make p runnable if it is parked; any thread. */
void actor_wake(cb_task_t *p);
/* Mailbox bytes added (delta > 0) or removed, on the calling thread. */
void actor_mem_add(int64_t delta);
/* The same, for a caller that already holds its scheduler (NULL: a
 * foreign thread) and has not switched since reading it.  Inline: it is
 * on every send and receive. */
static inline void actor_mem_add_on(actor_sched_t *s, int64_t delta)
{
    if (s)
        atomic_store_explicit(
            &s->mem_bytes,
            atomic_load_explicit(&s->mem_bytes, memory_order_relaxed) + delta,
            memory_order_relaxed);
    else
        atomic_fetch_add_explicit(&actor.foreign_mem, delta,
                                  memory_order_relaxed);
}
/* Stop the VM with the memory report (the BEAM's out-of-memory crash
 * dump, reduced to its useful line). */
void actor_halt_memory(int64_t total);
int64_t actor_mem_total(void);

/* mailbox.c */
int actor_port_open(const cb_port_opts_t *opts, cb_port_t **out);
int actor_port_close(cb_port_t *p);
void actor_port_free(cb_port_t *p);
size_t actor_port_length(cb_port_t *p);
int actor_send(cb_port_t *p, cb_term_t msg);
int actor_recv(cb_port_t *p, cb_term_t *out, int64_t timeout_ns);
int actor_recv_match(cb_port_t *p, cb_match_fn match, void *ctx, cb_term_t *out,
                     int64_t timeout_ns);
int actor_select(cb_select_op_t *ops, size_t n, unsigned flags,
                 int64_t timeout_ns);
cb_term_t actor_recv_mark(cb_port_t *p);
int actor_recv_match_ref(cb_port_t *p, cb_term_t ref, cb_match_fn match,
                         void *ctx, cb_term_t *out, int64_t timeout_ns);
/* Make t p's waiter and re-check: false when the park must not go on (a
 * message came, or p was closed). */
bool actor_port_register(cb_port_t *p, cb_task_t *t);
/* The longest registered mailbox: its length and its last receiver. */
void actor_biggest_mailbox(int64_t *len, uint64_t *owner);

/* Deliver term (already the receiver's copy) to p with no reduction and
 * no switch, dropping it when p is closed or its owner is gone; for exit
 * signals and DOWN messages. */
void actor_port_deliver(cb_port_t *p, cb_term_t term);
/* Kill the mailboxes p received on: later sends to them are dropped. */
void actor_ports_die(cb_task_t *p);

/* exit.c */
void actor_exit_start(void);
/* Reset p's crash-isolation state for a new life (spawn). */
void actor_exit_init(cb_task_t *p);
/* spawn_link and spawn_monitor, before the new process is enqueued. */
int actor_spawn_watch(cb_task_t *child, const cb_spawn_opts_t *opts);
/* p's exit: links, monitors and mailboxes are told; consumes reason. */
void actor_exit_signals(cb_task_t *p, cb_term_t reason);
/* Whether a signal has killed p and p may act on it now. */
static inline bool actor_kill_pending(cb_task_t *p)
{
    return atomic_load_explicit(&p->kill, memory_order_relaxed) != CB_NIL &&
           p->defer_kill == 0;
}
/* End p with the reason its pending exit signal carries. */
__attribute__((noreturn)) void actor_die_killed(cb_task_t *p);
void actor_exit_self(cb_term_t reason);
int actor_exit_task(cb_task_t *t, cb_term_t reason);
int actor_link(cb_task_t *t);
int actor_unlink(cb_task_t *t);
int actor_monitor(cb_task_t *t, cb_port_t *mailbox, cb_term_t *ref);
int actor_demonitor(cb_term_t ref);
int actor_trap_exit(cb_port_t *mailbox);
int actor_cells_update_guarded(cb_cell_t **cells, size_t n, cb_cells_fn fn,
                               void *arg);
int actor_cells_update_reading_guarded(cb_cell_t **cells, size_t n,
                                       size_t nwrite, cb_cells_fn fn,
                                       void *arg);
int actor_cells_read_guarded(cb_cell_t **cells, size_t n, int64_t *out);

/* sched.c: end the calling process p with reason (consumed). */
__attribute__((noreturn)) void actor_proc_exit(cb_task_t *p, cb_term_t reason);

/* cell.c */
void actor_cell_init(void);
int actor_cell_new(int64_t initial, cb_cell_t **out);
void actor_cell_free(cb_cell_t *c);
int actor_cells_update(cb_cell_t **cells, size_t n, cb_cells_fn fn, void *arg);
int actor_cells_read(cb_cell_t **cells, size_t n, int64_t *out);
int actor_cells_update_reading(cb_cell_t **cells, size_t n, size_t nwrite,
                               cb_cells_fn fn, void *arg);

/* process_info(Pid, [message_queue_len, heap_size, reductions]) for the
 * tests: the intake of the process's heap and its reductions so far. */
typedef struct actor_info {
    int64_t reductions;
    int64_t msgs_in;
    int64_t msg_bytes_in;
} actor_info_t;
void actor_process_info(const cb_task_t *t, actor_info_t *out);

/* dirty.c: native calls and the dirty CPU schedulers */
int actor_native_call(cb_native_fn fn, void *arg, unsigned flags);
/* Start n dirty CPU schedulers (0: as many as normal ones). */
int actor_dirty_start(int n, char *err, size_t errlen);
/* Join them; halted: give up on one still in a native call after 1 s. */
void actor_dirty_stop(bool halted);
size_t actor_dirty_counters(cb_counter_t *out, size_t max);

#endif
