/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Ports of the `stm` model: transactional queues (Haskell's TQueue and
 * TBQueue, or a Clojure ref holding a queue).
 *
 * A port is five refs — head, tail, puts, takes, closed — and a linked
 * list of nodes whose `next` is a ref too.  Every change is a
 * transaction: a send links a node after the tail and counts a put; a
 * receive unlinks the head and counts a take, and when the queue is empty
 * it calls retry, so the receiver sleeps until a ref it read (head,
 * closed) changes.  Once the queue holds two messages, a send and a
 * receive touch disjoint refs and do not conflict.  A FIXED port's send
 * reads `takes` and retries while full; DROPPING and SLIDING decide
 * inside the same transaction.  select is orElse over its operations:
 * each one retries when it cannot proceed, the next is tried, and when
 * all retry the transaction waits on everything they read.
 *
 * Nodes are type-stable: a port keeps its nodes in chunks until it is
 * freed, and recycles them through a free list.  A transaction that read
 * a stale head may still dereference a node that has since been
 * recycled; the memory is valid, every field it reads is an atomic, and
 * the stale read fails validation at commit, so no reclamation scheme
 * (epochs, hazard pointers) is needed.
 *
 * Invariants:
 *   - puts - takes is the number of linked nodes; for FIXED, SLIDING and
 *     DROPPING it is <= cap after every commit;
 *   - head == 0 iff tail == 0 (in every committed state);
 *   - a node is owned by exactly one of: the free list, one sender's
 *     hands (between allocation and commit), the queue, one receiver's
 *     hands (between commit and recycling).
 *
 * Rendezvous is unsupported: a transaction cannot wait for another
 * transaction to take what it put and still commit atomically.
 */
#include "models/stm/stm_int.h"

#include "runtime/common.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct qnode {
    stm_ref_t next;          /* a struct qnode *, transactional */
    _Atomic cb_term_t msg;   /* set by the sender before publication */
    struct qnode *free_next; /* guarded by the port's pool_mu */
} qnode_t;

#define CHUNK 32

typedef struct chunk {
    struct chunk *next;
    qnode_t nodes[CHUNK];
} chunk_t;

enum { R_HEAD, R_TAIL, R_PUTS, R_TAKES, R_CLOSED, R__COUNT };

struct cb_port {
    stm_ref_t r[R__COUNT];
    pthread_mutex_t pool_mu; /* guards free and chunks; a leaf */
    qnode_t *free;
    chunk_t *chunks;
    cb_port_policy_t policy;
    int64_t cap; /* 0: unbounded */
};

static qnode_t *node_get(cb_port_t *p)
{
    pthread_mutex_lock(&p->pool_mu);
    if (!p->free) {
        chunk_t *c = malloc(sizeof *c);
        if (!c) {
            pthread_mutex_unlock(&p->pool_mu);
            return NULL;
        }
        for (int i = 0; i < CHUNK; i++) {
            stm_ref_init(&c->nodes[i].next, 0, 0, 0);
            atomic_init(&c->nodes[i].msg, CB_NIL);
            c->nodes[i].free_next = i + 1 < CHUNK ? &c->nodes[i + 1] : NULL;
        }
        if (stm_refs_register(&c->nodes[0].next, CHUNK, sizeof(qnode_t)) < 0) {
            free(c);
            pthread_mutex_unlock(&p->pool_mu);
            return NULL;
        }
        c->next = p->chunks;
        p->chunks = c;
        p->free = &c->nodes[0];
    }
    qnode_t *n = p->free;
    p->free = n->free_next;
    pthread_mutex_unlock(&p->pool_mu);
    return n;
}

static void node_put(cb_port_t *p, qnode_t *n)
{
    pthread_mutex_lock(&p->pool_mu);
    n->free_next = p->free;
    p->free = n;
    pthread_mutex_unlock(&p->pool_mu);
}

int stm_port_open(const cb_port_opts_t *opts, cb_port_t **out)
{
    cb_port_policy_t policy;
    size_t cap;
    int rc = cb_model_port_kind(opts, CB_PORT_UNBOUNDED, 0, &policy, &cap);
    if (rc < 0)
        return rc;
    if (policy == CB_PORT_RENDEZVOUS)
        return -ENOTSUP;
    cb_port_t *p = calloc(1, sizeof *p);
    if (!p)
        return -ENOMEM;
    for (int i = 0; i < R__COUNT; i++)
        stm_ref_init(&p->r[i], 0, 0, 0);
    if (stm_refs_register(p->r, R__COUNT, sizeof(stm_ref_t)) < 0) {
        free(p);
        return -ENOMEM;
    }
    pthread_mutex_init(&p->pool_mu, NULL);
    p->policy = policy;
    p->cap = (int64_t)cap;
    *out = p;
    return 0;
}

static int close_body(stm_tx_t *tx, void *arg)
{
    stm_write(tx, &((cb_port_t *)arg)->r[R_CLOSED], 1);
    return 0;
}

int stm_port_close(cb_port_t *p)
{
    return stm_atomically(close_body, p, -1);
}

