/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Task stacks and the overflow reporter; the layout and the rules are in
 * stack.h.
 */
#include "runtime/stack.h"

#include "runtime/common.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <ucontext.h>
#include <unistd.h>

#if defined(CB_NO_GUARD_PAGES)
#define GUARD_PAGES 0
#else
#define GUARD_PAGES 1
#endif

/*
 * Overflow without a guard hit: how far below a stack's bottom a fault may
 * be, with the interrupted stack pointer at most that far below it, and
 * still be taken for an overflow of that stack (a frame that jumped the
 * guard, or a build without guard pages where the page below happens to
 * be unmapped).  Further down, the stack pointer is more likely somewhere
 * the scheduler forgot to tell us about, and a wrong "task N overflowed"
 * would send the reader after the wrong task.
 */
#define SLACK_BYTES ((uintptr_t)1 << 20)
/*
 * A push or call that faults is restarted, so the saved stack pointer is
 * the one from before it: up to the red zone (128 bytes on x86-64, none on
 * aarch64) plus one word above the address that faulted.
 */
#define SP_ABOVE_BYTES ((uintptr_t)256)

/*
 * Alternate signal stack size.  The reporter needs a few hundred bytes;
 * a handler we chain to may need far more (ASan symbolizes a backtrace on
 * it).  Go's runtime gives its signal stacks 32 KiB and ASan's measured
 * 53 KiB here (4 * the kernel's SIGSTKSZ, which AVX-512 state inflates);
 * 64 KiB, or 4 * SIGSTKSZ where that is larger, covers both.
 */
#define ALTSTACK_MIN_SIZE ((size_t)64 * 1024)

/*
 * The fault handler and everything it calls run without sanitizer
 * instrumentation.  A task can overflow while a sanitizer's runtime is
 * itself running on the task stack (TSan's trace code holding its trace
 * lock, say); instrumented handler code would re-enter that runtime and
 * deadlock, which test_stack's clang TSan build did.  For the same reason
 * the handler writes with syscall(SYS_writev), which no sanitizer
 * intercepts, and copies no strings (a copy loop can become a call to
 * memcpy, which they do intercept).  GCC's no_sanitize drops all TSan
 * instrumentation; clang's keeps TSan's function entry/exit hooks, which
 * disable_sanitizer_instrumentation (clang 14 and later) removes, while
 * clang 14 still needs no_sanitize for ASan and UBSan: hence both.
 */
#define NO_SANITIZE                                                            \
    __attribute__((no_sanitize("address", "thread", "undefined")))
#if defined(__has_attribute)
#if __has_attribute(disable_sanitizer_instrumentation)
#define SIGNAL_PATH                                                            \
    NO_SANITIZE __attribute__((disable_sanitizer_instrumentation))
#endif
#endif
#if !defined(SIGNAL_PATH)
#define SIGNAL_PATH NO_SANITIZE
#endif

/* glibc answers from a variable set at startup: no syscall to cache. */
static size_t page_size(void)
{
    return (size_t)sysconf(_SC_PAGESIZE);
}

/* Round size up to whole pages and check bounds: the size or 0 if bad. */
static size_t stack_size_round(size_t size)
{
    if (size < RT_STACK_MIN_SIZE || size > RT_STACK_MAX_SIZE)
        return 0;
    size_t ps = page_size();
    return (size + ps - 1) & ~(ps - 1);
}

/*
 * Linux 6.13's guard regions: madvise(MADV_GUARD_INSTALL) marks pages in
 * the page tables so that touching them faults as PROT_NONE would, while
 * the mapping stays one read-write VMA.  mprotect splits every stack into
 * two VMAs (the guard and the usable part), and adjacent stacks cannot
 * merge, so a process with stacks from mprotect runs out of memory maps
 * (vm.max_map_count, 65530 by default) at about 32,000 stacks; with guard
 * markers, neighbouring stacks merge into few VMAs and the limit is the
 * memory.  Older kernels answer EINVAL, and we fall back to mprotect for
 * good (the answer cannot change while the process runs).
 */
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif
/* Relaxed: a hint; two threads that both try the madvise agree anyway. */
static atomic_bool guard_markers_unsupported;

