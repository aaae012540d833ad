/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * The `csp` model: Clojure core.async go blocks and channels, with Go's
 * scheduler and preemption as options.
 *
 * What it stands for.  core.async rewrites a `go` block into a state
 * machine that parks at every channel op (>!, <!, alts!) that cannot
 * complete, freeing its thread; the machines run on a fixed pool of 8
 * threads (clojure.core.async.pool-size) fed by one queue.  Nothing
 * preempts a go block: one that computes without parking keeps its
 * thread, and as many of them as the pool has threads starve every other
 * go block.  `thread` runs a body on a real thread whose channel ops
 * (>!!, <!!, alts!!) block it.  Channels are first class: unbuffered
 * (a rendezvous), or with a fixed, sliding or dropping buffer; `close!`,
 * `alts!` with random choice, :priority and :default; `timeout` channels.
 * Go differs in its scheduler (per-P run queues with stealing) and, since
 * 1.14, in preempting a goroutine that runs too long.
 *
 * How it maps here:
 *   - a go block is a green thread (runtime/ctx.h) on a pooled guarded
 *     stack, run by `pool` worker threads (default 8, as core.async),
 *     pinned round robin to --cpus when given; a channel op that cannot
 *     complete parks it and its worker runs the next one (sched.c);
 *   - sched=shared is core.async's one executor queue, sched=stealing
 *     Go's per-worker queues with stealing;
 *   - preempt=none (default): cb_reduce never yields, so a hog keeps its
 *     worker; preempt=reductions: every `reductions` reduction points a go
 *     block yields its worker if another go block is waiting for one (Go
 *     1.14's fairness, at the grain of reduction points; Go itself
 *     preempts on a 10 ms timer);
 *   - cb_spawn with os_thread is core.async's `thread`: a pthread whose
 *     channel ops block it, on the very same channels (chan.c);
 *   - go_ops=block makes every channel op, sleep and io_wait inside a go
 *     block a blocking one (<!! instead of <!): the go block then holds
 *     its worker thread while it waits, the classic core.async pitfall;
 *     the blocking_in_go and blocked_in_go_ns counters show it;
 *   - sleep, io_wait and timeouts park the go block on the timer thread's
 *     poller (core.async's timeout daemon thread; Go's netpoller);
 *   - `timeout` channels need no new slot in cb_model_t: cb_recv and
 *     cb_select already take a timeout, and this model implements it as
 *     core.async code spells it, an alts with a timeout channel; the
 *     channel itself (csp_timeout) is reachable by this model's tests
 *     through csp_int.h, and no workload needs more than the timeout;
 *   - the root task is a `thread` by default (a Clojure program's main
 *     thread uses <!! and alts!!), or a go block with root=go;
 *   - the default port is a channel with a fixed buffer of `buffer`
 *     messages: core.async has no unbounded buffer (it is refused by
 *     design, so producers feel backpressure), so CB_PORT_UNBOUNDED is
 *     unsupported;
 *   - cb_recv_match is unsupported: channels have no selective receive;
 *   - a task's abnormal cb_exit is a go block's exception: lost, printed,
 *     the rest runs on (core.async, default), or with crash=panic a Go
 *     panic that ends the program (see csp_exit_self); no links or
 *     monitors, which neither system has;
 *   - a native call (cb_native_call, dirty flag or not) runs inline and
 *     holds the go block's worker until it returns, as any long call in
 *     a core.async go block does (the `go` docstring: blocking "risks
 *     depleting the fixed pool of go block threads").  Go's hand-off of a
 *     P stuck in a cgo call or syscall (runtime.cgocall's entersyscall,
 *     sysmon's retake in src/runtime/proc.go) is not reproduced: see
 *     docs/models/csp.md;
 *   - cells are what such a program keeps its state in beside the
 *     channels: an atom (swap!, the default), a mutex per cell (Go's
 *     sync.Mutex), or a go block that owns it, an update then being a
 *     conversation with it (-p cell=; cell.c).
 *
 * Invariants:
 *   - the configuration (csp_cfg) is written by start only, before any
 *     worker exists, and read-only until stop;
 *   - every task the model starts has ended when stop succeeds; stop fails
 *     with -EBUSY, leaving the pool running, when some outlive the root;
 *   - every parked op is answered exactly once (csp_int.h, handlers).
 *
 * Rejected: one OS thread per go block (that is the `threads` model), a
 * CPS rewrite as core.async's macro does (C has no macros that could, and
 * a stackful green thread parks at the same points with the same
 * semantics), and preempting by signal (the reduction points already give
 * every workload a safe preemption point; see DESIGN.md on timer
 * preemption).
 */
#include "models/csp/csp_int.h"

#include "models/crash.h"

#include "runtime/common.h"
#include "runtime/topo.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const cb_param_def_t csp_params[] = {
    {.name = "pool",
     .kind = CB_PARAM_INT,
     .help = "worker threads running go blocks (core.async's "
             "clojure.core.async.pool-size defaults to 8)",
     .unit = "threads",
     .def = 8,
     .quick = 8,
     .min = 1,
     .max = 1024},
    {.name = "sched",
     .kind = CB_PARAM_ENUM,
     .help = "run queues: shared (one FIFO, as core.async's executor), "
             "stealing (a FIFO per worker with runnext and stealing, as "
             "Go) or lifo (a LIFO per worker, stealing the oldest: "
             "depth-first, as Cilk, Rayon, Tokio's LIFO slot)",
     .choices = "shared|stealing|lifo",
     .enum_def = "shared"},
    {.name = "preempt",
     .kind = CB_PARAM_ENUM,
     .help = "none (a hog keeps its worker, as core.async) or reductions "
             "(yield every `reductions` reduction points when others wait, "
             "Go-1.14-style fairness)",
     .choices = "none|reductions",
     .enum_def = "none"},
    {.name = "reductions",
     .kind = CB_PARAM_INT,
     .help = "slice between preemption checks with preempt=reductions "
             "(the BEAM's 4000, ~0.1-0.5 ms of work)",
     .unit = "reductions",
     .def = 4000,
     .quick = 4000,
     .min = 1,
     .max = 1000000000},
    {.name = "go_ops",
     .kind = CB_PARAM_ENUM,
     .help = "park (<! >! alts!: the go block parks) or block (<!! >!! "
             "inside go blocks: the worker thread blocks, the pitfall)",
     .choices = "park|block",
     .enum_def = "park"},
    {.name = "root",
     .kind = CB_PARAM_ENUM,
     .help = "the root task: a thread (a program's main thread) or a go "
             "block",
     .choices = "thread|go",
     .enum_def = "thread"},
    {.name = "stack",
     .kind = CB_PARAM_INT,
     .help = "stack of each go block (address space; resident only where "
             "touched)",
     .unit = "KiB",
     .def = 64,
     .quick = 64,
     .min = 16,
     .max = 1024 * 1024},
    {.name = "buffer",
     .kind = CB_PARAM_INT,
     .help = "fixed buffer of the default port (core.async has no "
             "unbounded buffer)",
     .unit = "messages",
     .def = 1024,
     .quick = 1024,
     .min = 1,
     .max = (int64_t)1 << 30},
    {.name = "crash",
     .kind = CB_PARAM_ENUM,
     .help = "what a task's abnormal exit does: lost (core.async: the go "
             "block's exception goes to the uncaught-exception handler, "
             "its channel closes, the rest runs on) or panic (Go: an "
             "unrecovered panic ends the whole program)",
     .choices = "lost|panic",
     .enum_def = "lost"},
    {.name = "cell",
     .kind = CB_PARAM_ENUM,
     .help = "how cells keep shared state: atom (every cell in one Clojure "
             "atom, swap! = compare-and-set, retried), mutex (a Go "
             "sync.Mutex per cell, locked in address order) or goblock "
             "(owned by a go block; an update is a channel conversation)",
     .choices = "atom|mutex|goblock",
     .enum_def = "atom"},
    {0},
};