void stm_port_free(cb_port_t *p)
{
    if (!p)
        return;
    qnode_t *n = (qnode_t *)(uintptr_t)stm_ref_peek(&p->r[R_HEAD]);
    for (; n; n = (qnode_t *)(uintptr_t)stm_ref_peek(&n->next))
        cb_term_release(atomic_load_explicit(&n->msg, memory_order_relaxed));
    while (p->chunks) {
        chunk_t *c = p->chunks;
        p->chunks = c->next;
        stm_refs_unregister(&c->nodes[0].next);
        free(c);
    }
    stm_refs_unregister(p->r);
    pthread_mutex_destroy(&p->pool_mu);
    free(p);
}

static int length_body(stm_tx_t *tx, void *arg)
{
    cb_port_t *p = arg;
    return (int)(stm_read(tx, &p->r[R_PUTS]) - stm_read(tx, &p->r[R_TAKES]));
}

size_t stm_port_length(cb_port_t *p)
{
    return (size_t)stm_atomically_ro(length_body, p);
}

/* ---- the operations, as transaction bodies ---- */

enum { OP_DONE = 0, OP_DROPPED = 1, OP_CLOSED = 2 };

typedef struct op {
    cb_port_t *p;
    qnode_t *node;    /* send: the node to link; recv: the node taken */
    qnode_t *evicted; /* sliding send: the oldest, unlinked */
    int64_t len;      /* send: length after it */
} op_t;

/* Unlink the head; expects a non-empty queue. */
static qnode_t *unlink_head(stm_tx_t *tx, cb_port_t *p, stm_ref_t *head_ref)
{
    qnode_t *h = (qnode_t *)(uintptr_t)stm_read(tx, head_ref);
    int64_t next = stm_read(tx, &h->next);
    stm_write(tx, head_ref, next);
    if (!next)
        stm_write(tx, &p->r[R_TAIL], 0);
    stm_write(tx, &p->r[R_TAKES], stm_read(tx, &p->r[R_TAKES]) + 1);
    return h;
}

static int send_body(stm_tx_t *tx, void *arg)
{
    op_t *o = arg;
    cb_port_t *p = o->p;
    o->evicted = NULL;
    if (stm_read(tx, &p->r[R_CLOSED]))
        return OP_CLOSED;
    int64_t puts = stm_read(tx, &p->r[R_PUTS]);
    int64_t len = 0;
    if (p->cap) {
        len = puts - stm_read(tx, &p->r[R_TAKES]);
        if (len >= p->cap) {
            if (p->policy == CB_PORT_FIXED)
                stm_retry(tx);
            if (p->policy == CB_PORT_DROPPING)
                return OP_DROPPED;
            o->evicted = unlink_head(tx, p, &p->r[R_HEAD]);
            len--;
        }
    }
    stm_write(tx, &o->node->next, 0);
    qnode_t *t = (qnode_t *)(uintptr_t)stm_read(tx, &p->r[R_TAIL]);
    stm_write(tx, t ? &t->next : &p->r[R_HEAD], (int64_t)(uintptr_t)o->node);
    stm_write(tx, &p->r[R_TAIL], (int64_t)(uintptr_t)o->node);
    stm_write(tx, &p->r[R_PUTS], puts + 1);
    o->len = len + 1;
    return o->evicted ? OP_DROPPED : OP_DONE;
}

static int recv_body(stm_tx_t *tx, void *arg)
{
    op_t *o = arg;
    cb_port_t *p = o->p;
    if (!stm_read(tx, &p->r[R_HEAD])) {
        if (stm_read(tx, &p->r[R_CLOSED]))
            return OP_CLOSED;
        stm_retry(tx);
    }
    o->node = unlink_head(tx, p, &p->r[R_HEAD]);
    return OP_DONE;
}

/* After a committed send: recycle what it freed, count it. */
static int send_done(op_t *o, int r, cb_term_t msg)
{
    if (r == OP_CLOSED || (r == OP_DROPPED && !o->evicted)) {
        cb_term_release(msg);
        node_put(o->p, o->node);
        if (r == OP_DROPPED)
            atomic_fetch_add_explicit(&stm_totals.drops, 1,
                                      memory_order_relaxed);
        return r == OP_CLOSED ? -EPIPE : CB_SEND_DROPPED;
    }
    atomic_fetch_add_explicit(&stm_totals.sends, 1, memory_order_relaxed);
    stm_max_relaxed(&stm_totals.max_queue_len, o->len);
    if (o->evicted) {
        atomic_fetch_add_explicit(&stm_totals.drops, 1, memory_order_relaxed);
        cb_term_release(
            atomic_load_explicit(&o->evicted->msg, memory_order_relaxed));
        node_put(o->p, o->evicted);
        return CB_SEND_DROPPED;
    }
    return 0;
}

