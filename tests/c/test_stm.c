/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Unit tests of the STM core (models/stm/core.c), without the model:
 *
 *   test_stm --list      the case names
 *   test_stm CASE        one case
 *   test_stm             every case, in order
 *
 * Conflicts are staged deterministically: a transaction body hands a step
 * to a helper thread and waits for it, so "another transaction committed
 * between my read and my commit" happens exactly where the case wants it.
 */
#include "tests/c/cb_test.h"

#include "models/stm/stm_core.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#define MS 1000000LL

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- a helper thread that commits on request ---- */

typedef struct helper {
    pthread_t t;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    stm_body_fn fn; /* guarded by mu; NULL: idle */
    void *arg;
    int quit;
} helper_t;

static void *helper_main(void *p)
{
    helper_t *h = p;
    pthread_mutex_lock(&h->mu);
    for (;;) {
        while (!h->fn && !h->quit)
            pthread_cond_wait(&h->cv, &h->mu);
        if (h->quit)
            break;
        stm_body_fn fn = h->fn;
        pthread_mutex_unlock(&h->mu);
        CHECK_GE(stm_atomically(fn, h->arg, -1), 0);
        pthread_mutex_lock(&h->mu);
        h->fn = NULL;
        pthread_cond_broadcast(&h->cv);
    }
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

static void helper_start(helper_t *h)
{
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cv, NULL);
    h->fn = NULL;
    h->quit = 0;
    CHECK_EQ(pthread_create(&h->t, NULL, helper_main, h), 0);
}

/* Run fn as a transaction on the helper and wait for its commit. */
static void helper_commit(helper_t *h, stm_body_fn fn, void *arg)
{
    pthread_mutex_lock(&h->mu);
    h->fn = fn;
    h->arg = arg;
    pthread_cond_broadcast(&h->cv);
    while (h->fn)
        pthread_cond_wait(&h->cv, &h->mu);
    pthread_mutex_unlock(&h->mu);
}

static void helper_stop(helper_t *h)
{
    pthread_mutex_lock(&h->mu);
    h->quit = 1;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    pthread_join(h->t, NULL);
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->mu);
}

static int incr_body(stm_tx_t *tx, void *arg)
{
    stm_ref_t *r = arg;
    stm_write(tx, r, stm_read(tx, r) + 1);
    return 0;
}

static stm_stats_t stats_now(void)
{
    stm_stats_t s;
    stm_stats_sum(&s);
    return s;
}

/* ---- validation: a read overwritten before commit aborts and re-runs ---- */

typedef struct staged {
    stm_ref_t a, b;
    helper_t h;
    int runs;
    int64_t seen;
    int bump_a_too; /* case_extension: the helper moves a as well */
} staged_t;

static int read_a_write_b(stm_tx_t *tx, void *arg)
{
    staged_t *s = arg;
    int64_t a = stm_read(tx, &s->a);
    if (s->runs++ == 0)
        helper_commit(&s->h, incr_body, &s->a);
    stm_write(tx, &s->b, a);
    s->seen = a;
    return 0;
}

static void case_validation(void)
{
    staged_t s = {.runs = 0};
    stm_ref_init(&s.a, 10, 0, 0);
    stm_ref_init(&s.b, 0, 0, 0);
    helper_start(&s.h);
    stm_stats_t before = stats_now();
    CHECK_EQ(stm_atomically(read_a_write_b, &s, -1), 0);
    stm_stats_t after = stats_now();
    /* The first run read a = 10, the helper made it 11 before the commit:
     * validation failed, the body ran again and copied 11. */
    CHECK_EQ(s.runs, 2);
    CHECK_EQ(s.seen, 11);
    CHECK_EQ(stm_ref_peek(&s.b), 11);
    CHECK_EQ(after.aborts[STM_ABORT_validation] -
                 before.aborts[STM_ABORT_validation],
             1);
    helper_stop(&s.h);
    stm_ref_destroy(&s.a);
    stm_ref_destroy(&s.b);
}

/* ---- a newer version met by a read: extension, or abort ---- */

static int bump_both(stm_tx_t *tx, void *arg)
{
    staged_t *s = arg;
    stm_write(tx, &s->a, stm_read(tx, &s->a) + 1);
    stm_write(tx, &s->b, stm_read(tx, &s->b) + 1);
    return 0;
}

