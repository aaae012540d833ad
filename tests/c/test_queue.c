/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * runtime/queue: the MPSC queue pops every node exactly once, in each
 * producer's order, with producers racing on real threads; an empty queue
 * pops NULL and says so.
 */
#include "tests/c/cb_test.h"

#include "runtime/queue.h"

#include <pthread.h>
#include <stdint.h>

#define PRODUCERS 4
#define PER_PRODUCER 200000

typedef struct item {
    rt_qnode_t node;
    int producer;
    int seq;
} item_t;

static rt_mpscq_t q;
static item_t *items;

static void *produce(void *arg)
{
    int p = (int)(intptr_t)arg;
    for (int i = 0; i < PER_PRODUCER; i++) {
        item_t *it = &items[p * PER_PRODUCER + i];
        it->producer = p;
        it->seq = i;
        rt_mpscq_push(&q, &it->node);
    }
    return NULL;
}

static void test_empty(void)
{
    rt_mpscq_t e;
    rt_mpscq_init(&e);
    CHECK(rt_mpscq_pop(&e) == NULL);
    CHECK(!rt_mpscq_maybe_nonempty(&e));
    item_t a, b;
    rt_mpscq_push(&e, &a.node);
    CHECK(rt_mpscq_maybe_nonempty(&e));
    rt_mpscq_push(&e, &b.node);
    CHECK(rt_mpscq_pop(&e) == &a.node);
    CHECK(rt_mpscq_pop(&e) == &b.node);
    CHECK(rt_mpscq_pop(&e) == NULL);
    CHECK(!rt_mpscq_maybe_nonempty(&e));
    /* Reusable after draining. */
    rt_mpscq_push(&e, &a.node);
    CHECK(rt_mpscq_pop(&e) == &a.node);
    CHECK(!rt_mpscq_maybe_nonempty(&e));
}

static void test_race(void)
{
    items = calloc((size_t)PRODUCERS * PER_PRODUCER, sizeof *items);
    CHECK(items != NULL);
    rt_mpscq_init(&q);
    pthread_t t[PRODUCERS];
    for (int p = 0; p < PRODUCERS; p++)
        CHECK_EQ(pthread_create(&t[p], NULL, produce, (void *)(intptr_t)p), 0);
    int next[PRODUCERS] = {0};
    long got = 0;
    while (got < (long)PRODUCERS * PER_PRODUCER) {
        rt_qnode_t *n = rt_mpscq_pop(&q);
        if (!n)
            continue;
        item_t *it = (item_t *)n;
        CHECK(it->producer >= 0 && it->producer < PRODUCERS);
        CHECK_EQ(it->seq, next[it->producer]);
        next[it->producer]++;
        got++;
    }
    for (int p = 0; p < PRODUCERS; p++)
        CHECK_EQ(pthread_join(t[p], NULL), 0);
    CHECK(rt_mpscq_pop(&q) == NULL);
    CHECK(!rt_mpscq_maybe_nonempty(&q));
    for (int p = 0; p < PRODUCERS; p++)
        CHECK_EQ(next[p], PER_PRODUCER);
    free(items);
}

int main(void)
{
    test_empty();
    test_race();
    printf("ok\n");
    return 0;
}
