/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Semantics every model owes, written once against models/model.h and run
 * against each registered model (SQLite's and Concurrency Kit's habit: one
 * validation, every implementation, the `threads` model as the baseline).
 *
 *   test_semantics --list            the case names, one per line
 *   test_semantics MODEL CASE        one case on one model
 *   test_semantics                   every case on every model (ctest)
 *
 * A case that needs a capability the model declares unsupported exits 77
 * with the model's reason, which pytest reports as a skip with that reason.
 * Timing checks have wide margins: they catch "never" and "far too early",
 * not jitter.
 */
#include "tests/c/cb_test.h"

#include "models/model.h"

#include <poll.h>
#include <stdatomic.h>
#include <unistd.h>
#include <sys/wait.h>

#define MS 1000000LL

typedef void (*case_fn)(void);

static cb_port_t *open_port(cb_port_policy_t policy, size_t cap)
{
    cb_port_opts_t o = {.policy = policy, .capacity = cap};
    cb_port_t *p = NULL;
    CHECK_EQ(cb_port_open(&o, &p), 0);
    return p;
}

static cb_term_t recv_ok(cb_port_t *p)
{
    cb_term_t m = CB_NIL;
    CHECK_EQ(cb_recv(p, &m, 10000 * MS), 0);
    return m;
}

/* ---- fifo per sender ---- */

#define FIFO_SENDERS 4
#define FIFO_N 2000

typedef struct fifo_arg {
    cb_port_t *to;
    int id;
} fifo_arg_t;

static void fifo_sender(void *arg)
{
    fifo_arg_t *a = arg;
    for (int i = 0; i < FIFO_N; i++)
        CHECK_EQ(cb_send(a->to, cb_tuple2(cb_int(a->id), cb_int(i))), 0);
}

static void case_fifo_per_sender(void)
{
    cb_port_t *p = open_port(CB_PORT_DEFAULT, 0);
    fifo_arg_t args[FIFO_SENDERS];
    cb_task_t *t[FIFO_SENDERS];
    for (int i = 0; i < FIFO_SENDERS; i++) {
        args[i] = (fifo_arg_t){p, i};
        CHECK_EQ(cb_spawn(fifo_sender, &args[i], NULL, &t[i]), 0);
    }
    int next[FIFO_SENDERS] = {0};
    for (int k = 0; k < FIFO_SENDERS * FIFO_N; k++) {
        cb_term_t m = recv_ok(p);
        int id = (int)cb_int_value(cb_tuple_elem(m, 0));
        int seq = (int)cb_int_value(cb_tuple_elem(m, 1));
        CHECK(id >= 0 && id < FIFO_SENDERS);
        CHECK_EQ(seq, next[id]);
        next[id]++;
        cb_term_release(m);
    }
    for (int i = 0; i < FIFO_SENDERS; i++)
        CHECK_EQ(cb_join(t[i]), 0);
    CHECK_EQ(cb_port_length(p), 0);
    cb_port_free(p);
}

/* ---- terms arrive intact ---- */

static void case_terms_intact(void)
{
    cb_port_t *p = open_port(CB_PORT_DEFAULT, 0);
    char big[200], small[10];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)i;
    memset(small, 7, sizeof small);
    cb_term_t t = cb_tuple3(cb_atom("hello"), cb_binary(big, sizeof big),
                            cb_tuple2(cb_binary(small, sizeof small),
                                      cb_int(-42)));
    cb_term_t expect = cb_term_copy(t);
    CHECK_EQ(cb_send(p, t), 0);
    CHECK_EQ(cb_send(p, cb_make_ref()), 0);
    cb_term_t got = recv_ok(p);
    CHECK(cb_term_equal(got, expect));
    CHECK_STREQ(cb_atom_name(cb_tuple_elem(got, 0)), "hello");
    CHECK(cb_binary_is_refc(cb_tuple_elem(got, 1)));
    CHECK(!cb_binary_is_refc(cb_tuple_elem(cb_tuple_elem(got, 2), 0)));
    CHECK(cb_is_ref(recv_ok(p)));
    cb_term_release(got);
    cb_term_release(expect);
    cb_port_free(p);
}

