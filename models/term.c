/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
#include "models/term.h"

#include "runtime/common.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

enum { BOX_TUPLE = CB__BOX_TUPLE, BOX_BINARY = CB__BOX_BINARY };
enum { BOX_REFC = 1 };

typedef struct box {
    uint8_t kind;
    uint8_t flags;
    uint16_t pad;
    uint32_t size;
    /* Only refc binaries are shared across owners; the count pairs an
     * acq_rel decrement with the free so the last holder sees every write
     * the others made before releasing (the usual refcount protocol). */
    _Atomic uint32_t refs;
    uint32_t pad2;
} box_t;
_Static_assert(sizeof(box_t) == 16, "box header is two words");
/* The inline accessors in term.h read the box through cb__box_head_t. */
_Static_assert(sizeof(box_t) == CB__BOX_HEADER_BYTES, "header size");
_Static_assert(offsetof(box_t, kind) == offsetof(cb__box_head_t, kind) &&
                   offsetof(box_t, size) == offsetof(cb__box_head_t, size),
               "cb__box_head_t is the box header's first word");

void cb__term_misuse(const char *what)
{
    rt_panic("%s", what);
}

static box_t *box_of(cb_term_t t)
{
    return (box_t *)(uintptr_t)t;
}

static cb_term_t *tuple_elems(box_t *b)
{
    return (cb_term_t *)(b + 1);
}

static box_t *box_new(uint8_t kind, uint32_t size, size_t payload)
{
    box_t *b = malloc(sizeof(box_t) + payload);
    if (!b)
        return NULL;
    b->kind = kind;
    b->flags = 0;
    b->pad = 0;
    b->size = size;
    atomic_init(&b->refs, 1);
    b->pad2 = 0;
    return b;
}

/* ---- atoms: interned for the life of the process, as on the BEAM ---- */

#define ATOM_MAX 4096
#define ATOM_NAME_MAX 64
static pthread_mutex_t atom_lock = PTHREAD_MUTEX_INITIALIZER;
static char atom_names[ATOM_MAX][ATOM_NAME_MAX]; /* guarded by atom_lock */
static _Atomic uint32_t atom_count; /* release on publish, acquire on read */

cb_term_t cb_atom(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len >= ATOM_NAME_MAX)
        rt_panic("atom name of %zu bytes (1..%d allowed)", len,
                 ATOM_NAME_MAX - 1);
    pthread_mutex_lock(&atom_lock);
    uint32_t n = atomic_load_explicit(&atom_count, memory_order_relaxed);
    uint32_t i = 0;
    for (; i < n; i++)
        if (strcmp(atom_names[i], name) == 0)
            break;
    if (i == n) {
        if (n == ATOM_MAX)
            rt_panic("atom table full (%d atoms)", ATOM_MAX);
        memcpy(atom_names[n], name, len + 1);
        atomic_store_explicit(&atom_count, n + 1, memory_order_release);
    }
    pthread_mutex_unlock(&atom_lock);
    return ((cb_term_t)i << 3) | 2u;
}

const char *cb_atom_name(cb_term_t atom)
{
    RT_ASSERT(cb_is_atom(atom));
    uint64_t i = atom >> 3;
    RT_ASSERT(i < atomic_load_explicit(&atom_count, memory_order_acquire));
    return atom_names[i];
}

cb_term_t cb_make_ref(void)
{
    /* Uniqueness needs only atomicity, not ordering. */
    static _Atomic uint64_t next = 1;
    uint64_t r = atomic_fetch_add_explicit(&next, 1, memory_order_relaxed);
    return (r << 3) | 6u;
}

/* ---- boxed terms ---- */

cb_term_t cb_tuple(size_t arity, const cb_term_t *elems)
{
    RT_ASSERT(arity <= CB_TUPLE_MAX_ARITY);
    box_t *b = box_new(BOX_TUPLE, (uint32_t)arity, arity * sizeof(cb_term_t));
    if (!b)
        return CB_NIL;
    if (arity)
        memcpy(tuple_elems(b), elems, arity * sizeof(cb_term_t));
    return (cb_term_t)(uintptr_t)b;
}

cb_term_t cb_tuple2(cb_term_t a, cb_term_t b)
{
    cb_term_t e[2] = {a, b};
    return cb_tuple(2, e);
}

cb_term_t cb_tuple3(cb_term_t a, cb_term_t b, cb_term_t c)
{
    cb_term_t e[3] = {a, b, c};
    return cb_tuple(3, e);
}

cb_term_t cb_binary(const void *data, size_t len)
{
    RT_ASSERT(len <= UINT32_MAX);
    box_t *b = box_new(BOX_BINARY, (uint32_t)len, len);
    if (!b)
        return CB_NIL;
    if (len > CB_REFC_BINARY_MIN)
        b->flags |= BOX_REFC;
    if (data && len)
        memcpy(b + 1, data, len);
    return (cb_term_t)(uintptr_t)b;
}

cb_term_kind_t cb_term_kind(cb_term_t t)
{
    if (t == CB_NIL)
        return CB_TERM_NIL;
    if (cb_is_int(t))
        return CB_TERM_INT;
    switch (t & 7u) {
    case 2:
        return CB_TERM_ATOM;
    case 4:
        return CB_TERM_PORT;
    case 6:
        return CB_TERM_REF;
    default:
        return box_of(t)->kind == BOX_TUPLE ? CB_TERM_TUPLE : CB_TERM_BINARY;
    }
}

