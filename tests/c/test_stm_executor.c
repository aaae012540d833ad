/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * The executor under the `locks` and `stm` models (runtime/executor.c):
 * a pool that never compensates stays at its size and starves; one that
 * compensates grows only while tasks block, and shrinks back after.
 */
#include "tests/c/cb_test.h"

#include "runtime/clock.h"
#include "runtime/executor.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#define MS 1000000LL
#define POOL 2

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A latch the tasks block on, as a managed block. */
static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int open;
    _Atomic int started, finished;
} latch = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0};

static void blocker(void *arg)
{
    (void)arg;
    atomic_fetch_add(&latch.started, 1);
    rt_exec_block_begin();
    pthread_mutex_lock(&latch.mu);
    while (!latch.open)
        pthread_cond_wait(&latch.cv, &latch.mu);
    pthread_mutex_unlock(&latch.mu);
    rt_exec_block_end();
    atomic_fetch_add(&latch.finished, 1);
}

static void spinner(void *arg)
{
    (void)arg;
    int64_t end = rt_now_ns() + 5 * MS;
    while (rt_now_ns() < end)
        ;
    atomic_fetch_add(&latch.finished, 1);
}

static void reset_latch(void)
{
    latch.open = 0;
    atomic_store(&latch.started, 0);
    atomic_store(&latch.finished, 0);
}

static void open_latch(void)
{
    pthread_mutex_lock(&latch.mu);
    latch.open = 1;
    pthread_cond_broadcast(&latch.cv);
    pthread_mutex_unlock(&latch.mu);
}

static rt_exec_t *pool(bool compensate)
{
    rt_exec_opts_t o = {.parallelism = POOL,
                        .compensate = compensate,
                        .max_threads = 64,
                        .keepalive_ns = 20 * MS};
    rt_exec_t *e = NULL;
    CHECK_EQ(rt_exec_new(&o, &e), 0);
    return e;
}

static void wait_for(_Atomic int *v, int want)
{
    for (int i = 0; i < 10000 && atomic_load(v) < want; i++)
        sleep_ms(1);
    CHECK_EQ(atomic_load(v), want);
}

int main(void)
{
    rt_exec_stats_t st;

    /* CPU-bound tasks on a compensating pool: no spare ever starts. */
    reset_latch();
    rt_exec_t *e = pool(true);
    for (int i = 0; i < 8; i++)
        CHECK_EQ(rt_exec_submit(e, spinner, NULL, NULL), 0);
    wait_for(&latch.finished, 8);
    rt_exec_stats(e, &st);
    CHECK_EQ(st.threads_started, POOL);
    CHECK_EQ(st.spares_started, 0);
    CHECK_EQ(rt_exec_free(e, 1000 * MS, NULL, 0), 0);

    /* Blocking tasks on a compensating pool: all six run at once, on
     * spares, and the spares retire once the blocks end. */
    reset_latch();
    e = pool(true);
    rt_exec_task_t *t[6];
    for (int i = 0; i < 6; i++)
        CHECK_EQ(rt_exec_submit(e, blocker, NULL, &t[i]), 0);
    wait_for(&latch.started, 6);
    rt_exec_stats(e, &st);
    CHECK_GE(st.spares_started, 6 - POOL);
    CHECK_GE(st.threads_live, 6);
    open_latch();
    for (int i = 0; i < 6; i++)
        CHECK_EQ(rt_exec_join(t[i]), 0);
    for (int i = 0; i < 5000; i++) {
        rt_exec_stats(e, &st);
        if (st.threads_live == POOL)
            break;
        sleep_ms(1);
    }
    CHECK_EQ(st.threads_live, POOL);
    CHECK_EQ(st.tasks_run, 6);
    CHECK_GE(st.blocks, 6);
    CHECK_GT(st.blocked_ns, 0);
    CHECK_EQ(rt_exec_free(e, 1000 * MS, NULL, 0), 0);

    /* A fixed pool: two tasks block, the rest wait in the queue. */
    reset_latch();
    e = pool(false);
    for (int i = 0; i < 4; i++)
        CHECK_EQ(rt_exec_submit(e, blocker, NULL, &t[i]), 0);
    wait_for(&latch.started, POOL);
    sleep_ms(50);
    CHECK_EQ(atomic_load(&latch.started), POOL);
    rt_exec_stats(e, &st);
    CHECK_EQ(st.threads_started, POOL);
    /* Still stuck: shutting down now reports the tasks and frees nothing. */
    char err[128];
    CHECK_EQ(rt_exec_free(e, 10 * MS, err, sizeof err), -EBUSY);
    CHECK(strstr(err, "4 tasks") != NULL);
    open_latch();
    for (int i = 0; i < 4; i++)
        CHECK_EQ(rt_exec_join(t[i]), 0);
    CHECK_EQ(atomic_load(&latch.finished), 4);
    CHECK_EQ(rt_exec_free(e, 1000 * MS, NULL, 0), 0);
    return 0;
}