int stm_send(cb_port_t *p, cb_term_t msg)
{
    op_t o = {.p = p, .node = node_get(p)};
    if (!o.node) {
        cb_term_release(msg);
        return -ENOMEM;
    }
    /* The node is private until the commit publishes it (the release of
     * the lock word of the ref that links it), so relaxed suffices. */
    atomic_store_explicit(&o.node->msg, msg, memory_order_relaxed);
    int r = stm_atomically(send_body, &o, -1);
    return send_done(&o, r, msg);
}

/* After a committed receive: take the message out, recycle the node. */
static cb_term_t recv_done(op_t *o)
{
    cb_term_t m = atomic_load_explicit(&o->node->msg, memory_order_relaxed);
    node_put(o->p, o->node);
    atomic_fetch_add_explicit(&stm_totals.recvs, 1, memory_order_relaxed);
    return m;
}

int stm_recv(cb_port_t *p, cb_term_t *out, int64_t timeout_ns)
{
    op_t o = {.p = p};
    int r = stm_atomically(recv_body, &o, timeout_ns);
    if (r < 0)
        return r;
    if (r == OP_CLOSED)
        return -EPIPE;
    *out = recv_done(&o);
    return 0;
}

/* ---- select: orElse over the operations ---- */

typedef struct sel {
    cb_select_op_t *ops;
    op_t *o;
    size_t n, start;
} sel_t;

/*
 * The alternatives lo..hi-1 (counted from the start).  orElse is
 * associative (Harris et al., "Composable Memory Transactions": retry is
 * its unit), so the chain op0 `orElse` op1 `orElse` ... is built as a
 * balanced tree of orElses, tried in the same order, whose depth is
 * log2(n) instead of n: a chain of 1,000 nested orElses overflowed a pool
 * thread's 256 KiB stack.
 */
typedef struct alt {
    sel_t *s;
    size_t lo, hi;
} alt_t;

/* The op's index * 4 + its outcome (OP_*). */
static int try_alt(stm_tx_t *tx, void *arg)
{
    alt_t *a = arg;
    size_t i = (a->s->start + a->lo) % a->s->n;
    op_t *o = &a->s->o[i];
    /* A full FIXED port retries inside send_body, as an empty port does
     * inside recv_body: that is what moves orElse to the next op. */
    int r = a->s->ops[i].dir == CB_SELECT_RECV ? recv_body(tx, o)
                                               : send_body(tx, o);
    return (int)i * 4 + r;
}

static int alts_from(stm_tx_t *tx, void *arg)
{
    alt_t *a = arg;
    if (a->hi - a->lo == 1)
        return try_alt(tx, a);
    /* Both halves outlive the orElse: its branches run inside it. */
    size_t mid = a->lo + (a->hi - a->lo) / 2;
    alt_t left = {a->s, a->lo, mid}, right = {a->s, mid, a->hi};
    return stm_or_else(tx, alts_from, &left, alts_from, &right);
}

static int select_body(stm_tx_t *tx, void *arg)
{
    sel_t *s = arg;
    alt_t all = {s, 0, s->n};
    return alts_from(tx, &all);
}

static uint64_t select_rng(void)
{
    static _Thread_local uint64_t x;
    if (!x)
        x = (uint64_t)(uintptr_t)&x | 1;
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    return x;
}

int stm_select(cb_select_op_t *ops, size_t n, unsigned flags,
               int64_t timeout_ns)
{
    if (n == 0)
        return -EINVAL;
    atomic_fetch_add_explicit(&stm_totals.selects, 1, memory_order_relaxed);
    op_t small[8], *o = n <= 8 ? small : calloc(n, sizeof *o);
    if (!o)
        return -ENOMEM;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        o[i] = (op_t){.p = ops[i].port};
        if (ops[i].dir == CB_SELECT_SEND) {
            if (!(o[i].node = node_get(ops[i].port))) {
                rc = -ENOMEM;
                n = i;
                goto out;
            }
            atomic_store_explicit(&o[i].node->msg, ops[i].msg,
                                  memory_order_relaxed);
        }
    }
    sel_t s = {.ops = ops,
               .o = o,
               .n = n,
               .start = flags & CB_SELECT_PRIORITY ? 0 : select_rng() % n};
    rc = stm_atomically(select_body, &s, timeout_ns);
    if (rc >= 0) {
        size_t i = (size_t)rc / 4;
        int r = rc % 4;
        cb_select_op_t *op = &ops[i];
        if (op->dir == CB_SELECT_RECV) {
            op->status = r == OP_CLOSED ? -EPIPE : 0;
            op->msg = r == OP_CLOSED ? CB_NIL : recv_done(&o[i]);
        } else if (r == OP_CLOSED) {
            op->status = -EPIPE; /* not delivered: the caller keeps msg */
        } else {
            op->status = send_done(&o[i], r, op->msg);
            op->msg = CB_NIL;
            o[i].node = NULL;
        }
        rc = (int)i;
    }
out:
    for (size_t i = 0; i < n; i++)
        if (ops[i].dir == CB_SELECT_SEND && o[i].node &&
            (rc < 0 || (size_t)rc != i || ops[i].status == -EPIPE))
            node_put(ops[i].port, o[i].node);
    if (o != small)
        free(o);
    return rc;
}
