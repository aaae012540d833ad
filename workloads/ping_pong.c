/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * ping-pong: two tasks bounce one message back and forth.
 *
 * The root task (ping) sends to the pong task's port and waits for the
 * reply on its own; pong answers each message with one of its own.  A
 * round trip is two sends, two receives and, when both share one worker
 * (--cpus 0), two context switches: the floor under every request/reply
 * in the model, and the talk's first micro-benchmark.  With payload=N the
 * message is an N-byte binary, so copy-on-send (and the refc threshold at
 * 64 bytes) shows in the figure.  With policy=rendezvous both ports are
 * unbuffered channels, where a send completes only when the reply's
 * receiver takes it (a model without them says unsupported).
 *
 * Invariant: every round trip returns the value sent (ping checks each).
 */
#include "models/model.h"
#include "workloads/workload.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

static const cb_param_def_t params[] = {
    {.name = "rounds", .kind = CB_PARAM_INT, .unit = "round trips",
     .help = "messages ping sends (each answered by pong)",
     .def = 1000000, .quick = 10000, .min = 1, .max = 1000000000},
    {.name = "payload", .kind = CB_PARAM_INT, .unit = "bytes",
     .help = "0: a small integer message; N: an N-byte binary",
     .def = 0, .quick = 0, .min = 0, .max = 16777216},
    {.name = "policy", .kind = CB_PARAM_ENUM,
     .help = "both ports: the model's default, or a buffer policy "
             "(rendezvous: an unbuffered channel)",
     .choices = CB_WL_PORT_POLICIES,
     .enum_def = "default"},
    {.name = "capacity", .kind = CB_PARAM_INT, .unit = "messages",
     .help = "buffer size for fixed, sliding and dropping",
     .def = 1, .quick = 1, .min = 1, .max = 1000000000},
    {0},
};

typedef struct pong {
    cb_port_t *in, *out;
} pong_t;

static void pong_main(void *arg)
{
    pong_t *p = arg;
    cb_term_t m;
    /* The port is closed when ping is done. */
    while (cb_recv(p->in, &m, CB_FOREVER) == 0)
        if (cb_send(p->out, m) < 0)
            break;
}

static cb_term_t make_msg(int64_t i, size_t payload)
{
    if (!payload)
        return cb_int(i);
    cb_term_t b = cb_binary(NULL, payload);
    if (b != CB_NIL)
        cb_binary_data(b)[0] = (uint8_t)i;
    return b;
}

static bool same(cb_term_t m, int64_t i, size_t payload)
{
    if (!payload)
        return cb_is_int(m) && cb_int_value(m) == i;
    return cb_is_binary(m) && cb_binary_size(m) == payload &&
           cb_binary_data(m)[0] == (uint8_t)i;
}

static int estimate(const cb_param_set_t *p, cb_wl_estimate_t *est, char *err,
                    size_t errlen)
{
    (void)err, (void)errlen;
    est->tasks = 2;
    est->bytes = 4 * cb_params_int(p, "payload") + 4096;
    est->fds = 0;
    return 0;
}

static void run(cb_wl_ctx_t *ctx)
{
    int64_t rounds = cb_wl_int(ctx, "rounds");
    size_t payload = (size_t)cb_wl_int(ctx, "payload");
    pong_t pg = {0};
    cb_task_t *t = NULL;
    cb_port_opts_t opts = {
        .policy = cb_wl_port_policy(cb_wl_str(ctx, "policy")),
        .capacity = (size_t)cb_wl_int(ctx, "capacity")};
    int rc = cb_port_open(&opts, &pg.in);
    if (rc == 0)
        rc = cb_port_open(&opts, &pg.out);
    if (rc == -ENOTSUP || rc == -EINVAL) {
        cb_wl_unsupported(ctx, "opening the ports", rc);
        goto out;
    }
    if (rc == 0)
        rc = cb_spawn(pong_main, &pg, NULL, &t);
    if (rc < 0) {
        cb_wl_error(ctx, rc, "setting up");
        goto out;
    }
    /* One warm-up round, so pong is running and parked in its receive. */
    cb_term_t m;
    cb_send(pg.in, cb_int(-1));
    cb_recv(pg.out, &m, CB_FOREVER);
    int64_t bad = 0;
    cb_wl_window_start(ctx);
    for (int64_t i = 0; i < rounds; i++) {
        cb_term_t msg = make_msg(i, payload);
        if (msg == CB_NIL || cb_send(pg.in, msg) < 0 ||
            cb_recv(pg.out, &m, CB_FOREVER) < 0) {
            cb_wl_fail(ctx, "round %lld: send or receive failed",
                       (long long)i);
            break;
        }
        bad += !same(m, i, payload);
        cb_term_release(m);
    }
    cb_wl_window_stop(ctx);
    cb_port_close(pg.in);
    cb_join(t);
    if (bad)
        cb_wl_fail(ctx, "%lld replies differed from what was sent",
                   (long long)bad);
    cb_wl_ops(ctx, rounds);
    int64_t el = cb_wl_elapsed_ns(ctx);
    cb_wl_metric_f64(ctx, "round_trip_ns", (double)el / (double)rounds);
out:
    if (pg.in)
        cb_port_free(pg.in);
    if (pg.out)
        cb_port_free(pg.out);
}

const cb_workload_t cb_workload_ping_pong = {
    .name = "ping-pong",
    .summary = "two tasks bounce one message: the cost of a round trip",
    .description =
        "The root task sends `rounds` messages to a pong task, waiting for "
        "each reply. Run with --cpus 0 to keep both on one worker.\n"
        "Metrics: ops (round trips), throughput_ops_s, round_trip_ns "
        "(window / rounds). Invariant: every reply equals what was sent.",
    .params = params,
    .estimate = estimate,
    .run = run,
};
