/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * channel-semantics: what CSP's channels promise, counted.
 *
 * core.async's docstrings (https://clojure.github.io/core.async/) and
 * Go's spec (https://go.dev/ref/spec#Channel_types) promise, and the talk
 * repeats: an unbuffered channel is a rendezvous (a put completes only
 * when a take meets it); a fixed buffer takes `capacity` puts and then
 * makes the next one wait; a sliding buffer drops the oldest value when
 * full, a dropping buffer the newest; a closed channel still gives what
 * it holds, and after that every take gives nil at once; with several
 * readers each value is taken by exactly one of them; alts takes from a
 * channel that is ready.  Timings cannot show any of this, so each
 * section below does the one thing that would break a promise and counts
 * how often it did:
 *
 *   rendezvous  a task puts on an unbuffered port; the root waits until
 *               it has started, then wait_ms more, and looks whether the
 *               put completed with no taker (rendezvous_early_puts);
 *   fixed       a task puts capacity + 1 values on a fixed port; once it
 *               has done capacity, the root waits wait_ms and counts the
 *               puts that went past the capacity (fixed_puts_past_capacity);
 *   sliding,    the root puts 3 x capacity values (a put never waits on
 *   dropping    these), closes, drains, and checks that the sliding port
 *               kept the newest capacity values and the dropping port the
 *               oldest (sliding_kept_newest, dropping_kept_oldest: 1/0);
 *   close       capacity values on a fixed port, then close: the takes
 *               that still got a value (closed_drained; closed_lost is
 *               the rest) and the takes past the end that did not say
 *               closed at once (closed_takes_not_nil), and puts on the
 *               closed port that were accepted (closed_puts_accepted);
 *   readers     `readers` tasks take from one port until it closes while
 *               the root puts `messages` values: values taken twice
 *               (read_twice), never (never_read), readers that got any
 *               (readers_served);
 *   alts        8 ports, a value on one chosen at random, a select over
 *               all: alts_taken selects, alts_wrong_channel those that
 *               returned another port or value.
 *
 * The counts are the result; a broken promise is a count, not a failed
 * run, so a rule can name which promise broke.  The run fails only when
 * an operation returns an error it should not (a send that fails on an
 * open port) or a wait exceeds its generous bound (2 s for a task to
 * start, which a hung model would never do).  Models without these
 * ports (actor's mailboxes are unbounded and owned by one process; stm
 * has no rendezvous) report the run unsupported.
 */
#include "models/model.h"
#include "workloads/workload.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

static const cb_param_def_t params[] = {
    {.name = "readers",
     .kind = CB_PARAM_INT,
     .unit = "tasks",
     .help = "tasks taking from one port at once",
     .def = 4,
     .quick = 4,
     .min = 1,
     .max = 1024},
    {.name = "messages",
     .kind = CB_PARAM_INT,
     .unit = "messages",
     .help = "values the readers share",
     .def = 20000,
     .quick = 10000,
     .min = 1,
     .max = 100000000},
    {.name = "capacity",
     .kind = CB_PARAM_INT,
     .unit = "messages",
     .help = "buffer of the fixed, sliding and dropping ports",
     .def = 4,
     .quick = 4,
     .min = 1,
     .max = 1000000},
    {.name = "wait_ms",
     .kind = CB_PARAM_INT,
     .unit = "ms",
     .help = "how long a put is given to complete where it must not",
     .def = 20,
     .quick = 10,
     .min = 1,
     .max = 60000},
    {.name = "alts_rounds",
     .kind = CB_PARAM_INT,
     .unit = "selects",
     .help = "selects over 8 ports with one ready",
     .def = 1000,
     .quick = 100,
     .min = 1,
     .max = 10000000},
    {0},
};

#define ALTS_PORTS 8
/* A task that does not start in this long is a hung model, not noise. */
#define START_LIMIT_NS (2 * INT64_C(1000000000))

