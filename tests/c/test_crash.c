/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Crash isolation: exit reasons, links, monitors, trap_exit, exit/2 and
 * the supervisor, by Erlang's rules on `actor` (models/actor/exit.c has
 * the rules and their sources), and what each other model's real system
 * does instead.
 *
 *   test_crash --list           the case names ("MODEL:" cases run on a
 *                               model given as well)
 *   test_crash CASE             an actor case
 *   test_crash MODEL CASE       a per-model case
 *
 * Every wait has a generous timeout and checks "never" or "at once", not
 * how fast.
 */
#include "tests/c/cb_test.h"

#include "models/model.h"
#include "workloads/supervisor.h"

#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>

#define MS 1000000LL
#define LONG (20000 * MS)

typedef void (*case_fn)(void);

static cb_term_t a(const char *name)
{
    return cb_atom(name);
}

static cb_port_t *port(void)
{
    cb_port_t *p = NULL;
    CHECK_EQ(cb_port_open(NULL, &p), 0);
    return p;
}

static cb_term_t recv_ok(cb_port_t *p)
{
    cb_term_t m = CB_NIL;
    CHECK_EQ(cb_recv(p, &m, LONG), 0);
    return m;
}

static void expect_nothing(cb_port_t *p, int64_t ns)
{
    cb_term_t m = CB_NIL;
    CHECK_EQ(cb_recv(p, &m, ns), -ETIMEDOUT);
}

/* The reason of the DOWN for ref; checks the message's shape. */
static cb_term_t down_reason(cb_port_t *p, cb_term_t ref, cb_task_t *t)
{
    cb_term_t m = recv_ok(p);
    CHECK(cb_is_tuple(m) && cb_tuple_arity(m) == 5);
    CHECK(cb_tuple_elem(m, 0) == a("DOWN"));
    CHECK(cb_tuple_elem(m, 1) == ref);
    CHECK(cb_tuple_elem(m, 2) == a("process"));
    CHECK(cb_tuple_elem(m, 3) == cb_pid(t));
    cb_term_t r = cb_term_copy(cb_tuple_elem(m, 4));
    cb_term_release(m);
    return r;
}

/* The reason of an {'EXIT', Pid, Reason} from t. */
static cb_term_t exit_reason(cb_port_t *p, cb_task_t *t)
{
    cb_term_t m = recv_ok(p);
    CHECK(cb_is_tuple(m) && cb_tuple_arity(m) == 3);
    CHECK(cb_tuple_elem(m, 0) == a("EXIT"));
    CHECK(cb_tuple_elem(m, 1) == cb_pid(t));
    cb_term_t r = cb_term_copy(cb_tuple_elem(m, 2));
    cb_term_release(m);
    return r;
}

static bool is_boom(cb_term_t r)
{
    return cb_is_tuple(r) && cb_tuple_arity(r) == 2 &&
           cb_tuple_elem(r, 0) == a("boom") &&
           cb_int_value(cb_tuple_elem(r, 1)) == 42;
}

/* ---- task bodies ---- */

typedef struct ctl {
    cb_port_t *in;       /* what it waits on */
    cb_port_t *out;      /* what it reports to */
    cb_port_t *trap;     /* its trap mailbox, when trapping */
    cb_task_t *peer;     /* whom it links to */
    cb_term_t exit_with; /* its reason when told `go` */
} ctl_t;

/* Waits for a message; `go` ends it with exit_with, `ping` is answered
 * with `pong`, anything else too. */
static void waiter_main(void *arg)
{
    ctl_t *c = arg;
    if (c->trap)
        CHECK_EQ(cb_trap_exit(c->trap), 0);
    if (c->peer)
        CHECK_EQ(cb_link(c->peer), 0);
    CHECK_EQ(cb_send(c->out, a("ready")), 0);
    for (;;) {
        cb_term_t m = recv_ok(c->in);
        if (m == a("go"))
            cb_exit(cb_term_copy(c->exit_with));
        if (m == a("return"))
            return;
        cb_term_release(m);
        CHECK_EQ(cb_send(c->out, a("pong")), 0);
    }
}

