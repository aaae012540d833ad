/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Native calls and dirty CPU schedulers on `actor` (models/actor/dirty.c):
 * a dirty call leaves the normal scheduler free for other processes, a
 * plain one holds it (no process runs there until it returns, reduction
 * points inside it or not), and a process is back on a normal scheduler
 * after a dirty call, where it receives what was sent meanwhile and is
 * preempted by reductions again.  `dirty_cpu` above the normal schedulers
 * is refused, as +SDcpu is.
 *
 *   test_actor_dirty            every case, each in its own process
 *   test_actor_dirty CASE       one case
 *
 * Shapes, not times: the spinning calls run until the probe says stop
 * (a generous safety deadline turns a hang into a failure), and the plain
 * case counts the probe's wake-ups that fall inside the call, which one
 * scheduler makes exactly zero.
 */
#include "tests/c/cb_test_model.h"

#include "models/actor/actor_int.h"
#include "models/model.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>

#define MS 1000000LL
/* A spinning call that is never told to stop gives up after this: the
 * test fails then, instead of hanging. */
#define SAFETY_NS (60000 * MS)

/* A plain int for the checks' messages (they print the expression). */
static int ld(_Atomic int *v)
{
    return atomic_load(v);
}

static int64_t counter(const char *name)
{
    cb_counter_t c[CB_COUNTERS_MAX];
    size_t n = cb_model_counters(c, CB_COUNTERS_MAX);
    for (size_t i = 0; i < n; i++)
        if (strcmp(c[i].name, name) == 0)
            return c[i].value;
    CB_FAIL_("no counter %s", name);
}

/* ---- a dirty call leaves the normal scheduler to the others ---- */

#define SPINNERS 2
#define PROBE_SLEEPS 20

typedef struct spin {
    _Atomic int stop;
    _Atomic int started, finished, gave_up;
    int64_t start_ns, end_ns; /* plain case: the call's span */
    int64_t run_ns;           /* plain case: how long the call runs */
} spin_t;

/* Native code: spins, with reduction points that must not yield, until
 * told to stop or until its deadline. */
static void spin_native(void *arg)
{
    spin_t *sp = arg;
    int64_t t0 = cb_now_ns();
    sp->start_ns = t0;
    atomic_fetch_add(&sp->started, 1);
    int64_t until = t0 + (sp->run_ns ? sp->run_ns : SAFETY_NS);
    for (;;) {
        if (atomic_load_explicit(&sp->stop, memory_order_relaxed))
            break;
        int64_t now = cb_now_ns();
        if (now >= until) {
            if (!sp->run_ns)
                atomic_fetch_add(&sp->gave_up, 1);
            break;
        }
        cb_reduce(1);
    }
    sp->end_ns = cb_now_ns();
    atomic_fetch_add(&sp->finished, 1);
}

static void dirty_spinner_main(void *arg)
{
    CHECK_EQ(cb_native_call(spin_native, arg, CB_NATIVE_DIRTY_CPU), 0);
}

static void case_dirty_keeps_probes_alive(void)
{
    /* One normal scheduler, one dirty one, two dirty calls: one spins,
     * the other waits on the dirty run queue, and the probe (this root
     * process) must still complete its sleeps on the normal scheduler. */
    spin_t *sp = calloc(1, sizeof *sp);
    cb_task_t *t[SPINNERS];
    for (int i = 0; i < SPINNERS; i++)
        CHECK_EQ(cb_spawn(dirty_spinner_main, sp, NULL, &t[i]), 0);
    for (int i = 0; i < 10000 && atomic_load(&sp->started) == 0; i++)
        cb_sleep(1 * MS);
    CHECK_EQ(ld(&sp->started), 1);
    for (int i = 0; i < PROBE_SLEEPS; i++)
        CHECK_EQ(cb_sleep(1 * MS), 0);
    /* All the probe's sleeps were done while the first call spun and the
     * second waited for the only dirty scheduler. */
    CHECK_EQ(ld(&sp->finished), 0);
    CHECK_EQ(ld(&sp->started), 1);
    CHECK_GE(counter("dirty_queue_max_len"), 1);
    atomic_store(&sp->stop, 1);
    for (int i = 0; i < SPINNERS; i++)
        CHECK_EQ(cb_join(t[i]), 0);
    CHECK_EQ(ld(&sp->gave_up), 0);
    CHECK_EQ(ld(&sp->finished), SPINNERS);
    CHECK_EQ(counter("dirty_calls"), SPINNERS);
    CHECK_EQ(counter("dirty_cpu_schedulers"), 1);
    free(sp);
}

