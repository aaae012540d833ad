/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/* The design and the invariants are in queue.h. */
#include "runtime/queue.h"

#include <stddef.h>

void rt_mpscq_init(rt_mpscq_t *q, rt_qnode_t *dummy)
{
    atomic_store_explicit(&dummy->next, NULL, memory_order_relaxed);
    atomic_store_explicit(&q->head, dummy, memory_order_relaxed);
    for (int i = 0; i < RT_MPSCQ_PRODUCER_WORDS; i++)
        atomic_store_explicit(&q->producer_words[i], 0, memory_order_relaxed);
    atomic_store_explicit(&q->tail, dummy, memory_order_relaxed);
}

void rt_mpscq_push(rt_mpscq_t *q, rt_qnode_t *n)
{
    /* Relaxed: n is private until the exchange below publishes it. */
    atomic_store_explicit(&n->next, NULL, memory_order_relaxed);
    /* The exchange orders concurrent producers (each gets a distinct
     * predecessor); seq_cst rather than acq_rel because the mailbox's
     * park protocol pairs this store with the receiver's seq_cst load of
     * head in rt_mpscq_maybe_nonempty (Dekker: one of the two sees the
     * other). */
    rt_qnode_t *prev =
        atomic_exchange_explicit(&q->head, n, memory_order_seq_cst);
    /* Release: pairs with the consumer's acquire load of the link in pop,
     * so the consumer sees n's contents once it sees the link. */
    atomic_store_explicit(&prev->next, n, memory_order_release);
}

rt_qnode_t *rt_mpscq_pop(rt_mpscq_t *q, rt_qnode_t **item)
{
    rt_qnode_t *dummy = atomic_load_explicit(&q->tail, memory_order_relaxed);
    /* Acquire: pairs with the release link store in push.  Only the
     * producer that got dummy as its predecessor writes this link, and it
     * has, so nobody touches dummy once it is retired. */
    rt_qnode_t *next = atomic_load_explicit(&dummy->next, memory_order_acquire);
    if (!next)
        return NULL;
    atomic_store_explicit(&q->tail, next, memory_order_relaxed);
    *item = next;
    return dummy;
}

bool rt_mpscq_maybe_nonempty(rt_mpscq_t *q)
{
    /* seq_cst: the receiver's half of the Dekker pair described in push
     * (its store of "I am parking" precedes this load in the total order,
     * or the producer's exchange precedes it and we see the new head). */
    return atomic_load_explicit(&q->head, memory_order_seq_cst) !=
           atomic_load_explicit(&q->tail, memory_order_relaxed);
}

rt_qnode_t *rt_mpscq_dummy(rt_mpscq_t *q)
{
    return atomic_load_explicit(&q->tail, memory_order_relaxed);
}
