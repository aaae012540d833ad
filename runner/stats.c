/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Medians, spreads, bootstrap intervals and the Mann-Whitney U test.
 *
 * Why these: benchmark repetitions are not normal (a right tail from
 * interference, sometimes two modes from placement), so the centre is the
 * median, the spread the MAD, the interval a percentile bootstrap and the
 * test rank-based (as Google Benchmark's compare.py does with its U test).
 * Rejected: Student's t (assumes normality, a single outlier moves it) and
 * reporting the mean with a standard error (the same problem).
 */
#include "runner/stats.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of an already sorted array. */
static double sorted_median(const double *v, size_t n)
{
    if (n == 0)
        return NAN;
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double stats_median(const double *x, size_t n)
{
    if (n == 0)
        return NAN;
    double *v = malloc(n * sizeof *v);
    if (!v)
        return NAN;
    memcpy(v, x, n * sizeof *v);
    qsort(v, n, sizeof *v, cmp_double);
    double m = sorted_median(v, n);
    free(v);
    return m;
}

static uint64_t next(uint64_t *s)
{
    /* splitmix64 (Steele, Lea, Flood 2014): one state word, passes
     * BigCrush, and is what cb_wl_mix uses for seeds as well. */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Median of one resample of x (with replacement) into scratch. */
static double resample_median(const double *x, size_t n, double *scratch,
                              uint64_t *s)
{
    for (size_t i = 0; i < n; i++)
        scratch[i] = x[next(s) % n];
    qsort(scratch, n, sizeof *scratch, cmp_double);
    return sorted_median(scratch, n);
}

/* The 2.5% and 97.5% points of a sorted bootstrap distribution. */
static void percentile_interval(double *d, size_t n, double *lo, double *hi)
{
    qsort(d, n, sizeof *d, cmp_double);
    *lo = d[(size_t)floor(0.025 * (double)(n - 1))];
    *hi = d[(size_t)ceil(0.975 * (double)(n - 1))];
}

void stats_summary(const double *x, size_t n, uint64_t seed, stats_t *s)
{
    memset(s, 0, sizeof *s);
    s->n = n;
    s->mean = s->median = s->min = s->max = s->mad = s->cv = NAN;
    s->ci_lo = s->ci_hi = NAN;
    if (n == 0)
        return;
    double *v = malloc(2 * n * sizeof *v);
    double *boot = malloc(STATS_BOOTSTRAP * sizeof *boot);
    if (!v || !boot)
        goto out;
    memcpy(v, x, n * sizeof *v);
    qsort(v, n, sizeof *v, cmp_double);
    s->min = v[0];
    s->max = v[n - 1];
    s->median = sorted_median(v, n);
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += v[i];
    s->mean = sum / (double)n;
    double ss = 0;
    for (size_t i = 0; i < n; i++)
        ss += (v[i] - s->mean) * (v[i] - s->mean);
    s->sd = n > 1 ? sqrt(ss / (double)(n - 1)) : 0;
    s->cv = s->mean != 0 ? s->sd / fabs(s->mean) : NAN;
    double *dev = v + n;
    for (size_t i = 0; i < n; i++)
        dev[i] = fabs(v[i] - s->median);
    qsort(dev, n, sizeof *dev, cmp_double);
    s->mad = sorted_median(dev, n);
    if (n >= 2) {
        uint64_t st = seed;
        for (size_t b = 0; b < STATS_BOOTSTRAP; b++)
            boot[b] = resample_median(v, n, dev, &st);
        percentile_interval(boot, STATS_BOOTSTRAP, &s->ci_lo, &s->ci_hi);
    }
out:
    free(v);
    free(boot);
}

void stats_ratio_ci(const double *a, size_t na, const double *b, size_t nb,
                    uint64_t seed, double *lo, double *hi)
{
    *lo = *hi = NAN;
    if (na < 2 || nb < 2)
        return;
    double *sa = malloc(na * sizeof *sa), *sb = malloc(nb * sizeof *sb);
    double *boot = malloc(STATS_BOOTSTRAP * sizeof *boot);
    uint64_t st = seed;
    if (!sa || !sb || !boot)
        goto out;
    for (size_t i = 0; i < STATS_BOOTSTRAP; i++) {
        double ma = resample_median(a, na, sa, &st);
        double mb = resample_median(b, nb, sb, &st);
        if (ma == 0)
            goto out;
        boot[i] = mb / ma;
    }
    percentile_interval(boot, STATS_BOOTSTRAP, lo, hi);
out:
    free(sa);
    free(sb);
    free(boot);
}

/*
 * Null distribution of U for sample sizes m and n without ties:
 * f(m, n, k) = f(m-1, n, k-n) + f(m, n-1, k), the number of orderings in
 * which the m values of a beat k pairs.  Counts as doubles: C(100, 50) is
 * about 1e29, far inside a double's range, and the probabilities need
 * ~1e-3 relative accuracy at most.  Returns the cumulative P(U <= k) for
 * every k in cdf[0..m*n], or false when out of memory.
 */
static bool u_null_cdf(size_t m, size_t n, double *cdf)
{
    size_t K = m * n + 1;
    /* prev[j][k] = f(i-1, j, k), cur[j][k] = f(i, j, k), j = 0..n. */
    double *prev = calloc((n + 1) * K, sizeof *prev);
    double *cur = calloc((n + 1) * K, sizeof *cur);
    if (!prev || !cur) {
        free(prev);
        free(cur);
        return false;
    }
    for (size_t j = 0; j <= n; j++)
        prev[j * K] = 1; /* f(0, j, 0) = 1 */
    for (size_t i = 1; i <= m; i++) {
        memset(cur, 0, (n + 1) * K * sizeof *cur);
        cur[0] = 1; /* f(i, 0, 0) = 1 */
        for (size_t j = 1; j <= n; j++)
            for (size_t k = 0; k <= i * j; k++) {
                double v = cur[(j - 1) * K + k];
                if (k >= j)
                    v += prev[j * K + k - j];
                cur[j * K + k] = v;
            }
        double *t = prev;
        prev = cur;
        cur = t;
    }
    double total = 0;
    for (size_t k = 0; k < K; k++)
        total += prev[n * K + k];
    double acc = 0;
    for (size_t k = 0; k < K; k++) {
        acc += prev[n * K + k];
        cdf[k] = acc / total;
    }
    free(prev);
    free(cur);
    return true;
}

typedef struct ranked {
    double v;
    int side;
} ranked_t;

static int cmp_ranked(const void *a, const void *b)
{
    return cmp_double(&((const ranked_t *)a)->v, &((const ranked_t *)b)->v);
}

double stats_mann_whitney(const double *a, size_t na, const double *b,
                          size_t nb, double *u, double *p)
{
    *u = NAN;
    *p = NAN;
    if (na == 0 || nb == 0)
        return 1;
    size_t N = na + nb;
    ranked_t *r = malloc(N * sizeof *r);
    if (!r)
        return 1;
    for (size_t i = 0; i < na; i++)
        r[i] = (ranked_t){a[i], 0};
    for (size_t i = 0; i < nb; i++)
        r[na + i] = (ranked_t){b[i], 1};
    qsort(r, N, sizeof *r, cmp_ranked);
    /* Rank sum of a with mid-ranks for ties; tie term for the variance. */
    double ra = 0, ties = 0;
    bool any_tie = false;
    for (size_t i = 0; i < N;) {
        size_t j = i;
        while (j < N && r[j].v == r[i].v)
            j++;
        double t = (double)(j - i);
        double mid = ((double)i + (double)j + 1) / 2; /* ranks are 1-based */
        for (size_t k = i; k < j; k++)
            if (r[k].side == 0)
                ra += mid;
        if (t > 1) {
            any_tie = true;
            ties += t * t * t - t;
        }
        i = j;
    }
    free(r);
    double m = (double)na, n = (double)nb;
    *u = ra - m * (m + 1) / 2;
    double mu = m * n / 2;
    if (!any_tie && na <= 50 && nb <= 50) {
        double *cdf = malloc((na * nb + 1) * sizeof *cdf);
        if (cdf && u_null_cdf(na, nb, cdf)) {
            size_t k = (size_t)llround(*u);
            double lower = cdf[k];
            double upper = k ? 1 - cdf[k - 1] : 1;
            *p = fmin(1, 2 * fmin(lower, upper));
            double floor_p = fmin(1, 2 * cdf[0]);
            free(cdf);
            return floor_p;
        }
        free(cdf);
    }
    double Nd = (double)N;
    double var = m * n / 12 * ((Nd + 1) - ties / (Nd * (Nd - 1)));
    if (var <= 0) { /* every value equal: no evidence either way */
        *p = 1;
        return 1;
    }
    double sd = sqrt(var);
    double z = fmax(0, fabs(*u - mu) - 0.5) / sd;
    *p = fmin(1, erfc(z / sqrt(2)));
    return fmin(1, erfc(fmax(0, mu - 0.5) / sd / sqrt(2)));
}