/* ---- a plain call holds its scheduler ---- */

#define MAX_WAKES 4096

typedef struct probe {
    _Atomic int stop, n;
    int64_t at[MAX_WAKES];
} probe_t;

static void probe_main(void *arg)
{
    probe_t *pr = arg;
    for (int n = 0; !atomic_load(&pr->stop) && n < MAX_WAKES; n++) {
        cb_sleep(1 * MS);
        pr->at[n] = cb_now_ns();
        atomic_store(&pr->n, n + 1);
    }
}

static void plain_spinner_main(void *arg)
{
    CHECK_EQ(cb_native_call(spin_native, arg, 0), 0);
}

static void case_plain_holds_its_scheduler(void)
{
    /* One normal scheduler, reductions=100: the spin's 100,000s of
     * reduction points would preempt it at once if native code could be
     * preempted.  No wake-up of the probe can fall inside the call. */
    spin_t *sp = calloc(1, sizeof *sp);
    probe_t *pr = calloc(1, sizeof *pr);
    sp->run_ns = 300 * MS;
    cb_task_t *tp, *ts;
    CHECK_EQ(cb_spawn(probe_main, pr, NULL, &tp), 0);
    /* The probe is waking up in its loop before the call starts... */
    for (int i = 0; i < 10000 && ld(&pr->n) < 3; i++)
        cb_sleep(1 * MS);
    CHECK_GE(ld(&pr->n), 3);
    CHECK_EQ(cb_spawn(plain_spinner_main, sp, NULL, &ts), 0);
    CHECK_EQ(cb_join(ts), 0);
    /* ...and after it has returned. */
    int n_after_call = ld(&pr->n);
    for (int i = 0; i < 10000 && ld(&pr->n) < n_after_call + 3; i++)
        cb_sleep(1 * MS);
    atomic_store(&pr->stop, 1);
    CHECK_EQ(cb_join(tp), 0);
    CHECK_EQ(ld(&sp->finished), 1);
    CHECK_GE(sp->end_ns - sp->start_ns, sp->run_ns);
    int inside = 0, before = 0, after = 0, n = ld(&pr->n);
    for (int i = 0; i < n; i++) {
        if (pr->at[i] > sp->start_ns && pr->at[i] < sp->end_ns)
            inside++;
        else if (pr->at[i] <= sp->start_ns)
            before++;
        else
            after++;
    }
    printf("plain call of %lld ms: probe wake-ups before %d, inside %d, "
           "after %d\n",
           (long long)((sp->end_ns - sp->start_ns) / MS), before, inside,
           after);
    CHECK_EQ(inside, 0);
    CHECK_GT(before, 0);
    CHECK_GT(after, 0);
    CHECK_GE(counter("native_calls_plain"), 1);
    CHECK_EQ(counter("dirty_calls"), 0);
    free(sp);
    free(pr);
}

/* ---- after a dirty call the process is on a normal scheduler ---- */

typedef struct back {
    cb_port_t *port, *reply;
    cb_task_t *self;
    _Atomic int in_call, sent;
    actor_sched_t *sched_in_call;
    cb_task_t *self_in_call;
    int gave_up;
} back_t;

static void wait_for_send(void *arg)
{
    back_t *b = arg;
    b->sched_in_call = actor_this_sched();
    b->self_in_call = actor_self();
    /* A NIF may send (enif_send), from the dirty scheduler's thread. */
    CHECK_EQ(cb_send(b->reply, cb_atom("from_nif")), 0);
    atomic_store(&b->in_call, 1);
    int64_t until = cb_now_ns() + SAFETY_NS;
    while (!atomic_load(&b->sent)) {
        if (cb_now_ns() > until) {
            b->gave_up = 1;
            return;
        }
        cb_reduce(1); /* a no-op on a dirty scheduler */
    }
}

