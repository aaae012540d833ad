/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * alts: the core.async "1000 channels" example.
 *
 *     (let [n 1000 cs (repeatedly n chan) begin (System/currentTimeMillis)]
 *       (doseq [c cs] (go (>! c "hi")))
 *       (dotimes [i n]
 *         (let [[v c] (alts!! cs)] (assert (= "hi" v))))
 *       (println "Read" n "msgs in" (- (System/currentTimeMillis) begin)
 *                "ms"))
 *
 * `channels` ports, one task per port putting the string "hi" on it
 * once; a selector selects over all the ports `channels` times, taking
 * one message each time.  As in the example, the clock runs from before
 * the first spawn to the last message, so spawning is part of the figure;
 * `rounds` repeats the whole example in one process (a warm JVM's figure
 * is the later rounds') and round_ns_min is the best.
 *
 * Like for like by default: the ports are each model's own (port=default:
 * a mailbox alias on actor, a buffered channel on csp, a blocking queue on
 * locks and threads, a transactional queue on stm; a put never waits on
 * any of them), and the selector is a spawned task (selector=task: a
 * process on actor, a go block using alts! on csp).  The example itself
 * is `-p port=rendezvous -p selector=root`: unbuffered channels (which
 * actor and stm do not have: unsupported) and the program's main thread
 * using alts!! (csp's root is a thread by default).  The `port` and
 * `selector` fields of the parameters say which variant ran.
 *
 * What it shows: the cost of a select over many ports (each one a scan, and
 * where nothing is ready a registration on every port), of parking a put
 * on an unbuffered port, and of spawning a task per channel.
 *
 * Invariant: every select returns "hi", and every channel delivers exactly
 * once per round.
 */
#include "models/model.h"
#include "workloads/driver.h"
#include "workloads/workload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cb_param_def_t params[] = {
    {.name = "channels", .kind = CB_PARAM_INT, .unit = "channels",
     .help = "ports (channels), one putting task each, and selects",
     .def = 1000, .quick = 100, .min = 1, .max = 100000},
    {.name = "port", .kind = CB_PARAM_ENUM,
     .help = "the ports' policy: the model's default port (like for like: "
             "a mailbox alias on actor, a buffered channel on csp), or "
             "rendezvous as in the core.async example",
     .choices = CB_WL_PORT_POLICIES, .enum_def = "default"},
    {.name = "rounds", .kind = CB_PARAM_INT, .unit = "rounds",
     .help = "times the whole example runs in one process",
     .def = 1, .quick = 2, .min = 1, .max = 10000},
    {.name = "selector", .kind = CB_PARAM_ENUM,
     .help = "task: a spawned task selects (like for like: a go block's "
             "alts! on csp); root: the root task, as the example's main "
             "thread with alts!! (csp's root is a thread by default)",
     .choices = CB_WL_DRIVER_CHOICES, .enum_def = "task"},
    {0},
};

typedef struct putter {
    cb_port_t *ch;
    cb_task_t *task;
    int error;
} putter_t;

static void put_hi(void *arg)
{
    putter_t *p = arg;
    int rc = cb_send(p->ch, cb_binary("hi", 2));
    if (rc != 0)
        p->error = rc < 0 ? rc : -EIO;
}

static int estimate(const cb_param_set_t *p, cb_wl_estimate_t *est, char *err,
                    size_t errlen)
{
    int64_t n = cb_params_int(p, "channels");
    est->tasks = n + 1;
    /* A putter record, a select op and a seen flag per channel. */
    est->bytes = n * (int64_t)(sizeof(putter_t) + sizeof(cb_select_op_t) +
                               256);
    est->fds = 0;
    (void)err, (void)errlen;
    return 0;
}

