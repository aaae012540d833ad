/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * The model interface: the one header workloads are written against.
 *
 * A workload is written once with the cb_ calls below; each of the five
 * models implements them with the semantics of the system it stands for.
 * A model is a const table of function pointers (cb_model_t) defined in its
 * own folder, models/<name>/<name>.c, and registered by the folder's mere
 * existence (cmake/Registry.cmake generates the list).  Exactly one model
 * is active in a process at a time; cb_ calls dispatch through it.
 *
 * How each model maps each group:
 *
 *   group     actor (BEAM)        csp (core.async)     locks (JVM)
 *             stm (Clojure refs)  threads (1:1)
 *   --------  ------------------  -------------------  ------------------
 *   tasks     green processes,    go blocks on a       tasks on an
 *             per-core schedulers fixed worker pool,   executor of OS
 *             with stealing       no preemption        threads
 *             stm: same executor  threads: one OS thread per task
 *   reduce    slice budget; yield counted; yields only ignored (kernel
 *             at 0 (default 4000) with preempt=...     preempts)
 *             stm, threads: ignored, the kernel preempts
 *   ports     the owner's mailbox channel with buffer  lock-guarded
 *             (alias), unbounded, policy; rendezvous   blocking queue
 *             copy on send        by default
 *             stm: a transactional queue (a ref)
 *             threads: a futex/condvar blocking queue
 *   recv_     selective receive   unsupported          unsupported
 *   match     with save pointer   (no such thing)      (no such thing)
 *             stm: unsupported; threads: unsupported
 *   select    receive on aliases  alts (puts+takes)    condvar wait on
 *                                                      several queues
 *             stm: orElse + retry; threads: waiter on several queues
 *   waiting   park on the         park on the          block the thread
 *             scheduler's poller  worker's poller
 *             stm, threads: block the OS thread in the kernel
 *   cells     owned by a process; one atom (swap!),    a mutex (or spin,
 *             update = message    or a mutex, or owned rwlock; none:
 *                                 by a go block        the race)
 *             stm: refs in a transaction; threads: ordered mutexes
 *   native    plain: holds its    inline: holds its    inline: the kernel
 *   calls     scheduler; dirty:   worker (core.async)  preempts the thread
 *             a dirty scheduler
 *             stm, threads: inline, the kernel preempts
 *
 * Guarantees every model gives (the semantics tests hold each to them):
 *   - per-sender FIFO on a port: two messages sent by one task to one port
 *     are received in the order sent (policies that drop excepted);
 *   - a send happens-before the receive that returns its message, and a
 *     task's exit happens-before cb_join on it returns: what a task wrote
 *     before sending is visible to the receiver, in every model;
 *   - cb_send consumes its message (see models/term.h for ownership);
 *   - a call a model cannot honour returns -ENOTSUP and the model lists it
 *     in its `unsupported` table; nothing silently falls back.
 *
 * Errors: 0 (or a count) on success, a negative errno-style code on
 * failure; cb_strerror names them.  Timeouts are nanoseconds: CB_FOREVER
 * waits without limit, 0 only polls.
 *
 * Rejected: passing a context pointer to every call (every workload line
 * would carry it, and green models already know the current task), and a
 * switch over model names in each call (adding a model would edit every
 * call site).
 */
#ifndef CB_MODEL_H
#define CB_MODEL_H

#include "models/param.h"
#include "models/term.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cb_task cb_task_t;
typedef struct cb_cell cb_cell_t;

#define CB_FOREVER INT64_C(-1)

/* ---- errors ---- */

#define CB_ERRNO_MAP(X)                                                        \
    X(ENOTSUP, "unsupported by this model")                                    \
    X(ETIMEDOUT, "timed out")                                                  \
    X(EPIPE, "port closed")                                                    \
    X(EAGAIN, "would block")                                                   \
    X(ENOMEM, "out of memory")                                                 \
    X(EINVAL, "invalid argument")                                              \
    X(EDEADLK, "deadlock detected")                                            \
    X(EBUSY, "too many pending operations")                                    \
    X(ESRCH, "no such task")                                                   \
    X(EMFILE, "too many open files")                                           \
    X(ECANCELED, "transaction gave up at its retry limit")                     \
    X(ENOLCK, "more locks held at once than this build allows")

