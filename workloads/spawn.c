/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * spawn: the cost of a task that exists and waits.
 *
 * A coordinator spawns `tasks` tasks; each reports ready and then blocks
 * in a receive on its own port, as an idle Erlang process or a parked
 * goroutine does.  With all of them parked the coordinator reads the
 * resident set, then sends each a stop message and joins it.  The
 * coordinator is a spawned task by default, so every model spawns from
 * one of its own tasks (coordinator=root: from the root, on csp a thread
 * by default; workloads/driver.h).  Two times are
 * reported: the spawn calls alone (what spawn costs the caller) and the
 * time until every task has run up to its receive (what it costs to have
 * them all started), both per task; and the resident bytes each parked
 * task adds (its stack's touched pages, its struct, its port).
 *
 * Invariant: every task reports ready exactly once and exits when told.
 */
#include "models/model.h"
#include "workloads/driver.h"
#include "workloads/workload.h"

#include <stdio.h>
#include <stdlib.h>

static const cb_param_def_t params[] = {
    {.name = "tasks", .kind = CB_PARAM_INT, .unit = "tasks",
     .help = "tasks spawned and left parked in a receive",
     .def = 100000, .quick = 1000, .min = 1, .max = 100000000},
    {.name = "coordinator", .kind = CB_PARAM_ENUM,
     .help = "task: a spawned task coordinates (like for like: a go block "
             "on csp); root: the root task does (on csp a thread by "
             "default)",
     .choices = CB_WL_DRIVER_CHOICES, .enum_def = "task"},
    {0},
};

typedef struct slot {
    cb_port_t *port;
    cb_port_t *coord;
    cb_task_t *task;
} slot_t;

static void waiter_main(void *arg)
{
    slot_t *s = arg;
    cb_send(s->coord, cb_int(1));
    cb_term_t m;
    cb_recv(s->port, &m, CB_FOREVER);
    cb_term_release(m);
}

static int estimate(const cb_param_set_t *p, cb_wl_estimate_t *est, char *err,
                    size_t errlen)
{
    (void)err, (void)errlen;
    int64_t n = cb_params_int(p, "tasks");
    est->tasks = n + 2; /* and the root, and the coordinator */
    /* A slot and a port (a few hundred bytes in any model) per task. */
    est->bytes = n * (int64_t)(sizeof(slot_t) + 512);
    est->fds = 0;
    return 0;
}

static void coordinate(void *arg)
{
    cb_wl_ctx_t *ctx = arg;
    int64_t n = cb_wl_int(ctx, "tasks"), spawned = 0, ready = 0;
    slot_t *slots = calloc((size_t)n, sizeof *slots);
    cb_port_t *coord = NULL;
    int rc = slots ? cb_wl_gather_port_open(n, &coord) : -ENOMEM;
    for (int64_t i = 0; rc == 0 && i < n; i++) {
        slots[i].coord = coord;
        rc = cb_port_open(NULL, &slots[i].port);
    }
    if (rc < 0) {
        cb_wl_error(ctx, rc, "setting up");
        goto out;
    }
    int64_t rss0 = cb_wl_rss_bytes();
    cb_wl_window_start(ctx);
    int64_t t0 = cb_now_ns();
    for (; spawned < n; spawned++) {
        rc = cb_spawn(waiter_main, &slots[spawned], NULL,
                      &slots[spawned].task);
        if (rc < 0) {
            cb_wl_error(ctx, rc, "spawning task %lld", (long long)spawned);
            break;
        }
    }
    int64_t t1 = cb_now_ns();
    for (; ready < spawned; ready++) {
        cb_term_t m;
        if (cb_recv(coord, &m, CB_FOREVER) < 0)
            break;
    }
    int64_t t2 = cb_now_ns();
    cb_wl_window_stop(ctx);
    int64_t rss1 = cb_wl_rss_bytes();
    for (int64_t i = 0; i < spawned; i++)
        cb_send(slots[i].port, cb_atom("stop"));
    for (int64_t i = 0; i < spawned; i++)
        cb_join(slots[i].task);
    if (ready != spawned)
        cb_wl_fail(ctx, "%lld of %lld tasks reported ready",
                   (long long)ready, (long long)spawned);
    if (spawned == 0)
        goto out;
    cb_wl_ops(ctx, spawned);
    cb_wl_metric_f64(ctx, "spawn_ns_per_task",
                     (double)(t1 - t0) / (double)spawned);
    cb_wl_metric_f64(ctx, "ready_ns_per_task",
                     (double)(t2 - t0) / (double)spawned);
    if (rss0 > 0 && rss1 > 0)
        cb_wl_metric_f64(ctx, "rss_per_task_bytes",
                         (double)(rss1 - rss0) / (double)spawned);
out:
    for (int64_t i = 0; slots && i < n; i++)
        if (slots[i].port)
            cb_port_free(slots[i].port);
    if (coord)
        cb_port_free(coord);
    free(slots);
}

static void run(cb_wl_ctx_t *ctx)
{
    cb_wl_drive(ctx, cb_wl_str(ctx, "coordinator"), coordinate);
}

/* The window is the spawns and the ready replies: ready_ns_per_task in
 * other units; spawn_ns_per_task times the spawn calls alone. */
static const cb_wl_metric_role_t metric_roles[] = {
    {"spawn_ns_per_task", NULL, NULL},
    {"ready_ns_per_task", NULL, NULL},
    {"elapsed_ns", "ready_ns_per_task", NULL},
    {"throughput_ops_s", "ready_ns_per_task", NULL},
    {NULL, NULL, NULL},
};

const cb_workload_t cb_workload_spawn = {
    .name = "spawn",
    .summary = "N tasks parked in a receive: time and memory per task",
    .description =
        "A coordinator task (coordinator=root: the root) spawns `tasks` "
        "tasks that each report ready and block in "
        "a receive on their own port, measures, then stops them all.\n"
        "Metrics: ops (tasks), spawn_ns_per_task (the spawn calls alone), "
        "ready_ns_per_task (until every task has run to its receive), "
        "rss_per_task_bytes (resident bytes each parked task adds; the "
        "ports are opened before the measurement). Invariant: every task "
        "reports ready.",
    .params = params,
    .estimate = estimate,
    .run = run,
    .metric_roles = metric_roles,
};
