/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Cells of the `locks` model: each is a value guarded by its own lock, as
 * a JVM object's fields are guarded by its monitor.  `-p lock=` picks the
 * lock: a pthread mutex (`synchronized` once inflated: a futex, the waiter
 * sleeps), a test-and-test-and-set spinlock with bounded exponential
 * backoff (what thin locks and adaptive spinning do before inflating), or
 * a pthread rwlock (ReentrantReadWriteLock: reads share).
 *
 * An update of several cells locks them all, applies the function to the
 * values, writes them back and unlocks; a read locks them all too, so no
 * reader sees half of an update.  With `-p ordering=global` (default) the
 * locks are taken in address order, the textbook deadlock-free
 * discipline; with `ordering=naive` they are taken in the order the
 * caller named the cells, which is how the classic transfer(from, to)
 * deadlocks against transfer(to, from): that mode exists to be caught by
 * a watchdog, never to be used for figures.
 *
 * `lock=none` takes no lock at all: an update loads the values, applies
 * the function and stores them back, and a read loads them, exactly what
 * a Java method that forgot `synchronized` does with plain fields.  Two
 * transfers that interleave then lose one's update, and an audit sees a
 * debit without its credit: bank's invariant breaks and the run fails
 * with the units lost.  It is the demonstration of the talk's claim
 * "locks prevent races" — the same program with the locks put back
 * conserves every unit.  The loads and stores are relaxed atomics, not
 * plain C accesses: a data race is undefined behaviour in C but not in
 * Java, where a racy read of a field returns some value written to it
 * (JLS 17.4.8; 64-bit fields may even tear, 17.7, which 64-bit JVMs do
 * not do in practice), and relaxed atomics give exactly those semantics
 * — the lost updates are the race of the read-modify-write, not a
 * compiler's licence, and the sanitizers stay quiet about a race that is
 * on purpose.
 *
 * A cell named twice in one call is locked once; the function sees it at
 * every position and the last position's value is the one written back.
 *
 * Counters (per thread, see locks_stats_t): acquisitions, contended ones
 * (the first try failed) and the time spent waiting in those.  The clock
 * is read only on the contended path, so uncontended locking stays a
 * pair of atomic instructions.
 */
#include "models/tsan_limits.h"
#include "models/locks/locks_int.h"

#include "runtime/clock.h"
#include "runtime/common.h"

#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct cb_cell {
    union {
        pthread_mutex_t mu;
        pthread_rwlock_t rw;
        atomic_int spin;
    } l;
    int64_t value; /* guarded by l; with lock=none, relaxed atomics only */
} RT_ALIGNED_CACHELINE;

int locks_cell_new(int64_t initial, cb_cell_t **out)
{
    cb_cell_t *c = aligned_alloc(RT_CACHELINE, sizeof *c);
    if (!c)
        return -ENOMEM;
    memset(c, 0, sizeof *c);
    switch (locks_config.cell_lock) {
    case LOCKS_MUTEX:
        pthread_mutex_init(&c->l.mu, NULL);
        break;
    case LOCKS_RWLOCK:
        pthread_rwlock_init(&c->l.rw, NULL);
        break;
    case LOCKS_SPIN:
        atomic_init(&c->l.spin, 0);
        break;
    case LOCKS_NONE:
        break;
    }
    c->value = initial;
    *out = c;
    return 0;
}

void locks_cell_free(cb_cell_t *c)
{
    if (!c)
        return;
    if (locks_config.cell_lock == LOCKS_MUTEX)
        pthread_mutex_destroy(&c->l.mu);
    else if (locks_config.cell_lock == LOCKS_RWLOCK)
        pthread_rwlock_destroy(&c->l.rw);
    free(c);
}

static bool spin_try(atomic_int *s)
{
    /* Acquire: pairs with the release store in spin_unlock, so the
     * previous holder's writes to the value are visible. */
    return atomic_load_explicit(s, memory_order_relaxed) == 0 &&
           !atomic_exchange_explicit(s, 1, memory_order_acquire);
}

