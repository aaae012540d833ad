/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * cpu-crunch on the JVM: hogs and probes are platform threads, so the
 * kernel's scheduler (CFS/EEVDF) shares the CPUs: it preempts a hog on
 * its timer tick and wakes a probe whose sleep ended, whatever the hogs
 * do.  Probe lateness should stay near the no-load figure and Jain's
 * index over the hogs near 1, as on the `threads` and `locks` models.
 *
 * As workloads/cpu_crunch.c: a hog repeats `work` integer-mixing steps
 * (the same LCG and xorshift) and counts units; it reads the clock every
 * 64 units and counts only the units done after the window opened (the
 * opening time is one volatile word the main thread publishes after the
 * go latch).  A probe sleeps `sleep_us` with LockSupport.parkNanos, parked
 * again until the deadline when it returns early (parkNanos may return
 * spuriously; a sleep may not), and records how late it woke, measured
 * from the intended wake time.  Thread.sleep is not used: on JDK 17 it
 * rounds a sub-millisecond sleep to whole milliseconds.
 *
 * Metrics: lateness_ns (hist), fairness_jain, hog_progress_min/max,
 * probe_wakeups; ops = hog units.  Invariants: no probe wakes before its
 * deadline; every probe wakes at least once.
 */
package concbench.peer;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.locks.LockSupport;

final class CpuCrunch {
    static volatile long windowStart = Long.MAX_VALUE;

    static long crunch(long x, long steps) {
        for (long i = 0; i < steps; i++) {
            x = x * 6364136223846793005L + 1442695040888963407L;
            x ^= x >>> 33;
        }
        return x;
    }

    static volatile long sink;

    static void run(Params p, Report r) throws Exception {
        int hogs = (int) p.integer("hogs", 4, 0, 1000000);
        int probes = (int) p.integer("probes", 2, 1, 100000);
        long durationNs = p.integer("duration_ms", 2000, 10, 3600000) * 1000000L;
        long sleepNs = p.integer("sleep_us", 1000, 1, 1000000) * 1000L;
        long work = p.integer("work", 25, 1, 1000000);
        if (sleepNs > durationNs)
            throw new Params.BadParam("sleep_us is longer than duration_ms: the probes "
                                      + "would not measure anything");
        Boolean virtual = Threads.choose(p, r);
        if (virtual == null)
            return;
        int n = hogs + probes;
        long[] progress = new long[n];
        long[] early = new long[n];
        Samples[] lateness = new Samples[n];
        CountDownLatch ready = new CountDownLatch(n), go = new CountDownLatch(1);
        Thread[] th = new Thread[n];
        for (int k = 0; k < n; k++) {
            /* Probes first, as the C workload spawns them. */
            final int i = (k + hogs) % n;
            final boolean probe = i >= hogs;
            if (probe)
                lateness[i] = new Samples();
            th[i] = Threads.make(virtual, () -> {
                ready.countDown();
                try {
                    go.await();
                } catch (InterruptedException e) {
                    return;
                }
                if (probe)
                    probeLoop(i, durationNs, sleepNs, progress, early, lateness[i]);
                else
                    hogLoop(i, durationNs, work, progress);
            }, (probe ? "probe-" : "hog-") + i);
            th[i].start();
        }
        ready.await();
        go.countDown();
        r.windowStart();
        windowStart = r.windowStartNs();
        for (Thread t : th)
            t.join();
        r.windowStop();
        long total = 0, pmin = Long.MAX_VALUE, pmax = 0, wakeups = 0, earlies = 0;
        double sum = 0, sq = 0;
        Samples all = new Samples();
        for (int i = 0; i < n; i++) {
            if (i >= hogs) {
                wakeups += progress[i];
                earlies += early[i];
                all.addAll(lateness[i]);
                if (progress[i] == 0)
                    r.fail("probe " + i + " never woke up");
                continue;
            }
            total += progress[i];
            sum += progress[i];
            sq += (double) progress[i] * progress[i];
            pmin = Math.min(pmin, progress[i]);
            pmax = Math.max(pmax, progress[i]);
        }
        if (earlies > 0)
            r.fail(earlies + " probe wake-ups came before their deadline");
        r.ops(total);
        r.hist("lateness_ns", all);
        r.metric("fairness_jain", hogs == 0 ? 1.0 : sq > 0 ? sum * sum / (hogs * sq) : 1.0);
        r.metric("hog_progress_min", hogs > 0 ? pmin : 0);
        r.metric("hog_progress_max", pmax);
        r.metric("probe_wakeups", wakeups);
    }

    static void hogLoop(int i, long durationNs, long work, long[] progress) {
        long x = i + 1, units = 0, atOpen = -1;
        for (;;) {
            if ((units & 63) == 0) {
                long start = windowStart;
                long end = start == Long.MAX_VALUE ? Long.MAX_VALUE : start + durationNs;
                long now = System.nanoTime();
                if (atOpen < 0 && now >= start)
                    atOpen = units;
                if (now >= end)
                    break;
            }
            x = crunch(x, work);
            units++;
        }
        progress[i] = atOpen < 0 ? 0 : units - atOpen;
        sink = x;
    }

    static void probeLoop(int i, long durationNs, long sleepNs, long[] progress, long[] early,
                          Samples lat) {
        for (;;) {
            long start = windowStart;
            long end = start == Long.MAX_VALUE ? Long.MAX_VALUE : start + durationNs;
            long intended = System.nanoTime() + sleepNs;
            if (intended > end && progress[i] > 0)
                break;
            long now;
            while ((now = System.nanoTime()) < intended)
                LockSupport.parkNanos(intended - now);
            long late = now - intended;
            if (late < 0)
                early[i]++;
            lat.add(Math.max(0, late));
            progress[i]++;
        }
    }
}
