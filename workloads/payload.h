/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Message payloads of a kind and a size, for the workloads that send them.
 *
 * The talk's first claim is that a message is copied and that the copy
 * costs more as the message grows.  A binary cannot show it: above 64
 * bytes the BEAM shares binaries by reference count (models/term.h), so a
 * binary payload is copied at most 64 bytes deep.  What the BEAM copies
 * in full is a term: all data in a message is copied except refc binaries
 * and literals (Erlang efficiency guide, "Processes: Sending Messages"),
 * by walking the term twice, once to size it and once to copy it
 * (erts/emulator/beam/copy.c, size_object and copy_struct).  So:
 *
 *   binary  N bytes (0: a small integer); shared above 64 bytes
 *   tuple   a flat tuple of N small integers, {0, 1, ..., N-1}: one box
 *           of N words, what list_to_tuple(lists:seq(0, N-1)) builds
 *   list    N cons cells [0, 1, ..., N-1], each a 2-tuple {Head, Tail}
 *           as a BEAM list is a chain of cons cells: N boxes to walk
 *
 * A model that passes pointers (csp, locks, stm, threads, and actor with
 * copy=off) hands the very same box over whatever its size; actor copies
 * every word.  Header-only because the workloads folder registers every .c
 * file as a workload.
 */
#ifndef CB_WL_PAYLOAD_H
#define CB_WL_PAYLOAD_H

#include "models/model.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CB_WL_PAYLOAD_KINDS "binary|tuple|list"

typedef enum cb_wl_payload_kind {
    CB_WL_PAYLOAD_BINARY,
    CB_WL_PAYLOAD_TUPLE,
    CB_WL_PAYLOAD_LIST,
} cb_wl_payload_kind_t;

static inline cb_wl_payload_kind_t cb_wl_payload_kind(const char *name)
{
    if (strcmp(name, "tuple") == 0)
        return CB_WL_PAYLOAD_TUPLE;
    if (strcmp(name, "list") == 0)
        return CB_WL_PAYLOAD_LIST;
    return CB_WL_PAYLOAD_BINARY;
}

/* Refuse sizes a kind cannot have: 0 or -EINVAL with err. */
static inline int cb_wl_payload_check(cb_wl_payload_kind_t kind, int64_t n,
                                      char *err, size_t errlen)
{
    if (kind == CB_WL_PAYLOAD_TUPLE && n > CB_TUPLE_MAX_ARITY) {
        snprintf(err, errlen,
                 "payload=%lld: a tuple has at most %d elements (the "
                 "BEAM's limit); use payload_kind=list for more",
                 (long long)n, CB_TUPLE_MAX_ARITY);
        return -EINVAL;
    }
    if (kind == CB_WL_PAYLOAD_LIST && n < 1) {
        snprintf(err, errlen,
                 "payload=0 with payload_kind=list is the empty list, "
                 "which is no message; give 1 or more cells");
        return -EINVAL;
    }
    return 0;
}

/* Bytes one copy of the payload takes (for the size estimate): a box
 * header of 16 bytes and 8 per element, plus malloc's own 16 a box. */
static inline int64_t cb_wl_payload_bytes(cb_wl_payload_kind_t kind,
                                          int64_t n)
{
    switch (kind) {
    case CB_WL_PAYLOAD_TUPLE:
        return 32 + 8 * n;
    case CB_WL_PAYLOAD_LIST:
        return 48 * n;
    default:
        return 32 + n;
    }
}

/* A fresh tuple or list payload of n elements (the kinds built once and
 * bounced; a binary is built per message by its workload), or CB_NIL when
 * out of memory. */
static inline cb_term_t cb_wl_payload_make(cb_wl_payload_kind_t kind,
                                           int64_t n)
{
    if (kind == CB_WL_PAYLOAD_TUPLE) {
        cb_term_t *e = malloc((size_t)(n ? n : 1) * sizeof *e);
        if (!e)
            return CB_NIL;
        for (int64_t i = 0; i < n; i++)
            e[i] = cb_int(i);
        cb_term_t t = cb_tuple((size_t)n, e);
        free(e);
        return t;
    }
    cb_term_t list = CB_NIL;
    for (int64_t i = n - 1; i >= 0; i--) {
        cb_term_t cell = cb_tuple2(cb_int(i), list);
        if (cell == CB_NIL) {
            cb_term_release(list);
            return CB_NIL;
        }
        list = cell;
    }
    return list;
}

/* A cheap check that m is the payload sent (its shape and first element);
 * the full comparison is cb_term_equal, once, outside the measurement. */
static inline bool cb_wl_payload_looks_right(cb_wl_payload_kind_t kind,
                                             int64_t n, cb_term_t m)
{
    if (kind == CB_WL_PAYLOAD_TUPLE)
        return cb_is_tuple(m) && cb_tuple_arity(m) == (size_t)n &&
               (n == 0 || cb_tuple_elem(m, 0) == cb_int(0));
    return cb_is_tuple(m) && cb_tuple_arity(m) == 2 &&
           cb_tuple_elem(m, 0) == cb_int(0);
}

#endif
