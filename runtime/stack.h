/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Task stacks: mmap'd, guarded, pooled; and the report a task gets when it
 * runs off the end of one.
 *
 * Memory layout of one stack (addresses grow to the right):
 *
 *   map                     lo                                 lo + size
 *   |<------ guard -------->|<------------ usable ------------->|
 *   |  PROT_NONE, 1 page    |  PROT_READ|PROT_WRITE, size bytes |
 *   |  (absent when built   |            <-- the stack grows    |
 *   |  with CB_NO_GUARD_    |                down from here --> |
 *   |  PAGES: then lo==map) |                                   |
 *   |<----------------------------- map_size ------------------>|
 *
 * There is no book-keeping inside the mapping: the rt_stack_t that
 * describes it lives wherever the caller keeps it (in the task struct), so
 * the whole usable region belongs to the task and an overflow runs into
 * the guard page, never into runtime data.  The mapping is
 * MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE|MAP_STACK: pages are committed
 * on first touch, so a 64 KiB stack whose task uses 2 KiB costs one
 * resident page, NORESERVE keeps a million mostly-untouched stacks from
 * counting against the overcommit limit in full, and MAP_STACK keeps
 * transparent huge pages off them (Linux 6.7 and later).
 *
 * Invariants:
 *   - a stack's usable region is page aligned at both ends, at least
 *     RT_STACK_MIN_SIZE and at most RT_STACK_MAX_SIZE bytes;
 *   - with guard pages built in, the page just below lo is PROT_NONE for
 *     the mapping's whole life, so running off the bottom faults instead
 *     of scribbling on the neighbouring mapping (for frames smaller than a
 *     page; a single frame larger than the guard can jump it, which
 *     -fstack-clash-protection prevents by probing every page);
 *   - every stack of a pool has the pool's size; a pool caches at most
 *     max_cached stacks and unmaps the rest (a slab pool keeps the rest
 *     with no resident pages instead);
 *   - no task runs on a stack whose guard_pending is set;
 *   - a pool is used by one thread at a time (see below).
 *
 * Pools are not thread-safe: one per worker thread, like Go's per-P stack
 * cache and libdill's per-thread cache, so allocation is a pop from an
 * array with no atomic at all.  A task that migrated is finished (and its
 * stack released) on whichever worker it ends on, into that worker's pool;
 * that is fine because a stack is just memory, and a stack whose size
 * differs from the pool's (it came from a pool made with another size) is
 * unmapped instead of cached.  Over a run the cached stacks drift towards
 * the workers that finish tasks; max_cached bounds what any one holds.
 *
 * Parked stacks are not given back to the kernel (no madvise(MADV_DONTNEED)
 * on release).  Measured here (bench/bench_stack.c, 64 KiB stacks): a warm
 * alloc+release is ~5 ns; MADV_DONTNEED plus the page fault that
 * re-commits the top page on the next use makes it ~2.7 us, which is 40%
 * of a cold mmap+mprotect+munmap (~6.7 us, ~10.5 us with the first touch)
 * and would turn the pool into little more than a slower mmap.  The
 * cost of not trimming is resident memory: a parked stack keeps the pages
 * its deepest task touched, at most max_cached * stack_size per pool; the
 * pool's max_cached is the knob for that bound.
 *
 * Each guarded stack is two VMAs (the guard and the usable part differ in
 * protection, so neighbours never merge), and the kernel's
 * vm.max_map_count (65530 by default) caps a process at about 32 K live
 * guarded stacks: beyond that mmap or mprotect fails with ENOMEM.  Runs
 * with more live tasks need CB_GUARD_PAGES=OFF (stacks then merge into few
 * VMAs) or a larger vm.max_map_count.
 *
 * Overflow reporting.  rt_stack_overflow_handler_install installs a
 * SIGSEGV/SIGBUS handler that runs on an alternate signal stack (the task
 * stack is exhausted when it fires; rt_stack_thread_init gives each worker
 * thread one).  Schedulers call rt_stack_set_current before switching a
 * task in.  When a fault lands in the current task's guard page, or just
 * below the stack while the interrupted stack pointer is at or past its
 * bottom (a frame that jumped the guard into unmapped memory, or a build
 * without guard pages), the handler writes
 *     concbench: task N overflowed its K KiB stack
 * to stderr with write(2) and then hands the fault to whatever handled
 * SIGSEGV before it: with no other handler the default action kills the
 * process by SIGSEGV (with a core dump where enabled); under ASan, ASan's
 * handler adds its own report and exits.  Any other fault goes to the
 * previous handler untouched, so crashes elsewhere look as they would
 * without this module.
 *
 * Slabs.  A pool made by rt_stack_pool_new_slabs maps SLAB_STACKS stacks
 * with one mmap and carves them off in order; each one's guard page is a
 * guard marker (MADV_GUARD_INSTALL), which leaves the slab one VMA, so
 * the stacks neither cost two memory maps each nor split the slab.
 * Fresh stacks are readied 32 at a time when the first of them is
 * carved: two process_madvise calls install their guards and populate
 * their top pages, ~1.0 us a stack here against ~1.5 us for a madvise and
 * a first-touch fault each (stack.c).  Carving happens when a task first
 * runs, not at spawn (the schedulers allocate stacks lazily), so the
 * spawner does not pay for it.  Where the kernel refuses that advice
 * through process_madvise, a fresh stack's guard is installed by
 * rt_stack_ready, which the scheduler calls before the stack's first
 * task first runs: installing it costs ~0.4-0.9 us (measured here, 64 KiB
 * stacks, most of it the page-table page a fresh stack also needs for its
 * first touch), which would be five times the rest of a spawn; no code
 * runs on the stack before it, so the guard is as real as an eager one.
 * A cached stack keeps its guard (markers survive MADV_DONTNEED), so it
 * is installed once per stack, not once per task.  Slab stacks are never
 * unmapped one by one (that would split the slab into many VMAs again):
 * a release past max_cached gives the stack's pages back to the kernel
 * with MADV_DONTNEED and keeps the address range on the pool's cold
 * list, so resident memory stays bounded by max_cached stacks while the
 * address space (NORESERVE, no commit charge) is kept for reuse.  Every
 * slab is unmapped when the last slab pool is freed; until then a stack
 * released into another slab pool (a task that migrated) is simply
 * memory of the same size.  Kernels without guard markers get the
 * one-mapping-per-stack path, since mprotect'd guards would split a slab
 * into two VMAs per stack.
 *
 * Rejected alternatives:
 *   - malloc'd stacks: no guard page, so an overflow silently corrupts the
 *     heap; and a 64 KiB malloc is an mmap in glibc anyway.
 *   - One mmap per fresh stack: it was the simple form, but an mmap and
 *     its munmap cost ~5 us here, most of a fresh stack's price, and a
 *     spawn burst (100,000 parked processes, skynet's million) maps
 *     nothing else.  A pool whose cache is empty now maps
 *     RT_STACK_POOL_BATCH stacks side by side in one mmap, each with its
 *     own guard page, and hands them out one by one.  Each stack still
 *     owns its own [guard, top) range, which munmap can release alone (a
 *     partial munmap of a mapping is allowed), so nothing else about a
 *     stack's life changes.  What a fresh stack still costs is the guard
 *     (~0.7 us for a MADV_GUARD_INSTALL here) and, when its task first
 *     runs, the page fault of its top page (~1.5 us).
 *   - One mprotect'd region carved into many stacks: fewer mmaps, but
 *     still two VMAs per stack (slabs need guard markers for that; the
 *     batch above is the form that works without them).
 *   - Installing the guards of a whole slab at once (process_madvise with
 *     an iovec of guard pages): one syscall per 1024 stacks, but still
 *     ~0.4 us of page-table work per stack, paid for stacks that may
 *     never be used; the batches of 32 above pay it only ahead of use.
 *   - A global, locked pool: a lock (or CAS) per spawn and per exit on the
 *     hottest path of skynet-style workloads, for no gain over per-worker
 *     pools.
 *   - MAP_GROWSDOWN: the kernel's own guard-gap logic, but growth faults
 *     are slower, the gap is not reported per task, and the flag is
 *     discouraged for new code.
 */
#ifndef RT_STACK_H
#define RT_STACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bounds on a stack's usable size, in bytes (sizes are rounded to pages). */
#define RT_STACK_MIN_SIZE ((size_t)16 * 1024)
#define RT_STACK_MAX_SIZE ((size_t)1 << 30)
/* Bound on a pool's max_cached, so a pool's cache array stays small. */
#define RT_STACK_POOL_MAX_CACHED ((size_t)1 << 16)
/* Stacks a pool maps at once when its cache is empty (see rt_stack_alloc). */
#define RT_STACK_POOL_BATCH ((size_t)32)

/* One stack.  lo/size: the usable region; map/map_size: the whole mapping. */
typedef struct rt_stack {
    void *lo;
    size_t size;
    void *map;
    size_t map_size;
    /* Carved from a slab (see rt_stack_pool_new_slabs): never unmapped
     * alone; its memory goes with the slabs. */
    bool slab;
    /* A slab stack whose guard page is not installed yet: rt_stack_ready
     * must run before anything runs on it. */
    bool guard_pending;
} rt_stack_t;

typedef struct rt_stack_pool rt_stack_pool_t;

/* Pool counters, for benchmarks and model stats. */
typedef struct rt_stack_pool_stats {
    uint64_t allocations; /* rt_stack_alloc calls that succeeded */
    uint64_t reuses;      /* ... of which served from the cache */
    uint64_t maps;        /* ... of which needed a fresh mapping */
    uint64_t unmaps;      /* stacks released to the kernel */
    size_t cached;        /* stacks parked in the cache now */
} rt_stack_pool_stats_t;

/*
 * Map one stack of `size` usable bytes (rounded up to whole pages) with its
 * guard page.  0, -EINVAL (size out of bounds) or -ENOMEM.
 */
int rt_stack_map(size_t size, rt_stack_t *out);
/* Unmap a stack from rt_stack_map; clears *s. */
void rt_stack_unmap(rt_stack_t *s);

/*
 * Create a pool of stacks of `stack_size` usable bytes (rounded up to whole
 * pages) that keeps up to max_cached released stacks for reuse.
 * 0, -EINVAL (size out of bounds, max_cached > RT_STACK_POOL_MAX_CACHED)
 * or -ENOMEM.
 */
int rt_stack_pool_new(rt_stack_pool_t **out, size_t stack_size,
                      size_t max_cached);
/*
 * The same, with stacks carved from slabs of many stacks mapped at once
 * (see "Slabs" above): a spawn-heavy pool's allocation is a pointer bump
 * instead of an mmap and a guard.  A stack from such a pool is ready for a
 * task only after rt_stack_ready.  Where the kernel has no guard markers,
 * the pool maps its stacks one by one, as rt_stack_pool_new's do.
 */
int rt_stack_pool_new_slabs(rt_stack_pool_t **out, size_t stack_size,
                            size_t max_cached);
/*
 * Install s's guard page if it is still pending (the first use of a slab
 * stack; a no-op after that and for other stacks).  0 or -ENOMEM.
 */
int rt_stack_ready(rt_stack_t *s);
/*
 * Whether p carves its stacks from slabs (a slab pool on a kernel with
 * guard markers): then an allocation fails only when the address space or
 * memory runs out, never for lack of memory maps, so a scheduler may take
 * a task's stack when the task first runs instead of when it is spawned.
 */
bool rt_stack_pool_carves_slabs(const rt_stack_pool_t *p);
/* Unmap every cached stack and free the pool.  NULL is a no-op. */
void rt_stack_pool_free(rt_stack_pool_t *p);
/* The pool's usable stack size after rounding, in bytes. */
size_t rt_stack_pool_stack_size(const rt_stack_pool_t *p);
void rt_stack_pool_stats(const rt_stack_pool_t *p, rt_stack_pool_stats_t *out);

/* A stack from the cache, or a fresh one (from a batch mapped at once).
 * 0 or -ENOMEM. */
int rt_stack_alloc(rt_stack_pool_t *p, rt_stack_t *out);
/*
 * Give s back: cached if it has the pool's size and the cache has room,
 * unmapped otherwise.  Clears *s.  The stack must not be running.
 */
void rt_stack_release(rt_stack_pool_t *p, rt_stack_t *s);

/*
 * Install the overflow reporter for SIGSEGV and SIGBUS, once per process
 * (later calls return the first call's result).  0 or -errno.
 */
int rt_stack_overflow_handler_install(void);
/*
 * Give the calling thread an alternate signal stack for the reporter,
 * unless it already has one (its owner, e.g. ASan, keeps it).  Ours is
 * freed by rt_stack_thread_term or automatically at thread exit.
 * Idempotent.  0 or -errno.  A worker that skips this dies silently on a
 * task stack overflow: the kernel cannot deliver the signal on a full
 * stack.
 */
int rt_stack_thread_init(void);
/* Free the calling thread's alternate signal stack if it is ours. */
void rt_stack_thread_term(void);
/*
 * Record that the calling thread now runs on task stack s of task task_id
 * (NULL: on its own thread stack).  A scheduler calls it before each
 * switch into a task and after switching back.  A few plain stores to a
 * thread-local; it is a real call, so it always writes the calling
 * thread's copy, even in a task that migrated.
 */
void rt_stack_set_current(const rt_stack_t *s, uint64_t task_id);

#endif