static cb_task_t *start(ctl_t *c, cb_port_t *mon, cb_term_t *ref)
{
    cb_task_t *t;
    cb_spawn_opts_t o = {.monitor_mailbox = mon, .monitor_ref = ref};
    CHECK_EQ(cb_spawn(waiter_main, c, mon ? &o : NULL, &t), 0);
    CHECK(recv_ok(c->out) == a("ready"));
    return t;
}

static void alive(ctl_t *c)
{
    CHECK_EQ(cb_send(c->in, a("ping")), 0);
    CHECK(recv_ok(c->out) == a("pong"));
}

/* ---- links ---- */

static void case_link_abnormal_kills(void)
{
    cb_port_t *mon = port();
    ctl_t b = {port(), port(), NULL, NULL,
               cb_tuple2(a("boom"), cb_int(42))};
    cb_term_t rb, ra;
    cb_task_t *tb = start(&b, mon, &rb);
    ctl_t c = {port(), port(), NULL, tb, a("normal")};
    cb_task_t *tc = start(&c, mon, &ra);
    CHECK_EQ(cb_send(b.in, a("go")), 0);
    /* B crashes with {boom,42}; linked, not trapping, C dies with it. */
    cb_term_t r = down_reason(mon, rb, tb);
    CHECK(is_boom(r));
    cb_term_release(r);
    r = down_reason(mon, ra, tc);
    CHECK(is_boom(r));
    cb_term_release(r);
    CHECK_EQ(cb_join(tb), 0);
    CHECK_EQ(cb_join(tc), 0);
    cb_term_release(b.exit_with);
}

static void case_link_normal_ignored(void)
{
    cb_port_t *mon = port();
    ctl_t b = {port(), port(), NULL, NULL, a("normal")};
    cb_term_t rb;
    cb_task_t *tb = start(&b, mon, &rb);
    ctl_t c = {port(), port(), NULL, tb, a("normal")};
    cb_task_t *tc = start(&c, NULL, NULL);
    CHECK_EQ(cb_send(b.in, a("go")), 0);
    CHECK(down_reason(mon, rb, tb) == a("normal"));
    /* `normal` does not kill a linked process that does not trap. */
    alive(&c);
    CHECK_EQ(cb_send(c.in, a("return")), 0);
    CHECK_EQ(cb_join(tb), 0);
    CHECK_EQ(cb_join(tc), 0);
}

static void case_trap_exit_messages(void)
{
    ctl_t b = {port(), port(), NULL, NULL,
               cb_tuple2(a("boom"), cb_int(42))};
    cb_task_t *tb = start(&b, NULL, NULL);
    ctl_t d = {port(), port(), NULL, NULL, a("normal")};
    cb_task_t *td = start(&d, NULL, NULL);
    cb_port_t *trap = port();
    CHECK_EQ(cb_trap_exit(trap), 0);
    CHECK_EQ(cb_link(tb), 0);
    CHECK_EQ(cb_link(td), 0);
    CHECK_EQ(cb_send(b.in, a("go")), 0);
    cb_term_t r = exit_reason(trap, tb);
    CHECK(is_boom(r)); /* trapped: a message, and we live on */
    cb_term_release(r);
    CHECK_EQ(cb_send(d.in, a("go")), 0);
    CHECK(exit_reason(trap, td) == a("normal"));
    /* exit/2 with any reason but kill is a message too, even `normal`. */
    CHECK_EQ(cb_exit_task(cb_self(), a("normal")), 0);
    CHECK(exit_reason(trap, cb_self()) == a("normal"));
    CHECK_EQ(cb_trap_exit(NULL), 0);
    CHECK_EQ(cb_join(tb), 0);
    CHECK_EQ(cb_join(td), 0);
    cb_term_release(b.exit_with);
}

