/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Ports of the `locks` model: java.util.concurrent blocking queues.
 *
 * A port is a linked list of nodes under one lock with two conditions,
 * notEmpty and notFull, as LinkedBlockingQueue and ArrayBlockingQueue
 * are: a node is allocated per message, as the JVM allocates a Node per
 * put.  The message itself is passed by pointer (the shared heap: the
 * receiver gets the sender's very box).  Policies: unbounded
 * (LinkedBlockingQueue), fixed (put blocks while full: ArrayBlockingQueue),
 * dropping (offer() that fails when full), sliding (poll() the oldest,
 * then offer()), rendezvous (SynchronousQueue: put returns once a take
 * has removed that very message, tracked by sequence numbers).
 *
 * Every wait is a managed block of the executor, so a compensating pool
 * starts a spare while a task waits here.
 *
 * Select: a blocked selector registers on every port it waits on,
 * re-checks them all (a change between the first check and the
 * registration is not lost), and sleeps; every change of a port fires
 * its registered selectors.
 *
 * Invariants (under p->mu):
 *   - count is the list length; for FIXED, SLIDING and DROPPING
 *     count <= cap;
 *   - put_seq - take_seq == count;
 *   - once closed, nothing is added; receivers drain, then get -EPIPE.
 * Lock order: p->mu, then a selector's mu; never two ports at once.
 *
 * Rejected: LinkedBlockingQueue's two-lock split (put lock and take
 * lock) — select, close and the rendezvous need one consistent view of
 * the queue, and the split only pays with several producers and
 * consumers on many cores.
 */
#include "models/locks/locks_int.h"

#include "runtime/clock.h"
#include "runtime/common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct node {
    struct node *next;
    cb_term_t msg;
} node_t;

struct cb_port {
    pthread_mutex_t mu;
    pthread_cond_t not_empty; /* receivers wait here */
    pthread_cond_t not_full;  /* senders wait here (room, or "taken") */
    /* Guarded by mu. */
    node_t *head, *tail;
    size_t count, recv_waiting;
    uint64_t put_seq, take_seq;
    int closed;
    locks_selector_t **sel;
    size_t nsel, selcap;
    int64_t drops, max_len;
    /* Constant. */
    cb_port_policy_t policy;
    size_t cap; /* 0: unbounded */
};

static void fire(cb_port_t *p)
{
    for (size_t i = 0; i < p->nsel; i++) {
        locks_selector_t *s = p->sel[i];
        pthread_mutex_lock(&s->mu);
        s->fired = 1;
        pthread_cond_signal(&s->cv);
        pthread_mutex_unlock(&s->mu);
    }
}

int locks_port_open(const cb_port_opts_t *opts, cb_port_t **out)
{
    /* The default is a LinkedBlockingQueue: bounded when -p capacity is. */
    size_t natural_cap = (size_t)locks_config.default_capacity;
    cb_port_policy_t policy;
    size_t cap;
    int rc = cb_model_port_kind(
        opts, natural_cap ? CB_PORT_FIXED : CB_PORT_UNBOUNDED, natural_cap,
        &policy, &cap);
    if (rc < 0)
        return rc;
    cb_port_t *p = calloc(1, sizeof *p);
    if (!p)
        return -ENOMEM;
    p->policy = policy;
    p->cap = cap;
    pthread_mutex_init(&p->mu, NULL);
    locks_cond_init(&p->not_empty);
    locks_cond_init(&p->not_full);
    *out = p;
    return 0;
}

int locks_port_close(cb_port_t *p)
{
    pthread_mutex_lock(&p->mu);
    p->closed = 1;
    pthread_cond_broadcast(&p->not_empty);
    pthread_cond_broadcast(&p->not_full);
    fire(p);
    pthread_mutex_unlock(&p->mu);
    return 0;
}

void locks_port_free(cb_port_t *p)
{
    if (!p)
        return;
    RT_ASSERT(p->nsel == 0);
    while (p->head) {
        node_t *n = p->head;
        p->head = n->next;
        cb_term_release(n->msg);
        free(n);
    }
    locks_port_totals(p->drops, p->max_len);
    pthread_cond_destroy(&p->not_empty);
    pthread_cond_destroy(&p->not_full);
    pthread_mutex_destroy(&p->mu);
    free(p->sel);
    free(p);
}

size_t locks_port_length(cb_port_t *p)
{
    pthread_mutex_lock(&p->mu);
    size_t n = p->count;
    pthread_mutex_unlock(&p->mu);
    return n;
}