const char *cb_strerror(int err);

/* Returned by cb_send when the port's policy dropped a message. */
#define CB_SEND_DROPPED 1

/* ---- capabilities a model may lack ---- */

typedef enum cb_cap {
    CB_CAP_RECV_MATCH = 1, /* selective receive */
    CB_CAP_SELECT_SEND,    /* send operations inside cb_select */
    CB_CAP_PORT_UNBOUNDED,
    CB_CAP_PORT_FIXED,
    CB_CAP_PORT_SLIDING,
    CB_CAP_PORT_DROPPING,
    CB_CAP_PORT_RENDEZVOUS,
    CB_CAP_IO_WAIT,
    CB_CAP_LINKS,       /* link, unlink, trap_exit, exit_task: see below */
    CB_CAP_MONITORS,    /* monitor, demonitor */
    CB_CAP_SEND_REFUSED, /* a send to a closed port fails with -EPIPE */
    CB_CAP__COUNT
} cb_cap_t;

typedef struct cb_unsupported {
    cb_cap_t cap;
    const char *reason;
} cb_unsupported_t;

const char *cb_cap_name(cb_cap_t cap);

/* ---- ports ---- */

typedef enum cb_port_policy {
    CB_PORT_DEFAULT = 0, /* the model's natural kind of port */
    CB_PORT_UNBOUNDED,
    CB_PORT_FIXED,      /* capacity messages, then senders block */
    CB_PORT_SLIDING,    /* when full, the oldest message is dropped */
    CB_PORT_DROPPING,   /* when full, the new message is dropped */
    CB_PORT_RENDEZVOUS, /* a send completes only when a receive takes it */
} cb_port_policy_t;

typedef struct cb_port_opts {
    cb_port_policy_t policy;
    size_t capacity; /* FIXED, SLIDING, DROPPING: >= 1 */
} cb_port_opts_t;

/* Selective receive predicate: true when msg is the one wanted. */
typedef bool (*cb_match_fn)(cb_term_t msg, void *ctx);

enum { CB_SELECT_RECV = 1, CB_SELECT_SEND = 2 };
/* cb_select flags */
#define CB_SELECT_PRIORITY 1u /* first ready op in array order, not random */

typedef struct cb_select_op {
    cb_port_t *port;
    int dir;       /* CB_SELECT_RECV or CB_SELECT_SEND */
    cb_term_t msg; /* SEND: consumed only if this op completes; RECV: out */
    int status;    /* out: 0, or -EPIPE when the port was closed */
} cb_select_op_t;

/* ---- tasks ---- */

typedef void (*cb_task_fn)(void *arg);

typedef struct cb_spawn_opts {
    size_t stack_size; /* 0: the model's default */
    bool os_thread;    /* csp: a `thread` instead of a go block */
    /* spawn_link and spawn_monitor: linked or monitored before the new
     * task runs, so it cannot die unobserved in between (models without
     * links or monitors return -ENOTSUP).  The DOWN message goes to
     * monitor_mailbox and the monitor's reference to *monitor_ref. */
    bool link;
    cb_port_t *monitor_mailbox;
    cb_term_t *monitor_ref;
} cb_spawn_opts_t;

/* ---- native calls ---- */

/* Native code: it computes and returns, with no reduction points and no
 * park (no receive, sleep, join or yield inside it); a cb_reduce inside it
 * never preempts.  It may send where a send never blocks (an actor
 * mailbox, as a NIF's enif_send), from whatever thread runs it. */
typedef void (*cb_native_fn)(void *arg);

/* cb_native_call flags.  CPU-bound dirty work: the BEAM's
 * ERL_NIF_DIRTY_JOB_CPU_BOUND, run on a dirty CPU scheduler. */