static void case_kill_untrappable(void)
{
    cb_port_t *mon = port();
    /* B traps exits and is killed: it dies with `killed`, and its trapping
     * link C gets {'EXIT', B, killed}. */
    ctl_t b = {port(), port(), port(), NULL, a("normal")};
    cb_term_t rb;
    cb_task_t *tb = start(&b, mon, &rb);
    cb_port_t *trap = port();
    CHECK_EQ(cb_trap_exit(trap), 0);
    CHECK_EQ(cb_link(tb), 0);
    CHECK_EQ(cb_exit_task(tb, a("shutdown")), 0);
    /* Trapped: B got a message and lives. */
    cb_term_t m = recv_ok(b.trap);
    CHECK(cb_tuple_elem(m, 2) == a("shutdown"));
    cb_term_release(m);
    alive(&b);
    CHECK_EQ(cb_exit_task(tb, a("kill")), 0);
    CHECK(down_reason(mon, rb, tb) == a("killed"));
    CHECK(exit_reason(trap, tb) == a("killed"));
    CHECK_EQ(cb_trap_exit(NULL), 0);
    CHECK_EQ(cb_join(tb), 0);
}

static void case_exit2_rules(void)
{
    cb_port_t *mon = port();
    ctl_t b = {port(), port(), NULL, NULL, a("normal")};
    cb_term_t rb;
    cb_task_t *tb = start(&b, mon, &rb);
    /* exit(Pid, normal) does nothing to a process that does not trap. */
    CHECK_EQ(cb_exit_task(tb, a("normal")), 0);
    alive(&b);
    /* Any other reason ends it with that reason. */
    CHECK_EQ(cb_exit_task(tb, a("stop_now")), 0);
    CHECK(down_reason(mon, rb, tb) == a("stop_now"));
    CHECK_EQ(cb_join(tb), 0);
    /* A signal to a process that is gone goes nowhere. */
    CHECK_EQ(cb_exit_task(tb, a("again")), 0);
}

static void self_normal_main(void *arg)
{
    ctl_t *c = arg;
    cb_exit_task(cb_self(), a("normal"));
    /* Not reached: exit(self(), normal) ends the caller. */
    CHECK_EQ(cb_send(c->out, a("survived")), 0);
}

static void case_exit_self_normal(void)
{
    cb_port_t *mon = port();
    ctl_t c = {port(), port(), NULL, NULL, CB_NIL};
    cb_term_t ref;
    cb_task_t *t;
    cb_spawn_opts_t o = {.monitor_mailbox = mon, .monitor_ref = &ref};
    CHECK_EQ(cb_spawn(self_normal_main, &c, &o, &t), 0);
    CHECK(down_reason(mon, ref, t) == a("normal"));
    expect_nothing(c.out, 50 * MS);
    CHECK_EQ(cb_join(t), 0);
}

/* ---- the dead: noproc ---- */

static void quick_main(void *arg)
{
    (void)arg;
}

static void case_monitor_dead_noproc(void)
{
    cb_port_t *mon = port();
    cb_term_t ref0;
    cb_task_t *t;
    cb_spawn_opts_t o = {.monitor_mailbox = mon, .monitor_ref = &ref0};
    CHECK_EQ(cb_spawn(quick_main, NULL, &o, &t), 0);
    CHECK(down_reason(mon, ref0, t) == a("normal"));
    /* Dead (not joined yet, so still named): DOWN noproc at once. */
    cb_term_t ref;
    CHECK_EQ(cb_monitor(t, mon, &ref), 0);
    cb_term_t m;
    CHECK_EQ(cb_recv(mon, &m, 0), 0);
    CHECK(cb_tuple_elem(m, 0) == a("DOWN") && cb_tuple_elem(m, 1) == ref);
    CHECK(cb_tuple_elem(m, 4) == a("noproc"));
    cb_term_release(m);
    CHECK_EQ(cb_join(t), 0);
}