static int estimate(const cb_param_set_t *p, cb_wl_estimate_t *est, char *err,
                    size_t errlen)
{
    est->tasks = cb_params_int(p, "readers") + 2;
    est->bytes = cb_params_int(p, "messages") * 4 +
                 cb_params_int(p, "capacity") * 64 * 4;
    est->fds = 0;
    (void)err, (void)errlen;
    return 0;
}

static int open_port(cb_wl_ctx_t *ctx, cb_port_policy_t policy,
                     int64_t capacity, const char *what, cb_port_t **out)
{
    cb_port_opts_t o = {.policy = policy, .capacity = (size_t)capacity};
    int rc = cb_port_open(&o, out);
    if (rc < 0)
        cb_wl_unsupported(ctx, what, rc);
    return rc;
}

/* Sleep until *flag reaches want, in 1 ms steps; false after the limit. */
static bool await_at_least(_Atomic int64_t *flag, int64_t want)
{
    int64_t until = cb_now_ns() + START_LIMIT_NS;
    while (atomic_load_explicit(flag, memory_order_acquire) < want) {
        if (cb_now_ns() > until)
            return false;
        cb_sleep(1000000);
    }
    return true;
}

/* ---- a task that puts n values 0..n-1 on a port, counting them ---- */

typedef struct putter {
    cb_port_t *port;
    int64_t n;
    /* Written by the putter, read by the root: acquire/release so that a
     * count the root reads covers the sends before it. */
    _Atomic int64_t started, done;
    int error;
} putter_t;

static void put_values(void *arg)
{
    putter_t *p = arg;
    atomic_store_explicit(&p->started, 1, memory_order_release);
    for (int64_t i = 0; i < p->n; i++) {
        int rc = cb_send(p->port, cb_int(i));
        if (rc < 0) {
            p->error = rc;
            return;
        }
        atomic_store_explicit(&p->done, i + 1, memory_order_release);
    }
}

/* Drain n values from a port into nothing; 0 or the error. */
static int drain(cb_port_t *port, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        cb_term_t v;
        int rc = cb_recv(port, &v, CB_FOREVER);
        if (rc < 0)
            return rc;
        cb_term_release(v);
    }
    return 0;
}

static bool run_putter(cb_wl_ctx_t *ctx, putter_t *p, cb_task_t **t)
{
    int rc = cb_spawn(put_values, p, NULL, t);
    if (rc < 0) {
        cb_wl_error(ctx, rc, "spawning a putter");
        return false;
    }
    return true;
}

static void rendezvous(cb_wl_ctx_t *ctx, int64_t wait_ns)
{
    cb_port_t *port;
    if (open_port(ctx, CB_PORT_RENDEZVOUS, 0, "an unbuffered (rendezvous) port",
                  &port) < 0)
        return;
    putter_t p = {.port = port, .n = 1};
    cb_task_t *t;
    if (!run_putter(ctx, &p, &t))
        goto out;
    if (!await_at_least(&p.started, 1)) {
        cb_wl_fail(ctx, "rendezvous: the putter did not start in 2 s");
        cb_port_close(port);
        cb_join(t);
        goto out;
    }
    cb_sleep(wait_ns);
    int64_t early = atomic_load_explicit(&p.done, memory_order_acquire);
    int rc = drain(port, 1);
    cb_join(t);
    if (rc < 0 || p.error)
        cb_wl_fail(ctx, "rendezvous: %s", cb_strerror(rc < 0 ? rc : p.error));
    cb_wl_metric_int(ctx, "rendezvous_early_puts", early);
out:
    cb_port_free(port);
}