static int install_guard(void *map, size_t guard)
{
    if (!atomic_load_explicit(&guard_markers_unsupported,
                              memory_order_relaxed)) {
        if (madvise(map, guard, MADV_GUARD_INSTALL) == 0)
            return 0;
        if (errno != EINVAL)
            return errno > 0 ? -errno : -ENOMEM;
        atomic_store_explicit(&guard_markers_unsupported, true,
                              memory_order_relaxed);
    }
    if (mprotect(map, guard, PROT_NONE) != 0)
        return errno > 0 ? -errno : -ENOMEM;
    return 0;
}

/*
 * Map n stacks of `usable` bytes (page multiple), each with a guard page
 * below it, side by side in one mapping: out[i] covers its own guard and
 * usable part, so each can later be unmapped alone (munmap of a part of a
 * mapping is allowed).  One mmap for n stacks is the point: an mmap and
 * the munmap that ends it cost ~5 us on a VM, more than everything else a
 * fresh stack costs but its first page fault.  All or nothing: on failure
 * nothing is mapped and out is untouched.
 */
static int map_guarded_n(size_t usable, size_t guard, size_t n, rt_stack_t *out)
{
    size_t each = usable + guard;
    void *map =
        mmap(NULL, each * n, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    /*
     * errno is never 0 after a failure, but say so for the compiler:
     * callers rely on a non-zero return meaning *out was not written.
     */
    if (map == MAP_FAILED)
        return errno > 0 ? -errno : -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        char *at = (char *)map + i * each;
        int err = guard != 0 ? install_guard(at, guard) : 0;
        if (err != 0) {
            munmap(map, each * n);
            return err;
        }
        out[i] = (rt_stack_t){
            .map = at, .map_size = each, .lo = at + guard, .size = usable};
    }
    return 0;
}

static int map_guarded(size_t usable, size_t guard, rt_stack_t *out)
{
    return map_guarded_n(usable, guard, 1, out);
}

int rt_stack_map(size_t size, rt_stack_t *out)
{
    size_t usable = stack_size_round(size);
    if (usable == 0)
        return -EINVAL;
    return map_guarded(usable, GUARD_PAGES ? page_size() : 0, out);
}

void rt_stack_unmap(rt_stack_t *s)
{
    if (s->map != NULL)
        RT_ASSERT(munmap(s->map, s->map_size) == 0);
    memset(s, 0, sizeof *s);
}

/*
 * A per-worker pool; see stack.h for why there is no lock.  All fields
 * are owned by the one thread using the pool.
 */
struct rt_stack_pool {
    size_t stack_size; /* usable bytes per stack, page multiple */
    size_t max_cached;
    size_t ncached;
    rt_stack_t *cache; /* LIFO: the most recently used stack is the one
                        * whose top pages are most likely still in cache
                        * and TLB */
    size_t nfresh;     /* never used stacks left of the last batch */
    rt_stack_t fresh[RT_STACK_POOL_BATCH];
    uint64_t allocations;
    uint64_t reuses;
    uint64_t maps;
    uint64_t unmaps;
    /* Slab pools only: the unused rest of the newest slab, and released
     * stacks past max_cached, their pages given back (a growing array). */
    bool slabs;
    char *carve, *carve_end;
    char *prepared; /* [carve, prepared): guards in, top pages resident */
    rt_stack_t *cold;
    size_t ncold, cold_cap;
};

/*
 * Every slab mapped by any slab pool, unmapped when the last slab pool is
 * freed (a stack may be released into another pool than the one that
 * carved it).  Guarded by slab_mu, taken once per slab mapped and once
 * per slab pool made or freed; a leaf lock.
 */
#define SLAB_STACKS 4096
struct slab {
    struct slab *next;
    void *map;
    size_t size;
};
static pthread_mutex_t slab_mu = PTHREAD_MUTEX_INITIALIZER;
static struct slab *slabs;
static int slab_pools;

