/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * runtime/queue: the MPSC queue hands out every item exactly once, in each
 * producer's order, with producers racing on real threads; every node is
 * retired exactly once, and the last one reached stays as the dummy; an
 * empty queue pops NULL and says so.
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
    int retired;
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

/* Pop once: the item's seq (its contents), or -1 when nothing was
 * reachable; *retired is the node the pop gave back. */
static int pop_seq(rt_mpscq_t *e, rt_qnode_t **retired)
{
    rt_qnode_t *item;
    *retired = rt_mpscq_pop(e, &item);
    return *retired ? ((item_t *)item)->seq : -1;
}

static void test_empty(void)
{
    rt_mpscq_t e;
    item_t d = {0}, a = {.seq = 1}, b = {.seq = 2};
    rt_mpscq_init(&e, &d.node);
    CHECK(rt_mpscq_dummy(&e) == &d.node);
    rt_qnode_t *r;
    CHECK_EQ(pop_seq(&e, &r), -1);
    CHECK(!rt_mpscq_maybe_nonempty(&e));
    rt_mpscq_push(&e, &a.node);
    CHECK(rt_mpscq_maybe_nonempty(&e));
    rt_mpscq_push(&e, &b.node);
    CHECK_EQ(pop_seq(&e, &r), 1);
    CHECK(r == &d.node); /* the first dummy is retired first */
    CHECK_EQ(pop_seq(&e, &r), 2);
    CHECK(r == &a.node);
    CHECK_EQ(pop_seq(&e, &r), -1);
    CHECK(!rt_mpscq_maybe_nonempty(&e));
    CHECK(rt_mpscq_dummy(&e) == &b.node);
    /* Reusable after draining, with a retired node pushed again. */
    d.seq = 3;
    rt_mpscq_push(&e, &d.node);
    CHECK(rt_mpscq_maybe_nonempty(&e));
    CHECK_EQ(pop_seq(&e, &r), 3);
    CHECK(r == &b.node);
    CHECK(!rt_mpscq_maybe_nonempty(&e));
    CHECK(rt_mpscq_dummy(&e) == &d.node);
}

static void test_half_done_push(void)
{
    /* A push between its exchange and its link: pop sees nothing yet,
     * maybe_nonempty says something is coming (the state a parking
     * receiver must not sleep through). */
    rt_mpscq_t e;
    item_t d = {0}, a = {.seq = 1};
    rt_mpscq_init(&e, &d.node);
    atomic_store(&a.node.next, NULL);
    atomic_store(&e.head, &a.node); /* the exchange, without the link */
    rt_qnode_t *r;
    CHECK_EQ(pop_seq(&e, &r), -1);
    CHECK(rt_mpscq_maybe_nonempty(&e));
    atomic_store(&d.node.next, &a.node); /* the link */
    CHECK_EQ(pop_seq(&e, &r), 1);
    CHECK(!rt_mpscq_maybe_nonempty(&e));
}

static void test_race(void)
{
    size_t n = (size_t)PRODUCERS * PER_PRODUCER;
    items = calloc(n + 1, sizeof *items); /* the last one is the dummy */
    CHECK(items != NULL);
    rt_mpscq_init(&q, &items[n].node);
    pthread_t t[PRODUCERS];
    for (int p = 0; p < PRODUCERS; p++)
        CHECK_EQ(pthread_create(&t[p], NULL, produce, (void *)(intptr_t)p), 0);
    int next[PRODUCERS] = {0};
    long got = 0;
    while (got < (long)n) {
        rt_qnode_t *item, *r = rt_mpscq_pop(&q, &item);
        if (!r)
            continue;
        item_t *it = (item_t *)item;
        CHECK(it->producer >= 0 && it->producer < PRODUCERS);
        CHECK_EQ(it->seq, next[it->producer]);
        next[it->producer]++;
        ((item_t *)r)->retired++;
        got++;
    }
    for (int p = 0; p < PRODUCERS; p++)
        CHECK_EQ(pthread_join(t[p], NULL), 0);
    rt_qnode_t *item;
    CHECK(rt_mpscq_pop(&q, &item) == NULL);
    CHECK(!rt_mpscq_maybe_nonempty(&q));
    for (int p = 0; p < PRODUCERS; p++)
        CHECK_EQ(next[p], PER_PRODUCER);
    /* Every node but the last reached was retired once. */
    item_t *dummy = (item_t *)rt_mpscq_dummy(&q);
    for (size_t i = 0; i <= n; i++)
        CHECK_EQ(items[i].retired, &items[i] == dummy ? 0 : 1);
    free(items);
}

int main(void)
{
    test_empty();
    test_half_done_push();
    test_race();
    printf("ok\n");
    return 0;
}
