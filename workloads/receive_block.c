/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * receive-block: a send never waits for the receiver; a receive with no
 * matching clause blocks its own process and nothing else.
 *
 * The BEAM's rules (the Erlang reference manual, "Expressions", Send and
 * Receive, https://www.erlang.org/doc/reference_manual/expressions.html):
 * `Pid ! Msg` puts the message in the receiver's queue and returns at
 * once, whether or not the receiver ever reads it; `receive` tries each
 * queued message against its clauses, leaves the ones that match none
 * where they are, and suspends the process until a matching one comes or
 * its `after` timeout passes.  The other processes run on.
 *
 * The run, all on one mailbox-owning root:
 *   1. a task sends `messages` messages {other, N} to the root, which is
 *      not receiving; the root waits (up to 2 s) until the sender is
 *      done: sends_before_receive counts the sends that completed before
 *      any receive (all of them when a send never waits);
 *   2. two tasks start a ping-pong of their own, and the root enters a
 *      selective receive for {wanted, _}, which nothing sends, with a
 *      timeout of wait_ms: receive_timed_out is 1 when it returned by
 *      its timeout, blocked_receive_ns how long it was blocked,
 *      others_round_trips the round trips the pair made meanwhile (the
 *      rest of the system ran), unmatched_left the messages still in the
 *      root's mailbox after the receive (a non-matching message is left
 *      where it is).
 * Models without selective receive (channels and blocking queues take
 * the head; see each model's `unsupported`) report the run unsupported
 * before anything is sent.
 */
#include "models/model.h"
#include "workloads/workload.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>

static const cb_param_def_t params[] = {
    {.name = "messages",
     .kind = CB_PARAM_INT,
     .unit = "messages",
     .help = "messages sent to the root before it receives",
     .def = 10000,
     .quick = 1000,
     .min = 1,
     .max = 10000000},
    {.name = "wait_ms",
     .kind = CB_PARAM_INT,
     .unit = "ms",
     .help = "timeout of the receive that matches nothing",
     .def = 200,
     .quick = 50,
     .min = 1,
     .max = 60000},
    {0},
};

/* A sender that does not finish in this long is blocked, not slow. */
#define SEND_LIMIT_NS (2 * INT64_C(1000000000))

static int estimate(const cb_param_set_t *p, cb_wl_estimate_t *est, char *err,
                    size_t errlen)
{
    est->tasks = 4;
    est->bytes = cb_params_int(p, "messages") * 64;
    est->fds = 0;
    (void)err, (void)errlen;
    return 0;
}

typedef struct sender {
    cb_port_t *to;
    int64_t n;
    /* Written by the sender, read by the root (release/acquire). */
    _Atomic int64_t sent;
    int error;
} sender_t;

static void send_others(void *arg)
{
    sender_t *s = arg;
    cb_term_t other = cb_atom("other");
    for (int64_t i = 0; i < s->n; i++) {
        int rc = cb_send(s->to, cb_tuple2(other, cb_int(i)));
        if (rc < 0) {
            s->error = rc;
            return;
        }
        atomic_store_explicit(&s->sent, i + 1, memory_order_release);
    }
}

typedef struct pair {
    cb_port_t *ping_port, *pong_port;
    /* Set by the root when its receive returned; relaxed is enough: the
     * pinger only needs to see it eventually, and the count it leaves is
     * read after cb_join, which orders it. */
    _Atomic int stop;
    int64_t round_trips;
    int error;
} pair_t;

static void pinger(void *arg)
{
    pair_t *p = arg;
    while (!atomic_load_explicit(&p->stop, memory_order_relaxed)) {
        int rc = cb_send(p->pong_port, cb_int(p->round_trips));
        cb_term_t back;
        if (rc >= 0)
            rc = cb_recv(p->ping_port, &back, CB_FOREVER);
        if (rc < 0) {
            p->error = rc;
            break;
        }
        cb_term_release(back);
        p->round_trips++;
    }
    cb_send(p->pong_port, cb_int(-1));
}

static void ponger(void *arg)
{
    pair_t *p = arg;
    for (;;) {
        cb_term_t m;
        int rc = cb_recv(p->pong_port, &m, CB_FOREVER);
        if (rc < 0) {
            p->error = rc;
            return;
        }
        int64_t v = cb_is_int(m) ? cb_int_value(m) : -1;
        cb_term_release(m);
        if (v < 0)
            return;
        if (cb_send(p->ping_port, cb_int(v)) < 0)
            return;
    }
}

static bool is_wanted(cb_term_t msg, void *ctx)
{
    cb_term_t wanted = *(cb_term_t *)ctx;
    return cb_is_tuple(msg) && cb_tuple_arity(msg) == 2 &&
           cb_tuple_elem(msg, 0) == wanted;
}

static void run(cb_wl_ctx_t *ctx)
{
    int64_t n = cb_wl_int(ctx, "messages");
    int64_t wait_ns = cb_wl_int(ctx, "wait_ms") * 1000000;
    cb_term_t wanted = cb_atom("wanted");
    cb_port_t *me = NULL;
    pair_t pair = {0};
    cb_task_t *ts[3] = {0};
    int rc = cb_port_open(NULL, &me);
    if (rc < 0) {
        cb_wl_error(ctx, rc, "opening the root's port");
        return;
    }
    /* The capability first: a model without it must not leave a sender
     * blocked on a port nobody reads. */
    cb_term_t m;
    rc = cb_recv_match(me, is_wanted, &wanted, &m, 0);
    if (rc != -ETIMEDOUT) {
        if (rc == 0)
            cb_term_release(m);
        cb_wl_unsupported(ctx, "a selective receive (receive by pattern)",
                          rc == 0 ? -EPROTO : rc);
        goto out;
    }
    cb_wl_window_start(ctx);
    sender_t s = {.to = me, .n = n};
    rc = cb_spawn(send_others, &s, NULL, &ts[0]);
    if (rc < 0) {
        cb_wl_error(ctx, rc, "spawning the sender");
        goto stop;
    }
    int64_t until = cb_now_ns() + SEND_LIMIT_NS;
    while (atomic_load_explicit(&s.sent, memory_order_acquire) < n &&
           !s.error && cb_now_ns() < until)
        cb_sleep(1000000);
    int64_t before = atomic_load_explicit(&s.sent, memory_order_acquire);
    if (before < n) {
        /* The sender waits on the receiver: free it by reading. */
        for (int64_t i = before; i < n; i++)
            if (cb_recv(me, &m, SEND_LIMIT_NS) == 0)
                cb_term_release(m);
    }
    cb_join(ts[0]);
    if (s.error) {
        cb_wl_error(ctx, s.error, "sending to the root");
        goto stop;
    }
    if ((rc = cb_port_open(NULL, &pair.ping_port)) < 0 ||
        (rc = cb_port_open(NULL, &pair.pong_port)) < 0) {
        cb_wl_error(ctx, rc, "opening the pair's ports");
        goto stop;
    }
    if ((rc = cb_spawn(ponger, &pair, NULL, &ts[2])) < 0 ||
        (rc = cb_spawn(pinger, &pair, NULL, &ts[1])) < 0) {
        cb_wl_error(ctx, rc, "spawning the ping-pong pair");
        atomic_store(&pair.stop, 1);
        if (ts[2] && !ts[1])
            cb_send(pair.pong_port, cb_int(-1));
        goto stop;
    }
    int64_t t0 = cb_now_ns();
    rc = cb_recv_match(me, is_wanted, &wanted, &m, wait_ns);
    int64_t blocked = cb_now_ns() - t0;
    atomic_store_explicit(&pair.stop, 1, memory_order_relaxed);
    if (rc == 0)
        cb_term_release(m);
    size_t left = cb_port_length(me);
    cb_join(ts[1]);
    cb_join(ts[2]);
    ts[1] = ts[2] = NULL;
    cb_wl_window_stop(ctx);
    if (pair.error) {
        cb_wl_error(ctx, pair.error, "the ping-pong pair");
        goto out;
    }
    cb_wl_ops(ctx, n + pair.round_trips);
    cb_wl_metric_int(ctx, "sends_before_receive", before);
    cb_wl_metric_int(ctx, "receive_timed_out", rc == -ETIMEDOUT);
    cb_wl_metric_int(ctx, "blocked_receive_ns", blocked);
    cb_wl_metric_int(ctx, "others_round_trips", pair.round_trips);
    cb_wl_metric_int(ctx, "unmatched_left", (int64_t)left);
    goto out;
stop:
    cb_wl_window_stop(ctx);
    for (int i = 1; i < 3; i++)
        if (ts[i])
            cb_join(ts[i]);
out:
    if (pair.ping_port)
        cb_port_free(pair.ping_port);
    if (pair.pong_port)
        cb_port_free(pair.pong_port);
    /* What the root never took is freed with its port. */
    cb_port_free(me);
}

const cb_workload_t cb_workload_receive_block = {
    .name = "receive-block",
    .summary = "a send never waits for the receiver; a receive that matches "
               "nothing blocks only its own process",
    .description =
        "A task sends `messages` messages to the root, which is not "
        "receiving; then, while two other tasks play ping-pong, the root "
        "waits wait_ms in a selective receive for a message nobody "
        "sends. Models without selective receive are unsupported.\n"
        "Metrics: sends_before_receive (sends completed before any "
        "receive: all of them where a send never waits), "
        "receive_timed_out (1: the receive returned by its timeout), "
        "blocked_receive_ns, others_round_trips (the pair's round trips "
        "while the root was blocked), unmatched_left (messages left in "
        "the root's mailbox: non-matching ones stay).",
    .params = params,
    .estimate = estimate,
    .run = run,
    .no_instruction_count = "its point is a receive that waits out a "
                            "timeout while other tasks run",
};
