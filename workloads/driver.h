/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Where a workload's driving task runs: a spawned task, or the root.
 *
 * A workload's run function is the root task, and the root is not the
 * same kind of task on every model: a process on actor, but on csp a
 * thread by default (a Clojure program's main thread, whose <!! and alts!!
 * block an OS thread), against go blocks everywhere else in the run.  A
 * coordinator that does measured work on the root would then compare a
 * thread's channel operations on csp with a process's on actor.  So the
 * workloads whose driver is in the measurement (alts' selector,
 * io-fanout's and spawn's coordinator) run it on a spawned task by
 * default, the same kind of task as the rest of the run on every model,
 * and keep the root as a parameter, because a main thread driving go
 * blocks is a real idiom too (the core.async "1000 channels" example).
 * The parameter's value is in the run's output, so it says which variant
 * ran.  Header-only because the workloads folder registers every .c file
 * as a workload.
 */
#ifndef CB_WL_DRIVER_H
#define CB_WL_DRIVER_H

#include "models/model.h"
#include "workloads/workload.h"

#include <string.h>

#define CB_WL_DRIVER_CHOICES "task|root"

/* Run body(ctx) on a spawned task and wait for it, or on the calling
 * root task when where is "root". */
static inline void cb_wl_drive(cb_wl_ctx_t *ctx, const char *where,
                               cb_task_fn body)
{
    if (strcmp(where, "root") == 0) {
        body(ctx);
        return;
    }
    cb_task_t *t;
    int rc = cb_spawn(body, ctx, NULL, &t);
    if (rc < 0) {
        cb_wl_fail(ctx, "spawning the driving task: %s", cb_strerror(rc));
        return;
    }
    cb_join(t);
}

#endif