typedef struct linker {
    cb_task_t *dead;
    cb_port_t *out;
} linker_t;

static void link_dead_main(void *arg)
{
    linker_t *l = arg;
    cb_link(l->dead);
    CHECK_EQ(cb_send(l->out, a("survived")), 0);
}

static void case_link_dead_noproc(void)
{
    cb_port_t *mon = port();
    cb_task_t *dead;
    CHECK_EQ(cb_spawn(quick_main, NULL, NULL, &dead), 0);
    cb_term_t rd;
    CHECK_EQ(cb_monitor(dead, mon, &rd), 0);
    cb_term_t r = down_reason(mon, rd, dead);
    CHECK(r == a("normal") || r == a("noproc"));
    /* Trapping: an {'EXIT', Pid, noproc} message. */
    cb_port_t *trap = port();
    CHECK_EQ(cb_trap_exit(trap), 0);
    CHECK_EQ(cb_link(dead), 0);
    CHECK(exit_reason(trap, dead) == a("noproc"));
    CHECK_EQ(cb_trap_exit(NULL), 0);
    /* Not trapping: the caller exits with noproc. */
    linker_t l = {dead, port()};
    cb_term_t ref;
    cb_task_t *t;
    cb_spawn_opts_t o = {.monitor_mailbox = mon, .monitor_ref = &ref};
    CHECK_EQ(cb_spawn(link_dead_main, &l, &o, &t), 0);
    CHECK(down_reason(mon, ref, t) == a("noproc"));
    expect_nothing(l.out, 50 * MS);
    CHECK_EQ(cb_join(t), 0);
    CHECK_EQ(cb_join(dead), 0);
}

static void case_unlink_and_demonitor(void)
{
    cb_port_t *mon = port();
    ctl_t b = {port(), port(), NULL, NULL,
               cb_tuple2(a("boom"), cb_int(42))};
    cb_term_t rb;
    cb_task_t *tb = start(&b, mon, &rb);
    cb_port_t *mon2 = port();
    cb_term_t r2;
    CHECK_EQ(cb_monitor(tb, mon2, &r2), 0);
    CHECK_EQ(cb_demonitor(r2), 0);
    cb_port_t *trap = port();
    CHECK_EQ(cb_trap_exit(trap), 0);
    CHECK_EQ(cb_link(tb), 0);
    CHECK_EQ(cb_link(tb), 0); /* one link per pair */
    CHECK_EQ(cb_unlink(tb), 0);
    CHECK_EQ(cb_send(b.in, a("go")), 0);
    cb_term_t r = down_reason(mon, rb, tb);
    CHECK(is_boom(r));
    cb_term_release(r);
    /* No EXIT for us (unlinked) and no DOWN on mon2 (demonitored). */
    expect_nothing(trap, 50 * MS);
    expect_nothing(mon2, 1);
    CHECK_EQ(cb_trap_exit(NULL), 0);
    CHECK_EQ(cb_join(tb), 0);
    cb_term_release(b.exit_with);
}

/* ---- where a kill reaches a process ---- */

static void hog_main(void *arg)
{
    ctl_t *c = arg;
    CHECK_EQ(cb_send(c->out, a("ready")), 0);
    for (;;)
        cb_reduce(1);
}

static void sleeper_main(void *arg)
{
    ctl_t *c = arg;
    CHECK_EQ(cb_send(c->out, a("ready")), 0);
    cb_sleep(3600 * 1000 * MS);
}

