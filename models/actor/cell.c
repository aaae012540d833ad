/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Cells of the `actor` model: a cell's value is owned by a process, as an
 * Erlang program keeps shared state in a gen_server (or an Agent in
 * Elixir).  Nobody else touches the value; every read and update is a
 * message to its owner.
 *
 * How many processes.  Each cell gets a process of its own while there
 * are fewer than OWNERS_MAX owners; past that, new cells are adopted by
 * the existing owners in turn, each holding a table of values — what an
 * Erlang programmer does with many accounts: a bounded set of server
 * processes, each owning a shard of the keys (pg or a consistent hash in
 * front of gen_servers), rather than a process per key.  A program with
 * 10,000 accounts still has a process per account and keeps all its
 * parallelism; one with ten million has OWNERS_MAX processes of ~600
 * accounts each, and every count up to bank's maximum runs.  (The BEAM's
 * own limit on processes is a system flag, +P; a process per account of
 * ten million would need it raised, and its memory.)
 *
 * An atomic update of several cells is a lock protocol over messages:
 * the caller sends {lock, ReplyPort, Slots} to each owner involved, in
 * address order, and waits for {granted, Values} (the values of those
 * slots); an owner that granted then waits, with a selective receive,
 * only for {set, Values} or {unlock} (later requests stay queued behind
 * the save pointer); the caller applies the function and sends {set, V}
 * to each owner it wrote and {unlock} to those it only read.  Taking the
 * owners in one global order makes the protocol deadlock-free, and an
 * owner serves one holder at a time, so updates and snapshots are atomic
 * and cells only read are locked too: no write skew.  The protocol is
 * bounded: one round trip per owner involved, whatever the number of
 * cells, so an audit of every account costs at most OWNERS_MAX round
 * trips, slots and values travelling as binaries.
 *
 * Invariants:
 *   - a cell's value is read and written only by its owner process;
 *   - an owner that granted its values to a caller applies no other
 *     request until that caller's {set, V} or {unlock} arrives;
 *   - callers lock the owners of one call in increasing address order;
 *   - the registry of owners is guarded by a mutex that is a leaf and is
 *     never held across a message, a spawn or a join.
 *
 * Rejected: a mutex inside the cell (that is the `locks` model, and it
 * would hide the message round trips the BEAM pays for shared state); an
 * ETS table (ets:update_counter is atomic on one object only, so a
 * transfer between two keys would need a process or Mnesia to be atomic
 * anyway); refusing more than 64 cells per call, as this file once did.
 */
