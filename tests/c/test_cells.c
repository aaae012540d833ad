/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Shared cells as each real system keeps them, through models/model.h with
 * the model parameters that select each behaviour:
 *
 *   - write skew (cb_cells_update_reading): stm's default, Clojure's
 *     snapshot isolation, lets two updates that each read the cell the
 *     other writes both commit; stm -p isolation=ensure, and the lock-based
 *     models, never do;
 *   - stm's retry limit: an update that keeps losing gives up with
 *     -ECANCELED, and nothing it did is left behind;
 *   - actor's cells beyond one process per cell (20,000 of them, past its
 *     owner processes' cap): transfers conserve, audits of all never
 *     tear, a cell named twice behaves as in the other models;
 *   - csp's cells as atoms (compare-and-set, retried, under contention
 *     that made some retry), as mutexes and as go blocks: concurrent
 *     transfers conserve the sum, audits never tear.
 *
 *   test_cells --list     the case names
 *   test_cells CASE       one case
 *   test_cells            every case, each in its own process
 *
 * Races are not certain on one try: a case that must see one drives its
 * rounds until it does, with a bound, and a case that must never see one
 * runs enough rounds that the overlap it guards against happened (the
 * abort counters say so).
 */
#include "tests/c/cb_test.h"

#include "models/model.h"

#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>

#define MS 1000000LL

typedef void (*case_fn)(void);

static case_fn case_body;

static void root(void *arg)
{
    (void)arg;
    case_body();
}

/* Start model with name, value pairs (NULL-terminated) over its defaults
 * and run body as its root task. */
