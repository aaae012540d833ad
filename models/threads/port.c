/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Blocking queues for the `threads` model: a ring buffer under one mutex,
 * with two condition variables (not_empty for receivers, not_full for
 * senders) on CLOCK_MONOTONIC, as java.util.concurrent's
 * ArrayBlockingQueue and LinkedBlockingQueue do.  glibc's condition
 * variables are futex-based, so a blocked task sleeps in the kernel.
 *
 * Policies: unbounded (the ring grows by doubling), fixed (senders block
 * while full), sliding (a full queue drops its oldest), dropping (a full
 * queue drops the new message), rendezvous (a send enqueues and then
 * blocks until a receiver has taken that very message: SynchronousQueue
 * semantics, tracked with put/take sequence numbers).
 *
 * Select: a task blocked in cb_select registers its waiter on every port
 * involved, re-checks every port (so a change between the first check and
 * the registration is not lost), and sleeps on the waiter; every change of
 * a port's state fires the port's registered waiters.
 *
 * Invariants (all under p->mu):
 *   - 0 <= count <= ring size; for FIXED, SLIDING, DROPPING count <= cap;
 *   - put_seq - take_seq == count for RENDEZVOUS;
 *   - once closed, no message is added; receivers drain, then get -EPIPE.
 * Lock order: p->mu, then a waiter's mu.  Never two ports' mutexes at once.
 */
#include "models/threads/threads_int.h"

#include "runtime/clock.h"
#include "runtime/common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct cb_port {
    pthread_mutex_t mu;
    pthread_cond_t not_empty; /* receivers wait here */
    pthread_cond_t not_full;  /* senders wait here (space, or "taken") */
    cb_port_policy_t policy;
    size_t cap; /* 0: unbounded */
    cb_term_t *ring;
    size_t ring_size, head, count;
    uint64_t put_seq, take_seq;
    size_t recv_waiting; /* receivers blocked in recv */
    int closed;
    threads_waiter_t **waiters; /* registered select waiters */
    size_t nwaiters, waiters_cap;
    int64_t drops, max_len;
};

#define RING_INITIAL 16

static void fire_waiters(cb_port_t *p)
{
    for (size_t i = 0; i < p->nwaiters; i++) {
        threads_waiter_t *w = p->waiters[i];
        pthread_mutex_lock(&w->mu);
        w->fired = 1;
        pthread_cond_signal(&w->cv);
        pthread_mutex_unlock(&w->mu);
    }
}

int threads_port_open(const cb_port_opts_t *opts, cb_port_t **out)
{
    cb_port_policy_t policy;
    size_t cap;
    int rc = cb_model_port_kind(opts, CB_PORT_UNBOUNDED, 0, &policy, &cap);
    if (rc < 0)
        return rc;
    cb_port_t *p = calloc(1, sizeof *p);
    if (!p)
        return -ENOMEM;
    p->policy = policy;
    p->cap = cap;
    p->ring_size = cap && cap < RING_INITIAL ? cap : RING_INITIAL;
    p->ring = malloc(p->ring_size * sizeof(cb_term_t));
    if (!p->ring) {
        free(p);
        return -ENOMEM;
    }
    pthread_mutex_init(&p->mu, NULL);
    threads_cond_init(&p->not_empty);
    threads_cond_init(&p->not_full);
    *out = p;
    return 0;
}

int threads_port_close(cb_port_t *p)
{
    pthread_mutex_lock(&p->mu);
    p->closed = 1;
    pthread_cond_broadcast(&p->not_empty);
    pthread_cond_broadcast(&p->not_full);
    fire_waiters(p);
    pthread_mutex_unlock(&p->mu);
    return 0;
}

void threads_port_free(cb_port_t *p)
{
    if (!p)
        return;
    RT_ASSERT(p->nwaiters == 0);
    for (size_t i = 0; i < p->count; i++)
        cb_term_release(p->ring[(p->head + i) % p->ring_size]);
    threads_port_totals(p->drops, p->max_len);
    pthread_cond_destroy(&p->not_empty);
    pthread_cond_destroy(&p->not_full);
    pthread_mutex_destroy(&p->mu);
    free(p->waiters);
    free(p->ring);
    free(p);
}

size_t threads_port_length(cb_port_t *p)
{
    pthread_mutex_lock(&p->mu);
    size_t n = p->count;
    pthread_mutex_unlock(&p->mu);
    return n;
}