static int read_a_then_b(stm_tx_t *tx, void *arg)
{
    staged_t *s = arg;
    int64_t a = stm_read(tx, &s->a);
    if (s->runs++ == 0)
        helper_commit(&s->h, s->bump_a_too ? bump_both : incr_body,
                      s->bump_a_too ? (void *)s : (void *)&s->b);
    int64_t b = stm_read(tx, &s->b);
    stm_write(tx, &s->a, a); /* an update transaction: no history reads */
    return (int)(a * 100 + b);
}

static void case_extension(void)
{
    staged_t s = {.runs = 0, .bump_a_too = 0};
    stm_ref_init(&s.a, 1, 0, 0);
    stm_ref_init(&s.b, 2, 0, 0);
    helper_start(&s.h);
    /* Only b moved: the snapshot extends, one run, a consistent pair. */
    stm_stats_t before = stats_now();
    CHECK_EQ(stm_atomically(read_a_then_b, &s, -1), 1 * 100 + 3);
    stm_stats_t after = stats_now();
    CHECK_EQ(s.runs, 1);
    CHECK_EQ(after.extensions - before.extensions, 1);
    /* Both moved after a was read: extension fails, the body re-runs. */
    s.runs = 0;
    s.bump_a_too = 1;
    before = stats_now();
    CHECK_EQ(stm_atomically(read_a_then_b, &s, -1), 2 * 100 + 4);
    after = stats_now();
    CHECK_EQ(s.runs, 2);
    CHECK_EQ(after.aborts[STM_ABORT_read_version] -
                 before.aborts[STM_ABORT_read_version],
             1);
    helper_stop(&s.h);
    stm_ref_destroy(&s.a);
    stm_ref_destroy(&s.b);
}

/* ---- snapshot reads from history in a read-only transaction ---- */

static int ro_pair(stm_tx_t *tx, void *arg)
{
    staged_t *s = arg;
    int64_t a = stm_read(tx, &s->a);
    if (s->runs++ == 0)
        helper_commit(&s->h, bump_both, s);
    int64_t b = stm_read(tx, &s->b);
    return (int)(a * 100 + b);
}

static void history_run(staged_t *s, uint32_t hmin, uint32_t hmax,
                        int want_runs, int want_faults)
{
    stm_ref_init(&s->a, 1, hmin, hmax);
    stm_ref_init(&s->b, 2, hmin, hmax);
    s->runs = 0;
    stm_stats_t before = stats_now();
    /* The first run reads the pair as it was at its start (1, 2) — from
     * b's history when there is one — or faults and re-runs (2, 3). */
    CHECK_EQ(stm_atomically_ro(ro_pair, s), want_runs == 1 ? 102 : 203);
    stm_stats_t after = stats_now();
    CHECK_EQ(s->runs, want_runs);
    CHECK_EQ(after.aborts[STM_ABORT_history] - before.aborts[STM_ABORT_history],
             want_faults);
}

static void case_history(void)
{
    staged_t s;
    helper_start(&s.h);
    /* :min-history 1: the old value is there from the first commit. */
    history_run(&s, 1, 4, 1, 0);
    stm_ref_destroy(&s.a);
    stm_ref_destroy(&s.b);
    /* No history at all: a read fault, and the body runs again. */
    history_run(&s, 0, 0, 2, 1);
    stm_ref_destroy(&s.a);
    stm_ref_destroy(&s.b);
    /* Clojure's default (0, 10): the fault makes the next commit keep
     * one version, and only then. */
    history_run(&s, 0, 10, 2, 1);
    CHECK_EQ(atomic_load(&s.b.hlen), 0);
    helper_commit(&s.h, incr_body, &s.b);
    CHECK_EQ(atomic_load(&s.b.hlen), 1);
    helper_commit(&s.h, incr_body, &s.b);
    CHECK_EQ(atomic_load(&s.b.hlen), 1); /* no new fault: replaced */
    CHECK_EQ(atomic_load(&s.a.hlen), 0); /* a never faulted */
    helper_stop(&s.h);
    stm_ref_destroy(&s.a);
    stm_ref_destroy(&s.b);
}

/* ---- commit locks are taken in address order ---- */

