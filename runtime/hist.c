/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Bucket layout.
 *
 * A value v is filed under a shift s = max(0, msb(v) - RT_HIST_SUB_BITS):
 * its RT_HIST_SUB_BITS + 1 top bits, v >> s, lie in [128, 256) once v is
 * at least 128, and the bucket index is (s << 7) + (v >> s).  So
 *
 *   index 0 .. 255        values 0 .. 255, one value per bucket (s = 0);
 *   index 256 .. 383      values 256 .. 511 in steps of 2 (s = 1);
 *   index 384 .. 511      values 512 .. 1023 in steps of 4 (s = 2);
 *   ...
 *   index 7296 .. 7423    values 2^63 .. 2^64 - 1 in steps of 2^56 (s = 56).
 *
 * Computing s as 56 - clz(v | 128) folds the "v below 256" case into the
 * same arithmetic, so recording is a clz, a shift, an add and a store with
 * no branch and no division.  The bucket holding v >= 128 is 2^s wide with
 * 2^s <= v / 128, which is where the 1/128 relative error bound comes from;
 * values below 256 are exact.
 *
 * The mean is kept as an exact 128-bit sum rather than a double so that it
 * does not drift over billions of samples and so that merging is exact.
 *
 * Rejected: HdrHistogram's configurable precision and value range (one
 * fixed layout makes every histogram mergeable with every other and keeps
 * the index arithmetic constant-folded), and atomic counters (a histogram
 * has one writer; shared recording would put a contended cache line on
 * the measured path, so per-worker histograms are merged afterwards).
 */
#include "runtime/hist.h"

#include "runtime/common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Shifts 0 .. 56 with 128 buckets each, plus the 128 below the first. */
#define NBUCKETS ((64 - RT_HIST_SUB_BITS + 1) * RT_HIST_SUB_BUCKETS)

_Static_assert(RT_HIST_SUB_BITS == 7, "the layout comment assumes 7 bits");
_Static_assert(NBUCKETS == 7424, "bucket count");

/*
 * Written by the one recording thread only (see the header's invariants);
 * the hot fields share the first cache line, the counts follow.
 */
struct rt_hist {
    uint64_t count;
    uint64_t min; /* UINT64_MAX when empty */
    uint64_t max; /* 0 when empty */
    unsigned __int128 sum;
    uint64_t counts[NBUCKETS] RT_ALIGNED_CACHELINE;
};

static inline unsigned bucket_of(uint64_t v)
{
    unsigned s = 56u - (unsigned)__builtin_clzll(v | RT_HIST_SUB_BUCKETS);
    return (s << RT_HIST_SUB_BITS) + (unsigned)(v >> s);
}

static inline uint64_t bucket_lo(unsigned i)
{
    if (i < 2 * RT_HIST_SUB_BUCKETS)
        return i;
    unsigned s = (i >> RT_HIST_SUB_BITS) - 1;
    return (uint64_t)(i - (s << RT_HIST_SUB_BITS)) << s;
}

static inline uint64_t bucket_hi(unsigned i)
{
    if (i < 2 * RT_HIST_SUB_BUCKETS)
        return i;
    unsigned s = (i >> RT_HIST_SUB_BITS) - 1;
    return bucket_lo(i) + ((UINT64_C(1) << s) - 1);
}

rt_hist_t *rt_hist_new(void)
{
    rt_hist_t *h = aligned_alloc(RT_CACHELINE, sizeof *h);
    if (!h)
        return NULL;
    memset(h, 0, sizeof *h);
    h->min = UINT64_MAX;
    return h;
}

void rt_hist_free(rt_hist_t *h)
{
    free(h);
}

void rt_hist_reset(rt_hist_t *h)
{
    memset(h, 0, sizeof *h);
    h->min = UINT64_MAX;
}

void rt_hist_record(rt_hist_t *h, uint64_t value)
{
    h->counts[bucket_of(value)]++;
    h->count++;
    h->sum += value;
    if (value < h->min)
        h->min = value;
    if (value > h->max)
        h->max = value;
}