static void fixed(cb_wl_ctx_t *ctx, int64_t cap, int64_t wait_ns)
{
    cb_port_t *port;
    if (open_port(ctx, CB_PORT_FIXED, cap, "a fixed-buffer port", &port) < 0)
        return;
    putter_t p = {.port = port, .n = cap + 1};
    cb_task_t *t;
    if (!run_putter(ctx, &p, &t))
        goto out;
    if (!await_at_least(&p.done, cap)) {
        cb_wl_fail(ctx, "fixed: %lld puts did not fit in 2 s", (long long)cap);
        cb_port_close(port);
        cb_join(t);
        goto out;
    }
    cb_sleep(wait_ns);
    int64_t past = atomic_load_explicit(&p.done, memory_order_acquire) - cap;
    int rc = drain(port, cap + 1);
    cb_join(t);
    if (rc < 0 || p.error)
        cb_wl_fail(ctx, "fixed: %s", cb_strerror(rc < 0 ? rc : p.error));
    cb_wl_metric_int(ctx, "fixed_puts_past_capacity", past);
out:
    cb_port_free(port);
}

/* Put 3 x cap values on a dropping kind of port, close it, drain it:
 * 1 when it kept exactly [first, first + cap), else 0; -1 on failure. */
static int kept(cb_wl_ctx_t *ctx, cb_port_policy_t policy, int64_t cap,
                int64_t first, const char *what)
{
    cb_port_t *port;
    if (open_port(ctx, policy, cap, what, &port) < 0)
        return -1;
    int result = 1;
    for (int64_t i = 0; i < 3 * cap; i++) {
        int rc = cb_send(port, cb_int(i));
        if (rc < 0) {
            cb_wl_fail(ctx, "%s: put %lld: %s", what, (long long)i,
                       cb_strerror(rc));
            result = -1;
            goto out;
        }
    }
    cb_port_close(port);
    int64_t got = 0;
    for (;;) {
        cb_term_t v;
        int rc = cb_recv(port, &v, 0);
        if (rc < 0)
            break;
        if (!cb_is_int(v) || cb_int_value(v) != first + got)
            result = 0;
        cb_term_release(v);
        got++;
    }
    if (got != cap)
        result = 0;
out:
    cb_port_free(port);
    return result;
}

static void closing(cb_wl_ctx_t *ctx, int64_t cap, int64_t wait_ns)
{
    cb_port_t *port;
    if (open_port(ctx, CB_PORT_FIXED, cap, "a fixed-buffer port", &port) < 0)
        return;
    for (int64_t i = 0; i < cap; i++) {
        int rc = cb_send(port, cb_int(i));
        if (rc < 0) {
            cb_wl_fail(ctx, "close: put %lld: %s", (long long)i,
                       cb_strerror(rc));
            goto out;
        }
    }
    cb_port_close(port);
    int64_t drained = 0, not_nil = 0, accepted = 0;
    for (int64_t i = 0; i < cap; i++) {
        cb_term_t v;
        if (cb_recv(port, &v, wait_ns) < 0)
            break;
        cb_term_release(v);
        drained++;
    }
    /* Past the end: closed at once, every time (nil in core.async). */
    for (int k = 0; k < 3; k++) {
        cb_term_t v;
        int rc = cb_recv(port, &v, wait_ns);
        if (rc != -EPIPE) {
            not_nil++;
            if (rc == 0)
                cb_term_release(v);
        }
    }
    /* core.async's >! on a closed channel returns false. */
    if (cb_send(port, cb_int(-1)) >= 0)
        accepted++;
    cb_wl_metric_int(ctx, "closed_drained", drained);
    cb_wl_metric_int(ctx, "closed_lost", cap - drained);
    cb_wl_metric_int(ctx, "closed_takes_not_nil", not_nil);
    cb_wl_metric_int(ctx, "closed_puts_accepted", accepted);
out:
    cb_port_free(port);
}

/* ---- several readers on one port ---- */

typedef struct reader {
    cb_port_t *port;
    _Atomic uint32_t *seen;
    int64_t messages;
    int64_t got;
    int error;
} reader_t;

