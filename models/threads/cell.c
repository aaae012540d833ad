/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Shared cells for the `threads` model: one mutex per cell.  An update of
 * several cells locks them all in address order (the classic deadlock-free
 * discipline), applies the function, and unlocks; a read of several cells
 * does the same, so a reader never sees half of an update.
 *
 * A cell named twice in one call is locked once; the function sees it at
 * every position and the last position's value is the one written back.
 */
#include "models/tsan_limits.h"
#include "models/threads/threads_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct cb_cell {
    pthread_mutex_t mu;
    int64_t value; /* guarded by mu */
};

int threads_cell_new(int64_t initial, cb_cell_t **out)
{
    cb_cell_t *c = malloc(sizeof *c);
    if (!c)
        return -ENOMEM;
    pthread_mutex_init(&c->mu, NULL);
    c->value = initial;
    *out = c;
    return 0;
}

void threads_cell_free(cb_cell_t *c)
{
    if (!c)
        return;
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static int by_address(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)*(cb_cell_t *const *)a;
    uintptr_t y = (uintptr_t)*(cb_cell_t *const *)b;
    return (x > y) - (x < y);
}

#define SMALL_SET 8

/* Sort and de-duplicate; returns the distinct count. */
static size_t lock_order(cb_cell_t **cells, size_t n, cb_cell_t **sorted)
{
    memcpy(sorted, cells, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, by_address);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (m == 0 || sorted[m - 1] != sorted[i])
            sorted[m++] = sorted[i];
    return m;
}

static void lock_all(cb_cell_t **sorted, size_t m, threads_stats_t *st)
{
    for (size_t i = 0; i < m; i++) {
        if (pthread_mutex_trylock(&sorted[i]->mu) != 0) {
            st->cell_lock_waits++;
            pthread_mutex_lock(&sorted[i]->mu);
        }
    }
}

static void unlock_all(cb_cell_t **sorted, size_t m)
{
    for (size_t i = m; i-- > 0;)
        pthread_mutex_unlock(&sorted[i]->mu);
}

/* Lock cells[0..n), apply fn, write back the first nwrite: the cells
 * only read are locked too, so such an update is serializable. */
static int with_cells(cb_cell_t **cells, size_t n, size_t nwrite,
                      cb_cells_fn fn, void *arg, int64_t *out)
{
    if (n == 0 || nwrite > n)
        return -EINVAL;
    cb_cell_t *small[SMALL_SET], **sorted = small;
    int64_t vsmall[SMALL_SET], *vals = out ? out : vsmall;
    if (n > SMALL_SET) {
        sorted = malloc(n * sizeof *sorted);
        if (!out)
            vals = malloc(n * sizeof *vals);
        if (!sorted || !vals) {
            if (sorted != small)
                free(sorted);
            if (vals != vsmall && vals != out)
                free(vals);
            return -ENOMEM;
        }
    }
    threads_stats_t *st = threads_stats();
    size_t m = lock_order(cells, n, sorted);
    lock_all(sorted, m, st);
    for (size_t i = 0; i < n; i++)
        vals[i] = cells[i]->value;
    if (fn) {
        fn(vals, n, arg);
        for (size_t i = 0; i < nwrite; i++)
            cells[i]->value = vals[i];
        st->cell_updates++;
    } else {
        st->cell_reads++;
    }
    unlock_all(sorted, m);
    if (sorted != small)
        free(sorted);
    if (vals != vsmall && vals != out)
        free(vals);
    return 0;
}

int threads_cells_update(cb_cell_t **cells, size_t n, cb_cells_fn fn,
                         void *arg)
{
    if (!fn)
        return -EINVAL;
    if (n > cb_tsan_held_locks_max())
        return -ENOLCK; /* see models/tsan_limits.h */
    return with_cells(cells, n, n, fn, arg, NULL);
}

int threads_cells_update_reading(cb_cell_t **cells, size_t n, size_t nwrite,
                                 cb_cells_fn fn, void *arg)
{
    if (!fn || nwrite == 0)
        return -EINVAL;
    if (n > cb_tsan_held_locks_max())
        return -ENOLCK;
    return with_cells(cells, n, nwrite, fn, arg, NULL);
}

int threads_cells_read(cb_cell_t **cells, size_t n, int64_t *out)
{
    if (n > cb_tsan_held_locks_max())
        return -ENOLCK;
    return with_cells(cells, n, 0, NULL, NULL, out);
}
