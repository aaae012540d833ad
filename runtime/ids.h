/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Task ids unique within a run, handed out by many worker threads.
 *
 * One atomic counter holds the next id nobody has taken.  A worker takes
 * RT_ID_BLOCK of them at a time into a range only it touches, so spawns on
 * different workers do not all write one cache line: a fetch-add on a
 * shared counter at every spawn was a few percent of skynet on two cores,
 * and the line it sat on slowed every read of its neighbours.  Ids are
 * unique, not dense, and not in spawn order across workers (nor are the
 * BEAM's pids or Go's goroutine ids in any order a program may rely on).
 */
#ifndef RT_IDS_H
#define RT_IDS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define RT_ID_BLOCK 1024

/* A worker's ids still to hand out: [next, end).  Zeroed: empty. */
typedef struct rt_id_range {
    uint64_t next, end;
} rt_id_range_t;

/* The next id from r, refilled from *counter when empty; r NULL (a thread
 * that is no worker) takes one id from *counter directly.  Relaxed: ids
 * need only uniqueness. */
static inline uint64_t rt_id_next(_Atomic uint64_t *counter, rt_id_range_t *r)
{
    if (!r)
        return atomic_fetch_add_explicit(counter, 1, memory_order_relaxed);
    if (r->next == r->end) {
        r->next = atomic_fetch_add_explicit(counter, RT_ID_BLOCK,
                                            memory_order_relaxed);
        r->end = r->next + RT_ID_BLOCK;
    }
    return r->next++;
}

#endif
