/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * mailbox-flood on the JVM: producer threads flood one slow consumer
 * thread through one blocking queue (Ports).
 *
 * With the default LinkedBlockingQueue nothing bounds the queue: put never
 * blocks, each message costs a node (and a boxed Long) on the heap, the
 * queue and the resident set grow for as long as the producers outrun
 * the consumer, and the end is an OutOfMemoryError when the heap limit
 * (-Xmx, a quarter of RAM by default) is reached, or the runner's memory
 * cap first.  policy=fixed (ArrayBlockingQueue.put) blocks the producers
 * instead: backpressure.  policy=dropping (offer) drops and counts.
 *
 * As workloads/mailbox_flood.c: the consumer spends consume_ns of CPU per
 * message while the window is open; a sampler thread records the queue's
 * size() and the resident set every sample_ms (series queue_len and
 * rss_bytes).  A Java queue cannot be closed: when the window ends the
 * producers stop, the main thread puts one end marker (the poison-pill
 * idiom) and the consumer drains up to it.
 *
 * Metrics: received, dropped, backlog_at_stop, peak_queue_len,
 * bytes_per_queued_msg; ops = messages sent.  Invariant: received ==
 * sent - dropped.
 */
package concbench.peer;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;

final class MailboxFlood {
    static final Object END = new Object();
    static volatile long end = Long.MAX_VALUE;

    static void run(Params p, Report r) throws Exception {
        int np = (int) p.integer("producers", 4, 1, 100000);
        long durationNs = p.integer("duration_ms", 1000, 10, 3600000) * 1000000L;
        long consumeNs = p.integer("consume_ns", 1000, 0, 1000000000);
        int payload = (int) p.integer("payload", 0, 0, 16777216);
        String policy = p.choice("policy", "default", Ports.POLICIES);
        long capacity = p.integer("capacity", 1024, 1, 1000000000);
        long sampleNs = p.integer("sample_ms", 10, 1, 60000) * 1000000L;
        BlockingQueue<Object> inbox = Ports.open(policy, capacity, r);
        if (inbox == null)
            return;
        long[] sent = new long[np], dropped = new long[np];
        Throwable[] error = new Throwable[np];
        long[] received = new long[1], peak = new long[1];
        CountDownLatch ready = new CountDownLatch(np + 2), go = new CountDownLatch(1);
        CountDownLatch producersDone = new CountDownLatch(np), stopSampler = new CountDownLatch(1);
        List<long[]> samples = new ArrayList<>();
        long[] t0 = new long[1];
        Thread consumer = new Thread(() -> {
            ready.countDown();
            try {
                go.await();
                for (;;) {
                    Object m = inbox.take();
                    if (m == END)
                        break;
                    received[0]++;
                    if (consumeNs > 0 && System.nanoTime() < end) {
                        long until = System.nanoTime() + consumeNs;
                        while (System.nanoTime() < until)
                            Thread.onSpinWait();
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "consumer");
        Thread sampler = new Thread(() -> {
            ready.countDown();
            try {
                go.await();
                while (!stopSampler.await(sampleNs, java.util.concurrent.TimeUnit.NANOSECONDS)) {
                    long len = inbox.size();
                    peak[0] = Math.max(peak[0], len);
                    synchronized (samples) {
                        samples.add(new long[] {System.nanoTime() - t0[0], len, Report.rssBytes()});
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "sampler");
        Thread[] prod = new Thread[np];
        for (int k = 0; k < np; k++) {
            final int i = k;
            prod[i] = new Thread(() -> {
                ready.countDown();
                try {
                    go.await();
                    long s = 0, d = 0;
                    for (;;) {
                        if ((s & 255) == 0 && System.nanoTime() >= end)
                            break;
                        Object m = payload == 0 ? (Object) Long.valueOf(s) : new byte[payload];
                        if (!Ports.send(inbox, policy, m))
                            d++;
                        s++;
                    }
                    sent[i] = s;
                    dropped[i] = d;
                } catch (Throwable e) {
                    error[i] = e;
                } finally {
                    producersDone.countDown();
                }
            }, "producer-" + i);
        }
        consumer.start();
        sampler.start();
        for (Thread t : prod)
            t.start();
        ready.await();
        long rss0 = Report.rssBytes();
        r.windowStart();
        t0[0] = r.windowStartNs();
        end = t0[0] + durationNs;
        go.countDown();
        producersDone.await();
        r.windowStop();
        long rss1 = Report.rssBytes();
        long backlog = inbox.size();
        /* The end marker goes after every message: a fixed queue may block
         * here until the consumer makes room, a dropping one must not drop
         * it, and a rendezvous waits for the consumer's take. */
        inbox.put(END);
        consumer.join();
        stopSampler.countDown();
        sampler.join();
        for (Thread t : prod)
            t.join();
        long s = 0, d = 0;
        for (int i = 0; i < np; i++) {
            s += sent[i];
            d += dropped[i];
            if (error[i] != null)
                r.fail("producer " + i + ": " + error[i]);
        }
        if (received[0] != s - d)
            r.fail("received " + received[0] + " of " + s + " sent with " + d + " dropped");
        synchronized (samples) {
            for (long[] x : samples) {
                r.point("queue_len", x[0], x[1]);
                r.point("rss_bytes", x[0], x[2]);
            }
        }
        r.ops(s);
        r.metric("received", received[0]);
        r.metric("dropped", d);
        r.metric("backlog_at_stop", backlog);
        r.metric("peak_queue_len", peak[0]);
        if (backlog > 0 && rss1 > rss0)
            r.metric("bytes_per_queued_msg", (double) (rss1 - rss0) / backlog);
    }
}
