/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Cells for the `csp` model: shared state as a core.async or Go program
 * keeps it beside its channels.  Channels carry the flow; state lives in
 * an atom or behind a mutex ("Clojure's mechanisms for concurrent use of
 * state remain viable, and channels are oriented towards the flow
 * aspects", the core.async rationale).  `-p cell=` picks which:
 *
 *   atom (default): Clojure's atom.  Every cell lives in one atom, as a
 *     program keeps its accounts in one map in one atom: an update is
 *     swap! over it — read the current value, apply the function,
 *     compare-and-set! it in, and on a lost race do it all again.
 *     clojure.org/reference/atoms: "swap! reads the current value,
 *     applies the function to it, and attempts to compare-and-set! it in.
 *     Since another thread may have changed the value in the intervening
 *     time, it may have to retry, and does so in a spin loop"; and
 *     clojure.core/swap!: "f may be called multiple times, and thus should
 *     be free of side effects".  Atoms hold "independent" state: two
 *     atoms cannot be changed together, so a transfer between accounts is
 *     one swap! over the atom that holds both, and every update, however
 *     unrelated, races for the same compare-and-set (the swap_retries
 *     counter) — the price of one atom.  A read is a deref: one
 *     consistent value, never torn.
 *   mutex: Go's sync.Mutex, one per cell, the idiom of "share memory by
 *     communicating" programs that still guard a map: an update locks its
 *     cells in address order (the deadlock-free discipline), applies the
 *     function, unlocks.  Go's Mutex spins briefly and then parks the
 *     goroutine, not its thread, and "is not associated with a particular
 *     goroutine" (golang/go src/sync/mutex.go): so here it is a lock word
 *     of our own, not a pthread mutex (which belongs to a thread and
 *     would block the worker under every go block queued on it); a
 *     waiter spins a little, then yields its worker to other go blocks
 *     until the word is free (Go's park, at the grain of a yield; the
 *     lock_waits counter).  A go block that parks while holding it keeps
 *     it, as in Go.
 *   goblock: the state is owned by a go block and an update is a
 *     conversation with it ("don't communicate by sharing memory; share
 *     memory by communicating"): each cell has an owner go block and two
 *     unbuffered channels, `req`, where a client sends the channel it
 *     wants the value on, and `rel`, where it sends the new value back;
 *     between the two the owner serves nobody else.  A multi-cell update
 *     acquires the owners in address order.  Values travel as raw 64-bit
 *     words on channels private to this file, never closed while in use,
 *     so nothing releases them as terms.
 *
 * The one atom is emulated, not built: Clojure's atom holds a persistent
 * map and swap! compare-and-sets a pointer to a new one, which needs a
 * persistent vector and safe memory reclamation (an epoch scheme) here.
 * Instead the atom is a version word over the cells' values: swap! reads
 * the values at an even version (a sequence lock), applies the function,
 * compare-and-sets the version to odd, stores the values and releases it
 * at the next even version.  A swap! that lost the compare-and-set
 * retries from the read, exactly as Clojure's; what differs is the short
 * store window after a won compare-and-set, during which others wait
 * (in Clojure nobody ever waits: the new map is built before the CAS).
 * Its cost is a few stores, against path-copying a map in Clojure.
 *
 * Invariants:
 *   - cell=atom: a cell's value is stored only by the swap! that moved the
 *     version to odd, and only while it is odd; values read at one even
 *     version form one snapshot of every cell;
 *   - cell=mutex: a cell's value is read and written only while its lock
 *     word is held; lock words are taken in address order;
 *   - cell=goblock: a cell's value is read and written only by its owner;
 *     the owner serves one client between its req and its rel.
 *
 * Rejected: refs (that is the `stm` model), and a go block per cell as
 * the default (the talk's point is that channels are for flow: a program
 * that put every account behind a go block would pay a channel round
 * trip per account and per operation; it stays as cell=goblock to be
 * measured against the atom).
 */
#include "models/csp/csp_int.h"

#include "runtime/common.h"
#include "runtime/executor.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

struct cb_cell {
    /* cell=atom: relaxed atomics under the world version (see above);
     * cell=mutex: guarded by mu; cell=goblock: the owner's only. */
    int64_t value;
    _Atomic int mu;     /* cell=mutex: 1 while held */
    cb_port_t *req;     /* cell=goblock, unbuffered: a client's reply chan */
    cb_port_t *rel;     /* cell=goblock, unbuffered: its new value */
    cb_task_t *owner;   /* cell=goblock */
};

/* cell=atom: the one atom's version; even when no swap! is storing.  Its
 * own cache line: every swap! compare-and-sets it. */
static struct {
    _Atomic uint64_t ver;
} world RT_ALIGNED_CACHELINE;

/* ---- goblock: the owner ---- */

static void owner_main(void *arg)
{
    cb_cell_t *c = arg;
    cb_term_t m;
    while (csp_recv(c->req, &m, CB_FOREVER) == 0) {
        cb_port_t *reply = cb_term_port(m);
        RT_ASSERT(csp_send(reply, (cb_term_t)c->value) == 0);
        cb_term_t v;
        RT_ASSERT(csp_recv(c->rel, &v, CB_FOREVER) == 0);
        c->value = (int64_t)v;
    }
}

int csp_cell_new(int64_t initial, cb_cell_t **out)
{
    cb_cell_t *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    int rc;
    switch (csp_cfg.cell) {
    case CSP_CELL_ATOM:
        /* Published by the caller's handing the pointer on (a send or a
         * spawn), which orders this store before any swap! on it. */
        __atomic_store_n(&c->value, initial, __ATOMIC_RELAXED);
        break;
    case CSP_CELL_MUTEX:
        atomic_init(&c->mu, 0);
        c->value = initial;
        break;
    case CSP_CELL_GOBLOCK: {
        c->value = initial;
        cb_port_opts_t o = {.policy = CB_PORT_RENDEZVOUS};
        if ((rc = csp_port_open(&o, &c->req)) < 0)
            goto fail;
        if ((rc = csp_port_open(&o, &c->rel)) < 0)
            goto fail;
        cb_spawn_opts_t so = {0};
        if ((rc = csp_spawn(owner_main, c, &so, &c->owner)) < 0)
            goto fail;
        break;
    }
    }
    *out = c;
    return 0;
fail:
    csp_port_free(c->rel);
    csp_port_free(c->req);
    free(c);
    return rc;
}

void csp_cell_free(cb_cell_t *c)
{
    if (!c)
        return;
    if (csp_cfg.cell == CSP_CELL_GOBLOCK) {
        csp_port_close(c->req);
        csp_join(c->owner);
        csp_port_free(c->req);
        csp_port_free(c->rel);
    }
    free(c);
}

/* ---- atom: swap! and deref over the one atom ---- */

/* Wait out a swap! that is storing: spin a little, then give the CPU
 * back, since on a busy machine the storer may be descheduled. */
static uint64_t stable_version(void)
{
    for (int spins = 0;; spins++) {
        /* Acquire: pairs with the release that ended the last store
         * window, so the values read next are at least that new. */
        uint64_t v = atomic_load_explicit(&world.ver, memory_order_acquire);
        if (!(v & 1))
            return v;
        if (spins < 64)
            rt_cpu_relax();
        else
            sched_yield();
    }
}

/* Values of cells[0..n) at one even version; returns that version. */
static uint64_t deref(cb_cell_t **cells, size_t n, int64_t *vals)
{
    for (int tries = 0;; tries++) {
        uint64_t v = stable_version();
        if (tries >= 8) {
            /* A long read (an audit of every account) that swap!s keep
             * overtaking: hold the version odd while reading, then put
             * it back, so it finishes.  Clojure's deref is one pointer
             * load and never starves; this keeps ours from starving. */
            uint64_t expect = v;
            if (!atomic_compare_exchange_strong_explicit(
                    &world.ver, &expect, v + 1, memory_order_acquire,
                    memory_order_relaxed))
                continue;
            for (size_t i = 0; i < n; i++)
                vals[i] = __atomic_load_n(&cells[i]->value, __ATOMIC_RELAXED);
            /* Back to v: nothing changed, so a swap! that read at v may
             * still compare-and-set from it. */
            atomic_store_explicit(&world.ver, v, memory_order_release);
            return v;
        }
        for (size_t i = 0; i < n; i++)
            vals[i] = __atomic_load_n(&cells[i]->value, __ATOMIC_RELAXED);
        /* Sequence-lock reader: the value loads above stay before the
         * re-check (pairs with the storer's acquire CAS and release). */
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&world.ver, memory_order_relaxed) == v)
            return v;
    }
}

