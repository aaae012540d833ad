/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * cpu-crunch: CPU hogs beside latency probes (after schbench).
 *
 * H hogs compute without ever blocking, calling cb_reduce(1) after each
 * unit of `work` integer-mixing steps (about one function call's worth of
 * work per reduction, as on the BEAM).  P probes sleep `sleep_us` at a time
 * and record how late each wake-up is, measured from the intended wake time
 * (the time the sleep began plus the sleep), so a probe starved for three
 * seconds records one three-second lateness instead of hiding it.
 *
 * What it shows: a preemptive scheduler (the kernel; the BEAM's reduction
 * budget) keeps probe lateness near the no-load figure whatever the hogs
 * do; a cooperative pool without preemption (core.async go blocks) lets
 * hogs that outnumber its workers starve the probes, and the lateness
 * percentiles show it.  Jain's index over the hogs' progress shows whether
 * CPU time was shared equally.
 *
 * Every task waits for a go message after reporting ready, and the window
 * opens when the last go message has been sent.  Releasing is not instant
 * on a preemptive model: on `actor` the root's sends cost reductions, so
 * with 10,000 hogs it is preempted a few times while releasing and waits
 * a whole round of released hogs each time (a second or more at the
 * default grain).  Counting from each hog's release would then measure
 * release order, not the scheduler, so a hog counts only the units it
 * does after the window opened: it learns the opening time from one
 * word the root publishes (the harness's clock, not a channel between
 * tasks), checked with the clock every 64 units.  A hog that is not
 * running at the opening has done nothing since, so the count it takes
 * at its next check is the one it had at the opening.  Hogs and probes
 * stop on their own at the window's end.
 *
 * nif=plain|dirty turns each hog's work into long native calls
 * (cb_native_call, the BEAM's NIFs) of nif_us each, with no reduction
 * point inside, and one reduction between two calls (a NIF is charged as
 * one function call unless it reports its timeslice).  plain: the call
 * holds whatever runs the hog; on `actor` that is a normal scheduler,
 * which serves no probe until the call returns, and a budget of 4000
 * reductions is 4000 calls, so the hogs starve the probes as they do
 * with reductions=0.  dirty: the calls are flagged CPU-bound dirty
 * (ERL_NIF_DIRTY_JOB_CPU_BOUND) and `actor` runs them on its dirty CPU
 * schedulers, so the normal schedulers stay free for the probes; models
 * without dirty schedulers run both kinds inline (what their real systems
 * do: see model.h).
 *
 * The quick size must show the pathology, or a quick run teaches the
 * opposite of the truth: 2 hogs against core.async's pool of 8 leave six
 * workers free for the probes, and the cooperative pool looks perfectly
 * fair.  So --quick runs 16 hogs, twice the default pool: every worker is
 * taken by a hog and the probe's first wake-up waits for the window's end
 * (measured on a loaded 2-core machine: csp 1 wake-up, 303 ms late in a
 * 300 ms window, Jain 0.49 as half the hogs never ran; actor 32 wake-ups,
 * Jain 0.93), while 16 hogs are still few enough for a 300 ms window on
 * `threads` (16 kernel threads).
 *
 * A probe counts only the wake-ups made after the window opened, each late
 * by the time since its deadline or since the opening, whichever is later,
 * as a hog counts only its units after the opening: the root releases the
 * probes first, and what a probe sees while the hogs are still being
 * released is not the scheduler's steady state.  A probe's first deadline
 * in the window is at most one sleep after the opening, even when a hog
 * kept it from running until later: lateness is the scheduler's delay,
 * before the sleep or after it.
 *
 * Invariants: no probe ever wakes before its deadline; every probe wakes
 * at least once in the window.
 */
#include "models/model.h"
#include "workloads/workload.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cb_param_def_t params[] = {
    {.name = "hogs", .kind = CB_PARAM_INT, .unit = "tasks",
     .help = "CPU-bound tasks that never block",
     .def = 4, .quick = 16, .min = 0, .max = 1000000},
    {.name = "probes", .kind = CB_PARAM_INT, .unit = "tasks",
     .help = "tasks that sleep and record their wake-up lateness",
     .def = 2, .quick = 1, .min = 1, .max = 100000},
    {.name = "duration_ms", .kind = CB_PARAM_INT, .unit = "ms",
     .help = "length of the measurement window",
     .def = 2000, .quick = 300, .min = 10, .max = 3600000},
    {.name = "sleep_us", .kind = CB_PARAM_INT, .unit = "us",
     .help = "probe sleep per iteration",
     .def = 1000, .quick = 1000, .min = 1, .max = 1000000},
    {.name = "work", .kind = CB_PARAM_INT, .unit = "steps",
     .help = "integer-mixing steps per reduction (~1.5 ns each)",
     .def = 25, .quick = 25, .min = 1, .max = 1000000},
    {.name = "nif", .kind = CB_PARAM_ENUM,
     .help = "how hogs compute: none (reduction points after each unit), "
             "plain (native calls of nif_us without reduction points) or "
             "dirty (the same calls flagged dirty CPU-bound)",
     .choices = "none|plain|dirty", .enum_def = "none"},
    {.name = "nif_us", .kind = CB_PARAM_INT, .unit = "us",
     .help = "length of each native call with nif=plain|dirty (the BEAM "
             "asks a NIF to return within about 1 ms)",
     .def = 10000, .quick = 10000, .min = 1, .max = 10000000},
    {0},
};

