/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Channels and alts for the `csp` model, after core.async's
 * ManyToManyChannel and do-alts.
 *
 * A channel is a mutex, an optional buffer (fixed, sliding or dropping, of
 * `cap` messages; none for an unbuffered channel), a queue of pending puts
 * (handler, value) and a queue of pending takes (handler).  Every op runs
 * under the mutex and either completes at once or, when it may block,
 * leaves its handler in a queue and returns "parked"; whoever later
 * completes it commits the handler and wakes its party (csp_int.h).
 *
 * alts shares one handler across all its ops, as core.async's alt-flag:
 * the ops are tried in random order (or in order with priority) in a
 * single pass, each registering the shared handler where it cannot
 * complete; the first commit wins and the other registrations go stale.
 * Stale handlers are swept lazily when more than CSP_MAX_DIRTY ops were
 * queued since the last sweep, as core.async does, so an alts over 1000
 * channels costs nothing to undo.  A rendezvous between two handlers
 * commits both under their locks, taken in address order (core.async
 * orders them by lock id), so no two alts can each commit half a match.
 *
 * Semantics kept from core.async:
 *   - an unbuffered put completes only when a take receives its value;
 *   - a fixed buffer parks puts while full; sliding and dropping buffers
 *     never park a put: the oldest (sliding) or the new (dropping) value
 *     is dropped and counted, and cb_send says CB_SEND_DROPPED;
 *   - close: later puts fail (-EPIPE, core.async's false); pending takes
 *     get nil (-EPIPE); buffered values and puts parked before the close
 *     are still taken, then takes return closed;
 *   - at most CSP_MAX_PENDING (1024) puts, and as many takes, wait on one
 *     channel; the next one fails with -EBUSY (core.async throws "No more
 *     than 1024 pending puts are allowed on a single channel") and nothing
 *     is left registered;
 *   - an alts with a put and a take on one channel never pairs with
 *     itself (as in Go's select); it waits for another party;
 *   - `timeout` channels close themselves after a delay (the timer thread
 *     closes them); cb_recv and cb_select with a timeout are alts with a
 *     timeout channel, which is how core.async code spells a timeout.
 *
 * Invariants (under mu):
 *   - takes are pending only while the buffer is empty; puts are pending
 *     only while the channel is unbuffered or its fixed buffer is full;
 *   - every queue entry holds one reference to its handler, except a
 *     solo handler's (one put or take), which borrows its party's: it is
 *     never stale, and its committer pops it (csp_int.h);
 *   - a put entry's value belongs to its party until the entry is
 *     committed by this channel; a stale entry's value is never touched.
 *
 * Rejected: a lock-free channel (Go's chan.go also takes a lock, and a
 * lock-free alts across channels needs the same two-phase commit anyway),
 * and dequeuing an alts' other registrations eagerly as Go's selectgo
 * does (it costs a lock per channel per wake-up; core.async's lazy sweep
 * is what this model stands for).
 */
#include "models/csp/csp_int.h"

#include "runtime/clock.h"
#include "runtime/common.h"
#include "runtime/poller.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct entry {
    csp_handler_t *h;
    int index;     /* the op's index in its alts */
    cb_term_t val; /* puts only */
} entry_t;

/* A ring of entries, grown by doubling; at most CSP_MAX_PENDING. */
typedef struct equeue {
    entry_t *a;
    size_t cap, head, n;
} equeue_t;

struct cb_port {
    csp_lock_t mu; /* guards everything below but refs */
    cb_port_policy_t policy;
    size_t cap; /* buffer size; 0: unbuffered */
    /* Ring of bsize slots, grown by doubling up to cap as values arrive
     * (core.async's FixedBuffer is a LinkedList: a buffer of 1024 costs
     * nothing until it holds something).  Allocating cap slots up front
     * gave each channel 8 KiB at the default size, and skynet's 111,111
     * channels, which each hold at most 10 values, 0.9 GB. */
    cb_term_t *buf;
    size_t bsize, bhead, bcount;
    equeue_t puts, takes;
    int dirty_puts, dirty_takes;
    bool closed;
    _Atomic int refs; /* the owner's, plus the timer thread's (timeouts) */
    /* Counters, under mu. */
    int64_t n_puts, n_takes, n_parks, n_put_parks, n_drops, max_len;
};

enum { OP_DONE = 1, OP_PARKED = 2, OP_INACTIVE = 3, OP_WOULD_BLOCK = 4 };

/* ---- entry queues ---- */

/* Ring indices wrap by comparison: a division per op was a tenth of a
 * buffered put and take. */
static size_t ring_next(size_t i, size_t cap)
{
    return i + 1 == cap ? 0 : i + 1;
}

/* (head + k) % cap for k <= cap. */
static size_t ring_at(size_t head, size_t k, size_t cap)
{
    size_t i = head + k;
    return i >= cap ? i - cap : i;
}

/* Double q's ring; out of line, so that a push that has room is a few
 * instructions in its caller. */
static RT_NOINLINE int eq_grow(equeue_t *q)
{
    size_t ncap = q->cap ? q->cap * 2 : 4;
    entry_t *a = malloc(ncap * sizeof *a);
    if (!a)
        return -ENOMEM;
    for (size_t i = 0; i < q->n; i++)
        a[i] = q->a[(q->head + i) % q->cap];
    free(q->a);
    q->a = a;
    q->cap = ncap;
    q->head = 0;
    return 0;
}

static RT_ALWAYS_INLINE int eq_push(equeue_t *q, entry_t e)
{
    if (q->n == q->cap) {
        int rc = eq_grow(q);
        if (rc < 0)
            return rc;
    }
    q->a[ring_at(q->head, q->n, q->cap)] = e;
    q->n++;
    return 0;
}

static entry_t eq_pop(equeue_t *q)
{
    entry_t e = q->a[q->head];
    q->head = ring_next(q->head, q->cap);
    q->n--;
    return e;
}

static void eq_unpop(equeue_t *q, entry_t e)
{
    q->head = q->head == 0 ? q->cap - 1 : q->head - 1;
    q->a[q->head] = e;
    q->n++;
}

/* Drop a queue entry's reference; a solo handler's entry borrowed its
 * party's (csp_int.h). */
static void entry_unref(csp_handler_t *h)
{
    if (!h->solo)
        csp_handler_unref(h);
}

/* Drop entries whose handler was committed elsewhere (core.async's
 * cleanup of inactive handlers). */
static void eq_sweep(equeue_t *q)
{
    size_t keep = 0;
    for (size_t i = 0; i < q->n; i++) {
        entry_t e = q->a[(q->head + i) % q->cap];
        if (atomic_load_explicit(&e.h->active, memory_order_acquire))
            q->a[(q->head + keep++) % q->cap] = e;
        else
            entry_unref(e.h);
    }
    q->n = keep;
}

/* ---- handler locks ---- */

/* A solo handler is committed under its channel's mu only: no lock of its
 * own (core.async's fn-handler).  Skipping it keeps the address order
 * among the locks that are taken. */
static void h_lock(csp_handler_t *h)
{
    if (!h->solo)
        csp_lock(&h->lock);
}

static void h_unlock(csp_handler_t *h)
{
    if (!h->solo)
        csp_unlock(&h->lock);
}

static bool h_active(csp_handler_t *h)
{
    return atomic_load_explicit(&h->active, memory_order_acquire);
}

static bool commit1(csp_handler_t *h)
{
    h_lock(h);
    bool ok = h_active(h);
    if (ok)
        atomic_store_explicit(&h->active, false, memory_order_release);
    h_unlock(h);
    return ok;
}

enum { BOTH = 0, A_DEAD = 1, B_DEAD = 2 };

/* Commit a and b together or neither (locks in address order). */
static RT_ALWAYS_INLINE int commit2(csp_handler_t *a, csp_handler_t *b)
{
    RT_ASSERT(a != b);
    csp_handler_t *lo = a < b ? a : b, *hi = a < b ? b : a;
    h_lock(lo);
    h_lock(hi);
    int r = !h_active(a) ? A_DEAD : !h_active(b) ? B_DEAD : BOTH;
    if (r == BOTH) {
        atomic_store_explicit(&a->active, false, memory_order_release);
        atomic_store_explicit(&b->active, false, memory_order_release);
    }
    h_unlock(hi);
    h_unlock(lo);
    return r;
}

static void deliver(csp_handler_t *h, int index, int status, cb_term_t val)
{
    h->index = index;
    h->status = status;
    h->val = val;
}

/* Wake a committed party and drop the queue entry's reference.  A solo
 * handler may be gone once its party runs: solo is read before the wake,
 * and the wake is the last touch. */
static void finish(csp_handler_t *h)
{
    if (!h)
        return;
    bool solo = h->solo;
    csp_handler_wake(h);
    if (!solo)
        csp_handler_unref(h);
}

/* ---- buffer ---- */

/* Room for one more value in the ring (bcount < cap); false when out of
 * memory. */
static bool buf_reserve(cb_port_t *p)
{
    if (p->bcount < p->bsize)
        return true;
    size_t nsize = p->bsize * 2 < p->cap ? p->bsize * 2 : p->cap;
    cb_term_t *b = malloc(nsize * sizeof *b);
    if (!b)
        return false;
    for (size_t i = 0; i < p->bcount; i++)
        b[i] = p->buf[ring_at(p->bhead, i, p->bsize)];
    free(p->buf);
    p->buf = b;
    p->bsize = nsize;
    p->bhead = 0;
    return true;
}

/* Expects room (buf_reserve). */
static void buf_push(cb_port_t *p, cb_term_t v)
{
    p->buf[ring_at(p->bhead, p->bcount, p->bsize)] = v;
    p->bcount++;
    if ((int64_t)p->bcount > p->max_len)
        p->max_len = (int64_t)p->bcount;
}

static cb_term_t buf_pop(cb_port_t *p)
{
    cb_term_t v = p->buf[p->bhead];
    p->bhead = ring_next(p->bhead, p->bsize);
    p->bcount--;
    return v;
}

/* Expects mu; registers an entry unless the queue is at its limit.  The
 * entry comes as its fields, not as a struct by value: building one in
 * the caller's frame with narrow stores and copying it out with wide loads
 * stalled store forwarding, ~13 ns of a 150 ns round trip. */
static RT_ALWAYS_INLINE int enqueue(cb_port_t *p, equeue_t *q, int *dirty,
                                    csp_handler_t *h, int index,
                                    cb_term_t val)
{
    if (*dirty > CSP_MAX_DIRTY) {
        *dirty = 0;
        eq_sweep(q);
    } else {
        (*dirty)++;
    }
    if (q->n >= CSP_MAX_PENDING) {
        CSP_COUNT(pending_limit_hits, 1);
        return -EBUSY;
    }
    int rc = eq_push(q, (entry_t){.h = h, .index = index, .val = val});
    if (rc < 0)
        return rc;
    /* Relaxed: the party holds a reference, so this is no 0 -> 1 that
     * anyone could race with. */
    if (!h->solo)
        atomic_fetch_add_explicit(&h->refs, 1, memory_order_relaxed);
    p->n_parks++;
    return OP_PARKED;
}

/* Expects mu.  Pop q's entries until one whose handler commits: true with
 * *e filled (its reference now the caller's), false when q held only
 * stale ones (dropped). */
static RT_ALWAYS_INLINE bool pop_live(equeue_t *q, entry_t *e)
{
    while (q->n > 0) {
        *e = eq_pop(q);
        if (commit1(e->h))
            return true;
        entry_unref(e->h);
    }
    return false;
}

/* Expects mu.  Rendezvous: pop q's entries until one commits together with
 * h.  OP_DONE with *e filled, OP_INACTIVE when h itself was committed
 * elsewhere (the entry stays queued), 0 when no live entry is left.
 *
 * An entry of h itself (an alts with a put and a take on this channel) is
 * never a partner, and nothing live waits behind it: whoever queued after
 * it would have paired with it instead, unless h was committed by then. */
static RT_ALWAYS_INLINE int match(equeue_t *q, csp_handler_t *h, entry_t *e)
{
    while (q->n > 0) {
        *e = eq_pop(q);
        if (e->h == h) {
            eq_unpop(q, *e);
            return 0;
        }
        int c = commit2(h, e->h);
        if (c == BOTH)
            return OP_DONE;
        if (c == A_DEAD) {
            eq_unpop(q, *e);
            return OP_INACTIVE;
        }
        entry_unref(e->h);
    }
    return 0;
}

/* A go block's single op that parks returns from take_op or put_op with
 * the channel's mu still held, and single_op parks it with
 * csp_park_unlock, which releases mu once the go block is off its stack
 * (sched.c's park protocol).  Only a solo handler's: an alts' handler is
 * queued on several channels and committed under its own lock. */
static bool parks_holding(const csp_handler_t *h)
{
    return h->solo && h->go;
}

/*
 * take!: OP_DONE with *val and *status, OP_PARKED, OP_INACTIVE (h was
 * committed by another op of its alts), OP_WOULD_BLOCK (not blockable) or
 * a negative error.
 */
static int take_op(cb_port_t *p, csp_handler_t *h, int index, bool blockable,
                   cb_term_t *val, int *status)
{
    csp_handler_t *wake = NULL;
    int r;
    csp_lock(&p->mu);
    if (!h_active(h)) {
        r = OP_INACTIVE;
        goto out;
    }
    if (p->bcount > 0) {
        if (!commit1(h)) {
            r = OP_INACTIVE;
            goto out;
        }
        *val = buf_pop(p);
        *status = 0;
        p->n_takes++;
        /* A slot opened: the oldest live pending put moves in. */
        entry_t e;
        if (pop_live(&p->puts, &e)) {
            buf_push(p, e.val);
            p->n_puts++;
            deliver(e.h, e.index, 0, CB_NIL);
            wake = e.h;
        }
        r = OP_DONE;
        goto out;
    }
    /* Unbuffered (or an empty buffer, where no put is ever pending). */
    entry_t e;
    /* The test first: an empty queue (the common case on a busy
     * channel's other side) skips match's setup. */
    r = p->puts.n > 0 ? match(&p->puts, h, &e) : 0;
    if (r == OP_DONE) {
        deliver(e.h, e.index, 0, CB_NIL);
        wake = e.h;
        *val = e.val;
        *status = 0;
        p->n_puts++;
        p->n_takes++;
    }
    if (r)
        goto out;
    if (p->closed) {
        if (!commit1(h)) {
            r = OP_INACTIVE;
            goto out;
        }
        *val = CB_NIL;
        *status = -EPIPE;
        r = OP_DONE;
        goto out;
    }
    if (!blockable) {
        r = OP_WOULD_BLOCK;
        goto out;
    }
    r = enqueue(p, &p->takes, &p->dirty_takes, h, index, CB_NIL);
    if (r == OP_PARKED && parks_holding(h))
        return r; /* mu stays held: see parks_holding */
out:
    csp_unlock(&p->mu);
    finish(wake);
    return r;
}

/*
 * put!: as take_op.  On OP_DONE the value is consumed unless *status is
 * negative (-EPIPE: closed; -ENOMEM: the buffer could not grow): then the
 * caller still owns it.
 */
static int put_op(cb_port_t *p, csp_handler_t *h, int index, bool blockable,
                  cb_term_t val, int *status)
{
    csp_handler_t *wake = NULL;
    cb_term_t dropped = CB_NIL;
    int r;
    csp_lock(&p->mu);
    if (!h_active(h)) {
        r = OP_INACTIVE;
        goto out;
    }
    if (p->closed) {
        r = commit1(h) ? OP_DONE : OP_INACTIVE;
        *status = -EPIPE;
        goto out;
    }
    if (p->cap > 0 && (p->bcount < p->cap || p->policy != CB_PORT_FIXED)) {
        if (p->bcount < p->cap && !buf_reserve(p)) {
            /* As a put on a closed channel: the value stays the
             * caller's. */
            r = commit1(h) ? OP_DONE : OP_INACTIVE;
            *status = -ENOMEM;
            goto out;
        }
        if (!commit1(h)) {
            r = OP_INACTIVE;
            goto out;
        }
        *status = 0;
        if (p->bcount == p->cap) {
            p->n_drops++;
            *status = CB_SEND_DROPPED;
            if (p->policy == CB_PORT_SLIDING) {
                dropped = buf_pop(p);
                buf_push(p, val);
            } else {
                dropped = val;
            }
        } else {
            buf_push(p, val);
        }
        p->n_puts++;
        /* Takes wait only on an empty buffer: the oldest live one gets
         * the value just put. */
        entry_t e;
        if (pop_live(&p->takes, &e)) {
            deliver(e.h, e.index, 0, buf_pop(p));
            p->n_takes++;
            wake = e.h;
        }
        r = OP_DONE;
        goto out;
    }
    entry_t e;
    if (p->cap == 0 && p->takes.n > 0 && (r = match(&p->takes, h, &e)) != 0) {
        if (r == OP_DONE) {
            deliver(e.h, e.index, 0, val);
            wake = e.h;
            *status = 0;
            p->n_puts++;
            p->n_takes++;
        }
        goto out;
    }
    if (!blockable) {
        r = OP_WOULD_BLOCK;
        goto out;
    }
    r = enqueue(p, &p->puts, &p->dirty_puts, h, index, val);
    if (r == OP_PARKED && h->solo)
        p->n_put_parks++; /* a cb_send that waits (not an alts) */
    if (r == OP_PARKED && parks_holding(h))
        return r; /* mu stays held: see parks_holding */
out:
    csp_unlock(&p->mu);
    finish(wake);
    if (dropped != CB_NIL)
        cb_term_release(dropped);
    return r;
}

/* ---- lifecycle ---- */

static int open_chan(cb_port_policy_t policy, size_t cap, cb_port_t **out)
{
    cb_port_t *p = calloc(1, sizeof *p);
    if (!p)
        return -ENOMEM;
    /* Most channels hold a few values at a time; the ring doubles from
     * here when one holds more (buf_reserve). */
    p->bsize = cap < 16 ? cap : 16;
    if (cap > 0 && !(p->buf = malloc(p->bsize * sizeof *p->buf))) {
        free(p);
        return -ENOMEM;
    }
    p->policy = policy;
    p->cap = cap;
    atomic_init(&p->refs, 1);
    *out = p;
    return 0;
}

int csp_port_open(const cb_port_opts_t *opts, cb_port_t **out)
{
    cb_port_policy_t policy;
    size_t cap;
    int rc = cb_model_port_kind(opts, CB_PORT_FIXED, csp_cfg.default_buffer,
                                &policy, &cap);
    if (rc < 0)
        return rc;
    if (policy == CB_PORT_UNBOUNDED)
        return -ENOTSUP;
    return open_chan(policy, cap, out);
}

int csp_port_close(cb_port_t *p)
{
    csp_lock(&p->mu);
    if (p->closed) {
        csp_unlock(&p->mu);
        return 0;
    }
    p->closed = true;
    /* Pending takes get nil; pending puts stay and can still be taken. */
    size_t n = p->takes.n, k = 0;
    csp_handler_t **wake = n ? malloc(n * sizeof *wake) : NULL;
    RT_ASSERT(n == 0 || wake != NULL);
    entry_t e;
    while (pop_live(&p->takes, &e)) {
        deliver(e.h, e.index, -EPIPE, CB_NIL);
        wake[k++] = e.h;
    }
    csp_unlock(&p->mu);
    for (size_t i = 0; i < k; i++)
        finish(wake[i]);
    free(wake);
    return 0;
}

static void destroy(cb_port_t *p)
{
    for (size_t i = 0; i < p->bcount; i++)
        cb_term_release(p->buf[ring_at(p->bhead, i, p->bsize)]);
    /* Stale entries only: a live party would still be waiting on p. */
    while (p->puts.n > 0)
        entry_unref(eq_pop(&p->puts).h);
    while (p->takes.n > 0)
        entry_unref(eq_pop(&p->takes).h);
    /* Folded when the channel goes: the hot paths touch only the
     * channel's own counters, under the mutex they hold anyway. */
    CSP_COUNT(puts, p->n_puts);
    CSP_COUNT(takes, p->n_takes);
    CSP_COUNT(chan_parks, p->n_parks);
    CSP_COUNT(put_parks, p->n_put_parks);
    CSP_COUNT(drops, p->n_drops);
    csp_count_max(&csp_totals.max_queue_len, p->max_len);
    free(p->puts.a);
    free(p->takes.a);
    free(p->buf);
    free(p);
}

void csp_port_unref(cb_port_t *p)
{
    /* acq_rel: the last holder's destroy sees the other's writes. */
    if (atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) == 1)
        destroy(p);
}

void csp_port_free(cb_port_t *p)
{
    if (p)
        csp_port_unref(p);
}

size_t csp_port_length(cb_port_t *p)
{
    csp_lock(&p->mu);
    size_t n = p->bcount;
    csp_unlock(&p->mu);
    return n;
}

void csp_chan_stats(cb_port_t *p, csp_chan_stats_t *out)
{
    csp_lock(&p->mu);
    *out =
        (csp_chan_stats_t){p->n_puts,  p->n_takes,         p->n_parks,
                           p->n_drops, (int64_t)p->puts.n, (int64_t)p->takes.n};
    csp_unlock(&p->mu);
}

/* ---- timeout channels ---- */

typedef struct tmo {
    csp_preq_t req;
    rt_timer_t timer;
    int64_t deadline;
    cb_port_t *ch;
    struct tmo *prev, *next; /* pending list: the timer thread's only */
} tmo_t;

static tmo_t *pending_tmo;

static void tmo_fire(rt_timer_t *tm, void *arg)
{
    (void)tm;
    tmo_t *t = arg;
    if (t->prev)
        t->prev->next = t->next;
    else
        pending_tmo = t->next;
    if (t->next)
        t->next->prev = t->prev;
    csp_port_close(t->ch);
    csp_port_unref(t->ch);
    free(t);
}

static void tmo_apply(csp_preq_t *req, void *poller)
{
    tmo_t *t = (tmo_t *)req;
    t->prev = NULL;
    t->next = pending_tmo;
    if (pending_tmo)
        pending_tmo->prev = t;
    pending_tmo = t;
    rt_timer_init(&t->timer);
    rt_timer_start(poller, &t->timer, t->deadline, tmo_fire, t);
}

void csp_timeouts_free_pending(void)
{
    while (pending_tmo) {
        tmo_t *t = pending_tmo;
        pending_tmo = t->next;
        csp_port_unref(t->ch);
        free(t);
    }
}

int csp_timeout(int64_t ns, cb_port_t **out)
{
    if (ns < 0)
        return -EINVAL;
    tmo_t *t = malloc(sizeof *t);
    if (!t)
        return -ENOMEM;
    int rc = open_chan(CB_PORT_RENDEZVOUS, 0, &t->ch);
    if (rc < 0) {
        free(t);
        return rc;
    }
    atomic_store_explicit(&t->ch->refs, 2, memory_order_relaxed);
    t->deadline = rt_now_ns() + ns;
    t->req.apply = tmo_apply;
    CSP_COUNT(timeouts, 1);
    *out = t->ch;
    csp_timer_submit(&t->req);
    return 0;
}

/* ---- the calls ---- */

/* Park or block until h, queued on p, is committed; then its result is
 * in h.  p's mu is still held when parks_holding(h). */
static void await(cb_port_t *p, csp_handler_t *h)
{
    if (parks_holding(h))
        csp_park_unlock(h->go, &p->mu);
    else
        csp_wait_handler(h);
}

/*
 * put_blocked_ns is an estimate: each of a thread's first PUT_TIMED_ALL
 * put parks is timed, then one in PUT_TIMED_EVERY, which counts that many
 * times.  Two tick reads per park (rdtsc, slow in this KVM guest)
 * were ~60 ns of an unbuffered ping-pong round trip (~215 ns), where every
 * put parks, and one park in 8 still ~10 ns; a sum over a flood's
 * thousands of parks stays unbiased.
 */
#define PUT_TIMED_ALL 64
#define PUT_TIMED_EVERY 32

static _Thread_local uint64_t put_parks_here;

/* Before the park (a go block may resume on another thread): how many
 * parks this one's wait stands for, 0 when it is not timed. */
static int64_t put_wait_weight(void)
{
    uint64_t n = ++put_parks_here;
    if (n <= PUT_TIMED_ALL)
        return 1;
    return n % PUT_TIMED_EVERY == 0 ? PUT_TIMED_EVERY : 0;
}

/* A put parked as h on p: wait for it, and count the time blocked
 * (backpressure, measured: only puts, so a take-side park costs no clock
 * reads). */
static void await_put(cb_port_t *p, csp_handler_t *h)
{
    int64_t weight = put_wait_weight();
    int64_t t0 = weight ? csp_ticks() : 0;
    await(p, h);
    if (weight) {
        /* Ticks, converted when read; a counter that differs a little
         * between the two cores can make one wait negative. */
        int64_t dt = csp_ticks() - t0;
        CSP_COUNT(put_blocked_ns, dt > 0 ? dt * weight : 0);
    }
}

/*
 * A go block's put on an unbuffered channel: put_op and single_op for the
 * one case that an unbuffered round trip runs, with nothing they do for
 * an alts or a thread.  The partner comes from pop_live, not match: the
 * go block's own handler is new, so it can be neither committed nor
 * queued on p already, and the handler is built only when the put parks
 * (the put that meets a parked take, half of every round trip, needs
 * none).  Every semantic is put_op's: closed, the pending limit, the
 * counters.
 */
static int go_put_unbuffered(cb_port_t *p, cb_task_t *t, cb_term_t msg)
{
    entry_t e;
    csp_lock(&p->mu);
    if (p->closed) {
        csp_unlock(&p->mu);
        cb_term_release(msg);
        return -EPIPE;
    }
    if (p->takes.n > 0 && pop_live(&p->takes, &e)) {
        deliver(e.h, e.index, 0, msg);
        p->n_puts++;
        p->n_takes++;
        csp_unlock(&p->mu);
        finish(e.h);
        return 0;
    }
    csp_handler_t hs = {.active = true, .refs = 1, .index = -1, .solo = true};
    hs.go = t;
    int r = enqueue(p, &p->puts, &p->dirty_puts, &hs, 0, msg);
    if (r < 0) {
        csp_unlock(&p->mu);
        cb_term_release(msg);
        return r;
    }
    p->n_put_parks++;
    await_put(p, &hs); /* releases mu */
    if (hs.status < 0)
        cb_term_release(msg);
    return hs.status;
}

/* The same for a take (take_op's unbuffered half). */
static int go_take_unbuffered(cb_port_t *p, cb_task_t *t, cb_term_t *out)
{
    entry_t e;
    csp_lock(&p->mu);
    if (p->puts.n > 0 && pop_live(&p->puts, &e)) {
        deliver(e.h, e.index, 0, CB_NIL);
        p->n_puts++;
        p->n_takes++;
        csp_unlock(&p->mu);
        finish(e.h);
        *out = e.val;
        return 0;
    }
    if (p->closed) {
        csp_unlock(&p->mu);
        return -EPIPE;
    }
    csp_handler_t hs = {.active = true, .refs = 1, .index = -1, .solo = true};
    hs.go = t;
    int r = enqueue(p, &p->takes, &p->dirty_takes, &hs, 0, CB_NIL);
    if (r < 0) {
        csp_unlock(&p->mu);
        return r;
    }
    csp_park_unlock(t, &p->mu);
    if (hs.status == 0)
        *out = hs.val;
    return hs.status;
}

/*
 * One put (msg) or take (*out), parking or blocking until it completes:
 * >! and <! in a go block, >!! and <!! elsewhere or with force_block.  A
 * put consumes msg whatever happens (cb_send's contract).
 */
static int single_op(cb_port_t *p, bool put, cb_term_t msg, cb_term_t *out,
                     bool force_block)
{
    if (!p || !(put || out)) {
        if (put)
            cb_term_release(msg);
        return -EINVAL;
    }
    /* Solo: in this frame, which stays put until the op completes. */
    csp_handler_t hs = {.active = true, .refs = 1, .index = -1, .solo = true};
    csp_handler_t *h = &hs;
    if (force_block)
        h->waiter = csp_thread_waiter();
    else
        csp_handler_bind(h);
    int status = 0;
    cb_term_t v = CB_NIL;
    int r = put ? put_op(p, h, 0, true, msg, &status)
                : take_op(p, h, 0, true, &v, &status);
    if (r == OP_PARKED && put) {
        await_put(p, h);
        status = h->status;
    } else if (r == OP_PARKED) {
        await(p, h);
        status = h->status;
        v = h->val;
    } else if (r < 0) {
        status = r;
    }
    if (put && status < 0)
        cb_term_release(msg); /* closed, or refused: never delivered */
    if (!put && status == 0)
        *out = v;
    return status;
}

/* The go block running this op when its channel ops park and p is
 * unbuffered (cap is fixed when the channel is made: no lock to read it),
 * else NULL. */
static RT_ALWAYS_INLINE cb_task_t *parking_on_unbuffered(const cb_port_t *p)
{
    if (!p || p->cap != 0)
        return NULL;
    cb_task_t *t = csp_current();
    return t && t->kind == CSP_GO && !csp_cfg.go_ops_block ? t : NULL;
}

int csp_send(cb_port_t *p, cb_term_t msg)
{
    cb_task_t *t = parking_on_unbuffered(p);
    if (t)
        return go_put_unbuffered(p, t, msg);
    return single_op(p, true, msg, NULL, false);
}

int csp_put_blocking(cb_port_t *p, cb_term_t msg)
{
    return single_op(p, true, msg, NULL, true);
}

int csp_take_blocking(cb_port_t *p, cb_term_t *out)
{
    return single_op(p, false, CB_NIL, out, true);
}

int csp_recv(cb_port_t *p, cb_term_t *out, int64_t timeout_ns)
{
    if (timeout_ns < 0) {
        cb_task_t *t = out ? parking_on_unbuffered(p) : NULL;
        if (t)
            return go_take_unbuffered(p, t, out);
        return single_op(p, false, CB_NIL, out, false);
    }
    cb_select_op_t op = {p, CB_SELECT_RECV, CB_NIL, 0};
    int rc = csp_select(&op, 1, CB_SELECT_PRIORITY, timeout_ns);
    if (rc < 0)
        return rc;
    if (op.status < 0)
        return op.status;
    *out = op.msg;
    return 0;
}

static uint64_t next_rand(uint64_t *s)
{
    uint64_t x = *s ? *s : 0x2545F4914F6CDD1DULL;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

/*
 * One pass over the ops in a random order (or in order with priority);
 * returns the index that completed, or -1 when every op registered (or
 * would block, not blockable), or -EBUSY / -ENOMEM; *inactive says another
 * op of ours was committed meanwhile.  The order is core.async's
 * random-array, a Fisher-Yates shuffle, drawn lazily: the pass stops at
 * the first op that completes, so it pays for the ops it tries, not for
 * all n (an alts over 1000 channels with one ready costs a few probes).
 * order[0..n) must hold a permutation of 0..n) (any one: shuffling a
 * permutation uniformly gives a uniform permutation), unless priority.
 */
static int pass(cb_select_op_t *ops, size_t *order, size_t n, cb_port_t *tch,
                csp_handler_t *h, bool blockable, bool priority, uint64_t *rng,
                bool *inactive)
{
    for (size_t k = 0; k < n; k++) {
        if (!priority && k + 1 < n) {
            size_t j = k + next_rand(rng) % (n - k);
            size_t t = order[k];
            order[k] = order[j];
            order[j] = t;
        }
        size_t i = priority ? k : order[k];
        int status = 0, r;
        cb_term_t v = CB_NIL;
        if (!(tch && i == n - 1) &&
            (!ops[i].port || (ops[i].dir != CB_SELECT_RECV &&
                              ops[i].dir != CB_SELECT_SEND)))
            return -EINVAL; /* checked here: a separate pass costs O(n) */
        if (tch && i == n - 1)
            r = take_op(tch, h, (int)i, blockable, &v, &status);
        else if (ops[i].dir == CB_SELECT_RECV)
            r = take_op(ops[i].port, h, (int)i, blockable, &v, &status);
        else
            r = put_op(ops[i].port, h, (int)i, blockable, ops[i].msg, &status);
        if (r == OP_DONE) {
            h->index = (int)i;
            h->status = status;
            h->val = v;
            return (int)i;
        }
        if (r == OP_INACTIVE) {
            *inactive = true;
            return -1;
        }
        if (r < 0)
            return r;
    }
    return -1;
}

/*
 * Point *order at m slots holding a permutation of 0..m).  Small alts use
 * the caller's array; a task keeps its last permutation (the shuffle does
 * not need the identity), so an alts over 1000 channels does not rewrite
 * 1000 slots before each pass; other threads get a fresh array, which the
 * caller allocated.  False when out of memory.
 */
static bool prepare_order(cb_task_t *t, size_t **order, size_t *small, size_t m)
{
    if (m <= 17 || !t) {
        for (size_t i = 0; i < m; i++)
            (*order)[i] = i;
        return true;
    }
    if (t->order_cap < m) {
        size_t cap = m + 1;
        size_t *a = realloc(t->order, cap * sizeof *a);
        if (!a)
            return false;
        t->order = a;
        t->order_cap = cap;
        t->order_m = 0;
    }
    size_t *a = t->order;
    if (t->order_m + 1 == m) {
        a[m - 1] = m - 1; /* one more op: the timeout channel's */
    } else if (t->order_m == m + 1) {
        for (size_t i = 0; i < m; i++) /* one fewer: drop value m */
            if (a[i] == m) {
                a[i] = a[m];
                break;
            }
    } else if (t->order_m != m) {
        for (size_t i = 0; i < m; i++)
            a[i] = i;
    }
    t->order_m = m;
    *order = a;
    (void)small;
    return true;
}

int csp_select(cb_select_op_t *ops, size_t n, unsigned flags,
               int64_t timeout_ns)
{
    if (!ops || n == 0 || n > (size_t)1 << 20)
        return -EINVAL;
    int rc;
    CSP_COUNT(alts, 1);
    cb_task_t *self = csp_current();
    uint64_t scratch = (uint64_t)rt_now_ns() | 1;
    uint64_t *rng = self ? &self->rng : &scratch;
    bool priority = flags & CB_SELECT_PRIORITY;
    size_t small[17], *order = small;
    if (n + 1 > 17 && !self && !(order = malloc((n + 1) * sizeof *order)))
        return -ENOMEM;
    if (!prepare_order(self, &order, small, n))
        return -ENOMEM;
    csp_handler_t *h = csp_handler_new();
    if (!h) {
        if (order != small && !self)
            free(order);
        return -ENOMEM;
    }
    csp_handler_bind(h);
    bool inactive = false;
    cb_port_t *tch = NULL;
    /* A first pass that registers nothing: the common case (something is
     * ready) then needs no timeout channel and leaves no stale handler.
     * With timeout 0 it is the whole of alts with :default. */
    int done = pass(ops, order, n, NULL, h, false, priority, rng, &inactive);
    if (done == -1 && !inactive && timeout_ns != 0) {
        if (timeout_ns > 0) {
            if ((rc = csp_timeout(timeout_ns, &tch)) < 0) {
                done = rc;
                goto out;
            }
        }
        if (tch && !prepare_order(self, &order, small, n + 1)) {
            done = -ENOMEM;
            goto out;
        }
        done = pass(ops, order, tch ? n + 1 : n, tch, h, true, priority, rng,
                    &inactive);
    }
    if (done >= 0)
        goto result;
    if (done == -1 && !inactive && timeout_ns == 0) {
        /* :default */
        rc = -ETIMEDOUT;
        goto out;
    }
    if (done < -1 && commit1(h)) {
        /* -EBUSY or -ENOMEM: nothing of ours completed; the ops that did
         * register are stale now. */
        rc = done;
        goto out;
    }
    /* Registered everywhere, or beaten to it: the committer has the
     * result in h, or is about to. */
    csp_wait_handler(h);
    done = h->index;
result:
    if (tch && done == (int)n) {
        rc = -ETIMEDOUT;
        goto out;
    }
    ops[done].status = h->status;
    if (ops[done].dir == CB_SELECT_RECV)
        ops[done].msg = h->status == 0 ? h->val : CB_NIL;
    else if (h->status >= 0)
        ops[done].msg = CB_NIL;
    rc = done;
out:
    if (tch)
        csp_port_unref(tch);
    csp_handler_unref(h);
    if (order != small && !self)
        free(order);
    return rc;
}
