/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * The histogram against the exact answer: every distribution is also kept
 * as raw samples, sorted, and each percentile is compared with the sample
 * at rank ceil(p/100 * count), which is what the header promises to
 * approximate from above within 1%.
 */
#include "cb_test.h"
#include "runtime/hist.h"

#include <math.h>

#define NSAMPLES 200000

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

/* splitmix64: deterministic, so a failure reproduces. */
static uint64_t rng(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static double rng_unit(void)
{
    return (double)(rng() >> 11) * 0x1.0p-53;
}

/* exp of a normal deviate: latencies look roughly like this. */
static uint64_t rng_lognormal(double mu, double sigma)
{
    double u1 = rng_unit(), u2 = rng_unit();
    if (u1 < 1e-300)
        u1 = 1e-300;
    double z = sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
    double v = exp(mu + sigma * z);
    return v >= 1.8e19 ? UINT64_MAX : (uint64_t)v;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Percentiles as num/den percent, so the reference rank is exact. */
static const struct {
    uint64_t num, den;
} pcts[] = {{0, 1},      {1, 1000},     {1, 1},  {10, 1}, {25, 1},
            {50, 1},     {75, 1},       {90, 1}, {99, 1}, {999, 10},
            {9999, 100}, {99999, 1000}, {100, 1}};

static uint64_t exact_percentile(const uint64_t *sorted, uint64_t n,
                                 uint64_t num, uint64_t den)
{
    unsigned __int128 x = (unsigned __int128)num * n;
    uint64_t d = den * 100;
    uint64_t rank = (uint64_t)((x + d - 1) / d);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return sorted[rank - 1];
}

static double exact_mean(const uint64_t *v, uint64_t n)
{
    unsigned __int128 sum = 0;
    for (uint64_t i = 0; i < n; i++)
        sum += v[i];
    return (double)(sum / n) + (double)(uint64_t)(sum % n) / (double)n;
}

struct walk {
    uint64_t total;
    uint64_t prev_hi;
    int calls;
    int stop_after;
};

static int walk_fn(uint64_t lo, uint64_t hi, uint64_t count, void *ctx)
{
    struct walk *w = ctx;
    CHECK_LE(lo, hi);
    CHECK_GT(count, 0);
    if (w->calls > 0)
        CHECK(lo > w->prev_hi);
    w->prev_hi = hi;
    w->total += count;
    w->calls++;
    return w->stop_after && w->calls == w->stop_after ? 42 : 0;
}

/* Record v, then check the histogram against the sorted samples. */
static void check_against(const char *name, uint64_t *v, uint64_t n)
{
    rt_hist_t *h = rt_hist_new();
    CHECK(h != NULL);
    for (uint64_t i = 0; i < n; i++)
        rt_hist_record(h, v[i]);
    qsort(v, n, sizeof *v, cmp_u64);

    CHECK_EQ(rt_hist_count(h), n);
    CHECK(rt_hist_min(h) == v[0]);
    CHECK(rt_hist_max(h) == v[n - 1]);
    double m = rt_hist_mean(h), em = exact_mean(v, n);
    if (fabs(m - em) > 1e-12 * em)
        CB_FAIL_("%s: mean %.17g, exact %.17g", name, m, em);

    for (size_t i = 0; i < sizeof pcts / sizeof pcts[0]; i++) {
        double p = (double)pcts[i].num / (double)pcts[i].den;
        uint64_t got = rt_hist_percentile(h, p);
        uint64_t want = exact_percentile(v, n, pcts[i].num, pcts[i].den);
        /* The highest equivalent value: never below the true one. */
        if (got < want)
            CB_FAIL_("%s: p%g = %" PRIu64 " below exact %" PRIu64, name, p, got,
                     want);
        double rel = want ? (double)(got - want) / (double)want : 0.0;
        if (rel > 0.01 || (want < 256 && got != want))
            CB_FAIL_("%s: p%g = %" PRIu64 ", exact %" PRIu64
                     ", relative error %g",
                     name, p, got, want, rel);
    }

    struct walk w = {0};
    CHECK_EQ(rt_hist_foreach(h, walk_fn, &w), 0);
    CHECK_EQ(w.total, n);
    rt_hist_free(h);
}

static void test_distributions(void)
{
    uint64_t *v = malloc(NSAMPLES * sizeof *v);
    CHECK(v != NULL);

    for (int i = 0; i < NSAMPLES; i++)
        v[i] = rng();
    check_against("uniform 64-bit", v, NSAMPLES);

    for (int i = 0; i < NSAMPLES; i++)
        v[i] = 1000 + rng() % 1000000000u;
    check_against("uniform 1e3..1e9", v, NSAMPLES);

    for (int i = 0; i < NSAMPLES; i++)
        v[i] = rng_lognormal(10.0, 2.0);
    check_against("log-normal", v, NSAMPLES);

    for (int i = 0; i < NSAMPLES; i++)
        v[i] = rng_lognormal(3.0, 1.0);
    check_against("log-normal small", v, NSAMPLES);

    for (int i = 0; i < NSAMPLES; i++)
        v[i] = 123456789;
    check_against("constant", v, NSAMPLES);

    for (int i = 0; i < NSAMPLES; i++)
        v[i] = rng() % 128;
    check_against("small exact", v, NSAMPLES);

    /* Few samples: ranks are coarse and the clamp to min/max matters. */
    for (uint64_t n = 1; n <= 7; n++) {
        for (uint64_t i = 0; i < n; i++)
            v[i] = rng() >> (rng() % 64);
        check_against("tiny", v, n);
    }
    free(v);
}

/* Every bucket is at most v/128 wide, and values below 256 are exact. */
static int width_fn(uint64_t lo, uint64_t hi, uint64_t count, void *ctx)
{
    uint64_t v = *(uint64_t *)ctx;
    CHECK(lo <= v && v <= hi);
    CHECK_EQ(count, 1);
    if (v < 256)
        CHECK(lo == hi);
    else
        CHECK(hi - lo < v / 128);
    return 0;
}

static void test_bucket_widths(void)
{
    rt_hist_t *h = rt_hist_new();
    CHECK(h != NULL);
    for (int shift = 0; shift < 64; shift++) {
        uint64_t base = UINT64_C(1) << shift;
        uint64_t probes[] = {base - 1, base, base + 1, base + base / 2,
                             rng() >> (63 - shift)};
        for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
            uint64_t x = probes[i];
            rt_hist_reset(h);
            rt_hist_record(h, x);
            CHECK_EQ(rt_hist_foreach(h, width_fn, &x), 0);
            /* One sample: every percentile is that sample. */
            CHECK(rt_hist_percentile(h, 0) == x);
            CHECK(rt_hist_percentile(h, 50) == x);
            CHECK(rt_hist_percentile(h, 100) == x);
        }
    }
    rt_hist_free(h);
}

static void test_edges(void)
{
    rt_hist_t *h = rt_hist_new();
    CHECK(h != NULL);
    CHECK_EQ(rt_hist_count(h), 0);
    CHECK_EQ(rt_hist_min(h), 0);
    CHECK_EQ(rt_hist_max(h), 0);
    CHECK(rt_hist_mean(h) == 0.0);
    CHECK_EQ(rt_hist_percentile(h, 50), 0);

    rt_hist_record(h, 0);
    rt_hist_record(h, UINT64_MAX);
    CHECK_EQ(rt_hist_count(h), 2);
    CHECK(rt_hist_min(h) == 0);
    CHECK(rt_hist_max(h) == UINT64_MAX);
    CHECK(rt_hist_percentile(h, 0) == 0);
    CHECK(rt_hist_percentile(h, 50) == 0);
    CHECK(rt_hist_percentile(h, 50.1) == UINT64_MAX);
    CHECK(rt_hist_percentile(h, 100) == UINT64_MAX);
    /* Out-of-range p is clamped rather than trusted. */
    CHECK(rt_hist_percentile(h, -5) == 0);
    CHECK(rt_hist_percentile(h, 250) == UINT64_MAX);
    CHECK(rt_hist_mean(h) == 0x1.0p63);

    /* The 128-bit sum does not wrap on many huge values. */
    rt_hist_record_n(h, UINT64_MAX, 1000);
    CHECK_EQ(rt_hist_count(h), 1002);
    CHECK(rt_hist_mean(h) > 0x1.fcp63);

    /* Zero samples change nothing, not even min. */
    rt_hist_reset(h);
    rt_hist_record_n(h, 5, 0);
    CHECK_EQ(rt_hist_count(h), 0);
    CHECK_EQ(rt_hist_min(h), 0);
    rt_hist_record_n(h, 5, 3);
    rt_hist_record(h, 7);
    CHECK_EQ(rt_hist_count(h), 4);
    CHECK_EQ(rt_hist_min(h), 5);
    CHECK_EQ(rt_hist_max(h), 7);
    CHECK(rt_hist_mean(h) == 5.5);
    CHECK_EQ(rt_hist_percentile(h, 75), 5);
    CHECK_EQ(rt_hist_percentile(h, 75.1), 7);
    rt_hist_free(h);
}

/*
 * The percentile's rank is not thrown off by binary rounding of p: with
 * the values 1 .. 200 (exact buckets), p = k/2 percent is the value k,
 * although k/2 / 100 * 200 comes out a hair above k for many k.
 */
static void test_decimal_ranks(void)
{
    rt_hist_t *h = rt_hist_new();
    CHECK(h != NULL);
    for (uint64_t i = 1; i <= 200; i++)
        rt_hist_record(h, i);
    for (uint64_t k = 1; k <= 200; k++)
        CHECK_EQ(rt_hist_percentile(h, (double)k / 2.0), k);
    CHECK_EQ(rt_hist_percentile(h, 0.0), 1);
    CHECK_EQ(rt_hist_percentile(h, 0.6), 2);
    CHECK_EQ(rt_hist_percentile(h, 99.51), 200);
    rt_hist_free(h);
}

struct bucket {
    uint64_t lo, hi, count;
};

struct dump {
    struct bucket b[8192];
    int n;
};

static int dump_fn(uint64_t lo, uint64_t hi, uint64_t count, void *ctx)
{
    struct dump *d = ctx;
    CHECK_LT(d->n, 8192);
    d->b[d->n++] = (struct bucket){lo, hi, count};
    return 0;
}

static void check_same(const rt_hist_t *a, const rt_hist_t *b)
{
    static struct dump da, db;
    da.n = db.n = 0;
    CHECK_EQ(rt_hist_count(a), rt_hist_count(b));
    CHECK(rt_hist_min(a) == rt_hist_min(b));
    CHECK(rt_hist_max(a) == rt_hist_max(b));
    CHECK(rt_hist_mean(a) == rt_hist_mean(b));
    rt_hist_foreach(a, dump_fn, &da);
    rt_hist_foreach(b, dump_fn, &db);
    CHECK_EQ(da.n, db.n);
    CHECK(memcmp(da.b, db.b, (size_t)da.n * sizeof da.b[0]) == 0);
    for (size_t i = 0; i < sizeof pcts / sizeof pcts[0]; i++) {
        double p = (double)pcts[i].num / (double)pcts[i].den;
        CHECK(rt_hist_percentile(a, p) == rt_hist_percentile(b, p));
    }
}

static void test_merge(void)
{
    rt_hist_t *a = rt_hist_new(), *b = rt_hist_new(), *all = rt_hist_new();
    rt_hist_t *empty = rt_hist_new();
    CHECK(a && b && all && empty);
    for (int i = 0; i < 100000; i++) {
        uint64_t x = rng_lognormal(8.0, 3.0);
        /* Different ranges, so merging widens min and max both ways. */
        rt_hist_t *half = i % 3 ? a : b;
        if (half == b)
            x = x / 16 + 1;
        rt_hist_record(half, x);
        rt_hist_record(all, x);
    }
    rt_hist_record(a, 0);
    rt_hist_record(all, 0);
    rt_hist_merge(a, empty);
    rt_hist_merge(a, b);
    check_same(a, all);

    rt_hist_merge(empty, all);
    check_same(empty, all);
    rt_hist_free(a);
    rt_hist_free(b);
    rt_hist_free(all);
    rt_hist_free(empty);
}

static void test_foreach_and_reset(void)
{
    rt_hist_t *h = rt_hist_new();
    CHECK(h != NULL);
    struct walk w = {0};
    CHECK_EQ(rt_hist_foreach(h, walk_fn, &w), 0);
    CHECK_EQ(w.calls, 0);

    for (uint64_t i = 0; i < 5000; i++)
        rt_hist_record(h, i * i);
    w = (struct walk){0};
    CHECK_EQ(rt_hist_foreach(h, walk_fn, &w), 0);
    CHECK_EQ(w.total, 5000);
    w = (struct walk){.stop_after = 3};
    CHECK_EQ(rt_hist_foreach(h, walk_fn, &w), 42);
    CHECK_EQ(w.calls, 3);

    rt_hist_reset(h);
    CHECK_EQ(rt_hist_count(h), 0);
    CHECK_EQ(rt_hist_min(h), 0);
    CHECK_EQ(rt_hist_max(h), 0);
    CHECK(rt_hist_mean(h) == 0.0);
    CHECK_EQ(rt_hist_percentile(h, 99), 0);
    w = (struct walk){0};
    CHECK_EQ(rt_hist_foreach(h, walk_fn, &w), 0);
    CHECK_EQ(w.calls, 0);
    rt_hist_record(h, 300);
    CHECK_EQ(rt_hist_min(h), 300);
    CHECK_EQ(rt_hist_percentile(h, 1), 300);
    rt_hist_free(h);
}

int main(void)
{
    test_edges();
    test_decimal_ranks();
    test_bucket_widths();
    test_distributions();
    test_merge();
    test_foreach_and_reset();
    rt_hist_free(NULL);
    return 0;
}
