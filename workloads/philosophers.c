/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * philosophers: Dijkstra's dining philosophers, with forks as processes.
 *
 * `tasks` philosophers sit at a round table with a fork between each
 * pair; philosopher i's left fork is fork i and its right fork is fork
 * i+1 (mod tasks; a philosopher alone has one fork, and takes it
 * once).  Each eats `meals` times: take both forks, eat
 * (eat_us), put them back, think (think_us).  A fork is a task that owns
 * it (as Savina's philosophers and an Erlang fork server do): a
 * philosopher sends {take, I} and waits for `granted` on its own port, and
 * sends {put, I} when done; the fork grants itself to one philosopher at
 * a time and queues the other.  That is hold and wait over messages, so
 * it runs on every model — an actor cannot share a lock, but it can ask
 * a process for one — and it deadlocks exactly as locks do.
 *
 * order=naive: every philosopher takes its left fork, then its right.
 * When all hold their left fork at once the wait is circular and nobody
 * ever eats again: Dijkstra's deadlock.  between_us (a pause between the
 * two forks) makes that certain: each has its left fork before anyone
 * asks for a right one.  order=ordered: each takes its lower-numbered
 * fork first (Dijkstra's resource hierarchy): the last philosopher
 * reaches for its right fork (fork 0) first, and no cycle can form.
 *
 * Deadlock detection: a philosopher waiting stall_ms for a fork gives up
 * and the run fails with who held which fork — it never hangs.
 *
 * Invariants: two neighbours never eat at once (each philosopher marks
 * itself eating and checks both neighbours, with sequentially consistent
 * operations, so of two that overlap at least one sees the other); every
 * philosopher eats `meals` times.
 *
 * Metrics: throughput_ops_s (meals per second, all philosophers),
 * wait_ns (from hungry to holding both forks), fairness_jain over each
 * philosopher's total wait (1: all waited alike).
 */
#include "models/model.h"
#include "workloads/workload.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cb_param_def_t params[] = {
    {.name = "tasks", .kind = CB_PARAM_INT, .unit = "philosophers",
     .help = "philosophers at the table (and as many forks)",
     .def = 5, .quick = 5, .min = 1, .max = 10000},
    {.name = "meals", .kind = CB_PARAM_INT, .unit = "meals",
     .help = "meals each philosopher eats",
     .def = 10000, .quick = 200, .min = 1, .max = 1000000000},
    {.name = "order", .kind = CB_PARAM_ENUM,
     .help = "naive: left fork then right (deadlocks); ordered: the "
             "lower-numbered fork first",
     .choices = "naive|ordered", .enum_def = "ordered"},
    {.name = "eat_us", .kind = CB_PARAM_INT, .unit = "us",
     .help = "time eating (a sleep), 0: none",
     .def = 0, .quick = 0, .min = 0, .max = 10000000},
    {.name = "think_us", .kind = CB_PARAM_INT, .unit = "us",
     .help = "time thinking between meals (a sleep), 0: none",
     .def = 0, .quick = 0, .min = 0, .max = 10000000},
    {.name = "between_us", .kind = CB_PARAM_INT, .unit = "us",
     .help = "pause between taking the first and the second fork",
     .def = 0, .quick = 0, .min = 0, .max = 10000000},
    {.name = "stall_ms", .kind = CB_PARAM_INT, .unit = "ms",
     .help = "a wait this long for a fork is reported as a deadlock",
     .def = 1000, .quick = 1000, .min = 10, .max = 3600000},
    {0},
};

typedef struct table table_t;

typedef struct fork_server {
    table_t *t;
    int idx;
    cb_port_t *port; /* {take, I}, {put, I}, stop */
    cb_task_t *task;
} fork_server_t;

typedef struct philosopher {
    table_t *t;
    int idx;
    cb_port_t *port; /* granted */
    cb_task_t *task;
    _Atomic int eating;
    int64_t meals, wait_ns;
    rt_hist_t *wait;
    int stuck_fork, held_fork; /* -1: none */
} philosopher_t;

struct table {
    int64_t n, meals, eat_ns, think_ns, between_ns, stall_ns;
    bool ordered;
    fork_server_t *fork;
    philosopher_t *phil;
    cb_port_t *done;
    _Atomic int64_t overlaps; /* neighbours seen eating together */
};

