/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Stack costs: alloc+release from a warm pool, the same with the top page
 * touched as a starting task would, what the pool would add per reuse if
 * it gave parked stacks back with madvise(MADV_DONTNEED) (the syscall plus
 * the page fault that re-commits the page), and a cold mmap + mprotect
 * (guard) + munmap for comparison; and a fresh stack from a slab pool,
 * readied and touched.  These figures are where the pool's "no madvise"
 * decision and the slabs' batches in runtime/stack.h come from.  Each is the median
 * of RUNS runs, in ns per operation.
 */
#include "bench/bench.h"
#include "runtime/clock.h"
#include "runtime/stack.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define RUNS 7
#define WARM_OPS 10000000L
#define SLOW_OPS 100000L
#define STACK_SIZE ((size_t)64 * 1024)

static void die(const char *what)
{
    fprintf(stderr, "bench_stack: %s failed\n", what);
    exit(1);
}

static void touch_top(const rt_stack_t *s)
{
    ((volatile char *)s->lo)[s->size - 64] = 1;
}

enum mode { PLAIN, TOUCH, MADVISE };

static double pool_ns(rt_stack_pool_t *p, enum mode mode, long ops)
{
    rt_stack_t s;
    int64_t t0 = rt_now_ns();
    for (long i = 0; i < ops; i++) {
        if (rt_stack_alloc(p, &s) != 0)
            die("rt_stack_alloc");
        if (mode != PLAIN)
            touch_top(&s);
        if (mode == MADVISE && madvise(s.lo, s.size, MADV_DONTNEED) != 0)
            die("madvise");
        rt_stack_release(p, &s);
    }
    return (double)(rt_now_ns() - t0) / (double)ops;
}

static double cold_ns(bool touch, long ops)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t total = STACK_SIZE + page;
    int64_t t0 = rt_now_ns();
    for (long i = 0; i < ops; i++) {
        char *m = mmap(NULL, total, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK,
                       -1, 0);
        if (m == MAP_FAILED)
            die("mmap");
        if (mprotect(m, page, PROT_NONE) != 0)
            die("mprotect");
        if (touch)
            ((volatile char *)m)[total - 64] = 1;
        munmap(m, total);
    }
    return (double)(rt_now_ns() - t0) / (double)ops;
}

/* Fresh stacks from a pool, none released until the end: what a spawn
 * burst pays per stack (batched mmap, a guard each, optionally the first
 * touch). */
static double fresh_ns(bool touch, long ops)
{
    rt_stack_pool_t *p;
    rt_stack_t *s = calloc((size_t)ops, sizeof *s);
    if (!s || rt_stack_pool_new(&p, STACK_SIZE, 64) != 0)
        die("rt_stack_pool_new");
    int64_t t0 = rt_now_ns();
    for (long i = 0; i < ops; i++) {
        if (rt_stack_alloc(p, &s[i]) != 0)
            die("rt_stack_alloc");
        if (touch)
            touch_top(&s[i]);
    }
    double ns = (double)(rt_now_ns() - t0) / (double)ops;
    for (long i = 0; i < ops; i++)
        rt_stack_unmap(&s[i]);
    rt_stack_pool_free(p);
    free(s);
    return ns;
}

/* Fresh stacks from a slab pool, each readied and its top page touched,
 * as a task's first run does: their guards and top pages come in batches
 * where the kernel allows it (runtime/stack.h, "Slabs"). */
static double slab_fresh_ns(long ops)
{
    rt_stack_pool_t *p;
    rt_stack_t *s = calloc((size_t)ops, sizeof *s);
    if (!s || rt_stack_pool_new_slabs(&p, STACK_SIZE, 64) != 0)
        die("rt_stack_pool_new_slabs");
    int64_t t0 = rt_now_ns();
    for (long i = 0; i < ops; i++) {
        if (rt_stack_alloc(p, &s[i]) != 0 || rt_stack_ready(&s[i]) != 0)
            die("rt_stack_alloc");
        touch_top(&s[i]);
    }
    double ns = (double)(rt_now_ns() - t0) / (double)ops;
    for (long i = 0; i < ops; i++)
        rt_stack_release(p, &s[i]);
    rt_stack_pool_free(p);
    free(s);
    return ns;
}

int main(void)
{
    bench_print_build("bench_stack");
    printf("stack_size_kib: %zu\n", STACK_SIZE / 1024);
    rt_stack_pool_t *p;
    if (rt_stack_pool_new(&p, STACK_SIZE, 64) != 0)
        die("rt_stack_pool_new");
    double v[RUNS];

    pool_ns(p, TOUCH, 1000); /* warm the cache */
    for (int r = 0; r < RUNS; r++)
        v[r] = pool_ns(p, PLAIN, WARM_OPS);
    printf("stack_pool_alloc_release_ns: %.1f\n", bench_median(v, RUNS));
    for (int r = 0; r < RUNS; r++)
        v[r] = pool_ns(p, TOUCH, WARM_OPS);
    printf("stack_pool_alloc_touch_release_ns: %.1f\n", bench_median(v, RUNS));
    for (int r = 0; r < RUNS; r++)
        v[r] = pool_ns(p, MADVISE, SLOW_OPS);
    printf("stack_pool_alloc_touch_madvise_release_ns: %.1f\n",
           bench_median(v, RUNS));

    for (int r = 0; r < RUNS; r++)
        v[r] = cold_ns(false, SLOW_OPS);
    printf("stack_mmap_mprotect_munmap_ns: %.1f\n", bench_median(v, RUNS));
    for (int r = 0; r < RUNS; r++)
        v[r] = cold_ns(true, SLOW_OPS);
    printf("stack_mmap_mprotect_touch_munmap_ns: %.1f\n",
           bench_median(v, RUNS));

    for (int r = 0; r < RUNS; r++)
        v[r] = fresh_ns(false, SLOW_OPS);
    printf("stack_pool_fresh_alloc_ns: %.1f\n", bench_median(v, RUNS));
    for (int r = 0; r < RUNS; r++)
        v[r] = fresh_ns(true, SLOW_OPS);
    printf("stack_pool_fresh_alloc_touch_ns: %.1f\n", bench_median(v, RUNS));
    for (int r = 0; r < RUNS; r++)
        v[r] = slab_fresh_ns(SLOW_OPS / 10);
    printf("stack_slab_fresh_ready_touch_ns: %.1f\n", bench_median(v, RUNS));

    rt_stack_pool_stats_t st;
    rt_stack_pool_stats(p, &st);
    printf("stack_pool_maps: %llu\n", (unsigned long long)st.maps);
    rt_stack_pool_free(p);
    return 0;
}
