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

rt_qnode_t *rt_mpscq_dummy(rt_mpscq_t *q)
{
    return atomic_load_explicit(&q->tail, memory_order_relaxed);
}
