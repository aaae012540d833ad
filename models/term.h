/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Messages are small tagged terms, after the BEAM's.
 *
 * A term is one 64-bit word.  Immediates (small integers, atoms, references,
 * ports) live in the word itself and cost nothing to copy; tuples and
 * binaries are "boxed": the word points to a header followed by the data.
 *
 *     word, low bits:  ...1  small integer, 63 bits, value = word >> 1
 *                      .000  boxed pointer (8-aligned); 0 is CB_NIL
 *                      .010  atom, interned index << 3
 *                      .100  port pointer | 4
 *                      .110  reference, unique counter << 3
 *
 *     box:  [ kind:8 | flags:8 | pad:16 | size:32 ][ refs:32 ][ pad:32 ]
 *           then size terms (tuple) or size bytes (binary)
 *
 * Ownership.  A boxed term has exactly one owner at a time unless it is a
 * large binary.  cb_send *consumes* its message: afterwards the sender must
 * not touch it.  A model that passes pointers (csp, locks, stm, threads)
 * hands the very same box to the receiver, which is the shared-heap
 * semantics of the JVM and Go; the actor model deep-copies it into the
 * receiver's heap and frees the sender's copy, which is the BEAM's.  A
 * receiver owns what it received and frees it with cb_term_release.  To
 * keep a term after sending it, send cb_term_copy(t).
 *
 * Binaries above CB_REFC_BINARY_MIN bytes are reference counted and never
 * copied, only shared (the BEAM's refc binaries, whose threshold is 64
 * bytes); smaller ones are copied with their container.
 *
 * Lists are chains of 2-tuples {Head, Tail} ending in CB_NIL, as a BEAM
 * list is a chain of cons cells ending in []: a deep copy of an N-element
 * list touches N boxes, so the cost of copying a message grows with its
 * size as it does on the BEAM (erts/emulator/beam/copy.c: size_object
 * then copy_struct).  The walkers loop on a tuple's last element, so a
 * long list costs no C stack (term.c).
 *
 * Rejected: a C struct per message type (no generic deep copy or pattern
 * matching for the actor model), and tagged unions of 16+ bytes (twice the
 * size per queued message, and no cheap immediates).
 */
#ifndef CB_TERM_H
#define CB_TERM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint64_t cb_term_t;
typedef struct cb_port cb_port_t;

#define CB_NIL ((cb_term_t)0)
#define CB_REFC_BINARY_MIN 64
/* The BEAM's own limit (24 bits; the efficiency guide's "System Limits"),
 * so a large flat tuple can be a message as it can be in Erlang. */
#define CB_TUPLE_MAX_ARITY 16777215
#define CB_INT_MIN (-((int64_t)1 << 62))
#define CB_INT_MAX (((int64_t)1 << 62) - 1)

typedef enum cb_term_kind {
    CB_TERM_NIL,
    CB_TERM_INT,
    CB_TERM_ATOM,
    CB_TERM_REF,
    CB_TERM_PORT,
    CB_TERM_TUPLE,
    CB_TERM_BINARY,
} cb_term_kind_t;

/* Immediates. */
static inline cb_term_t cb_int(int64_t v)
{
    return ((uint64_t)v << 1) | 1u;
}
static inline bool cb_is_int(cb_term_t t)
{
    return t & 1u;
}
static inline int64_t cb_int_value(cb_term_t t)
{
    return (int64_t)t >> 1;
}
static inline bool cb_is_atom(cb_term_t t)
{
    return (t & 7u) == 2u;
}
static inline bool cb_is_ref(cb_term_t t)
{
    return (t & 7u) == 6u;
}
static inline bool cb_is_port(cb_term_t t)
{
    return (t & 7u) == 4u;
}
static inline cb_term_t cb_port_term(cb_port_t *p)
{
    return (cb_term_t)(uintptr_t)p | 4u;
}
static inline cb_port_t *cb_term_port(cb_term_t t)
{
    return (cb_port_t *)(uintptr_t)(t & ~(cb_term_t)7u);
}
static inline bool cb_is_boxed(cb_term_t t)
{
    return t != CB_NIL && (t & 7u) == 0u;
}

/* The interned atom for name (1..63 bytes); aborts on a bad name. */
cb_term_t cb_atom(const char *name);
const char *cb_atom_name(cb_term_t atom);
/* A reference unique within this process (make_ref()). */
cb_term_t cb_make_ref(void);

/*
 * Boxed constructors return CB_NIL when out of memory.  cb_tuple takes
 * ownership of the boxed elements it is given.
 */
cb_term_t cb_tuple(size_t arity, const cb_term_t *elems);
cb_term_t cb_tuple2(cb_term_t a, cb_term_t b);
cb_term_t cb_tuple3(cb_term_t a, cb_term_t b, cb_term_t c);
cb_term_t cb_binary(const void *data, size_t len);

cb_term_kind_t cb_term_kind(cb_term_t t);

/*
 * The tuple accessors are inline because a selective receive calls its
 * predicate once per queued message, and a predicate is a few of these
 * calls: three out-of-line calls per skipped message were most of what a
 * skip cost (the BEAM compiles a pattern match inline).  They read the
 * first word of the box through this view of it, which term.c checks
 * against the real header with _Static_assert; nothing else of the box is
 * public.  Misuse still aborts, as the out-of-line versions did.
 */
typedef struct cb__box_head {
    uint8_t kind;
    uint8_t flags;
    uint16_t pad;
    uint32_t size;
} cb__box_head_t;
enum { CB__BOX_TUPLE = 1, CB__BOX_BINARY = 2, CB__BOX_HEADER_BYTES = 16 };
__attribute__((noreturn, cold)) void cb__term_misuse(const char *what);

static inline const cb__box_head_t *cb__box_head(cb_term_t t)
{
    return (const cb__box_head_t *)(uintptr_t)t;
}
static inline bool cb_is_tuple(cb_term_t t)
{
    return cb_is_boxed(t) && cb__box_head(t)->kind == CB__BOX_TUPLE;
}
static inline bool cb_is_binary(cb_term_t t)
{
    return cb_is_boxed(t) && cb__box_head(t)->kind == CB__BOX_BINARY;
}
static inline size_t cb_tuple_arity(cb_term_t t)
{
    if (!cb_is_tuple(t))
        cb__term_misuse("cb_tuple_arity of a term that is not a tuple");
    return cb__box_head(t)->size;
}
static inline cb_term_t cb_tuple_elem(cb_term_t t, size_t i)
{
    if (!cb_is_tuple(t) || i >= cb__box_head(t)->size)
        cb__term_misuse("cb_tuple_elem outside a tuple");
    return ((const cb_term_t *)((uintptr_t)t + CB__BOX_HEADER_BYTES))[i];
}
size_t cb_binary_size(cb_term_t t);
/* The bytes of a binary: writable, because C cannot forbid it; writing to
 * a binary after sending it shows who shares what. */
uint8_t *cb_binary_data(cb_term_t t);
/* Whether a binary is a shared, reference-counted one. */
bool cb_binary_is_refc(cb_term_t t);
uint32_t cb_binary_refs(cb_term_t t);

/* Deep copy; refc binaries are shared (reference count + 1). */
cb_term_t cb_term_copy(cb_term_t t);
/* Free what t owns (recursively); no-op for immediates. */
void cb_term_release(cb_term_t t);
/* Structural equality. */
bool cb_term_equal(cb_term_t a, cb_term_t b);
/* Bytes a copy of t occupies on a heap (refc binaries count a pointer). */
size_t cb_term_heap_bytes(cb_term_t t);

#endif
