/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * io-fanout: a coordinator fans requests out to N workers; each request is
 * a real IO round trip through the kernel, and the coordinator gathers the
 * replies.
 *
 * Each worker owns a connected pair of non-blocking stream sockets
 * (loopback TCP by default, or a UNIX socketpair).  Per request it writes
 * `payload` bytes into one end, waits for the other end to become readable
 * (cb_io_wait: a green model parks the task on its poller, a thread model
 * blocks in the kernel), reads them, optionally waits `latency_us` (a timer:
 * the simulated latency of a backend), writes the reply back and waits for
 * it on the first end.  The payload carries the request id, and the echo is
 * checked byte for byte.
 *
 * Closed loop (rate=0): every worker has one request outstanding at a time;
 * the coordinator sends the next as soon as the previous reply arrives.
 * Open loop (rate=R): requests are issued on a fixed schedule of R per
 * second round-robin over the workers, whether or not earlier ones were
 * answered, and latency is measured from each request's intended start, so
 * a model that stalls cannot hide its stall (coordinated omission).
 *
 * The coordinator is a spawned task by default, the same kind of task as
 * the workers on every model (coordinator=root: the root task, on csp a
 * thread by default, gathering with blocking takes; workloads/driver.h).
 *
 * Invariant: every request is answered exactly once, with its own bytes.
 */
#include "models/model.h"
#include "workloads/driver.h"
#include "workloads/workload.h"

#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const cb_param_def_t params[] = {
    {.name = "tasks", .kind = CB_PARAM_INT, .unit = "workers",
     .help = "workers, each with its own socket pair",
     .def = 1000, .quick = 50, .min = 1, .max = 1000000},
    {.name = "ops", .kind = CB_PARAM_INT, .unit = "requests",
     .help = "round trips per worker",
     .def = 20, .quick = 5, .min = 1, .max = 100000000},
    {.name = "payload", .kind = CB_PARAM_INT, .unit = "bytes",
     .help = "bytes per request and per reply (>= 8: the request id)",
     .def = 64, .quick = 64, .min = 8, .max = 65536},
    {.name = "latency_us", .kind = CB_PARAM_INT, .unit = "us",
     .help = "simulated backend latency per request (a timer wait)",
     .def = 0, .quick = 0, .min = 0, .max = 10000000},
    {.name = "rate", .kind = CB_PARAM_INT, .unit = "requests/s",
     .help = "0: closed loop; R > 0: open loop, R requests per second",
     .def = 0, .quick = 0, .min = 0, .max = 100000000},
    {.name = "transport", .kind = CB_PARAM_ENUM,
     .help = "loopback TCP (127.0.0.1) or UNIX socketpair",
     .choices = "tcp|unix", .enum_def = "tcp"},
    {.name = "coordinator", .kind = CB_PARAM_ENUM,
     .help = "task: a spawned task coordinates (like for like: a go block "
             "on csp); root: the root task does (on csp a thread by "
             "default)",
     .choices = CB_WL_DRIVER_CHOICES, .enum_def = "task"},
    {0},
};

typedef struct worker {
    int idx;
    int fds[2]; /* [0] client end, [1] server end */
    size_t payload;
    int64_t latency_ns;
    cb_port_t *coord;
    cb_port_t *port; /* written by the worker, read after its ready msg */
    cb_task_t *task;
    int error; /* written by the worker before its last message */
} worker_t;

static int round_trip(worker_t *w, int64_t id, char *out, char *in)
{
    memset(out, (int)(id & 0x7f), w->payload);
    memcpy(out, &id, sizeof id);
    int rc;
    if ((rc = cb_wl_write_all(w->fds[0], out, w->payload)) < 0 ||
        (rc = cb_wl_read_all(w->fds[1], in, w->payload)) < 0)
        return rc;
    if (w->latency_ns > 0)
        cb_sleep(w->latency_ns);
    if ((rc = cb_wl_write_all(w->fds[1], in, w->payload)) < 0 ||
        (rc = cb_wl_read_all(w->fds[0], in, w->payload)) < 0)
        return rc;
    return memcmp(out, in, w->payload) == 0 ? 0 : -EPROTO;
}

