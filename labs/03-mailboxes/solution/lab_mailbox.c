/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Lab 3, mailboxes and backpressure: the reference solution (for
 * teachers; the student's starting point is ../starter.c, which differs
 * in producer_main and grant_credits only).
 *
 * `producers` tasks each send `msgs` messages {Producer, Seq}, Seq 0, 1,
 * 2, ..., to one consumer that spends `consume_ns` of CPU on each.  The
 * consumer checks that every message arrives exactly once and, per
 * producer, in the order sent (the one order every model promises: see
 * models/model.h), samples its queue length after every receive
 * (peak_queue_len) and the resident memory every 1024 messages.
 *
 * Without flow control nothing slows the producers down where a port is
 * unbounded: an actor's mailbox (a BEAM send never blocks and a mailbox
 * has no bound), and the default blocking queues of locks, stm and
 * threads.  The consumer's queue then holds most of what was sent, and
 * memory with it; under the actor model's max_memory the VM stops, as a
 * BEAM node dies of a flooded mailbox.  A csp channel has a buffer
 * (core.async's fixed 1024 here): a full one parks the producers' puts,
 * backpressure without a line of code.
 *
 * The fix is credit-based flow control, as RabbitMQ does between its
 * Erlang processes (deps/rabbit_common/src/credit_flow.erl: a sender
 * starts with InitialCredit, 200, spends one per message and blocks at
 * zero; the receiver grants MoreCreditAfter, 100, each time it has taken
 * that many from the sender) and as GenStage's consumers send demand
 * upstream (lib/gen_stage.ex: a producer never emits more events than
 * were asked for).  Here a producer starts with `credits`, spends one
 * per send and, at zero, waits on its own port for a grant; the consumer
 * grants credits/2 (at least 1) each time it has taken that many from
 * one producer.  So at most `credits` messages of one producer are ever
 * queued, and peak_queue_len <= producers * credits, whatever the
 * speeds.  It cannot deadlock: a producer waiting at zero has `credits`
 * messages queued or being consumed, and the consumer grants after the
 * first credits/2 of them.  A grant is a small integer, so the grants
 * themselves cost no memory, and at most two are ever waiting in a
 * producer's port (which has room for `credits`).
 *
 * A stall of `stall_ms` (a producer waiting for credit, the consumer
 * for a message) is taken for a deadlock: the run fails saying who
 * waited and what had been sent and received.
 */
#include "models/model.h"
#include "workloads/workload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cb_param_def_t params[] = {
    {.name = "producers", .kind = CB_PARAM_INT, .unit = "tasks",
     .help = "tasks sending to the one consumer",
     .def = 4, .quick = 4, .min = 1, .max = 1000},
    {.name = "msgs", .kind = CB_PARAM_INT, .unit = "messages",
     .help = "messages each producer sends",
     .def = 100000, .quick = 20000, .min = 1, .max = 100000000},
    {.name = "consume_ns", .kind = CB_PARAM_INT, .unit = "ns",
     .help = "CPU the consumer spends on each message",
     .def = 1000, .quick = 1000, .min = 0, .max = 1000000000},
    {.name = "credits", .kind = CB_PARAM_INT, .unit = "messages",
     .help = "flow control: messages a producer may have unacknowledged "
             "(RabbitMQ's InitialCredit is 200)",
     .def = 200, .quick = 200, .min = 1, .max = 1000000},
    {.name = "stall_ms", .kind = CB_PARAM_INT, .unit = "ms",
     .help = "a wait this long (for credit, for a message) is taken for a "
             "deadlock",
     .def = 10000, .quick = 10000, .min = 10, .max = 600000},
    {0},
};

typedef struct flow flow_t;

typedef struct producer {
    flow_t *f;
    int idx;
    cb_port_t *port; /* its own: the go signal, then the consumer's grants */
    cb_task_t *task;
    int64_t sent;
    int error;
    char why[200]; /* what a stuck producer waited for */
} producer_t;

struct flow {
    int64_t nproducers, msgs, consume_ns, credits, stall_ns;
    producer_t *prod;
    cb_port_t *inbox; /* the consumer's port */
    cb_port_t *done;  /* ready and done reports to the root */
    cb_port_t *consumer_go;
    cb_task_t *consumer;
    /* The consumer's findings, written before its done message. */
    int64_t *next;        /* per producer: the Seq expected next */
    int64_t *since_grant; /* per producer: taken since the last grant */
    int64_t received, peak_len, rss0, peak_rss;
    char bad[300]; /* the first message out of order, or the stall */
};

static void report(flow_t *f, const char *what, int idx)
{
    cb_send(f->done, cb_tuple2(cb_atom(what), cb_int(idx)));
}

static void await_go(flow_t *f, cb_port_t *port, int idx)
{
    report(f, "ready", idx);
    cb_term_t m;
    cb_recv(port, &m, CB_FOREVER);
    cb_term_release(m);
}

