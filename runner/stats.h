/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Statistics over repetitions: what summary.csv reports and what compare
 * decides with.  Everything is deterministic for a given seed (the
 * bootstrap draws from splitmix64), so two runs of `compare` on the same
 * files print the same intervals.
 */
#ifndef CB_RUNNER_STATS_H
#define CB_RUNNER_STATS_H

#include <stddef.h>
#include <stdint.h>

/* Resamples per bootstrap interval: 2000 keeps the 2.5% and 97.5%
 * percentiles within about 1% of their limit (Efron & Tibshirani, ch. 13)
 * and costs well under a millisecond for a dozen repetitions. */
#define STATS_BOOTSTRAP 2000

typedef struct stats {
    size_t n;
    double mean, median, min, max;
    double sd;  /* sample standard deviation (n - 1), 0 when n < 2 */
    double mad; /* median absolute deviation from the median, unscaled */
    double cv;  /* sd / |mean|; NaN when the mean is 0 */
    double ci_lo, ci_hi; /* bootstrap 95% interval of the median */
} stats_t;

double stats_median(const double *x, size_t n); /* NaN when n == 0 */
/* Fill *s from x[0..n); NaN fields when n == 0 (the interval needs 2). */
void stats_summary(const double *x, size_t n, uint64_t seed, stats_t *s);
/* Bootstrap 95% interval of median(b) / median(a), resampling each side
 * independently; NaN when either side has fewer than 2 values or a
 * resampled median of a is 0. */
void stats_ratio_ci(const double *a, size_t na, const double *b, size_t nb,
                    uint64_t seed, double *lo, double *hi);
/*
 * Two-sided Mann-Whitney U test of a against b.  *u is U for a (the
 * number of pairs where a wins, ties counting one half).  The p-value is
 * exact (the null distribution counted by recursion) when there are no
 * ties and both samples have at most 50 values, otherwise the normal
 * approximation with tie and continuity corrections.  Returns the
 * smallest p-value the test could give for these sample sizes, so the
 * caller can tell "no difference" from "too few repetitions to tell".
 */
double stats_mann_whitney(const double *a, size_t na, const double *b,
                          size_t nb, double *u, double *p);

#endif
