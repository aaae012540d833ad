/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * mailbox-flood: P producers send as fast as they can to one slow consumer.
 *
 * The consumer spends `consume_ns` of CPU per message while the window is
 * open, so it falls behind.  What happens next is the model's policy: an
 * unbounded mailbox (the BEAM) grows, and memory with it, until something
 * gives; a fixed buffer (a core.async channel, a bounded blocking queue)
 * blocks the producers, i.e. backpressure; sliding and dropping buffers
 * throw messages away, and every drop is counted (each send reports it).
 * A sampler task records the queue length and the resident memory every
 * `sample_ms`, so the figures show the slope.
 *
 * When the window closes the producers stop, the coordinator closes the
 * consumer's port, and the consumer drains what is queued (without the
 * per-message work) until the port reports closed.
 *
 * Invariant: every message sent is either received or counted as dropped:
 * received == sent - dropped.
 */
#include "models/model.h"
#include "workloads/workload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cb_param_def_t params[] = {
    {.name = "producers", .kind = CB_PARAM_INT, .unit = "tasks",
     .help = "tasks sending as fast as they can",
     .def = 4, .quick = 2, .min = 1, .max = 100000},
    {.name = "duration_ms", .kind = CB_PARAM_INT, .unit = "ms",
     .help = "how long the producers send",
     .def = 1000, .quick = 200, .min = 10, .max = 3600000},
    {.name = "consume_ns", .kind = CB_PARAM_INT, .unit = "ns",
     .help = "CPU the consumer spends per message during the window",
     .def = 1000, .quick = 1000, .min = 0, .max = 1000000000},
    {.name = "payload", .kind = CB_PARAM_INT, .unit = "bytes",
     .help = "0: a small integer message; N: an N-byte binary",
     .def = 0, .quick = 0, .min = 0, .max = 16777216},
    {.name = "policy", .kind = CB_PARAM_ENUM,
     .help = "the consumer's port: the model's default, or a buffer policy",
     .choices = CB_WL_PORT_POLICIES,
     .enum_def = "default"},
    {.name = "capacity", .kind = CB_PARAM_INT, .unit = "messages",
     .help = "buffer size for fixed, sliding and dropping",
     .def = 1024, .quick = 1024, .min = 1, .max = 1000000000},
    {.name = "sample_ms", .kind = CB_PARAM_INT, .unit = "ms",
     .help = "interval of the queue length and memory samples",
     .def = 10, .quick = 5, .min = 1, .max = 60000},
    {0},
};

typedef struct shared {
    cb_port_t *coord;
    cb_port_t *inbox; /* the consumer's port */
    int64_t end;      /* window end, set before the go messages */
    int64_t consume_ns;
    size_t payload;
} shared_t;

typedef struct task_slot {
    shared_t *sh;
    int idx;
    cb_port_t *port;
    cb_task_t *task;
    /* Results, written before the done message. */
    int64_t sent, dropped, received;
    int error;
} task_slot_t;

static void await_go(task_slot_t *s)
{
    cb_send(s->sh->coord, cb_tuple2(cb_atom("ready"), cb_int(s->idx)));
    cb_term_t m;
    cb_recv(s->port, &m, CB_FOREVER);
}

static void producer_main(void *arg)
{
    task_slot_t *s = arg;
    shared_t *sh = s->sh;
    await_go(s);
    for (;;) {
        /* The clock is read every 256 sends, not every send. */
        if ((s->sent & 255) == 0 && cb_now_ns() >= sh->end)
            break;
        cb_term_t m = sh->payload ? cb_binary(NULL, sh->payload)
                                  : cb_int(s->sent);
        if (m == CB_NIL) {
            s->error = -ENOMEM;
            break;
        }
        int rc = cb_send(sh->inbox, m);
        if (rc < 0) {
            s->error = rc;
            break;
        }
        s->sent++;
        s->dropped += rc == CB_SEND_DROPPED;
        cb_reduce(1);
    }
    cb_send(sh->coord, cb_tuple2(cb_atom("done"), cb_int(s->idx)));
}