static const cb_unsupported_t csp_unsupported[] = {
    {CB_CAP_RECV_MATCH,
     "a channel has no selective receive: takes are served in order, and "
     "scanning and requeueing would reorder other takers' messages"},
    {CB_CAP_PORT_UNBOUNDED,
     "core.async refuses unbounded buffers by design: a full channel parks "
     "its producers (backpressure), and at most 1024 puts may wait"},
    {CB_CAP_LINKS,
     "go blocks and goroutines have no links and cannot be killed from "
     "outside: core.async hands a go block's exception to the "
     "uncaught-exception handler and closes its channel; in Go an "
     "unrecovered panic ends the program (-p crash=panic)"},
    {CB_CAP_MONITORS,
     "no monitors: a go block's death shows only as its channel closing "
     "(core.async); a goroutine's not at all (Go)"},
    {0, NULL},
};

static int csp_cpus[RT_TOPO_MAX_PUS];

static int csp_start(const cb_param_set_t *params, const cb_model_env_t *env,
                     char *err, size_t errlen)
{
    if (env->ncpus > RT_TOPO_MAX_PUS) {
        snprintf(err, errlen, "too many PUs (%d)", env->ncpus);
        return -EINVAL;
    }
    if (env->ncpus > 0)
        memcpy(csp_cpus, env->cpus, sizeof(int) * (size_t)env->ncpus);
    csp_cfg = (csp_config_t){
        .pool = (int)cb_params_int(params, "pool"),
        .sched = strcmp(cb_params_str(params, "sched"), "stealing") == 0
                     ? CSP_SCHED_STEALING
                 : strcmp(cb_params_str(params, "sched"), "lifo") == 0
                     ? CSP_SCHED_LIFO
                     : CSP_SCHED_SHARED,
        .preempt = strcmp(cb_params_str(params, "preempt"), "reductions") == 0
                       ? CSP_PREEMPT_REDUCTIONS
                       : CSP_PREEMPT_NONE,
        .reductions = cb_params_int(params, "reductions"),
        .go_ops_block = strcmp(cb_params_str(params, "go_ops"), "block") == 0,
        .root = strcmp(cb_params_str(params, "root"), "go") == 0
                    ? CSP_ROOT_GO
                    : CSP_ROOT_THREAD,
        .stack_bytes = (size_t)cb_params_int(params, "stack") * 1024,
        .default_buffer = (size_t)cb_params_int(params, "buffer"),
        .cpus = csp_cpus,
        .ncpus = env->ncpus,
        .seed = env->seed,
        .crash_panic = strcmp(cb_params_str(params, "crash"), "panic") == 0,
        .cell = strcmp(cb_params_str(params, "cell"), "mutex") == 0
                    ? CSP_CELL_MUTEX
                : strcmp(cb_params_str(params, "cell"), "goblock") == 0
                    ? CSP_CELL_GOBLOCK
                    : CSP_CELL_ATOM,
    };
    cb__budget = INT64_MAX;
    return csp_sched_start(err, errlen);
}