static int swap(cb_cell_t **cells, size_t n, size_t nwrite, cb_cells_fn fn,
                void *arg, int64_t *vals)
{
    for (;;) {
        uint64_t v = deref(cells, n, vals);
        fn(vals, n, arg);
        /* compare-and-set!: acquire on success keeps the value stores
         * below after it, so no reader at v can see them; the release
         * store of v + 2 publishes them. */
        uint64_t expect = v;
        if (atomic_compare_exchange_strong_explicit(&world.ver, &expect, v + 1,
                                                    memory_order_acquire,
                                                    memory_order_relaxed)) {
            for (size_t i = 0; i < nwrite; i++)
                __atomic_store_n(&cells[i]->value, vals[i], __ATOMIC_RELAXED);
            atomic_store_explicit(&world.ver, v + 2, memory_order_release);
            return 0;
        }
        CSP_COUNT(cell_swap_retries, 1);
    }
}

/* ---- mutex: ordered locking ---- */

static int by_address(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t) * (cb_cell_t *const *)a;
    uintptr_t y = (uintptr_t) * (cb_cell_t *const *)b;
    return (x > y) - (x < y);
}

/* The distinct cells of cells[0..n) into sorted[], by address; returns
 * how many. */
static size_t distinct_sorted(cb_cell_t **cells, size_t n, cb_cell_t **sorted)
{
    memcpy(sorted, cells, n * sizeof *sorted);
    if (n == 2) {
        if ((uintptr_t)sorted[0] > (uintptr_t)sorted[1]) {
            cb_cell_t *t = sorted[0];
            sorted[0] = sorted[1];
            sorted[1] = t;
        }
    } else {
        qsort(sorted, n, sizeof *sorted, by_address);
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (m == 0 || sorted[m - 1] != sorted[i])
            sorted[m++] = sorted[i];
    return m;
}

static bool mutex_try(_Atomic int *mu)
{
    /* Acquire: pairs with the release in mutex_unlock, so the previous
     * holder's stores to the value are visible. */
    return atomic_load_explicit(mu, memory_order_relaxed) == 0 &&
           !atomic_exchange_explicit(mu, 1, memory_order_acquire);
}

static void mutex_lock(_Atomic int *mu)
{
    if (mutex_try(mu))
        return;
    CSP_COUNT(cell_lock_waits, 1);
    for (int spins = 0; !mutex_try(mu); spins++) {
        if (spins < 32)
            rt_cpu_relax();
        else
            csp_yield(); /* the holder may be a go block queued here */
    }
}

static void mutex_unlock(_Atomic int *mu)
{
    /* Release: publishes the value stores to the next holder. */
    atomic_store_explicit(mu, 0, memory_order_release);
}

static void locked(cb_cell_t **cells, size_t n, size_t nwrite, cb_cells_fn fn,
                   void *arg, int64_t *vals, cb_cell_t **sorted)
{
    size_t m = distinct_sorted(cells, n, sorted);
    for (size_t i = 0; i < m; i++)
        mutex_lock(&sorted[i]->mu);
    for (size_t i = 0; i < n; i++)
        vals[i] = cells[i]->value;
    if (fn) {
        fn(vals, n, arg);
        for (size_t i = 0; i < nwrite; i++)
            cells[i]->value = vals[i];
    }
    for (size_t i = m; i-- > 0;)
        mutex_unlock(&sorted[i]->mu);
}

/* ---- goblock: a conversation with each owner ---- */

static int converse(cb_cell_t **cells, size_t n, size_t nwrite, cb_cells_fn fn,
                    void *arg, int64_t *vals, cb_cell_t **sorted,
                    int64_t *got)
{
    size_t m = distinct_sorted(cells, n, sorted);
    cb_port_t *reply;
    cb_port_opts_t o = {.policy = CB_PORT_FIXED, .capacity = 1};
    int rc = csp_port_open(&o, &reply);
    if (rc < 0)
        return rc;
    /* Acquire every owner, in address order; learn the values. */
    for (size_t i = 0; i < m; i++) {
        RT_ASSERT(csp_send(sorted[i]->req, cb_port_term(reply)) == 0);
        cb_term_t v;
        RT_ASSERT(csp_recv(reply, &v, CB_FOREVER) == 0);
        got[i] = (int64_t)v;
        for (size_t k = 0; k < n; k++)
            if (cells[k] == sorted[i])
                vals[k] = got[i];
    }
    if (fn)
        fn(vals, n, arg);
    /* Release each with its new value: the last written position's, or
     * the value it had when only read. */
    for (size_t i = 0; i < m; i++) {
        int64_t v = got[i];
        for (size_t k = 0; fn && k < nwrite; k++)
            if (cells[k] == sorted[i])
                v = vals[k];
        RT_ASSERT(csp_send(sorted[i]->rel, (cb_term_t)v) == 0);
    }
    csp_port_free(reply);
    return 0;
}

#define SMALL_SET 8

/* fn NULL: a read into vals. */
static int with_cells(cb_cell_t **cells, size_t n, size_t nwrite,
                      cb_cells_fn fn, void *arg, int64_t *vals)
{
    if (!cells || n == 0 || n > (size_t)1 << 24 || nwrite > n)
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!cells[i])
            return -EINVAL;
    cb_cell_t *small[SMALL_SET], **sorted = small;
    int64_t gsmall[SMALL_SET], *got = gsmall;
    void *heap = NULL;
    if (n > SMALL_SET && csp_cfg.cell != CSP_CELL_ATOM) {
        heap = malloc(n * (sizeof *sorted + sizeof *got));
        if (!heap)
            return -ENOMEM;
        sorted = heap;
        got = (int64_t *)(sorted + n);
    }
    int rc = 0;
    switch (csp_cfg.cell) {
    case CSP_CELL_ATOM:
        if (fn)
            rc = swap(cells, n, nwrite, fn, arg, vals);
        else
            deref(cells, n, vals);
        break;
    case CSP_CELL_MUTEX:
        locked(cells, n, nwrite, fn, arg, vals, sorted);
        break;
    case CSP_CELL_GOBLOCK:
        rc = converse(cells, n, nwrite, fn, arg, vals, sorted, got);
        break;
    }
    free(heap);
    if (rc == 0) {
        if (fn)
            CSP_COUNT(cell_updates, 1);
        else
            CSP_COUNT(cell_reads, 1);
    }
    return rc;
}

int csp_cells_update_reading(cb_cell_t **cells, size_t n, size_t nwrite,
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

int csp_cells_update(cb_cell_t **cells, size_t n, cb_cells_fn fn, void *arg)
{
    return csp_cells_update_reading(cells, n, n, fn, arg);
}

int csp_cells_read(cb_cell_t **cells, size_t n, int64_t *out)
{
    if (!out)
        return -EINVAL;
    return with_cells(cells, n, 0, NULL, NULL, out);
}