typedef struct order {
    stm_ref_t refs[2]; /* refs[0] has the lower address */
    _Atomic int saw_low_locked, stop;
} order_t;

static int write_high_then_low(stm_tx_t *tx, void *arg)
{
    order_t *o = arg;
    stm_write(tx, &o->refs[1], 1);
    stm_write(tx, &o->refs[0], 1);
    return 0;
}

static void *watch_low(void *arg)
{
    order_t *o = arg;
    while (!atomic_load(&o->stop))
        if (atomic_load(&o->refs[0].lock) & 1) {
            atomic_store(&o->saw_low_locked, 1);
            break;
        }
    return NULL;
}

static void case_lock_order(void)
{
    order_t o = {.saw_low_locked = 0, .stop = 0};
    stm_ref_init(&o.refs[0], 0, 0, 0);
    stm_ref_init(&o.refs[1], 0, 0, 0);
    /* Hold the higher ref's lock as a stuck committer would. */
    atomic_fetch_or(&o.refs[1].lock, 1);
    pthread_t w;
    CHECK_EQ(pthread_create(&w, NULL, watch_low, &o), 0);
    helper_t h;
    helper_start(&h);
    pthread_mutex_lock(&h.mu);
    h.fn = write_high_then_low;
    h.arg = &o;
    pthread_cond_broadcast(&h.cv);
    pthread_mutex_unlock(&h.mu);
    /* The committer locks the lower ref first, then spins on the higher
     * one and aborts, again and again: the watcher must see the lower
     * ref locked although the body wrote it second. */
    for (int i = 0; i < 5000 && !atomic_load(&o.saw_low_locked); i++)
        sleep_ms(1);
    CHECK(atomic_load(&o.saw_low_locked));
    atomic_store(&o.stop, 1);
    pthread_join(w, NULL);
    /* Release the held lock: the transaction now commits. */
    atomic_fetch_and(&o.refs[1].lock, ~(uint64_t)1);
    pthread_mutex_lock(&h.mu);
    while (h.fn)
        pthread_cond_wait(&h.cv, &h.mu);
    pthread_mutex_unlock(&h.mu);
    CHECK_EQ(stm_ref_peek(&o.refs[0]), 1);
    CHECK_EQ(stm_ref_peek(&o.refs[1]), 1);
    CHECK_GE(stats_now().aborts[STM_ABORT_commit_lock], 1);
    helper_stop(&h);
    stm_ref_destroy(&o.refs[0]);
    stm_ref_destroy(&o.refs[1]);
}

/* ---- contention: increments from several threads are never lost ---- */

#define INCR_THREADS 4
#define INCR_EACH 20000

static void *incr_many(void *arg)
{
    for (int i = 0; i < INCR_EACH; i++)
        CHECK_EQ(stm_atomically(incr_body, arg, -1), 0);
    return NULL;
}

static void case_conflicts_rerun(void)
{
    stm_ref_t r;
    stm_ref_init(&r, 0, 0, 0);
    pthread_t t[INCR_THREADS];
    for (int i = 0; i < INCR_THREADS; i++)
        CHECK_EQ(pthread_create(&t[i], NULL, incr_many, &r), 0);
    for (int i = 0; i < INCR_THREADS; i++)
        pthread_join(t[i], NULL);
    CHECK_EQ(stm_ref_peek(&r), INCR_THREADS * INCR_EACH);
    stm_ref_destroy(&r);
}

/* ---- commute ---- */

static int64_t add(int64_t old, int64_t arg)
{
    return old + arg;
}

static int commute_body(stm_tx_t *tx, void *arg)
{
    stm_ref_t *r = arg;
    int64_t v = stm_commute(tx, r, add, 3);
    /* The in-transaction value is the function applied already. */
    return v >= 3 ? 0 : -1;
}

static void *commute_many(void *arg)
{
    for (int i = 0; i < INCR_EACH; i++)
        CHECK_EQ(stm_atomically(commute_body, arg, -1), 0);
    return NULL;
}

typedef struct commute_stage {
    stm_ref_t r;
    helper_t h;
    int runs;
    int64_t in_tx;
} commute_stage_t;