int rt_stack_pool_new(rt_stack_pool_t **out, size_t stack_size,
                      size_t max_cached)
{
    size_t usable = stack_size_round(stack_size);
    if (usable == 0 || max_cached > RT_STACK_POOL_MAX_CACHED)
        return -EINVAL;
    rt_stack_pool_t *p = calloc(1, sizeof *p);
    if (p == NULL)
        return -ENOMEM;
    if (max_cached != 0) {
        p->cache = calloc(max_cached, sizeof *p->cache);
        if (p->cache == NULL) {
            free(p);
            return -ENOMEM;
        }
    }
    p->stack_size = usable;
    p->max_cached = max_cached;
    *out = p;
    return 0;
}

void rt_stack_pool_free(rt_stack_pool_t *p)
{
    if (p == NULL)
        return;
    while (p->ncached > 0) {
        rt_stack_t *s = &p->cache[--p->ncached];
        if (!s->slab)
            rt_stack_unmap(s);
    }
    while (p->nfresh > 0)
        rt_stack_unmap(&p->fresh[--p->nfresh]);
    free(p->cache);
    free(p->cold);
    if (p->slabs) {
        struct slab *all = NULL;
        pthread_mutex_lock(&slab_mu);
        if (--slab_pools == 0) {
            all = slabs;
            slabs = NULL;
        }
        pthread_mutex_unlock(&slab_mu);
        while (all != NULL) {
            struct slab *next = all->next;
            RT_ASSERT(munmap(all->map, all->size) == 0);
            free(all);
            all = next;
        }
    }
    free(p);
}

size_t rt_stack_pool_stack_size(const rt_stack_pool_t *p)
{
    return p->stack_size;
}

void rt_stack_pool_stats(const rt_stack_pool_t *p, rt_stack_pool_stats_t *out)
{
    out->allocations = p->allocations;
    out->reuses = p->reuses;
    out->maps = p->maps;
    out->unmaps = p->unmaps;
    out->cached = p->ncached;
}

