/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * One repetition's report, in the runner's child line protocol
 * (runner/child.c): metric, hist, point, counter, window, and the outcome
 * last.
 *
 * The window is timed inside the program with System.nanoTime, so the
 * JVM's start-up (class loading, the first interpretation of main) is
 * never inside a workload's figure: it shows as the window's opening
 * offset and as the counter jvm_startup_ns, measured from the epoch time
 * the entry script read just before it exec'd java (-Dconcbench.t0), or
 * from the process's start time when that is missing.
 *
 * Records are buffered and written at the end in one piece, so a thread
 * the workload abandons (a deadlocked bank worker) can never interleave a
 * line with the outcome.  An invariant that breaks makes the outcome
 * "failed"; the first reason is kept, as cb_wl_fail does.
 */
package concbench.peer;

import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.time.Instant;

public final class Report {
    private final StringBuilder out = new StringBuilder();
    private final long epochAtBase, nanoAtBase, t0Epoch;
    private long windowStart = -1, windowStop = -1;
    private String failed, unsupported;
    private long ops = -1;

    public Report() {
        Instant now = Instant.now();
        nanoAtBase = System.nanoTime();
        epochAtBase = now.getEpochSecond() * 1_000_000_000L + now.getNano();
        long t0 = Long.getLong("concbench.t0", -1L);
        if (t0 <= 0)
            t0 = ProcessHandle.current().info().startInstant()
                     .map(i -> i.getEpochSecond() * 1_000_000_000L + i.getNano())
                     .orElse(epochAtBase);
        t0Epoch = t0;
    }

    public void windowStart() { windowStart = System.nanoTime(); }
    public void windowStop() { windowStop = System.nanoTime(); }
    public long windowStartNs() { return windowStart; }
    public long elapsedNs() {
        return windowStart < 0 || windowStop < 0 ? 0 : windowStop - windowStart;
    }
    public void ops(long n) { ops = n; }

    public void metric(String name, long v) {
        out.append("metric ").append(name).append(" int ").append(v).append('\n');
    }

    public void metric(String name, double v) {
        out.append("metric ").append(name).append(" f64 ")
           .append(Double.toString(v)).append('\n');
    }

    public void counter(String name, long v) {
        out.append("counter ").append(name).append(' ').append(v).append('\n');
    }

    public void point(String name, long tNs, double v) {
        out.append("point ").append(name).append(' ').append(tNs).append(' ')
           .append(Double.toString(v)).append('\n');
    }

    public void hist(String name, Samples s) {
        out.append("hist ").append(name).append(' ').append(s.line()).append('\n');
    }

    public void fail(String why) {
        if (failed == null)
            failed = why;
    }

    public boolean failed() { return failed != null; }

    public void unsupported(String why) {
        if (unsupported == null)
            unsupported = why;
    }

    /* Resident bytes of the process now, from /proc/self/statm. */
    public static long rssBytes() {
        try {
            String[] f = readProc("/proc/self/statm").trim().split(" ");
            return Long.parseLong(f[1]) * 4096L;
        } catch (Exception e) {
            return -1;
        }
    }

    /* A /proc file read to its end: its size says 0, so the readers that
     * trust the size (Files.readString) stop short. */
    public static String readProc(String path) throws java.io.IOException {
        try (java.io.FileInputStream in = new java.io.FileInputStream(path)) {
            return new String(in.readAllBytes(), java.nio.charset.StandardCharsets.US_ASCII);
        }
    }

    /* Prints every record and the outcome, and flushes. */
    public void finish() {
        StringBuilder tail = new StringBuilder();
        if (ops >= 0)
            tail.append("metric ops int ").append(ops).append('\n');
        if (windowStart >= 0 && windowStop >= 0) {
            tail.append("metric elapsed_ns int ").append(elapsedNs()).append('\n');
            long open = epochAtBase + (windowStart - nanoAtBase) - t0Epoch;
            tail.append("window ").append(Math.max(0, open)).append(' ')
                .append(elapsedNs()).append('\n');
        }
        tail.append("counter jvm_startup_ns ").append(Math.max(0, epochAtBase - t0Epoch))
            .append('\n');
        long gcs = 0, gcMs = 0;
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            gcs += Math.max(0, gc.getCollectionCount());
            gcMs += Math.max(0, gc.getCollectionTime());
        }
        tail.append("counter gc_count ").append(gcs).append('\n');
        tail.append("counter gc_ns ").append(gcMs * 1_000_000L).append('\n');
        tail.append("counter threads_peak ")
            .append(ManagementFactory.getThreadMXBean().getPeakThreadCount()).append('\n');
        if (unsupported != null)
            tail.append("outcome unsupported ").append(oneLine(unsupported)).append('\n');
        else if (failed != null)
            tail.append("outcome failed ").append(oneLine(failed)).append('\n');
        else
            tail.append("outcome ok\n");
        System.out.print(out);
        System.out.print(tail);
        System.out.flush();
    }

    public static String oneLine(String s) {
        return s.replace('\n', ' ').replace('\r', ' ');
    }
}
