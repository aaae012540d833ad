/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Lab 5, starvation and fairness: the reference solution (for teachers;
 * the student's starting point is ../starter.c, which differs in
 * hog_main, spawn_hog and spawn_blocker only).
 *
 * A server answers requests that arrive every `period_us`, open loop
 * (the arrival times are fixed in advance, as wrk2 does, so a stalled
 * server cannot hide its stall): the root wakes at each arrival and
 * spawns a short task for the request, which notes when it started.  A
 * request's lateness is its start minus its arrival.  Beside the server
 * run `hogs` tasks that compute without end (a tight loop of integer
 * mixing) and `blockers` tasks that make slow calls (each waits
 * `block_us` for an answer, as a query to a slow service does), both
 * until the window ends.
 *
 * Why requests wait: a request needs something to run it.  On `actor`
 * (the BEAM) that is a scheduler, one per core, which switches process
 * only at a reduction point (cb_reduce) once the process has spent its
 * budget of 4000 reductions (CONTEXT_REDS, erts/emulator/beam/erl_vm.h):
 * a loop with no reduction point is never preempted, as a long NIF is
 * not.  On `csp` (core.async) it is one of the go pool's threads, and a
 * go block gives its thread back only when it parks on a channel
 * operation: nothing preempts one that computes, and one that blocks
 * (<!!, >!!, Thread/sleep inside a go block: `-p go_ops=block`) holds its
 * thread while it waits (the `go` docstring warns that blocking "risks
 * depleting the fixed pool of go block threads").  On `threads` the
 * kernel preempts every thread.  So:
 *   - hogs get a reduction point in every unit of work (cb_reduce(1),
 *     about a function call's worth of work): `actor` preempts them
 *     every 4000 units, and its schedulers serve the requests between
 *     two slices;
 *   - hogs and blockers run on a `thread` of their own where the model
 *     has one (cb_spawn with os_thread: core.async's `thread`, whose
 *     body runs on a real thread the kernel preempts and which may
 *     block, leaving the go pool to the go blocks).  `actor` has no such
 *     thing and says so (-ENOTSUP): there the hog stays a process and
 *     the reduction budget is what keeps the schedulers free, and a
 *     blocker's cb_sleep parks it.  Another fix on `actor` is to run
 *     the crunching as dirty native calls (cb_native_call with
 *     CB_NATIVE_DIRTY_CPU: the BEAM's dirty CPU schedulers).
 *
 * Invariants: every request runs, exactly once, and none starts before
 * its arrival; requests still waiting when no task has finished for
 * `stall_ms` after the window's end are reported as a stall (nothing in
 * this workload can wait for ever: hogs and blockers stop at the window's end by the clock, and
 * no task waits for a message from a go block).
 */
#include "models/model.h"
#include "workloads/workload.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

static const cb_param_def_t params[] = {
    {.name = "hogs", .kind = CB_PARAM_INT, .unit = "tasks",
     .help = "tasks that compute without end until the window closes",
     .def = 0, .quick = 0, .min = 0, .max = 10000},
    {.name = "hogs_per_cpu", .kind = CB_PARAM_INT, .unit = "tasks",
     .help = "more hogs: this many per CPU the process may run on (2 keep "
             "every scheduler of `actor` busy on any machine)",
     .def = 2, .quick = 2, .min = 0, .max = 1000},
    {.name = "blockers", .kind = CB_PARAM_INT, .unit = "tasks",
     .help = "tasks that make slow calls (each waits block_us) until the "
             "window closes",
     .def = 0, .quick = 0, .min = 0, .max = 10000},
    {.name = "block_us", .kind = CB_PARAM_INT, .unit = "us",
     .help = "how long one slow call waits for its answer",
     .def = 5000, .quick = 5000, .min = 1, .max = 10000000},
    {.name = "duration_ms", .kind = CB_PARAM_INT, .unit = "ms",
     .help = "the measurement window: requests arrive during it",
     .def = 300, .quick = 300, .min = 10, .max = 600000},
    {.name = "period_us", .kind = CB_PARAM_INT, .unit = "us",
     .help = "time between two requests' arrivals",
     .def = 1000, .quick = 1000, .min = 100, .max = 1000000},
    {.name = "stall_ms", .kind = CB_PARAM_INT, .unit = "ms",
     .help = "after the window's end, this long with no task finishing "
             "while requests wait is a stall",
     .def = 2000, .quick = 2000, .min = 10, .max = 600000},
    {0},
};

#define WORK 25 /* integer-mixing steps per unit (~40 ns) */

typedef struct server server_t;

typedef struct slot {
    server_t *srv;
    int64_t idx;
    int64_t arrival; /* requests: when it arrived */
    int64_t started; /* requests: when it ran; 0 until then */
    bool reported;   /* requests: its "done" came (the root's) */
    int64_t units;   /* hogs: units of work; blockers: calls made */
    uint64_t checksum;
    cb_task_t *task;
} slot_t;

struct server {
    int64_t end_ns; /* hogs and blockers stop here; written before any */
    int64_t block_ns;
    cb_port_t *done; /* every task's "done" */
};

static uint64_t crunch(uint64_t x)
{
    for (int i = 0; i < WORK; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        x ^= x >> 33;
    }
    return x;
}

/* ---- the tasks ---- */

static void request_main(void *arg)
{
    slot_t *s = arg;
    s->started = cb_now_ns();
    cb_send(s->srv->done, cb_int(s->idx));
}

static void hog_main(void *arg)
{
    slot_t *s = arg;
    uint64_t x = (uint64_t)s->idx + 1;
    int64_t units = 0;
    /* The clock is read every 64 units (~3 us), not every unit. */
    while ((units & 63) || cb_now_ns() < s->srv->end_ns) {
        x = crunch(x);
        units++;
        /* A reduction point: where `actor` preempts a process that has
         * spent its budget.  core.async has none, hence spawn_hog. */
        cb_reduce(1);
    }
    s->units = units;
    s->checksum = x;
    cb_send(s->srv->done, cb_int(s->idx));
}

/* A slow call: it waits block_ns for its answer.  In a go block with
 * -p go_ops=block it is Thread/sleep (or a <!! on a reply channel): the
 * go block's thread waits with it. */
static void slow_call(server_t *srv)
{
    cb_sleep(srv->block_ns);
}

static void blocker_main(void *arg)
{
    slot_t *s = arg;
    while (cb_now_ns() < s->srv->end_ns) {
        slow_call(s->srv);
        s->units++;
    }
    cb_send(s->srv->done, cb_int(s->idx));
}

/* Run fn on a thread of its own where the model has `thread`
 * (core.async's: the kernel preempts it, and it may block without
 * holding a go pool thread); a model without it (actor: -ENOTSUP) runs
 * it as an ordinary task, which its scheduler preempts at reduction
 * points. */
static int spawn_off_pool(cb_task_fn fn, slot_t *s)
{
    cb_spawn_opts_t o = {.os_thread = true};
    int rc = cb_spawn(fn, s, &o, &s->task);
    if (rc == -ENOTSUP)
        rc = cb_spawn(fn, s, NULL, &s->task);
    return rc;
}

static int spawn_hog(slot_t *s)
{
    return spawn_off_pool(hog_main, s);
}

static int spawn_blocker(slot_t *s)
{
    return spawn_off_pool(blocker_main, s);
}

/* ---- the root: the server's clock ---- */

/* hogs plus hogs_per_cpu for each CPU this process may run on. */
static int64_t hog_count(int64_t hogs, int64_t per_cpu)
{
    cpu_set_t set;
    int cpus = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set)
                                                           : 1;
    return hogs + per_cpu * (cpus > 0 ? cpus : 1);
}

static int estimate(const cb_param_set_t *ps, cb_wl_estimate_t *est,
                    char *err, size_t errlen)
{
    int64_t reqs = cb_params_int(ps, "duration_ms") * 1000 /
                   cb_params_int(ps, "period_us");
    est->tasks = hog_count(cb_params_int(ps, "hogs"),
                           cb_params_int(ps, "hogs_per_cpu")) +
                 cb_params_int(ps, "blockers") +
                 reqs + 1;
    est->bytes = (est->tasks + reqs) * (int64_t)sizeof(slot_t);
    est->fds = 0;
    if (reqs < 1) {
        snprintf(err, errlen, "period_us is longer than duration_ms: no "
                              "request would arrive");
        return -EINVAL;
    }
    return 0;
}

static void run(cb_wl_ctx_t *ctx)
{
    int64_t hogs = hog_count(cb_wl_int(ctx, "hogs"),
                             cb_wl_int(ctx, "hogs_per_cpu"));
    int64_t blockers = cb_wl_int(ctx, "blockers");
    int64_t duration = cb_wl_int(ctx, "duration_ms") * 1000000;
    int64_t period = cb_wl_int(ctx, "period_us") * 1000;
    int64_t stall = cb_wl_int(ctx, "stall_ms") * 1000000;
    int64_t nreq = duration / period, nbg = hogs + blockers;
    /* On the heap: tasks still running after a stall keep using them. */
    server_t *srv = calloc(1, sizeof *srv);
    slot_t *bg = calloc((size_t)(nbg ? nbg : 1), sizeof *bg);
    slot_t *req = calloc((size_t)nreq, sizeof *req);
    rt_hist_t *lateness = rt_hist_new();
    int64_t nbg_made = 0, nreq_made = 0, got = 0;
    if (!srv || !bg || !req || !lateness ||
        cb_wl_gather_port_open(nbg + nreq, &srv->done) < 0) {
        cb_wl_fail(ctx, "setting up: out of memory");
        goto out;
    }
    /* The window and every arrival are fixed before anything starts, so
     * that hogs stop on their own even if nothing ever runs the root
     * again before they do. */
    int64_t t0 = cb_now_ns() + 20 * INT64_C(1000000);
    srv->block_ns = cb_wl_int(ctx, "block_us") * 1000;
    srv->end_ns = t0 + duration;
    for (; nbg_made < nbg; nbg_made++) {
        slot_t *s = &bg[nbg_made];
        *s = (slot_t){.srv = srv, .idx = -1 - nbg_made};
        int rc = nbg_made < hogs ? spawn_hog(s) : spawn_blocker(s);
        if (rc < 0) {
            cb_wl_error(ctx, rc, "spawning %s %lld",
                        nbg_made < hogs ? "hog" : "blocker",
                        (long long)nbg_made);
            break;
        }
    }
    cb_wl_window_start(ctx);
    for (; nreq_made < nreq && nbg_made == nbg; nreq_made++) {
        slot_t *s = &req[nreq_made];
        *s = (slot_t){.srv = srv, .idx = nreq_made,
                      .arrival = t0 + nreq_made * period};
        /* A late root spawns what has arrived since at once. */
        for (int64_t now; (now = cb_now_ns()) < s->arrival;)
            cb_sleep(s->arrival - now);
        int rc = cb_spawn(request_main, s, NULL, &s->task);
        if (rc < 0) {
            cb_wl_error(ctx, rc, "spawning request %lld",
                        (long long)nreq_made);
            break;
        }
    }
    /* The watchdog: after the window's end, or after the last request
     * was spawned if that was later (a thread per request may take longer
     * than its period to start on a loaded machine: lateness, not a
     * stall), stall_ms without a report is a stall. */
    int64_t quiet_from = cb_now_ns(), bg_got = 0;
    for (; got < nreq_made + nbg_made; got++) {
        cb_term_t m;
        if (quiet_from < srv->end_ns)
            quiet_from = srv->end_ns;
        int64_t left = quiet_from + stall - cb_now_ns();
        if (cb_recv(srv->done, &m, left > 0 ? left : 0) < 0)
            break;
        int64_t idx = cb_int_value(m);
        if (idx >= 0)
            req[idx].reported = true;
        else
            bg_got++;
        quiet_from = cb_now_ns();
    }
    cb_wl_window_stop(ctx);
    if (got < nreq_made + nbg_made) {
        int64_t never = 0;
        for (int64_t i = 0; i < nreq_made; i++)
            never += !req[i].reported;
        cb_wl_fail(ctx,
                   "stall: %lld of %lld requests had not run, and no task "
                   "finished for %lld ms after the window closed (%lld hogs "
                   "or blockers had not stopped): nothing was free to run "
                   "them",
                   (long long)never, (long long)nreq_made,
                   (long long)(stall / 1000000),
                   (long long)(nbg_made - bg_got));
        /* Their tasks may still run and use srv, bg and req: leave them
         * (the process ends with the run). */
        return;
    }
    for (int64_t i = 0; i < nbg_made; i++)
        cb_join(bg[i].task);
    for (int64_t i = 0; i < nreq_made; i++)
        cb_join(req[i].task);

    int64_t early = 0, units = 0, calls = 0, in_window = 0;
    double sum = 0;
    for (int64_t i = 0; i < nreq_made; i++) {
        int64_t late = req[i].started - req[i].arrival;
        in_window += req[i].started < srv->end_ns;
        if (late < 0 && !early++)
            cb_wl_fail(ctx, "request %lld started %lld us before it "
                            "arrived",
                       (long long)i, (long long)(-late / 1000));
        late = late > 0 ? late : 0;
        rt_hist_record(lateness, (uint64_t)late);
        sum += (double)late;
    }
    for (int64_t i = 0; i < nbg_made; i++)
        *(i < hogs ? &units : &calls) += bg[i].units;
    cb_wl_ops(ctx, nreq_made);
    cb_wl_metric_hist(ctx, "lateness_ns", lateness);
    cb_wl_metric_f64(ctx, "lateness_mean_ns",
                     nreq_made ? sum / (double)nreq_made : 0);
    cb_wl_metric_f64(ctx, "served_in_window_pct",
                     nreq_made ? 100.0 * (double)in_window / (double)nreq_made
                               : 0);
    cb_wl_metric_int(ctx, "requests", nreq_made);
    cb_wl_metric_int(ctx, "hogs", hogs);
    cb_wl_metric_int(ctx, "hog_units", units);
    cb_wl_metric_int(ctx, "slow_calls", calls);
out:
    if (srv && srv->done)
        cb_port_free(srv->done);
    free(srv);
    rt_hist_free(lateness);
    free(bg);
    free(req);
}

const cb_workload_t cb_workload_lab_starve = {
    .name = "lab-starve",
    .summary = "lab 5: requests beside CPU hogs and slow calls: who is "
               "starved, and what fixes it",
    .description =
        "Requests arrive every period_us for duration_ms (open loop); "
        "each runs as a short task that notes when it started. Beside "
        "them, `hogs` tasks compute without end and `blockers` tasks make "
        "slow calls of block_us, until the window closes. Metrics: "
        "lateness_ns and lateness_mean_ns (a request's start minus its "
        "arrival), served_in_window_pct (requests that ran before the "
        "window closed), requests, hogs, hog_units, slow_calls. "
        "Invariant: every "
        "request runs once, none before it arrives; no task finishing for "
        "stall_ms after the window while requests wait is a stall.",
    .params = params,
    .estimate = estimate,
    .run = run,
};