/* The window's opening time, INT64_MAX until the root publishes it. */
typedef struct window {
    _Atomic int64_t start_ns;
    int64_t duration_ns;
} window_t;

typedef struct slot {
    int idx;
    const window_t *window;
    int is_probe;
    cb_port_t *coord;
    cb_port_t *port; /* the task's own, for the go message */
    int64_t work;
    int64_t sleep_ns;
    /* Results, written by the task before its done message. */
    int64_t progress;
    uint64_t checksum;
    int64_t early;
    rt_hist_t *lateness;
    cb_task_t *task;
    /* nif=plain|dirty: the hog's state, here rather than on its stack
     * because a dirty call runs on another thread while the hog is
     * parked (and with copying stacks its stack is elsewhere then). */
    unsigned nif_flags;
    bool nif;
    int64_t nif_ns;
    uint64_t x;
    int64_t units, at_open;
    bool ended;
} slot_t;

static uint64_t crunch(uint64_t x, int64_t steps)
{
    for (int64_t i = 0; i < steps; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        x ^= x >> 33;
    }
    return x;
}

static void await_go(slot_t *s)
{
    cb_send(s->coord, cb_tuple2(cb_atom("ready"), cb_int(s->idx)));
    cb_term_t m;
    cb_recv(s->port, &m, CB_FOREVER);
}

/* The window's end, or INT64_MAX while it has not opened. */
static int64_t window_end(const window_t *w, int64_t *start)
{
    /* Relaxed: the word is a time and carries no other data with it. */
    *start = atomic_load_explicit(&w->start_ns, memory_order_relaxed);
    return *start == INT64_MAX ? INT64_MAX : *start + w->duration_ns;
}

/* One native call: nif_ns of units, no reduction point, the window's
 * end checked with the clock every 64 units as hog_main does. */
static void nif_crunch(void *arg)
{
    slot_t *s = arg;
    int64_t stop_at = cb_now_ns() + s->nif_ns;
    for (;;) {
        if ((s->units & 63) == 0) {
            int64_t start, end = window_end(s->window, &start);
            int64_t now = cb_now_ns();
            if (s->at_open < 0 && now >= start)
                s->at_open = s->units;
            if (now >= end) {
                s->ended = true;
                return;
            }
            if (now >= stop_at)
                return;
        }
        s->x = crunch(s->x, s->work);
        s->units++;
    }
}

static void hog_nif_main(slot_t *s)
{
    s->x = (uint64_t)s->idx + 1;
    s->units = 0;
    s->at_open = -1;
    s->ended = false;
    while (!s->ended) {
        int rc = cb_native_call(nif_crunch, s, s->nif_flags);
        if (rc < 0) {
            /* Reported by run() as a hog that made no progress. */
            s->units = s->at_open = 0;
            break;
        }
        cb_reduce(1);
    }
    s->progress = s->at_open < 0 ? 0 : s->units - s->at_open;
    s->checksum = s->x;
    cb_send(s->coord, cb_tuple2(cb_atom("done"), cb_int(s->idx)));
}