static int csp_run(cb_task_fn root, void *arg)
{
    cb_spawn_opts_t o = {.os_thread = csp_cfg.root == CSP_ROOT_THREAD};
    cb_task_t *t;
    int rc = csp_spawn(root, arg, &o, &t);
    if (rc < 0)
        return rc;
    return csp_join(t);
}

static int csp_stop(char *err, size_t errlen)
{
    return csp_sched_stop(err, errlen);
}

static uint64_t csp_task_id(const cb_task_t *t)
{
    return t ? t->id : 0;
}

static size_t csp_counters(cb_counter_t *out, size_t max)
{
    return csp_sched_counters(out, max);
}

static size_t csp_task_cost(const cb_param_set_t *params)
{
    /* Resident cost of a parked go block: the touched top page of its
     * stack, the task record and a handler (measured with the spawn
     * figures of bench/bench_csp.c); the stack's address space is
     * reserved with MAP_NORESERVE and not counted. */
    (void)params;
    return 4096 + sizeof(cb_task_t) + sizeof(csp_handler_t) + 256;
}

/*
 * cb_exit.  `normal` ends the task as if its function returned (Go's
 * runtime.Goexit).  Any other reason is a thrown exception:
 *   - crash=lost (core.async): the go block's state machine catches it,
 *     closes the go block's channel and rethrows it to the dispatch
 *     thread, whose uncaught-exception handler prints it; the pool and
 *     every other go block run on (clojure/core.async,
 *     impl/ioc_macros.clj, run-state-machine-wrapped).  Here cb_join on
 *     it returns, as a take on the closed channel returns nil.
 *   - crash=panic (Go): an unrecovered panic in any goroutine ends the
 *     program with the panic's message and exit status 2 (The Go
 *     Programming Language Specification, "Handling panics";
 *     runtime/panic.go, fatalpanic).  Through cb_model_die: the message
 *     on stderr, exit status 2, no result, so the runner records the run
 *     as crashed with the panic in its last words, as it records the
 *     real Go program's (peers/go).
 */
