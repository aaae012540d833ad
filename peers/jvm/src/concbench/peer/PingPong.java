/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * ping-pong on the JVM: the main thread and one pong thread bounce a
 * message through two blocking queues (Ports: LinkedBlockingQueue by
 * default, SynchronousQueue with policy=rendezvous).  Each round trip is
 * two puts, two takes and two park/unpark pairs of platform threads
 * (LockSupport over futexes) when the taker is already waiting.
 *
 * Metrics as workloads/ping_pong.c: round_trip_ns is the window over the
 * rounds; beside it, first_round_ns (the first timed round, run by the
 * interpreter before the JIT compiles the loop) and warm_round_trip_ns
 * (the mean of the second half of the rounds, compiled).
 * Invariant: every reply is the message sent.
 *
 * payload_kind=binary: a fresh message a round (a Long, or a byte[] of
 * `payload` bytes).  tuple: one long[] of `payload` elements; list: one
 * singly linked list of `payload` cells; each built once and bounced: a
 * queue holds references, so a put passes the reference and nothing is
 * copied (the reply is checked to be the very object sent), and the round
 * trip stays flat as the payload grows.  message_heap_bytes is what that
 * object occupies on the heap with the HotSpot defaults (compressed oops
 * and class pointers below 32 GB of heap; sizes rounded up to 8 bytes): a
 * Long 16, a byte[] 16 + N, a long[] 16 + 8 N, a list cell 24 each (a
 * 12-byte header, a long, a compressed reference).
 */
package concbench.peer;

import java.util.concurrent.BlockingQueue;

final class PingPong {
    static final Object STOP = new Object();

    /* A cons cell, as a list of `payload` elements is built. */
    static final class Cell {
        final long head;
        final Cell tail;

        Cell(long head, Cell tail) {
            this.head = head;
            this.tail = tail;
        }
    }

    static long align8(long n) { return (n + 7) & ~7L; }

    static void run(Params p, Report r) throws Exception {
        long rounds = p.integer("rounds", 1000000, 1, 1000000000);
        int payload = (int) p.integer("payload", 0, 0, 16777216);
        String policy = p.choice("policy", "default", Ports.POLICIES);
        long capacity = p.integer("capacity", 1, 1, 1000000000);
        String kind = p.choice("payload_kind", "binary", "binary|tuple|list");
        Object bounced = null;
        long heapBytes = payload == 0 ? 16 : align8(16 + payload);
        if (kind.equals("tuple")) {
            long[] a = new long[payload];
            for (int k = 0; k < payload; k++)
                a[k] = k;
            bounced = a;
            heapBytes = align8(16 + 8L * payload);
        } else if (kind.equals("list")) {
            if (payload < 1)
                throw new Params.BadParam("payload=0 with payload_kind=list is the empty list, "
                                          + "which is no message; give 1 or more cells");
            Cell c = null;
            for (long k = payload - 1; k >= 0; k--)
                c = new Cell(k, c);
            bounced = c;
            heapBytes = 24L * payload;
        }
        Boolean virtual = Threads.choose(p, r);
        if (virtual == null)
            return;
        BlockingQueue<Object> in = Ports.open(policy, capacity, r);
        BlockingQueue<Object> out = Ports.open(policy, capacity, r);
        if (in == null || out == null)
            return;
        Thread pong = Threads.make(virtual, () -> {
            try {
                for (;;) {
                    Object m = in.take();
                    if (m == STOP)
                        return;
                    Ports.send(out, policy, m);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "pong");
        pong.start();
        /* One warm-up round, so pong is running and parked in its take. */
        Ports.send(in, policy, -1L);
        out.take();
        long bad = 0, first = 0, half = rounds / 2, tHalf = 0;
        r.windowStart();
        long t0 = r.windowStartNs();
        for (long i = 0; i < rounds; i++) {
            Object msg;
            if (bounced != null) {
                msg = bounced;
            } else if (payload == 0) {
                msg = Long.valueOf(i);
            } else {
                byte[] b = new byte[payload];
                b[0] = (byte) i;
                msg = b;
            }
            if (!Ports.send(in, policy, msg)) {
                r.fail("round " + i + ": the dropping queue dropped the message");
                break;
            }
            Object m = out.take();
            if (bounced != null ? m != bounced
                : payload == 0 ? !(m instanceof Long) || (Long) m != i
                             : !(m instanceof byte[]) || ((byte[]) m).length != payload
                                   || ((byte[]) m)[0] != (byte) i)
                bad++;
            if (i == 0)
                first = System.nanoTime() - t0;
            if (i + 1 == half)
                tHalf = System.nanoTime();
        }
        r.windowStop();
        in.put(STOP);
        pong.join();
        if (bad > 0)
            r.fail(bad + " replies differed from what was sent");
        r.ops(rounds);
        r.metric("round_trip_ns", (double) r.elapsedNs() / rounds);
        r.metric("first_round_ns", first);
        r.metric("message_heap_bytes", heapBytes);
        if (half > 0 && rounds - half > 0)
            r.metric("warm_round_trip_ns",
                     (double) (r.windowStartNs() + r.elapsedNs() - tHalf) / (rounds - half));
    }
}
