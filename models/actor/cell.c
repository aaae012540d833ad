/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Cells of the `actor` model: a cell is a process that owns a value, as
 * an Erlang program keeps shared state in a gen_server (or an Agent in
 * Elixir).  Nobody else touches the value; every read and update is a
 * message to the owner.
 *
 * An atomic update of several cells is a lock protocol over messages:
 * the caller sends {lock, ReplyPort} to each owner in address order and
 * waits for {granted, Value}; an owner that granted its value then waits,
 * with a selective receive, only for {set, V} or {unlock} (later lock
 * requests stay queued behind the save pointer); the caller applies the
 * function and sends {set, V} to each.  Taking the owners in one global
 * order makes the protocol deadlock-free, and an owner serves one holder
 * at a time, so updates and snapshots are atomic.
 *
 * Invariants:
 *   - a cell's value is read and written only by its owner process;
 *   - an owner that granted its value to a caller applies no other
 *     request until that caller's {set, V} or {unlock} arrives;
 *   - callers lock the cells of one call in increasing address order.
 *
 * Rejected: a mutex inside the cell (that is the `locks` model, and it
 * would hide the message round trips the BEAM pays for shared state).
 */
#include "models/actor/actor_int.h"

#include <errno.h>
#include <stdlib.h>

#define CELLS_MAX 64

struct cb_cell {
    cb_port_t *port;
    cb_task_t *owner;
    int64_t value; /* the owner's only */
};

static cb_term_t a_lock, a_granted, a_set, a_unlock, a_stop;

/* Called by start, before any scheduler runs: the atoms are then
 * read-only. */
void actor_cell_init(void)
{
    a_lock = cb_atom("lock");
    a_granted = cb_atom("granted");
    a_set = cb_atom("set");
    a_unlock = cb_atom("unlock");
    a_stop = cb_atom("stop");
}

static bool set_or_unlock(cb_term_t m, void *ctx)
{
    (void)ctx;
    if (!cb_is_tuple(m) || cb_tuple_arity(m) < 1)
        return false;
    cb_term_t tag = cb_tuple_elem(m, 0);
    return tag == a_set || tag == a_unlock;
}

static void owner_main(void *arg)
{
    cb_cell_t *c = arg;
    for (;;) {
        cb_term_t m;
        if (actor_recv(c->port, &m, CB_FOREVER) < 0)
            break;
        cb_term_t tag = cb_is_tuple(m) ? cb_tuple_elem(m, 0) : m;
        if (tag == a_stop) {
            cb_term_release(m);
            break;
        }
        RT_ASSERT(tag == a_lock);
        cb_port_t *reply = cb_term_port(cb_tuple_elem(m, 1));
        cb_term_release(m);
        actor_send(reply, cb_tuple2(a_granted, cb_int(c->value)));
        RT_ASSERT(actor_recv_match(c->port, set_or_unlock, NULL, &m,
                                   CB_FOREVER) == 0);
        if (cb_tuple_elem(m, 0) == a_set)
            c->value = cb_int_value(cb_tuple_elem(m, 1));
        cb_term_release(m);
    }
}

int actor_cell_new(int64_t initial, cb_cell_t **out)
{
    if (initial < CB_INT_MIN || initial > CB_INT_MAX)
        return -EINVAL;
    cb_cell_t *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    c->value = initial;
    int rc = actor_port_open(NULL, &c->port);
    if (rc == 0)
        rc = actor_spawn(owner_main, c, NULL, &c->owner);
    if (rc < 0) {
        if (c->port)
            actor_port_free(c->port);
        free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void actor_cell_free(cb_cell_t *c)
{
    if (!c)
        return;
    actor_send(c->port, a_stop);
    actor_join(c->owner);
    actor_port_free(c->port);
    free(c);
}

/* Lock cells (sorted copy in `order`) and fill values in caller order. */
static int lock_all(cb_cell_t **cells, size_t n, size_t *order, int64_t *values)
{
    cb_task_t *self = actor_self();
    if (!self || n == 0 || n > CELLS_MAX)
        return -EINVAL;
    if (!self->reply) {
        int rc = actor_port_open(NULL, &self->reply);
        if (rc < 0)
            return rc;
    }
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    for (size_t i = 1; i < n; i++) /* insertion sort: n is small */
        for (size_t j = i; j > 0 && (uintptr_t)cells[order[j - 1]] >
                                        (uintptr_t)cells[order[j]];
             j--) {
            size_t t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    for (size_t i = 1; i < n; i++)
        if (cells[order[i]] == cells[order[i - 1]])
            return -EINVAL;
    cb_term_t me = cb_port_term(self->reply);
    for (size_t k = 0; k < n; k++) {
        size_t i = order[k];
        actor_send(cells[i]->port, cb_tuple2(a_lock, me));
        cb_term_t m;
        RT_ASSERT(actor_recv(self->reply, &m, CB_FOREVER) == 0);
        values[i] = cb_int_value(cb_tuple_elem(m, 1));
        cb_term_release(m);
    }
    return 0;
}

int actor_cells_update_reading(cb_cell_t **cells, size_t n, size_t nwrite,
                               cb_cells_fn fn, void *arg)
{
    size_t order[CELLS_MAX];
    int64_t values[CELLS_MAX];
    if (!fn || nwrite == 0 || nwrite > n)
        return -EINVAL;
    int rc = lock_all(cells, n, order, values);
    if (rc < 0)
        return rc;
    fn(values, n, arg);
    for (size_t i = 0; i < n; i++) {
        if (i >= nwrite) { /* only read: its owner is released as is */
            actor_send(cells[i]->port, cb_tuple2(a_unlock, cb_int(0)));
            continue;
        }
        RT_ASSERT(values[i] >= CB_INT_MIN && values[i] <= CB_INT_MAX);
        actor_send(cells[i]->port, cb_tuple2(a_set, cb_int(values[i])));
    }
    return 0;
}

int actor_cells_update(cb_cell_t **cells, size_t n, cb_cells_fn fn, void *arg)
{
    return actor_cells_update_reading(cells, n, n, fn, arg);
}

int actor_cells_read(cb_cell_t **cells, size_t n, int64_t *out)
{
    size_t order[CELLS_MAX];
    int64_t values[CELLS_MAX];
    int rc = lock_all(cells, n, order, values);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        out[i] = values[i];
        actor_send(cells[i]->port, cb_tuple2(a_unlock, cb_int(0)));
    }
    return 0;
}
