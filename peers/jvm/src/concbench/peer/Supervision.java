/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * supervision on the JVM: workers that crash at random, and nothing that
 * restarts them (workloads/supervision.c's parameters and metrics).
 *
 * `workers` platform threads do operations of op_ns each (spun) until
 * duration_ms passes, committing their count every `batch`; after each
 * operation a worker throws with probability crash_ppm per million
 * (xorshift64* per worker, seeded as the C workload), losing what it had
 * not committed.  Nobody catches it: the JVM hands an uncaught exception
 * to the thread's UncaughtExceptionHandler, by default its ThreadGroup's,
 * which prints "Exception in thread ..." and the stack trace to stderr
 * (java.lang.ThreadGroup.uncaughtException), and then only that thread
 * terminates; every other thread runs on, and nothing links them (no
 * Erlang link, monitor or supervisor).  So work stops one worker at a
 * time: supervised=0, restarts=0, as the C locks/stm/threads models
 * report.  A real program that wants its work to go on catches in the
 * worker's run loop or submits to an ExecutorService whose pool replaces
 * a thread that died (ThreadPoolExecutor starts a new worker after one
 * ends abruptly), losing the task that threw: a supervisor it writes
 * itself.
 *
 * Window: from the moment every worker thread is running (each counts
 * down `ready` and waits for `go`; starting a platform thread on a loaded
 * machine, class loading included, took longer than a 100 ms run, so a
 * deadline taken before the threads ran left them no operation at all)
 * until every worker has finished or crashed.
 * Metrics: ops (committed), crashes, restarts, work_lost, workers_alive_at_end,
 * supervised, supervisor_gave_up, survived (every worker still working at
 * the end), restart_latency_ns (empty: nothing restarts).  Invariant:
 * every crash reached the coordinator, every worker ended.
 */
package concbench.peer;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

final class Supervision {
    static final class Crash extends RuntimeException {
        Crash(int i) { super("{crash, " + i + "}"); }
    }

    static final class Slot {
        long committed, lost, crashes;
        boolean finished;
    }

    static void spin(long ns) {
        long end = System.nanoTime() + ns;
        while (System.nanoTime() < end)
            Thread.onSpinWait();
    }

    static void run(Params p, Report r) throws Exception {
        int n = (int) p.integer("workers", 8, 1, 4096);
        long ppm = p.integer("crash_ppm", 1000, 0, 1000000);
        long opNs = p.integer("op_ns", 1000, 0, 1000000000);
        long batch = p.integer("batch", 100, 1, 1000000000);
        long durationNs = p.integer("duration_ms", 1000, 1, 3600000) * 1000000L;
        long seed = p.seed();
        /* A draw (unsigned) below it crashes. */
        long threshold = ppm >= 1000000 ? -1L
            : new java.math.BigDecimal(ppm).multiply(new java.math.BigDecimal(
                  java.math.BigInteger.ONE.shiftLeft(64))).divide(
                  new java.math.BigDecimal(1000000), java.math.RoundingMode.DOWN)
                  .toBigInteger().longValue();
        Slot[] slots = new Slot[n];
        LinkedBlockingQueue<Integer> ended = new LinkedBlockingQueue<>();
        Thread[] th = new Thread[n];
        CountDownLatch ready = new CountDownLatch(n), go = new CountDownLatch(1);
        long[] endAt = new long[1]; /* written before go opens: published by it */
        for (int k = 0; k < n; k++) {
            final int i = k;
            final Slot s = slots[k] = new Slot();
            th[k] = new Thread(() -> {
                long[] rng = {Params.mix(seed + i) | 1};
                long pending = 0;
                ready.countDown();
                try {
                    go.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
                long end = endAt[0];
                while (System.nanoTime() < end) {
                    spin(opNs);
                    if (++pending == batch) {
                        s.committed += pending;
                        pending = 0;
                    }
                    if (ppm > 0 && Long.compareUnsigned(Bank.nextRand(rng), threshold) < 0) {
                        s.lost += pending;
                        s.crashes++;
                        ended.add(i);
                        throw new Crash(i);
                    }
                }
                s.committed += pending;
                s.finished = true;
                ended.add(i);
            }, "worker-" + k);
            th[k].start();
        }
        ready.await();
        r.windowStart();
        long end = endAt[0] = r.windowStartNs() + durationNs;
        go.countDown();
        int open = n;
        long deadline = end + 30_000_000_000L;
        while (open > 0) {
            Integer got = ended.poll(Math.max(0, deadline - System.nanoTime()),
                                     TimeUnit.NANOSECONDS);
            if (got == null)
                break;
            open--;
        }
        r.windowStop();
        if (open > 0) {
            r.fail(open + " workers neither finished nor crashed in time");
            return;
        }
        for (Thread t : th)
            t.join();
        long ops = 0, lost = 0, crashes = 0, alive = 0;
        for (Slot s : slots) {
            ops += s.committed;
            lost += s.lost;
            crashes += s.crashes;
            alive += s.finished ? 1 : 0;
        }
        if (crashes + alive != n)
            r.fail(crashes + " crashed and " + alive + " finished of " + n + " workers");
        r.ops(ops);
        r.metric("crashes", crashes);
        r.metric("restarts", 0L);
        r.metric("work_lost", lost);
        r.metric("workers_alive_at_end", alive);
        r.metric("supervised", 0L);
        r.metric("supervisor_gave_up", 0L);
        r.metric("survived", alive == n ? 1L : 0L);
        r.hist("restart_latency_ns", new Samples());
    }
}