#define CB_NATIVE_DIRTY_CPU 1u

/* ---- shared cells ---- */

/* Updates values[0..n) in place; called with the cells held atomically. */
typedef void (*cb_cells_fn)(int64_t *values, size_t n, void *arg);

/* ---- counters ---- */

typedef struct cb_counter {
    const char *name;
    int64_t value;
} cb_counter_t;

#define CB_COUNTERS_MAX 48

/* ---- the model table ---- */

typedef struct cb_model_env {
    const int *cpus; /* OS indices of the PUs to run on */
    int ncpus;
    uint64_t seed;
} cb_model_env_t;

typedef struct cb_model {
    const char *name;
    const char *stands_for;
    const char *summary;
    const cb_param_def_t *params;          /* ends with a zeroed entry */
    const cb_unsupported_t *unsupported;   /* ends with cap == 0 */

    /* lifecycle */
    int (*start)(const cb_param_set_t *params, const cb_model_env_t *env,
                 char *err, size_t errlen);
    /* Run root(arg) as a task; return when it has returned. */
    int (*run)(cb_task_fn root, void *arg);
    /* Tear down; fails with -EBUSY when tasks outlive the root. */
    int (*stop)(char *err, size_t errlen);
    size_t (*counters)(cb_counter_t *out, size_t max);
    /* Bytes one more task would cost, for refusing absurd sizes early. */
    size_t (*task_cost_bytes)(const cb_param_set_t *params);

    /* tasks */
    int (*spawn)(cb_task_fn fn, void *arg, const cb_spawn_opts_t *opts,
                 cb_task_t **out);
    int (*join)(cb_task_t *t);
    cb_task_t *(*self)(void);
    uint64_t (*task_id)(const cb_task_t *t);
    void (*yield)(void);
    void (*reduce_slow)(void);

    /* ports */
    int (*port_open)(const cb_port_opts_t *opts, cb_port_t **out);
    int (*port_close)(cb_port_t *p);
    void (*port_free)(cb_port_t *p);
    size_t (*port_length)(cb_port_t *p);
    int (*send)(cb_port_t *p, cb_term_t msg);
    int (*recv)(cb_port_t *p, cb_term_t *out, int64_t timeout_ns);
    int (*recv_match)(cb_port_t *p, cb_match_fn match, void *ctx,
                      cb_term_t *out, int64_t timeout_ns);
    int (*select)(cb_select_op_t *ops, size_t n, unsigned flags,
                  int64_t timeout_ns);

    /* waiting */
    int (*sleep)(int64_t ns);
    int (*io_wait)(int fd, uint32_t events, int64_t timeout_ns);

    /* cells */
    int (*cell_new)(int64_t initial, cb_cell_t **out);
    void (*cell_free)(cb_cell_t *c);
    int (*cells_update)(cb_cell_t **cells, size_t n, cb_cells_fn fn,
                        void *arg);
    int (*cells_read)(cb_cell_t **cells, size_t n, int64_t *out);

    /* The BEAM's reference trick (OTP's receive markers): recv_mark makes
     * a fresh reference bound to the present end of p's queue, and
     * recv_match_ref(p, ref, ...) then skips every message queued before
     * that mark, since none of them can contain the reference.  Models
     * without selective receive return a plain reference from recv_mark
     * and -ENOTSUP from recv_match_ref. */
    cb_term_t (*recv_mark)(cb_port_t *p);
    int (*recv_match_ref)(cb_port_t *p, cb_term_t ref, cb_match_fn match,
                          void *ctx, cb_term_t *out, int64_t timeout_ns);

    /* Crash isolation: see "exits, links and monitors" below. */
    void (*exit_self)(cb_term_t reason); /* never returns */
    int (*exit_task)(cb_task_t *t, cb_term_t reason);
    int (*link)(cb_task_t *t);
    int (*unlink)(cb_task_t *t);
    int (*monitor)(cb_task_t *t, cb_port_t *mailbox, cb_term_t *ref);
    int (*demonitor)(cb_term_t ref);
    int (*trap_exit)(cb_port_t *mailbox);
    /* A long native call without reduction points (a NIF): see
     * cb_native_call below.  A model without dirty schedulers uses
     * cb_model_native_inline. */
    int (*native_call)(cb_native_fn fn, void *arg, unsigned flags);
    /* An update that reads cells it does not write: see
     * cb_cells_update_reading. */
    int (*cells_update_reading)(cb_cell_t **cells, size_t n, size_t nwrite,
                                cb_cells_fn fn, void *arg);
    /* OS threads the model runs to keep `tasks` tasks alive at once on
     * ncpus PUs, each of them possibly blocked (waiting for a go signal,
     * parked in a receive): one per task for `threads`, one per blocked
     * task up to a cap for an executor, the schedulers for a green model.
     * -1 when no number of threads the model may start can hold them
     * (an executor's max_threads), with that cap in *most.  The runner
     * checks the answer against the kernel's limits before the run. */
    int64_t (*threads_for)(const cb_param_set_t *params, int ncpus,
                           int64_t tasks, int64_t *most);
} cb_model_t;