/* Expects p->mu held.  Returns -ENOMEM when an unbounded ring cannot grow. */
static int push(cb_port_t *p, cb_term_t msg)
{
    if (p->count == p->ring_size) {
        size_t n = p->ring_size * 2;
        if (p->cap && n > p->cap)
            n = p->cap;
        cb_term_t *r = malloc(n * sizeof(cb_term_t));
        if (!r)
            return -ENOMEM;
        for (size_t i = 0; i < p->count; i++)
            r[i] = p->ring[(p->head + i) % p->ring_size];
        free(p->ring);
        p->ring = r;
        p->ring_size = n;
        p->head = 0;
    }
    p->ring[(p->head + p->count) % p->ring_size] = msg;
    p->count++;
    p->put_seq++;
    if ((int64_t)p->count > p->max_len)
        p->max_len = (int64_t)p->count;
    if (p->recv_waiting)
        pthread_cond_signal(&p->not_empty);
    if (p->nwaiters)
        fire_waiters(p);
    return 0;
}

/* Expects p->mu held and count > 0. */
static cb_term_t pop(cb_port_t *p)
{
    cb_term_t m = p->ring[p->head];
    p->head = (p->head + 1) % p->ring_size;
    p->count--;
    p->take_seq++;
    if (p->policy == CB_PORT_RENDEZVOUS)
        pthread_cond_broadcast(&p->not_full); /* each sender checks its seq */
    else if (p->policy == CB_PORT_FIXED)
        pthread_cond_signal(&p->not_full);
    if (p->nwaiters)
        fire_waiters(p);
    return m;
}

/* Expects p->mu held; blocks until message number seq has been taken. */
static void await_taken(cb_port_t *p, uint64_t seq, threads_stats_t *st)
{
    if (p->take_seq > seq)
        return;
    int64_t t0 = rt_now_ns();
    st->send_blocks++;
    while (p->take_seq <= seq)
        pthread_cond_wait(&p->not_full, &p->mu);
    st->blocked_ns += rt_now_ns() - t0;
}

int threads_send(cb_port_t *p, cb_term_t msg)
{
    threads_stats_t *st = threads_stats();
    st->sends++;
    int rc = 0;
    pthread_mutex_lock(&p->mu);
    if (p->policy == CB_PORT_FIXED && p->count >= p->cap && !p->closed) {
        int64_t t0 = rt_now_ns();
        st->send_blocks++;
        while (p->count >= p->cap && !p->closed)
            pthread_cond_wait(&p->not_full, &p->mu);
        st->blocked_ns += rt_now_ns() - t0;
    }
    if (p->closed) {
        pthread_mutex_unlock(&p->mu);
        cb_term_release(msg);
        return -EPIPE;
    }
    if (p->cap && p->count >= p->cap) {
        p->drops++;
        rc = CB_SEND_DROPPED;
        if (p->policy == CB_PORT_DROPPING) {
            pthread_mutex_unlock(&p->mu);
            cb_term_release(msg);
            return rc;
        }
        cb_term_release(pop(p)); /* sliding: drop the oldest */
    }
    int prc = push(p, msg);
    if (prc < 0) {
        pthread_mutex_unlock(&p->mu);
        cb_term_release(msg);
        return prc;
    }
    if (p->policy == CB_PORT_RENDEZVOUS)
        await_taken(p, p->put_seq - 1, st);
    pthread_mutex_unlock(&p->mu);
    return rc;
}

int threads_recv(cb_port_t *p, cb_term_t *out, int64_t timeout_ns)
{
    threads_stats_t *st = threads_stats();
    struct timespec deadline = threads_deadline(timeout_ns);
    pthread_mutex_lock(&p->mu);
    if (p->count == 0 && !p->closed && timeout_ns != 0) {
        int64_t t0 = rt_now_ns();
        st->recv_blocks++;
        p->recv_waiting++;
        while (p->count == 0 && !p->closed)
            if (threads_cond_wait(&p->not_empty, &p->mu, timeout_ns,
                                  &deadline) == ETIMEDOUT)
                break;
        p->recv_waiting--;
        st->blocked_ns += rt_now_ns() - t0;
    }
    if (p->count == 0) {
        int rc = p->closed ? -EPIPE : -ETIMEDOUT;
        pthread_mutex_unlock(&p->mu);
        return rc;
    }
    *out = pop(p);
    st->recvs++;
    pthread_mutex_unlock(&p->mu);
    return 0;
}

/* ---- select ---- */

enum { NOT_READY = 0, DONE = 1 };

/* Try one op without blocking; expects nothing held. */
static int try_op(cb_select_op_t *op, threads_stats_t *st)
{
    cb_port_t *p = op->port;
    pthread_mutex_lock(&p->mu);
    int r = NOT_READY;
    if (op->dir == CB_SELECT_RECV) {
        if (p->count > 0) {
            op->msg = pop(p);
            op->status = 0;
            st->recvs++;
            r = DONE;
        } else if (p->closed) {
            op->msg = CB_NIL;
            op->status = -EPIPE;
            r = DONE;
        }
    } else if (p->closed) {
        op->status = -EPIPE; /* not delivered: the caller keeps msg */
        r = DONE;
    } else if (p->policy != CB_PORT_FIXED || p->count < p->cap) {
        int dropped = 0;
        if (p->cap && p->count >= p->cap) {
            p->drops++;
            dropped = 1;
            if (p->policy == CB_PORT_SLIDING)
                cb_term_release(pop(p));
        }
        if (dropped && p->policy == CB_PORT_DROPPING) {
            cb_term_release(op->msg);
        } else if (push(p, op->msg) < 0) {
            pthread_mutex_unlock(&p->mu);
            return NOT_READY;
        }
        op->msg = CB_NIL;
        op->status = dropped ? CB_SEND_DROPPED : 0;
        st->sends++;
        r = DONE;
    }
    pthread_mutex_unlock(&p->mu);
    return r;
}

