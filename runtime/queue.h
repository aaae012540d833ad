/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * An intrusive, unbounded, lock-free multi-producer single-consumer queue
 * (Dmitry Vyukov's "non-intrusive MPSC node-based queue", in its intrusive
 * form, as Pony's actor message queue and many mailboxes use it).
 *
 * Producers push with one atomic exchange on the head and one store to the
 * previous node's link: wait-free, no CAS loop, no retry however many
 * producers race.  The single consumer pops from the tail with plain loads
 * and stores of its own field, and touches the shared head only when the
 * queue is down to its last node.  The queue never allocates: the caller
 * embeds an rt_qnode_t in each element (a mailbox message, a run-queue
 * entry) and owns its storage.
 *
 * The price of wait-free pushes: between a producer's exchange and its
 * link store, the node it pushed (and every node pushed after it) is not
 * yet reachable from the tail.  rt_mpscq_pop then returns NULL although
 * the queue is not empty; rt_mpscq_maybe_nonempty tells that state apart
 * from a truly empty queue, and a consumer that parks on an empty queue
 * must use it (or, as the mailboxes do, let the producer wake it after its
 * push completes, which it always does).
 *
 * Invariants:
 *   - every pushed node is popped exactly once, and nodes pushed by one
 *     producer pop in the order it pushed them (per-producer FIFO);
 *   - head is the last node pushed (the stub when empty); tail is the next
 *     node to pop or the stub; the stub is in the list exactly when the
 *     queue holds nothing the consumer has not seen;
 *   - only one thread at a time calls rt_mpscq_pop or
 *     rt_mpscq_maybe_nonempty (the consumer); any thread may push.
 *
 * Rejected: a locked linked list (a lock word bouncing between producers
 * on every send); a CAS-based Michael-Scott queue (a CAS retry loop per
 * push under contention, and a second CAS on the consumer side for a
 * queue that has only one consumer anyway); a bounded ring (mailboxes are
 * unbounded by specification).
 */
#ifndef RT_QUEUE_H
#define RT_QUEUE_H

#include <stdatomic.h>
#include <stdbool.h>

typedef struct rt_qnode {
    struct rt_qnode *_Atomic next;
} rt_qnode_t;

typedef struct rt_mpscq {
    /* Producers' end: written by every push (exchange). */
    rt_qnode_t *_Atomic head;
    char pad_[64 - sizeof(void *)];
    /* Consumer's end: written only by the consumer. */
    rt_qnode_t *tail;
    rt_qnode_t stub;
} rt_mpscq_t;

void rt_mpscq_init(rt_mpscq_t *q);
/* Append n (any thread).  n must not be in any queue. */
void rt_mpscq_push(rt_mpscq_t *q, rt_qnode_t *n);
/* The oldest reachable node, or NULL (consumer only). */
rt_qnode_t *rt_mpscq_pop(rt_mpscq_t *q);
/* false only when nothing was pushed that the consumer has not popped;
 * true while a push is half done (consumer only). */
bool rt_mpscq_maybe_nonempty(rt_mpscq_t *q);

#endif