static int commute_staged(stm_tx_t *tx, void *arg)
{
    commute_stage_t *c = arg;
    c->in_tx = stm_commute(tx, &c->r, add, 10);
    if (c->runs++ == 0)
        helper_commit(&c->h, incr_body, &c->r);
    return 0;
}

static void case_commute(void)
{
    stm_ref_t r;
    stm_ref_init(&r, 0, 0, 0);
    stm_stats_t before = stats_now();
    pthread_t t[INCR_THREADS];
    for (int i = 0; i < INCR_THREADS; i++)
        CHECK_EQ(pthread_create(&t[i], NULL, commute_many, &r), 0);
    for (int i = 0; i < INCR_THREADS; i++)
        pthread_join(t[i], NULL);
    stm_stats_t after = stats_now();
    CHECK_EQ(stm_ref_peek(&r), 3 * INCR_THREADS * INCR_EACH);
    /* Commutes are never validated: no read-set aborts at all. */
    CHECK_EQ(after.aborts[STM_ABORT_validation] -
                 before.aborts[STM_ABORT_validation],
             0);
    stm_ref_destroy(&r);

    /* A commit between the commute and our commit does not abort us:
     * the function is re-applied to the newer value (0 + 1, then + 10). */
    commute_stage_t c = {.runs = 0};
    stm_ref_init(&c.r, 0, 0, 0);
    helper_start(&c.h);
    CHECK_EQ(stm_atomically(commute_staged, &c, -1), 0);
    CHECK_EQ(c.runs, 1);
    CHECK_EQ(c.in_tx, 10);
    CHECK_EQ(stm_ref_peek(&c.r), 11);
    helper_stop(&c.h);
    stm_ref_destroy(&c.r);
}

/* ---- ensure stops write skew under snapshot isolation ---- */

typedef struct skew {
    stm_ref_t a, b; /* on call: a + b >= 1 must hold */
    helper_t h;
    int runs, use_ensure;
} skew_t;

static int take_b_off(stm_tx_t *tx, void *arg)
{
    skew_t *s = arg;
    if (stm_read(tx, &s->a) + stm_read(tx, &s->b) >= 2)
        stm_write(tx, &s->b, 0);
    return 0;
}

static int take_a_off(stm_tx_t *tx, void *arg)
{
    skew_t *s = arg;
    int64_t a = stm_read(tx, &s->a);
    int64_t b = s->use_ensure ? stm_ensure(tx, &s->b) : stm_read(tx, &s->b);
    if (s->runs++ == 0)
        helper_commit(&s->h, take_b_off, s);
    if (a + b >= 2)
        stm_write(tx, &s->a, 0);
    return 0;
}

static int64_t skew_run(stm_isolation_t iso, int use_ensure)
{
    stm_config_t c;
    stm_config_default(&c);
    c.isolation = iso;
    stm_configure(&c);
    skew_t s = {.runs = 0, .use_ensure = use_ensure};
    stm_ref_init(&s.a, 1, 0, 4);
    stm_ref_init(&s.b, 1, 0, 4);
    helper_start(&s.h);
    CHECK_EQ(stm_atomically(take_a_off, &s, -1), 0);
    int64_t sum = stm_ref_peek(&s.a) + stm_ref_peek(&s.b);
    helper_stop(&s.h);
    stm_ref_destroy(&s.a);
    stm_ref_destroy(&s.b);
    stm_config_default(&c);
    stm_configure(&c);
    return sum;
}

static void case_ensure(void)
{
    /* Snapshot isolation, as in Clojure: both see a + b = 2 and each
     * takes one off — the constraint breaks (write skew). */
    CHECK_EQ(skew_run(STM_SNAPSHOT, 0), 0);
    /* ensure(b) makes the commit fail when b changed: one remains. */
    CHECK_EQ(skew_run(STM_SNAPSHOT, 1), 1);
    /* Serializable (TL2) validates every read: no skew either way. */
    CHECK_EQ(skew_run(STM_SERIALIZABLE, 0), 1);
}

/* ---- retry wakes when a read ref changes, and not before ---- */

typedef struct waiter_arg {
    stm_ref_t a, other;
    _Atomic int runs, done;
    int64_t got;
} waiter_arg_t;

static int wait_nonzero(stm_tx_t *tx, void *arg)
{
    waiter_arg_t *w = arg;
    atomic_fetch_add(&w->runs, 1);
    int64_t v = stm_read(tx, &w->a);
    if (v == 0)
        stm_retry(tx);
    return (int)v;
}

