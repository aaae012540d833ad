/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Lab 4, selective receive: the reference solution (for teachers; the
 * student's starting point is ../starter.c, which differs in call()
 * only).
 *
 * A client (the root) makes `requests` calls to a server: it sends
 * {req, Ref, ReplyTo, N} and waits for {reply, Ref, 2N}.  The server is
 * also a publisher the client subscribes to: before each reply it sends
 * the client `events` notifications {event, Seq}, which the client
 * leaves in its mailbox to handle at the end.  So the mailbox grows by
 * `events` messages a call, and they all sit in front of the next reply.
 *
 * A receive by pattern (cb_recv_match) takes the first message that
 * matches, leaving the others in place: it examines every queued event
 * before it reaches the reply, so a call costs O(backlog), and the run
 * O(requests^2 x events).  That is the BEAM's selective receive (the
 * Erlang reference manual, Expressions, Receive; a long mailbox slowing
 * every receive is the classic gen_server pathology).  The fix is the
 * reference trick: a reference made just before the request cannot be
 * in any message queued earlier, so a receive that only matches
 * messages holding it may skip everything queued before it was made.
 * The BEAM's compiler does this by itself for `Ref = make_ref(), ...,
 * receive {Ref, _} -> ... end` (recv_mark/recv_set since R14A; receive
 * markers since OTP 24, lib/compiler/src/beam_ssa_recv.erl), which is
 * how gen_server:call stays fast behind a long mailbox.  In concbench
 * the trick is explicit: cb_recv_mark(port) makes the reference and
 * marks the end of the queue, cb_recv_match_ref(port, ref, ...) starts
 * its scan at the mark.  A call then examines only the `events` that
 * came with its own reply: its cost stays flat however long the
 * mailbox grows.
 *
 * Only the actor model has selective receive; the others (a channel, a
 * blocking queue, a transactional queue take the head) say unsupported
 * with their reason, and so does this run, before it sends anything.
 *
 * Invariants: every reply carries its request's reference and 2N; at
 * the end the mailbox holds exactly requests x events notifications, in
 * the order sent, and nothing else.
 */
#include "models/model.h"
#include "workloads/workload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cb_param_def_t params[] = {
    {.name = "requests", .kind = CB_PARAM_INT, .unit = "calls",
     .help = "request/reply calls the client makes",
     .def = 2000, .quick = 500, .min = 1, .max = 10000000},
    {.name = "events", .kind = CB_PARAM_INT, .unit = "messages",
     .help = "notifications queued in the client's mailbox per call",
     .def = 10, .quick = 10, .min = 0, .max = 10000},
    {.name = "stall_ms", .kind = CB_PARAM_INT, .unit = "ms",
     .help = "a reply that takes this long is taken for a lost one",
     .def = 10000, .quick = 10000, .min = 10, .max = 600000},
    {0},
};

typedef struct server {
    cb_port_t *in;
    int64_t events;
} server_t;

typedef struct client {
    cb_port_t *me;     /* the client's mailbox */
    cb_port_t *server; /* the server's */
    int64_t stall_ns;
} client_t;

/* {req, Ref, ReplyTo, N}: `events` notifications, then {reply, Ref, 2N}. */
static void server_main(void *arg)
{
    server_t *s = arg;
    cb_term_t event = cb_atom("event"), reply = cb_atom("reply");
    int64_t seq = 0;
    cb_term_t m;
    while (cb_recv(s->in, &m, CB_FOREVER) == 0) {
        cb_port_t *to = cb_term_port(cb_tuple_elem(m, 2));
        for (int64_t i = 0; i < s->events; i++)
            cb_send(to, cb_tuple2(event, cb_int(seq++)));
        cb_send(to, cb_tuple3(reply, cb_tuple_elem(m, 1),
                              cb_int(2 * cb_int_value(cb_tuple_elem(m, 3)))));
        cb_term_release(m);
    }
}

typedef struct want {
    cb_term_t tag, ref;
} want_t;

/* The pattern {reply, Ref, _}. */
static bool is_reply(cb_term_t m, void *ctx)
{
    want_t *w = ctx;
    return cb_is_tuple(m) && cb_tuple_arity(m) == 3 &&
           cb_tuple_elem(m, 0) == w->tag && cb_tuple_elem(m, 1) == w->ref;
}

/* One call: the request for n, and its reply in *reply.  0, or the
 * receive's error (-ETIMEDOUT after stall_ns, -ENOTSUP). */
static int call(client_t *c, int64_t n, cb_term_t *reply)
{
    /* The reference trick: the reference is made, and the mailbox's end
     * marked, before the request goes out, so the reply can only come
     * after the mark and the receive skips the backlog in front of it. */
    want_t w = {.tag = cb_atom("reply"), .ref = cb_recv_mark(c->me)};
    cb_term_t req[4] = {cb_atom("req"), w.ref, cb_port_term(c->me),
                        cb_int(n)};
    cb_send(c->server, cb_tuple(4, req));
    return cb_recv_match_ref(c->me, w.ref, is_reply, &w, reply, c->stall_ns);
}

/* ---- the lab's harness: leave it as it is ---- */

static int estimate(const cb_param_set_t *ps, cb_wl_estimate_t *est,
                    char *err, size_t errlen)
{
    int64_t n = cb_params_int(ps, "requests");
    est->tasks = 2;
    /* The backlog (a 2-tuple is a few dozen bytes in any model) and a
     * time per call. */
    est->bytes = n * cb_params_int(ps, "events") * 64 + n * 8;
    est->fds = 0;
    return 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The median of x[0..n), n >= 1; sorts x. */
static double median_of(int64_t *x, int64_t n)
{
    qsort(x, (size_t)n, sizeof x[0], cmp_i64);
    return n % 2 ? (double)x[n / 2] : (double)(x[n / 2 - 1] + x[n / 2]) / 2;
}

/* Take the notifications back: requests x events of them, in order. */
static void drain(cb_wl_ctx_t *ctx, cb_port_t *me, int64_t want)
{
    cb_term_t event = cb_atom("event");
    for (int64_t i = 0; i < want; i++) {
        cb_term_t m;
        int rc = cb_recv(me, &m, 0);
        bool ok = rc == 0 && cb_is_tuple(m) && cb_tuple_arity(m) == 2 &&
                  cb_tuple_elem(m, 0) == event &&
                  cb_tuple_elem(m, 1) == cb_int(i);
        if (rc == 0)
            cb_term_release(m);
        if (!ok) {
            cb_wl_fail(ctx,
                       "notification %lld of %lld is %s: the events must "
                       "stay queued, in order, until the end",
                       (long long)i, (long long)want,
                       rc < 0 ? "missing" : "not the one sent next");
            return;
        }
    }
    cb_term_t m;
    if (cb_recv(me, &m, 0) == 0) {
        cb_term_release(m);
        cb_wl_fail(ctx, "the mailbox holds more than the %lld "
                        "notifications sent",
                   (long long)want);
    }
}

static bool never(cb_term_t m, void *ctx)
{
    return false;
}

static void run(cb_wl_ctx_t *ctx)
{
    int64_t requests = cb_wl_int(ctx, "requests");
    server_t s = {.events = cb_wl_int(ctx, "events")};
    client_t c = {.stall_ns = cb_wl_int(ctx, "stall_ms") * 1000000};
    cb_task_t *t = NULL;
    int64_t *ns = calloc((size_t)requests, sizeof *ns), done = 0;
    int rc = ns ? cb_port_open(NULL, &c.me) : -ENOMEM;
    if (rc == 0)
        rc = cb_port_open(NULL, &s.in);
    if (rc < 0) {
        cb_wl_error(ctx, rc, "opening the ports");
        goto out;
    }
    /* Selective receive or none, asked before anything is sent. */
    cb_term_t none;
    if ((rc = cb_recv_match(c.me, never, NULL, &none, 0)) == -ENOTSUP) {
        cb_wl_unsupported(ctx,
                          "selective receive (a receive by pattern; "
                          "`concbench describe MODEL` gives the model's "
                          "reason)",
                          rc);
        goto out;
    }
    c.server = s.in;
    if ((rc = cb_spawn(server_main, &s, NULL, &t)) < 0) {
        cb_wl_error(ctx, rc, "spawning the server");
        goto out;
    }
    cb_wl_window_start(ctx);
    for (; done < requests; done++) {
        cb_term_t reply;
        int64_t t0 = cb_now_ns();
        rc = call(&c, done, &reply);
        ns[done] = cb_now_ns() - t0;
        if (rc == -ENOTSUP) {
            cb_wl_unsupported(ctx, "selective receive", rc);
            break;
        }
        if (rc < 0) {
            cb_wl_fail(ctx,
                       "call %lld: no reply within %lld ms (%s): was it "
                       "queued before the receive's mark?",
                       (long long)done, (long long)(c.stall_ns / 1000000),
                       cb_strerror(rc));
            break;
        }
        bool right = cb_is_tuple(reply) && cb_tuple_arity(reply) == 3 &&
                     cb_tuple_elem(reply, 2) == cb_int(2 * done);
        cb_term_release(reply);
        if (!right) {
            cb_wl_fail(ctx, "call %lld: the reply is not {reply, Ref, %lld}",
                       (long long)done, (long long)(2 * done));
            break;
        }
    }
    cb_wl_window_stop(ctx);
    if (done == requests) {
        drain(ctx, c.me, requests * s.events);
        /* The median call of the first and of the last tenth. */
        int64_t tenth = requests / 10 > 0 ? requests / 10 : 1;
        double first = median_of(ns, tenth);
        double last = median_of(ns + requests - tenth, tenth);
        /* Each tenth's median call had about this many events queued. */
        double grew = (double)(requests - tenth) * (double)s.events;
        cb_wl_ops(ctx, requests);
        cb_wl_metric_f64(ctx, "receive_ns_first", first);
        cb_wl_metric_f64(ctx, "receive_ns_last", last);
        cb_wl_metric_int(ctx, "backlog_at_end", requests * s.events);
        if (grew > 0)
            cb_wl_metric_f64(ctx, "ns_per_queued_msg",
                             last > first ? (last - first) / grew : 0);
    }
    cb_port_close(s.in);
    cb_join(t);
out:
    if (c.me)
        cb_port_free(c.me);
    if (s.in)
        cb_port_free(s.in);
    free(ns);
}

const cb_workload_t cb_workload_lab_receive = {
    .name = "lab-receive",
    .summary = "lab 4: request/reply calls behind a growing mailbox",
    .description =
        "The client makes `requests` calls to a server that also queues "
        "`events` notifications in the client's mailbox before each reply; "
        "the client leaves them for the end, so each reply waits behind "
        "all of them. Metrics: throughput_ops_s (calls per second), "
        "receive_ns_first and receive_ns_last (the median call of the "
        "first and of the last tenth), backlog_at_end, ns_per_queued_msg "
        "(how much a call grew per queued message; 0 when it did not).",
    .params = params,
    .estimate = estimate,
    .run = run,
};