/* ---- timeouts ---- */

static void case_recv_timeout(void)
{
    cb_port_t *p = open_port(CB_PORT_DEFAULT, 0);
    cb_term_t m;
    int64_t t0 = cb_now_ns();
    CHECK_EQ(cb_recv(p, &m, 0), -ETIMEDOUT);
    CHECK_LT(cb_now_ns() - t0, cb_test_scaled_ns(1000 * MS));
    t0 = cb_now_ns();
    CHECK_EQ(cb_recv(p, &m, 30 * MS), -ETIMEDOUT);
    int64_t waited = cb_now_ns() - t0;
    CHECK_GE(waited, 30 * MS);
    CHECK_LT(waited, cb_test_scaled_ns(5000 * MS));
    cb_port_free(p);
}

/* ---- close ---- */

static void case_close_drains(void)
{
    cb_port_t *p = open_port(CB_PORT_DEFAULT, 0);
    for (int i = 0; i < 3; i++)
        CHECK_EQ(cb_send(p, cb_int(i)), 0);
    CHECK_EQ(cb_port_close(p), 0);
    /* What a send to a closed port does is the real system's answer:
     * core.async's put! returns false, Go panics, a JVM queue throws (all
     * -EPIPE here); a BEAM send never fails, and the message is dropped
     * (unalias/1; the model lists CB_CAP_SEND_REFUSED as unsupported).
     * Either way it is never received. */
    if (cb_model_unsupported(cb__active, CB_CAP_SEND_REFUSED))
        CHECK_EQ(cb_send(p, cb_int(99)), 0);
    else
        CHECK_EQ(cb_send(p, cb_int(99)), -EPIPE);
    for (int i = 0; i < 3; i++)
        CHECK_EQ(cb_int_value(recv_ok(p)), i);
    cb_term_t m;
    CHECK_EQ(cb_recv(p, &m, 1000 * MS), -EPIPE);
    cb_port_free(p);
}

typedef struct blocked_recv {
    cb_port_t *p, *report;
} blocked_recv_t;

static void recv_until_closed(void *arg)
{
    blocked_recv_t *b = arg;
    cb_term_t m;
    int rc = cb_recv(b->p, &m, CB_FOREVER);
    cb_send(b->report, cb_int(rc));
}

static void case_close_wakes_receiver(void)
{
    blocked_recv_t b = {open_port(CB_PORT_DEFAULT, 0),
                        open_port(CB_PORT_DEFAULT, 0)};
    cb_task_t *t;
    CHECK_EQ(cb_spawn(recv_until_closed, &b, NULL, &t), 0);
    cb_term_t m;
    /* Still blocked after a while: nothing was sent. */
    CHECK_EQ(cb_recv(b.report, &m, 50 * MS), -ETIMEDOUT);
    CHECK_EQ(cb_port_close(b.p), 0);
    CHECK_EQ(cb_int_value(recv_ok(b.report)), -EPIPE);
    CHECK_EQ(cb_join(t), 0);
    cb_port_free(b.p);
    cb_port_free(b.report);
}

/* ---- select ---- */

static void case_select_ready(void)
{
    cb_port_t *a = open_port(CB_PORT_DEFAULT, 0);
    cb_port_t *b = open_port(CB_PORT_DEFAULT, 0);
    CHECK_EQ(cb_send(b, cb_int(5)), 0);
    cb_select_op_t ops[2] = {{a, CB_SELECT_RECV, CB_NIL, 0},
                             {b, CB_SELECT_RECV, CB_NIL, 0}};
    CHECK_EQ(cb_select(ops, 2, 0, 1000 * MS), 1);
    CHECK_EQ(cb_int_value(ops[1].msg), 5);
    CHECK_EQ(ops[1].status, 0);
    /* Nothing ready: timeout 0 is alts' `default`. */
    int64_t t0 = cb_now_ns();
    CHECK_EQ(cb_select(ops, 2, 0, 0), -ETIMEDOUT);
    CHECK_EQ(cb_select(ops, 2, 0, 30 * MS), -ETIMEDOUT);
    CHECK_GE(cb_now_ns() - t0, 30 * MS);
    cb_port_free(a);
    cb_port_free(b);
}