static void worker_main(void *arg)
{
    worker_t *w = arg;
    char *out = malloc(w->payload), *in = malloc(w->payload);
    int rc = out && in ? cb_port_open(NULL, &w->port) : -ENOMEM;
    if (rc < 0) {
        w->error = rc;
        cb_send(w->coord, cb_tuple3(cb_atom("ready"), cb_int(w->idx),
                                    cb_int(rc)));
        free(out);
        free(in);
        return;
    }
    cb_send(w->coord, cb_tuple3(cb_atom("ready"), cb_int(w->idx),
                                cb_port_term(w->port)));
    cb_term_t stop = cb_atom("stop");
    for (;;) {
        cb_term_t m;
        if (cb_recv(w->port, &m, CB_FOREVER) < 0 || m == stop)
            break;
        int64_t id = cb_int_value(cb_tuple_elem(m, 0));
        if ((rc = round_trip(w, id, out, in)) < 0 && !w->error)
            w->error = rc;
        cb_send(w->coord, m); /* the reply is the request, answered */
    }
    cb_port_close(w->port);
    cb_port_free(w->port);
    free(out);
    free(in);
}

static int estimate(const cb_param_set_t *p, cb_wl_estimate_t *est, char *err,
                    size_t errlen)
{
    int64_t n = cb_params_int(p, "tasks"), ops = cb_params_int(p, "ops");
    est->tasks = n + 2; /* and the root, and the coordinator */
    est->fds = 2 * n + 1;
    /* Worker records, two payload buffers each, socket buffers (~8 KiB of
     * kernel memory per loopback socket) and the answered-request map. */
    est->bytes = n * ((int64_t)sizeof(worker_t) +
                      2 * cb_params_int(p, "payload") + 2 * 8192) +
                 n * ops / 8;
    (void)err, (void)errlen;
    return 0;
}

typedef struct coord {
    cb_wl_ctx_t *ctx;
    worker_t *w;
    int64_t n, ops;
    cb_port_t *port;
    rt_hist_t *lat;
    uint8_t *answered; /* bit per request id */
    int64_t replies, dupes;
} coord_t;

static int send_request(coord_t *c, int64_t id, int64_t t_intended)
{
    worker_t *w = &c->w[id % c->n];
    return cb_send(w->port, cb_tuple2(cb_int(id), cb_int(t_intended)));
}

static void take_reply(coord_t *c, cb_term_t m, int64_t now)
{
    int64_t id = cb_int_value(cb_tuple_elem(m, 0));
    int64_t t0 = cb_int_value(cb_tuple_elem(m, 1));
    cb_term_release(m);
    rt_hist_record(c->lat, (uint64_t)(now - t0));
    if (id < 0 || id >= c->n * c->ops ||
        (c->answered[id / 8] & (1u << (id % 8))))
        c->dupes++;
    else
        c->answered[id / 8] |= (uint8_t)(1u << (id % 8));
    c->replies++;
}

static int closed_loop(coord_t *c)
{
    /* Request id k goes to worker k % n: worker i's j-th request has id
     * j * n + i, so "next request of the same worker" is id + n. */
    for (int64_t i = 0; i < c->n; i++)
        if (send_request(c, i, cb_now_ns()) < 0)
            return -EPIPE;
    for (int64_t total = c->n * c->ops; c->replies < total;) {
        cb_term_t m;
        int rc = cb_recv(c->port, &m, CB_FOREVER);
        if (rc < 0)
            return rc;
        int64_t id = cb_int_value(cb_tuple_elem(m, 0));
        take_reply(c, m, cb_now_ns());
        if (id + c->n < total && send_request(c, id + c->n, cb_now_ns()) < 0)
            return -EPIPE;
    }
    return 0;
}

static int open_loop(coord_t *c, int64_t rate)
{
    int64_t total = c->n * c->ops, next = 0;
    int64_t t0 = cb_now_ns();
    double period = 1e9 / (double)rate;
    while (c->replies < total) {
        int64_t now = cb_now_ns();
        int64_t due = t0 + (int64_t)((double)next * period);
        if (next < total && now >= due) {
            if (send_request(c, next, due) < 0)
                return -EPIPE;
            next++;
            continue;
        }
        cb_term_t m;
        int rc = cb_recv(c->port, &m, next < total ? due - now : CB_FOREVER);
        if (rc == -ETIMEDOUT)
            continue;
        if (rc < 0)
            return rc;
        take_reply(c, m, cb_now_ns());
    }
    return 0;
}