static void back_main(void *arg)
{
    back_t *b = arg;
    b->self = cb_self();
    CHECK(actor_this_sched() != NULL);
    CHECK_EQ(cb_native_call(wait_for_send, b, 4u), -EINVAL);
    CHECK_EQ(cb_native_call(wait_for_send, b, CB_NATIVE_DIRTY_CPU), 0);
    CHECK_EQ(b->gave_up, 0);
    /* The call ran on a dirty scheduler: no normal scheduler, no
     * process running there. */
    CHECK(b->sched_in_call == NULL);
    CHECK(b->self_in_call == NULL);
    /* Back on a normal scheduler, as the same process. */
    CHECK(actor_this_sched() != NULL);
    CHECK(cb_self() == b->self);
    /* It receives what was sent to it during the call. */
    cb_term_t m;
    CHECK_EQ(cb_recv(b->port, &m, 0), 0);
    CHECK(m == cb_atom("during"));
    /* And reductions preempt it again (reductions=200). */
    int64_t before = counter("preemptions");
    for (int i = 0; i < 20000; i++)
        cb_reduce(1);
    CHECK_GE(counter("preemptions") - before, 20);
}

static void case_returns_to_a_normal_scheduler(void)
{
    back_t *b = calloc(1, sizeof *b);
    CHECK_EQ(cb_port_open(NULL, &b->port), 0);
    CHECK_EQ(cb_port_open(NULL, &b->reply), 0);
    cb_task_t *t;
    CHECK_EQ(cb_spawn(back_main, b, NULL, &t), 0);
    for (int i = 0; i < 10000 && !atomic_load(&b->in_call); i++)
        cb_sleep(1 * MS);
    CHECK_EQ(ld(&b->in_call), 1);
    CHECK_EQ(cb_send(b->port, cb_atom("during")), 0);
    atomic_store(&b->sent, 1);
    CHECK_EQ(cb_join(t), 0);
    cb_term_t m;
    CHECK_EQ(cb_recv(b->reply, &m, 0), 0);
    CHECK(m == cb_atom("from_nif"));
    CHECK_EQ(counter("dirty_calls"), 1);
    cb_port_free(b->reply);
    cb_port_free(b->port);
    free(b);
}

/* ---- the table ---- */

typedef void (*case_fn)(void);

static const struct {
    const char *name;
    case_fn fn;
    const char *params; /* key=value;... for the model */
    int ncpus;          /* 0: every PU */
} cases[] = {
    {"dirty_keeps_probes_alive", case_dirty_keeps_probes_alive, "dirty_cpu=1",
     1},
    {"plain_holds_its_scheduler", case_plain_holds_its_scheduler,
     "reductions=100", 1},
    {"returns_to_a_normal_scheduler", case_returns_to_a_normal_scheduler,
     "reductions=200", 0},
};
#define NCASES (sizeof cases / sizeof cases[0])

static int run_case(size_t c)
{
    cb_test_run_in_model("actor", cases[c].params, cases[c].ncpus,
                         cases[c].fn);
    return 0;
}

/* +SDcpu: no more dirty CPU schedulers than normal ones. */
static void check_too_many_dirty_refused(void)
{
    const cb_model_t *m = cb_model_find("actor");
    cb_param_set_t ps;
    cb_params_defaults(&ps, m->params, false);
    cb_test_set_params(&ps, "dirty_cpu=2");
    int cpus[1] = {0};
    cb_model_env_t env = {.cpus = cpus, .ncpus = 1, .seed = 1};
    char err[512] = "";
    CHECK_EQ(cb_model_start(m, &ps, &env, err, sizeof err), -EINVAL);
    CHECK(strstr(err, "dirty_cpu=2") != NULL);
    CHECK(strstr(err, "normal schedulers") != NULL);
}

int main(int argc, char **argv)
{
    if (argc == 2) {
        if (strcmp(argv[1], "too_many_dirty") == 0) {
            check_too_many_dirty_refused();
            return 0;
        }
        for (size_t c = 0; c < NCASES; c++)
            if (strcmp(cases[c].name, argv[1]) == 0)
                return run_case(c);
        CB_FAIL_("unknown case %s", argv[1]);
    }
    check_too_many_dirty_refused();
    int failed = 0;
    for (size_t c = 0; c < NCASES; c++) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0)
            _exit(run_case(c));
        int st;
        waitpid(pid, &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            printf("FAIL %s\n", cases[c].name);
            failed++;
        }
    }
    printf("%s\n", failed ? "some cases failed" : "ok");
    return failed ? 1 : 0;
}