static void case_select_priority_and_random(void)
{
    cb_port_t *a = open_port(CB_PORT_DEFAULT, 0);
    cb_port_t *b = open_port(CB_PORT_DEFAULT, 0);
    int chosen[2] = {0, 0};
    for (int i = 0; i < 400; i++) {
        CHECK_EQ(cb_send(a, cb_int(0)), 0);
        CHECK_EQ(cb_send(b, cb_int(1)), 0);
        cb_select_op_t ops[2] = {{a, CB_SELECT_RECV, CB_NIL, 0},
                                 {b, CB_SELECT_RECV, CB_NIL, 0}};
        int prio = i < 200;
        int k = cb_select(ops, 2, prio ? CB_SELECT_PRIORITY : 0, 1000 * MS);
        CHECK(k == 0 || k == 1);
        CHECK_EQ(cb_int_value(ops[k].msg), k);
        if (prio)
            CHECK_EQ(k, 0);
        else
            chosen[k]++;
        /* Drain the other one. */
        cb_term_t m = recv_ok(k == 0 ? b : a);
        CHECK_EQ(cb_int_value(m), 1 - k);
    }
    /* Random choice among ready ops: both sides get picked (200 fair coin
     * flips land under 30 on one side with probability ~1e-26). */
    CHECK_GE(chosen[0], 30);
    CHECK_GE(chosen[1], 30);
    cb_port_free(a);
    cb_port_free(b);
}

typedef struct delayed_send {
    cb_port_t *to;
    int64_t delay_ns;
    int value;
} delayed_send_t;

static void send_later(void *arg)
{
    delayed_send_t *d = arg;
    cb_sleep(d->delay_ns);
    CHECK_EQ(cb_send(d->to, cb_int(d->value)), 0);
}

static void case_select_wakes(void)
{
    cb_port_t *p[3];
    cb_select_op_t ops[3];
    for (int i = 0; i < 3; i++) {
        p[i] = open_port(CB_PORT_DEFAULT, 0);
        ops[i] = (cb_select_op_t){p[i], CB_SELECT_RECV, CB_NIL, 0};
    }
    delayed_send_t d = {p[2], 30 * MS, 77};
    cb_task_t *t;
    CHECK_EQ(cb_spawn(send_later, &d, NULL, &t), 0);
    CHECK_EQ(cb_select(ops, 3, 0, 10000 * MS), 2);
    CHECK_EQ(cb_int_value(ops[2].msg), 77);
    CHECK_EQ(cb_join(t), 0);
    /* A closed port is ready: its op completes with -EPIPE. */
    CHECK_EQ(cb_port_close(p[1]), 0);
    CHECK_EQ(cb_select(ops, 3, 0, 10000 * MS), 1);
    CHECK_EQ(ops[1].status, -EPIPE);
    for (int i = 0; i < 3; i++)
        cb_port_free(p[i]);
}

static void case_select_send(void)
{
    cb_port_t *full = open_port(CB_PORT_FIXED, 1);
    cb_port_t *room = open_port(CB_PORT_FIXED, 1);
    CHECK_EQ(cb_send(full, cb_int(1)), 0);
    cb_select_op_t ops[2] = {{full, CB_SELECT_SEND, cb_int(2), 0},
                             {room, CB_SELECT_SEND, cb_int(3), 0}};
    CHECK_EQ(cb_select(ops, 2, 0, 1000 * MS), 1);
    CHECK_EQ(cb_port_length(room), 1);
    CHECK_EQ(cb_port_length(full), 1);
    CHECK_EQ(cb_int_value(recv_ok(room)), 3);
    cb_port_free(full);
    cb_port_free(room);
}

/* ---- buffer policies ---- */

typedef struct flood {
    cb_port_t *to, *done;
    int n;
} flood_t;

static void send_n_then_done(void *arg)
{
    flood_t *f = arg;
    for (int i = 0; i < f->n; i++)
        CHECK_EQ(cb_send(f->to, cb_int(i)), 0);
    cb_send(f->done, cb_atom("done"));
}