/* ---- registry (models/model.c) ---- */

size_t cb_model_count(void);
const cb_model_t *cb_model_at(size_t i);
const cb_model_t *cb_model_find(const char *name);
/* NULL when supported, else the model's reason. */
const char *cb_model_unsupported(const cb_model_t *m, cb_cap_t cap);

/* Make m the active model and start it; 0 or -errno with err filled. */
int cb_model_start(const cb_model_t *m, const cb_param_set_t *params,
                   const cb_model_env_t *env, char *err, size_t errlen);
int cb_model_run(cb_task_fn root, void *arg);
int cb_model_stop(char *err, size_t errlen);
size_t cb_model_counters(cb_counter_t *out, size_t max);

/* The policy and capacity a model's port_open is asked for: opts with
 * CB_PORT_DEFAULT replaced by the model's natural kind (natural,
 * natural_cap), capacity 0 for unbounded and rendezvous ports, and
 * -EINVAL for an unknown policy or a buffer outside 1..CB_PORT_CAPACITY_MAX.
 * Which of the policies a model supports stays its own answer (-ENOTSUP
 * after this call). */
#define CB_PORT_CAPACITY_MAX ((size_t)1 << 32)
int cb_model_port_kind(const cb_port_opts_t *opts, cb_port_policy_t natural,
                       size_t natural_cap, cb_port_policy_t *policy,
                       size_t *capacity);

/* Slots for a model without selective receive, shared so that each such
 * model says "unsupported" the same honest way: recv_match and
 * recv_match_ref return -ENOTSUP, and recv_mark still hands out a plain
 * reference (make_ref() exists everywhere; only the trick does not). */
int cb_model_no_recv_match(cb_port_t *p, cb_match_fn match, void *ctx,
                           cb_term_t *out, int64_t timeout_ns);
cb_term_t cb_model_plain_recv_mark(cb_port_t *p);
int cb_model_no_recv_match_ref(cb_port_t *p, cb_term_t ref,
                               cb_match_fn match, void *ctx, cb_term_t *out,
                               int64_t timeout_ns);

/* Slots for a model without links and monitors (the JVM, core.async,
 * Go): each returns -ENOTSUP, and the model lists CB_CAP_LINKS and
 * CB_CAP_MONITORS with its reason. */
int cb_model_no_exit_task(cb_task_t *t, cb_term_t reason);
int cb_model_no_link(cb_task_t *t);
int cb_model_no_monitor(cb_task_t *t, cb_port_t *mailbox, cb_term_t *ref);
int cb_model_no_demonitor(cb_term_t ref);
int cb_model_no_trap_exit(cb_port_t *mailbox);
/* The slots above, for a model table: `CB_MODEL_NO_LINKS,`. */
#define CB_MODEL_NO_LINKS                                                      \
    .exit_task = cb_model_no_exit_task, .link = cb_model_no_link,              \
    .unlink = cb_model_no_link, .monitor = cb_model_no_monitor,                \
    .demonitor = cb_model_no_demonitor, .trap_exit = cb_model_no_trap_exit

