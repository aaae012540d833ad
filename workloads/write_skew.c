/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * write-skew: the on-call doctors, the textbook anomaly of snapshot
 * isolation (Berenson et al., "A Critique of ANSI SQL Isolation Levels",
 * 1995; Cahill's doctors example).
 *
 * A ward has two doctors, both on call, and one rule: at least one stays
 * on call.  Each round, two tasks (one per doctor) ask at the same moment
 * to go off call; each runs one cb_cells_update_reading that reads both
 * doctors' cells and, when both are on call, writes only its own: off.
 * It writes one cell and only reads the other, so whether the two
 * requests can both succeed is the model's isolation:
 *   - serializable (locks, threads, actor, csp, stm -p isolation=ensure or
 *     serializable): one of them sees the other's change and declines;
 *     the rule never breaks;
 *   - snapshot (stm's default, as Clojure's refs): each reads the snapshot
 *     at its start, sees both on call, writes a ref the other did not
 *     write, and both commit: nobody is on call.
 * Each doctor's decision takes think_ns inside the transaction (reading
 * the roster), with a yield halfway (a preemption: a function passed to
 * a cell update must not block, and a yield does not), so that the two
 * requests overlap as they do in a real hospital; the rate of broken rounds depends on that overlap and on
 * the machine, so the metric is a rate, not a count to compare.
 *
 * Metrics: rounds, broken (rounds that ended with nobody on call),
 * broken_pct, declined (requests refused because the other doctor was
 * already off).  A transaction that gives up (stm's retry limit) fails
 * the run with the reason.
 *
 * Invariant: every round ends with one or zero doctors on call, never
 * two (a request that saw both on call went off); zero is the anomaly
 * the workload counts, not a failure of the workload.
 */
#include "models/model.h"
#include "workloads/workload.h"

#include <stdio.h>
#include <stdlib.h>

static const cb_param_def_t params[] = {
    {.name = "rounds",
     .kind = CB_PARAM_INT,
     .unit = "rounds",
     .help = "rounds: both doctors back on call, then both ask to go off",
     .def = 5000,
     .quick = 500,
     .min = 1,
     .max = 100000000},
    {.name = "think_ns",
     .kind = CB_PARAM_INT,
     .unit = "ns",
     .help = "time each request spends deciding inside its transaction "
             "(how far the two overlap)",
     .def = 20000,
     .quick = 20000,
     .min = 0,
     .max = 1000000000},
    {0},
};

typedef struct ward {
    cb_cell_t *doctor[2];
    cb_port_t *coord; /* the root's: ready and done reports */
    int64_t think_ns;
} ward_t;

typedef struct doctor {
    ward_t *ward;
    int me;
    cb_port_t *port; /* go signals: {go} per round, {stop} at the end */
    cb_task_t *task;
    int64_t declined;
    int error;
} doctor_t;

/* values[0] is this doctor, values[1] the other; only values[0] is
 * written back.  May run several times (a transaction), so it is pure
 * but for the time it burns. */
static void go_off_call(int64_t *v, size_t n, void *arg)
{
    const ward_t *w = arg;
    (void)n;
    /* Half the thinking, a yield (where a busy machine would preempt the
     * thread: without it two requests on one free core never overlap),
     * and the other half. */
    for (int half = 0; half < 2 && w->think_ns > 0; half++) {
        int64_t until = cb_now_ns() + w->think_ns / 2;
        while (cb_now_ns() < until)
            ;
        if (half == 0)
            cb_yield();
    }
    if (v[0] + v[1] >= 2)
        v[0] = 0;
}

static void doctor_main(void *arg)
{
    doctor_t *d = arg;
    ward_t *w = d->ward;
    cb_cell_t *mine[2] = {w->doctor[d->me], w->doctor[!d->me]};
    cb_send(w->coord, cb_atom("ready"));
    for (;;) {
        cb_term_t m;
        if (cb_recv(d->port, &m, CB_FOREVER) < 0)
            break;
        bool stop = m == cb_atom("stop");
        cb_term_release(m);
        if (stop)
            break;
        int rc = d->error ? 0
                          : cb_cells_update_reading(mine, 2, 1, go_off_call, w);
        if (rc < 0)
            d->error = rc;
        cb_send(w->coord, cb_atom("done"));
    }
}

static void set_on_call(int64_t *v, size_t n, void *arg)
{
    (void)arg;
    for (size_t i = 0; i < n; i++)
        v[i] = 1;
}

static int estimate(const cb_param_set_t *ps, cb_wl_estimate_t *est, char *err,
                    size_t errlen)
{
    (void)ps, (void)err, (void)errlen;
    est->tasks = 3;
    est->bytes = 4096;
    est->fds = 0;
    return 0;
}

static void run(cb_wl_ctx_t *ctx)
{
    ward_t w = {.think_ns = cb_wl_int(ctx, "think_ns")};
    doctor_t d[2] = {{.ward = &w, .me = 0}, {.ward = &w, .me = 1}};
    int64_t rounds = cb_wl_int(ctx, "rounds"), broken = 0, done = 0;
    int ncells = 0, nports = 0, spawned = 0;
    int rc = cb_wl_gather_port_open(8, &w.coord);
    for (; rc == 0 && ncells < 2; ncells++)
        if ((rc = cb_cell_new(1, &w.doctor[ncells])) < 0)
            break;
    for (; rc == 0 && nports < 2; nports++)
        if ((rc = cb_port_open(NULL, &d[nports].port)) < 0)
            break;
    for (; rc == 0 && spawned < 2; spawned++)
        if ((rc = cb_spawn(doctor_main, &d[spawned], NULL, &d[spawned].task)) <
            0)
            break;
    if (rc < 0) {
        cb_wl_unsupported(ctx, "setting up the ward", rc);
        goto out;
    }
    cb_term_t m;
    for (int i = 0; i < 2; i++) {
        cb_recv(w.coord, &m, CB_FOREVER);
        cb_term_release(m);
    }
    cb_wl_window_start(ctx);
    for (; done < rounds && !d[0].error && !d[1].error; done++) {
        if ((rc = cb_cells_update(w.doctor, 2, set_on_call, NULL)) < 0)
            break;
        cb_send(d[0].port, cb_atom("go"));
        cb_send(d[1].port, cb_atom("go"));
        for (int i = 0; i < 2; i++) {
            cb_recv(w.coord, &m, CB_FOREVER);
            cb_term_release(m);
        }
        int64_t v[2];
        if ((rc = cb_cells_read(w.doctor, 2, v)) < 0)
            break;
        if (v[0] + v[1] == 0)
            broken++;
        else if (v[0] + v[1] == 2)
            cb_wl_fail(ctx,
                       "round %lld: both doctors still on call after both "
                       "asked to go off",
                       (long long)done);
        d[0].declined += v[0] == 1;
        d[1].declined += v[1] == 1;
    }
    cb_wl_window_stop(ctx);
    for (int i = 0; i < 2; i++)
        if (d[i].error)
            rc = d[i].error;
    if (rc == -ENOTSUP)
        cb_wl_unsupported(ctx, "a doctor's transaction", rc);
    else if (rc < 0)
        cb_wl_fail(ctx, "a doctor's request failed after %lld rounds: %s",
                   (long long)done, cb_strerror(rc));
    cb_wl_ops(ctx, done);
    cb_wl_metric_int(ctx, "rounds", done);
    cb_wl_metric_int(ctx, "broken", broken);
    cb_wl_metric_f64(ctx, "broken_pct",
                     done ? 100.0 * (double)broken / (double)done : 0);
    cb_wl_metric_int(ctx, "declined", d[0].declined + d[1].declined);
out:
    for (int i = 0; i < spawned; i++) {
        cb_send(d[i].port, cb_atom("stop"));
        cb_join(d[i].task);
    }
    for (int i = 0; i < nports; i++)
        cb_port_free(d[i].port);
    for (int i = 0; i < ncells; i++)
        cb_cell_free(w.doctor[i]);
    if (w.coord)
        cb_port_free(w.coord);
}

const cb_workload_t cb_workload_write_skew = {
    .name = "write-skew",
    .summary = "the on-call doctors: two transactions that each read both "
               "doctors and take only their own off call",
    .description =
        "Each round both doctors are put on call, then two tasks at once "
        "ask to take one doctor each off call if both are on call: one "
        "cb_cells_update_reading that reads both cells and writes only its "
        "own. Under serializable updates (locks, threads, actor, csp, and "
        "stm with -p isolation=ensure or serializable) one request sees "
        "the other and declines; under snapshot isolation (stm's default, "
        "as Clojure's refs without ensure) both can commit and nobody is "
        "left on call: write skew.\n"
        "Metrics: rounds, broken (rounds that left nobody on call), "
        "broken_pct, declined. A transaction that gives up at stm's retry "
        "limit fails the run with the reason.",
    .params = params,
    .estimate = estimate,
    .run = run,
    .no_instruction_count =
        "its point is two transactions overlapping in time, and callgrind "
        "runs one thread at a time",
};