static void case_kill_running_and_sleeping(void)
{
    cb_port_t *mon = port();
    cb_task_fn fns[] = {hog_main, sleeper_main, waiter_main};
    for (int i = 0; i < 3; i++) {
        ctl_t c = {port(), port(), NULL, NULL, a("normal")};
        cb_term_t ref;
        cb_task_t *t;
        cb_spawn_opts_t o = {.monitor_mailbox = mon, .monitor_ref = &ref};
        CHECK_EQ(cb_spawn(fns[i], &c, &o, &t), 0);
        CHECK(recv_ok(c.out) == a("ready"));
        CHECK_EQ(cb_exit_task(t, a("shutdown")), 0);
        CHECK(down_reason(mon, ref, t) == a("shutdown"));
        CHECK_EQ(cb_join(t), 0);
    }
}

static void block_main(void *arg)
{
    (void)arg;
    cb_port_t *mine = port();
    cb_term_t m;
    cb_recv(mine, &m, CB_FOREVER);
}

static void case_kill_before_park(void)
{
    /* The signal may come while the target has not run yet, runs, or is
     * on its way into the park: it must never sleep through it. */
    cb_port_t *mon = port();
    for (int i = 0; i < 300; i++) {
        cb_term_t ref;
        cb_task_t *t;
        cb_spawn_opts_t o = {.monitor_mailbox = mon, .monitor_ref = &ref};
        CHECK_EQ(cb_spawn(block_main, NULL, &o, &t), 0);
        if (i % 3 == 1)
            cb_yield();
        CHECK_EQ(cb_exit_task(t, a("shutdown")), 0);
        CHECK(down_reason(mon, ref, t) == a("shutdown"));
        CHECK_EQ(cb_join(t), 0);
    }
    cb_port_free(mon);
}

/* ---- mailboxes die with their process ---- */

static void recv_once_main(void *arg)
{
    ctl_t *c = arg;
    cb_term_release(recv_ok(c->in));
}

static void case_dead_mailbox_drops(void)
{
    ctl_t c = {port(), port(), NULL, NULL, CB_NIL};
    cb_task_t *t;
    CHECK_EQ(cb_spawn(recv_once_main, &c, NULL, &t), 0);
    CHECK_EQ(cb_send(c.in, cb_int(1)), 0);
    CHECK_EQ(cb_join(t), 0);
    /* A send to a process that is gone succeeds and is dropped. */
    for (int i = 0; i < 10; i++)
        CHECK_EQ(cb_send(c.in, cb_tuple2(cb_int(i), cb_binary("x", 1))), 0);
    CHECK_EQ(cb_port_length(c.in), 0);
    cb_term_t m;
    CHECK_EQ(cb_recv(c.in, &m, 0), -EPIPE);
    cb_port_free(c.in);
    cb_port_free(c.out);
}

/* ---- the supervisor ---- */

typedef struct child {
    cb_port_t *report;
    _Atomic int starts;
    int crash_first; /* crash this many times, then wait */
} child_t;

static void child_main(void *arg)
{
    child_t *c = arg;
    int n = atomic_fetch_add(&c->starts, 1) + 1;
    CHECK_EQ(cb_send(c->report, cb_int(n)), 0);
    if (n <= c->crash_first)
        cb_exit(cb_tuple2(a("boom"), cb_int(42)));
    /* Until shut down, on a mailbox of its own: a restarted process is a
     * new process, and the last one's mailbox died with it. */
    cb_port_t *mine = port();
    cb_term_t m;
    cb_recv(mine, &m, CB_FOREVER);
}

static void case_supervisor_one_for_one(void)
{
    child_t c = {.report = port(), .crash_first = 3};
    child_t d = {.report = port(), .crash_first = 0};
    cb_sup_child_t kids[] = {{child_main, &c, CB_SUP_PERMANENT},
                             {child_main, &d, CB_SUP_PERMANENT}};
    cb_sup_opts_t o = {.strategy = CB_SUP_ONE_FOR_ONE, .intensity = 10,
                       .period_ns = 5000 * MS, .children = kids,
                       .nchildren = 2};
    cb_sup_t *s;
    CHECK_EQ(cb_sup_start(&o, &s), 0);
    for (int i = 1; i <= 4; i++)
        CHECK_EQ(cb_int_value(recv_ok(c.report)), i);
    CHECK_EQ(cb_int_value(recv_ok(d.report)), 1);
    expect_nothing(d.report, 50 * MS); /* d was left alone */
    cb_sup_stats_t st;
    CHECK_EQ(cb_sup_stop(s, &st), 0);
    CHECK_EQ(st.restarts, 3);
    CHECK_EQ(st.gave_up, 0);
}

