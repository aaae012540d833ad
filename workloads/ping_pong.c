/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * ping-pong: two tasks bounce one message back and forth.
 *
 * A ping task sends to the pong task's port and waits for the reply on
 * its own; pong answers each message with one of its own.  A round trip
 * is two sends, two receives and, when both share one worker (--cpus 0),
 * two context switches: the floor under every request/reply in the
 * model, and the talk's first micro-benchmark.
 *
 * Like for like: by default both ends are spawned tasks, so each model
 * measures two of its own tasks (two processes on actor, two go blocks on
 * csp).  ping=root runs ping on the root task instead, a real idiom with
 * its own cost: on csp the root is a program's main thread by default,
 * whose >!! and <!! block an OS thread against a go block (core.async's
 * REPL and main-thread style); the `ping` field of the parameters says
 * which variant ran.
 *
 * The message (payload.h): with payload_kind=binary (the default),
 * payload=0 is a small integer and payload=N an N-byte binary made afresh
 * each round, so the refc threshold at 64 bytes shows.  With tuple or
 * list, the payload is a term of `payload` elements built once before the
 * clock starts and bounced: ping sends what it last received, as an
 * Erlang ping-pong does, so building it is no part of the figure and the
 * copying is all of the difference: a model that copies on send (actor)
 * pays for every word twice a round trip, one that passes pointers
 * pays nothing.  With policy=rendezvous both ports are unbuffered
 * channels, where a send completes only when the reply's receiver takes
 * it (a model without them says unsupported).
 *
 * Invariant: every round trip returns the value sent (ping checks each:
 * the whole binary's first byte, or a term's shape and first element, and
 * a bounced term is compared in full with a copy kept aside at the end).
 */
#include "models/model.h"
#include "workloads/payload.h"
#include "workloads/workload.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cb_param_def_t params[] = {
    {.name = "rounds", .kind = CB_PARAM_INT, .unit = "round trips",
     .help = "messages ping sends (each answered by pong)",
     .def = 1000000, .quick = 10000, .min = 1, .max = 1000000000},
    {.name = "payload", .kind = CB_PARAM_INT, .unit = "bytes or elements",
     .help = "binary: 0 a small integer, N an N-byte binary; tuple: N "
             "small integers; list: N cons cells",
     .def = 0, .quick = 0, .min = 0, .max = 16777216},
    {.name = "policy", .kind = CB_PARAM_ENUM,
     .help = "both ports: the model's default, or a buffer policy "
             "(rendezvous: an unbuffered channel)",
     .choices = CB_WL_PORT_POLICIES,
     .enum_def = "default"},
    {.name = "capacity", .kind = CB_PARAM_INT, .unit = "messages",
     .help = "buffer size for fixed, sliding and dropping",
     .def = 1, .quick = 1, .min = 1, .max = 1000000000},
    {.name = "payload_kind", .kind = CB_PARAM_ENUM,
     .help = "binary (made each round; shared above 64 bytes), or a tuple "
             "or list term built once and bounced (copied whole by a "
             "copying model)",
     .choices = CB_WL_PAYLOAD_KINDS, .enum_def = "binary"},
    {.name = "ping", .kind = CB_PARAM_ENUM,
     .help = "task: ping is a spawned task like pong (like for like); "
             "root: ping is the root task (on csp by default the main "
             "thread, blocking on >!! <!!)",
     .choices = "task|root", .enum_def = "task"},
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
    cb_wl_payload_kind_t kind =
        cb_wl_payload_kind(cb_params_str(p, "payload_kind"));
    int64_t n = cb_params_int(p, "payload");
    int rc = cb_wl_payload_check(kind, n, err, errlen);
    if (rc < 0)
        return rc;
    est->tasks = 3;
    /* In flight, its copy on a copying send, the reference kept aside,
     * and the one being freed. */
    est->bytes = 4 * cb_wl_payload_bytes(kind, n) + 4096;
    est->fds = 0;
    return 0;
}

typedef struct ping {
    cb_wl_ctx_t *ctx;
    pong_t *pg;
    int64_t rounds;
    size_t payload;
    cb_wl_payload_kind_t kind;
    cb_term_t bounced; /* tuple, list: built by run, owned by ping */
    cb_term_t reference; /* its copy kept aside for the final check */
} ping_t;

