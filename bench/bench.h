/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * What every microbenchmark shares: a header line naming the build that
 * produced the figures, and the median that summarises repeated runs (one
 * descheduled run on a shared machine must not move a figure).
 */
#ifndef CB_BENCH_H
#define CB_BENCH_H

#include <stdio.h>
#include <stdlib.h>

#define BENCH_STR_(x) #x
#define BENCH_STR(x) BENCH_STR_(x)
#if defined(__OPTIMIZE__) && defined(NDEBUG)
#define BENCH_BUILD_KIND "optimized+NDEBUG (Release)"
#elif defined(__OPTIMIZE__)
#define BENCH_BUILD_KIND "optimized"
#else
#define BENCH_BUILD_KIND "unoptimized (Debug)"
#endif
#if defined(__clang__)
#define BENCH_COMPILER                                                         \
    "clang " BENCH_STR(__clang_major__) "." BENCH_STR(                         \
        __clang_minor__) "." BENCH_STR(__clang_patchlevel__)
#else
#define BENCH_COMPILER "gcc " __VERSION__
#endif
#if defined(CB_SANITIZE_ADDRESS)
#define BENCH_SANITIZER "address"
#elif defined(CB_SANITIZE_THREAD)
#define BENCH_SANITIZER "thread"
#else
#define BENCH_SANITIZER "none"
#endif
#if defined(CB_NO_GUARD_PAGES)
#define BENCH_GUARD_PAGES "off"
#else
#define BENCH_GUARD_PAGES "on"
#endif

/* One comment line saying what build produced the figures below. */
static inline void bench_print_build(const char *name)
{
    printf("# %s: build=%s compiler=%s sanitizer=%s guard_pages=%s\n", name,
           BENCH_BUILD_KIND, BENCH_COMPILER, BENCH_SANITIZER,
           BENCH_GUARD_PAGES);
}

static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts v in place; returns the middle element (the upper one of two). */
static inline double bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
    return v[n / 2];
}

#endif