/* Expects p->mu held; takes ownership of nd. */
static void enqueue(cb_port_t *p, node_t *nd)
{
    nd->next = NULL;
    if (p->tail)
        p->tail->next = nd;
    else
        p->head = nd;
    p->tail = nd;
    p->count++;
    p->put_seq++;
    if ((int64_t)p->count > p->max_len)
        p->max_len = (int64_t)p->count;
    if (p->recv_waiting)
        pthread_cond_signal(&p->not_empty);
    if (p->nsel)
        fire(p);
}

/* Expects p->mu held and count > 0. */
static cb_term_t dequeue(cb_port_t *p)
{
    node_t *nd = p->head;
    p->head = nd->next;
    if (!p->head)
        p->tail = NULL;
    p->count--;
    p->take_seq++;
    cb_term_t m = nd->msg;
    free(nd);
    if (p->policy == CB_PORT_RENDEZVOUS)
        pthread_cond_broadcast(&p->not_full); /* each putter checks its seq */
    else if (p->policy == CB_PORT_FIXED)
        pthread_cond_signal(&p->not_full);
    if (p->nsel)
        fire(p);
    return m;
}

enum { ROOM = 0, DROP_NEW, DROPPED_OLDEST };

/* Expects p->mu held and the port open: make room by the policy. */
static int make_room(cb_port_t *p)
{
    if (!p->cap || p->count < p->cap)
        return ROOM;
    p->drops++;
    if (p->policy == CB_PORT_DROPPING)
        return DROP_NEW;
    cb_term_release(dequeue(p)); /* sliding: the oldest goes */
    return DROPPED_OLDEST;
}

/* Expects p->mu held: wait on cv as a managed block of the executor. */
static int wait_on(pthread_cond_t *cv, cb_port_t *p, int64_t deadline)
{
    rt_exec_block_begin();
    int rc = locks_cond_wait(cv, &p->mu, deadline);
    rt_exec_block_end();
    return rc;
}

int locks_send(cb_port_t *p, cb_term_t msg)
{
    locks_stats_t *st = locks_stats();
    node_t *nd = malloc(sizeof *nd);
    if (!nd) {
        cb_term_release(msg);
        return -ENOMEM;
    }
    nd->msg = msg;
    locks_count(&st->sends, 1);
    locks_mutex_lock(&p->mu, st);
    if (p->policy == CB_PORT_FIXED && p->count >= p->cap && !p->closed) {
        locks_count(&st->send_blocks, 1);
        while (p->count >= p->cap && !p->closed)
            wait_on(&p->not_full, p, -1);
    }
    int rc = 0, room;
    if (p->closed) {
        rc = -EPIPE;
    } else if ((room = make_room(p)) == DROP_NEW) {
        rc = CB_SEND_DROPPED;
    } else {
        rc = room == DROPPED_OLDEST ? CB_SEND_DROPPED : 0;
        enqueue(p, nd);
        if (p->policy == CB_PORT_RENDEZVOUS) {
            uint64_t seq = p->put_seq - 1;
            if (p->take_seq <= seq) {
                locks_count(&st->send_blocks, 1);
                while (p->take_seq <= seq)
                    wait_on(&p->not_full, p, -1);
            }
        }
        nd = NULL;
    }
    pthread_mutex_unlock(&p->mu);
    if (nd) {
        cb_term_release(msg);
        free(nd);
    }
    return rc;
}

int locks_recv(cb_port_t *p, cb_term_t *out, int64_t timeout_ns)
{
    locks_stats_t *st = locks_stats();
    int64_t deadline = timeout_ns < 0 ? -1 : rt_now_ns() + timeout_ns;
    locks_mutex_lock(&p->mu, st);
    if (p->count == 0 && !p->closed && timeout_ns != 0) {
        locks_count(&st->recv_blocks, 1);
        p->recv_waiting++;
        while (p->count == 0 && !p->closed)
            if (wait_on(&p->not_empty, p, deadline) == ETIMEDOUT)
                break;
        p->recv_waiting--;
    }
    if (p->count == 0) {
        int rc = p->closed ? -EPIPE : -ETIMEDOUT;
        pthread_mutex_unlock(&p->mu);
        return rc;
    }
    *out = dequeue(p);
    locks_count(&st->recvs, 1);
    pthread_mutex_unlock(&p->mu);
    return 0;
}

/* ---- select ---- */

