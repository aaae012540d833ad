/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Semantics particular to the `csp` model (core.async's), beyond the
 * generic ones of test_semantics.c:
 *
 *   test_csp --list                 the case names
 *   test_csp CASE [key=value]...    one case, with model parameters
 *
 * Timing checks derive their bounds from the case's own durations with
 * wide margins; where a bound is about "never", the case arranges for the
 * thing to be impossible rather than merely slow.
 */
#include "tests/c/cb_test.h"

#include "models/csp/csp_int.h"

#include <poll.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>

#define MS 1000000LL
/* "For ever" in a test that must not hang: a hang guard, stretched by
 * CONCBENCH_TIMEOUT_SCALE like every timeout of the suite. */
#define LONG cb_test_scaled_ns(20000 * MS)

typedef void (*case_fn)(void);

static cb_port_t *chan(cb_port_policy_t policy, size_t cap)
{
    cb_port_opts_t o = {.policy = policy, .capacity = cap};
    cb_port_t *p = NULL;
    CHECK_EQ(cb_port_open(&o, &p), 0);
    return p;
}

static int64_t take_int_at(cb_port_t *p, int line)
{
    cb_term_t m = CB_NIL;
    int rc = cb_recv(p, &m, LONG);
    if (rc != 0)
        CB_FAIL_("take at line %d: %s", line, cb_strerror(rc));
    CHECK(cb_is_int(m));
    return cb_int_value(m);
}
#define take_int(p) take_int_at((p), __LINE__)

static int64_t counter(const char *name)
{
    cb_counter_t c[CB_COUNTERS_MAX];
    size_t n = cb_model_counters(c, CB_COUNTERS_MAX);
    for (size_t i = 0; i < n; i++)
        if (strcmp(c[i].name, name) == 0)
            return c[i].value;
    CB_FAIL_("no counter %s", name);
}

/* Poll a channel's stats until pending puts (or takes) reach want. */
static void await_pending(cb_port_t *p, int64_t want, bool puts)
{
    int64_t deadline = cb_now_ns() + LONG;
    for (;;) {
        csp_chan_stats_t s;
        csp_chan_stats(p, &s);
        int64_t got = puts ? s.pending_puts : s.pending_takes;
        if (got == want)
            return;
        CHECK_LT(cb_now_ns(), deadline);
        cb_sleep(1 * MS);
    }
}

/* ---- rendezvous ---- */

typedef struct pair {
    cb_port_t *a, *b;
    int n;
} pair_t;

static void put_then_log(void *arg)
{
    pair_t *p = arg;
    for (int i = 0; i < p->n; i++) {
        CHECK_EQ(cb_send(p->a, cb_int(i)), 0);
        CHECK_EQ(cb_send(p->b, cb_int(i)), 0); /* "put i returned" */
    }
}

static void case_rendezvous_order(void)
{
    /* An unbuffered put returns only after a take received its value:
     * the log never runs ahead of the takes. */
    pair_t p = {chan(CB_PORT_RENDEZVOUS, 0), chan(CB_PORT_FIXED, 64), 20};
    cb_task_t *t;
    CHECK_EQ(cb_spawn(put_then_log, &p, NULL, &t), 0);
    cb_term_t m;
    CHECK_EQ(cb_recv(p.b, &m, 50 * MS), -ETIMEDOUT);
    await_pending(p.a, 1, true);
    for (int i = 0; i < p.n; i++) {
        CHECK_EQ(cb_port_length(p.b), 0);
        CHECK_EQ(take_int(p.a), i);
        CHECK_EQ(take_int(p.b), i);
    }
    CHECK_EQ(cb_join(t), 0);
    csp_chan_stats_t s;
    csp_chan_stats(p.a, &s);
    CHECK_EQ(s.puts, p.n);
    CHECK_EQ(s.takes, p.n);
    CHECK_EQ(s.drops, 0);
    CHECK_GE(s.parks, 1);
    cb_port_free(p.a);
    cb_port_free(p.b);
}

/* ---- buffers ---- */

static void case_drop_counts(void)
{
    cb_port_t *sl = chan(CB_PORT_SLIDING, 4), *dr = chan(CB_PORT_DROPPING, 4);
    int dsl = 0, ddr = 0;
    for (int i = 0; i < 100; i++) {
        dsl += cb_send(sl, cb_int(i)) == CB_SEND_DROPPED;
        ddr += cb_send(dr, cb_int(i)) == CB_SEND_DROPPED;
    }
    /* A select put counts the same way. */
    cb_select_op_t op = {sl, CB_SELECT_SEND, cb_int(100), 0};
    CHECK_EQ(cb_select(&op, 1, 0, 0), 0);
    CHECK_EQ(op.status, CB_SEND_DROPPED);
    CHECK_EQ(dsl, 96);
    CHECK_EQ(ddr, 96);
    csp_chan_stats_t s;
    csp_chan_stats(sl, &s);
    CHECK_EQ(s.drops, 97);
    CHECK_EQ(s.puts, 101);
    csp_chan_stats(dr, &s);
    CHECK_EQ(s.drops, 96);
    CHECK_EQ(s.parks, 0); /* neither buffer ever parks a put */
    for (int i = 0; i < 4; i++) {
        CHECK_EQ(take_int(sl), 97 + i); /* the newest survive */
        CHECK_EQ(take_int(dr), i);      /* the oldest survive */
    }
    CHECK_EQ(cb_port_length(sl), 0);
    cb_port_free(sl);
    cb_port_free(dr);
}

/* A buffer larger than the ring a channel starts with: its ring grows
 * while values wrap around it, and the policy still counts its full size
 * exactly. */
static void case_buffer_growth(void)
{
    enum { CAP = 100, PUTS = 1000 };
    cb_port_t *fx = chan(CB_PORT_FIXED, CAP), *sl = chan(CB_PORT_SLIDING, CAP),
              *dr = chan(CB_PORT_DROPPING, CAP);
    cb_port_t *all[3] = {fx, sl, dr};
    /* Wrap the starting ring first: put 10, take 7, so the head is not at
     * slot 0 when the ring first grows. */
    for (int k = 0; k < 3; k++) {
        for (int i = 0; i < 10; i++)
            CHECK_EQ(cb_send(all[k], cb_int(-10 + i)), 0);
        for (int i = 0; i < 7; i++)
            CHECK_EQ(take_int(all[k]), -10 + i);
    }
    /* Fixed: room for exactly CAP values; the next put would park, which
     * an alts with :default reports at once. */
    for (int i = 0; i < CAP - 3; i++)
        CHECK_EQ(cb_send(fx, cb_int(i)), 0);
    cb_select_op_t put = {fx, CB_SELECT_SEND, cb_int(-1), 0};
    CHECK_EQ(cb_select(&put, 1, 0, 0), -ETIMEDOUT);
    CHECK_EQ(cb_port_length(fx), CAP);
    for (int i = 0; i < 3; i++)
        CHECK_EQ(take_int(fx), -3 + i);
    for (int i = 0; i < CAP - 3; i++)
        CHECK_EQ(take_int(fx), i);
    /* Sliding and dropping: every put past CAP drops exactly one value. */
    int dsl = 0, ddr = 0;
    for (int i = 0; i < PUTS; i++) {
        dsl += cb_send(sl, cb_int(i)) == CB_SEND_DROPPED;
        ddr += cb_send(dr, cb_int(i)) == CB_SEND_DROPPED;
    }
    CHECK_EQ(dsl, PUTS + 3 - CAP);
    CHECK_EQ(ddr, PUTS + 3 - CAP);
    for (int i = 0; i < CAP; i++)
        CHECK_EQ(take_int(sl), PUTS - CAP + i); /* the newest survive */
    for (int i = 0; i < 3; i++)
        CHECK_EQ(take_int(dr), -3 + i); /* the oldest survive */
    for (int i = 0; i < CAP - 3; i++)
        CHECK_EQ(take_int(dr), i);
    for (int k = 0; k < 3; k++) {
        CHECK_EQ(cb_port_length(all[k]), 0);
        cb_port_free(all[k]);
    }
}

/* ---- close ---- */

typedef struct closer {
    cb_port_t *ch, *log;
} closer_t;

static void put_one_log(void *arg)
{
    closer_t *c = arg;
    int rc = cb_send(c->ch, cb_int(7));
    CHECK_EQ(cb_send(c->log, cb_int(rc)), 0);
}

static void take_one_log(void *arg)
{
    closer_t *c = arg;
    cb_term_t m;
    int rc = cb_recv(c->ch, &m, CB_FOREVER);
    CHECK_EQ(cb_send(c->log, cb_int(rc)), 0);
}

static void case_close_semantics(void)
{
    /* Buffered: values put before the close are still taken. */
    cb_port_t *b = chan(CB_PORT_FIXED, 2);
    CHECK_EQ(cb_send(b, cb_int(1)), 0);
    CHECK_EQ(cb_port_close(b), 0);
    CHECK_EQ(cb_port_close(b), 0); /* idempotent, as close! */
    CHECK_EQ(cb_send(b, cb_int(2)), -EPIPE);
    CHECK_EQ(take_int(b), 1);
    cb_term_t m;
    CHECK_EQ(cb_recv(b, &m, 0), -EPIPE);
    CHECK_EQ(cb_recv(b, &m, CB_FOREVER), -EPIPE);
    cb_port_free(b);

    /* Unbuffered: a put parked before the close still completes when
     * taken (core.async keeps pending puts); pending takes get closed. */
    closer_t c = {chan(CB_PORT_RENDEZVOUS, 0), chan(CB_PORT_FIXED, 8)};
    cb_task_t *t;
    CHECK_EQ(cb_spawn(put_one_log, &c, NULL, &t), 0);
    await_pending(c.ch, 1, true);
    CHECK_EQ(cb_port_close(c.ch), 0);
    CHECK_EQ(take_int(c.ch), 7);
    CHECK_EQ(take_int(c.log), 0);
    CHECK_EQ(cb_join(t), 0);
    cb_port_free(c.ch);

    c.ch = chan(CB_PORT_RENDEZVOUS, 0);
    cb_task_t *tk[3];
    for (int i = 0; i < 3; i++)
        CHECK_EQ(cb_spawn(take_one_log, &c, NULL, &tk[i]), 0);
    await_pending(c.ch, 3, false);
    CHECK_EQ(cb_port_close(c.ch), 0);
    for (int i = 0; i < 3; i++)
        CHECK_EQ(take_int(c.log), -EPIPE);
    for (int i = 0; i < 3; i++)
        CHECK_EQ(cb_join(tk[i]), 0);
    /* A select put on a closed channel leaves the message to the caller. */
    cb_term_t keep = cb_binary("kept", 4);
    cb_select_op_t op = {c.ch, CB_SELECT_SEND, keep, 0};
    CHECK_EQ(cb_select(&op, 1, 0, CB_FOREVER), 0);
    CHECK_EQ(op.status, -EPIPE);
    CHECK(op.msg == keep);
    cb_term_release(keep);
    cb_port_free(c.ch);
    cb_port_free(c.log);
}

/* ---- the 1024 pending limit ---- */

#define LIMIT CSP_MAX_PENDING

static void put_forever(void *arg)
{
    cb_port_t *p = arg;
    CHECK_EQ(cb_send(p, cb_int(1)), 0);
}

static void take_forever(void *arg)
{
    cb_port_t *p = arg;
    cb_term_t m;
    CHECK_EQ(cb_recv(p, &m, CB_FOREVER), 0);
    CHECK_EQ(cb_int_value(m), 2);
}

static void case_pending_limit(void)
{
    static cb_task_t *t[LIMIT];
    cb_port_t *p = chan(CB_PORT_RENDEZVOUS, 0);
    for (int i = 0; i < LIMIT; i++)
        CHECK_EQ(cb_spawn(put_forever, p, NULL, &t[i]), 0);
    await_pending(p, LIMIT, true);
    /* The 1025th put is refused at once, and leaves nothing behind. */
    CHECK_EQ(cb_send(p, cb_int(1)), -EBUSY);
    cb_select_op_t op = {p, CB_SELECT_SEND, cb_int(1), 0};
    CHECK_EQ(cb_select(&op, 1, 0, CB_FOREVER), -EBUSY);
    CHECK_EQ(csp_put_blocking(p, cb_int(1)), -EBUSY);
    csp_chan_stats_t s;
    csp_chan_stats(p, &s);
    CHECK_EQ(s.pending_puts, LIMIT);
    CHECK_GE(counter("pending_limit_hits"), 3);
    for (int i = 0; i < LIMIT; i++)
        CHECK_EQ(take_int(p), 1);
    for (int i = 0; i < LIMIT; i++)
        CHECK_EQ(cb_join(t[i]), 0);

    /* The same for takes. */
    for (int i = 0; i < LIMIT; i++)
        CHECK_EQ(cb_spawn(take_forever, p, NULL, &t[i]), 0);
    await_pending(p, LIMIT, false);
    cb_term_t m;
    CHECK_EQ(cb_recv(p, &m, CB_FOREVER), -EBUSY);
    CHECK_EQ(cb_recv(p, &m, 10 * MS), -EBUSY);
    for (int i = 0; i < LIMIT; i++)
        CHECK_EQ(cb_send(p, cb_int(2)), 0);
    for (int i = 0; i < LIMIT; i++)
        CHECK_EQ(cb_join(t[i]), 0);

    /* Stale handlers do not count for long: thousands of timed-out takes
     * each leave one behind, and the lazy sweep keeps the queue short. */
    for (int i = 0; i < 3 * LIMIT; i++)
        CHECK_EQ(cb_recv(p, &m, 1000), -ETIMEDOUT);
    csp_chan_stats(p, &s);
    CHECK_LE(s.pending_takes, CSP_MAX_DIRTY + 2);
    cb_port_free(p);
}

/* ---- alts ---- */

static void case_alts_default_priority(void)
{
    cb_port_t *a = chan(CB_PORT_RENDEZVOUS, 0), *b = chan(CB_PORT_FIXED, 4);
    cb_select_op_t ops[2] = {{a, CB_SELECT_RECV, CB_NIL, 0},
                             {b, CB_SELECT_RECV, CB_NIL, 0}};
    /* :default: nothing ready, returns at once and registers nothing. */
    CHECK_EQ(cb_select(ops, 2, 0, 0), -ETIMEDOUT);
    csp_chan_stats_t s;
    csp_chan_stats(a, &s);
    CHECK_EQ(s.pending_takes, 0);
    /* :priority: the first ready op in order, every time. */
    cb_port_t *c = chan(CB_PORT_FIXED, 4);
    cb_select_op_t pr[2] = {{b, CB_SELECT_RECV, CB_NIL, 0},
                            {c, CB_SELECT_RECV, CB_NIL, 0}};
    for (int i = 0; i < 50; i++) {
        CHECK_EQ(cb_send(b, cb_int(1)), 0);
        CHECK_EQ(cb_send(c, cb_int(2)), 0);
        CHECK_EQ(cb_select(pr, 2, CB_SELECT_PRIORITY, 0), 0);
        CHECK_EQ(cb_int_value(pr[0].msg), 1);
        CHECK_EQ(take_int(c), 2);
    }
    /* A mix of puts and takes: the put whose channel has room wins. */
    cb_port_t *full = chan(CB_PORT_FIXED, 1);
    CHECK_EQ(cb_send(full, cb_int(0)), 0);
    cb_select_op_t mix[3] = {{a, CB_SELECT_RECV, CB_NIL, 0},
                             {full, CB_SELECT_SEND, cb_int(5), 0},
                             {c, CB_SELECT_SEND, cb_int(6), 0}};
    CHECK_EQ(cb_select(mix, 3, 0, CB_FOREVER), 2);
    CHECK_EQ(take_int(c), 6);
    /* A put and a take on one unbuffered channel never pair with each
     * other: nothing else is there, so the alts times out. */
    cb_select_op_t self[2] = {{a, CB_SELECT_RECV, CB_NIL, 0},
                              {a, CB_SELECT_SEND, cb_int(1), 0}};
    CHECK_EQ(cb_select(self, 2, 0, 20 * MS), -ETIMEDOUT);
    CHECK_EQ(cb_select(self, 2, 0, 0), -ETIMEDOUT);
    /* Bad ops are refused. */
    cb_select_op_t bad[2] = {{c, CB_SELECT_RECV, CB_NIL, 0},
                             {NULL, CB_SELECT_SEND, cb_int(1), 0}};
    CHECK_EQ(cb_select(bad, 2, CB_SELECT_PRIORITY, 0), -EINVAL);
    CHECK_EQ(cb_select(bad, 0, 0, 0), -EINVAL);
    cb_port_free(a);
    cb_port_free(b);
    cb_port_free(c);
    cb_port_free(full);
}

typedef struct alts_pair {
    cb_port_t *x, *y;
    int n;
    _Atomic int done;
} alts_pair_t;

/* Two go blocks, each an alts over a put to one channel and a take from
 * the other: every exchange commits both handlers or neither. */
static void alts_side(void *arg)
{
    alts_pair_t *p = arg;
    int puts = 0, takes = 0;
    while (puts < p->n || takes < p->n) {
        cb_select_op_t o[2];
        size_t n = 0;
        if (puts < p->n)
            o[n++] = (cb_select_op_t){p->x, CB_SELECT_SEND, cb_int(puts), 0};
        if (takes < p->n)
            o[n++] = (cb_select_op_t){p->y, CB_SELECT_RECV, CB_NIL, 0};
        int k = cb_select(o, n, 0, CB_FOREVER);
        CHECK_GE(k, 0);
        if (o[k].dir == CB_SELECT_SEND) {
            CHECK_EQ(o[k].status, 0);
            puts++;
        } else {
            CHECK_EQ(cb_int_value(o[k].msg), takes);
            takes++;
        }
    }
    atomic_fetch_add(&p->done, 1);
}

static void case_alts_both_ways(void)
{
    alts_pair_t a = {chan(CB_PORT_RENDEZVOUS, 0), chan(CB_PORT_RENDEZVOUS, 0),
                     3000, 0};
    alts_pair_t b = {a.y, a.x, 3000, 0};
    cb_task_t *t[2];
    CHECK_EQ(cb_spawn(alts_side, &a, NULL, &t[0]), 0);
    CHECK_EQ(cb_spawn(alts_side, &b, NULL, &t[1]), 0);
    CHECK_EQ(cb_join(t[0]), 0);
    CHECK_EQ(cb_join(t[1]), 0);
    CHECK_EQ(atomic_load(&a.done) + atomic_load(&b.done), 2);
    cb_port_free(a.x);
    cb_port_free(a.y);
}

/* ---- timeout channels ---- */

static void case_timeout_channel(void)
{
    cb_port_t *t;
    int64_t t0 = cb_now_ns();
    CHECK_EQ(csp_timeout(30 * MS, &t), 0);
    cb_term_t m;
    CHECK_EQ(cb_recv(t, &m, 0), -ETIMEDOUT); /* not yet */
    CHECK_EQ(cb_recv(t, &m, CB_FOREVER), -EPIPE);
    int64_t d = cb_now_ns() - t0;
    CHECK_GE(d, 30 * MS);
    CHECK_LT(d, cb_test_scaled_ns(10000 * MS));
    csp_port_free(t);
    /* alts over a silent channel and a timeout: the timeout's op. */
    cb_port_t *silent = chan(CB_PORT_RENDEZVOUS, 0);
    CHECK_EQ(csp_timeout(20 * MS, &t), 0);
    cb_select_op_t ops[2] = {{silent, CB_SELECT_RECV, CB_NIL, 0},
                             {t, CB_SELECT_RECV, CB_NIL, 0}};
    t0 = cb_now_ns();
    CHECK_EQ(cb_select(ops, 2, 0, CB_FOREVER), 1);
    CHECK_EQ(ops[1].status, -EPIPE);
    CHECK_GE(cb_now_ns() - t0, 15 * MS);
    csp_port_free(t);
    /* Many timeouts at once fire in any order but all fire. */
    cb_port_t *many[50];
    for (int i = 0; i < 50; i++)
        CHECK_EQ(csp_timeout((50 - i) * MS / 10, &many[i]), 0);
    for (int i = 0; i < 50; i++) {
        CHECK_EQ(cb_recv(many[i], &m, LONG), -EPIPE);
        csp_port_free(many[i]);
    }
    CHECK_GE(counter("timeouts"), 52);
    cb_port_free(silent);
}

/* ---- go blocks and threads ---- */

typedef struct interop {
    cb_port_t *to_thread, *to_go;
    int n;
} interop_t;

static void go_side(void *arg)
{
    interop_t *x = arg;
    for (int i = 0; i < x->n; i++) {
        CHECK_EQ(cb_send(x->to_thread, cb_int(i)), 0);
        CHECK_EQ(take_int(x->to_go), i + 1);
    }
}

static void thread_side(void *arg)
{
    interop_t *x = arg;
    CHECK(csp_current() != NULL && csp_current()->kind == CSP_THREAD);
    for (int i = 0; i < x->n; i++) {
        int64_t v = take_int(x->to_thread);
        CHECK_EQ(cb_send(x->to_go, cb_int(v + 1)), 0);
    }
}

static void blocking_in_go(void *arg)
{
    cb_port_t *p = arg;
    CHECK_EQ(csp_put_blocking(p, cb_int(42)), 0);
}

static void case_go_thread_interop(void)
{
    interop_t x = {chan(CB_PORT_RENDEZVOUS, 0), chan(CB_PORT_RENDEZVOUS, 0),
                   2000};
    cb_task_t *g, *th;
    cb_spawn_opts_t os = {.os_thread = true};
    CHECK_EQ(cb_spawn(thread_side, &x, &os, &th), 0);
    CHECK_EQ(cb_spawn(go_side, &x, NULL, &g), 0);
    CHECK_EQ(cb_join(g), 0);
    CHECK_EQ(cb_join(th), 0);
    /* The root is a thread too, unless root=go. */
    CHECK_EQ(counter("threads_spawned"),
             csp_cfg.root == CSP_ROOT_THREAD ? 2 : 1);
    /* >!! inside a go block: it works, and it is counted. */
    int64_t before = counter("blocking_in_go");
    CHECK_EQ(cb_spawn(blocking_in_go, x.to_go, NULL, &g), 0);
    while (csp_blocked_workers() == 0)
        cb_sleep(1 * MS);
    CHECK_EQ(take_int(x.to_go), 42);
    CHECK_EQ(cb_join(g), 0);
    CHECK_EQ(counter("blocking_in_go"), before + 1);
    CHECK_GT(counter("blocked_in_go_ns"), 0);
    cb_port_free(x.to_thread);
    cb_port_free(x.to_go);
}

/* ---- parking frees the worker ---- */

#define PARKERS 400

typedef struct parker {
    cb_port_t *in, *out;
} parker_t;

static void park_then_echo(void *arg)
{
    parker_t *p = arg;
    int64_t v = take_int(p->in);
    CHECK_EQ(cb_send(p->out, cb_int(v)), 0);
}

static void io_parker(void *arg)
{
    int *fds = arg;
    CHECK(cb_io_wait(fds[0], POLLIN, LONG) & POLLIN);
}

static void case_parking_frees_worker(void)
{
    /* Far more parked go blocks than workers, and no deadlock. */
    static parker_t p[PARKERS];
    static cb_task_t *t[PARKERS];
    cb_port_t *out = chan(CB_PORT_FIXED, PARKERS);
    for (int i = 0; i < PARKERS; i++) {
        p[i] = (parker_t){chan(CB_PORT_RENDEZVOUS, 0), out};
        CHECK_EQ(cb_spawn(park_then_echo, &p[i], NULL, &t[i]), 0);
    }
    for (int i = 0; i < PARKERS; i++)
        await_pending(p[i].in, 1, false);
    CHECK_EQ(csp_blocked_workers(), 0);
    /* IO parks too: with every worker's go block waiting on a pipe, the
     * pool still runs the others. */
    int fds[2];
    CHECK_EQ(pipe(fds), 0);
    cb_task_t *io[8];
    for (int i = 0; i < 8; i++)
        CHECK_EQ(cb_spawn(io_parker, fds, NULL, &io[i]), 0);
    int64_t sum = 0;
    for (int i = 0; i < PARKERS; i++)
        CHECK_EQ(cb_send(p[i].in, cb_int(i)), 0);
    for (int i = 0; i < PARKERS; i++)
        sum += take_int(out);
    CHECK_EQ(sum, (int64_t)PARKERS * (PARKERS - 1) / 2);
    CHECK_EQ(write(fds[1], "x", 1), 1);
    for (int i = 0; i < 8; i++)
        CHECK_EQ(cb_join(io[i]), 0);
    for (int i = 0; i < PARKERS; i++) {
        CHECK_EQ(cb_join(t[i]), 0);
        cb_port_free(p[i].in);
    }
    close(fds[0]);
    close(fds[1]);
    cb_port_free(out);
}

static void send_done(void *arg)
{
    CHECK_EQ(cb_send(arg, cb_int(1)), 0);
}

static void case_blocking_starves_pool(void)
{
    /* Run with pool=2 go_ops=block: two go blocks blocked in takes hold
     * both workers, so a third cannot run at all until they are fed. */
    CHECK_EQ(csp_cfg.pool, 2);
    CHECK(csp_cfg.go_ops_block);
    parker_t p[2];
    cb_port_t *out = chan(CB_PORT_FIXED, 8);
    cb_task_t *t[2], *third;
    for (int i = 0; i < 2; i++) {
        p[i] = (parker_t){chan(CB_PORT_RENDEZVOUS, 0), out};
        CHECK_EQ(cb_spawn(park_then_echo, &p[i], NULL, &t[i]), 0);
    }
    while (csp_blocked_workers() < 2)
        cb_sleep(1 * MS);
    cb_port_t *done = chan(CB_PORT_FIXED, 1);
    CHECK_EQ(cb_spawn(send_done, done, NULL, &third), 0);
    cb_term_t m;
    CHECK_EQ(cb_recv(done, &m, 100 * MS), -ETIMEDOUT);
    for (int i = 0; i < 2; i++)
        CHECK_EQ(cb_send(p[i].in, cb_int(i)), 0);
    CHECK_EQ(take_int(done), 1);
    CHECK_EQ(take_int(out) + take_int(out), 1);
    CHECK_GE(counter("blocking_in_go"), 2);
    CHECK_EQ(cb_join(third), 0);
    for (int i = 0; i < 2; i++) {
        CHECK_EQ(cb_join(t[i]), 0);
        cb_port_free(p[i].in);
    }
    cb_port_free(done);
    cb_port_free(out);
}

/* ---- starvation and preemption ---- */

#define HOG_MS 400

typedef struct hog {
    cb_port_t *started;
    int64_t until;
} hog_t;

static void hog_main(void *arg)
{
    hog_t *h = arg;
    CHECK_EQ(cb_send(h->started, cb_int(1)), 0);
    uint64_t x = 1;
    while (cb_now_ns() < h->until) {
        for (int i = 0; i < 64; i++)
            x = x * 6364136223846793005ULL + 1;
        cb_reduce(1);
    }
    CHECK_NE(x, 0);
}

typedef struct probe {
    cb_port_t *go;
    int64_t ran_at;
} probe_t;

static void probe_main(void *arg)
{
    probe_t *p = arg;
    take_int(p->go);
    p->ran_at = cb_now_ns();
}

/* With as many hogs as workers: how long a go block made runnable waits
 * for a worker. */
static int64_t probe_delay(void)
{
    int pool = csp_cfg.pool;
    cb_port_t *started = chan(CB_PORT_FIXED, 64);
    probe_t pr = {chan(CB_PORT_FIXED, 1), 0};
    cb_task_t *pt;
    CHECK_EQ(cb_spawn(probe_main, &pr, NULL, &pt), 0);
    await_pending(pr.go, 1, false);
    hog_t h = {started, cb_now_ns() + HOG_MS * MS};
    cb_task_t *ht[64];
    CHECK_LE(pool, 64);
    for (int i = 0; i < pool; i++)
        CHECK_EQ(cb_spawn(hog_main, &h, NULL, &ht[i]), 0);
    for (int i = 0; i < pool; i++)
        take_int(started);
    /* Every worker now runs a hog (each reported from its worker). */
    int64_t t0 = cb_now_ns();
    CHECK_EQ(cb_send(pr.go, cb_int(1)), 0);
    CHECK_EQ(cb_join(pt), 0);
    for (int i = 0; i < pool; i++)
        CHECK_EQ(cb_join(ht[i]), 0);
    cb_port_free(started);
    cb_port_free(pr.go);
    return pr.ran_at - t0;
}

static void case_starvation(void)
{
    /* preempt=none: the probe waits for a hog to finish. */
    CHECK_EQ(csp_cfg.preempt, CSP_PREEMPT_NONE);
    int64_t d = probe_delay();
    CHECK_GE(d, HOG_MS * MS / 4);
    CHECK_EQ(counter("preemptions"), 0);
}

static void case_fairness(void)
{
    /* preempt=reductions: the probe gets a worker within slices, long
     * before the hogs end. */
    CHECK_EQ(csp_cfg.preempt, CSP_PREEMPT_REDUCTIONS);
    int64_t d = probe_delay();
    CHECK_TIMELY(d < HOG_MS * MS / 2,
                 "the probe waited %lld ms for a worker beside %d ms hogs",
                 (long long)(d / MS), HOG_MS);
    CHECK_GT(counter("preemptions"), 0);
}

/* ---- a tree of spawns (skynet in small) under each scheduler ---- */

typedef struct node {
    int64_t base, size;
    cb_port_t *up;
} node_t;

static void node_main(void *arg)
{
    node_t *n = arg;
    if (n->size == 1) {
        CHECK_EQ(cb_send(n->up, cb_int(n->base)), 0);
        return;
    }
    node_t kids[10];
    cb_port_t *mine = chan(CB_PORT_FIXED, 10);
    int64_t step = n->size / 10;
    for (int i = 0; i < 10; i++) {
        kids[i] = (node_t){n->base + i * step, step, mine};
        CHECK_EQ(cb_spawn(node_main, &kids[i], NULL, NULL), 0);
    }
    int64_t sum = 0;
    for (int i = 0; i < 10; i++)
        sum += take_int(mine);
    cb_port_free(mine);
    CHECK_EQ(cb_send(n->up, cb_int(sum)), 0);
}

/* TSan keeps per-fiber state that runs out of mappings with thousands of
 * live fibers; a smaller tree still spawns from every level. */
#ifdef CB_SANITIZE_THREAD
#define TREE 1000
#else
#define TREE 10000
#endif

static void case_spawn_tree(void)
{
    cb_port_t *up = chan(CB_PORT_FIXED, 1);
    node_t root = {0, TREE, up};
    cb_task_t *t;
    CHECK_EQ(cb_spawn(node_main, &root, NULL, &t), 0);
    CHECK_EQ(take_int(up), (int64_t)TREE * (TREE - 1) / 2);
    CHECK_EQ(cb_join(t), 0);
    CHECK_GE(counter("go_spawned"), TREE + TREE / 9);
    cb_port_free(up);
}

/* ---- every worker woken for a burst ---- */

typedef struct burst {
    _Atomic int started;
    int n;
    int64_t deadline;
    _Atomic int late;
} burst_t;

/* Counts itself in, then waits (holding its worker) until all are in. */
static void burst_member(void *arg)
{
    burst_t *b = arg;
    atomic_fetch_add(&b->started, 1);
    while (atomic_load(&b->started) < b->n)
        if (cb_now_ns() > b->deadline) {
            atomic_store(&b->late, 1);
            return;
        }
}

/* As many go blocks as workers, spawned at once by a thread, each holding
 * its worker until all have started: they start together only if every
 * idle worker is woken for them, whichever was spinning when they came
 * (a worker that took one and left the other in a sleeper's queue kept
 * that one waiting for as long as its own ran).  Rounds back to back, so
 * that bursts land while a worker spins and while both sleep. */
static void case_burst_wakes_all(void)
{
    int pool = csp_cfg.pool;
    CHECK_LE(pool, 64);
    for (int r = 0; r < 2000; r++) {
        burst_t b = {.n = pool,
                     .deadline = cb_now_ns() + cb_test_scaled_ns(2000 * MS)};
        cb_task_t *t[64];
        for (int i = 0; i < pool; i++)
            CHECK_EQ(cb_spawn(burst_member, &b, NULL, &t[i]), 0);
        for (int i = 0; i < pool; i++)
            CHECK_EQ(cb_join(t[i]), 0);
        /* A worker thread the kernel left unscheduled for 2 s on a
         * saturated machine looks the same: judge it only when quiet. */
        CHECK_TIMELY(!atomic_load(&b.late),
                     "round %d: a go block of the burst waited 2 s for a "
                     "worker while the others held theirs",
                     r);
        if (atomic_load(&b.late))
            break;
    }
}

/* ---- go blocks that outlive the root ---- */

static void nap_then_exit(void *arg)
{
    (void)arg;
    CHECK_EQ(cb_sleep(50 * MS), 0);
}

/* A go block still finishing when the root returns: stop waits for it
 * (no go block signals its exit; stop counts them until none is left). */
static void case_late_finisher(void)
{
    for (int i = 0; i < 8; i++)
        CHECK_EQ(cb_spawn(nap_then_exit, NULL, NULL, NULL), 0);
}

static cb_port_t *never_sent;

static void wait_for_ever(void *arg)
{
    (void)arg;
    cb_term_t m;
    cb_recv(never_sent, &m, CB_FOREVER);
}

/* Go blocks that never finish: stop gives up after its grace period and
 * says how many are left (run_case checks the count). */
static void case_stragglers_reported(void)
{
    never_sent = chan(CB_PORT_RENDEZVOUS, 0);
    for (int i = 0; i < 3; i++)
        CHECK_EQ(cb_spawn(wait_for_ever, NULL, NULL, NULL), 0);
    /* Parked for good before the root returns, so the count is exact. */
    await_pending(never_sent, 3, false);
}

/* ---- the table ---- */

static const struct {
    const char *name;
    case_fn fn;
    const char *params; /* the model parameters it runs under by default */
    int left;           /* tasks stop must find still running */
} cases[] = {
    {"rendezvous_order", case_rendezvous_order, "", 0},
    {"drop_counts", case_drop_counts, "", 0},
    {"buffer_growth", case_buffer_growth, "", 0},
    {"close_semantics", case_close_semantics, "", 0},
    {"pending_limit", case_pending_limit, "", 0},
    {"alts_default_priority", case_alts_default_priority, "", 0},
    {"alts_both_ways", case_alts_both_ways, "", 0},
    {"timeout_channel", case_timeout_channel, "", 0},
    {"go_thread_interop", case_go_thread_interop, "", 0},
    {"parking_frees_worker", case_parking_frees_worker, "pool=2", 0},
    {"blocking_starves_pool", case_blocking_starves_pool,
     "pool=2 go_ops=block", 0},
    {"starvation", case_starvation, "pool=2", 0},
    {"fairness", case_fairness, "pool=2 preempt=reductions", 0},
    {"spawn_tree", case_spawn_tree, "", 0},
    {"burst_wakes_all", case_burst_wakes_all, "pool=2", 0},
    {"late_finisher", case_late_finisher, "pool=2", 0},
    {"stragglers_reported", case_stragglers_reported, "pool=2", 3},
};
#define NCASES (sizeof cases / sizeof cases[0])

static case_fn current_case;

static void root(void *arg)
{
    (void)arg;
    current_case();
}

static void set_param(cb_param_set_t *ps, const char *kv, size_t len)
{
    char buf[128], err[256];
    CHECK_LT(len, sizeof buf);
    memcpy(buf, kv, len);
    buf[len] = '\0';
    char *eq = strchr(buf, '=');
    CHECK(eq != NULL);
    *eq = '\0';
    int k = cb_params_find(ps, buf);
    if (k < 0)
        CB_FAIL_("no model parameter %s", buf);
    if (cb_params_set(ps, k, eq + 1, err, sizeof err) < 0)
        CB_FAIL_("%s", err);
}

/* Run case c with the given key=value arguments, or its table's. */
static int run_case(size_t c, int argc, char **argv)
{
    const cb_model_t *m = cb_model_find("csp");
    CHECK(m != NULL);
    cb_param_set_t ps;
    cb_params_defaults(&ps, m->params, true);
    if (argc > 0) {
        for (int i = 0; i < argc; i++)
            set_param(&ps, argv[i], strlen(argv[i]));
    } else {
        for (const char *p = cases[c].params; *p;) {
            size_t len = strcspn(p, " ");
            set_param(&ps, p, len);
            p += len + (p[len] == ' ');
        }
    }
    char err[256] = "";
    cb_model_env_t env = {.cpus = NULL, .ncpus = 0, .seed = 1};
    if (cb_model_start(m, &ps, &env, err, sizeof err) < 0)
        CB_FAIL_("starting csp: %s", err);
    current_case = cases[c].fn;
    CHECK_EQ(cb_model_run(root, NULL), 0);
    if (cases[c].left > 0) {
        char want[64];
        snprintf(want, sizeof want, "%d tasks still running", cases[c].left);
        CHECK(cb_model_stop(err, sizeof err) < 0);
        if (!strstr(err, want))
            CB_FAIL_("stop said \"%s\", not \"%s\"", err, want);
        /* The stragglers still run: leave without tearing anything down
         * (no exit handlers, no leak report of what they hold). */
        fflush(stdout);
        _exit(0);
    }
    if (cb_model_stop(err, sizeof err) < 0)
        CB_FAIL_("stopping csp: %s", err);
    return cb_test_exit();
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (size_t c = 0; c < NCASES; c++)
            printf("%s\n", cases[c].name);
        return 0;
    }
    if (argc >= 2) {
        for (size_t c = 0; c < NCASES; c++)
            if (strcmp(cases[c].name, argv[1]) == 0)
                return run_case(c, argc - 2, argv + 2);
        CB_FAIL_("unknown case %s", argv[1]);
    }
    /* Every case under its parameters, each in its own process. */
    int failed = 0, inconclusive = 0;
    for (size_t c = 0; c < NCASES; c++) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0)
            _exit(run_case(c, 0, NULL));
        int st;
        waitpid(pid, &st, 0);
        if (WIFEXITED(st) && WEXITSTATUS(st) == CB_TEST_SKIP) {
            inconclusive++;
            printf("INCONCLUSIVE %s\n", cases[c].name);
        } else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            failed++;
            printf("FAIL %s\n", cases[c].name);
        }
    }
    printf("%zu cases, %d failed, %d inconclusive\n", NCASES, failed,
           inconclusive);
    if (inconclusive && !failed)
        fprintf(stderr, "skip: inconclusive: %d timing checks failed on a "
                        "busy machine\n",
                inconclusive);
    return failed ? 1 : inconclusive ? CB_TEST_SKIP : 0;
}