static void read_until_closed(void *arg)
{
    reader_t *r = arg;
    for (;;) {
        cb_term_t v;
        int rc = cb_recv(r->port, &v, CB_FOREVER);
        if (rc == -EPIPE)
            return;
        if (rc < 0) {
            r->error = rc;
            return;
        }
        int64_t i = cb_is_int(v) ? cb_int_value(v) : -1;
        cb_term_release(v);
        if (i < 0 || i >= r->messages) {
            r->error = -EPROTO;
            return;
        }
        /* relaxed: the counts are read after every reader is joined,
         * and the join orders them. */
        atomic_fetch_add_explicit(&r->seen[i], 1, memory_order_relaxed);
        r->got++;
    }
}

static int64_t readers(cb_wl_ctx_t *ctx, int64_t nreaders, int64_t messages,
                       int64_t cap)
{
    cb_port_t *port;
    if (open_port(ctx, CB_PORT_FIXED, cap, "a fixed-buffer port", &port) < 0)
        return 0;
    _Atomic uint32_t *seen = calloc((size_t)messages, sizeof *seen);
    reader_t *rs = calloc((size_t)nreaders, sizeof *rs);
    cb_task_t **ts = calloc((size_t)nreaders, sizeof *ts);
    int64_t spawned = 0, sent = 0;
    if (!seen || !rs || !ts) {
        cb_wl_error(ctx, -ENOMEM, "readers: %lld values", (long long)messages);
        goto out;
    }
    for (; spawned < nreaders; spawned++) {
        rs[spawned] =
            (reader_t){.port = port, .seen = seen, .messages = messages};
        int rc = cb_spawn(read_until_closed, &rs[spawned], NULL, &ts[spawned]);
        if (rc < 0) {
            cb_wl_error(ctx, rc, "spawning reader %lld", (long long)spawned);
            break;
        }
    }
    for (; sent < messages && spawned == nreaders; sent++) {
        int rc = cb_send(port, cb_int(sent));
        if (rc < 0) {
            cb_wl_fail(ctx, "readers: put %lld: %s", (long long)sent,
                       cb_strerror(rc));
            break;
        }
    }
    cb_port_close(port);
    int64_t served = 0, twice = 0, never = 0;
    for (int64_t i = 0; i < spawned; i++) {
        cb_join(ts[i]);
        if (rs[i].error)
            cb_wl_fail(ctx, "reader %lld: %s", (long long)i,
                       cb_strerror(rs[i].error));
        served += rs[i].got > 0;
    }
    for (int64_t i = 0; i < sent; i++) {
        uint32_t k = atomic_load_explicit(&seen[i], memory_order_relaxed);
        twice += k > 1;
        never += k == 0;
    }
    cb_wl_metric_int(ctx, "read_twice", twice);
    cb_wl_metric_int(ctx, "never_read", never);
    cb_wl_metric_int(ctx, "readers_served", served);
out:
    free(ts);
    free(rs);
    free(seen);
    cb_port_free(port);
    return sent;
}

static void alts(cb_wl_ctx_t *ctx, int64_t rounds)
{
    cb_port_t *ports[ALTS_PORTS];
    int opened = 0;
    for (; opened < ALTS_PORTS; opened++)
        if (open_port(ctx, CB_PORT_FIXED, 1, "a fixed-buffer port",
                      &ports[opened]) < 0)
            goto out;
    uint64_t rng = cb_wl_mix(cb_wl_seed(ctx));
    int64_t taken = 0, wrong = 0;
    for (int64_t r = 0; r < rounds; r++) {
        rng = cb_wl_mix(rng);
        int k = (int)(rng % ALTS_PORTS);
        int rc = cb_send(ports[k], cb_int(r));
        if (rc < 0) {
            cb_wl_fail(ctx, "alts: put: %s", cb_strerror(rc));
            goto out;
        }
        cb_select_op_t ops[ALTS_PORTS];
        for (int i = 0; i < ALTS_PORTS; i++)
            ops[i] = (cb_select_op_t){ports[i], CB_SELECT_RECV, CB_NIL, 0};
        int got = cb_select(ops, ALTS_PORTS, 0, CB_FOREVER);
        if (got < 0) {
            cb_wl_unsupported(ctx, "select over several ports", got);
            goto out;
        }
        cb_term_t v = ops[got].msg;
        if (got != k || ops[got].status != 0 || !cb_is_int(v) ||
            cb_int_value(v) != r)
            wrong++;
        cb_term_release(v);
        taken++;
    }
    cb_wl_metric_int(ctx, "alts_taken", taken);
    cb_wl_metric_int(ctx, "alts_wrong_channel", wrong);
out:
    for (int i = 0; i < opened; i++)
        cb_port_free(ports[i]);
}