static void case_supervisor_one_for_all(void)
{
    child_t c = {.report = port(), .crash_first = 1};
    child_t d = {.report = port(), .crash_first = 0};
    cb_sup_child_t kids[] = {{child_main, &c, CB_SUP_PERMANENT},
                             {child_main, &d, CB_SUP_PERMANENT}};
    cb_sup_opts_t o = {.strategy = CB_SUP_ONE_FOR_ALL, .intensity = 10,
                       .period_ns = 5000 * MS, .children = kids,
                       .nchildren = 2};
    cb_sup_t *s;
    CHECK_EQ(cb_sup_start(&o, &s), 0);
    CHECK_EQ(cb_int_value(recv_ok(c.report)), 1);
    CHECK_EQ(cb_int_value(recv_ok(c.report)), 2);
    /* d was terminated and started again with c. */
    CHECK_EQ(cb_int_value(recv_ok(d.report)), 1);
    CHECK_EQ(cb_int_value(recv_ok(d.report)), 2);
    cb_sup_stats_t st;
    CHECK_EQ(cb_sup_stop(s, &st), 0);
    CHECK_EQ(st.restarts, 2);
}

static void case_supervisor_intensity(void)
{
    /* OTP's default: 1 restart in 5 s.  The child crashes twice at once:
     * the second is one restart too many, so the supervisor terminates
     * the other child and exits with `shutdown`. */
    child_t c = {.report = port(), .crash_first = 1000};
    child_t d = {.report = port(), .crash_first = 0};
    cb_sup_child_t kids[] = {{child_main, &d, CB_SUP_PERMANENT},
                             {child_main, &c, CB_SUP_PERMANENT}};
    cb_port_t *mon = port();
    cb_term_t ref;
    cb_sup_opts_t o = {.strategy = CB_SUP_ONE_FOR_ONE, .intensity = -1,
                       .period_ns = 0, .children = kids, .nchildren = 2,
                       .monitor_mailbox = mon, .monitor_ref = &ref};
    cb_sup_t *s;
    CHECK_EQ(cb_sup_start(&o, &s), 0);
    CHECK(down_reason(mon, ref, cb_sup_task(s)) == a("shutdown"));
    CHECK_EQ(atomic_load(&c.starts), 2);
    CHECK_EQ(atomic_load(&d.starts), 1);
    cb_sup_stats_t st;
    CHECK_EQ(cb_sup_stop(s, &st), 0);
    CHECK_EQ(st.gave_up, 1);
    CHECK_EQ(st.restarts, 1);
}

/* ---- every model ---- */

typedef struct crasher {
    cb_port_t *out;
    bool crash;
} crasher_t;

static void crasher_main(void *arg)
{
    crasher_t *c = arg;
    if (c->crash)
        cb_exit(cb_tuple2(a("boom"), cb_int(42)));
    cb_send(c->out, a("done"));
}

static void case_crash_ends_only_the_task(void)
{
    /* An abnormal exit ends that task only (JVM threads, core.async's
     * default, the BEAM's unlinked process), and joining it returns. */
    crasher_t bad = {port(), true}, good = {port(), false};
    cb_task_t *tb, *tg;
    CHECK_EQ(cb_spawn(crasher_main, &bad, NULL, &tb), 0);
    CHECK_EQ(cb_join(tb), 0);
    CHECK_EQ(cb_spawn(crasher_main, &good, NULL, &tg), 0);
    CHECK(recv_ok(good.out) == a("done"));
    CHECK_EQ(cb_join(tg), 0);
    cb_port_free(bad.out);
    cb_port_free(good.out);
}