static void csp_exit_self(cb_term_t reason)
{
    cb_task_t *t = csp_current();
    RT_ASSERT(t != NULL);
    if (!cb_crash_is_normal(reason)) {
        char why[256];
        cb_term_format(reason, why, sizeof why);
        if (csp_cfg.crash_panic) {
            char msg[400];
            snprintf(msg, sizeof msg,
                     "panic: %s [recovered=false] in goroutine %llu: an "
                     "unrecovered panic ends the program (exit status 2)",
                     why, (unsigned long long)t->id);
            cb_term_release(reason);
            cb_model_die(msg);
        }
        fprintf(stderr,
                "Exception in %s %llu: %s (uncaught; its channel closes, the "
                "other go blocks run on)\n",
                t->kind == CSP_GO ? "go block" : "thread",
                (unsigned long long)t->id, why);
    }
    cb_term_release(reason);
    csp_exit_now();
}

static int64_t csp_threads_for(const cb_param_set_t *params, int ncpus,
                               int64_t tasks, int64_t *most)
{
    /* The go pool and the timer thread, whatever the number of go blocks
     * (a `thread` task is one more, but workloads spawn go blocks). */
    (void)ncpus, (void)tasks, (void)most;
    return cb_params_int(params, "pool") + 1;
}

const cb_model_t cb_model_csp = {
    .name = "csp",
    .stands_for = "Clojure core.async go blocks and channels (Go's "
                  "scheduler and preemption as options)",
    .summary = "go blocks parked on channels, run by a fixed pool of "
               "workers without preemption; `thread`s block",
    .params = csp_params,
    .unsupported = csp_unsupported,
    .start = csp_start,
    .run = csp_run,
    .stop = csp_stop,
    .counters = csp_counters,
    .task_cost_bytes = csp_task_cost,
    .spawn = csp_spawn,
    .join = csp_join,
    .self = csp_self,
    .task_id = csp_task_id,
    .yield = csp_yield,
    .reduce_slow = csp_reduce_slow,
    .port_open = csp_port_open,
    .port_close = csp_port_close,
    .port_free = csp_port_free,
    .port_length = csp_port_length,
    .send = csp_send,
    .recv = csp_recv,
    .recv_match = cb_model_no_recv_match,
    .recv_mark = cb_model_plain_recv_mark,
    .recv_match_ref = cb_model_no_recv_match_ref,
    .select = csp_select,
    .sleep = csp_sleep,
    .io_wait = csp_io_wait,
    .cell_new = csp_cell_new,
    .cell_free = csp_cell_free,
    .cells_update = csp_cells_update,
    .cells_read = csp_cells_read,
    .exit_self = csp_exit_self,
    CB_MODEL_NO_LINKS,
    .native_call = cb_model_native_inline,
    .cells_update_reading = csp_cells_update_reading,
    .threads_for = csp_threads_for,
};