static void hog_main(void *arg)
{
    slot_t *s = arg;
    await_go(s);
    if (s->nif) {
        hog_nif_main(s);
        return;
    }
    uint64_t x = (uint64_t)s->idx + 1;
    int64_t units = 0, at_open = -1;
    for (;;) {
        /* The clock is read every 64 units (~2 us), not every unit. */
        if ((units & 63) == 0) {
            int64_t start, end = window_end(s->window, &start);
            int64_t now = cb_now_ns();
            if (at_open < 0 && now >= start)
                at_open = units;
            if (now >= end)
                break;
        }
        x = crunch(x, s->work);
        cb_reduce(1);
        units++;
    }
    s->progress = at_open < 0 ? 0 : units - at_open;
    s->checksum = x;
    cb_send(s->coord, cb_tuple2(cb_atom("done"), cb_int(s->idx)));
}

static void probe_main(void *arg)
{
    slot_t *s = arg;
    await_go(s);
    for (;;) {
        int64_t start, end = window_end(s->window, &start);
        int64_t now = cb_now_ns();
        /* A probe that has not slept since the opening should have begun
         * its first sleep there at the latest: one that a hog kept from
         * running until the window's end (seen under ASan: one wake-up,
         * on time, after the end) was as late as one kept from waking. */
        int64_t from = s->progress == 0 && now > start ? start : now;
        int64_t intended = from + s->sleep_ns;
        if (intended > end && s->progress > 0)
            break;
        cb_sleep(s->sleep_ns);
        int64_t woke = cb_now_ns();
        if (woke < intended)
            s->early++;
        /* A wake-up before the window opened measures the release, not
         * the scheduler: on a cooperative pool the root can be
         * descheduled between two go messages, and a probe on a worker
         * that no hog holds yet then wakes on time a few times before
         * the hogs take every worker, which once put csp's median at
         * 110 us beside 300 ms in the other repetitions.  A wake-up due
         * before the opening but made after it counts the wait from the
         * opening: that part of it the scheduler imposed in the window. */
        window_end(s->window, &start);
        if (woke < start)
            continue;
        int64_t due = intended > start ? intended : start;
        rt_hist_record(s->lateness, (uint64_t)(woke > due ? woke - due : 0));
        s->progress++;
    }
    cb_send(s->coord, cb_tuple2(cb_atom("done"), cb_int(s->idx)));
}

static int estimate(const cb_param_set_t *p, cb_wl_estimate_t *est, char *err,
                    size_t errlen)
{
    int64_t h = cb_params_int(p, "hogs"), pr = cb_params_int(p, "probes");
    est->tasks = h + pr + 1;
    /* A slot per task and a histogram per probe (~64 KiB each). */
    est->bytes = (h + pr) * (int64_t)sizeof(slot_t) + pr * 65536;
    est->fds = 0;
    if (cb_params_int(p, "sleep_us") * 1000 >
        cb_params_int(p, "duration_ms") * 1000000) {
        snprintf(err, errlen, "sleep_us is longer than duration_ms: the "
                 "probes would not measure anything");
        return -EINVAL;
    }
    return 0;
}

