/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * bank on the JVM: accounts guarded by one ReentrantLock each, taken in
 * a global order (by account index), the textbook way to make a transfer
 * between two accounts atomic without deadlock (Goetz et al., "Java
 * Concurrency in Practice", 10.1.2: inducing a lock ordering).
 *
 * A transfer locks the lower-numbered account of the pair, then the other,
 * moves the amount when the source covers it (declines otherwise) and
 * unlocks in reverse.  An audit locks every account in index order, sums,
 * and unlocks: the same global order, so it cannot deadlock against the
 * transfers and never sees a debit without its credit.  ReentrantLock
 * rather than synchronized because an audit holds a variable number of
 * locks at once, which nested synchronized blocks cannot express; both
 * are non-fair by default (a released lock may be barged).
 *
 * As workloads/bank.c: workers pick an audit with probability audit_pct %
 * (from xorshift64* seeded per worker from the run's seed), otherwise a
 * transfer of 1..max_amount between two distinct accounts; they run for
 * duration_ms (or `ops` operations each).  The main thread is a watchdog
 * sampling each worker's progress every 10 ms: no running worker
 * progressing for stall_ms is reported as a deadlock and the run ends at
 * once, abandoning the stuck threads (System.exit ends them); one worker
 * without progress while others go on is a figure (longest_stall_ns,
 * starved_workers), as in workloads/bank.c.
 *
 * Metrics: transfers, declined, audits, torn_audits, lost_units (units
 * missing from the final total; negative: created), longest_stall_ns,
 * starved_workers, audits_per_s, audit_latency_ns (hist); ops = transfers.  Invariants: every audit and
 * the final state sum to accounts x initial; no account is negative.
 */
package concbench.peer;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.ReentrantLock;

final class Bank {
    static final class Account {
        final ReentrantLock lock = new ReentrantLock();
        long balance; /* guarded by lock */

        Account(long b) { balance = b; }
    }

    static final class Worker {
        long transfers, declined, audits, torn, badSum;
        final Samples auditLat = new Samples();
    }

    static long nextRand(long[] s) {
        long x = s[0];
        x ^= x >>> 12;
        x ^= x << 25;
        x ^= x >>> 27;
        s[0] = x;
        return x * 0x2545F4914F6CDD1DL;
    }

    static void run(Params p, Report r) throws Exception {
        int na = (int) p.integer("accounts", 8, 2, 10000000);
        int nt = (int) p.integer("tasks", 2, 1, 100000);
        long durationNs = p.integer("duration_ms", 3000, 1, 86400000) * 1000000L;
        long opsPer = p.integer("ops", 0, 0, 1L << 40);
        long auditPct = p.integer("audit_pct", 5, 0, 100);
        long initial = p.integer("initial", 1000, 0, 1L << 32);
        long maxAmount = p.integer("max_amount", 100, 1, 1L << 32);
        long stallNs = p.integer("stall_ms", 1000, 10, 3600000) * 1000000L;
        long seed = p.seed();
        if (initial > 0 && na > Long.MAX_VALUE / 4 / initial)
            throw new Params.BadParam("accounts x initial overflows the total");
        final long total = na * initial;
        final long auditPer64k = auditPct * 65536 / 100;
        Account[] acct = new Account[na];
        for (int i = 0; i < na; i++)
            acct[i] = new Account(initial);
        Worker[] w = new Worker[nt];
        AtomicLongArray progress = new AtomicLongArray(nt);
        AtomicLongArray done = new AtomicLongArray(nt);
        CountDownLatch ready = new CountDownLatch(nt), go = new CountDownLatch(1);
        CountDownLatch finished = new CountDownLatch(nt);
        long[] endNs = new long[1];
        Thread[] th = new Thread[nt];
        for (int k = 0; k < nt; k++) {
            final int idx = k;
            final Worker me = w[k] = new Worker();
            th[k] = new Thread(() -> {
                long[] rng = {Params.mix(seed ^ (idx + 1)) | 1};
                ready.countDown();
                try {
                    go.await();
                } catch (InterruptedException e) {
                    return;
                }
                long end = endNs[0];
                for (long op = 0;; op++) {
                    if (opsPer > 0 ? op >= opsPer : (op & 63) == 0 && System.nanoTime() >= end)
                        break;
                    long rnd = nextRand(rng);
                    if ((rnd & 0xffff) < auditPer64k) {
                        long t0 = System.nanoTime();
                        for (Account a : acct)
                            a.lock.lock();
                        long sum = 0;
                        try {
                            for (Account a : acct)
                                sum += a.balance;
                        } finally {
                            for (int i = na - 1; i >= 0; i--)
                                acct[i].lock.unlock();
                        }
                        me.auditLat.add(System.nanoTime() - t0);
                        if (sum != total && me.torn++ == 0)
                            me.badSum = sum;
                        me.audits++;
                    } else {
                        int a = (int) Long.remainderUnsigned(rnd >>> 16, na);
                        int b = (int) ((a + 1 + Long.remainderUnsigned(rnd >>> 40, na - 1)) % na);
                        long amount = 1 + Long.remainderUnsigned(nextRand(rng), maxAmount);
                        Account first = acct[Math.min(a, b)], second = acct[Math.max(a, b)];
                        first.lock.lock();
                        try {
                            second.lock.lock();
                            try {
                                if (acct[a].balance >= amount) {
                                    acct[a].balance -= amount;
                                    acct[b].balance += amount;
                                } else {
                                    me.declined++;
                                }
                            } finally {
                                second.lock.unlock();
                            }
                        } finally {
                            first.lock.unlock();
                        }
                        me.transfers++;
                    }
                    progress.lazySet(idx, op + 1);
                }
                done.set(idx, 1);
                finished.countDown();
            }, "worker-" + k);
            th[k].start();
        }
        ready.await();
        r.windowStart();
        endNs[0] = r.windowStartNs() + durationNs;
        go.countDown();
        /* The watchdog, as workloads/bank.c's: every 10 ms, each running
         * worker's progress; one worker's longest gap between operations
         * and the workers that went stall_ms without one are figures; no
         * running worker moving for stall_ms (and 10 samples) is a
         * deadlock. */
        long[] last = new long[nt], since = new long[nt];
        boolean[] starved = new boolean[nt];
        long now = System.nanoTime(), anySince = now, longest = 0, nStarved = 0;
        int quiet = 0;
        java.util.Arrays.fill(since, now);
        String stalled = null;
        while (!finished.await(10, TimeUnit.MILLISECONDS)) {
            now = System.nanoTime();
            StringBuilder why = new StringBuilder();
            int running = 0;
            boolean moved = false;
            for (int i = 0; i < nt; i++) {
                if (done.get(i) != 0)
                    continue;
                long pr = progress.get(i);
                long gap = now - since[i];
                longest = Math.max(longest, gap);
                if (gap >= stallNs && !starved[i]) {
                    starved[i] = true;
                    nStarved++;
                }
                if (pr != last[i]) {
                    last[i] = pr;
                    since[i] = now;
                    moved = true;
                }
                if (running++ < 8)
                    why.append(running > 1 ? ", " : "").append(i).append(" (after ").append(pr)
                       .append(" ops)");
            }
            if (moved) {
                anySince = now;
                quiet = 0;
                continue;
            }
            if (++quiet >= 10 && now - anySince >= stallNs && running > 0) {
                stalled = "deadlock: none of the " + running + " running workers (of " + nt
                          + ") made progress for " + stallNs / 1000000 + " ms: " + why;
                break;
            }
        }
        r.windowStop();
        if (stalled != null) {
            r.fail(stalled);
            return;
        }
        for (Thread t : th)
            t.join();
        long transfers = 0, declined = 0, audits = 0, torn = 0;
        Samples lat = new Samples();
        for (int i = 0; i < nt; i++) {
            transfers += w[i].transfers;
            declined += w[i].declined;
            audits += w[i].audits;
            torn += w[i].torn;
            lat.addAll(w[i].auditLat);
            if (w[i].torn > 0 && torn == w[i].torn)
                r.fail("torn audit: worker " + i + " saw a total of " + w[i].badSum + ", wanted "
                       + total + " (" + w[i].torn + " torn audits)");
        }
        long sum = 0, negative = 0;
        for (Account a : acct) {
            sum += a.balance;
            negative += a.balance < 0 ? 1 : 0;
        }
        long lost = total - sum;
        if (lost != 0 || negative > 0)
            r.fail("total after the run is " + sum + ", wanted " + total + ": " + Math.abs(lost)
                   + " units " + (lost < 0 ? "created" : "lost") + "; " + negative
                   + " accounts negative");
        long el = r.elapsedNs();
        r.ops(transfers);
        r.metric("transfers", transfers);
        r.metric("declined", declined);
        r.metric("audits", audits);
        r.metric("torn_audits", torn);
        r.metric("lost_units", lost);
        r.metric("longest_stall_ns", longest);
        r.metric("starved_workers", nStarved);
        r.metric("audits_per_s", el > 0 ? audits * 1e9 / el : 0.0);
        if (lat.count() > 0)
            r.hist("audit_latency_ns", lat);
    }
}