static void ping_main(void *arg)
{
    ping_t *pi = arg;
    cb_wl_ctx_t *ctx = pi->ctx;
    pong_t *pg = pi->pg;
    bool term = pi->kind != CB_WL_PAYLOAD_BINARY;
    /* One warm-up round, so pong is running and parked in its receive. */
    cb_term_t m;
    cb_send(pg->in, cb_int(-1));
    cb_recv(pg->out, &m, CB_FOREVER);
    int64_t bad = 0, i = 0;
    cb_wl_window_start(ctx);
    for (; i < pi->rounds; i++) {
        cb_term_t msg = term ? pi->bounced : make_msg(i, pi->payload);
        pi->bounced = CB_NIL; /* the send consumes it */
        if (msg == CB_NIL || cb_send(pg->in, msg) < 0 ||
            cb_recv(pg->out, &m, CB_FOREVER) < 0) {
            cb_wl_fail(ctx, "round %lld: send or receive failed",
                       (long long)i);
            break;
        }
        if (term) {
            bad += !cb_wl_payload_looks_right(pi->kind,
                                              (int64_t)pi->payload, m);
            pi->bounced = m;
        } else {
            bad += !same(m, i, pi->payload);
            cb_term_release(m);
        }
    }
    cb_wl_window_stop(ctx);
    if (term && i == pi->rounds && !cb_term_equal(pi->bounced, pi->reference))
        bad++;
    if (bad)
        cb_wl_fail(ctx, "%lld replies differed from what was sent",
                   (long long)bad);
}

static void run(cb_wl_ctx_t *ctx)
{
    pong_t pg = {0};
    ping_t pi = {
        .ctx = ctx,
        .pg = &pg,
        .rounds = cb_wl_int(ctx, "rounds"),
        .payload = (size_t)cb_wl_int(ctx, "payload"),
        .kind = cb_wl_payload_kind(cb_wl_str(ctx, "payload_kind")),
    };
    bool on_root = strcmp(cb_wl_str(ctx, "ping"), "root") == 0;
    cb_task_t *t = NULL, *pt = NULL;
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
    if (rc == 0 && pi.kind != CB_WL_PAYLOAD_BINARY) {
        pi.bounced = cb_wl_payload_make(pi.kind, (int64_t)pi.payload);
        pi.reference = cb_term_copy(pi.bounced);
        if (pi.bounced == CB_NIL || pi.reference == CB_NIL)
            rc = -ENOMEM;
    }
    if (rc == 0)
        rc = cb_spawn(pong_main, &pg, NULL, &t);
    if (rc == 0 && !on_root)
        rc = cb_spawn(ping_main, &pi, NULL, &pt);
    if (rc < 0) {
        cb_wl_error(ctx, rc, "setting up");
        if (t) {
            cb_port_close(pg.in);
            cb_join(t);
        }
        goto out;
    }
    if (on_root)
        ping_main(&pi);
    else
        cb_join(pt);
    cb_port_close(pg.in);
    cb_join(t);
    if (cb_wl_failed(ctx))
        goto out;
    cb_wl_ops(ctx, pi.rounds);
    int64_t el = cb_wl_elapsed_ns(ctx);
    cb_wl_metric_f64(ctx, "round_trip_ns", (double)el / (double)pi.rounds);
    /* What one copy of the message takes on a heap: a copying send copies
     * this many bytes, twice a round trip (0 for a small integer). */
    cb_term_t sample = pi.kind == CB_WL_PAYLOAD_BINARY
                           ? make_msg(0, pi.payload)
                           : cb_term_copy(pi.reference);
    cb_wl_metric_int(ctx, "message_heap_bytes",
                     (int64_t)cb_term_heap_bytes(sample));
    cb_term_release(sample);
out:
    cb_term_release(pi.bounced);
    cb_term_release(pi.reference);
    if (pg.in)
        cb_port_free(pg.in);
    if (pg.out)
        cb_port_free(pg.out);
}

/* One stopwatch reading (the window), in three units.  The window's CPU
 * time is a diagnostic, as for every workload (workloads/workload.c). */
static const cb_wl_metric_role_t metric_roles[] = {
    {"round_trip_ns", NULL, NULL},
    {"elapsed_ns", "round_trip_ns", NULL},
    {"throughput_ops_s", "round_trip_ns", NULL},
    {NULL, NULL, NULL},
};

const cb_workload_t cb_workload_ping_pong = {
    .name = "ping-pong",
    .summary = "two tasks bounce one message: the cost of a round trip",
    .description =
        "A ping task sends `rounds` messages to a pong task, waiting for "
        "each reply (ping=root: the root task is ping). Run with --cpus 0 "
        "to keep both on one worker. payload_kind=tuple or list bounces a "
        "term of `payload` elements, so a copying send's cost shows.\n"
        "Metrics: ops (round trips), throughput_ops_s, round_trip_ns "
        "(window / rounds), message_heap_bytes (one copy of the message "
        "on a heap). Invariant: every reply equals what was sent.",
    .params = params,
    .estimate = estimate,
    .run = run,
    .metric_roles = metric_roles,
};