/* ---- the producers ---- */

static void producer_main(void *arg)
{
    producer_t *p = arg;
    flow_t *f = p->f;
    await_go(f, p->port, p->idx);
    /* Credit-based flow control: spend one credit per message, and at
     * zero wait for the consumer to grant more. */
    int64_t credits = f->credits;
    for (int64_t seq = 0; seq < f->msgs; seq++) {
        while (credits == 0) {
            cb_term_t grant;
            int rc = cb_recv(p->port, &grant, f->stall_ns);
            if (rc < 0) {
                snprintf(p->why, sizeof p->why,
                         "producer %d waited %lld ms for credit after "
                         "sending %lld",
                         p->idx, (long long)(f->stall_ns / 1000000),
                         (long long)p->sent);
                p->error = rc;
                goto out;
            }
            credits += cb_int_value(grant);
            cb_term_release(grant);
        }
        cb_term_t m = cb_tuple2(cb_int(p->idx), cb_int(seq));
        int rc = cb_send(f->inbox, m);
        if (rc < 0) {
            p->error = rc;
            snprintf(p->why, sizeof p->why, "producer %d: send: %s",
                     p->idx, cb_strerror(rc));
            break;
        }
        p->sent++;
        credits--;
        cb_reduce(1);
    }
out:
    report(f, "done", p->idx);
}

/* ---- the consumer ---- */

/* After taking a message of producer p: give credit back. */
static void grant_credits(flow_t *f, int64_t p)
{
    int64_t after = f->credits / 2 > 0 ? f->credits / 2 : 1;
    if (++f->since_grant[p] == after) {
        cb_send(f->prod[p].port, cb_int(after));
        f->since_grant[p] = 0;
    }
}

/* Check m is {Producer, Seq} with the Seq expected next; the producer's
 * index, or -1 after noting the first problem in f->bad. */
static int64_t check_order(flow_t *f, cb_term_t m)
{
    if (!cb_is_tuple(m) || cb_tuple_arity(m) != 2 ||
        !cb_is_int(cb_tuple_elem(m, 0)) || !cb_is_int(cb_tuple_elem(m, 1))) {
        if (!*f->bad)
            snprintf(f->bad, sizeof f->bad,
                     "a message that is not {Producer, Seq} arrived");
        return -1;
    }
    int64_t p = cb_int_value(cb_tuple_elem(m, 0));
    int64_t seq = cb_int_value(cb_tuple_elem(m, 1));
    if (p < 0 || p >= f->nproducers) {
        if (!*f->bad)
            snprintf(f->bad, sizeof f->bad,
                     "a message from producer %lld, who does not exist",
                     (long long)p);
        return -1;
    }
    if (seq != f->next[p] && !*f->bad)
        snprintf(f->bad, sizeof f->bad,
                 "message %lld of producer %lld arrived when %lld was "
                 "next: %s",
                 (long long)seq, (long long)p, (long long)f->next[p],
                 seq < f->next[p] ? "a duplicate, or out of order"
                                  : "one was lost, or overtaken");
    if (seq >= f->next[p])
        f->next[p] = seq + 1;
    return p;
}

static void consumer_main(void *arg)
{
    flow_t *f = arg;
    await_go(f, f->consumer_go, -1);
    int64_t total = f->nproducers * f->msgs;
    while (f->received < total) {
        cb_term_t m;
        int rc = cb_recv(f->inbox, &m, f->stall_ns);
        if (rc < 0) {
            if (!*f->bad)
                snprintf(f->bad, sizeof f->bad,
                         "the consumer waited %lld ms for a message with "
                         "%lld of %lld received",
                         (long long)(f->stall_ns / 1000000),
                         (long long)f->received, (long long)total);
            break;
        }
        int64_t p = check_order(f, m);
        cb_term_release(m);
        f->received++;
        int64_t len = (int64_t)cb_port_length(f->inbox);
        if (len > f->peak_len)
            f->peak_len = len;
        if (f->consume_ns)
            cb_wl_spin_ns(f->consume_ns);
        if (p >= 0)
            grant_credits(f, p);
        if ((f->received & 1023) == 0) {
            int64_t rss = cb_wl_rss_bytes();
            if (rss > f->peak_rss)
                f->peak_rss = rss;
        }
        cb_reduce(1);
    }
    report(f, "done", -1);
}

/* ---- the root ---- */

static int estimate(const cb_param_set_t *ps, cb_wl_estimate_t *est,
                    char *err, size_t errlen)
{
    int64_t np = cb_params_int(ps, "producers");
    est->tasks = np + 2;
    /* Without flow control every message may be queued at once: a
     * 2-tuple is a few dozen bytes in any model. */
    est->bytes = np * cb_params_int(ps, "msgs") * 64 +
                 np * (int64_t)(sizeof(producer_t) + 16);
    est->fds = 0;
    return 0;
}

