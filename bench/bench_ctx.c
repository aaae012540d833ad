/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Context-switch cost: a round trip (main -> fiber -> main, two switches)
 * with rt_ctx_switch, the same with the locked instructions a message
 * round trip needs (the floor under the models' ping-pong), the same with
 * glibc's swapcontext as the baseline runtime/ctx.h rejects (this is the
 * one place ucontext appears), and the life of a trivial task (make, run,
 * finish, destroy; stack excluded).
 * Each figure is the median of RUNS runs, in ns per operation.
 */
#include "bench/bench.h"
#include "runtime/clock.h"
#include "runtime/ctx.h"
#include "runtime/stack.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

#define RUNS 7
#define ROUND_TRIPS 10000000L
#define UCONTEXT_ROUND_TRIPS 1000000L
#define LIFECYCLES 1000000L
#define STACK_SIZE ((size_t)64 * 1024)

/* ---- rt_ctx_switch ---- */

static rt_ctx_t main_ctx, fib_ctx;

static void bounce(void *arg)
{
    (void)arg;
    for (;;)
        rt_ctx_switch(&fib_ctx, &main_ctx);
}

static double rt_round_trip_ns(void)
{
    int64_t t0 = rt_now_ns();
    for (long i = 0; i < ROUND_TRIPS; i++)
        rt_ctx_switch(&main_ctx, &fib_ctx);
    return (double)(rt_now_ns() - t0) / (double)ROUND_TRIPS;
}

/* ---- the same with a message's locked instructions ----
 *
 * What a message round trip between two green tasks on one thread costs
 * before any of its own work: two switches, and the locked instructions
 * that each hand-off needs so that other threads may take part (actor:
 * three a message, the queue's push, the wake's CAS and the receiver's
 * Dekker store; csp: two, the lock of each channel op).  Each on a line
 * of its own, as they are in the models. */

static struct {
    _Alignas(64) _Atomic long v;
} locked_words[3];
static int nlocked; /* locked instructions each side issues per hand-off */

static void locked_ops(void)
{
    for (int k = 0; k < nlocked; k++)
        atomic_exchange_explicit(&locked_words[k].v, k, memory_order_seq_cst);
}

static void bounce_locked(void *arg)
{
    (void)arg;
    for (;;) {
        locked_ops();
        rt_ctx_switch(&fib_ctx, &main_ctx);
    }
}

static double locked_round_trip_ns(void)
{
    int64_t t0 = rt_now_ns();
    for (long i = 0; i < ROUND_TRIPS; i++) {
        locked_ops();
        rt_ctx_switch(&main_ctx, &fib_ctx);
    }
    return (double)(rt_now_ns() - t0) / (double)ROUND_TRIPS;
}

/* ---- swapcontext ---- */

static ucontext_t main_uc, fib_uc;

static void uc_bounce(void)
{
    for (;;)
        swapcontext(&fib_uc, &main_uc);
}

static double uc_round_trip_ns(void)
{
    int64_t t0 = rt_now_ns();
    for (long i = 0; i < UCONTEXT_ROUND_TRIPS; i++)
        swapcontext(&main_uc, &fib_uc);
    return (double)(rt_now_ns() - t0) / (double)UCONTEXT_ROUND_TRIPS;
}

/* ---- A trivial task's life ---- */

static rt_ctx_t task_ctx;

static void finish_at_once(void *arg)
{
    (void)arg;
    rt_ctx_switch_final(&task_ctx, &main_ctx);
}

static double lifecycle_ns(const rt_stack_t *st)
{
    int64_t t0 = rt_now_ns();
    for (long i = 0; i < LIFECYCLES; i++) {
        rt_ctx_make(&task_ctx, st->lo, st->size, finish_at_once, NULL);
        rt_ctx_switch(&main_ctx, &task_ctx);
        rt_ctx_destroy(&task_ctx);
    }
    return (double)(rt_now_ns() - t0) / (double)LIFECYCLES;
}

int main(void)
{
    bench_print_build("bench_ctx");
    rt_stack_t st, ust;
    if (rt_stack_map(STACK_SIZE, &st) != 0 ||
        rt_stack_map(STACK_SIZE, &ust) != 0) {
        fprintf(stderr, "bench_ctx: cannot map stacks\n");
        return 1;
    }
    double v[RUNS];

    rt_ctx_init_thread(&main_ctx);
    rt_ctx_make(&fib_ctx, st.lo, st.size, bounce, NULL);
    rt_ctx_switch(&main_ctx, &fib_ctx); /* warm up */
    for (int r = 0; r < RUNS; r++)
        v[r] = rt_round_trip_ns();
    printf("ctx_switch_round_trip_ns: %.1f\n", bench_median(v, RUNS));
    rt_ctx_destroy(&fib_ctx);

    for (nlocked = 2; nlocked <= 3; nlocked++) {
        rt_ctx_make(&fib_ctx, st.lo, st.size, bounce_locked, NULL);
        rt_ctx_switch(&main_ctx, &fib_ctx); /* warm up */
        for (int r = 0; r < RUNS; r++)
            v[r] = locked_round_trip_ns();
        printf("ctx_round_trip_with_%d_locked_ns: %.1f\n", 2 * nlocked,
               bench_median(v, RUNS));
        rt_ctx_destroy(&fib_ctx);
    }

    getcontext(&fib_uc);
    fib_uc.uc_stack.ss_sp = ust.lo;
    fib_uc.uc_stack.ss_size = ust.size;
    fib_uc.uc_link = NULL;
    makecontext(&fib_uc, uc_bounce, 0);
    swapcontext(&main_uc, &fib_uc); /* warm up */
    for (int r = 0; r < RUNS; r++)
        v[r] = uc_round_trip_ns();
    printf("ucontext_swapcontext_round_trip_ns: %.1f\n", bench_median(v, RUNS));

    for (int r = 0; r < RUNS; r++)
        v[r] = lifecycle_ns(&st);
    printf("ctx_make_run_finish_ns: %.1f\n", bench_median(v, RUNS));

    rt_stack_unmap(&st);
    rt_stack_unmap(&ust);
    return 0;
}