static void case_fixed_backpressure(void)
{
    flood_t f = {open_port(CB_PORT_FIXED, 2), open_port(CB_PORT_DEFAULT, 0),
                 6};
    cb_task_t *t;
    CHECK_EQ(cb_spawn(send_n_then_done, &f, NULL, &t), 0);
    cb_term_t m;
    /* The sender fills the buffer and blocks. */
    CHECK_EQ(cb_recv(f.done, &m, 100 * MS), -ETIMEDOUT);
    CHECK_EQ(cb_port_length(f.to), 2);
    for (int i = 0; i < f.n; i++)
        CHECK_EQ(cb_int_value(recv_ok(f.to)), i);
    CHECK(recv_ok(f.done) == cb_atom("done"));
    CHECK_EQ(cb_join(t), 0);
    cb_port_free(f.to);
    cb_port_free(f.done);
}

static void case_sliding_drops(void)
{
    cb_port_t *p = open_port(CB_PORT_SLIDING, 3);
    int dropped = 0;
    for (int i = 0; i < 10; i++) {
        int rc = cb_send(p, cb_int(i));
        CHECK(rc == 0 || rc == CB_SEND_DROPPED);
        dropped += rc == CB_SEND_DROPPED;
    }
    CHECK_EQ(dropped, 7);
    for (int i = 7; i < 10; i++) /* the newest survive */
        CHECK_EQ(cb_int_value(recv_ok(p)), i);
    CHECK_EQ(cb_port_length(p), 0);
    cb_port_free(p);
}

static void case_dropping_drops(void)
{
    cb_port_t *p = open_port(CB_PORT_DROPPING, 3);
    int dropped = 0;
    for (int i = 0; i < 10; i++)
        dropped += cb_send(p, cb_int(i)) == CB_SEND_DROPPED;
    CHECK_EQ(dropped, 7);
    for (int i = 0; i < 3; i++) /* the oldest survive */
        CHECK_EQ(cb_int_value(recv_ok(p)), i);
    CHECK_EQ(cb_port_length(p), 0);
    cb_port_free(p);
}

static void case_rendezvous(void)
{
    flood_t f = {open_port(CB_PORT_RENDEZVOUS, 0),
                 open_port(CB_PORT_DEFAULT, 0), 1};
    cb_task_t *t;
    CHECK_EQ(cb_spawn(send_n_then_done, &f, NULL, &t), 0);
    cb_term_t m;
    /* The put does not complete until a take receives it. */
    CHECK_EQ(cb_recv(f.done, &m, 100 * MS), -ETIMEDOUT);
    CHECK_EQ(cb_int_value(recv_ok(f.to)), 0);
    CHECK(recv_ok(f.done) == cb_atom("done"));
    CHECK_EQ(cb_join(t), 0);
    cb_port_free(f.to);
    cb_port_free(f.done);
}

/* ---- selective receive ---- */

static bool is_two(cb_term_t m, void *ctx)
{
    (void)ctx;
    return cb_is_int(m) && cb_int_value(m) == 2;
}

static void case_recv_match(void)
{
    cb_port_t *p = open_port(CB_PORT_DEFAULT, 0);
    for (int i = 1; i <= 4; i++)
        CHECK_EQ(cb_send(p, cb_int(i)), 0);
    cb_term_t m;
    CHECK_EQ(cb_recv_match(p, is_two, NULL, &m, 1000 * MS), 0);
    CHECK_EQ(cb_int_value(m), 2);
    /* Non-matching messages stay, in order. */
    CHECK_EQ(cb_recv_match(p, is_two, NULL, &m, 20 * MS), -ETIMEDOUT);
    CHECK_EQ(cb_int_value(recv_ok(p)), 1);
    CHECK_EQ(cb_int_value(recv_ok(p)), 3);
    CHECK_EQ(cb_int_value(recv_ok(p)), 4);
    cb_port_free(p);
}

/* ---- waiting ---- */

static void case_sleep(void)
{
    int64_t t0 = cb_now_ns();
    CHECK_EQ(cb_sleep(20 * MS), 0);
    int64_t d = cb_now_ns() - t0;
    CHECK_GE(d, 20 * MS);
    CHECK_LT(d, cb_test_scaled_ns(5000 * MS));
}