static void *waiter_main(void *arg)
{
    waiter_arg_t *w = arg;
    w->got = stm_atomically(wait_nonzero, w, -1);
    atomic_store(&w->done, 1);
    return NULL;
}

static int set_five(stm_tx_t *tx, void *arg)
{
    stm_write(tx, arg, 5);
    return 0;
}

static void case_retry_wakes(void)
{
    waiter_arg_t w = {.runs = 0, .done = 0};
    stm_ref_init(&w.a, 0, 0, 0);
    stm_ref_init(&w.other, 0, 0, 0);
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, waiter_main, &w), 0);
    for (int i = 0; i < 5000 && atomic_load(&w.runs) == 0; i++)
        sleep_ms(1);
    sleep_ms(50);
    CHECK_EQ(atomic_load(&w.done), 0);
    CHECK_EQ(atomic_load(&w.runs), 1);
    /* Commits to refs it did not read do not re-run it. */
    for (int i = 0; i < 20; i++)
        CHECK_EQ(stm_atomically(incr_body, &w.other, -1), 0);
    sleep_ms(50);
    CHECK_EQ(atomic_load(&w.done), 0);
    CHECK_EQ(atomic_load(&w.runs), 1);
    /* A commit to what it read wakes it, and it sees the new value. */
    CHECK_EQ(stm_atomically(set_five, &w.a, -1), 0);
    pthread_join(t, NULL);
    CHECK_EQ(w.got, 5);
    CHECK_EQ(atomic_load(&w.runs), 2);
    stm_ref_destroy(&w.a);
    stm_ref_destroy(&w.other);
}

static int retry_now(stm_tx_t *tx, void *arg)
{
    if (arg)
        (void)stm_read(tx, arg);
    stm_retry(tx);
}

static void case_retry_timeout(void)
{
    stm_ref_t r;
    stm_ref_init(&r, 0, 0, 0);
    CHECK_EQ(stm_atomically(retry_now, &r, 0), -ETIMEDOUT);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_EQ(stm_atomically(retry_now, &r, 30 * MS), -ETIMEDOUT);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    CHECK_GE((t1.tv_sec - t0.tv_sec) * 1000000000LL + t1.tv_nsec - t0.tv_nsec,
             30 * MS);
    /* Nothing read: nothing could ever wake it. */
    CHECK_EQ(stm_atomically(retry_now, NULL, -1), -EDEADLK);
    stm_ref_destroy(&r);
}

/* ---- orElse undoes the first branch's writes ---- */

typedef struct oe {
    stm_ref_t x, y;
} oe_t;

static int write_x_then_retry(stm_tx_t *tx, void *arg)
{
    oe_t *o = arg;
    stm_write(tx, &o->x, 99);
    stm_retry(tx);
}

static int write_y(stm_tx_t *tx, void *arg)
{
    oe_t *o = arg;
    stm_write(tx, &o->y, stm_read(tx, &o->x) + 1);
    return 7;
}

static int or_else_body(stm_tx_t *tx, void *arg)
{
    return stm_or_else(tx, write_x_then_retry, arg, write_y, arg);
}

static void case_or_else(void)
{
    oe_t o;
    stm_ref_init(&o.x, 1, 0, 0);
    stm_ref_init(&o.y, 0, 0, 0);
    CHECK_EQ(stm_atomically(or_else_body, &o, -1), 7);
    CHECK_EQ(stm_ref_peek(&o.x), 1); /* the first branch's write is gone */
    CHECK_EQ(stm_ref_peek(&o.y), 2);
    stm_ref_destroy(&o.x);
    stm_ref_destroy(&o.y);
}

/* ---- clock overflow: the clock resets and nothing is lost ---- */