static void consumer_main(void *arg)
{
    task_slot_t *s = arg;
    shared_t *sh = s->sh;
    await_go(s);
    cb_term_t m;
    while (cb_recv(sh->inbox, &m, CB_FOREVER) == 0) {
        cb_term_release(m);
        s->received++;
        if (sh->consume_ns && cb_now_ns() < sh->end)
            cb_wl_spin_ns(sh->consume_ns);
    }
    cb_send(sh->coord, cb_tuple2(cb_atom("done"), cb_int(s->idx)));
}

typedef struct sampler {
    task_slot_t slot;
    cb_wl_ctx_t *ctx;
    int64_t interval_ns, t0;
    int64_t peak_len;
} sampler_t;

static void sampler_main(void *arg)
{
    sampler_t *sm = arg;
    await_go(&sm->slot);
    for (;;) {
        cb_term_t m;
        /* The stop message doubles as the sampling timer. */
        int rc = cb_recv(sm->slot.port, &m, sm->interval_ns);
        if (rc == 0) {
            cb_term_release(m);
            break;
        }
        int64_t t = cb_now_ns() - sm->t0;
        int64_t len = (int64_t)cb_port_length(sm->slot.sh->inbox);
        sm->peak_len = len > sm->peak_len ? len : sm->peak_len;
        cb_wl_series(sm->ctx, "queue_len", t, (double)len);
        cb_wl_series(sm->ctx, "rss_bytes", t, (double)cb_wl_rss_bytes());
    }
    cb_send(sm->slot.sh->coord, cb_tuple2(cb_atom("done"), cb_int(-1)));
}

static int estimate(const cb_param_set_t *p, cb_wl_estimate_t *est, char *err,
                    size_t errlen)
{
    int64_t n = cb_params_int(p, "producers");
    est->tasks = n + 3;
    est->bytes = (n + 2) * (int64_t)sizeof(task_slot_t);
    est->fds = 0;
    (void)err, (void)errlen;
    return 0;
}

static void gather(cb_port_t *coord, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        cb_term_t m;
        cb_recv(coord, &m, CB_FOREVER);
        cb_term_release(m);
    }
}

