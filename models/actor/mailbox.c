/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Mailboxes of the `actor` model: what a BEAM process's message queue
 * does, for a port that is an alias of its receiver's mailbox.
 *
 * A send deep-copies the message (models/term.h: refc binaries above 64
 * bytes are shared, not copied; copy=off passes the box itself, as Akka
 * does: actor.c), frees the sender's original, and pushes
 * the copy on the port's lock-free MPSC queue (runtime/queue.h): senders
 * never block and never take a lock, whatever scheduler they run on, and
 * each sender's messages stay in its order.  The receiving process moves
 * what arrived onto a private list that only it touches, and scans that
 * list: a selective receive keeps its position (the BEAM's save pointer)
 * across parks, so after a wake-up it looks only at the messages that
 * arrived since, and a receive that matches nothing costs one pass over
 * the queue, not one pass per wake-up.
 *
 * The reference trick (OTP 24's receive markers): recv_mark creates a
 * reference and remembers the present end of the private list (after
 * moving everything already sent onto it).  A recv_match_ref with that
 * reference starts its scan there: nothing queued before the reference
 * existed can contain it, so the messages before the mark are skipped
 * without being looked at, and the cost no longer grows with the backlog.
 *
 * Park protocol (a Dekker pair with the sender):
 *   receiver: once it is off its stack, its scheduler sets it PARKED,
 *             stores waiter = receiver (seq_cst) and re-checks the queue
 *             with rt_mpscq_maybe_nonempty (a seq_cst load of its head);
 *             if something came, it wakes the receiver as a sender would;
 *   sender:   push (a seq_cst exchange of the head); load waiter (seq_cst);
 *             if set, wake that process.
 * One of the two sees the other's store, so a message never sits in a
 * mailbox whose receiver sleeps.  close uses the same pair with `closed`.
 *
 * A BEAM send never fails.  A send to a port that was closed (unalias/1)
 * or whose receiver has exited (its mailbox died with it: the port's
 * `closed` word gets PORT_DEAD from the exiting process, exit.c) is
 * dropped and returns 0; what was queued there is never received, and is
 * freed with the port.
 * Registering after the switch, not before it (as a select on several
 * ports still does, sched.c's PARKING), means nobody can wake the
 * receiver while it is still on its stack, so the park needs no CAS.  A
 * sender that read waiter in an earlier park and wakes late may wake the
 * receiver between its PARKED and its registration: a spurious wake-up,
 * which every park loop tolerates; the receiver may then run while its
 * old registration completes, which touches only atomics (waiter, the
 * queue's ends) and at worst leaves waiter pointing at it, which costs
 * later spurious wake-ups, never a lost one.
 * Senders leave the waiter slot as they found it: actor_wake's CAS on the
 * process's state already lets only one of several racing senders enqueue
 * it, and the receiver clears the slot when it runs again, so taking the
 * slot with an exchange would cost every send to a parked receiver a
 * second locked instruction for nothing.
 *
 * Invariants:
 *   - one process at a time receives on a port (the MPSC queue has one
 *     consumer; `receiver` checks it and a second receiver that comes
 *     while another's receive is under way aborts with a message, as only
 *     a mailbox's owner can receive; see claim for the one race the
 *     check lets through);
 *   - the private list holds messages in arrival order; messages are
 *     removed from it only by the receiver, which keeps lastp and
 *     mark_link pointing at live links;
 *   - the sum of the sent counts less received is the messages queued (a
 *     snapshot: a sender bumps its count just before its push).
 *
 * Rejected: a mutex-guarded deque per mailbox (every send from every
 * scheduler would take the receiver's lock; the BEAM moved its
 * signal queues to lock-free in-queues for the same reason); copying on
 * receive instead of on send (the receiver would see the sender's later
 * writes to the original, which is exactly what copy-on-send rules out).
 */
#include "models/actor/actor_int.h"

#include "runtime/clock.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

typedef rt_qnode_t *_Atomic *link_t;

/* The bits of a port's `closed` word.  PORT_CLOSED: cb_port_close, the
 * stand-in for unalias/1 (sends are dropped; the receiver gets -EPIPE
 * once it has drained what came before).  PORT_DEAD: the process that
 * received on it has exited (sends are dropped; nobody can receive). */
#define PORT_CLOSED UINT64_C(1)
#define PORT_DEAD UINT64_C(2)
#define PORT_GONE (PORT_CLOSED | PORT_DEAD)
#define PORT_GEN_SHIFT 2

/*
 * The messages sent to a port, counted by scheduler, in the words of the
 * queue's producer line (runtime/queue.h): the thread of scheduler i
 * (i < SENT_OWN) is the only writer of word i, which it bumps with a plain
 * load and store; other schedulers and foreign threads share word
 * SENT_OWN and pay a locked add.  One shared counter cost every send a
 * locked add, a sixth of a ping-pong round trip's locked instructions; on
 * a line of its own it was a second line bouncing between the producers
 * of a flood.  The length is the sum less received.
 */
#define SENT_OWN (RT_MPSCQ_PRODUCER_WORDS - 1)

/* Three lines: the producers' (the queue's head and the sent counts), the
 * receiver's (the queue's tail and what follows), and the line every
 * sender reads (waiter, closed) but only a parking receiver writes.
 * Ports come from actor_block_alloc, aligned to a line. */
struct cb_port {
    rt_mpscq_t q;

    /* Written by the receiving process (atomics: others read them). */
    _Atomic int64_t received;
    _Atomic uint64_t receiver; /* id of the process receiving now */
    int64_t drained;           /* messages moved to the private list */
    _Atomic int64_t max_len;   /* high-water mark seen by the receiver */
    rt_qnode_t *_Atomic first; /* the private list (links are relaxed) */
    link_t lastp;              /* the link the next arrival is put at */
    link_t mark_link;          /* the reference trick's marker, or NULL */

    RT_ALIGNED_CACHELINE cb_task_t *_Atomic waiter; /* see the essay */
    /* PORT_CLOSED | PORT_DEAD | the port's generation << PORT_GEN_SHIFT:
     * one word, so that the owner's death marks only the life of the port
     * it received on (a CAS that names the generation). */
    _Atomic uint64_t closed;
    cb_term_t mark_ref; /* the receiver's, written only by recv_mark */
    /* The receiver's id, for the memory report; written when it changes. */
    _Atomic uint64_t last_receiver;

    /* Registry of open ports for the memory report: guarded by reg_mu. */
    cb_port_t *reg_prev, *reg_next;
    bool registered;
};

_Static_assert(offsetof(cb_port_t, mark_link) < 2 * RT_CACHELINE &&
                   offsetof(cb_port_t, waiter) == 2 * RT_CACHELINE &&
                   sizeof(cb_port_t) == 3 * RT_CACHELINE,
               "a port is three lines: producers', receiver's, senders' reads");

/*
 * Message nodes are carved from chunks of MSG_CHUNK (actor_block_alloc:
 * type-stable, returned at stop) and recycled through a per-scheduler
 * free list that only its thread touches: a send pops a node, a receive
 * pushes it back, with no call into malloc and no lock.  A node freed on
 * another scheduler than the one that carved it joins the freeing
 * scheduler's list; a list that grows past MSG_CACHE hands MSG_BATCH
 * nodes to a global pool (msg_mu), which a scheduler with an empty list
 * draws from before it carves a new chunk.  So a one-way stream between
 * two schedulers recycles its nodes instead of carving for ever, and the
 * memory held is the most nodes ever queued at once (24 bytes each), one
 * more per port (its queue's dummy, kept when the port is recycled) and
 * the caches.  Free nodes are linked through node.next; under ASan the
 * rest of a free node (its term and size) is poisoned, and so is a
 * dummy's, so a use after free of a message is still reported.
 *
 * Rejected: a malloc and a free per message (what this replaced): in a
 * backlog (skynet's leaves sending before their parents receive, an
 * unbounded flood) every send reached malloc's slow path, a fifth of
 * skynet's instructions, and the nodes of one mailbox lay scattered, so a
 * selective receive's scan missed the cache more.
 */
#define MSG_CACHE 4096
#define MSG_BATCH 1024
#define MSG_CHUNK 1024

#if defined(CB_SANITIZE_ADDRESS)
#include <sanitizer/asan_interface.h>
#define MSG_POISON(m)                                                          \
    __asan_poison_memory_region(&(m)->term, sizeof *(m) - sizeof(rt_qnode_t))
#define MSG_UNPOISON(m)                                                        \
    __asan_unpoison_memory_region(&(m)->term, sizeof *(m) - sizeof(rt_qnode_t))
#else
#define MSG_POISON(m) ((void)(m))
#define MSG_UNPOISON(m) ((void)(m))
#endif

static actor_msg_t *next_free(actor_msg_t *m)
{
    /* Relaxed: a free list is owned by one thread (or by msg_mu). */
    return (actor_msg_t *)atomic_load_explicit(&m->node.next,
                                               memory_order_relaxed);
}

static void set_next_free(actor_msg_t *m, actor_msg_t *next)
{
    atomic_store_explicit(&m->node.next, next ? &next->node : NULL,
                          memory_order_relaxed);
}

/* Give s up to MSG_BATCH nodes from the pool, or a new chunk's worth;
 * false when out of memory.  Expects s's list empty. */
static bool msg_refill(actor_sched_t *s)
{
    pthread_mutex_lock(&actor.msg_mu);
    actor_msg_t *first = actor.free_msgs, *last = NULL;
    int64_t n = 0;
    for (actor_msg_t *m = first; m && n < MSG_BATCH; m = next_free(m)) {
        last = m;
        n++;
    }
    if (n) {
        actor.free_msgs = next_free(last);
        actor.nfree_msgs -= n;
    }
    pthread_mutex_unlock(&actor.msg_mu);
    if (!n) {
        actor_msg_t *chunk = actor_block_alloc(MSG_CHUNK, sizeof *chunk);
        if (!chunk)
            return false;
        /* In address order, so a backlog's nodes lie side by side. */
        for (int i = 0; i < MSG_CHUNK - 1; i++) {
            set_next_free(&chunk[i], &chunk[i + 1]);
            MSG_POISON(&chunk[i]);
        }
        MSG_POISON(&chunk[MSG_CHUNK - 1]);
        first = chunk;
        last = &chunk[MSG_CHUNK - 1];
        n = MSG_CHUNK;
    }
    set_next_free(last, s->free_msgs);
    s->free_msgs = first;
    s->nfree_msgs += n;
    return true;
}

/* A node for a foreign thread, which has no list: one from the pool. */
static RT_NOINLINE actor_msg_t *msg_alloc_foreign(void)
{
    pthread_mutex_lock(&actor.msg_mu);
    actor_msg_t *m = actor.free_msgs;
    if (m) {
        actor.free_msgs = next_free(m);
        actor.nfree_msgs--;
    }
    pthread_mutex_unlock(&actor.msg_mu);
    if (!m)
        m = actor_block_alloc(1, sizeof *m);
    if (m)
        MSG_UNPOISON(m);
    return m;
}

/* Inline with msg_free: a pop and a push on the scheduler's list, on
 * every send and receive; what is rare (a foreign thread, a refill, an
 * overflow) is out of line. */
static RT_ALWAYS_INLINE actor_msg_t *msg_alloc(actor_sched_t *s)
{
    if (!s)
        return msg_alloc_foreign();
    if (!s->free_msgs && !msg_refill(s))
        return NULL;
    actor_msg_t *m = s->free_msgs;
    s->free_msgs = next_free(m);
    s->nfree_msgs--;
    MSG_UNPOISON(m);
    return m;
}

static RT_NOINLINE void msg_free_slow(actor_sched_t *s, actor_msg_t *m);

static RT_ALWAYS_INLINE void msg_free(actor_sched_t *s, actor_msg_t *m)
{
    if (s && s->nfree_msgs < MSG_CACHE + MSG_BATCH) {
        MSG_POISON(m);
        set_next_free(m, s->free_msgs);
        s->free_msgs = m;
        s->nfree_msgs++;
        return;
    }
    msg_free_slow(s, m);
}

/* A foreign thread's free, or one that takes s's list past its cap. */
static void msg_free_slow(actor_sched_t *s, actor_msg_t *m)
{
    MSG_POISON(m);
    if (!s) {
        pthread_mutex_lock(&actor.msg_mu);
        set_next_free(m, actor.free_msgs);
        actor.free_msgs = m;
        actor.nfree_msgs++;
        pthread_mutex_unlock(&actor.msg_mu);
        return;
    }
    set_next_free(m, s->free_msgs);
    s->free_msgs = m;
    if (++s->nfree_msgs <= MSG_CACHE + MSG_BATCH)
        return;
    /* Hand the MSG_BATCH most recently freed to the pool. */
    actor_msg_t *last = s->free_msgs;
    for (int i = 1; i < MSG_BATCH; i++)
        last = next_free(last);
    actor_msg_t *first = s->free_msgs;
    s->free_msgs = next_free(last);
    s->nfree_msgs -= MSG_BATCH;
    pthread_mutex_lock(&actor.msg_mu);
    set_next_free(last, actor.free_msgs);
    actor.free_msgs = first;
    actor.nfree_msgs += MSG_BATCH;
    pthread_mutex_unlock(&actor.msg_mu);
}

/* Messages sent and not yet received (a snapshot). */
static int64_t queued(cb_port_t *p)
{
    int64_t r = atomic_load_explicit(&p->received, memory_order_relaxed);
    int64_t sent = 0;
    for (int i = 0; i <= SENT_OWN; i++)
        sent += atomic_load_explicit(&p->q.producer_words[i],
                                     memory_order_relaxed);
    return sent - r;
}

/* One more message sent to p from s's thread (NULL: a foreign thread). */
static void count_sent(cb_port_t *p, actor_sched_t *s)
{
    _Atomic int64_t *sent = p->q.producer_words;
    if (s && s->index < SENT_OWN)
        atomic_store_explicit(
            &sent[s->index],
            atomic_load_explicit(&sent[s->index], memory_order_relaxed) + 1,
            memory_order_relaxed);
    else
        atomic_fetch_add_explicit(&sent[SENT_OWN], 1, memory_order_relaxed);
}

/* Private-list links: the receiver owns them, so relaxed suffices. */
static actor_msg_t *at(link_t l)
{
    return (actor_msg_t *)atomic_load_explicit(l, memory_order_relaxed);
}

static void put(link_t l, actor_msg_t *m)
{
    atomic_store_explicit(l, m ? &m->node : NULL, memory_order_relaxed);
}

static void count(cb_task_t *self, int what, int64_t n)
{
    actor_sched_t *s = self->sched;
#define BUMP(f)                                                                \
    atomic_store_explicit(                                                     \
        &s->c.f, atomic_load_explicit(&s->c.f, memory_order_relaxed) + n,      \
        memory_order_relaxed)
    switch (what) {
    case 0:
        BUMP(receives);
        break;
    case 1:
        BUMP(messages_skipped);
        break;
    case 2:
        BUMP(marker_hits);
        break;
    }
#undef BUMP
}

/*
 * Ports are type-stable, like processes: a sender touches the port after
 * its push has made the message visible (to look for a parked receiver),
 * and by then the receiver may have taken the message and freed the port.
 * Freed ports therefore go to a per-scheduler cache and their memory is
 * returned only at stop; a late sender that finds the waiter of the
 * port's next life takes it and wakes that receiver, which re-checks and
 * parks again: a spurious wake-up, never a lost one or a write to freed
 * memory.
 */
#define PORT_BLOCK 64

static cb_port_t *port_alloc(void)
{
    actor_sched_t *s = actor_this_sched();
    if (s && s->free_ports) {
        cb_port_t *p = s->free_ports;
        s->free_ports = p->reg_next;
        return p;
    }
    size_t n = s ? PORT_BLOCK : 1;
    cb_port_t *block = actor_block_alloc(n, sizeof *block);
    if (!block)
        return NULL;
    for (size_t i = n - 1; i >= 1; i--) {
        block[i].reg_next = s->free_ports;
        s->free_ports = &block[i];
    }
    return &block[0];
}

static void port_recycle(cb_port_t *p)
{
    /* A foreign thread has no cache: the port waits for stop. */
    actor_sched_t *s = actor_this_sched();
    if (s) {
        p->reg_next = s->free_ports;
        s->free_ports = p;
    }
}

int actor_port_open(const cb_port_opts_t *opts, cb_port_t **out)
{
    cb_port_policy_t policy = opts ? opts->policy : CB_PORT_DEFAULT;
    if (policy != CB_PORT_DEFAULT && policy != CB_PORT_UNBOUNDED)
        return policy > CB_PORT_RENDEZVOUS ? -EINVAL : -ENOTSUP;
    cb_port_t *p = port_alloc();
    if (!p)
        return -ENOMEM;
    /* A recycled port keeps the dummy node its queue ended with. */
    rt_qnode_t *dummy = rt_mpscq_dummy(&p->q);
    if (!dummy) {
        actor_msg_t *m = msg_alloc(actor_this_sched());
        if (!m) {
            port_recycle(p);
            return -ENOMEM;
        }
        MSG_POISON(m);
        dummy = &m->node;
    }
    rt_mpscq_init(&p->q, dummy);
    /* Atomic stores, not initialisation: a sender of the port's previous
     * life may still be reading waiter (see port_alloc). */
    atomic_store_explicit(&p->waiter, NULL, memory_order_relaxed);
    atomic_store_explicit(&p->received, 0, memory_order_relaxed);
    atomic_store_explicit(&p->max_len, 0, memory_order_relaxed);
    p->drained = 0;
    /* A new generation: a dying process's CAS names the old one and
     * misses (see actor_ports_die). */
    uint64_t gen =
        (atomic_load_explicit(&p->closed, memory_order_relaxed) >>
         PORT_GEN_SHIFT) +
        1;
    atomic_store_explicit(&p->closed, gen << PORT_GEN_SHIFT,
                          memory_order_relaxed);
    atomic_store_explicit(&p->receiver, 0, memory_order_relaxed);
    atomic_store_explicit(&p->last_receiver, 0, memory_order_relaxed);
    atomic_store_explicit(&p->first, NULL, memory_order_relaxed);
    p->lastp = &p->first;
    p->mark_link = NULL;
    p->mark_ref = CB_NIL;
    p->reg_prev = p->reg_next = NULL;
    p->registered = false;
    if (actor.max_memory > 0) {
        pthread_mutex_lock(&actor.reg_mu);
        p->reg_next = actor.ports;
        if (actor.ports)
            actor.ports->reg_prev = p;
        actor.ports = p;
        p->registered = true;
        pthread_mutex_unlock(&actor.reg_mu);
    }
    *out = p;
    return 0;
}

/* Move what senders pushed onto the private list; returns how many.
 * Inlined: a receive calls it twice (before parking and after), and out
 * of line its prologue and epilogue were a third of its cost. */
static RT_ALWAYS_INLINE int64_t drain(cb_port_t *p)
{
    int64_t n = 0;
    rt_qnode_t *node, *item;
    while ((node = rt_mpscq_pop(&p->q, &item))) {
        /* The message moves into the retired dummy; the node it came in
         * stays behind as the queue's dummy (runtime/queue.h). */
        actor_msg_t *m = (actor_msg_t *)node, *from = (actor_msg_t *)item;
        MSG_UNPOISON(m);
        m->term = from->term;
        m->bytes = from->bytes;
        MSG_POISON(from);
        atomic_store_explicit(&m->node.next, NULL, memory_order_relaxed);
        put(p->lastp, m);
        p->lastp = &m->node.next;
        n++;
    }
    if (n) {
        /* Sampled when messages arrive, so senders never read this
         * line; the receiver is the only writer.  The private list's
         * length, from the receiver's own counts: summing the senders'
         * counts here was 37 instructions a receive. */
        p->drained += n;
        int64_t len = p->drained -
                      atomic_load_explicit(&p->received, memory_order_relaxed);
        if (len > atomic_load_explicit(&p->max_len, memory_order_relaxed))
            atomic_store_explicit(&p->max_len, len, memory_order_relaxed);
    }
    return n;
}

static void wake_waiter(cb_port_t *p);

/* The mailbox p is self's now: it dies with self (actor_ports_die).  On
 * the path where the receiver changes only, never per receive. */
static RT_NOINLINE void own(cb_port_t *p, cb_task_t *self)
{
    uint64_t gen =
        atomic_load_explicit(&p->closed, memory_order_relaxed) >> PORT_GEN_SHIFT;
    for (uint32_t i = 0; i < self->nowned; i++)
        if (self->owned[i].port == p) {
            self->owned[i].gen = gen;
            return;
        }
    if (self->nowned == self->owned_cap) {
        uint32_t cap = self->owned_cap ? self->owned_cap * 2 : 4;
        actor_owned_t *b = realloc(self->owned, cap * sizeof *b);
        if (!b)
            return; /* untracked: it outlives its owner, as before */
        self->owned = b;
        self->owned_cap = cap;
    }
    self->owned[self->nowned++] = (actor_owned_t){p, gen};
}

void actor_ports_die(cb_task_t *p)
{
    for (uint32_t i = 0; i < p->nowned; i++) {
        cb_port_t *port = p->owned[i].port;
        uint64_t w = atomic_load_explicit(&port->closed, memory_order_relaxed);
        /* Only the life of the port it received on, and only if it was
         * still the port's receiver: a CAS that names the generation, so
         * a port freed and opened again meanwhile is left alone. */
        while ((w >> PORT_GEN_SHIFT) == p->owned[i].gen &&
               atomic_load_explicit(&port->last_receiver,
                                    memory_order_relaxed) == p->id &&
               !atomic_compare_exchange_weak_explicit(
                   &port->closed, &w, w | PORT_DEAD, memory_order_seq_cst,
                   memory_order_relaxed))
            ;
    }
    free(p->owned);
    p->owned = NULL;
    p->nowned = p->owned_cap = 0;
}

void actor_port_deliver(cb_port_t *p, cb_term_t term)
{
    if (atomic_load_explicit(&p->closed, memory_order_acquire) & PORT_GONE) {
        cb_term_release(term);
        return;
    }
    actor_sched_t *s = actor_this_sched();
    actor_msg_t *m = msg_alloc(s);
    if (!m) {
        cb_term_release(term);
        return;
    }
    m->term = term;
    m->bytes = sizeof *m + cb_term_heap_bytes(term);
    actor_mem_add_on(s, (int64_t)m->bytes);
    count_sent(p, s);
    rt_mpscq_push(&p->q, &m->node);
    wake_waiter(p);
}

static void claim(cb_port_t *p, cb_task_t *self)
{
    /* Acquire: the previous receiver's release in unclaim hands over the
     * private list it left.  A load and a store, not a CAS: the check
     * exists to stop a second receiver that comes while another's
     * receive is under way (the other is parked in it, or between
     * receives of a loop), which the load sees; two receives that begin
     * within the same few nanoseconds on two cores may both pass it.  A
     * locked RMW on every receive was the price of catching that last
     * case too, for a misuse rather than a semantic. */
    uint64_t cur = atomic_load_explicit(&p->receiver, memory_order_acquire);
    if (cur == self->id)
        return;
    if (cur != 0)
        rt_panic("actor: processes %llu and %llu receive on one mailbox at "
                 "once; only its owner may receive",
                 (unsigned long long)cur, (unsigned long long)self->id);
    /* Relaxed: only this receiver reads what it wrote until its release
     * in unclaim; others only compare it. */
    atomic_store_explicit(&p->receiver, self->id, memory_order_relaxed);
    if (atomic_load_explicit(&p->last_receiver, memory_order_relaxed) !=
        self->id) {
        atomic_store_explicit(&p->last_receiver, self->id,
                              memory_order_relaxed);
        own(p, self);
    }
}

static void unclaim(cb_port_t *p)
{
    atomic_store_explicit(&p->receiver, 0, memory_order_release);
}

static void unlink_msg(cb_port_t *p, link_t pp, actor_msg_t *m)
{
    link_t own = &m->node.next;
    put(pp, at(own));
    if (p->lastp == own)
        p->lastp = pp;
    if (p->mark_link == own)
        p->mark_link = pp;
    /* The receiver is the only writer: a store, not an RMW. */
    atomic_store_explicit(
        &p->received,
        atomic_load_explicit(&p->received, memory_order_relaxed) + 1,
        memory_order_relaxed);
}

static RT_ALWAYS_INLINE void deliver(cb_port_t *p, cb_task_t *self,
                                     link_t pp, actor_msg_t *m,
                                     cb_term_t *out)
{
    unlink_msg(p, pp, m);
    *out = m->term;
    self->msgs_in++;
    self->msg_bytes_in += (int64_t)m->bytes;
    /* self runs on self->sched until it next switches. */
    actor_mem_add_on(self->sched, -(int64_t)m->bytes);
    count(self, 0, 1);
    msg_free(self->sched, m);
}

static bool is_closed(cb_port_t *p)
{
    /* seq_cst: the receiver's half of the close/park Dekker pair. */
    return atomic_load_explicit(&p->closed, memory_order_seq_cst) & PORT_GONE;
}

static void wake_waiter(cb_port_t *p)
{
    /* seq_cst: the sender's half of the Dekker pair (see the essay).  A
     * load, not an exchange: see the essay. */
    cb_task_t *w = atomic_load_explicit(&p->waiter, memory_order_seq_cst);
    if (w)
        actor_wake(w);
}

int actor_port_close(cb_port_t *p)
{
    /* seq_cst RMW: the closer's half of the Dekker pair with a parking
     * receiver; an RMW because the owner's death may set PORT_DEAD. */
    atomic_fetch_or_explicit(&p->closed, PORT_CLOSED, memory_order_seq_cst);
    wake_waiter(p);
    return 0;
}

static void fold_max(cb_port_t *p)
{
    int64_t m = atomic_load_explicit(&p->max_len, memory_order_relaxed);
    pthread_mutex_lock(&actor.reg_mu);
    if (m > actor.port_max_len)
        actor.port_max_len = m;
    if (p->registered) {
        if (p->reg_prev)
            p->reg_prev->reg_next = p->reg_next;
        else
            actor.ports = p->reg_next;
        if (p->reg_next)
            p->reg_next->reg_prev = p->reg_prev;
    }
    pthread_mutex_unlock(&actor.reg_mu);
}

void actor_port_free(cb_port_t *p)
{
    if (!p)
        return;
    /* waiter may still name the last receiver (see the essay): harmless,
     * and port_open clears it. */
    /* No switch below: s stays the caller's scheduler. */
    actor_sched_t *s = actor_this_sched();
    drain(p);
    actor_msg_t *m = at(&p->first);
    while (m) {
        actor_msg_t *next = at(&m->node.next);
        actor_mem_add_on(s, -(int64_t)m->bytes);
        cb_term_release(m->term);
        msg_free(s, m);
        m = next;
    }
    fold_max(p);
    port_recycle(p);
}

size_t actor_port_length(cb_port_t *p)
{
    /* A dead process's mailbox holds nothing anyone can receive. */
    if (atomic_load_explicit(&p->closed, memory_order_relaxed) & PORT_DEAD)
        return 0;
    int64_t n = queued(p);
    return n > 0 ? (size_t)n : 0;
}

static RT_NOINLINE int send_dropped(cb_term_t msg)
{
    /* The BEAM never refuses a send: a message to a process that is gone
     * (or to an alias deactivated with unalias/1) is dropped, and the
     * sender cannot tell. */
    cb_term_release(msg);
    actor_sched_t *s = actor_this_sched();
    if (s)
        atomic_store_explicit(
            &s->c.sends_dropped,
            atomic_load_explicit(&s->c.sends_dropped, memory_order_relaxed) +
                1,
            memory_order_relaxed);
    cb_reduce(1);
    return 0;
}

int actor_send(cb_port_t *p, cb_term_t msg)
{
    if (atomic_load_explicit(&p->closed, memory_order_acquire) & PORT_GONE)
        return send_dropped(msg);
    cb_term_t copy = msg;
    if (cb_is_boxed(msg) && actor.copy_messages) {
        /* The copy is what the receiver's heap gets; the original dies
         * with the send, as the sender's term is garbage on the BEAM. */
        copy = cb_term_copy(msg);
        if (copy == CB_NIL) {
            cb_term_release(msg);
            return -ENOMEM;
        }
        cb_term_release(msg);
    }
    /* No switch until the cb_reduce at the end: s stays ours. */
    actor_sched_t *s = actor_this_sched();
    actor_msg_t *m = msg_alloc(s);
    if (!m) {
        cb_term_release(copy);
        return -ENOMEM;
    }
    m->term = copy;
    /* An immediate has no heap: no call to measure it. */
    m->bytes = sizeof *m + (copy != msg ? cb_term_heap_bytes(copy) : 0);
    /* Read before the push: from then on m belongs to the receiver. */
    int64_t copied = copy != msg ? (int64_t)(m->bytes - sizeof *m) : 0;
    actor_mem_add_on(s, (int64_t)m->bytes);
    count_sent(p, s);
    rt_mpscq_push(&p->q, &m->node);
    wake_waiter(p);
    if (s) {
        atomic_store_explicit(
            &s->c.sends,
            atomic_load_explicit(&s->c.sends, memory_order_relaxed) + 1,
            memory_order_relaxed);
        if (copied)
            atomic_store_explicit(
                &s->c.bytes_copied,
                atomic_load_explicit(&s->c.bytes_copied, memory_order_relaxed) +
                    copied,
                memory_order_relaxed);
    }
    /* A send costs a reduction on the BEAM too. */
    cb_reduce(1);
    return 0;
}

/* Register t as p's waiter and re-check; true when the park may go on
 * (nothing arrived and p is open).  On t's stack for a select, from the
 * scheduler after the switch for a receive (see the essay). */
bool actor_port_register(cb_port_t *p, cb_task_t *t)
{
    atomic_store_explicit(&p->waiter, t, memory_order_seq_cst);
    return !rt_mpscq_maybe_nonempty(&p->q) && !is_closed(p);
}

static void unpark_from(cb_port_t *p)
{
    atomic_store_explicit(&p->waiter, NULL, memory_order_relaxed);
    /* A sender that read the pointer before this store may still wake
     * us: that wake finds us RUNNING (or a later park) and is tolerated. */
}

static int64_t deadline_of(int64_t timeout_ns)
{
    if (timeout_ns < 0)
        return -1;
    int64_t now = rt_now_ns();
    return timeout_ns > INT64_MAX - now ? INT64_MAX : now + timeout_ns;
}

static int receive(cb_port_t *p, cb_match_fn match, void *ctx, link_t start,
                   cb_term_t *out, int64_t timeout_ns)
{
    cb_task_t *self = actor_self();
    RT_ASSERT(self != NULL);
    claim(p, self);
    if (RT_UNLIKELY(atomic_load_explicit(&p->closed, memory_order_relaxed) &
                    PORT_DEAD)) {
        /* The mailbox of a process that has exited: what it held died
         * with it. */
        unclaim(p);
        return -EPIPE;
    }
    int64_t deadline = deadline_of(timeout_ns);
    /* The private list first: what the queue holds arrived after it, and
     * the loop drains the queue when the list runs out. */
    link_t pp = start ? start : &p->first;
    int64_t skipped = 0;
    int rc;
    for (;;) {
        actor_msg_t *m;
        while ((m = at(pp))) {
            if (!match || match(m->term, ctx)) {
                deliver(p, self, pp, m, out);
                rc = 0;
                goto done;
            }
            pp = &m->node.next;
            skipped++;
        }
        if (drain(p))
            continue;
        if (is_closed(p)) {
            if (drain(p))
                continue;
            rc = -EPIPE;
            break;
        }
        if (timeout_ns == 0 || (deadline >= 0 && rt_now_ns() >= deadline)) {
            rc = -ETIMEDOUT;
            break;
        }
        /* Registered after the switch; a sender mid-push on another
         * core makes the re-check fail, and the park a yield. */
        actor_park_recv(self, p, deadline);
        unpark_from(p);
        if (actor_kill_pending(self)) {
            unclaim(p);
            actor_die_killed(self);
        }
    }
done:
    if (skipped)
        count(self, 1, skipped);
    /* Unclaimed before the reduction point: a process killed there must
     * not leave the mailbox claimed. */
    unclaim(p);
    cb_reduce(1);
    return rc;
}

int actor_recv(cb_port_t *p, cb_term_t *out, int64_t timeout_ns)
{
    return receive(p, NULL, NULL, NULL, out, timeout_ns);
}

int actor_recv_match(cb_port_t *p, cb_match_fn match, void *ctx, cb_term_t *out,
                     int64_t timeout_ns)
{
    return receive(p, match, ctx, NULL, out, timeout_ns);
}

cb_term_t actor_recv_mark(cb_port_t *p)
{
    cb_task_t *self = actor_self();
    RT_ASSERT(self != NULL);
    claim(p, self);
    /* Everything sent before the reference exists is now on the private
     * list, in front of the mark. */
    drain(p);
    p->mark_ref = cb_make_ref();
    p->mark_link = p->lastp;
    unclaim(p);
    return p->mark_ref;
}

int actor_recv_match_ref(cb_port_t *p, cb_term_t ref, cb_match_fn match,
                         void *ctx, cb_term_t *out, int64_t timeout_ns)
{
    cb_task_t *self = actor_self();
    RT_ASSERT(self != NULL);
    claim(p, self);
    link_t start = NULL;
    if (p->mark_link && p->mark_ref == ref) {
        start = p->mark_link;
        count(self, 2, 1);
    }
    int rc = receive(p, match, ctx, start, out, timeout_ns);
    claim(p, self);
    p->mark_link = NULL;
    p->mark_ref = CB_NIL;
    unclaim(p);
    return rc;
}

static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* A receive on several aliases of the caller's mailbox. */
int actor_select(cb_select_op_t *ops, size_t n, unsigned flags,
                 int64_t timeout_ns)
{
    cb_task_t *self = actor_self();
    RT_ASSERT(self != NULL);
    if (n == 0)
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (ops[i].dir != CB_SELECT_RECV)
            return ops[i].dir == CB_SELECT_SEND ? -ENOTSUP : -EINVAL;
    int64_t deadline = deadline_of(timeout_ns);
    for (;;) {
        size_t start = flags & CB_SELECT_PRIORITY
                           ? 0
                           : (size_t)(next_rand(&self->rng) % n);
        for (size_t k = 0; k < n; k++) {
            size_t i = (start + k) % n;
            cb_port_t *p = ops[i].port;
            /* Read before draining: a port closed now and empty after the
             * drain below is closed and drained. */
            bool closed = is_closed(p);
            claim(p, self);
            drain(p);
            actor_msg_t *m = at(&p->first);
            if (m) {
                deliver(p, self, &p->first, m, &ops[i].msg);
                ops[i].status = 0;
                unclaim(p);
                cb_reduce(1);
                return (int)i;
            }
            unclaim(p);
            if (closed) {
                ops[i].msg = CB_NIL;
                ops[i].status = -EPIPE;
                return (int)i;
            }
        }
        if (timeout_ns == 0 || (deadline >= 0 && rt_now_ns() >= deadline))
            return -ETIMEDOUT;
        actor_park_begin(self);
        bool go = true;
        for (size_t i = 0; i < n; i++)
            go = actor_port_register(ops[i].port, self) && go;
        if (go)
            actor_park(self, deadline);
        else
            actor_park_cancel(self);
        for (size_t i = 0; i < n; i++)
            unpark_from(ops[i].port);
        if (actor_kill_pending(self))
            actor_die_killed(self);
    }
}

void actor_biggest_mailbox(int64_t *len, uint64_t *owner)
{
    *len = 0;
    *owner = 0;
    pthread_mutex_lock(&actor.reg_mu);
    for (cb_port_t *p = actor.ports; p; p = p->reg_next) {
        int64_t l = queued(p);
        if (l > *len) {
            *len = l;
            *owner =
                atomic_load_explicit(&p->last_receiver, memory_order_relaxed);
        }
    }
    pthread_mutex_unlock(&actor.reg_mu);
}
