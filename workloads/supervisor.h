/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * A small supervisor, after OTP's (stdlib's supervisor module), written
 * once against models/model.h for the workloads that need one.  It is a
 * library, not a workload (a .c with its .h beside it is not registered:
 * workloads/CMakeLists.txt).
 *
 * A supervisor is a task that traps exits and starts its children with
 * spawn_link, in order.  When a child exits:
 *   - its restart type decides whether it is restarted: permanent always,
 *     transient only after an abnormal exit (a reason other than
 *     `normal`, `shutdown`), temporary never (OTP's restart types);
 *   - one_for_one restarts that child alone; one_for_all first
 *     terminates the others (exit signal `shutdown`, as OTP's
 *     shutdown of a worker, then waits for each) and restarts all of
 *     them in order;
 *   - restart intensity: if more than `intensity` restarts happen within
 *     `period_ns`, the supervisor terminates all its children and then
 *     itself, with reason `shutdown` (OTP: "If more than MaxR restarts
 *     occur within MaxT seconds, the supervisor terminates all child
 *     processes and then itself. The termination reason for the
 *     supervisor itself in that case will be shutdown"; intensity
 *     defaults to 1 and period to 5 seconds: supervisor(3), "Supervisor
 *     flags").
 * An exit signal from any other process (the one that started it, via
 * cb_sup_stop) makes it terminate its children and exit with that
 * signal's reason, as an OTP supervisor does when its parent exits.
 *
 * Children are terminated in reverse start order.  A child that ignores
 * `shutdown` (it traps exits) is killed after CB_SUP_SHUTDOWN_NS, as
 * OTP's default shutdown of 5000 ms for a worker.
 *
 * Only a model with links and monitors can host it (actor); elsewhere
 * cb_sup_start returns -ENOTSUP, the answer of the model's cb_trap_exit.
 */
#ifndef CB_SUPERVISOR_H
#define CB_SUPERVISOR_H

#include "models/model.h"

#include <stddef.h>
#include <stdint.h>

#define CB_SUP_INTENSITY_DEFAULT 1
#define CB_SUP_PERIOD_NS_DEFAULT (INT64_C(5) * 1000000000)
#define CB_SUP_SHUTDOWN_NS (INT64_C(5) * 1000000000)
#define CB_SUP_CHILDREN_MAX 4096

typedef enum cb_sup_strategy {
    CB_SUP_ONE_FOR_ONE,
    CB_SUP_ONE_FOR_ALL,
} cb_sup_strategy_t;

typedef enum cb_sup_restart {
    CB_SUP_PERMANENT,
    CB_SUP_TRANSIENT,
    CB_SUP_TEMPORARY,
} cb_sup_restart_t;

typedef struct cb_sup_child {
    cb_task_fn fn;
    void *arg;
    cb_sup_restart_t restart;
} cb_sup_child_t;

typedef struct cb_sup_opts {
    cb_sup_strategy_t strategy;
    int64_t intensity; /* < 0: CB_SUP_INTENSITY_DEFAULT */
    int64_t period_ns; /* <= 0: CB_SUP_PERIOD_NS_DEFAULT */
    const cb_sup_child_t *children;
    size_t nchildren;
    /* Optional: monitor the supervisor from the caller (DOWN here). */
    cb_port_t *monitor_mailbox;
    cb_term_t *monitor_ref;
} cb_sup_opts_t;

typedef struct cb_sup cb_sup_t;

/* What the supervisor did; read after cb_sup_stop or its DOWN. */
typedef struct cb_sup_stats {
    int64_t restarts;      /* children started again */
    int64_t child_exits;   /* EXIT messages from children */
    int64_t gave_up;       /* 1 when the intensity was exceeded */
} cb_sup_stats_t;

/* Start a supervisor task with its children; 0 or -errno (-ENOTSUP on a
 * model without links). */
int cb_sup_start(const cb_sup_opts_t *o, cb_sup_t **out);
/* The supervisor's task (for cb_pid, cb_monitor, cb_exit_task). */
cb_task_t *cb_sup_task(const cb_sup_t *s);
/* Stop it (exit signal `shutdown`; it terminates its children first),
 * wait for it to end, copy its stats and free it.  Also the way to free
 * a supervisor that already gave up. */
int cb_sup_stop(cb_sup_t *s, cb_sup_stats_t *stats);

#endif