static void spin_lock(atomic_int *s)
{
    /* Bounded exponential backoff, then yield: on 2 cores a holder that
     * was preempted is only helped by giving the CPU back. */
    unsigned backoff = 1;
    while (!spin_try(s)) {
        if (backoff > 1024) {
            sched_yield();
            continue;
        }
        for (unsigned i = 0; i < backoff; i++)
            rt_cpu_relax();
        backoff <<= 1;
    }
}

static bool try_lock(cb_cell_t *c, bool excl)
{
    switch (locks_config.cell_lock) {
    case LOCKS_MUTEX:
        return pthread_mutex_trylock(&c->l.mu) == 0;
    case LOCKS_RWLOCK:
        return (excl ? pthread_rwlock_trywrlock(&c->l.rw)
                     : pthread_rwlock_tryrdlock(&c->l.rw)) == 0;
    case LOCKS_SPIN:
        return spin_try(&c->l.spin);
    case LOCKS_NONE:
        return true;
    }
    return false;
}

static void lock(cb_cell_t *c, bool excl, locks_stats_t *st)
{
    locks_count(&st->acquisitions, 1);
    if (RT_LIKELY(try_lock(c, excl)))
        return;
    locks_count(&st->contended, 1);
    int64_t t0 = rt_now_ns();
    switch (locks_config.cell_lock) {
    case LOCKS_MUTEX:
        pthread_mutex_lock(&c->l.mu);
        break;
    case LOCKS_RWLOCK:
        if (excl)
            pthread_rwlock_wrlock(&c->l.rw);
        else
            pthread_rwlock_rdlock(&c->l.rw);
        break;
    case LOCKS_SPIN:
        spin_lock(&c->l.spin);
        break;
    case LOCKS_NONE:
        break;
    }
    locks_count(&st->wait_ns, rt_now_ns() - t0);
}

static void unlock(cb_cell_t *c)
{
    switch (locks_config.cell_lock) {
    case LOCKS_MUTEX:
        pthread_mutex_unlock(&c->l.mu);
        break;
    case LOCKS_RWLOCK:
        pthread_rwlock_unlock(&c->l.rw);
        break;
    case LOCKS_SPIN:
        /* Release: pairs with the acquire exchange in spin_try. */
        atomic_store_explicit(&c->l.spin, 0, memory_order_release);
        break;
    case LOCKS_NONE:
        break;
    }
}

/* By address, ignoring bit 0: lock_order marks taken entries with it
 * (cells are cache-line aligned, so the bit is free and the order of
 * distinct cells is unchanged by it). */
static int by_address(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t) * (cb_cell_t *const *)a & ~(uintptr_t)1;
    uintptr_t y = (uintptr_t) * (cb_cell_t *const *)b & ~(uintptr_t)1;
    return (x > y) - (x < y);
}

/*
 * The distinct cells of cells[0..n) into order[], in the order they are
 * to be locked: by address, or (naive) first mention first.  Returns the
 * distinct count.  scratch holds n entries.
 */
static size_t lock_order(cb_cell_t **cells, size_t n, cb_cell_t **order,
                         cb_cell_t **scratch)
{
    if (n == 2 && !locks_config.naive_order) {
        /* The transfer fast path: no sort call. */
        bool swap = (uintptr_t)cells[0] > (uintptr_t)cells[1];
        order[0] = cells[swap];
        order[1] = cells[!swap];
        return cells[0] == cells[1] ? 1 : 2;
    }
    cb_cell_t **sorted = locks_config.naive_order ? scratch : order;
    memcpy(sorted, cells, n * sizeof *sorted);
    /* Cells made one after another usually lie in address order (an
     * audit of every account): skip the sort when they already do. */
    size_t k = 1;
    while (k < n && (uintptr_t)sorted[k - 1] <= (uintptr_t)sorted[k])
        k++;
    if (k < n)
        qsort(sorted, n, sizeof *sorted, by_address);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (m == 0 || sorted[m - 1] != sorted[i])
            sorted[m++] = sorted[i];
    if (!locks_config.naive_order)
        return m;
    /* Request order, each cell at its first mention. */
    k = 0;
    for (size_t i = 0; i < n; i++) {
        cb_cell_t **hit =
            bsearch(&cells[i], sorted, m, sizeof *sorted, by_address);
        RT_ASSERT(hit != NULL);
        if (!((uintptr_t)*hit & 1)) {
            order[k++] = cells[i];
            *hit = (cb_cell_t *)((uintptr_t)*hit | 1);
        }
    }
    RT_ASSERT(k == m);
    return k;
}