/* A model whose real system ends the whole program at this point (an
 * unrecovered Go panic) calls cb_model_die: the handler the runner set
 * runs first (it flushes what the run wrote; it may also end the process
 * itself), then `why` goes to stderr and the process exits with status 2,
 * as a Go program does (runtime/panic.go: fatalpanic, exit(2)). */
typedef void (*cb_die_handler_fn)(const char *why);
void cb_model_set_die_handler(cb_die_handler_fn fn);
__attribute__((noreturn)) void cb_model_die(const char *why);

/* A task's exit reason in words, for a crash report ("normal", "kill",
 * "{badarg,42}"): atoms, integers and tuples of them. */
void cb_term_format(cb_term_t t, char *buf, size_t len);
/* The native_call slot of a model without dirty schedulers: fn runs
 * inline on the calling task's thread, with reduction points disabled
 * inside it, whatever the flags say.  That is what a thread per task does
 * (the kernel preempts a JVM thread in native code), and what a go block
 * does (it holds its worker thread until the call returns). */
int cb_model_native_inline(cb_native_fn fn, void *arg, unsigned flags);

/* The active model; dispatch goes through it. */
extern const cb_model_t *cb__active;

/* ---- reductions ----
 *
 * cb_reduce(n) counts n reductions (about one function call's worth of
 * work each, as on the BEAM) against the running task's slice budget and
 * calls the model's reduce_slow when the budget is spent; the actor model
 * preempts there.  The budget is per worker thread, and a green task may
 * resume on another worker after reduce_slow, so its address must be
 * recomputed from the thread pointer at every call: cb__budget_addr does
 * that with a volatile asm the compiler may not merge across calls (a
 * plain &cb__budget could be cached in a register across the switch; see
 * DESIGN.md, "TLS across a switch").
 */
extern _Thread_local int64_t cb__budget
    __attribute__((tls_model("initial-exec")));

#if defined(__x86_64__) && !defined(CB_SANITIZE_THREAD)
static inline __attribute__((always_inline)) int64_t *cb__budget_addr(void)
{
    int64_t *p;
    __asm__ volatile("movq %%fs:0, %0\n\t"
                     "addq cb__budget@gottpoff(%%rip), %0"
                     : "=r"(p));
    return p;
}
#elif defined(__aarch64__) && !defined(CB_SANITIZE_THREAD)
static inline __attribute__((always_inline)) int64_t *cb__budget_addr(void)
{
    int64_t *p;
    __asm__ volatile("mrs %0, tpidr_el0\n\t"
                     "add %0, %0, #:tprel_hi12:cb__budget, lsl #12\n\t"
                     "add %0, %0, #:tprel_lo12_nc:cb__budget"
                     : "=r"(p));
    return p;
}
#else
/* Portable (and TSan-visible) fallback: a call, never inlined. */
int64_t *cb__budget_addr(void);
#endif

static inline void cb_reduce(int n)
{
    int64_t *budget = cb__budget_addr();
    if (__builtin_expect((*budget -= n) <= 0, 0))
        cb__active->reduce_slow();
}

/* ---- the calls workloads make ---- */

