/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * selective-receive: the cost of a receive that must look past a backlog.
 *
 * The root makes a request to a server task and waits for the reply with
 * a selective receive (a predicate matching {reply, Ref}), `reps` times.
 * First with an empty port (the baseline round trip), then with `queued`
 * non-matching messages sitting in front of every reply: each receive
 * then examines and skips all of them, so its cost grows with the
 * backlog, which is how a BEAM process with a flooded mailbox slows down
 * (and why gen_server calls use the reference trick).  With trick=yes the
 * reference is made with cb_recv_mark and the receive with
 * cb_recv_match_ref: a model that implements the trick (OTP 24's receive
 * markers) skips the backlog without looking at it, and the cost stays
 * flat however long the queue is.
 *
 * Invariants: every reply carries its request's reference; the backlog is
 * still all there, in order, after the measurement.
 */
#include "models/model.h"
#include "workloads/workload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cb_param_def_t params[] = {
    {.name = "queued", .kind = CB_PARAM_INT, .unit = "messages",
     .help = "non-matching messages in front of every reply",
     .def = 10000, .quick = 1000, .min = 0, .max = 10000000},
    {.name = "reps", .kind = CB_PARAM_INT, .unit = "receives",
     .help = "request/reply round trips measured (each way)",
     .def = 1000, .quick = 100, .min = 1, .max = 100000000},
    {.name = "trick", .kind = CB_PARAM_ENUM,
     .help = "yes: use the reference trick (cb_recv_mark)",
     .choices = "no|yes", .enum_def = "no"},
    {0},
};

typedef struct server {
    cb_port_t *in;
} server_t;

static void server_main(void *arg)
{
    server_t *s = arg;
    cb_term_t reply = cb_atom("reply");
    cb_term_t m;
    while (cb_recv(s->in, &m, CB_FOREVER) == 0) {
        /* {req, Ref, ReplyTo} -> {reply, Ref} */
        cb_port_t *to = cb_term_port(cb_tuple_elem(m, 2));
        cb_send(to, cb_tuple2(reply, cb_tuple_elem(m, 1)));
        cb_term_release(m);
    }
}

typedef struct want {
    cb_term_t tag, ref;
} want_t;

static bool is_reply(cb_term_t m, void *ctx)
{
    want_t *w = ctx;
    return cb_is_tuple(m) && cb_tuple_arity(m) == 2 &&
           cb_tuple_elem(m, 0) == w->tag && cb_tuple_elem(m, 1) == w->ref;
}

/* reps round trips; returns the ns they took, or -1 on failure. */
static int64_t round_trips(cb_wl_ctx_t *ctx, cb_port_t *me, server_t *s,
                           int64_t reps, bool trick)
{
    want_t w = {.tag = cb_atom("reply")};
    cb_term_t req = cb_atom("req");
    int64_t t0 = cb_now_ns();
    for (int64_t i = 0; i < reps; i++) {
        w.ref = trick ? cb_recv_mark(me) : cb_make_ref();
        cb_send(s->in, cb_tuple3(req, w.ref, cb_port_term(me)));
        cb_term_t m;
        int rc = trick ? cb_recv_match_ref(me, w.ref, is_reply, &w, &m,
                                           CB_FOREVER)
                       : cb_recv_match(me, is_reply, &w, &m, CB_FOREVER);
        if (rc == -ENOTSUP) {
            cb_wl_unsupported(ctx, "selective receive", rc);
            return -1;
        }
        if (rc < 0) {
            cb_wl_fail(ctx, "receive %lld: %s", (long long)i, cb_strerror(rc));
            return -1;
        }
        cb_term_release(m);
    }
    return cb_now_ns() - t0;
}

static int estimate(const cb_param_set_t *p, cb_wl_estimate_t *est, char *err,
                    size_t errlen)
{
    (void)err, (void)errlen;
    est->tasks = 2;
    /* A queued message is a few dozen bytes in any model. */
    est->bytes = cb_params_int(p, "queued") * 64;
    est->fds = 0;
    return 0;
}

static void run(cb_wl_ctx_t *ctx)
{
    int64_t queued = cb_wl_int(ctx, "queued"), reps = cb_wl_int(ctx, "reps");
    bool trick = strcmp(cb_wl_str(ctx, "trick"), "yes") == 0;
    server_t s = {0};
    cb_port_t *me = NULL;
    cb_task_t *t = NULL;
    int rc = cb_port_open(NULL, &me);
    if (rc == 0)
        rc = cb_port_open(NULL, &s.in);
    if (rc == 0)
        rc = cb_spawn(server_main, &s, NULL, &t);
    if (rc < 0) {
        cb_wl_error(ctx, rc, "setting up");
        goto out;
    }
    cb_wl_window_start(ctx);
    int64_t base = round_trips(ctx, me, &s, reps, trick);
    if (base < 0)
        goto stop;
    for (int64_t i = 0; i < queued; i++)
        if ((rc = cb_send(me, cb_int(i))) < 0) {
            cb_wl_fail(ctx, "queueing: %s", cb_strerror(rc));
            goto stop;
        }
    int64_t loaded = round_trips(ctx, me, &s, reps, trick);
    cb_wl_window_stop(ctx);
    if (loaded < 0)
        goto stop;
    for (int64_t i = 0; i < queued; i++) {
        cb_term_t m;
        if (cb_recv(me, &m, 0) < 0 || !cb_is_int(m) || cb_int_value(m) != i) {
            cb_wl_fail(ctx, "the backlog lost its order at message %lld",
                       (long long)i);
            break;
        }
    }
    cb_wl_ops(ctx, 2 * reps);
    cb_wl_metric_f64(ctx, "receive_ns_empty", (double)base / (double)reps);
    cb_wl_metric_f64(ctx, "receive_ns_loaded", (double)loaded / (double)reps);
    if (queued > 0)
        cb_wl_metric_f64(ctx, "ns_per_skipped_msg",
                         (double)(loaded - base) / (double)reps /
                             (double)queued);
stop:
    cb_port_close(s.in);
    cb_join(t);
out:
    if (me)
        cb_port_free(me);
    if (s.in)
        cb_port_free(s.in);
}

/* The window holds both phases; the cost per skipped message is their
 * difference. */
static const cb_wl_metric_role_t metric_roles[] = {
    {"receive_ns_empty", NULL},
    {"receive_ns_loaded", NULL},
    {"ns_per_skipped_msg", "receive_ns_loaded"},
    {"elapsed_ns", "receive_ns_loaded"},
    {"throughput_ops_s", "receive_ns_loaded"},
    {NULL, NULL},
};

const cb_workload_t cb_workload_selective_receive = {
    .name = "selective-receive",
    .summary = "a selective receive behind N non-matching messages, with "
               "and without the reference trick",
    .description =
        "The root makes `reps` request/reply round trips with a server, "
        "receiving each reply with a selective receive, first with an "
        "empty port and then with `queued` non-matching messages in front "
        "of every reply; trick=yes uses cb_recv_mark/cb_recv_match_ref.\n"
        "Metrics: ops (round trips), receive_ns_empty, receive_ns_loaded "
        "(per round trip), ns_per_skipped_msg ((loaded - empty) / queued). "
        "Invariant: the backlog is intact and in order afterwards.",
    .params = params,
    .estimate = estimate,
    .run = run,
    .metric_roles = metric_roles,
};