/* Map a new slab for p and make it p's carving range; 0 or -errno. */
static int slab_map(rt_stack_pool_t *p)
{
    size_t guard = page_size();
    size_t size = (p->stack_size + guard) * SLAB_STACKS;
    struct slab *sl = malloc(sizeof *sl);
    if (sl == NULL)
        return -ENOMEM;
    void *map =
        mmap(NULL, size, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (map == MAP_FAILED) {
        int err = errno > 0 ? -errno : -ENOMEM;
        free(sl);
        return err;
    }
    sl->map = map;
    sl->size = size;
    pthread_mutex_lock(&slab_mu);
    sl->next = slabs;
    slabs = sl;
    pthread_mutex_unlock(&slab_mu);
    p->carve = map;
    p->carve_end = (char *)map + size;
    p->prepared = map;
    return 0;
}

/*
 * Fresh slab stacks are readied PREPARE_BATCH at a time, when the first of
 * them is carved: one process_madvise installs their guards and a second
 * populates their top pages (the page every task touches first), instead
 * of a madvise and a page fault per stack.  Measured here (64 KiB stacks):
 * the two calls 0.93-1.05 us a stack against 1.44-1.55 us one by one, and
 * bench_stack's whole fresh stack (carve, ready, first touch) 1.45 us
 * against 1.84 us; a fresh stack is most of what skynet's first waves and
 * alts' first round pay for.  The price is at most PREPARE_BATCH - 1 top
 * pages made resident ahead of use per pool.  A kernel that refuses the
 * guards through process_madvise (before 6.13, or under a seccomp filter)
 * leaves them to rt_stack_ready and the pages to their faults, as before;
 * a refused populate only leaves the pages to their faults.
 */
#define PREPARE_BATCH 32
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
/* Relaxed: a hint, as guard_markers_unsupported. */
static atomic_bool prepare_unsupported;

/* process_madvise on our own ranges through pidfd: how many of the n
 * (each `len` bytes) were advised, 0 on any error. */
static size_t advise_ranges(int pidfd, struct iovec *v, size_t n, size_t len,
                            int advice)
{
#if defined(SYS_process_madvise)
    long r = syscall(SYS_process_madvise, pidfd, v, n, advice, 0);
    return r > 0 ? (size_t)r / len : 0;
#else
    (void)pidfd, (void)v, (void)n, (void)len, (void)advice;
    return 0;
#endif
}

/* A pidfd of this process, opened per batch: a cached one would be the
 * parent's in a child forked after it was opened (the runner forks a
 * child per cell), and advise the parent's memory.  Two syscalls per
 * batch of 32 stacks. */
static void slab_prepare(rt_stack_pool_t *p, size_t guard, size_t total)
{
    if (atomic_load_explicit(&prepare_unsupported, memory_order_relaxed))
        return;
    int pidfd = -1;
#if defined(SYS_pidfd_open)
    pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
#endif
    size_t n = (size_t)(p->carve_end - p->carve) / total;
    if (n > PREPARE_BATCH)
        n = PREPARE_BATCH;
    struct iovec guards[PREPARE_BATCH], tops[PREPARE_BATCH];
    for (size_t i = 0; i < n; i++) {
        char *at = p->carve + i * total;
        guards[i] = (struct iovec){at, guard};
        tops[i] = (struct iovec){at + total - guard, guard};
    }
    size_t done = pidfd >= 0 ? advise_ranges(pidfd, guards, n, guard,
                                             MADV_GUARD_INSTALL)
                             : 0;
    if (done == 0) {
        /* Refused for good (ENOSYS, EINVAL, EPERM), or only for now (no
         * fd or memory left, a signal): then the next carve asks again. */
        if (errno != EMFILE && errno != ENFILE && errno != ENOMEM &&
            errno != EAGAIN && errno != EINTR)
            atomic_store_explicit(&prepare_unsupported, true,
                                  memory_order_relaxed);
    } else {
        /* Pages not populated (no MADV_POPULATE_WRITE, or no memory
         * now) fault in when first touched, as they would have anyway. */
        (void)advise_ranges(pidfd, tops, done, guard, MADV_POPULATE_WRITE);
        p->prepared = p->carve + done * total;
    }
    if (pidfd >= 0)
        close(pidfd);
}

/* Settle guard_markers_unsupported with one guard on a scratch mapping,
 * so that whether a slab pool carves (rt_stack_pool_carves_slabs) is known
 * before its first stack is handed out, not found out at its first guard. */
static void probe_guard_markers(void)
{
    size_t pg = page_size();
    void *m = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED)
        return;
    (void)install_guard(m, pg);
    munmap(m, 2 * pg);
}

int rt_stack_pool_new_slabs(rt_stack_pool_t **out, size_t stack_size,
                            size_t max_cached)
{
    static pthread_once_t probed = PTHREAD_ONCE_INIT;
    int rc = rt_stack_pool_new(out, stack_size, max_cached);
    if (rc != 0)
        return rc;
    /* Without guard markers (or without guard pages at all, where plain
     * mappings merge anyway) the pool maps stacks one by one. */
    if (!GUARD_PAGES)
        return 0;
    pthread_once(&probed, probe_guard_markers);
    (*out)->slabs = true;
    pthread_mutex_lock(&slab_mu);
    slab_pools++;
    pthread_mutex_unlock(&slab_mu);
    return 0;
}

int rt_stack_ready(rt_stack_t *s)
{
    if (!s->guard_pending)
        return 0;
    int rc = install_guard(s->map, (size_t)((char *)s->lo - (char *)s->map));
    if (rc == 0)
        s->guard_pending = false;
    return rc;
}