size_t cb_binary_size(cb_term_t t)
{
    RT_ASSERT(cb_is_binary(t));
    return box_of(t)->size;
}

uint8_t *cb_binary_data(cb_term_t t)
{
    RT_ASSERT(cb_is_binary(t));
    return (uint8_t *)(box_of(t) + 1);
}

bool cb_binary_is_refc(cb_term_t t)
{
    return cb_is_binary(t) && (box_of(t)->flags & BOX_REFC);
}

uint32_t cb_binary_refs(cb_term_t t)
{
    RT_ASSERT(cb_is_binary(t));
    return atomic_load_explicit(&box_of(t)->refs, memory_order_relaxed);
}

/*
 * The walkers below (copy, release, equal, heap_bytes) recurse into every
 * element of a tuple but the last, and loop on the last: a list is a
 * chain of 2-tuples {Head, Tail} (models/term.h), so a list of a million
 * cells is walked in constant stack, as the BEAM's copy_struct walks it
 * with an explicit stack rather than the C one.  Only nesting in a
 * position other than the last costs C stack.
 */
cb_term_t cb_term_copy(cb_term_t t)
{
    cb_term_t result = CB_NIL;
    cb_term_t *slot = &result; /* where the copy of t goes */
    for (;;) {
        if (!cb_is_boxed(t)) {
            *slot = t;
            return result;
        }
        box_t *b = box_of(t);
        if (b->kind == BOX_BINARY) {
            if (b->flags & BOX_REFC) {
                /* A new holder needs no ordering: it already sees the
                 * bytes through the term it was handed. */
                atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed);
                *slot = t;
                return result;
            }
            cb_term_t c = cb_binary(b + 1, b->size);
            if (c == CB_NIL)
                goto fail;
            *slot = c;
            return result;
        }
        box_t *c = box_new(BOX_TUPLE, b->size, b->size * sizeof(cb_term_t));
        if (!c)
            goto fail;
        *slot = (cb_term_t)(uintptr_t)c;
        uint32_t n = b->size;
        if (n == 0)
            return result;
        cb_term_t *from = tuple_elems(b), *to = tuple_elems(c);
        /* Immediates are most elements: copy the words in one go, then
         * replace each boxed one by its copy. */
        memcpy(to, from, (n - 1) * sizeof(cb_term_t));
        to[n - 1] = CB_NIL;
        for (uint32_t i = 0; i + 1 < n; i++) {
            if (!cb_is_boxed(from[i]))
                continue;
            cb_term_t e = cb_term_copy(from[i]);
            if (e == CB_NIL) {
                /* The words from i on are still the original's: the
                 * copy must not release them. */
                for (uint32_t j = i; j + 1 < n; j++)
                    to[j] = CB_NIL;
                goto fail;
            }
            to[i] = e;
        }
        slot = &to[n - 1];
        t = from[n - 1];
    }
fail:
    cb_term_release(result);
    return CB_NIL;
}

void cb_term_release(cb_term_t t)
{
    while (cb_is_boxed(t)) {
        box_t *b = box_of(t);
        cb_term_t next = CB_NIL;
        if (b->kind == BOX_BINARY && (b->flags & BOX_REFC)) {
            /* acq_rel: release our writes to the last holder, and acquire
             * everyone else's before freeing. */
            if (atomic_fetch_sub_explicit(&b->refs, 1,
                                          memory_order_acq_rel) != 1)
                return;
        } else if (b->kind == BOX_TUPLE && b->size > 0) {
            cb_term_t *e = tuple_elems(b);
            for (uint32_t i = 0; i + 1 < b->size; i++)
                if (cb_is_boxed(e[i]))
                    cb_term_release(e[i]);
            next = e[b->size - 1];
        }
        free(b);
        t = next;
    }
}

bool cb_term_equal(cb_term_t a, cb_term_t b)
{
    for (;;) {
        if (a == b)
            return true;
        if (!cb_is_boxed(a) || !cb_is_boxed(b))
            return false;
        box_t *x = box_of(a), *y = box_of(b);
        if (x->kind != y->kind || x->size != y->size)
            return false;
        if (x->kind == BOX_BINARY)
            return memcmp(x + 1, y + 1, x->size) == 0;
        if (x->size == 0)
            return true;
        for (uint32_t i = 0; i + 1 < x->size; i++)
            if (!cb_term_equal(tuple_elems(x)[i], tuple_elems(y)[i]))
                return false;
        a = tuple_elems(x)[x->size - 1];
        b = tuple_elems(y)[y->size - 1];
    }
}

size_t cb_term_heap_bytes(cb_term_t t)
{
    size_t n = 0;
    while (cb_is_boxed(t)) {
        box_t *b = box_of(t);
        if (b->kind == BOX_BINARY)
            return n + (b->flags & BOX_REFC ? sizeof(box_t)
                                            : sizeof(box_t) + b->size);
        n += sizeof(box_t) + b->size * sizeof(cb_term_t);
        if (b->size == 0)
            break;
        for (uint32_t i = 0; i + 1 < b->size; i++)
            if (cb_is_boxed(tuple_elems(b)[i]))
                n += cb_term_heap_bytes(tuple_elems(b)[i]);
        t = tuple_elems(b)[b->size - 1];
    }
    return n;
}