static uint64_t next_rand(uint64_t *s)
{
    /* xorshift64: cheap, and only picks a starting index. */
    uint64_t x = *s ? *s : 0x2545F4914F6CDD1DULL;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

static int try_all(cb_select_op_t *ops, size_t n, size_t start,
                   threads_stats_t *st)
{
    for (size_t k = 0; k < n; k++) {
        size_t i = (start + k) % n;
        if (try_op(&ops[i], st) == DONE)
            return (int)i;
    }
    return -1;
}

static int register_waiter(cb_port_t *p, threads_waiter_t *w)
{
    pthread_mutex_lock(&p->mu);
    if (p->nwaiters == p->waiters_cap) {
        size_t n = p->waiters_cap ? p->waiters_cap * 2 : 4;
        threads_waiter_t **a = realloc(p->waiters, n * sizeof *a);
        if (!a) {
            pthread_mutex_unlock(&p->mu);
            return -ENOMEM;
        }
        p->waiters = a;
        p->waiters_cap = n;
    }
    p->waiters[p->nwaiters++] = w;
    pthread_mutex_unlock(&p->mu);
    return 0;
}

static void unregister_waiter(cb_port_t *p, threads_waiter_t *w)
{
    pthread_mutex_lock(&p->mu);
    for (size_t i = 0; i < p->nwaiters; i++) {
        if (p->waiters[i] == w) {
            p->waiters[i] = p->waiters[--p->nwaiters];
            break;
        }
    }
    pthread_mutex_unlock(&p->mu);
}

int threads_select(cb_select_op_t *ops, size_t n, unsigned flags,
                   int64_t timeout_ns)
{
    if (n == 0)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (!ops[i].port ||
            (ops[i].dir != CB_SELECT_RECV && ops[i].dir != CB_SELECT_SEND))
            return -EINVAL;
        /* A select send pairs only with a blocked recv, not with another
         * select, so a rendezvous inside select could wait for ever. */
        if (ops[i].dir == CB_SELECT_SEND &&
            ops[i].port->policy == CB_PORT_RENDEZVOUS)
            return -ENOTSUP;
    }
    cb_task_t *self = threads_current();
    threads_stats_t *st = threads_stats();
    st->selects++;
    uint64_t scratch_rng = 0;
    uint64_t *rng = self ? &self->rng : &scratch_rng;
    size_t start = flags & CB_SELECT_PRIORITY ? 0 : next_rand(rng) % n;
    int done = try_all(ops, n, start, st);
    if (done >= 0 || timeout_ns == 0)
        return done >= 0 ? done : -ETIMEDOUT;

    threads_waiter_t local, *w = self ? &self->waiter : &local;
    if (!self)
        threads_waiter_init(&local);
    struct timespec deadline = threads_deadline(timeout_ns);
    int64_t t0 = rt_now_ns();
    st->recv_blocks++;
    int rc;
    for (;;) {
        w->fired = 0;
        size_t reg = 0;
        int again = 0;
        for (; reg < n; reg++)
            if (register_waiter(ops[reg].port, w) < 0)
                break;
        if (reg < n) {
            rc = -ENOMEM;
        } else if ((done = try_all(ops, n, start, st)) >= 0) {
            rc = done;
        } else {
            pthread_mutex_lock(&w->mu);
            int timed_out = 0;
            while (!w->fired && !timed_out)
                timed_out = threads_cond_wait(&w->cv, &w->mu, timeout_ns,
                                              &deadline) == ETIMEDOUT;
            pthread_mutex_unlock(&w->mu);
            /* Fired: some port changed, so look again.  Timed out: one
             * last look, since a change may have raced with the timeout. */
            done = try_all(ops, n, start, st);
            rc = done >= 0 ? done : -ETIMEDOUT;
            again = done < 0 && !timed_out;
        }
        for (size_t i = 0; i < reg; i++)
            unregister_waiter(ops[i].port, w);
        if (!again)
            break;
        if (!(flags & CB_SELECT_PRIORITY))
            start = next_rand(rng) % n;
    }
    st->blocked_ns += rt_now_ns() - t0;
    if (!self)
        threads_waiter_destroy(&local);
    return rc;
}