static void run(cb_wl_ctx_t *ctx)
{
    int64_t np = cb_wl_int(ctx, "producers");
    shared_t sh = {.consume_ns = cb_wl_int(ctx, "consume_ns"),
                   .payload = (size_t)cb_wl_int(ctx, "payload")};
    cb_port_opts_t inbox_opts = {
        .policy = cb_wl_port_policy(cb_wl_str(ctx, "policy")),
        .capacity = (size_t)cb_wl_int(ctx, "capacity")};
    task_slot_t *prod = calloc((size_t)np, sizeof *prod);
    task_slot_t **all = calloc((size_t)np + 2, sizeof *all);
    task_slot_t cons = {.sh = &sh, .idx = (int)np};
    sampler_t sm = {.slot = {.sh = &sh, .idx = (int)np + 1}, .ctx = ctx,
                    .interval_ns = cb_wl_int(ctx, "sample_ms") * 1000000};
    int64_t spawned = 0;
    int rc = prod && all ? cb_wl_gather_port_open(2 * (np + 2), &sh.coord)
                             : -ENOMEM;
    if (rc < 0) {
        cb_wl_fail(ctx, "setting up: %s", cb_strerror(rc));
        goto out;
    }
    if ((rc = cb_port_open(&inbox_opts, &sh.inbox)) < 0) {
        cb_wl_unsupported(ctx, "opening the consumer's port", rc);
        goto out;
    }
    all[0] = &cons;
    all[1] = &sm.slot;
    for (int64_t i = 0; rc == 0 && i < np; i++) {
        prod[i] = (task_slot_t){.sh = &sh, .idx = (int)i};
        all[i + 2] = &prod[i];
    }
    for (int64_t i = 0; rc == 0 && i < np + 2; i++)
        rc = cb_port_open(NULL, &all[i]->port);
    if (rc < 0) {
        cb_wl_fail(ctx, "setting up: %s", cb_strerror(rc));
        goto ports;
    }
    for (; spawned < np + 2; spawned++) {
        task_slot_t *s = all[spawned];
        cb_task_fn fn = s == &cons       ? consumer_main
                        : s == &sm.slot ? sampler_main
                                        : producer_main;
        void *arg = s == &sm.slot ? (void *)&sm : (void *)s;
        if ((rc = cb_spawn(fn, arg, NULL, &s->task)) < 0) {
            cb_wl_error(ctx, rc, "spawning");
            break;
        }
    }
    gather(sh.coord, spawned);
    if (spawned < np + 2) {
        /* Release whoever started, with an end already in the past. */
        sh.end = cb_now_ns();
        for (int64_t i = 0; i < spawned; i++)
            cb_send(all[i]->port, cb_atom("go"));
        cb_port_close(sh.inbox);
        if (spawned > 1)
            cb_send(sm.slot.port, cb_atom("stop"));
        gather(sh.coord, spawned);
        goto join;
    }

    int64_t rss0 = cb_wl_rss_bytes();
    cb_wl_window_start(ctx);
    sm.t0 = cb_now_ns();
    sh.end = sm.t0 + cb_wl_int(ctx, "duration_ms") * 1000000;
    for (int64_t i = 0; i < np + 2; i++)
        cb_send(all[i]->port, cb_atom("go"));
    gather(sh.coord, np); /* the producers' done messages */
    cb_wl_window_stop(ctx);
    int64_t rss1 = cb_wl_rss_bytes();
    size_t backlog = cb_port_length(sh.inbox);
    cb_port_close(sh.inbox);
    gather(sh.coord, 1); /* the consumer, once drained */
    cb_send(sm.slot.port, cb_atom("stop"));
    gather(sh.coord, 1);

    int64_t sent = 0, dropped = 0;
    for (int64_t i = 0; i < np; i++) {
        sent += prod[i].sent;
        dropped += prod[i].dropped;
        if (prod[i].error)
            cb_wl_fail(ctx, "producer %lld: send failed: %s", (long long)i,
                       cb_strerror(prod[i].error));
    }
    if (cons.received != sent - dropped)
        cb_wl_fail(ctx, "received %lld of %lld sent with %lld dropped",
                   (long long)cons.received, (long long)sent,
                   (long long)dropped);
    cb_wl_ops(ctx, sent);
    cb_wl_metric_int(ctx, "received", cons.received);
    cb_wl_metric_int(ctx, "dropped", dropped);
    cb_wl_metric_int(ctx, "backlog_at_stop", (int64_t)backlog);
    cb_wl_metric_int(ctx, "peak_queue_len", sm.peak_len);
    if (backlog > 0 && rss1 > rss0)
        cb_wl_metric_f64(ctx, "bytes_per_queued_msg",
                         (double)(rss1 - rss0) / (double)backlog);
join:
    for (int64_t i = 0; i < spawned; i++)
        cb_join(all[i]->task);
ports:
    for (int64_t i = 0; i < np + 2; i++)
        if (all[i]->port)
            cb_port_free(all[i]->port);
out:
    if (sh.inbox)
        cb_port_free(sh.inbox);
    if (sh.coord)
        cb_port_free(sh.coord);
    free(all);
    free(prod);
}

const cb_workload_t cb_workload_mailbox_flood = {
    .name = "mailbox-flood",
    .no_instruction_count =
        "its point is producers racing a slow consumer (backpressure and "
        "queue growth), and callgrind runs one thread at a time",
    .summary = "producers flood one slow consumer: unbounded growth, "
               "backpressure or drops",
    .description =
        "P producers send as fast as they can to one consumer that spends "
        "consume_ns per message; a sampler records the queue length and "
        "resident memory every sample_ms.\n"
        "Metrics: ops and throughput_ops_s (messages sent), received, "
        "dropped (counted per send), backlog_at_stop, peak_queue_len, "
        "bytes_per_queued_msg (resident growth over the backlog), series "
        "queue_len and rss_bytes; the model's counters give the producers' "
        "time blocked (blocked_ns). Invariant: received == sent - dropped.",
    .params = params,
    .estimate = estimate,
    .run = run,
};