static inline int cb_spawn(cb_task_fn fn, void *arg,
                           const cb_spawn_opts_t *opts, cb_task_t **out)
{
    return cb__active->spawn(fn, arg, opts, out);
}
static inline int cb_join(cb_task_t *t)
{
    return cb__active->join(t);
}
static inline cb_task_t *cb_self(void)
{
    return cb__active->self();
}
static inline uint64_t cb_task_id(const cb_task_t *t)
{
    return cb__active->task_id(t);
}
static inline void cb_yield(void)
{
    cb__active->yield();
}
static inline int cb_port_open(const cb_port_opts_t *opts, cb_port_t **out)
{
    return cb__active->port_open(opts, out);
}
static inline int cb_port_close(cb_port_t *p)
{
    return cb__active->port_close(p);
}
static inline void cb_port_free(cb_port_t *p)
{
    cb__active->port_free(p);
}
/* Messages queued now (process_info's message_queue_len); a snapshot. */
static inline size_t cb_port_length(cb_port_t *p)
{
    return cb__active->port_length(p);
}
/* 0, CB_SEND_DROPPED, or -EPIPE (closed; msg is released). */
static inline int cb_send(cb_port_t *p, cb_term_t msg)
{
    return cb__active->send(p, msg);
}
/* 0, -ETIMEDOUT, or -EPIPE once the port is closed and drained. */
static inline int cb_recv(cb_port_t *p, cb_term_t *out, int64_t timeout_ns)
{
    return cb__active->recv(p, out, timeout_ns);
}
static inline int cb_recv_match(cb_port_t *p, cb_match_fn match, void *ctx,
                                cb_term_t *out, int64_t timeout_ns)
{
    return cb__active->recv_match(p, match, ctx, out, timeout_ns);
}
/* A reference for the reference trick: see recv_mark in cb_model_t. */
static inline cb_term_t cb_recv_mark(cb_port_t *p)
{
    return cb__active->recv_mark(p);
}
/* A selective receive that may skip what was queued before ref's mark. */
static inline int cb_recv_match_ref(cb_port_t *p, cb_term_t ref,
                                    cb_match_fn match, void *ctx,
                                    cb_term_t *out, int64_t timeout_ns)
{
    return cb__active->recv_match_ref(p, ref, match, ctx, out, timeout_ns);
}
/* Index of the op that completed, -ETIMEDOUT (timeout 0: nothing ready, the
 * `default` of alts), or -ENOTSUP. */
static inline int cb_select(cb_select_op_t *ops, size_t n, unsigned flags,
                            int64_t timeout_ns)
{
    return cb__active->select(ops, n, flags, timeout_ns);
}
static inline int cb_sleep(int64_t ns)
{
    return cb__active->sleep(ns);
}
/* Wait until fd is ready for events (POLLIN/POLLOUT); returns the ready
 * events (> 0) or -ETIMEDOUT. */
static inline int cb_io_wait(int fd, uint32_t events, int64_t timeout_ns)
{
    return cb__active->io_wait(fd, events, timeout_ns);
}
static inline int cb_cell_new(int64_t initial, cb_cell_t **out)
{
    return cb__active->cell_new(initial, out);
}
static inline void cb_cell_free(cb_cell_t *c)
{
    cb__active->cell_free(c);
}
static inline int cb_cells_update(cb_cell_t **cells, size_t n, cb_cells_fn fn,
                                  void *arg)
{
    return cb__active->cells_update(cells, n, fn, arg);
}
static inline int cb_cells_read(cb_cell_t **cells, size_t n, int64_t *out)
{
    return cb__active->cells_read(cells, n, out);
}
/*
 * fn sees the values of cells[0..n) and only cells[0..nwrite) are written
 * back (0 < nwrite <= n); the rest are read, never written, and changes
 * fn makes to them are dropped.  Whether the cells read are protected is
 * the model's isolation, as in its real system: a lock-based model locks
 * them as well, so the update is serializable; Clojure's refs (stm, with
 * its default isolation=snapshot) read them from the transaction's
 * snapshot unprotected, so two updates that each read the cell the other
 * writes can both commit — write skew — unless they `ensure` those reads
 * (stm -p isolation=ensure).  0, or -ECANCELED when a transaction gave up
 * at its retry limit (stm).
 */
static inline int cb_cells_update_reading(cb_cell_t **cells, size_t n,
                                          size_t nwrite, cb_cells_fn fn,
                                          void *arg)
{
    return cb__active->cells_update_reading(cells, n, nwrite, fn, arg);
}

