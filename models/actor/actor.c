/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * The `actor` model: the BEAM (ERTS), the runtime of Erlang and Elixir.
 *
 * What it guarantees, as the BEAM does:
 *   - Processes are green threads (runtime/ctx.h) on guarded, pooled
 *     stacks (runtime/stack.h), taken when the process first runs (at
 *     spawn where the kernel has no guard markers; with `stacks=copy`,
 *     one shared stack per scheduler: sched.c).  One
 *     scheduler thread per PU of --cpus, pinned to it, each with its own
 *     locked run queue; a new process goes on its parent's queue, a woken
 *     one on the queue of the scheduler it last ran on.  An idle
 *     scheduler steals half of a busy one's queue; if there is nothing to
 *     steal it sleeps in its poller (epoll) and a scheduler that queues
 *     work for it, or that has more than it can run, wakes it with one
 *     eventfd write.  Busy schedulers even out their queues every few
 *     hundred microseconds, as the BEAM balances its run queues.  No
 *     scheduler spins when there is no work.
 *   - Reduction-counted preemption: a process runs for a budget of
 *     `reductions` (default 4000, the BEAM's CONTEXT_REDS) reduction
 *     points (cb_reduce; a send and a receive count one each) and then
 *     goes to the back of its run queue.  Every process that stays
 *     runnable therefore gets a slice within (queue length) x (budget)
 *     reductions: a CPU hog cannot delay a probe by more than that, and
 *     10,000 spinners share the CPUs equally.  `reductions=0` turns the
 *     budget off, so the starvation it prevents can be measured.
 *   - Messages are copied: a send deep-copies the term into a fresh
 *     allocation that becomes the receiver's (the BEAM copies into the
 *     receiver's heap or, off-heap, into a heap fragment attached to the
 *     message), and frees the sender's original.  Binaries above 64 bytes
 *     are shared by reference count (refc binaries) and freed when their
 *     last holder lets go.  Mailboxes are unbounded, sends never block,
 *     and per-sender order holds (mailbox.c).  The copy is the whole
 *     term, every word of every tuple and cons cell, so its cost grows
 *     with the message ("All data in messages sent between Erlang
 *     processes is copied, except for refc binaries and literals": the
 *     efficiency guide's "Processes"; erts/emulator/beam/copy.c sizes
 *     the term with size_object, then copies it with copy_struct, and so
 *     does the send here: cb_term_copy, then cb_term_heap_bytes for the
 *     memory account).  ping-pong with payload_kind=tuple or list shows
 *     the price; the pointer-passing models pay none.
 *   - `copy=off` is the same runtime passing the reference instead, as
 *     Akka does on the JVM: a message is a shared object, and its
 *     immutability is a convention ("Messages should be immutable, this
 *     is to avoid the shared mutable state trap": Akka's "Akka and the
 *     Java Memory Model"; Akka's own check, akka.actor.serialize-messages,
 *     serializes every local message, and is off by default and meant for
 *     tests).  The receiver gets the sender's very box, so the price of
 *     the BEAM's isolation is one flag away; what the flag gives up is
 *     that isolation: a sender that keeps writing to a term it sent (C
 *     cannot forbid it) is seen by the receiver, and max_memory counts
 *     only the queue's nodes, the terms being the senders' (a shared
 *     heap's).
 *   - Receive is selective, with a save pointer and the reference trick
 *     (mailbox.c), and has `after` timeouts.
 *   - sleep and io_wait park the process on its scheduler's poller; a
 *     busy scheduler polls at least every 200 us of slices, and at once
 *     when a timer is due (sched.c).
 *   - `max_memory`: when the mailboxes plus the processes pass it, the VM
 *     stops running processes and prints a report naming the biggest
 *     mailbox and its length to stderr, and run() returns -ENOMEM, so the
 *     runner records an "error" outcome with "out of memory" instead of
 *     hanging; the BEAM dies of an overflowing mailbox in the same way
 *     ("eheap_alloc: Cannot allocate ... bytes of memory"), writing a
 *     crash dump.
 *   - Cells are processes that own a value (a process per cell up to a
 *     cap, then shards of cells per process); updates are messages
 *     (cell.c).  select is a receive on several aliases of the caller's
 *     mailbox.
 *   - Crash isolation (exit.c, with each rule's source): exit reasons,
 *     links, monitors, trap_exit and exit/2 by Erlang's rules; a message
 *     sent to a process that has exited is dropped and its mailbox (every
 *     port it received on) dies with it; a send never fails, so
 *     cb_port_close is unalias/1 (later sends are dropped, the receiver
 *     gets -EPIPE once it has what came before).  A faulting instruction
 *     (SIGSEGV) in a process still ends the OS process, as a crashing NIF
 *     ends a BEAM node, and so does a stack overflow (exit.c says why it
 *     cannot end only the offender).
 *   - Native calls (cb_native_call) are NIFs: a plain one holds its
 *     normal scheduler until it returns, however long; a dirty CPU one
 *     moves the process to one of `dirty_cpu` dirty CPU scheduler threads
 *     (default: as many as normal schedulers, as +SDcpu) for the call and
 *     back to a normal scheduler after it, while the normal schedulers
 *     serve everyone else (dirty.c, with the BEAM's sources).
 *
 * Invariants:
 *   - a process runs on one scheduler at a time, and only between a
 *     dequeue and its next switch back to that scheduler;
 *   - per-scheduler state is reached through actor_this_sched(), a
 *     noinline accessor, never cached across a call that may switch;
 *   - the budget lives in the thread-local cb__budget, set by the
 *     scheduler before each slice and read back after it (see model.h on
 *     TLS across a switch);
 *   - after stop, no scheduler thread runs and every process block and
 *     stack is freed.
 *
 * Timer preemption (`-p preempt=timer`) is refused as unsupported, for
 * reasons this design cannot get around:
 *   1. rt_ctx_switch is a function call: it saves only the callee-saved
 *      registers.  Code interrupted by a signal has live caller-saved and
 *      vector registers too; switching away from inside a signal handler
 *      would need a second, full-register switch path, the kernel's
 *      signal frame unwound by hand, and the sanitizers told about it.
 *   2. An interrupted PC is safe only inside workload code, never inside
 *      the runtime, libc or a lock (malloc's arena lock held by a
 *      preempted process would deadlock the next process that mallocs on
 *      that scheduler).  Workload code calls the term functions and
 *      inlines cb_reduce, so "inside workload code" is not a PC range
 *      one can check; Go can do it because its compiler emits safe-point
 *      tables for every instruction, which C does not have.
 *   What a signal may safely do is set the budget to zero so the next
 *   reduction point yields, which helps nothing: code that reaches
 *   reduction points is bounded by the budget already.  The BEAM's own
 *   answer for code without reduction points (a long NIF) is not to
 *   preempt it either: such work is declared dirty and runs on separate
 *   dirty-CPU scheduler threads, so normal schedulers stay responsive.
 *   Here that is cb_native_call with CB_NATIVE_DIRTY_CPU (dirty.c); a
 *   process spawned with os_thread is still refused (-ENOTSUP): the BEAM
 *   has no such thing.
 *
 * Rejected alternatives:
 *   - One global run queue: every spawn, wake and slice would take one
 *     lock from every scheduler (the BEAM left it behind in R13).
 *   - Lock-free work-stealing deques (Chase-Lev): faster pops, but a
 *     woken process must be pushed on another scheduler's queue, which a
 *     Chase-Lev deque does not allow; the BEAM's run queues are locked
 *     and so are these, with a spinlock held for a few pointer moves.
 *   - A per-process arena allocator behind models/term.h: terms are
 *     malloc'd by the shared term module, so the "heap" of a process is
 *     the set of its copies, accounted (msg_bytes_in) rather than laid
 *     out in one block; the semantics a user can observe (copy, refc
 *     sharing, release at exit, memory growth) are the BEAM's.
 */
#include "models/actor/actor_int.h"

#include "runtime/clock.h"
#include "runtime/topo.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

actor_model_t actor = {.reg_mu = PTHREAD_MUTEX_INITIALIZER,
                       .done_mu = PTHREAD_MUTEX_INITIALIZER,
                       .msg_mu = PTHREAD_MUTEX_INITIALIZER};

static const cb_param_def_t actor_params[] = {
    {.name = "reductions",
     .kind = CB_PARAM_INT,
     .help = "reduction budget of a slice (the BEAM's 4000); 0 turns "
             "reduction preemption off",
     .unit = "reductions",
     .def = 4000,
     .quick = 4000,
     .min = 0,
     .max = 1000000000},
    {.name = "preempt",
     .kind = CB_PARAM_ENUM,
     .help = "what preempts a process: reductions, or a timer signal "
             "(unsupported: see the model's essay)",
     .choices = "reductions|timer",
     .enum_def = "reductions"},
    {.name = "max_memory",
     .kind = CB_PARAM_INT,
     .help = "stop the VM with a report when mailboxes and processes pass "
             "this; 0: no cap",
     .unit = "bytes",
     .def = 0,
     .quick = 0,
     .min = 0,
     .max = INT64_C(1) << 50},
    {.name = "stacks",
     .kind = CB_PARAM_ENUM,
     .help = "guarded: a pooled, guarded stack per process; copy: slices "
             "run on one shared stack per scheduler and a parked process "
             "keeps only the bytes it used (no migration once started)",
     .choices = "guarded|copy",
     .enum_def = "guarded"},
    {.name = "stack",
     .kind = CB_PARAM_INT,
     .help = "stack of each process (address space; resident only where "
             "touched)",
     .unit = "KiB",
     .def = 64,
     .quick = 64,
     .min = 16,
     .max = 1024 * 1024},
    {.name = "dirty_cpu",
     .kind = CB_PARAM_INT,
     .help = "dirty CPU scheduler threads that run dirty native calls "
             "(+SDcpu); 0: as many as normal schedulers, the BEAM's "
             "default, which is also their maximum",
     .unit = "threads",
     .def = 0,
     .quick = 0,
     .min = 0,
     .max = RT_TOPO_MAX_PUS},
    {.name = "copy",
     .kind = CB_PARAM_ENUM,
     .help = "on: a send copies the message into the receiver's heap (the "
             "BEAM); off: it passes the reference, immutable by convention "
             "(Akka on the JVM)",
     .choices = "on|off",
     .enum_def = "on"},
    {0},
};

static const char timer_reason[] =
    "preempt=timer is unsupported: the context switch saves only "
    "callee-saved registers, and a signal cannot tell workload code from "
    "the runtime, libc or a held lock; long work without reduction points "
    "belongs on a dirty scheduler (cb_native_call with "
    "CB_NATIVE_DIRTY_CPU), as on the BEAM";

static int actor_start(const cb_param_set_t *params, const cb_model_env_t *env,
                       char *err, size_t errlen)
{
    if (strcmp(cb_params_str(params, "preempt"), "timer") == 0) {
        snprintf(err, errlen, "%s", timer_reason);
        return -ENOTSUP;
    }
    int rc = rt_topo_init();
    if (rc < 0) {
        snprintf(err, errlen, "loading the topology: %s", cb_strerror(rc));
        return rc;
    }
    int n = env->ncpus > 0 ? env->ncpus : rt_topo_npus();
    if (n > RT_TOPO_MAX_PUS) {
        snprintf(err, errlen, "too many PUs (%d)", n);
        return -EINVAL;
    }
    actor.scheds = calloc((size_t)n, sizeof *actor.scheds);
    if (!actor.scheds) {
        snprintf(err, errlen, "no memory for %d schedulers", n);
        return -ENOMEM;
    }
    actor.nscheds = n;
    for (int i = 0; i < n; i++) {
        actor.scheds[i].index = i;
        actor.scheds[i].pu =
            env->ncpus > 0 ? env->cpus[i] : rt_topo_pu_os_index(i);
    }
    actor.reductions = cb_params_int(params, "reductions");
    actor.max_memory = cb_params_int(params, "max_memory");
    actor.stack_bytes = (size_t)cb_params_int(params, "stack") * 1024;
    actor.copy_stacks = strcmp(cb_params_str(params, "stacks"), "copy") == 0;
    actor.copy_messages = strcmp(cb_params_str(params, "copy"), "off") != 0;
    actor.seed = env->seed;
    atomic_store(&actor.next_id, 1);
    atomic_store(&actor.stopping, 0);
    atomic_store(&actor.halted, 0);
    atomic_store(&actor.foreign_mem, 0);
    atomic_store(&actor.nsleeping, 0);
    actor.root_done = 0;
    actor.port_max_len = 0;
    actor.ports = NULL;
    atomic_store(&actor.procs_allocated, 0);
    actor.free_msgs = NULL;
    actor.nfree_msgs = 0;
    pthread_cond_init(&actor.done_cv, NULL);
    actor_cell_init();
    actor_exit_start();
    rc = actor_sched_start(err, errlen);
    if (rc == 0) {
        rc = actor_dirty_start((int)cb_params_int(params, "dirty_cpu"), err,
                               errlen);
        if (rc < 0)
            actor_sched_stop();
    }
    if (rc < 0) {
        free(actor.scheds);
        actor.scheds = NULL;
    }
    return rc;
}

static int actor_run(cb_task_fn root, void *arg)
{
    int rc = actor_spawn_root(root, arg);
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&actor.done_mu);
    while (!actor.root_done)
        pthread_cond_wait(&actor.done_cv, &actor.done_mu);
    pthread_mutex_unlock(&actor.done_mu);
    return atomic_load(&actor.halted) ? -ENOMEM : 0;
}

static int actor_stop(char *err, size_t errlen)
{
    if (atomic_load(&actor.halted)) {
        /* The processes are frozen; nothing can be torn down, but no
         * scheduler may still be finishing a slice when the caller goes
         * on (it deactivates the model), so the threads are stopped. */
        actor_dirty_stop(true);
        actor_sched_halt();
        snprintf(err, errlen, "the VM was stopped by max_memory");
        return -EBUSY;
    }
    /* Processes still finishing (a detached sender's last send) get a
     * moment, as in the threads model. */
    int64_t until = rt_now_ns() + 2 * RT_NS_PER_S;
    while (actor_live() > 0 && rt_now_ns() < until) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    int64_t left = actor_live();
    if (left > 0) {
        snprintf(err, errlen,
                 "%lld processes still alive after the root returned",
                 (long long)left);
        return -EBUSY;
    }
    /* Dirty threads first: a wake they send must not find the normal
     * schedulers' pollers freed (dirty.c). */
    actor_dirty_stop(false);
    actor_sched_stop();
    /* Message nodes live in blocks, freed with them below. */
    actor.free_msgs = NULL;
    actor.nfree_msgs = 0;
    for (int i = 0; i < actor.nscheds; i++)
        RT_ASSERT(actor.scheds[i].rq_head == NULL);
    pthread_mutex_lock(&actor.reg_mu);
    for (size_t i = 0; i < actor.nblocks; i++)
        free(actor.blocks[i]);
    free(actor.blocks);
    actor.blocks = NULL;
    actor.nblocks = actor.blocks_cap = 0;
    pthread_mutex_unlock(&actor.reg_mu);
    pthread_cond_destroy(&actor.done_cv);
    free(actor.scheds);
    actor.scheds = NULL;
    actor.nscheds = 0;
    return 0;
}

static size_t actor_counters(cb_counter_t *out, size_t max)
{
    size_t n = 0;
#define X(f)                                                                   \
    if (n < max) {                                                             \
        int64_t v = 0;                                                         \
        for (int i = 0; i < actor.nscheds; i++)                                \
            v += atomic_load_explicit(&actor.scheds[i].c.f,                    \
                                      memory_order_relaxed);                   \
        out[n++] = (cb_counter_t){#f, v};                                      \
    }
    ACTOR_SCHED_COUNTERS(X)
#undef X
    pthread_mutex_lock(&actor.reg_mu);
    int64_t maxlen = actor.port_max_len;
    pthread_mutex_unlock(&actor.reg_mu);
    if (n < max)
        out[n++] = (cb_counter_t){"max_queue_len", maxlen};
    if (n < max)
        out[n++] = (cb_counter_t){"schedulers", actor.nscheds};
    if (n < max)
        out[n++] = (cb_counter_t){
            "processes_allocated",
            atomic_load_explicit(&actor.procs_allocated, memory_order_relaxed)};
    n += actor_dirty_counters(out + n, max - n);
    return n;
}

static size_t actor_task_cost(const cb_param_set_t *params)
{
    /* A parked process keeps its struct and the top page of its stack
     * resident (the rest of the stack is address space only), or with
     * copying stacks the bytes it used (under 1 KiB in the talk cases);
     * measured with the spawn workload's rss_per_task_bytes. */
    if (strcmp(cb_params_str(params, "stacks"), "copy") == 0)
        return sizeof(cb_task_t) + 1024;
    return sizeof(cb_task_t) + 4096;
}

static int64_t actor_threads_for(const cb_param_set_t *params, int ncpus,
                                 int64_t tasks, int64_t *most)
{
    /* One scheduler thread per PU, whatever the number of processes. */
    (void)params, (void)tasks, (void)most;
    return ncpus > 0 ? ncpus : 1;
}

static uint64_t actor_task_id(const cb_task_t *t)
{
    return t ? t->id : 0;
}

static const cb_unsupported_t actor_unsupported[] = {
    {CB_CAP_SELECT_SEND,
     "a BEAM receive only takes messages; a send never blocks, so there is "
     "nothing for a select to wait on"},
    {CB_CAP_PORT_FIXED, "BEAM mailboxes are unbounded; there is no buffer "
                        "size and no backpressure on send"},
    {CB_CAP_PORT_SLIDING, "BEAM mailboxes never drop messages"},
    {CB_CAP_PORT_DROPPING, "BEAM mailboxes never drop messages"},
    {CB_CAP_PORT_RENDEZVOUS,
     "a BEAM send is asynchronous; a rendezvous is a request and a reply, "
     "written as two messages"},
    {CB_CAP_SEND_REFUSED,
     "a BEAM send never fails: a message to a process that has exited, or "
     "to an alias deactivated with unalias/1 (cb_port_close), is dropped "
     "and the sender cannot tell"},
    {0, NULL},
};

const cb_model_t cb_model_actor = {
    .name = "actor",
    .stands_for = "the BEAM (ERTS: Erlang, Elixir)",
    .summary = "green processes on per-core schedulers with stealing; "
               "copying unbounded mailboxes, selective receive; "
               "reduction-counted preemption",
    .params = actor_params,
    .unsupported = actor_unsupported,
    .start = actor_start,
    .run = actor_run,
    .stop = actor_stop,
    .counters = actor_counters,
    .task_cost_bytes = actor_task_cost,
    .spawn = actor_spawn,
    .join = actor_join,
    .self = actor_self,
    .task_id = actor_task_id,
    .yield = actor_yield,
    .reduce_slow = actor_reduce_slow,
    .port_open = actor_port_open,
    .port_close = actor_port_close,
    .port_free = actor_port_free,
    .port_length = actor_port_length,
    .send = actor_send,
    .recv = actor_recv,
    .recv_match = actor_recv_match,
    .select = actor_select,
    .sleep = actor_sleep,
    .io_wait = actor_io_wait,
    .cell_new = actor_cell_new,
    .cell_free = actor_cell_free,
    .cells_update = actor_cells_update_guarded,
    .cells_read = actor_cells_read_guarded,
    .recv_mark = actor_recv_mark,
    .recv_match_ref = actor_recv_match_ref,
    .exit_self = actor_exit_self,
    .exit_task = actor_exit_task,
    .link = actor_link,
    .unlink = actor_unlink,
    .monitor = actor_monitor,
    .demonitor = actor_demonitor,
    .trap_exit = actor_trap_exit,
    .native_call = actor_native_call,
    .cells_update_reading = actor_cells_update_reading_guarded,
    .threads_for = actor_threads_for,
};