static void case_links_where_supported(void)
{
    const cb_model_t *m = cb__active;
    cb_task_t *t;
    CHECK_EQ(cb_spawn(quick_main, NULL, NULL, &t), 0);
    cb_port_t *p = port();
    cb_term_t ref;
    bool links = cb_model_unsupported(m, CB_CAP_LINKS) == NULL;
    bool mons = cb_model_unsupported(m, CB_CAP_MONITORS) == NULL;
    /* Linking from oneself to oneself: a no-op where links exist. */
    CHECK_EQ(cb_link(cb_self()), links ? 0 : -ENOTSUP);
    CHECK_EQ(cb_trap_exit(NULL), links ? 0 : -ENOTSUP);
    int rc = cb_monitor(t, p, &ref);
    CHECK_EQ(rc, mons ? 0 : -ENOTSUP);
    cb_spawn_opts_t o = {.link = true};
    cb_task_t *t2;
    rc = cb_spawn(quick_main, NULL, &o, &t2);
    CHECK_EQ(rc, links ? 0 : -ENOTSUP);
    if (rc == 0)
        CHECK_EQ(cb_join(t2), 0);
    CHECK_EQ(cb_join(t), 0);
    if (!links) {
        child_t c = {.report = port()};
        cb_sup_child_t kids[] = {{child_main, &c, CB_SUP_PERMANENT}};
        cb_sup_opts_t so = {.children = kids, .nchildren = 1};
        cb_sup_t *s;
        CHECK_EQ(cb_sup_start(&so, &s), -ENOTSUP);
        cb_port_free(c.report);
    }
    cb_port_free(p);
}

static void case_send_after_close(void)
{
    /* A BEAM send never fails; everyone else refuses a closed port. */
    cb_port_t *p = port();
    CHECK_EQ(cb_port_close(p), 0);
    bool refused = cb_model_unsupported(cb__active, CB_CAP_SEND_REFUSED) ==
                   NULL;
    CHECK_EQ(cb_send(p, cb_int(1)), refused ? -EPIPE : 0);
    cb_term_t m;
    CHECK_EQ(cb_recv(p, &m, 0), -EPIPE);
    cb_port_free(p);
}

/* ---- the table ---- */

static const struct {
    const char *name;
    case_fn fn;
    bool every_model;
} cases[] = {
    {"link_abnormal_kills", case_link_abnormal_kills, false},
    {"link_normal_ignored", case_link_normal_ignored, false},
    {"trap_exit_messages", case_trap_exit_messages, false},
    {"kill_untrappable", case_kill_untrappable, false},
    {"exit2_rules", case_exit2_rules, false},
    {"exit_self_normal", case_exit_self_normal, false},
    {"monitor_dead_noproc", case_monitor_dead_noproc, false},
    {"link_dead_noproc", case_link_dead_noproc, false},
    {"unlink_and_demonitor", case_unlink_and_demonitor, false},
    {"kill_running_and_sleeping", case_kill_running_and_sleeping, false},
    {"kill_before_park", case_kill_before_park, false},
    {"dead_mailbox_drops", case_dead_mailbox_drops, false},
    {"supervisor_one_for_one", case_supervisor_one_for_one, false},
    {"supervisor_one_for_all", case_supervisor_one_for_all, false},
    {"supervisor_intensity", case_supervisor_intensity, false},
    {"crash_ends_only_the_task", case_crash_ends_only_the_task, true},
    {"links_where_supported", case_links_where_supported, true},
    {"send_after_close", case_send_after_close, true},
};
#define NCASES (sizeof cases / sizeof cases[0])

static case_fn current;

static void root(void *arg)
{
    (void)arg;
    current();
}