/* ---- exits, links and monitors ----
 *
 * The BEAM's crash isolation, and what each other model's real system
 * does instead (docs/models/ give the rules with their sources):
 *
 *   cb_exit(reason)      the calling task ends now with reason: `normal`
 *                        (cb_atom("normal")) or any other term, which is a
 *                        crash.  It does not return; the task's C frames
 *                        are abandoned, not unwound (free what you hold
 *                        first, and never call it inside cb_cells_update).
 *   cb_exit_task(t, r)   exit/2: send t an exit signal with reason r.
 *   cb_link(t), cb_unlink(t), cb_trap_exit(mailbox)
 *   cb_monitor(t, mailbox, &ref), cb_demonitor(ref)
 *
 * Tasks are named by their cb_task_t, which stays valid until cb_join on
 * it (a task spawned without `out` cannot be named); in messages a task
 * is cb_pid(t), the integer of its id.  EXIT and DOWN messages are terms
 * in the mailbox the caller named: {'EXIT', Pid, Reason} while trapping
 * exits, {'DOWN', Ref, process, Pid, Reason} for a monitor.
 *
 *   actor    every rule of Erlang's (models/actor/exit.c);
 *   csp      no links or monitors; an abnormal cb_exit is an exception
 *            thrown out of a go block (core.async: printed by the
 *            uncaught-exception handler, the go block ends, the rest runs
 *            on) or, with -p crash=panic, a Go panic (the program ends);
 *   locks, stm, threads
 *            no links or monitors; an abnormal cb_exit is an uncaught
 *            exception: the JVM prints it and ends that thread only.
 * In every model cb_join on a task that crashed returns (0).  A faulting
 * instruction (SIGSEGV) is no exit: it ends the OS process, as a crashing
 * NIF ends a BEAM node.
 */
__attribute__((noreturn)) static inline void cb_exit(cb_term_t reason)
{
    cb__active->exit_self(reason);
    __builtin_trap(); /* exit_self never returns */
}
static inline int cb_exit_task(cb_task_t *t, cb_term_t reason)
{
    return cb__active->exit_task(t, reason);
}
static inline int cb_link(cb_task_t *t)
{
    return cb__active->link(t);
}
static inline int cb_unlink(cb_task_t *t)
{
    return cb__active->unlink(t);
}
/* The DOWN message goes to mailbox (a port of the caller's); *ref names
 * the monitor. */
static inline int cb_monitor(cb_task_t *t, cb_port_t *mailbox, cb_term_t *ref)
{
    return cb__active->monitor(t, mailbox, ref);
}
static inline int cb_demonitor(cb_term_t ref)
{
    return cb__active->demonitor(ref);
}
/* process_flag(trap_exit, true) with EXIT messages to mailbox; NULL turns
 * trapping off. */
static inline int cb_trap_exit(cb_port_t *mailbox)
{
    return cb__active->trap_exit(mailbox);
}
/* A task in a message: the integer of its id. */
static inline cb_term_t cb_pid(const cb_task_t *t)
{
    return cb_int((int64_t)cb_task_id(t));
}

/*
 * Run fn(arg) as a long native call, the BEAM's NIF: 0, or -EINVAL for
 * unknown flags.  Without flags the call holds whatever runs the task for
 * as long as it lasts: on `actor` that is a normal scheduler, which serves
 * no other process meanwhile (a NIF that does not return within about a
 * millisecond is the BEAM's documented pathology).  With
 * CB_NATIVE_DIRTY_CPU, `actor` moves the task to a dirty CPU scheduler
 * for the call and back to a normal one after it, so the normal
 * schedulers keep serving everyone else (erl_nif's dirty NIFs).  The
 * other models run both kinds inline in the task (cb_model_native_inline).
 */
static inline int cb_native_call(cb_native_fn fn, void *arg, unsigned flags)
{
    return cb__active->native_call(fn, arg, flags);
}

/* The clock every model and workload measures with (monotonic, ns). */
int64_t cb_now_ns(void);

#endif
