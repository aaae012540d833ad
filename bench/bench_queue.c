/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * runtime/queue: ns per push+pop on one thread (the floor under a send to
 * a process on the same scheduler), and the consumer's rate with P
 * producer threads pushing flat out (the floor under mailbox-flood).
 * Prints figures; asserts nothing.
 */
#include "bench/bench.h"

#include "runtime/clock.h"
#include "runtime/queue.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#define N 2000000

typedef struct item {
    rt_qnode_t node;
} item_t;

static rt_mpscq_t q;
static item_t *items, dummy;
static int nprod;

static void *produce(void *arg)
{
    int p = (int)(intptr_t)arg;
    for (int i = p; i < N; i += nprod)
        rt_mpscq_push(&q, &items[i].node);
    return NULL;
}

static double one_thread(void)
{
    rt_mpscq_init(&q, &dummy.node);
    rt_qnode_t *item;
    int64_t t0 = rt_now_ns();
    for (int i = 0; i < N; i++) {
        rt_mpscq_push(&q, &items[i].node);
        if (!rt_mpscq_pop(&q, &item))
            abort();
    }
    return (double)(rt_now_ns() - t0) / N;
}

static double contended(int producers)
{
    rt_mpscq_init(&q, &dummy.node);
    rt_qnode_t *item;
    nprod = producers;
    pthread_t t[8];
    int64_t t0 = rt_now_ns();
    for (int p = 0; p < producers; p++)
        pthread_create(&t[p], NULL, produce, (void *)(intptr_t)p);
    for (long got = 0; got < N;)
        got += rt_mpscq_pop(&q, &item) != NULL;
    int64_t dt = rt_now_ns() - t0;
    for (int p = 0; p < producers; p++)
        pthread_join(t[p], NULL);
    return (double)N * 1e9 / (double)dt;
}

int main(void)
{
    bench_print_build("bench_queue");
    items = calloc(N, sizeof *items);
    if (!items)
        return 1;
    double r[5];
    for (int i = 0; i < 5; i++)
        r[i] = one_thread();
    printf("push+pop, one thread: %.1f ns (median of 5)\n", bench_median(r, 5));
    for (int p = 1; p <= 4; p *= 2) {
        for (int i = 0; i < 5; i++)
            r[i] = contended(p);
        printf("%d producer thread(s) -> 1 consumer: %.1f M nodes/s "
               "(median of 5)\n",
               p, bench_median(r, 5) / 1e6);
    }
    free(items);
    return 0;
}
