/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Cells for the `csp` model: the state is owned by a go block and an
 * update is a conversation with it, the CSP way to share state ("share
 * memory by communicating").
 *
 * Each cell has an owner go block that holds the value and two channels:
 * `req`, where a client sends the channel it wants the value on, and
 * `rel`, where that client sends the new value back.  Between the two the
 * owner serves nobody else, so the client holds the cell.  An update of
 * several cells acquires their owners in address order (the deadlock-free
 * discipline of the `locks` model, here spoken in messages), runs the
 * function, and releases each with its new value; a read does the same
 * and hands back the values unchanged, so no reader sees half an update.
 *
 * Values travel as raw 64-bit words on channels private to this file,
 * which are never closed while in use, so nothing ever releases them as
 * terms.
 *
 * Rejected: a mutex inside the cell (that is the `locks` model), and an
 * atom-style compare-and-swap (Clojure's atoms are not what core.async
 * offers for coordination, and a multi-cell update would need STM).
 */
#include "models/csp/csp_int.h"

#include "runtime/common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct cb_cell {
    cb_port_t *req; /* unbuffered: a client's reply channel */
    cb_port_t *rel; /* unbuffered: the client's new value */
    cb_task_t *owner;
    int64_t value; /* the owner go block's only */
};

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
    c->value = initial;
    cb_port_opts_t o = {.policy = CB_PORT_RENDEZVOUS};
    int rc;
    if ((rc = csp_port_open(&o, &c->req)) < 0)
        goto fail;
    if ((rc = csp_port_open(&o, &c->rel)) < 0)
        goto fail;
    cb_spawn_opts_t so = {0};
    if ((rc = csp_spawn(owner_main, c, &so, &c->owner)) < 0)
        goto fail;
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
    csp_port_close(c->req);
    csp_join(c->owner);
    csp_port_free(c->req);
    csp_port_free(c->rel);
    free(c);
}

static int by_address(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t) * (cb_cell_t *const *)a;
    uintptr_t y = (uintptr_t) * (cb_cell_t *const *)b;
    return (x > y) - (x < y);
}

#define SMALL_SET 8

static int converse(cb_cell_t **cells, size_t n, size_t nwrite,
                    cb_cells_fn fn, void *arg, int64_t *out)
{
    if (!cells || n == 0 || n > (size_t)1 << 20 || nwrite > n)
        return -EINVAL;
    cb_cell_t *small[SMALL_SET], **sorted = small;
    int64_t vsmall[SMALL_SET], *vals = vsmall;
    if (n > SMALL_SET) {
        sorted = malloc(n * sizeof *sorted);
        vals = malloc(n * sizeof *vals);
        if (!sorted || !vals) {
            free(sorted == small ? NULL : sorted);
            free(vals == vsmall ? NULL : vals);
            return -ENOMEM;
        }
    }
    memcpy(sorted, cells, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, by_address);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (m == 0 || sorted[m - 1] != sorted[i])
            sorted[m++] = sorted[i];
    cb_port_t *reply;
    cb_port_opts_t o = {.policy = CB_PORT_FIXED, .capacity = 1};
    int rc = csp_port_open(&o, &reply);
    if (rc < 0)
        goto out;
    /* Acquire every owner, in address order; learn the values. */
    for (size_t i = 0; i < m; i++) {
        RT_ASSERT(csp_send(sorted[i]->req, cb_port_term(reply)) == 0);
        cb_term_t v;
        RT_ASSERT(csp_recv(reply, &v, CB_FOREVER) == 0);
        for (size_t k = 0; k < n; k++)
            if (cells[k] == sorted[i])
                vals[k] = (int64_t)v;
    }
    int64_t *old = NULL;
    if (fn && nwrite < n) { /* the values to hand back to cells only read */
        if (!(old = malloc(n * sizeof *old))) {
            rc = -ENOMEM;
            nwrite = 0, fn = NULL;
        } else {
            memcpy(old, vals, n * sizeof *old);
        }
    }
    if (fn)
        fn(vals, n, arg);
    else if (out)
        memcpy(out, vals, n * sizeof *vals);
    /* Release each with its value; a cell named twice keeps the last
     * written position (a cell only read gets its value back). */
    for (size_t i = 0; i < m; i++) {
        int64_t v = 0;
        bool written = false;
        for (size_t k = 0; k < n; k++)
            if (cells[k] == sorted[i] && (k < nwrite || !written)) {
                v = k < nwrite ? vals[k] : old ? old[k] : vals[k];
                written |= k < nwrite;
            }
        RT_ASSERT(csp_send(sorted[i]->rel, (cb_term_t)v) == 0);
    }
    free(old);
    csp_port_free(reply);
    if (fn)
        CSP_COUNT(cell_updates, 1);
    else
        CSP_COUNT(cell_reads, 1);
out:
    if (sorted != small)
        free(sorted);
    if (vals != vsmall)
        free(vals);
    return rc;
}

int csp_cells_update(cb_cell_t **cells, size_t n, cb_cells_fn fn, void *arg)
{
    if (!fn)
        return -EINVAL;
    return converse(cells, n, n, fn, arg, NULL);
}

int csp_cells_update_reading(cb_cell_t **cells, size_t n, size_t nwrite,
                             cb_cells_fn fn, void *arg)
{
    if (!fn || nwrite == 0)
        return -EINVAL;
    return converse(cells, n, nwrite, fn, arg, NULL);
}

int csp_cells_read(cb_cell_t **cells, size_t n, int64_t *out)
{
    if (!out)
        return -EINVAL;
    return converse(cells, n, 0, NULL, NULL, out);
}