/* A fresh stack carved from p's slabs, or -errno. */
static int slab_carve(rt_stack_pool_t *p, rt_stack_t *out)
{
    size_t guard = page_size();
    size_t total = p->stack_size + guard;
    if (p->carve == p->carve_end) {
        int rc = slab_map(p);
        if (rc != 0)
            return rc;
    }
    if (p->carve >= p->prepared)
        slab_prepare(p, guard, total);
    out->map = p->carve;
    out->map_size = total;
    out->lo = p->carve + guard;
    out->size = p->stack_size;
    out->slab = true;
    out->guard_pending = p->carve >= p->prepared;
    p->carve += total;
    return 0;
}

bool rt_stack_pool_carves_slabs(const rt_stack_pool_t *p)
{
    /* Relaxed: see guard_markers_unsupported; the probe made when the
     * pool was created has settled it. */
    return p->slabs && !atomic_load_explicit(&guard_markers_unsupported,
                                             memory_order_relaxed);
}

int rt_stack_alloc(rt_stack_pool_t *p, rt_stack_t *out)
{
    if (p->ncached > 0) {
        *out = p->cache[--p->ncached];
        p->reuses++;
    } else if (p->ncold > 0) {
        *out = p->cold[--p->ncold];
        p->reuses++;
    } else {
        if (rt_stack_pool_carves_slabs(p)) {
            int rc = slab_carve(p, out);
            if (rc != 0)
                return rc;
        } else {
            if (p->nfresh == 0) {
                /* A batch only when spawning outruns the cache: a pool that
                 * keeps nothing (max_cached 0) maps one stack at a time. */
                size_t n = p->max_cached > 0 ? RT_STACK_POOL_BATCH : 1;
                size_t guard = GUARD_PAGES ? page_size() : 0;
                int rc = map_guarded_n(p->stack_size, guard, n, p->fresh);
                /* No room for a batch: one stack may still fit. */
                if (rc == -ENOMEM && n > 1)
                    rc = map_guarded_n(p->stack_size, guard, n = 1, p->fresh);
                if (rc != 0)
                    return rc;
                p->nfresh = n;
            }
            *out = p->fresh[--p->nfresh];
        }
        p->maps++;
    }
    p->allocations++;
    return 0;
}

void rt_stack_release(rt_stack_pool_t *p, rt_stack_t *s)
{
    RT_ASSERT(s->map != NULL);
    if (s->slab && s->size == p->stack_size) {
        if (p->ncached < p->max_cached) {
            p->cache[p->ncached++] = *s;
        } else {
            /* Keep the range (and its guard marker), drop its pages. */
            if (p->ncold == p->cold_cap) {
                size_t cap = p->cold_cap ? p->cold_cap * 2 : 1024;
                rt_stack_t *c = realloc(p->cold, cap * sizeof *c);
                if (c == NULL) {
                    /* Nowhere to keep it: it stays mapped, unused, until
                     * the slabs go. */
                    memset(s, 0, sizeof *s);
                    return;
                }
                p->cold = c;
                p->cold_cap = cap;
            }
            madvise(s->lo, s->size, MADV_DONTNEED);
            p->cold[p->ncold++] = *s;
            p->unmaps++;
        }
        memset(s, 0, sizeof *s);
        return;
    }
    RT_ASSERT(!s->slab);
    if (s->size == p->stack_size && p->ncached < p->max_cached) {
        p->cache[p->ncached++] = *s;
        memset(s, 0, sizeof *s);
        return;
    }
    rt_stack_unmap(s);
    p->unmaps++;
}

/* ---- Overflow reporting ---- */

/*
 * What the calling thread runs on now, for the signal handler.  Written
 * only by the owning thread (rt_stack_set_current) and read only by the
 * handler on the same thread, so plain stores plus a signal fence suffice.
 * initial-exec TLS: reading it in a handler never allocates.
 */
struct current_stack {
    uintptr_t guard_lo; /* == lo when there is no guard page */
    uintptr_t lo;       /* 0: the thread's own stack */
    size_t size;
    uint64_t task_id;
};
static __thread struct current_stack current
    __attribute__((tls_model("initial-exec")));

/*
 * The dispositions we displaced, and SIG_DFL ready made (so the handler
 * zeroes no struct, which could become an intercepted memset); written
 * once, before our handler is installed.
 */
