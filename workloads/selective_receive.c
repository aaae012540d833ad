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
 * The cost per skipped message is a small difference of two times, and a
 * difference of two phases measured one after the other is at the mercy
 * of whatever happens between them (the first phase warming the caches
 * and the server, a busy machine's kernel taking the CPU for a
 * millisecond): run once each, the empty phase came out slower than the
 * loaded one often enough to print a negative cost.  So the two phases
 * are measured the same way, alternately, in BATCHES pairs: each batch
 * times its share of the round trips with an empty port, then queues the
 * backlog, times as many round trips behind it, and drains the backlog
 * (checking its order) before the next batch; one round trip before
 * them all starts the server.  Each batch gives one
 * paired difference; ns_per_skipped_msg is their median, which a batch
 * disturbed by the machine does not move (receive_ns_empty and
 * receive_ns_loaded are the medians of the batches' round trips for the
 * same reason), and ns_per_skipped_msg_lo and
 * _hi are the smallest and largest of them (the spread, in which the
 * median lies).  A skipped message cannot make a receive faster, so a
 * difference at or below zero says the cost is below what this run
 * resolves: it is reported as 0 (no figure of a run is negative: the
 * results reader refuses them), and skip_batches_positive counts the
 * batches whose loaded phase was the slower, 10 of 10 when the cost is
 * resolved; use a longer backlog (`queued`) to resolve a smaller one.  A batch's loaded phase also pays
 * once for taking the freshly queued backlog in (actor moves arrived
 * messages onto its private list at the first receive), a cost of the
 * backlog but not of skipping it, so batches are kept long enough (50
 * round trips at the quick size) for it to be small beside the scans
 * (with 10 round trips a batch it was 1.3 us of a trick receive's 1.7).
 * The quick backlog is 10,000
 * messages, because 1,000 cost about as much as one round trip's noise
 * on a loaded 2-core machine (measured: -0.37 to 0.17 ns per skipped
 * message on actor, against 2 to 30 with 10,000).
 *
 * Invariants: every reply carries its request's reference; the backlog is
 * still all there, in order, after each batch.
 */
#include "models/model.h"
#include "workloads/workload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cb_param_def_t params[] = {
    {.name = "queued", .kind = CB_PARAM_INT, .unit = "messages",
     .help = "non-matching messages in front of every reply",
     .def = 10000, .quick = 10000, .min = 0, .max = 10000000},
    {.name = "reps", .kind = CB_PARAM_INT, .unit = "receives",
     .help = "request/reply round trips measured (each way)",
     .def = 1000, .quick = 500, .min = 1, .max = 100000000},
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

/* Queue the backlog: queued small integers, 0 first. */
static int fill(cb_wl_ctx_t *ctx, cb_port_t *me, int64_t queued)
{
    for (int64_t i = 0; i < queued; i++) {
        int rc = cb_send(me, cb_int(i));
        if (rc < 0) {
            cb_wl_fail(ctx, "queueing: %s", cb_strerror(rc));
            return rc;
        }
    }
    return 0;
}

/* Take the backlog back, checking that it is all there and in order. */
static int drain(cb_wl_ctx_t *ctx, cb_port_t *me, int64_t queued)
{
    for (int64_t i = 0; i < queued; i++) {
        cb_term_t m;
        if (cb_recv(me, &m, 0) < 0 || !cb_is_int(m) || cb_int_value(m) != i) {
            cb_wl_fail(ctx, "the backlog lost its order at message %lld",
                       (long long)i);
            return -EPROTO;
        }
    }
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of x[0..n), n >= 1; sorts x. */
static double median_of(double *x, int64_t n)
{
    qsort(x, (size_t)n, sizeof x[0], cmp_double);
    return n % 2 ? x[n / 2] : (x[n / 2 - 1] + x[n / 2]) / 2;
}

/* Pairs of (empty, loaded) phases; see the essay. */
#define BATCHES 10

static void run(cb_wl_ctx_t *ctx)
{
    int64_t queued = cb_wl_int(ctx, "queued"), reps = cb_wl_int(ctx, "reps");
    bool trick = strcmp(cb_wl_str(ctx, "trick"), "yes") == 0;
    int64_t batches = reps < BATCHES ? reps : BATCHES;
    double diff[BATCHES], empty_rt[BATCHES], loaded_rt[BATCHES];
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
    /* One round trip before the window, so the server is running and
     * parked in its receive: the first batch would otherwise pay for its
     * start (measured without it: the first batch's empty phase was the
     * slower of its pair, a negative difference, in six runs of six). */
    if (round_trips(ctx, me, &s, 1, trick) < 0)
        goto stop;
    cb_wl_window_start(ctx);
    for (int64_t b = 0; b < batches; b++) {
        /* reps shared out, the remainder to the first batches. */
        int64_t n = reps / batches + (b < reps % batches);
        int64_t e = round_trips(ctx, me, &s, n, trick);
        if (e < 0 || fill(ctx, me, queued) < 0)
            goto stop;
        int64_t l = round_trips(ctx, me, &s, n, trick);
        if (l < 0 || drain(ctx, me, queued) < 0)
            goto stop;
        empty_rt[b] = (double)e / (double)n;
        loaded_rt[b] = (double)l / (double)n;
        diff[b] = queued > 0 ? (double)(l - e) / (double)n / (double)queued
                             : 0.0;
    }
    cb_wl_window_stop(ctx);
    cb_wl_ops(ctx, 2 * reps);
    cb_wl_metric_f64(ctx, "receive_ns_empty", median_of(empty_rt, batches));
    cb_wl_metric_f64(ctx, "receive_ns_loaded", median_of(loaded_rt, batches));
    if (queued > 0) {
        double median = median_of(diff, batches);
        int64_t positive = 0;
        for (int64_t b = 0; b < batches; b++)
            positive += diff[b] > 0;
        cb_wl_metric_f64(ctx, "ns_per_skipped_msg", median > 0 ? median : 0);
        cb_wl_metric_f64(ctx, "ns_per_skipped_msg_lo",
                         diff[0] > 0 ? diff[0] : 0);
        cb_wl_metric_f64(ctx, "ns_per_skipped_msg_hi",
                         diff[batches - 1] > 0 ? diff[batches - 1] : 0);
        cb_wl_metric_int(ctx, "skip_batches_positive", positive);
    }
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
    {"receive_ns_empty", NULL, NULL},
    {"receive_ns_loaded", NULL, NULL},
    {"ns_per_skipped_msg", "receive_ns_loaded", NULL},
    {"elapsed_ns", "receive_ns_loaded", NULL},
    {"throughput_ops_s", "receive_ns_loaded", NULL},
    {NULL, NULL, NULL},
};

const cb_workload_t cb_workload_selective_receive = {
    .name = "selective-receive",
    .summary = "a selective receive behind N non-matching messages, with "
               "and without the reference trick",
    .description =
        "The root makes `reps` request/reply round trips with a server, "
        "receiving each reply with a selective receive, with an empty port "
        "and with `queued` non-matching messages in front of every reply, "
        "alternately in 10 batches; trick=yes uses "
        "cb_recv_mark/cb_recv_match_ref.\n"
        "Metrics: ops (round trips), receive_ns_empty, receive_ns_loaded "
        "(per round trip, the median over the batches), ns_per_skipped_msg (the median over the batches "
        "of (loaded - empty) / queued; 0 when not above zero, i.e. below "
        "this run's resolution), ns_per_skipped_msg_lo/_hi (the smallest "
        "and largest batch, 0 when not above zero), skip_batches_positive "
        "(batches whose loaded phase was the slower, of 10). Invariant: "
        "the backlog is intact and in order after every batch.",
    .params = params,
    .estimate = estimate,
    .run = run,
    .metric_roles = metric_roles,
};
