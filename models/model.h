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
 *   cells     owned by a process; owned by a go block; a mutex (or spin,
 *             update = message    update = message     rwlock)
 *             stm: refs in a transaction; threads: ordered mutexes
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
} cb_spawn_opts_t;

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

/* The clock every model and workload measures with (monotonic, ns). */
int64_t cb_now_ns(void);

#endif