static void run(cb_wl_ctx_t *ctx)
{
    int64_t hogs = cb_wl_int(ctx, "hogs"), probes = cb_wl_int(ctx, "probes");
    int64_t n = hogs + probes, spawned = 0;
    slot_t *slots = calloc((size_t)n, sizeof *slots);
    rt_hist_t *lateness = rt_hist_new();
    double *share = calloc((size_t)(hogs ? hogs : 1), sizeof *share);
    /* On the heap: a task's stack may be copied away while it is parked. */
    window_t *window = malloc(sizeof *window);
    if (window) {
        atomic_init(&window->start_ns, INT64_MAX);
        window->duration_ns = cb_wl_int(ctx, "duration_ms") * 1000000;
    }
    cb_port_t *coord = NULL;
    int rc = slots && lateness && share && window
                 ? cb_wl_gather_port_open(2 * n, &coord)
                 : -ENOMEM;
    for (int64_t i = 0; rc == 0 && i < n; i++) {
        slot_t *s = &slots[i];
        s->idx = (int)i;
        s->is_probe = i >= hogs;
        s->coord = coord;
        s->window = window;
        s->work = cb_wl_int(ctx, "work");
        s->sleep_ns = cb_wl_int(ctx, "sleep_us") * 1000;
        s->nif = strcmp(cb_wl_str(ctx, "nif"), "none") != 0;
        s->nif_flags = strcmp(cb_wl_str(ctx, "nif"), "dirty") == 0
                           ? CB_NATIVE_DIRTY_CPU
                           : 0;
        s->nif_ns = cb_wl_int(ctx, "nif_us") * 1000;
        if (s->is_probe && !(s->lateness = rt_hist_new()))
            rc = -ENOMEM;
        if (rc == 0)
            rc = cb_port_open(NULL, &s->port);
    }
    if (rc < 0) {
        cb_wl_fail(ctx, "setting up: %s", cb_strerror(rc));
        goto out;
    }
    /* Probes first: with a cooperative pool, a probe spawned after the
     * hogs might never start, which would measure spawn order instead. */
    for (int64_t k = 0; k < n; k++, spawned++) {
        slot_t *s = &slots[(k + hogs) % n];
        rc = cb_spawn(s->is_probe ? probe_main : hog_main, s, NULL, &s->task);
        if (rc < 0) {
            cb_wl_error(ctx, rc, "spawning task %lld", (long long)k);
            break;
        }
    }
    for (int64_t i = 0; i < spawned; i++) {
        cb_term_t m;
        cb_recv(coord, &m, CB_FOREVER);
        cb_term_release(m);
    }
    cb_term_t go = cb_atom("go");
    for (int64_t k = 0; k < spawned; k++)
        cb_send(slots[(k + hogs) % n].port, go);
    /* No reduction point between the last send and the store: the window
     * opens as soon as every task has its go message. */
    cb_wl_window_start(ctx);
    atomic_store_explicit(&window->start_ns, cb_now_ns(), memory_order_relaxed);
    for (int64_t i = 0; i < spawned; i++) {
        cb_term_t m;
        cb_recv(coord, &m, CB_FOREVER);
        cb_term_release(m);
    }
    cb_wl_window_stop(ctx);
    for (int64_t k = 0; k < spawned; k++)
        cb_join(slots[(k + hogs) % n].task);
    if (spawned < n)
        goto out;

    int64_t total = 0, pmin = INT64_MAX, pmax = 0, wakeups = 0, early = 0;
    for (int64_t i = 0; i < n; i++) {
        slot_t *s = &slots[i];
        if (s->is_probe) {
            wakeups += s->progress;
            early += s->early;
            rt_hist_merge(lateness, s->lateness);
            if (s->progress == 0)
                cb_wl_fail(ctx, "probe %lld never woke up", (long long)i);
            continue;
        }
        total += s->progress;
        share[i] = (double)s->progress;
        pmin = s->progress < pmin ? s->progress : pmin;
        pmax = s->progress > pmax ? s->progress : pmax;
    }
    if (early)
        cb_wl_fail(ctx, "%lld probe wake-ups came before their deadline",
                   (long long)early);
    cb_wl_ops(ctx, total);
    cb_wl_metric_hist(ctx, "lateness_ns", lateness);
    cb_wl_metric_f64(ctx, "fairness_jain",
                     hogs ? cb_wl_jain(share, (size_t)hogs) : 1.0);
    cb_wl_metric_int(ctx, "hog_progress_min", hogs ? pmin : 0);
    cb_wl_metric_int(ctx, "hog_progress_max", pmax);
    cb_wl_metric_int(ctx, "probe_wakeups", wakeups);
out:
    for (int64_t i = 0; slots && i < n; i++) {
        if (slots[i].port)
            cb_port_free(slots[i].port);
        rt_hist_free(slots[i].lateness);
    }
    if (coord)
        cb_port_free(coord);
    rt_hist_free(lateness);
    free(share);
    free(window);
    free(slots);
}

const cb_workload_t cb_workload_cpu_crunch = {
    .name = "cpu-crunch",
    .no_instruction_count =
        "its point is preemption and fairness between hogs and probes "
        "running in parallel, and callgrind runs one thread at a time",
    .summary = "CPU hogs beside sleeping latency probes: preemption and "
               "fairness",
    .description =
        "H hogs compute without blocking (cb_reduce after each unit of "
        "work); P probes sleep sleep_us and record how late they wake, "
        "measured from the intended wake time. nif=plain|dirty makes the "
        "hogs compute in native calls of nif_us without reduction points "
        "(the BEAM's NIFs): plain holds the hog's scheduler for the whole "
        "call, dirty runs it on a dirty CPU scheduler where the model has "
        "them (actor) and inline elsewhere.\n"
        "Metrics: ops and throughput_ops_s (hog work units), lateness_ns "
        "(probe wake-up lateness), fairness_jain (Jain's index over the "
        "hogs' progress: 1 = equal shares), hog_progress_min/max, "
        "probe_wakeups. Invariant: no probe wakes before its deadline, and "
        "every probe wakes at least once.",
    .params = params,
    .estimate = estimate,
    .run = run,
};
