/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * What the poller costs and how punctual it is:
 *   - cross-thread wake latency: from just before rt_poller_wake on one
 *     thread to the return of a blocked rt_poller_poll(-1) on another;
 *   - the cost of a wake that coalesces with one already pending, and of
 *     a non-blocking poll;
 *   - timer lateness (fire time minus deadline) for 100 us and 1 ms
 *     sleeps, on epoll_pwait2 with the default 50 us timer slack, on
 *     epoll_pwait2 with a 1 ns slack, and on the timerfd fallback.
 * Percentiles come from rt_hist, so they are within 1% (from above).
 */
#include "bench/bench.h"
#include "runtime/clock.h"
#include "runtime/hist.h"
#include "runtime/poller.h"
#include "runtime/topo.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>

#define WAKE_ROUNDS 2000
/* Long enough for the owner to be asleep in epoll when the wake comes. */
#define WAKE_GAP_NS (100 * RT_NS_PER_US)

static void die(const char *what, int rc)
{
    fprintf(stderr, "bench_poller: %s: %d\n", what, rc);
    exit(1);
}

static void print_us(const char *name, rt_hist_t *h)
{
    printf("%s_p50_us: %.1f\n", name, rt_hist_percentile(h, 50) / 1e3);
    printf("%s_p99_us: %.1f\n", name, rt_hist_percentile(h, 99) / 1e3);
}

/* ---- cross-thread wake ---------------------------------------------- */

struct wake_bench {
    rt_poller_t *p;
    int waker_pu;
    atomic_int ready;      /* owner -> waker: round about to poll */
    atomic_int posted;     /* waker -> owner: round whose stamp is set */
    _Atomic int64_t stamp; /* rt_now_ns() just before the wake */
};

static void *waker_main(void *arg)
{
    struct wake_bench *b = arg;
    if (b->waker_pu >= 0)
        rt_topo_pin_self(b->waker_pu);
    for (int r = 1; r <= WAKE_ROUNDS; r++) {
        while (atomic_load_explicit(&b->ready, memory_order_acquire) < r)
            ;
        struct timespec gap = rt_ns_to_timespec(WAKE_GAP_NS);
        nanosleep(&gap, NULL);
        atomic_store_explicit(&b->stamp, rt_now_ns(), memory_order_relaxed);
        /* Release pairs with the owner's acquire load: stamp is set. */
        atomic_store_explicit(&b->posted, r, memory_order_release);
        rt_poller_wake(b->p);
    }
    return NULL;
}

static void bench_wake(void)
{
    struct wake_bench b = {.waker_pu = -1};
    int rc = rt_poller_new(&b.p);
    if (rc < 0)
        die("rt_poller_new", rc);
    /* Owner and waker on different PUs: the wake crosses CPUs. */
    if (rt_topo_npus() >= 2) {
        rt_topo_pin_self(rt_topo_pu_os_index(0));
        b.waker_pu = rt_topo_pu_os_index(1);
    }
    rt_hist_t *h = rt_hist_new();
    pthread_t th;
    if (pthread_create(&th, NULL, waker_main, &b) != 0)
        die("pthread_create", -1);
    for (int r = 1; r <= WAKE_ROUNDS; r++) {
        atomic_store_explicit(&b.ready, r, memory_order_release);
        while (atomic_load_explicit(&b.posted, memory_order_acquire) < r)
            rt_poller_poll(b.p, -1);
        int64_t now = rt_now_ns();
        rt_hist_record(
            h, (uint64_t)(now - atomic_load_explicit(&b.stamp,
                                                     memory_order_relaxed)));
    }
    pthread_join(th, NULL);
    print_us("poller_wake_latency", h);

    /* A wake while one is pending is one atomic exchange. */
    enum { N = 1000000 };
    rt_poller_wake(b.p);
    int64_t t0 = rt_now_ns();
    for (int i = 0; i < N; i++)
        rt_poller_wake(b.p);
    printf("poller_wake_coalesced_ns: %.1f\n", (double)(rt_now_ns() - t0) / N);
    rt_poller_poll(b.p, 0);

    /* wake + poll(0) on one thread: eventfd write, epoll, read. */
    enum { M = 100000 };
    t0 = rt_now_ns();
    for (int i = 0; i < M; i++) {
        rt_poller_wake(b.p);
        rt_poller_poll(b.p, 0);
    }
    printf("poller_wake_poll_roundtrip_ns: %.0f\n",
           (double)(rt_now_ns() - t0) / M);

    t0 = rt_now_ns();
    for (int i = 0; i < M; i++)
        rt_poller_poll(b.p, 0);
    printf("poller_poll0_ns: %.0f\n", (double)(rt_now_ns() - t0) / M);

    rt_hist_free(h);
    rt_poller_free(b.p);
    int all[RT_TOPO_MAX_PUS], n = rt_topo_npus();
    for (int i = 0; i < n; i++)
        all[i] = rt_topo_pu_os_index(i);
    rt_topo_pin_self_set(all, n);
}

/* ---- timer lateness ------------------------------------------------- */

static int64_t fired_at;

static void timer_fn(rt_timer_t *t, void *arg)
{
    fired_at = rt_now_ns();
}

static void bench_timer(const char *name, int64_t sleep_ns, int n)
{
    rt_poller_t *p;
    int rc = rt_poller_new(&p);
    if (rc < 0)
        die("rt_poller_new", rc);
    rt_hist_t *h = rt_hist_new();
    rt_timer_t t;
    rt_timer_init(&t);
    for (int i = 0; i < n; i++) {
        int64_t d = rt_now_ns() + sleep_ns;
        rt_timer_start(p, &t, d, timer_fn, NULL);
        while (rt_timer_armed(&t))
            rt_poller_poll(p, -1);
        rt_hist_record(h, (uint64_t)(fired_at - d));
    }
    print_us(name, h);
    rt_hist_free(h);
    rt_poller_free(p);
}

static void bench_timers(const char *mode)
{
    char name[128];
    snprintf(name, sizeof name, "poller_timer_100us%s_late", mode);
    bench_timer(name, 100 * RT_NS_PER_US, 2000);
    snprintf(name, sizeof name, "poller_timer_1ms%s_late", mode);
    bench_timer(name, RT_NS_PER_MS, 500);
}

int main(void)
{
    bench_print_build("bench_poller");
    unsetenv("CONCBENCH_POLLER");
    bench_wake();

    bench_timers("");

    int slack = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
    if (slack > 0 && prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0) == 0) {
        bench_timers("_slack1ns");
        prctl(PR_SET_TIMERSLACK, (unsigned long)slack, 0, 0, 0);
    }

    setenv("CONCBENCH_POLLER", "timerfd", 1);
    bench_timers("_timerfd");
    unsetenv("CONCBENCH_POLLER");
    return 0;
}