static void coordinate(void *arg)
{
    cb_wl_ctx_t *ctx = arg;
    coord_t c = {.ctx = ctx};
    c.n = cb_wl_int(ctx, "tasks");
    c.ops = cb_wl_int(ctx, "ops");
    const char *transport = cb_wl_str(ctx, "transport");
    c.w = calloc((size_t)c.n, sizeof *c.w);
    c.answered = calloc((size_t)(c.n * c.ops / 8 + 1), 1);
    c.lat = rt_hist_new();
    int64_t made = 0, spawned = 0;
    int rc = c.w && c.answered && c.lat
                 ? cb_wl_gather_port_open(2 * c.n, &c.port)
                 : -ENOMEM;
    if (rc < 0) {
        cb_wl_fail(ctx, "setting up: %s", cb_strerror(rc));
        goto out;
    }
    for (; made < c.n; made++) {
        worker_t *w = &c.w[made];
        w->idx = (int)made;
        w->payload = (size_t)cb_wl_int(ctx, "payload");
        w->latency_ns = cb_wl_int(ctx, "latency_us") * 1000;
        w->coord = c.port;
        if ((rc = cb_wl_fd_pair(transport, w->fds)) < 0) {
            cb_wl_error(ctx, rc, "opening socket pair %lld", (long long)made);
            goto out;
        }
    }

    int64_t rss0 = cb_wl_rss_bytes(), t_spawn = cb_now_ns();
    for (; spawned < c.n; spawned++) {
        if ((rc = cb_spawn(worker_main, &c.w[spawned], NULL,
                           &c.w[spawned].task)) < 0) {
            cb_wl_error(ctx, rc, "spawning worker %lld", (long long)spawned);
            break;
        }
    }
    t_spawn = cb_now_ns() - t_spawn;
    /* Gather every spawned worker's ready message even after a failure, so
     * that each w->port is published before the teardown reads it. */
    for (int64_t i = 0; i < spawned; i++) {
        cb_term_t m;
        cb_recv(c.port, &m, CB_FOREVER);
        cb_term_t who = cb_tuple_elem(m, 2);
        if (!cb_is_port(who))
            cb_wl_fail(ctx, "worker %lld could not open its port: %s",
                       (long long)cb_int_value(cb_tuple_elem(m, 1)),
                       cb_strerror((int)cb_int_value(who)));
        cb_term_release(m);
    }
    if (cb_wl_failed(ctx))
        goto stop;
    /* Every worker is parked in receive now: this is their resident cost. */
    int64_t rss1 = cb_wl_rss_bytes();

    cb_wl_window_start(ctx);
    int64_t rate = cb_wl_int(ctx, "rate");
    rc = rate > 0 ? open_loop(&c, rate) : closed_loop(&c);
    cb_wl_window_stop(ctx);
    if (rc < 0)
        cb_wl_fail(ctx, "gathering replies: %s", cb_strerror(rc));

    int64_t total = c.n * c.ops;
    if (c.replies != total || c.dupes)
        cb_wl_fail(ctx, "%lld replies for %lld requests (%lld duplicates)",
                   (long long)c.replies, (long long)total,
                   (long long)c.dupes);
    for (int64_t i = 0; i < c.n; i++)
        if (c.w[i].error) {
            cb_wl_fail(ctx, "worker %lld: IO round trip failed: %s",
                       (long long)i, cb_strerror(c.w[i].error));
            break;
        }
    cb_wl_ops(ctx, c.replies);
    cb_wl_metric_hist(ctx, "latency_ns", c.lat);
    cb_wl_metric_int(ctx, "tasks", c.n);
    cb_wl_metric_f64(ctx, "spawn_ns_per_task", (double)t_spawn / (double)c.n);
    if (rss0 > 0 && rss1 > 0)
        cb_wl_metric_f64(ctx, "rss_per_task_bytes",
                         (double)(rss1 - rss0) / (double)c.n);

stop:
    for (int64_t i = 0; i < spawned; i++) {
        /* A worker that never opened its port has already returned. */
        if (c.w[i].port)
            cb_send(c.w[i].port, cb_atom("stop"));
        cb_join(c.w[i].task);
    }
out:
    for (int64_t i = 0; i < made; i++) {
        close(c.w[i].fds[0]);
        close(c.w[i].fds[1]);
    }
    if (c.port)
        cb_port_free(c.port);
    rt_hist_free(c.lat);
    free(c.answered);
    free(c.w);
}

static void run(cb_wl_ctx_t *ctx)
{
    cb_wl_drive(ctx, cb_wl_str(ctx, "coordinator"), coordinate);
}

const cb_workload_t cb_workload_io_fanout = {
    .name = "io-fanout",
    .summary = "a coordinator fans requests out to N workers that each do a "
               "real socket round trip",
    .description =
        "Each worker owns a connected non-blocking socket pair (loopback "
        "TCP or UNIX) and turns each request into an IO round trip through "
        "the kernel, waiting with cb_io_wait. Closed loop by default; "
        "rate=R issues requests open-loop and measures latency from each "
        "request's intended start (no coordinated omission).\n"
        "Metrics: ops and throughput_ops_s (requests answered), latency_ns "
        "(request to reply), spawn_ns_per_task, rss_per_task_bytes "
        "(resident growth per parked worker). Invariant: every request "
        "answered exactly once with its own bytes.",
    .params = params,
    .estimate = estimate,
    .run = run,
};