/* Try one op without blocking: 1 when it completed, 0 when not ready. */
static int try_op(cb_select_op_t *op, locks_stats_t *st)
{
    cb_port_t *p = op->port;
    locks_mutex_lock(&p->mu, st);
    int done = 0;
    if (op->dir == CB_SELECT_RECV) {
        if (p->count > 0) {
            op->msg = dequeue(p);
            op->status = 0;
            locks_count(&st->recvs, 1);
            done = 1;
        } else if (p->closed) {
            op->msg = CB_NIL;
            op->status = -EPIPE;
            done = 1;
        }
    } else if (p->closed) {
        op->status = -EPIPE; /* not delivered: the caller keeps msg */
        done = 1;
    } else if ((p->policy != CB_PORT_FIXED || p->count < p->cap) &&
               (p->policy != CB_PORT_RENDEZVOUS ||
                p->recv_waiting > p->count)) {
        /* A rendezvous send is ready only when a taker is already
         * waiting for it, so select never blocks after choosing. */
        node_t *nd = malloc(sizeof *nd);
        if (nd) {
            int room = make_room(p);
            op->status = room == ROOM ? 0 : CB_SEND_DROPPED;
            if (room == DROP_NEW) {
                cb_term_release(op->msg);
                free(nd);
            } else {
                nd->msg = op->msg;
                enqueue(p, nd);
            }
            op->msg = CB_NIL;
            locks_count(&st->sends, 1);
            done = 1;
        }
    }
    pthread_mutex_unlock(&p->mu);
    return done;
}

static int try_all(cb_select_op_t *ops, size_t n, size_t start,
                   locks_stats_t *st)
{
    for (size_t k = 0; k < n; k++) {
        size_t i = (start + k) % n;
        if (try_op(&ops[i], st))
            return (int)i;
    }
    return -1;
}

static int attach(cb_port_t *p, locks_selector_t *s)
{
    pthread_mutex_lock(&p->mu);
    if (p->nsel == p->selcap) {
        size_t cap = p->selcap ? p->selcap * 2 : 4;
        locks_selector_t **a = realloc(p->sel, cap * sizeof *a);
        if (!a) {
            pthread_mutex_unlock(&p->mu);
            return -ENOMEM;
        }
        p->sel = a;
        p->selcap = cap;
    }
    p->sel[p->nsel++] = s;
    pthread_mutex_unlock(&p->mu);
    return 0;
}

static void detach(cb_port_t *p, locks_selector_t *s)
{
    pthread_mutex_lock(&p->mu);
    for (size_t i = 0; i < p->nsel; i++)
        if (p->sel[i] == s) {
            p->sel[i] = p->sel[--p->nsel];
            break;
        }
    pthread_mutex_unlock(&p->mu);
}

static _Thread_local uint64_t select_rng;

int locks_select(cb_select_op_t *ops, size_t n, unsigned flags,
                 int64_t timeout_ns)
{
    if (n == 0)
        return -EINVAL;
    locks_stats_t *st = locks_stats();
    locks_count(&st->selects, 1);
    size_t start = 0;
    if (!(flags & CB_SELECT_PRIORITY)) {
        /* xorshift64 from a per-thread seed: only picks where to start. */
        uint64_t x =
            select_rng ? select_rng : (uint64_t)rt_now_ns() | 0x9E3779B9u;
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        select_rng = x;
        start = (size_t)(x % n);
    }
    int k = try_all(ops, n, start, st);
    if (k >= 0 || timeout_ns == 0)
        return k >= 0 ? k : -ETIMEDOUT;
    int64_t deadline = timeout_ns < 0 ? -1 : rt_now_ns() + timeout_ns;
    locks_selector_t s;
    pthread_mutex_init(&s.mu, NULL);
    locks_cond_init(&s.cv);
    s.fired = 0;
    size_t attached = 0;
    int rc = 0;
    for (; attached < n && rc == 0; attached++)
        rc = attach(ops[attached].port, &s);
    if (rc < 0) {
        attached--;
        k = rc;
        goto out;
    }
    rt_exec_block_begin();
    for (;;) {
        if ((k = try_all(ops, n, start, st)) >= 0)
            break;
        pthread_mutex_lock(&s.mu);
        int t = 0;
        while (!s.fired && t != ETIMEDOUT)
            t = locks_cond_wait(&s.cv, &s.mu, deadline);
        int fired = s.fired;
        s.fired = 0;
        pthread_mutex_unlock(&s.mu);
        if (!fired) {
            k = try_all(ops, n, start, st);
            if (k < 0)
                k = -ETIMEDOUT;
            break;
        }
    }
    rt_exec_block_end();
out:
    for (size_t i = 0; i < attached; i++)
        detach(ops[i].port, &s);
    pthread_cond_destroy(&s.cv);
    pthread_mutex_destroy(&s.mu);
    return k;
}
