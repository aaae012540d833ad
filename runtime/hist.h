/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * A log-linear latency histogram in the manner of HdrHistogram.
 *
 * Values are unsigned 64-bit integers (nanoseconds, usually).  Each power of
 * two [2^k, 2^(k+1)) is split into RT_HIST_SUB_BUCKETS equal sub-buckets, so
 * the width of the bucket holding v is at most v / RT_HIST_SUB_BUCKETS and a
 * percentile read back from the histogram is within 1/128 < 1% of the true
 * value, and never below it.  Values below 2 * RT_HIST_SUB_BUCKETS are
 * recorded exactly.  Recording is branch-free index arithmetic (a clz and
 * a shift) and costs ~2 ns (bench_hist); a histogram is ~58 KiB.
 *
 * Invariants:
 *   - a histogram has one writer at a time; per-task or per-worker
 *     histograms are merged with rt_hist_merge once the writers are done;
 *   - count == the sum of all bucket counts; min and max are exact;
 *   - rt_hist_percentile(h, p) returns the highest value equivalent to the
 *     bucket containing the ceil(p/100 * count)-th smallest recorded value,
 *     clamped to [min, max]; the rank is at least 1 (p = 0 gives min), a
 *     p outside [0, 100] is clamped, and a product p/100 * count within
 *     a relative 1e-9 of an integer counts as that integer, so that 99.9%
 *     of 1000 samples is rank 999 despite binary rounding.
 *
 * Rejected: a fixed linear histogram (cannot cover 1 ns to minutes without
 * megabytes), storing raw samples (unbounded memory over long runs, and a
 * sort at the end), and t-digest (not exactly mergeable).
 */
#ifndef RT_HIST_H
#define RT_HIST_H

#include <stdbool.h>
#include <stdint.h>

#define RT_HIST_SUB_BITS 7
#define RT_HIST_SUB_BUCKETS (1u << RT_HIST_SUB_BITS)

typedef struct rt_hist rt_hist_t;

/* A new, empty histogram, or NULL when out of memory. */
rt_hist_t *rt_hist_new(void);
void rt_hist_free(rt_hist_t *h);
void rt_hist_reset(rt_hist_t *h);

void rt_hist_record(rt_hist_t *h, uint64_t value);
void rt_hist_record_n(rt_hist_t *h, uint64_t value, uint64_t count);
/* Add every sample of src to dst. */
void rt_hist_merge(rt_hist_t *dst, const rt_hist_t *src);

uint64_t rt_hist_count(const rt_hist_t *h);
uint64_t rt_hist_min(const rt_hist_t *h); /* 0 when empty */
uint64_t rt_hist_max(const rt_hist_t *h); /* 0 when empty */
double rt_hist_mean(const rt_hist_t *h);  /* 0 when empty */
/* p in [0, 100]; 0 when empty. */
uint64_t rt_hist_percentile(const rt_hist_t *h, double p);

/*
 * Calls fn once per non-empty bucket in increasing order with the bucket's
 * inclusive bounds [lo, hi] and its count; this is what a CDF is redrawn
 * from.  Stops early and returns fn's value when fn returns non-zero.
 */
int rt_hist_foreach(const rt_hist_t *h,
                    int (*fn)(uint64_t lo, uint64_t hi, uint64_t count,
                              void *ctx),
                    void *ctx);

#endif