static int run_case(const char *model, size_t c, const char *param)
{
    const cb_model_t *m = cb_model_find(model);
    if (!m)
        CB_FAIL_("no model %s", model);
    cb_param_set_t ps;
    cb_params_defaults(&ps, m->params, true);
    if (param) {
        char kv[64];
        snprintf(kv, sizeof kv, "%s", param);
        char *eq = strchr(kv, '=');
        CHECK(eq != NULL);
        *eq = '\0';
        char err[128];
        CHECK_EQ(cb_params_set(&ps, cb_params_find(&ps, kv), eq + 1, err,
                               sizeof err),
                 0);
    }
    int cpus[2] = {0, 1};
    cb_model_env_t env = {.cpus = cpus, .ncpus = 0, .seed = 1};
    char err[256] = "";
    if (cb_model_start(m, &ps, &env, err, sizeof err) < 0)
        CB_FAIL_("starting %s: %s", model, err);
    current = cases[c].fn;
    CHECK_EQ(cb_model_run(root, NULL), 0);
    if (cb_model_stop(err, sizeof err) < 0)
        CB_FAIL_("stopping %s: %s", model, err);
    return 0;
}

static void go_panic_main(void *arg)
{
    (void)arg;
    cb_task_t *t;
    crasher_t bad = {port(), true};
    CHECK_EQ(cb_spawn(crasher_main, &bad, NULL, &t), 0);
    cb_join(t);
    /* Not reached: the panic ended the program. */
}

/* csp with crash=panic: a Go panic ends the whole program, exit status
 * 2, the panic's message on stderr. */
static int check_go_panic(void)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        current = (case_fn)NULL;
        const cb_model_t *m = cb_model_find("csp");
        cb_param_set_t ps;
        cb_params_defaults(&ps, m->params, true);
        char err[128];
        CHECK_EQ(cb_params_set(&ps, cb_params_find(&ps, "crash"), "panic",
                               err, sizeof err),
                 0);
        int cpus[2] = {0, 1};
        cb_model_env_t env = {.cpus = cpus, .ncpus = 0, .seed = 1};
        CHECK_EQ(cb_model_start(m, &ps, &env, err, sizeof err), 0);
        cb_model_run(go_panic_main, NULL);
        _exit(0); /* the panic did not end the program */
    }
    int st;
    CHECK_EQ(waitpid(pid, &st, 0), pid);
    CHECK(WIFEXITED(st));
    CHECK_EQ(WEXITSTATUS(st), 2);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (size_t c = 0; c < NCASES; c++)
            printf("%s%s\n", cases[c].every_model ? "MODEL:" : "",
                   cases[c].name);
        printf("go_panic\n");
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "go_panic") == 0)
        return check_go_panic();
    if (argc == 2 || argc == 3 || argc == 4) {
        const char *model = argc == 2 ? "actor" : argv[1];
        const char *name = argv[argc == 2 ? 1 : 2];
        for (size_t c = 0; c < NCASES; c++)
            if (strcmp(cases[c].name, name) == 0)
                return run_case(model, c, argc == 4 ? argv[3] : NULL);
        CB_FAIL_("unknown case %s", name);
    }
    int failed = 0;
    for (size_t c = 0; c < NCASES; c++) {
        size_t nm = cases[c].every_model ? cb_model_count() : 1;
        for (size_t k = 0; k < nm; k++) {
            const char *model =
                cases[c].every_model ? cb_model_at(k)->name : "actor";
            fflush(stdout);
            pid_t pid = fork();
            if (pid == 0)
                _exit(run_case(model, c, NULL));
            int st;
            waitpid(pid, &st, 0);
            if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
                printf("FAIL %s %s\n", model, cases[c].name);
                failed++;
            }
        }
    }
    if (check_go_panic() != 0)
        failed++;
    printf("%s\n", failed ? "some cases failed" : "ok");
    return failed ? 1 : 0;
}
