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
 */
package concbench.peer;

import java.util.concurrent.BlockingQueue;

final class PingPong {
    static final Object STOP = new Object();

    static void run(Params p, Report r) throws Exception {
        long rounds = p.integer("rounds", 1000000, 1, 1000000000);
        int payload = (int) p.integer("payload", 0, 0, 16777216);
        String policy = p.choice("policy", "default", Ports.POLICIES);
        long capacity = p.integer("capacity", 1, 1, 1000000000);
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
            if (payload == 0) {
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
            if (payload == 0 ? !(m instanceof Long) || (Long) m != i
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
        if (half > 0 && rounds - half > 0)
            r.metric("warm_round_trip_ns",
                     (double) (r.windowStartNs() + r.elapsedNs() - tHalf) / (rounds - half));
    }
}