static void fork_main(void *arg)
{
    fork_server_t *f = arg;
    int64_t holder = -1, queued = -1; /* only two neighbours ever ask */
    for (;;) {
        cb_term_t m;
        if (cb_recv(f->port, &m, CB_FOREVER) < 0)
            return;
        if (cb_is_atom(m)) /* stop */
            return;
        bool take = cb_tuple_elem(m, 0) == cb_atom("take");
        int64_t who = cb_int_value(cb_tuple_elem(m, 1));
        cb_term_release(m);
        if (take && holder < 0) {
            holder = who;
            cb_send(f->t->phil[holder].port, cb_atom("granted"));
        } else if (take) {
            queued = who;
        } else if (who == holder) {
            holder = queued, queued = -1;
            if (holder >= 0)
                cb_send(f->t->phil[holder].port, cb_atom("granted"));
        }
    }
}

/* Take fork k: 0, or -ETIMEDOUT after stall_ns. */
static int take(philosopher_t *p, int64_t k)
{
    table_t *t = p->t;
    cb_send(t->fork[k].port,
            cb_tuple2(cb_atom("take"), cb_int(p->idx)));
    cb_term_t m;
    int rc = cb_recv(p->port, &m, t->stall_ns);
    if (rc == 0)
        cb_term_release(m);
    return rc;
}

static void put(philosopher_t *p, int64_t k)
{
    cb_send(p->t->fork[k].port, cb_tuple2(cb_atom("put"), cb_int(p->idx)));
}

static void philosopher_main(void *arg)
{
    philosopher_t *p = arg;
    table_t *t = p->t;
    int64_t left = p->idx, right = (p->idx + 1) % t->n;
    int64_t first = left, second = right;
    if (t->ordered && right < left)
        first = right, second = left;
    philosopher_t *ln = &t->phil[(p->idx + t->n - 1) % t->n];
    philosopher_t *rn = &t->phil[right];
    for (; p->meals < t->meals; p->meals++) {
        int64_t t0 = cb_now_ns();
        if (take(p, first) < 0) {
            p->stuck_fork = (int)first;
            break;
        }
        if (t->between_ns)
            cb_sleep(t->between_ns);
        if (second != first && take(p, second) < 0) {
            p->stuck_fork = (int)second, p->held_fork = (int)first;
            put(p, first);
            break;
        }
        int64_t waited = cb_now_ns() - t0;
        p->wait_ns += waited;
        rt_hist_record(p->wait, (uint64_t)waited);
        /* seq_cst store then loads: of two neighbours eating at once, at
         * least one sees the other's mark (Dekker). */
        atomic_store(&p->eating, 1);
        if (t->n > 1 &&
            (atomic_load(&ln->eating) || atomic_load(&rn->eating)))
            atomic_fetch_add(&t->overlaps, 1);
        if (t->eat_ns)
            cb_sleep(t->eat_ns);
        else
            cb_reduce(1);
        atomic_store(&p->eating, 0);
        if (second != first)
            put(p, second);
        put(p, first);
        if (t->think_ns)
            cb_sleep(t->think_ns);
    }
    cb_send(t->done, cb_int(p->idx));
}

static int estimate(const cb_param_set_t *ps, cb_wl_estimate_t *est,
                    char *err, size_t errlen)
{
    int64_t n = cb_params_int(ps, "tasks");
    est->tasks = 2 * n + 1;
    est->bytes = n * (int64_t)(sizeof(philosopher_t) +
                               sizeof(fork_server_t) + 16384);
    est->fds = 0;
    return 0;
}