#define SMALL_SET 8

/* lock=none: the unsynchronized read-modify-write (see the essay).
 * Relaxed: no order is wanted, only Java's untorn, racy field access. */
static void racy_apply(cb_cell_t **cells, size_t n, size_t nwrite,
                       cb_cells_fn fn, void *arg, int64_t *vals,
                       locks_stats_t *st)
{
    for (size_t i = 0; i < n; i++)
        vals[i] = __atomic_load_n(&cells[i]->value, __ATOMIC_RELAXED);
    if (!fn) {
        locks_count(&st->cell_reads, 1);
        return;
    }
    fn(vals, n, arg);
    for (size_t i = 0; i < nwrite; i++)
        __atomic_store_n(&cells[i]->value, vals[i], __ATOMIC_RELAXED);
    locks_count(&st->cell_updates, 1);
}

/* Lock cells[0..n), read them all, apply fn and write back the first
 * nwrite (the rest were only read; fn NULL: a read into out). */
static int with_cells(cb_cell_t **cells, size_t n, size_t nwrite,
                      cb_cells_fn fn, void *arg, int64_t *out)
{
    if (n == 0 || !cells || nwrite > n)
        return -EINVAL;
    cb_cell_t *small[2 * SMALL_SET], **order = small;
    int64_t vsmall[SMALL_SET], *vals = out ? out : vsmall;
    void *heap = NULL;
    if (n > SMALL_SET) {
        heap = malloc(n * (2 * sizeof(cb_cell_t *) + sizeof(int64_t)));
        if (!heap)
            return -ENOMEM;
        order = heap;
        if (!out)
            vals = (int64_t *)(order + 2 * n);
    }
    for (size_t i = 0; i < n; i++)
        if (!cells[i]) {
            free(heap);
            return -EINVAL;
        }
    locks_stats_t *st = locks_stats();
    if (locks_config.cell_lock == LOCKS_NONE) {
        racy_apply(cells, n, nwrite, fn, arg, vals, st);
        free(heap);
        return 0;
    }
    size_t m = lock_order(cells, n, order, order + n);
    bool excl = fn != NULL;
    for (size_t i = 0; i < m; i++)
        lock(order[i], excl, st);
    for (size_t i = 0; i < n; i++)
        vals[i] = cells[i]->value;
    if (fn) {
        fn(vals, n, arg);
        for (size_t i = 0; i < nwrite; i++)
            cells[i]->value = vals[i];
        locks_count(&st->cell_updates, 1);
    } else {
        locks_count(&st->cell_reads, 1);
    }
    for (size_t i = m; i-- > 0;)
        unlock(order[i]);
    free(heap);
    return 0;
}

/* Pthread locks, which TSan tracks, beyond what a TSan build holds (see
 * models/tsan_limits.h); spinlocks are atomics to TSan. */
static bool too_many_locks(size_t n)
{
    return locks_config.cell_lock != LOCKS_SPIN &&
           n > cb_tsan_held_locks_max();
}

int locks_cells_update(cb_cell_t **cells, size_t n, cb_cells_fn fn, void *arg)
{
    if (!fn)
        return -EINVAL;
    if (too_many_locks(n))
        return -ENOLCK;
    return with_cells(cells, n, n, fn, arg, NULL);
}

int locks_cells_update_reading(cb_cell_t **cells, size_t n, size_t nwrite,
                               cb_cells_fn fn, void *arg)
{
    if (!fn || nwrite == 0)
        return -EINVAL;
    if (too_many_locks(n))
        return -ENOLCK;
    return with_cells(cells, n, nwrite, fn, arg, NULL);
}

int locks_cells_read(cb_cell_t **cells, size_t n, int64_t *out)
{
    if (!out)
        return -EINVAL;
    if (too_many_locks(n))
        return -ENOLCK;
    return with_cells(cells, n, 0, NULL, NULL, out);
}