typedef struct io_arg {
    int fd;
    cb_port_t *report;
} io_arg_t;

static void wait_readable(void *arg)
{
    io_arg_t *a = arg;
    int rc = cb_io_wait(a->fd, POLLIN, 10000 * MS);
    cb_send(a->report, cb_int(rc));
}

static void case_io_wait(void)
{
    int fds[2];
    CHECK_EQ(pipe(fds), 0);
    CHECK_EQ(cb_io_wait(fds[0], POLLIN, 20 * MS), -ETIMEDOUT);
    CHECK(cb_io_wait(fds[1], POLLOUT, 1000 * MS) & POLLOUT);
    io_arg_t a = {fds[0], open_port(CB_PORT_DEFAULT, 0)};
    cb_task_t *t;
    CHECK_EQ(cb_spawn(wait_readable, &a, NULL, &t), 0);
    cb_term_t m;
    CHECK_EQ(cb_recv(a.report, &m, 50 * MS), -ETIMEDOUT);
    CHECK_EQ(write(fds[1], "x", 1), 1);
    CHECK(cb_int_value(recv_ok(a.report)) & POLLIN);
    CHECK_EQ(cb_join(t), 0);
    close(fds[0]);
    close(fds[1]);
    cb_port_free(a.report);
}

/* ---- tasks ---- */

static void bump(void *arg)
{
    _Atomic int *n = arg;
    for (int i = 0; i < 10000; i++)
        cb_reduce(1);
    atomic_fetch_add(n, 1);
}

static void case_spawn_join(void)
{
    _Atomic int n = 0;
    cb_task_t *t[200];
    for (int i = 0; i < 200; i++)
        CHECK_EQ(cb_spawn(bump, &n, NULL, &t[i]), 0);
    for (int i = 0; i < 200; i++)
        CHECK_EQ(cb_join(t[i]), 0);
    CHECK_EQ(atomic_load(&n), 200);
    CHECK(cb_self() != NULL);
    CHECK_NE(cb_task_id(cb_self()), 0);
}

/* ---- cells ---- */

#define CELLS 8
#define MOVERS 4
#define MOVES 5000

typedef struct cells_arg {
    cb_cell_t **cells;
    int id;
    cb_port_t *done;
} cells_arg_t;

static void move_one(int64_t *v, size_t n, void *arg)
{
    (void)n, (void)arg;
    v[0] -= 1;
    v[1] += 1;
}

static void mover(void *arg)
{
    cells_arg_t *a = arg;
    uint64_t x = (uint64_t)a->id * 2654435761u + 1;
    for (int i = 0; i < MOVES; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        cb_cell_t *pair[2] = {a->cells[x % CELLS], a->cells[(x >> 8) % CELLS]};
        if (pair[0] == pair[1])
            continue;
        CHECK_EQ(cb_cells_update(pair, 2, move_one, NULL), 0);
    }
    cb_send(a->done, cb_int(a->id));
}

static void case_cells_conserve(void)
{
    cb_cell_t *cells[CELLS];
    for (int i = 0; i < CELLS; i++)
        CHECK_EQ(cb_cell_new(1000, &cells[i]), 0);
    cb_port_t *done = open_port(CB_PORT_DEFAULT, 0);
    cells_arg_t args[MOVERS];
    cb_task_t *t[MOVERS];
    for (int i = 0; i < MOVERS; i++) {
        args[i] = (cells_arg_t){cells, i, done};
        CHECK_EQ(cb_spawn(mover, &args[i], NULL, &t[i]), 0);
    }
    int finished = 0;
    int64_t snapshots = 0;
    while (finished < MOVERS) {
        /* Audits run concurrently with the transfers: never torn. */
        int64_t v[CELLS], sum = 0;
        CHECK_EQ(cb_cells_read(cells, CELLS, v), 0);
        for (int i = 0; i < CELLS; i++)
            sum += v[i];
        CHECK_EQ(sum, CELLS * 1000);
        snapshots++;
        cb_term_t m;
        if (cb_recv(done, &m, 0) == 0)
            finished++;
    }
    CHECK_GT(snapshots, 0);
    for (int i = 0; i < MOVERS; i++)
        CHECK_EQ(cb_join(t[i]), 0);
    for (int i = 0; i < CELLS; i++)
        cb_cell_free(cells[i]);
    cb_port_free(done);
}