static void run_on(const char *model, const char *const *params, case_fn body)
{
    const cb_model_t *m = cb_model_find(model);
    if (!m)
        SKIP("no %s model in this build", model);
    cb_param_set_t ps;
    cb_params_defaults(&ps, m->params, false);
    char err[256] = "";
    for (const char *const *p = params; p && *p; p += 2) {
        int i = cb_params_find(&ps, p[0]);
        CHECK_GE(i, 0);
        if (cb_params_set(&ps, i, p[1], err, sizeof err) < 0)
            CB_FAIL_("%s=%s: %s", p[0], p[1], err);
    }
    int cpus[2] = {0, 1};
    cb_model_env_t env = {.cpus = cpus, .ncpus = 0, .seed = 1};
    if (cb_model_start(m, &ps, &env, err, sizeof err) < 0)
        CB_FAIL_("starting %s: %s", model, err);
    case_body = body;
    CHECK_EQ(cb_model_run(root, NULL), 0);
    if (cb_model_stop(err, sizeof err) < 0)
        CB_FAIL_("stopping %s: %s", model, err);
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

/* ---- the on-call doctors ---- */

typedef struct ward {
    cb_cell_t *doctor[2];
    cb_port_t *go[2], *done;
} ward_t;

/* Take values[0] off call if both are on; think (with a yield, where a
 * busy machine would preempt) between the read and the decision, so
 * that the two requests overlap. */
static void go_off_call(int64_t *v, size_t n, void *arg)
{
    (void)n, (void)arg;
    int64_t until = cb_now_ns() + 10000;
    cb_yield();
    while (cb_now_ns() < until)
        ;
    if (v[0] + v[1] >= 2)
        v[0] = 0;
}

typedef struct doc {
    ward_t *w;
    int me;
} doc_t;

static void doctor(void *arg)
{
    doc_t *d = arg;
    cb_cell_t *cells[2] = {d->w->doctor[d->me], d->w->doctor[!d->me]};
    for (;;) {
        cb_term_t m;
        CHECK_EQ(cb_recv(d->w->go[d->me], &m, CB_FOREVER), 0);
        if (m == cb_atom("stop"))
            break;
        CHECK_EQ(cb_cells_update_reading(cells, 2, 1, go_off_call, NULL), 0);
        CHECK_EQ(cb_send(d->w->done, cb_int(d->me)), 0);
    }
}

static void set_on_call(int64_t *v, size_t n, void *arg)
{
    (void)n, (void)arg;
    v[0] = v[1] = 1;
}

/* Rounds until `stop_at` of them left nobody on call, or `rounds` ran;
 * returns how many did. */
static int64_t doctors(int64_t rounds, int64_t stop_at)
{
    ward_t w;
    doc_t d[2];
    cb_task_t *t[2];
    int64_t skews = 0;
    CHECK_EQ(cb_port_open(NULL, &w.done), 0);
    for (int i = 0; i < 2; i++) {
        CHECK_EQ(cb_cell_new(1, &w.doctor[i]), 0);
        CHECK_EQ(cb_port_open(NULL, &w.go[i]), 0);
    }
    for (int i = 0; i < 2; i++) {
        d[i] = (doc_t){&w, i};
        CHECK_EQ(cb_spawn(doctor, &d[i], NULL, &t[i]), 0);
    }
    for (int64_t r = 0; r < rounds && skews < stop_at; r++) {
        CHECK_EQ(cb_cells_update(w.doctor, 2, set_on_call, NULL), 0);
        for (int i = 0; i < 2; i++)
            CHECK_EQ(cb_send(w.go[i], cb_atom("go")), 0);
        for (int i = 0; i < 2; i++) {
            cb_term_t m;
            CHECK_EQ(cb_recv(w.done, &m, 10000 * MS), 0);
        }
        int64_t v[2];
        CHECK_EQ(cb_cells_read(w.doctor, 2, v), 0);
        /* Both requests saw two on call, or one saw the other's change;
         * never may both have declined. */
        CHECK_LE(v[0] + v[1], 1);
        skews += v[0] + v[1] == 0;
    }
    for (int i = 0; i < 2; i++) {
        CHECK_EQ(cb_send(w.go[i], cb_atom("stop")), 0);
        CHECK_EQ(cb_join(t[i]), 0);
        cb_port_free(w.go[i]);
        cb_cell_free(w.doctor[i]);
    }
    cb_port_free(w.done);
    return skews;
}

static void skew_occurs(void)
{
    /* Bounded: a few thousand rounds; one skew is enough. */
    CHECK_GT(doctors(20000, 1), 0);
}

static void skew_never(void)
{
    CHECK_EQ(doctors(2000, 1), 0);
}

static void skew_never_but_conflicts(void)
{
    CHECK_EQ(doctors(2000, 1), 0);
    /* The requests did overlap: ensure (or validation) aborted some. */
    CHECK_GT(counter("aborts"), 0);
}

static void case_stm_snapshot_write_skew(void)
{
    static const char *const p[] = {"isolation", "snapshot", NULL};
    run_on("stm", p, skew_occurs);
}

static void case_stm_default_is_snapshot(void)
{
    run_on("stm", NULL, skew_occurs);
}

static void case_stm_ensure_no_write_skew(void)
{
    static const char *const p[] = {"isolation", "ensure", NULL};
    run_on("stm", p, skew_never_but_conflicts);
}

static void case_stm_serializable_no_write_skew(void)
{
    static const char *const p[] = {"isolation", "serializable", NULL};
    run_on("stm", p, skew_never_but_conflicts);
}

static void case_locks_no_write_skew(void)
{
    run_on("locks", NULL, skew_never);
}

static void case_threads_no_write_skew(void)
{
    run_on("threads", NULL, skew_never);
}

static void case_actor_no_write_skew(void)
{
    run_on("actor", NULL, skew_never);
}

static void case_csp_no_write_skew(void)
{
    run_on("csp", NULL, skew_never);
}

/* ---- stm's retry limit ---- */

#define HAMMERERS 4
#define HAMMER_OPS 200000

/* Hammerers of one cell, with a limit of one attempt per update. */
typedef struct hammer {
    cb_cell_t *cell;
    _Atomic int *stop; /* set by the first to give up: the rest stop */
    int64_t ok, gave_up;
} hammer_t;

static void incr(int64_t *v, size_t n, void *arg)
{
    (void)n, (void)arg;
    /* A little work between the read and the commit, so that the
     * hammerers conflict. */
    cb_yield();
    v[0]++;
}

static void hammerer(void *arg)
{
    hammer_t *h = arg;
    for (int i = 0; i < HAMMER_OPS && !atomic_load(h->stop); i++) {
        int rc = cb_cells_update(&h->cell, 1, incr, NULL);
        if (rc == -ECANCELED) {
            h->gave_up++;
            atomic_store(h->stop, 1);
            continue;
        }
        CHECK_EQ(rc, 0);
        h->ok++;
    }
}

static void retry_limit_raises(void)
{
    cb_cell_t *c;
    CHECK_EQ(cb_cell_new(0, &c), 0);
    hammer_t h[HAMMERERS];
    cb_task_t *t[HAMMERERS];
    _Atomic int stop = 0;
    for (int i = 0; i < HAMMERERS; i++) {
        h[i] = (hammer_t){.cell = c, .stop = &stop};
        CHECK_EQ(cb_spawn(hammerer, &h[i], NULL, &t[i]), 0);
    }
    int64_t ok = 0, gave_up = 0;
    for (int i = 0; i < HAMMERERS; i++) {
        CHECK_EQ(cb_join(t[i]), 0);
        ok += h[i].ok;
        gave_up += h[i].gave_up;
    }
    /* With a limit of one attempt, the first conflict gives up; an update
     * that gave up left nothing behind. */
    CHECK_GT(gave_up, 0);
    CHECK_EQ(counter("gave_up"), gave_up);
    int64_t v;
    CHECK_EQ(cb_cells_read(&c, 1, &v), 0);
    CHECK_EQ(v, ok);
    cb_cell_free(c);
}

static void case_stm_retry_limit_raises(void)
{
    static const char *const p[] = {"retry_limit", "1", NULL};
    run_on("stm", p, retry_limit_raises);
}

/* ---- csp: atoms, mutexes and go blocks conserve under contention ---- */

#define CELLS 8
#define MOVERS 4
#define MOVES 4000

typedef struct mover_arg {
    cb_cell_t **cells;
    int id;
    cb_port_t *done;
} mover_arg_t;

static void move_one(int64_t *v, size_t n, void *arg)
{
    (void)n;
    /* Now and then yield between swap!'s read and its compare-and-set:
     * another go block then commits first and this one must retry. */
    if (arg && (*(uint64_t *)arg & 15) == 0)
        cb_yield();
    v[0] -= 1;
    v[1] += 1;
}

static void mover(void *arg)
{
    mover_arg_t *a = arg;
    uint64_t x = (uint64_t)a->id * 2654435761u + 1;
    for (int i = 0; i < MOVES; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        cb_cell_t *pair[2] = {a->cells[x % CELLS], a->cells[(x >> 8) % CELLS]};
        if (pair[0] == pair[1])
            continue;
        CHECK_EQ(cb_cells_update(pair, 2, move_one, &x), 0);
    }
    CHECK_EQ(cb_send(a->done, cb_int(a->id)), 0);
}

/* Movers transfer between random pairs while the root audits; every
 * audit and the end state sum to the start.  Rounds repeat (bounded)
 * until `contention` counted some. */
static void movers_conserve(const char *contention)
{
    cb_cell_t *cells[CELLS];
    for (int i = 0; i < CELLS; i++)
        CHECK_EQ(cb_cell_new(1000, &cells[i]), 0);
    cb_port_t *done;
    CHECK_EQ(cb_port_open(NULL, &done), 0);
    for (int round = 0; round < 20; round++) {
        mover_arg_t args[MOVERS];
        cb_task_t *t[MOVERS];
        for (int i = 0; i < MOVERS; i++) {
            args[i] = (mover_arg_t){cells, i + MOVERS * round, done};
            CHECK_EQ(cb_spawn(mover, &args[i], NULL, &t[i]), 0);
        }
        int finished = 0;
        while (finished < MOVERS) {
            int64_t v[CELLS], sum = 0;
            CHECK_EQ(cb_cells_read(cells, CELLS, v), 0);
            for (int i = 0; i < CELLS; i++)
                sum += v[i];
            CHECK_EQ(sum, CELLS * 1000);
            cb_term_t m;
            if (cb_recv(done, &m, 0) == 0)
                finished++;
        }
        for (int i = 0; i < MOVERS; i++)
            CHECK_EQ(cb_join(t[i]), 0);
        if (!contention || counter(contention) > 0)
            break;
    }
    if (contention)
        CHECK_GT(counter(contention), 0);
    CHECK_GE(counter("cell_updates"), MOVERS * MOVES / 2);
    for (int i = 0; i < CELLS; i++)
        cb_cell_free(cells[i]);
    cb_port_free(done);
}

static void atom_conserves(void)
{
    movers_conserve("cell_swap_retries");
}

static void plain_conserves(void)
{
    movers_conserve(NULL);
}

static void case_csp_atom_cas_conserves(void)
{
    /* The default: an atom. */
    run_on("csp", NULL, atom_conserves);
}

static void case_csp_mutex_conserves(void)
{
    static const char *const p[] = {"cell", "mutex", NULL};
    run_on("csp", p, plain_conserves);
}

static void case_csp_goblock_conserves(void)
{
    static const char *const p[] = {"cell", "goblock", NULL};
    run_on("csp", p, plain_conserves);
}

static void case_csp_mutex_no_write_skew(void)
{
    static const char *const p[] = {"cell", "mutex", NULL};
    run_on("csp", p, skew_never);
}

static void case_csp_goblock_no_write_skew(void)
{
    static const char *const p[] = {"cell", "goblock", NULL};
    run_on("csp", p, skew_never);
}

/* ---- actor: more cells than owner processes ---- */

#define MANY 20000

typedef struct many_arg {
    cb_cell_t **cells;
    int id;
} many_arg_t;

static void many_mover(void *arg)
{
    many_arg_t *a = arg;
    uint64_t x = (uint64_t)a->id * 2654435761u + 7;
    for (int i = 0; i < 2000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        cb_cell_t *pair[2] = {a->cells[x % MANY], a->cells[(x >> 20) % MANY]};
        if (pair[0] == pair[1])
            continue;
        CHECK_EQ(cb_cells_update(pair, 2, move_one, NULL), 0);
    }
}

static void add_one_then_two(int64_t *v, size_t n, void *arg)
{
    (void)n, (void)arg;
    v[0] += 1;
    v[1] += 2;
}

static void many_cells(void)
{
    cb_cell_t **cells = malloc(MANY * sizeof *cells);
    int64_t *v = malloc(MANY * sizeof *v);
    CHECK(cells && v);
    for (int i = 0; i < MANY; i++)
        CHECK_EQ(cb_cell_new(i, &cells[i]), 0);
    many_arg_t args[MOVERS];
    cb_task_t *t[MOVERS];
    for (int i = 0; i < MOVERS; i++) {
        args[i] = (many_arg_t){cells, i};
        CHECK_EQ(cb_spawn(many_mover, &args[i], NULL, &t[i]), 0);
    }
    int64_t want = (int64_t)MANY * (MANY - 1) / 2;
    for (int audit = 0; audit < 3; audit++) {
        int64_t sum = 0;
        CHECK_EQ(cb_cells_read(cells, MANY, v), 0);
        for (int i = 0; i < MANY; i++)
            sum += v[i];
        CHECK_EQ(sum, want);
    }
    for (int i = 0; i < MOVERS; i++)
        CHECK_EQ(cb_join(t[i]), 0);
    CHECK_EQ(cb_cells_read(cells, MANY, v), 0);
    int64_t sum = 0;
    for (int i = 0; i < MANY; i++)
        sum += v[i];
    CHECK_EQ(sum, want);
    /* A cell named twice: seen at both positions, the last one written
     * back, as in every model. */
    cb_cell_t *twice[2] = {cells[MANY - 1], cells[MANY - 1]};
    int64_t before = v[MANY - 1];
    CHECK_EQ(cb_cells_update(twice, 2, add_one_then_two, NULL), 0);
    CHECK_EQ(cb_cells_read(&cells[MANY - 1], 1, v), 0);
    CHECK_EQ(v[0], before + 2);
    for (int i = 0; i < MANY; i++)
        cb_cell_free(cells[i]);
    free(cells);
    free(v);
}

static void case_actor_many_cells(void)
{
    run_on("actor", NULL, many_cells);
}

static void case_threads_many_cells(void)
{
#ifdef CB_SANITIZE_THREAD
    /* An audit holds every cell's mutex at once. */
    SKIP("TSan's deadlock detector tracks at most 64 locks held by one "
         "thread; an audit of %d cells holds %d",
         MANY, MANY);
#endif
    run_on("threads", NULL, many_cells);
}

/* ---- the table ---- */

static const struct {
    const char *name;
    case_fn fn;
} cases[] = {
    {"stm_snapshot_write_skew", case_stm_snapshot_write_skew},
    {"stm_default_is_snapshot", case_stm_default_is_snapshot},
    {"stm_ensure_no_write_skew", case_stm_ensure_no_write_skew},
    {"stm_serializable_no_write_skew", case_stm_serializable_no_write_skew},
    {"locks_no_write_skew", case_locks_no_write_skew},
    {"threads_no_write_skew", case_threads_no_write_skew},
    {"actor_no_write_skew", case_actor_no_write_skew},
    {"csp_no_write_skew", case_csp_no_write_skew},
    {"stm_retry_limit_raises", case_stm_retry_limit_raises},
    {"csp_atom_cas_conserves", case_csp_atom_cas_conserves},
    {"csp_mutex_conserves", case_csp_mutex_conserves},
    {"csp_goblock_conserves", case_csp_goblock_conserves},
    {"csp_mutex_no_write_skew", case_csp_mutex_no_write_skew},
    {"csp_goblock_no_write_skew", case_csp_goblock_no_write_skew},
    {"actor_many_cells", case_actor_many_cells},
    {"threads_many_cells", case_threads_many_cells},
};
#define NCASES (sizeof cases / sizeof cases[0])

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (size_t c = 0; c < NCASES; c++)
            printf("%s\n", cases[c].name);
        return 0;
    }
    if (argc == 2) {
        for (size_t c = 0; c < NCASES; c++)
            if (strcmp(cases[c].name, argv[1]) == 0) {
                cases[c].fn();
                return 0;
            }
        CB_FAIL_("unknown case %s", argv[1]);
    }
    int failed = 0;
    for (size_t c = 0; c < NCASES; c++) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            cases[c].fn();
            _exit(0);
        }
        int st;
        waitpid(pid, &st, 0);
        int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
        if (code != 0 && code != CB_TEST_SKIP) {
            failed++;
            printf("FAIL %s (exit %d)\n", cases[c].name, code);
        }
    }
    return failed ? 1 : 0;
}