static void case_clock_overflow(void)
{
    stm_config_t c;
    stm_config_default(&c);
    c.clock_limit = 50;
    stm_configure(&c);
    stm_ref_t r[2];
    for (int i = 0; i < 2; i++) {
        stm_ref_init(&r[i], 0, 0, 2);
        CHECK_EQ(stm_refs_register(&r[i], 1, sizeof r[i]), 0);
    }
    stm_stats_t before = stats_now();
    pthread_t t[INCR_THREADS];
    for (int i = 0; i < INCR_THREADS; i++)
        CHECK_EQ(pthread_create(&t[i], NULL, incr_many, &r[i % 2]), 0);
    for (int i = 0; i < INCR_THREADS; i++)
        pthread_join(t[i], NULL);
    stm_stats_t after = stats_now();
    CHECK_EQ(stm_ref_peek(&r[0]) + stm_ref_peek(&r[1]),
             INCR_THREADS * INCR_EACH);
    CHECK_GE(after.clock_resets - before.clock_resets,
             INCR_THREADS * INCR_EACH / 50 / 2);
    CHECK_LE(stm_clock_now(), 50);
    CHECK_LE(atomic_load(&r[0].lock) >> 1, 50);
    for (int i = 0; i < 2; i++) {
        stm_refs_unregister(&r[i]);
        stm_ref_destroy(&r[i]);
    }
    stm_config_default(&c);
    stm_configure(&c);
}

/* ---- the retry limit: Clojure's RETRY_LIMIT, then the update fails ---- */

/* Every attempt reads a, has the helper commit to a, and writes b: its
 * validation fails every time. */
static int always_conflicts(stm_tx_t *tx, void *arg)
{
    staged_t *s = arg;
    int64_t a = stm_read(tx, &s->a);
    s->runs++;
    helper_commit(&s->h, incr_body, &s->a);
    stm_write(tx, &s->b, a);
    return 0;
}

static void case_retry_limit(void)
{
    stm_config_t c;
    stm_config_default(&c);
    CHECK_EQ(c.retry_limit, 10000); /* Clojure's default */
    c.retry_limit = 5;
    stm_configure(&c);
    staged_t s = {.runs = 0};
    stm_ref_init(&s.a, 0, 0, 0);
    stm_ref_init(&s.b, 0, 0, 0);
    helper_start(&s.h);
    stm_stats_t before = stats_now();
    CHECK_EQ(stm_atomically(always_conflicts, &s, -1), -ECANCELED);
    stm_stats_t after = stats_now();
    /* Five attempts, each aborted, then the error; nothing committed. */
    CHECK_EQ(s.runs, 5);
    CHECK_EQ(after.gave_up - before.gave_up, 1);
    CHECK_EQ(after.aborts[STM_ABORT_validation] -
                 before.aborts[STM_ABORT_validation],
             5);
    CHECK_EQ(stm_ref_peek(&s.a), 5);
    CHECK_EQ(stm_ref_peek(&s.b), 0);
    /* The next transaction starts its count afresh and commits. */
    CHECK_EQ(stm_atomically(incr_body, &s.b, -1), 0);
    CHECK_EQ(stm_ref_peek(&s.b), 1);
    /* 0: no limit; the body then commits once the helper stops moving a. */
    c.retry_limit = 0;
    stm_configure(&c);
    s.runs = 0;
    CHECK_EQ(stm_atomically(read_a_write_b, &s, -1), 0);
    CHECK_EQ(s.runs, 2);
    helper_stop(&s.h);
    stm_ref_destroy(&s.a);
    stm_ref_destroy(&s.b);
    stm_config_default(&c);
    stm_configure(&c);
}

static const struct {
    const char *name;
    void (*fn)(void);
} cases[] = {
    {"validation", case_validation},
    {"extension", case_extension},
    {"history", case_history},
    {"lock_order", case_lock_order},
    {"conflicts_rerun", case_conflicts_rerun},
    {"commute", case_commute},
    {"ensure", case_ensure},
    {"retry_wakes", case_retry_wakes},
    {"retry_timeout", case_retry_timeout},
    {"or_else", case_or_else},
    {"clock_overflow", case_clock_overflow},
    {"retry_limit", case_retry_limit},
};
#define NCASES (sizeof cases / sizeof cases[0])

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < NCASES; i++)
            printf("%s\n", cases[i].name);
        return 0;
    }
    for (size_t i = 0; i < NCASES; i++) {
        if (argc == 2 && strcmp(argv[1], cases[i].name) != 0)
            continue;
        cases[i].fn();
        if (argc == 2)
            return 0;
    }
    if (argc == 2)
        CB_FAIL_("unknown case %s", argv[1]);
    return 0;
}