static struct sigaction old_segv;
static struct sigaction old_bus;
static struct sigaction default_action;
static pthread_once_t install_once = PTHREAD_ONCE_INIT;
static int install_result;

/* The alternate stacks we made, freed at thread exit. */
static pthread_once_t altstack_key_once = PTHREAD_ONCE_INIT;
static pthread_key_t altstack_key;
static int altstack_key_result;

/*
 * noinline: a real call writes the calling thread's copy even if the
 * caller is a task that migrated since it last computed the address.
 */
RT_NOINLINE void rt_stack_set_current(const rt_stack_t *s, uint64_t task_id)
{
    if (s == NULL) {
        current.lo = 0;
    } else {
        current.guard_lo = (uintptr_t)s->map;
        current.lo = (uintptr_t)s->lo;
        current.size = s->size;
        current.task_id = task_id;
    }
    /*
     * Pairs with nothing but the compiler: a fault handler on this thread
     * must see these stores before any later code can fault, and a signal
     * fence keeps the compiler from sinking them past the call's return.
     */
    atomic_signal_fence(memory_order_release);
}

/* Decimal digits of v into buf (no terminator); returns the length. */
static SIGNAL_PATH size_t format_u64(char buf[20], uint64_t v)
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    for (size_t i = 0; i < n; i++)
        buf[i] = tmp[n - 1 - i];
    return n;
}

static SIGNAL_PATH void report_overflow(const struct current_stack *cur)
{
    static const char head[] = "concbench: task ";
    static const char mid[] = " overflowed its ";
    static const char tail[] = " KiB stack\n";
    char id[20], kib[20];
    struct iovec iov[5] = {
        {.iov_base = (void *)head, .iov_len = sizeof head - 1},
        {.iov_base = id, .iov_len = format_u64(id, cur->task_id)},
        {.iov_base = (void *)mid, .iov_len = sizeof mid - 1},
        {.iov_base = kib, .iov_len = format_u64(kib, cur->size / 1024)},
        {.iov_base = (void *)tail, .iov_len = sizeof tail - 1},
    };
    /*
     * One writev of well under PIPE_BUF bytes: the line reaches a pipe
     * whole, never interleaved with another thread's output.
     */
    while (syscall(SYS_writev, STDERR_FILENO, iov, 5) < 0 && errno == EINTR)
        continue;
}

static SIGNAL_PATH uintptr_t interrupted_sp(const void *uctx)
{
    const ucontext_t *uc = uctx;
#if defined(__x86_64__)
    return (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
#elif defined(__aarch64__)
    return (uintptr_t)uc->uc_mcontext.sp;
#else
    (void)uc;
    return 0;
#endif
}

static SIGNAL_PATH bool is_overflow(const struct current_stack *cur,
                                    uintptr_t addr, uintptr_t sp)
{
    if (cur->lo == 0)
        return false;
    if (addr >= cur->guard_lo && addr < cur->lo)
        return true;
    /*
     * Below the stack but not in its guard: believe it only if the stack
     * pointer is at the bottom of this stack too.
     */
    if (addr >= cur->lo || cur->lo - addr > SLACK_BYTES || sp == 0)
        return false;
    return sp >= cur->lo ? sp - cur->lo < SP_ABOVE_BYTES
                         : cur->lo - sp <= SLACK_BYTES;
}

/*
 * Hand the signal to the disposition we displaced.  A handler is called
 * directly (it may repair the fault and return, or report and exit, as
 * ASan's does).  For SIG_DFL/SIG_IGN the default is restored and we
 * return: a fault re-executes the faulting instruction and the default
 * action kills the process with the original signal; a signal sent by
 * kill() is re-raised, delivered as soon as the handler returns.
 */
static SIGNAL_PATH void chain(int sig, siginfo_t *si, void *uctx)
{
    const struct sigaction *old = sig == SIGBUS ? &old_bus : &old_segv;
    if (old->sa_flags & SA_SIGINFO) {
        if (old->sa_sigaction != NULL) {
            old->sa_sigaction(sig, si, uctx);
            return;
        }
    } else if (old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN) {
        old->sa_handler(sig);
        return;
    }
    sigaction(sig, &default_action, NULL);
    if (si->si_code <= 0)
        raise(sig);
}

static SIGNAL_PATH void overflow_handler(int sig, siginfo_t *si, void *uctx)
{
    int saved_errno = errno;
    /* si_code > 0: raised by the kernel for a fault, not sent by kill(). */
    if (si->si_code > 0 &&
        is_overflow(&current, (uintptr_t)si->si_addr, interrupted_sp(uctx)))
        report_overflow(&current);
    chain(sig, si, uctx);
    errno = saved_errno;
}

static void install(void)
{
    /*
     * Read the old dispositions first, so that they are in place before
     * our handler can run.
     */
    if (sigaction(SIGSEGV, NULL, &old_segv) != 0 ||
        sigaction(SIGBUS, NULL, &old_bus) != 0) {
        install_result = -errno;
        return;
    }
    default_action.sa_handler = SIG_DFL;
    sigemptyset(&default_action.sa_mask);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = overflow_handler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSEGV, &sa, NULL) != 0) {
        install_result = -errno;
        return;
    }
    if (sigaction(SIGBUS, &sa, NULL) != 0) {
        install_result = -errno;
        sigaction(SIGSEGV, &old_segv, NULL);
    }
}

