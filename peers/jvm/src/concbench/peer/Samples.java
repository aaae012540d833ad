/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Raw samples of a latency, summarised as the runner's hist record:
 * COUNT MIN MAX MEAN P50 P90 P99 P999.
 *
 * Percentiles are exact nearest-rank values (the ceil(p/100 * count)-th
 * smallest sample, at least the first), where the C histogram
 * (runtime/hist.h) returns the top of the log-linear bucket holding that
 * sample, at most 1/128 above it.  The workloads that record latencies
 * here take a few thousand samples (1 ms probes, request round trips), so
 * raw samples cost less than a bucket array.  One writer at a time;
 * per-thread Samples are merged after their threads are joined.
 */
package concbench.peer;

import java.util.Arrays;
import java.util.Locale;

public final class Samples {
    private long[] v = new long[64];
    private int n;

    public void add(long x) {
        if (n == v.length)
            v = Arrays.copyOf(v, n * 2);
        v[n++] = x;
    }

    public void addAll(Samples o) {
        for (int i = 0; i < o.n; i++)
            add(o.v[i]);
    }

    public int count() { return n; }

    public long percentile(double p) {
        if (n == 0)
            return 0;
        long[] s = Arrays.copyOf(v, n);
        Arrays.sort(s);
        double exact = p / 100.0 * n;
        long rank = (long) Math.ceil(exact - 1e-9 * Math.max(1.0, exact));
        rank = Math.max(1, Math.min(n, rank));
        return s[(int) rank - 1];
    }

    public String line() {
        long min = Long.MAX_VALUE, max = 0;
        double sum = 0;
        for (int i = 0; i < n; i++) {
            min = Math.min(min, v[i]);
            max = Math.max(max, v[i]);
            sum += v[i];
        }
        if (n == 0)
            min = 0;
        return String.format(Locale.ROOT, "%d %d %d %.15g %d %d %d %d", n, min, max,
                             n > 0 ? sum / n : 0.0, percentile(50), percentile(90),
                             percentile(99), percentile(99.9));
    }
}