/* ---- the table of cases ---- */

static const struct {
    const char *name;
    case_fn fn;
    cb_cap_t needs; /* 0: every model must pass */
} cases[] = {
    {"fifo_per_sender", case_fifo_per_sender, 0},
    {"terms_intact", case_terms_intact, 0},
    {"recv_timeout", case_recv_timeout, 0},
    {"close_drains", case_close_drains, 0},
    {"close_wakes_receiver", case_close_wakes_receiver, 0},
    {"select_ready", case_select_ready, 0},
    {"select_priority_and_random", case_select_priority_and_random, 0},
    {"select_wakes", case_select_wakes, 0},
    {"select_send", case_select_send, CB_CAP_SELECT_SEND},
    {"fixed_backpressure", case_fixed_backpressure, CB_CAP_PORT_FIXED},
    {"sliding_drops", case_sliding_drops, CB_CAP_PORT_SLIDING},
    {"dropping_drops", case_dropping_drops, CB_CAP_PORT_DROPPING},
    {"rendezvous", case_rendezvous, CB_CAP_PORT_RENDEZVOUS},
    {"recv_match", case_recv_match, CB_CAP_RECV_MATCH},
    {"sleep", case_sleep, 0},
    {"io_wait", case_io_wait, CB_CAP_IO_WAIT},
    {"spawn_join", case_spawn_join, 0},
    {"cells_conserve", case_cells_conserve, 0},
};
#define NCASES (sizeof cases / sizeof cases[0])

static case_fn current_case;

static void root(void *arg)
{
    (void)arg;
    current_case();
}

static int run_case(const cb_model_t *m, size_t c)
{
    const char *why = cases[c].needs ? cb_model_unsupported(m, cases[c].needs)
                                     : NULL;
    if (why)
        SKIP("%s does not support %s: %s", m->name,
             cb_cap_name(cases[c].needs), why);
    cb_param_set_t ps;
    cb_params_defaults(&ps, m->params, true);
    int cpus[2] = {0, 1};
    cb_model_env_t env = {.cpus = cpus, .ncpus = 0, .seed = 1};
    char err[256] = "";
    if (cb_model_start(m, &ps, &env, err, sizeof err) < 0)
        CB_FAIL_("starting %s: %s", m->name, err);
    current_case = cases[c].fn;
    CHECK_EQ(cb_model_run(root, NULL), 0);
    if (cb_model_stop(err, sizeof err) < 0)
        CB_FAIL_("stopping %s: %s", m->name, err);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (size_t c = 0; c < NCASES; c++)
            printf("%s\n", cases[c].name);
        return 0;
    }
    if (argc == 3) {
        const cb_model_t *m = cb_model_find(argv[1]);
        if (!m)
            CB_FAIL_("unknown model %s", argv[1]);
        for (size_t c = 0; c < NCASES; c++)
            if (strcmp(cases[c].name, argv[2]) == 0)
                return run_case(m, c);
        CB_FAIL_("unknown case %s", argv[2]);
    }
    /* Everything, each case in its own process so one crash is one
     * failure and unsupported cases count as skips. */
    int failed = 0, passed = 0, skipped = 0;
    for (size_t i = 0; i < cb_model_count(); i++) {
        for (size_t c = 0; c < NCASES; c++) {
            fflush(stdout);
            pid_t pid = fork();
            if (pid == 0) {
                freopen("/dev/null", "w", stderr);
                _exit(run_case(cb_model_at(i), c));
            }
            int st;
            waitpid(pid, &st, 0);
            int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
            if (code == 0)
                passed++;
            else if (code == CB_TEST_SKIP)
                skipped++;
            else {
                failed++;
                printf("FAIL %s %s\n", cb_model_at(i)->name, cases[c].name);
            }
        }
    }
    printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    return failed ? 1 : 0;
}