void rt_hist_record_n(rt_hist_t *h, uint64_t value, uint64_t count)
{
    /* Zero samples must not move min and max. */
    if (count == 0)
        return;
    h->counts[bucket_of(value)] += count;
    h->count += count;
    h->sum += (unsigned __int128)value * count;
    if (value < h->min)
        h->min = value;
    if (value > h->max)
        h->max = value;
}

void rt_hist_merge(rt_hist_t *dst, const rt_hist_t *src)
{
    RT_ASSERT(dst != src);
    if (src->count == 0)
        return;
    /* Only the buckets between src's min and max can be non-zero. */
    unsigned lo = bucket_of(src->min), hi = bucket_of(src->max);
    for (unsigned i = lo; i <= hi; i++)
        dst->counts[i] += src->counts[i];
    dst->count += src->count;
    dst->sum += src->sum;
    if (src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
}

uint64_t rt_hist_count(const rt_hist_t *h)
{
    return h->count;
}

uint64_t rt_hist_min(const rt_hist_t *h)
{
    return h->count ? h->min : 0;
}

uint64_t rt_hist_max(const rt_hist_t *h)
{
    return h->max;
}

double rt_hist_mean(const rt_hist_t *h)
{
    if (h->count == 0)
        return 0.0;
    /*
     * Split the sum so that the quotient's integer part is exact; only the
     * remainder's fraction goes through floating point.
     */
    unsigned __int128 q = h->sum / h->count;
    uint64_t r = (uint64_t)(h->sum % h->count);
    return (double)q + (double)r / (double)h->count;
}

/*
 * The rank ceil(p/100 * count), 1-based and clamped to [1, count].  A
 * product a hair above an integer only through binary rounding (99.9% of
 * 1000 comes out as 999.0000000000001) counts as that integer: p is a
 * decimal the caller typed, and ceil would otherwise skip a whole sample.
 */
static uint64_t rank_of(double p, uint64_t count)
{
    double x = p / 100.0 * (double)count;
    double r = nearbyint(x);
    double rank = fabs(x - r) <= 1e-9 * fmax(1.0, x) ? r : ceil(x);
    if (!(rank >= 1.0))
        return 1;
    if (rank >= (double)count)
        return count;
    return (uint64_t)rank;
}

uint64_t rt_hist_percentile(const rt_hist_t *h, double p)
{
    if (h->count == 0)
        return 0;
    uint64_t rank = rank_of(p, h->count);
    unsigned lo = bucket_of(h->min), hi = bucket_of(h->max);
    unsigned i;
    /*
     * The wanted bucket i is the one with below(i) < rank <= below(i + 1),
     * below(i) counting the samples in buckets under i.  Tail percentiles,
     * the usual question, are found fastest from the top.
     */
    if (rank > h->count / 2) {
        uint64_t below = h->count;
        for (i = hi; i > lo; i--) {
            below -= h->counts[i];
            if (below < rank)
                break;
        }
    } else {
        uint64_t upto = 0;
        for (i = lo; i < hi; i++) {
            upto += h->counts[i];
            if (upto >= rank)
                break;
        }
    }
    uint64_t v = bucket_hi(i);
    if (v < h->min)
        return h->min;
    return v > h->max ? h->max : v;
}

int rt_hist_foreach(const rt_hist_t *h,
                    int (*fn)(uint64_t lo, uint64_t hi, uint64_t count,
                              void *ctx),
                    void *ctx)
{
    if (h->count == 0)
        return 0;
    unsigned lo = bucket_of(h->min), hi = bucket_of(h->max);
    for (unsigned i = lo; i <= hi; i++) {
        if (h->counts[i] == 0)
            continue;
        int rc = fn(bucket_lo(i), bucket_hi(i), h->counts[i], ctx);
        if (rc != 0)
            return rc;
    }
    return 0;
}