static void run(cb_wl_ctx_t *ctx)
{
    int64_t cap = cb_wl_int(ctx, "capacity");
    int64_t wait_ns = cb_wl_int(ctx, "wait_ms") * 1000000;
    int64_t messages = cb_wl_int(ctx, "messages");
    int64_t rounds = cb_wl_int(ctx, "alts_rounds");
    cb_wl_window_start(ctx);
    rendezvous(ctx, wait_ns);
    if (!cb_wl_failed(ctx))
        fixed(ctx, cap, wait_ns);
    int newest = -1, oldest = -1;
    if (!cb_wl_failed(ctx))
        newest = kept(ctx, CB_PORT_SLIDING, cap, 2 * cap, "a sliding port");
    if (!cb_wl_failed(ctx))
        oldest = kept(ctx, CB_PORT_DROPPING, cap, 0, "a dropping port");
    if (!cb_wl_failed(ctx))
        closing(ctx, cap, wait_ns);
    int64_t sent = 0;
    if (!cb_wl_failed(ctx))
        sent = readers(ctx, cb_wl_int(ctx, "readers"), messages, cap);
    if (!cb_wl_failed(ctx))
        alts(ctx, rounds);
    cb_wl_window_stop(ctx);
    if (cb_wl_failed(ctx))
        return;
    cb_wl_metric_int(ctx, "sliding_kept_newest", newest);
    cb_wl_metric_int(ctx, "dropping_kept_oldest", oldest);
    /* The sections' puts: rendezvous 1, fixed cap + 1, sliding and
     * dropping 3 x cap each, close cap, the readers' and the selects'. */
    cb_wl_ops(ctx, 2 + 8 * cap + sent + rounds);
}

const cb_workload_t cb_workload_channel_semantics = {
    .name = "channel-semantics",
    .summary = "what CSP channels promise, counted: rendezvous, fixed, "
               "sliding and dropping buffers, close, several readers, alts",
    .description =
        "Each section does what would break one promise of core.async's "
        "and Go's channels and counts how often it did: a put on an "
        "unbuffered port with no taker, a put past a full fixed buffer, "
        "what a sliding and a dropping buffer keep, takes on a closed "
        "port, `readers` tasks sharing `messages` values on one port, "
        "selects over 8 ports with one ready. Models without these ports "
        "(actor, stm) are unsupported.\n"
        "Metrics: rendezvous_early_puts (0), fixed_puts_past_capacity (0), "
        "sliding_kept_newest (1), dropping_kept_oldest (1), closed_drained "
        "(capacity), closed_lost (0), closed_takes_not_nil (0), "
        "closed_puts_accepted (0 where a closed port refuses sends), "
        "read_twice (0), never_read (0), readers_served, alts_taken, "
        "alts_wrong_channel (0); the value in brackets is what the "
        "promise says. A broken promise is a count, not a failed run; the "
        "run fails only on an unexpected error or a task that never "
        "starts.",
    .params = params,
    .estimate = estimate,
    .run = run,
    .no_instruction_count = "its sections wait on purpose (wait_ms) for a "
                            "put that must not complete",
};
