/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Lab 1, your first workload on five models.  Read sheet.md first.
 *
 * A parallel map-reduce: the sum of i*i for i in 1..n, split into
 * `tasks` slices.  The root spawns one worker per slice; each waits on
 * its own port for a go signal (so that all of them exist at once and
 * the memory they cost can be read), then sums its slice and sends the
 * partial sum to the root's port.  The root adds the parts and checks
 * the total against n(n+1)(2n+1)/6.
 *
 * Your work: worker_main (step 2) and the slices in run (step 3).
 */
#include "models/model.h"
#include "workloads/workload.h"

#include <stdlib.h>

static const cb_param_def_t params[] = {
    {.name = "tasks", .kind = CB_PARAM_INT, .unit = "workers",
     .help = "workers, one slice of the numbers each",
     .def = 1000, .quick = 100, .min = 1, .max = 1000000},
    {.name = "n", .kind = CB_PARAM_INT, .unit = "numbers",
     .help = "sum i*i for i in 1..n",
     .def = 1000000, .quick = 200000, .min = 1, .max = 1000000},
    {0},
};

typedef struct part {
    int64_t lo, hi;    /* the slice: lo <= i < hi */
    cb_port_t *go;     /* this worker's own port */
    cb_port_t *result; /* the root's port */
    cb_task_t *task;
} part_t;

static void worker_main(void *arg)
{
    part_t *p = arg;
    cb_term_t m;
    cb_recv(p->go, &m, CB_FOREVER);
    cb_term_release(m);
    /* TODO (step 2): sum i*i for lo <= i < hi, calling cb_reduce(1) every
     * thousand numbers or so, and send the sum to p->result as
     * cb_int(sum). */
}

static int estimate(const cb_param_set_t *ps, cb_wl_estimate_t *est,
                    char *err, size_t errlen)
{
    est->tasks = cb_params_int(ps, "tasks") + 1;
    est->bytes = est->tasks * (int64_t)sizeof(part_t);
    est->fds = 0;
    return 0;
}

static void run(cb_wl_ctx_t *ctx)
{
    int64_t tasks = cb_wl_int(ctx, "tasks"), n = cb_wl_int(ctx, "n");
    part_t *parts = calloc((size_t)tasks, sizeof *parts);
    cb_port_t *result = NULL;
    int64_t spawned = 0;
    int rc = parts ? cb_wl_gather_port_open(tasks, &result) : -ENOMEM;
    int64_t rss0 = cb_wl_rss_bytes(), t0 = cb_now_ns();
    for (; rc == 0 && spawned < tasks; spawned++) {
        part_t *p = &parts[spawned];
        /* TODO (step 3): is every number in 1..n in exactly one slice? */
        p->lo = 1 + spawned * (n / tasks);
        p->hi = p->lo + n / tasks;
        p->result = result;
        if ((rc = cb_port_open(NULL, &p->go)) == 0)
            rc = cb_spawn(worker_main, p, NULL, &p->task);
        if (rc < 0 && p->go)
            cb_port_free(p->go);
    }
    int64_t spawn_ns = cb_now_ns() - t0;
    int64_t rss1 = cb_wl_rss_bytes();
    if (rc < 0) {
        cb_wl_unsupported(ctx, "spawning the workers", rc);
        spawned--; /* the last one has no task */
    }
    cb_wl_window_start(ctx);
    for (int64_t i = 0; i < spawned; i++)
        cb_send(parts[i].go, cb_atom("go"));
    int64_t total = 0, got = 0;
    for (; got < spawned; got++) {
        cb_term_t m;
        if (cb_recv(result, &m, INT64_C(1000000000)) < 0)
            break;
        total += cb_int_value(m);
        cb_term_release(m);
    }
    cb_wl_window_stop(ctx);
    /* Joined even when parts are missing: a worker that returned without
     * sending is gone, and one stuck for ever shows as a hang. */
    for (int64_t i = 0; i < spawned; i++)
        cb_join(parts[i].task);
    if (rc == 0 && got < spawned)
        cb_wl_fail(ctx,
                   "got %lld of %lld partial sums within 1 s: a worker "
                   "that never sends its part leaves the root waiting",
                   (long long)got, (long long)spawned);
    /* n(n+1)(2n+1)/6 in 128 bits: n is at most 10^6, the sum < 2^63. */
    __int128 want = (__int128)n * (n + 1) * (2 * n + 1) / 6;
    if (rc == 0 && got == spawned && (__int128)total != want)
        cb_wl_fail(ctx, "the sum is %lld, wanted %lld: %lld missing",
                   (long long)total, (long long)want,
                   (long long)(want - total));
    cb_wl_ops(ctx, n);
    if (spawned > 0) {
        cb_wl_metric_int(ctx, "spawn_ns_per_task", spawn_ns / spawned);
        cb_wl_metric_int(ctx, "rss_per_task_bytes",
                         (rss1 - rss0) / spawned);
    }
    for (int64_t i = 0; i < spawned; i++)
        cb_port_free(parts[i].go);
    if (result)
        cb_port_free(result);
    free(parts);
}

const cb_workload_t cb_workload_lab_sum = {
    .name = "lab-sum",
    .summary = "lab 1: a parallel sum of squares, one slice per worker",
    .description =
        "The sum of i*i for i in 1..n, split into `tasks` slices, one "
        "worker each; the root checks the total against n(n+1)(2n+1)/6. "
        "Metrics: spawn_ns_per_task, rss_per_task_bytes (workers parked "
        "on their go signal), throughput_ops_s (numbers summed per "
        "second).",
    .params = params,
    .estimate = estimate,
    .run = run,
};