int rt_stack_overflow_handler_install(void)
{
    pthread_once(&install_once, install);
    return install_result;
}

static size_t altstack_size(void)
{
    long min = sysconf(_SC_SIGSTKSZ);
    size_t want = min > 0 ? 4 * (size_t)min : 0;
    if (want < ALTSTACK_MIN_SIZE)
        want = ALTSTACK_MIN_SIZE;
    size_t ps = page_size();
    return (want + ps - 1) & ~(ps - 1);
}

/* Disable our alternate stack if still installed, then unmap it. */
static void altstack_free(void *map)
{
    size_t guard = page_size();
    size_t usable = altstack_size();
    stack_t cur;
    if (sigaltstack(NULL, &cur) == 0 && cur.ss_sp == (char *)map + guard) {
        stack_t off;
        memset(&off, 0, sizeof off);
        off.ss_flags = SS_DISABLE;
        sigaltstack(&off, NULL);
    }
    munmap(map, usable + guard);
}

static void altstack_key_make(void)
{
    altstack_key_result = -pthread_key_create(&altstack_key, altstack_free);
}

int rt_stack_thread_init(void)
{
    stack_t cur;
    if (sigaltstack(NULL, &cur) != 0)
        return -errno;
    if (!(cur.ss_flags & SS_DISABLE))
        return 0;
    pthread_once(&altstack_key_once, altstack_key_make);
    if (altstack_key_result != 0)
        return altstack_key_result;

    /*
     * Always guarded, whatever CB_NO_GUARD_PAGES says: an overflowing
     * handler must crash, not scribble.
     */
    rt_stack_t alt;
    int rc = map_guarded(altstack_size(), page_size(), &alt);
    if (rc != 0)
        return rc;
    stack_t ss;
    memset(&ss, 0, sizeof ss);
    ss.ss_sp = alt.lo;
    ss.ss_size = alt.size;
    if (sigaltstack(&ss, NULL) != 0) {
        rc = -errno;
        munmap(alt.map, alt.map_size);
        return rc;
    }
    rc = -pthread_setspecific(altstack_key, alt.map);
    if (rc != 0) {
        altstack_free(alt.map);
        return rc;
    }
    return 0;
}

void rt_stack_thread_term(void)
{
    pthread_once(&altstack_key_once, altstack_key_make);
    if (altstack_key_result != 0)
        return;
    void *map = pthread_getspecific(altstack_key);
    if (map == NULL)
        return;
    pthread_setspecific(altstack_key, NULL);
    altstack_free(map);
}