static void gather(flow_t *f, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        cb_term_t m;
        cb_recv(f->done, &m, CB_FOREVER);
        cb_term_release(m);
    }
}

static void run(cb_wl_ctx_t *ctx)
{
    flow_t f = {
        .nproducers = cb_wl_int(ctx, "producers"),
        .msgs = cb_wl_int(ctx, "msgs"),
        .consume_ns = cb_wl_int(ctx, "consume_ns"),
        .credits = cb_wl_int(ctx, "credits"),
        .stall_ns = cb_wl_int(ctx, "stall_ms") * 1000000,
    };
    int64_t np = f.nproducers, opened = 0, spawned = 0;
    f.prod = calloc((size_t)np, sizeof *f.prod);
    f.next = calloc((size_t)np, sizeof *f.next);
    f.since_grant = calloc((size_t)np, sizeof *f.since_grant);
    int rc = f.prod && f.next && f.since_grant
                 ? cb_wl_gather_port_open(2 * (np + 1), &f.done)
                 : -ENOMEM;
    if (rc == 0)
        rc = cb_port_open(NULL, &f.inbox);
    if (rc == 0)
        rc = cb_port_open(NULL, &f.consumer_go);
    /* Room for every grant a producer can have waiting. */
    for (; rc == 0 && opened < np; opened++) {
        f.prod[opened] = (producer_t){.f = &f, .idx = (int)opened};
        rc = cb_wl_gather_port_open(f.credits, &f.prod[opened].port);
    }
    if (rc < 0) {
        cb_wl_error(ctx, rc, "opening the ports");
        goto out;
    }
    if ((rc = cb_spawn(consumer_main, &f, NULL, &f.consumer)) < 0) {
        cb_wl_error(ctx, rc, "spawning the consumer");
        goto out;
    }
    for (; spawned < np; spawned++)
        if ((rc = cb_spawn(producer_main, &f.prod[spawned], NULL,
                           &f.prod[spawned].task)) < 0) {
            cb_wl_error(ctx, rc, "spawning producer %lld",
                        (long long)spawned);
            break;
        }
    gather(&f, spawned + 1); /* ready */
    if (spawned < np) {
        /* Let whoever started finish at once: no messages to send. */
        f.msgs = 0;
        for (int64_t i = 0; i < spawned; i++)
            cb_send(f.prod[i].port, cb_atom("go"));
        cb_send(f.consumer_go, cb_atom("go"));
        gather(&f, spawned + 1);
        goto join;
    }
    f.rss0 = f.peak_rss = cb_wl_rss_bytes();
    cb_wl_window_start(ctx);
    cb_send(f.consumer_go, cb_atom("go"));
    for (int64_t i = 0; i < np; i++)
        cb_send(f.prod[i].port, cb_atom("go"));
    gather(&f, np + 1); /* done: the producers and the consumer */
    cb_wl_window_stop(ctx);

    for (int64_t i = 0; i < np; i++)
        if (f.prod[i].error) {
            cb_wl_fail(ctx, "deadlock or error: %s", f.prod[i].why);
            break;
        }
    if (*f.bad)
        cb_wl_fail(ctx, "%s", f.bad);
    for (int64_t i = 0; i < np && !*f.bad; i++)
        if (f.next[i] != f.msgs) {
            cb_wl_fail(ctx, "producer %lld: %lld of %lld messages arrived",
                       (long long)i, (long long)f.next[i],
                       (long long)f.msgs);
            break;
        }
    cb_wl_ops(ctx, f.received);
    cb_wl_metric_int(ctx, "received", f.received);
    cb_wl_metric_int(ctx, "peak_queue_len", f.peak_len);
    cb_wl_metric_int(ctx, "rss_growth_bytes", f.peak_rss - f.rss0);
join:
    if (f.consumer)
        cb_join(f.consumer);
    for (int64_t i = 0; i < spawned; i++)
        cb_join(f.prod[i].task);
out:
    for (int64_t i = 0; i < opened; i++)
        if (f.prod[i].port)
            cb_port_free(f.prod[i].port);
    if (f.consumer_go)
        cb_port_free(f.consumer_go);
    if (f.inbox)
        cb_port_free(f.inbox);
    if (f.done)
        cb_port_free(f.done);
    free(f.since_grant);
    free(f.next);
    free(f.prod);
}

const cb_workload_t cb_workload_lab_mailbox = {
    .name = "lab-mailbox",
    .summary = "lab 3: producers flood one slow consumer; credits bound "
               "the queue",
    .description =
        "`producers` tasks each send `msgs` messages {Producer, Seq} to one "
        "consumer that spends consume_ns on each and checks that every "
        "message arrives once, in order per producer. Metrics: "
        "throughput_ops_s (messages consumed per second), received, "
        "peak_queue_len (the consumer's queue, sampled after every "
        "receive), rss_growth_bytes (resident memory above the start, "
        "sampled every 1024 messages).",
    .params = params,
    .estimate = estimate,
    .run = run,
};
