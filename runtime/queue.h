/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * An intrusive, unbounded, lock-free multi-producer single-consumer queue
 * (Dmitry Vyukov's node-based MPSC queue, in the form that keeps a dummy
 * node, as Michael and Scott's queue does, instead of re-inserting a
 * stub).
 *
 * Producers push with one atomic exchange on the head and one store to the
 * previous node's link: wait-free, no CAS loop, no retry however many
 * producers race.  The single consumer holds the dummy: the node just
 * before the oldest item.  A pop follows the dummy's link, hands the
 * caller the node it reaches (whose contents are the item) and the old
 * dummy (now free), and makes the reached node the new dummy.  So an item
 * moves house once: the caller copies the contents out of the reached
 * node, usually into the freed one, which is why every node of a queue
 * must be of one type.  A pop is two plain loads and a store; the consumer
 * never writes a shared line.  The stub form re-pushed its stub whenever
 * the queue ran empty, a locked exchange per message in a request/reply
 * exchange (ping-pong: one message queued at a time), a sixth of a round
 * trip's locked instructions.
 *
 * The price of wait-free pushes: between a producer's exchange and its
 * link store, the node it pushed (and every node pushed after it) is not
 * yet reachable from the dummy.  rt_mpscq_pop then returns NULL although
 * the queue is not empty; rt_mpscq_maybe_nonempty tells that state apart
 * from a truly empty queue, and a consumer that parks on an empty queue
 * must use it (or, as the mailboxes do, let the producer wake it after its
 * push completes, which it always does).
 *
 * Invariants:
 *   - every pushed node is reached by exactly one pop, and the items of
 *     one producer are reached in the order it pushed them (per-producer
 *     FIFO);
 *   - head is the last node pushed, or the dummy when the queue is empty;
 *     a node stays linked (and must not be reused) until the pop after
 *     the one that reached it retires it;
 *   - only one thread at a time calls rt_mpscq_pop (the consumer); any
 *     thread may push; rt_mpscq_maybe_nonempty answers rightly for the
 *     consumer, and safely (if stale) for anyone else.
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
#include <stddef.h>
#include <stdint.h>

typedef struct rt_qnode {
    struct rt_qnode *_Atomic next;
} rt_qnode_t;

/* Words on the producers' line that the queue leaves to its owner. */
#define RT_MPSCQ_PRODUCER_WORDS 7

typedef struct rt_mpscq {
    /* Producers' end: written by every push (exchange). */
    rt_qnode_t *_Atomic head;
    /* The rest of head's line, for what the owner's producers write with
     * each push (a mailbox's counts of messages sent): a producer that
     * pushes owns this line anyway, so a word here costs no second line
     * bouncing between the producers' cores.  The queue never reads
     * them; init zeroes them. */
    _Atomic int64_t producer_words[RT_MPSCQ_PRODUCER_WORDS];
    /* Consumer's end, the dummy: written only by the consumer.  Atomic
     * (relaxed, plain moves) only so that a look at the queue from beside
     * the consumer, which an owner may allow, is no data race.  The
     * owner's consumer-side fields belong right after the queue, on this
     * line. */
    rt_qnode_t *_Atomic tail;
} rt_mpscq_t;

/* An empty queue whose dummy is `dummy`, a node of the items' type. */
void rt_mpscq_init(rt_mpscq_t *q, rt_qnode_t *dummy);
/* Inline, the three below: a mailbox's send and receive are each one or
 * two of them, and out of line a call's overhead was a tenth of their
 * cost. */
/* Append n (any thread).  n must not be in any queue. */
static inline void rt_mpscq_push(rt_mpscq_t *q, rt_qnode_t *n)
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

/* NULL when nothing is reachable.  Otherwise *item is the node that holds
 * the oldest item (it stays in the queue as the dummy: copy its contents
 * out before the next pop) and the result is the retired dummy, which the
 * caller now owns (consumer only). */
static inline rt_qnode_t *rt_mpscq_pop(rt_mpscq_t *q, rt_qnode_t **item)
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

/* false only when nothing was pushed that the consumer has not popped;
 * true while a push is half done (consumer only). */
static inline bool rt_mpscq_maybe_nonempty(rt_mpscq_t *q)
{
    /* seq_cst: the receiver's half of the Dekker pair described in push
     * (its store of "I am parking" precedes this load in the total order,
     * or the producer's exchange precedes it and we see the new head). */
    return atomic_load_explicit(&q->head, memory_order_seq_cst) !=
           atomic_load_explicit(&q->tail, memory_order_relaxed);
}

/* The present dummy, to take back once the queue is drained and no
 * longer pushed to; NULL for a zeroed rt_mpscq_t never initialised. */
rt_qnode_t *rt_mpscq_dummy(rt_mpscq_t *q);

#endif