#include "models/actor/actor_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Owner processes at most; past it, cells share them.  10,000 accounts
 * (bank's low-contention point) still get a process each.  Under TSan,
 * whose fibers count against its limit of 8,128 threads, the cap is
 * lower, so that sharing is exercised there too without dying of it. */
#ifdef CB_SANITIZE_THREAD
#define OWNERS_MAX 1024
#else
#define OWNERS_MAX 16384
#endif

typedef struct owner {
    cb_port_t *port;
    cb_task_t *task;
    int64_t *values; /* the owner process's only, as are n and cap */
    size_t n, cap;
    size_t idx;  /* its entry in reg.owners */
    size_t live; /* cells not yet freed: guarded by reg.mu */
} owner_t;

struct cb_cell {
    owner_t *owner;
    size_t slot; /* in owner->values */
};

static struct {
    pthread_mutex_t mu;
    owner_t **owners; /* OWNERS_MAX entries; NULL: being made, or gone */
    size_t n;         /* entries handed out */
    size_t rr;        /* the next owner to adopt a cell */
    size_t live;      /* cells not yet freed */
} reg = {.mu = PTHREAD_MUTEX_INITIALIZER};

static cb_term_t a_lock, a_granted, a_set, a_unlock, a_stop, a_adopt;

/* Called by start, before any scheduler runs: the atoms are then
 * read-only. */
void actor_cell_init(void)
{
    a_lock = cb_atom("lock");
    a_granted = cb_atom("granted");
    a_set = cb_atom("set");
    a_unlock = cb_atom("unlock");
    a_stop = cb_atom("stop");
    a_adopt = cb_atom("adopt");
    pthread_mutex_lock(&reg.mu);
    reg.n = reg.rr = reg.live = 0;
    pthread_mutex_unlock(&reg.mu);
}

static bool set_or_unlock(cb_term_t m, void *ctx)
{
    (void)ctx;
    if (!cb_is_tuple(m) || cb_tuple_arity(m) < 1)
        return false;
    cb_term_t tag = cb_tuple_elem(m, 0);
    return tag == a_set || tag == a_unlock;
}

static cb_term_t int64s(const void *v, size_t n)
{
    cb_term_t t = cb_binary(v, n * sizeof(int64_t));
    RT_ASSERT(t != CB_NIL); /* out of memory mid-protocol */
    return t;
}

/* {lock, Reply, Slots}: grant the values, then wait for set or unlock. */
static void serve_lock(owner_t *o, cb_term_t m)
{
    cb_port_t *reply = cb_term_port(cb_tuple_elem(m, 1));
    cb_term_t slots_t = cb_tuple_elem(m, 2);
    size_t k = cb_binary_size(slots_t) / sizeof(int64_t);
    int64_t *slots = malloc(k * sizeof *slots), *vals = malloc(k * sizeof *vals);
    RT_ASSERT(slots && vals);
    memcpy(slots, cb_binary_data(slots_t), k * sizeof *slots);
    cb_term_release(m);
    for (size_t i = 0; i < k; i++) {
        RT_ASSERT(slots[i] >= 0 && (size_t)slots[i] < o->n);
        vals[i] = o->values[slots[i]];
    }
    actor_send(reply, cb_tuple2(a_granted, int64s(vals, k)));
    RT_ASSERT(actor_recv_match(o->port, set_or_unlock, NULL, &m, CB_FOREVER) ==
              0);
    if (cb_tuple_elem(m, 0) == a_set) {
        cb_term_t v = cb_tuple_elem(m, 1);
        RT_ASSERT(cb_binary_size(v) == k * sizeof(int64_t));
        memcpy(vals, cb_binary_data(v), k * sizeof *vals);
        for (size_t i = 0; i < k; i++)
            o->values[slots[i]] = vals[i];
    }
    cb_term_release(m);
    free(slots);
    free(vals);
}

static void owner_main(void *arg)
{
    owner_t *o = arg;
    for (;;) {
        cb_term_t m;
        if (actor_recv(o->port, &m, CB_FOREVER) < 0)
            break;
        cb_term_t tag = cb_is_tuple(m) ? cb_tuple_elem(m, 0) : m;
        if (tag == a_stop) {
            cb_term_release(m);
            break;
        }
        if (tag == a_adopt) { /* {adopt, Value, Reply}: a new slot */
            if (o->n == o->cap) {
                size_t cap = o->cap ? 2 * o->cap : 4;
                int64_t *v = realloc(o->values, cap * sizeof *v);
                RT_ASSERT(v != NULL);
                o->values = v;
                o->cap = cap;
            }
            int64_t initial;
            memcpy(&initial, cb_binary_data(cb_tuple_elem(m, 1)),
                   sizeof initial);
            o->values[o->n] = initial;
            cb_port_t *reply = cb_term_port(cb_tuple_elem(m, 2));
            cb_term_release(m);
            actor_send(reply, cb_int((int64_t)o->n++));
            continue;
        }
        RT_ASSERT(tag == a_lock);
        serve_lock(o, m);
    }
    free(o->values);
}

static int reply_port(cb_task_t *self)
{
    if (!self)
        return -EINVAL;
    if (!self->reply)
        return actor_port_open(NULL, &self->reply);
    return 0;
}

/* Ask o for a slot holding initial; the slot's index. */
static int64_t adopt(owner_t *o, int64_t initial, cb_task_t *self)
{
    actor_send(o->port, cb_tuple3(a_adopt, int64s(&initial, 1),
                                  cb_port_term(self->reply)));
    cb_term_t m;
    RT_ASSERT(actor_recv(self->reply, &m, CB_FOREVER) == 0);
    int64_t slot = cb_int_value(m);
    cb_term_release(m);
    return slot;
}

/* A new owner process holding initial in slot 0. */
static int owner_new(int64_t initial, owner_t **out)
{
    owner_t *o = calloc(1, sizeof *o);
    if (!o || !(o->values = malloc(4 * sizeof *o->values))) {
        free(o);
        return -ENOMEM;
    }
    /* Written before the spawn, which publishes them to the owner. */
    o->cap = 4;
    o->values[0] = initial;
    o->n = 1;
    o->live = 1;
    int rc = actor_port_open(NULL, &o->port);
    if (rc == 0)
        rc = actor_spawn(owner_main, o, NULL, &o->task);
    if (rc < 0) {
        if (o->port)
            actor_port_free(o->port);
        free(o->values);
        free(o);
        return rc;
    }
    *out = o;
    return 0;
}

int actor_cell_new(int64_t initial, cb_cell_t **out)
{
    cb_task_t *self = actor_self();
    int rc = reply_port(self);
    if (rc < 0)
        return rc;
    cb_cell_t *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    owner_t *shared = NULL;
    size_t idx = SIZE_MAX;
    pthread_mutex_lock(&reg.mu);
    if (!reg.owners)
        reg.owners = calloc(OWNERS_MAX, sizeof *reg.owners);
    if (!reg.owners) {
        pthread_mutex_unlock(&reg.mu);
        free(c);
        return -ENOMEM;
    }
    if (reg.n < OWNERS_MAX) {
        idx = reg.n++; /* a new owner, made below with no lock held */
    } else {
        for (size_t i = 0; i < OWNERS_MAX && !shared; i++) {
            shared = reg.owners[reg.rr];
            reg.rr = (reg.rr + 1) % OWNERS_MAX;
        }
        if (shared)
            shared->live++; /* keeps it alive until adopted */
    }
    reg.live++;
    pthread_mutex_unlock(&reg.mu);
    if (shared) {
        c->owner = shared;
        c->slot = (size_t)adopt(shared, initial, self);
        *out = c;
        return 0;
    }
    owner_t *o = NULL;
    rc = owner_new(initial, &o);
    pthread_mutex_lock(&reg.mu);
    if (rc == 0) {
        o->idx = idx;
        reg.owners[idx] = o;
    } else {
        reg.live--;
    }
    pthread_mutex_unlock(&reg.mu);
    if (rc < 0) {
        free(c);
        return rc;
    }
    c->owner = o;
    c->slot = 0;
    *out = c;
    return 0;
}

void actor_cell_free(cb_cell_t *c)
{
    if (!c)
        return;
    owner_t *o = c->owner;
    pthread_mutex_lock(&reg.mu);
    bool last = --o->live == 0;
    if (last && o->idx < OWNERS_MAX && reg.owners[o->idx] == o)
        reg.owners[o->idx] = NULL;
    if (--reg.live == 0)
        reg.n = reg.rr = 0; /* every owner is gone: start afresh */
    pthread_mutex_unlock(&reg.mu);
    free(c);
    if (!last)
        return;
    actor_send(o->port, a_stop);
    actor_join(o->task);
    actor_port_free(o->port);
    free(o);
}

/* ---- the lock protocol ---- */

typedef struct pos {
    owner_t *owner;
    size_t slot, k; /* k: the position in the caller's cells[] */
} pos_t;

static int by_owner_slot_pos(const void *a, const void *b)
{
    const pos_t *x = a, *y = b;
    if (x->owner != y->owner)
        return (uintptr_t)x->owner < (uintptr_t)y->owner ? -1 : 1;
    if (x->slot != y->slot)
        return x->slot < y->slot ? -1 : 1;
    return (x->k > y->k) - (x->k < y->k);
}

#define SMALL_SET 8

/*
 * Lock the owners of cells[0..n) in address order, learn the values into
 * vals (caller order), apply fn (NULL: a read), and release each owner:
 * {set, V} where a cell of it was written (a cell named twice keeps its
 * last written position's value), {unlock} otherwise.
 */
static int with_cells(cb_cell_t **cells, size_t n, size_t nwrite,
                      cb_cells_fn fn, void *arg, int64_t *vals)
{
    cb_task_t *self = actor_self();
    if (!cells || n == 0 || nwrite > n)
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!cells[i])
            return -EINVAL;
    int rc = reply_port(self);
    if (rc < 0)
        return rc;
    pos_t psmall[SMALL_SET], *ps = psmall;
    int64_t bsmall[SMALL_SET], *buf = bsmall;
    if (n > SMALL_SET) {
        ps = malloc(n * sizeof *ps);
        buf = malloc(n * sizeof *buf);
        if (!ps || !buf) {
            free(ps == psmall ? NULL : ps);
            free(buf == bsmall ? NULL : buf);
            return -ENOMEM;
        }
    }
    for (size_t i = 0; i < n; i++)
        ps[i] = (pos_t){cells[i]->owner, cells[i]->slot, i};
    if (n == 2) {
        if (by_owner_slot_pos(&ps[0], &ps[1]) > 0) {
            pos_t t = ps[0];
            ps[0] = ps[1];
            ps[1] = t;
        }
    } else if (n > 2) {
        qsort(ps, n, sizeof *ps, by_owner_slot_pos);
    }
    cb_term_t me = cb_port_term(self->reply);
    /* Acquire each owner in address order with the slots it holds. */
    for (size_t g = 0; g < n;) {
        size_t e = g;
        while (e < n && ps[e].owner == ps[g].owner)
            e++;
        for (size_t i = g; i < e; i++)
            buf[i - g] = (int64_t)ps[i].slot;
        actor_send(ps[g].owner->port,
                   cb_tuple3(a_lock, me, int64s(buf, e - g)));
        cb_term_t m;
        RT_ASSERT(actor_recv(self->reply, &m, CB_FOREVER) == 0);
        const uint8_t *got = cb_binary_data(cb_tuple_elem(m, 1));
        for (size_t i = g; i < e; i++)
            memcpy(&vals[ps[i].k], got + (i - g) * sizeof(int64_t),
                   sizeof(int64_t));
        cb_term_release(m);
        g = e;
    }
    /* The values each slot had, for those only read: buf[i] per ps[i]. */
    for (size_t i = 0; i < n; i++)
        buf[i] = vals[ps[i].k];
    if (fn)
        fn(vals, n, arg);
    for (size_t g = 0; g < n;) {
        size_t e = g;
        bool wrote = false;
        while (e < n && ps[e].owner == ps[g].owner)
            e++;
        /* Per run of one slot (positions in increasing k): its last
         * written position's new value, or its old one. */
        for (size_t r = g; fn && r < e;) {
            size_t re = r;
            int64_t v = buf[r];
            while (re < e && ps[re].slot == ps[r].slot) {
                if (ps[re].k < nwrite) {
                    v = vals[ps[re].k];
                    wrote = true;
                }
                re++;
            }
            for (size_t i = r; i < re; i++)
                buf[i] = v;
            r = re;
        }
        actor_send(ps[g].owner->port,
                   wrote ? cb_tuple2(a_set, int64s(buf + g, e - g))
                         : cb_tuple2(a_unlock, cb_int(0)));
        g = e;
    }
    if (ps != psmall)
        free(ps);
    if (buf != bsmall)
        free(buf);
    return 0;
}

int actor_cells_update_reading(cb_cell_t **cells, size_t n, size_t nwrite,
                               cb_cells_fn fn, void *arg)
{
    if (!fn || nwrite == 0 || n == 0)
        return -EINVAL;
    int64_t small[SMALL_SET], *vals = small;
    if (n > SMALL_SET && !(vals = malloc(n * sizeof *vals)))
        return -ENOMEM;
    int rc = with_cells(cells, n, nwrite, fn, arg, vals);
    if (vals != small)
        free(vals);
    return rc;
}

int actor_cells_update(cb_cell_t **cells, size_t n, cb_cells_fn fn, void *arg)
{
    return actor_cells_update_reading(cells, n, n, fn, arg);
}

int actor_cells_read(cb_cell_t **cells, size_t n, int64_t *out)
{
    if (!out)
        return -EINVAL;
    return with_cells(cells, n, 0, NULL, NULL, out);
}