/* One round of the example; returns its duration, or -1 on failure. */
static int64_t one_round(cb_wl_ctx_t *ctx, int64_t n, putter_t *puts,
                         cb_select_op_t *ops, unsigned char *seen,
                         int64_t *spawn_ns)
{
    /* One message per channel: a buffer of one holds it. */
    cb_port_opts_t o = {.policy = cb_wl_port_policy(cb_wl_str(ctx, "port")),
                        .capacity = 1};
    for (int64_t i = 0; i < n; i++) {
        puts[i] = (putter_t){0};
        int rc = cb_port_open(&o, &puts[i].ch);
        if (rc < 0) {
            cb_wl_unsupported(ctx, "opening a channel of that policy", rc);
            for (int64_t k = 0; k < i; k++)
                cb_port_free(puts[k].ch);
            return -1;
        }
    }
    for (int64_t i = 0; i < n; i++)
        seen[i] = 0;
    int64_t spawned = 0, t0 = cb_now_ns(), t1 = 0, got = 0;
    for (; spawned < n; spawned++) {
        int rc = cb_spawn(put_hi, &puts[spawned], NULL, &puts[spawned].task);
        if (rc < 0) {
            cb_wl_error(ctx, rc, "spawning task %lld", (long long)spawned);
            break;
        }
    }
    *spawn_ns = cb_now_ns() - t0;
    /* One op array for every select, as the example passes one vector. */
    for (int64_t i = 0; i < n; i++)
        ops[i] = (cb_select_op_t){puts[i].ch, CB_SELECT_RECV, CB_NIL, 0};
    for (; got < spawned; got++) {
        int k = cb_select(ops, (size_t)n, 0, CB_FOREVER);
        if (k < 0) {
            cb_wl_unsupported(ctx, "select over the channels", k);
            break;
        }
        cb_term_t v = ops[k].msg;
        if (ops[k].status != 0 || !cb_is_binary(v) ||
            cb_binary_size(v) != 2 || memcmp(cb_binary_data(v), "hi", 2)) {
            cb_wl_fail(ctx, "select %lld returned something but \"hi\"",
                       (long long)got);
            cb_term_release(v);
            break;
        }
        cb_term_release(v);
        ops[k].msg = CB_NIL;
        if (seen[k]++) {
            cb_wl_fail(ctx, "channel %d delivered twice", k);
            break;
        }
    }
    t1 = cb_now_ns();
    if (got < spawned) {
        /* Release the putters still parked, so that joins return. */
        for (int64_t i = 0; i < n; i++)
            cb_port_close(puts[i].ch);
    }
    for (int64_t i = 0; i < spawned; i++) {
        cb_join(puts[i].task);
        if (puts[i].error && got == spawned)
            cb_wl_fail(ctx, "putter %lld: %s", (long long)i,
                       cb_strerror(puts[i].error));
    }
    for (int64_t i = 0; i < n; i++)
        cb_port_free(puts[i].ch);
    return got == n && !cb_wl_failed(ctx) ? t1 - t0 : -1;
}

static void run_rounds(void *arg)
{
    cb_wl_ctx_t *ctx = arg;
    int64_t n = cb_wl_int(ctx, "channels"), rounds = cb_wl_int(ctx, "rounds");
    putter_t *puts = calloc((size_t)n, sizeof *puts);
    cb_select_op_t *ops = calloc((size_t)n, sizeof *ops);
    unsigned char *seen = calloc((size_t)n, 1);
    if (!puts || !ops || !seen) {
        cb_wl_fail(ctx, "out of memory for %lld channels", (long long)n);
        goto out;
    }
    int64_t best = INT64_MAX, first = 0, spawn_best = INT64_MAX, done = 0;
    cb_wl_window_start(ctx);
    for (int64_t r = 0; r < rounds; r++) {
        int64_t spawn_ns = 0;
        int64_t d = one_round(ctx, n, puts, ops, seen, &spawn_ns);
        if (d < 0)
            break;
        if (r == 0)
            first = d;
        best = d < best ? d : best;
        spawn_best = spawn_ns < spawn_best ? spawn_ns : spawn_best;
        done++;
    }
    cb_wl_window_stop(ctx);
    if (done < rounds)
        goto out;
    cb_wl_ops(ctx, n * rounds);
    cb_wl_metric_int(ctx, "round_ns_first", first);
    cb_wl_metric_int(ctx, "round_ns_min", best);
    cb_wl_metric_f64(ctx, "select_ns_per_msg", (double)best / (double)n);
    cb_wl_metric_f64(ctx, "spawn_ns_per_task",
                     (double)spawn_best / (double)n);
out:
    free(seen);
    free(ops);
    free(puts);
}

static void run(cb_wl_ctx_t *ctx)
{
    cb_wl_drive(ctx, cb_wl_str(ctx, "selector"), run_rounds);
}

/* select_ns_per_msg is the best round per message. */
static const cb_wl_metric_role_t metric_roles[] = {
    {"round_ns_min", NULL, NULL},
    {"select_ns_per_msg", "round_ns_min", NULL},
    {NULL, NULL, NULL},
};

const cb_workload_t cb_workload_alts = {
    .name = "alts",
    .summary = "core.async's example: one task per channel puts \"hi\", the "
               "root selects over all the channels",
    .description =
        "channels ports; a task per port puts \"hi\" on it once; a "
        "selector selects over all of them channels times. The clock runs "
        "from the first spawn to the last message, as in the core.async "
        "example; rounds repeats it in one process. Like for like by "
        "default (each model's own port, a spawned selector); the example "
        "itself is -p port=rendezvous -p selector=root.\n"
        "Metrics: ops (messages), round_ns_first (the first round: a cold "
        "run), round_ns_min (the best round), select_ns_per_msg, "
        "spawn_ns_per_task (best round). Invariant: every select returns "
        "\"hi\" and every channel delivers exactly once per round.",
    .params = params,
    .estimate = estimate,
    .run = run,
    .metric_roles = metric_roles,
};
