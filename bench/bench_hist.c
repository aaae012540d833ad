/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * What a latency sample costs: rt_hist_record per value, a percentile
 * query on a filled histogram, and a merge of two filled histograms.
 * Each figure is the median of RUNS runs, so one descheduled run on a
 * shared machine does not move it.
 *
 * The values cycle through a 64 Ki table (512 KiB, cache resident) of
 * log-normal-ish samples spanning 1 ns to minutes, so the record loop
 * pays for the bucket arithmetic and the counter update, not for memory
 * bandwidth or a random number generator.
 */
#include "bench/bench.h"
#include "runtime/clock.h"
#include "runtime/hist.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define RUNS 7
#define NVALUES (64 * 1024)
#define RECORDS (10 * 1000 * 1000)
#define QUERIES (200 * 1000)
#define MERGES 20000

static uint64_t values[NVALUES];

static uint64_t rng(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

int main(void)
{
    bench_print_build("bench_hist");
    uint64_t s = 42;
    for (int i = 0; i < NVALUES; i++) {
        /* 2^(0 .. 36) times a uniform mantissa: 1 ns to about a minute. */
        int e = (int)(rng(&s) % 37);
        double m = 1.0 + (double)(rng(&s) >> 11) * 0x1.0p-53;
        values[i] = (uint64_t)ldexp(m, e);
    }
    rt_hist_t *h = rt_hist_new(), *other = rt_hist_new();
    if (!h || !other) {
        fprintf(stderr, "bench_hist: out of memory\n");
        return 1;
    }

    double t[RUNS];
    for (int r = 0; r < RUNS; r++) {
        rt_hist_reset(h);
        int64_t t0 = rt_now_ns();
        for (int i = 0; i < RECORDS; i++)
            rt_hist_record(h, values[i & (NVALUES - 1)]);
        t[r] = (double)(rt_now_ns() - t0) / RECORDS;
    }
    printf("hist_record_ns: %.2f\n", bench_median(t, RUNS));

    /* p cycles through the usual report points; the sum keeps it live. */
    static const double ps[] = {50, 90, 99, 99.9, 99.99, 100};
    uint64_t sink = 0;
    for (int r = 0; r < RUNS; r++) {
        int64_t t0 = rt_now_ns();
        for (int i = 0; i < QUERIES; i++)
            sink += rt_hist_percentile(h, ps[i % 6]);
        t[r] = (double)(rt_now_ns() - t0) / QUERIES;
    }
    printf("hist_percentile_ns: %.1f\n", bench_median(t, RUNS));

    for (int i = 0; i < NVALUES; i++)
        rt_hist_record(other, values[i] / 3 + 1);
    for (int r = 0; r < RUNS; r++) {
        int64_t t0 = rt_now_ns();
        for (int i = 0; i < MERGES; i++)
            rt_hist_merge(h, other);
        t[r] = (double)(rt_now_ns() - t0) / MERGES;
    }
    printf("hist_merge_ns: %.0f\n", bench_median(t, RUNS));

    for (int r = 0; r < RUNS; r++) {
        int64_t t0 = rt_now_ns();
        rt_hist_t *x = rt_hist_new();
        rt_hist_free(x);
        t[r] = (double)(rt_now_ns() - t0);
    }
    printf("hist_new_free_ns: %.0f\n", bench_median(t, RUNS));

    rt_hist_free(h);
    rt_hist_free(other);
    return sink == 42 ? 2 : 0;
}