static void run(cb_wl_ctx_t *ctx)
{
    table_t *t = calloc(1, sizeof *t);
    if (!t) {
        cb_wl_unsupported(ctx, "the table", -ENOMEM);
        return;
    }
    t->n = cb_wl_int(ctx, "tasks");
    t->meals = cb_wl_int(ctx, "meals");
    t->ordered = strcmp(cb_wl_str(ctx, "order"), "ordered") == 0;
    t->eat_ns = cb_wl_int(ctx, "eat_us") * 1000;
    t->think_ns = cb_wl_int(ctx, "think_us") * 1000;
    t->between_ns = cb_wl_int(ctx, "between_us") * 1000;
    t->stall_ns = cb_wl_int(ctx, "stall_ms") * 1000000;
    t->fork = calloc((size_t)t->n, sizeof *t->fork);
    t->phil = calloc((size_t)t->n, sizeof *t->phil);
    int64_t forks = 0, phils = 0, ports = 0;
    int rc = t->fork && t->phil ? cb_wl_gather_port_open(t->n, &t->done)
                                : -ENOMEM;
    /* Ports first, so that no fork grants to a philosopher without one.
     * Each holds at most a few messages: a gathering port's buffer. */
    for (; rc == 0 && ports < t->n; ports++) {
        t->phil[ports] = (philosopher_t){.t = t, .idx = (int)ports,
                                         .stuck_fork = -1,
                                         .held_fork = -1};
        t->phil[ports].wait = rt_hist_new();
        t->fork[ports] = (fork_server_t){.t = t, .idx = (int)ports};
        if (!t->phil[ports].wait)
            rc = -ENOMEM;
        if (rc == 0)
            rc = cb_wl_gather_port_open(4, &t->phil[ports].port);
        if (rc == 0)
            rc = cb_wl_gather_port_open(8, &t->fork[ports].port);
    }
    for (; rc == 0 && forks < t->n; forks++)
        if ((rc = cb_spawn(fork_main, &t->fork[forks], NULL,
                           &t->fork[forks].task)) < 0)
            break;
    if (rc == 0)
        cb_wl_window_start(ctx);
    for (; rc == 0 && phils < t->n; phils++)
        if ((rc = cb_spawn(philosopher_main, &t->phil[phils], NULL,
                           &t->phil[phils].task)) < 0)
            break;
    if (rc < 0)
        cb_wl_unsupported(ctx, "setting the table", rc);
    for (int64_t i = 0; i < phils; i++) {
        cb_term_t m;
        cb_recv(t->done, &m, CB_FOREVER);
        cb_term_release(m);
    }
    cb_wl_window_stop(ctx);
    for (int64_t i = 0; i < phils; i++)
        cb_join(t->phil[i].task);
    for (int64_t i = 0; i < forks; i++) {
        cb_send(t->fork[i].port, cb_atom("stop"));
        cb_join(t->fork[i].task);
    }
    int64_t meals = 0;
    rt_hist_t *wait = rt_hist_new();
    double *waits = calloc((size_t)t->n, sizeof *waits);
    const philosopher_t *stuck = NULL;
    for (int64_t i = 0; i < phils; i++) {
        const philosopher_t *p = &t->phil[i];
        meals += p->meals;
        if (wait)
            rt_hist_merge(wait, p->wait);
        if (waits)
            waits[i] = (double)p->wait_ns;
        if (p->stuck_fork >= 0 && (!stuck || stuck->held_fork < 0))
            stuck = p;
    }
    if (rc == 0 && stuck) {
        char held[48] = "";
        if (stuck->held_fork >= 0)
            snprintf(held, sizeof held, " held fork %d and",
                     stuck->held_fork);
        cb_wl_fail(ctx,
                   "deadlock: philosopher %d%s waited %lld ms for fork %d "
                   "(%lld of %lld meals eaten)",
                   stuck->idx, held, (long long)(t->stall_ns / 1000000),
                   stuck->stuck_fork, (long long)meals,
                   (long long)(t->n * t->meals));
    }
    int64_t overlaps = atomic_load(&t->overlaps);
    if (overlaps)
        cb_wl_fail(ctx, "%lld times two neighbours ate at once: a fork "
                        "was held by two philosophers",
                   (long long)overlaps);
    cb_wl_ops(ctx, meals);
    cb_wl_metric_int(ctx, "meals", meals);
    if (wait && rt_hist_count(wait) > 0)
        cb_wl_metric_hist(ctx, "wait_ns", wait);
    if (waits && phils == t->n && !stuck)
        cb_wl_metric_f64(ctx, "fairness_jain",
                         cb_wl_jain(waits, (size_t)t->n));
    rt_hist_free(wait);
    free(waits);
    for (int64_t i = 0; i < ports; i++) {
        if (t->phil[i].port)
            cb_port_free(t->phil[i].port);
        if (t->fork[i].port)
            cb_port_free(t->fork[i].port);
        rt_hist_free(t->phil[i].wait);
    }
    if (t->done)
        cb_port_free(t->done);
    free(t->fork);
    free(t->phil);
    free(t);
}

const cb_workload_t cb_workload_philosophers = {
    .name = "philosophers",
    .no_instruction_count =
        "its point is waiting between tasks that run at once, and "
        "callgrind runs one thread at a time",
    .summary = "Dijkstra's dining philosophers, forks as processes; "
               "order=naive deadlocks",
    .description =
        "`tasks` philosophers share `tasks` forks round a table; each "
        "eats `meals` times, taking its two forks from fork processes "
        "by message ({take, I}, granted, {put, I}). order=ordered takes "
        "the lower-numbered fork first and cannot deadlock; order=naive "
        "takes left then right and deadlocks when all hold their left "
        "fork (certain with between_us=1000): a wait of stall_ms for a "
        "fork is reported as the deadlock, with who held what. "
        "Invariants: neighbours never eat at once; every philosopher "
        "eats its meals. Metrics: throughput_ops_s (meals per second), "
        "meals, wait_ns (hungry to both forks), fairness_jain (over "
        "each philosopher's total wait).",
    .params = params,
    .estimate = estimate,
    .run = run,
};
