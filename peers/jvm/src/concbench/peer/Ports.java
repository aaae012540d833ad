/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * The workloads' port policies as java.util.concurrent queues, the way a
 * Java program picks them:
 *
 *   default, unbounded  LinkedBlockingQueue (no bound: put never blocks,
 *                       memory grows; the default of the JDK's executors)
 *   fixed               ArrayBlockingQueue(capacity): put blocks while full
 *   dropping            ArrayBlockingQueue(capacity) fed with offer(), which
 *                       returns false when full: the message is dropped
 *   rendezvous          SynchronousQueue: put returns once a take took it
 *   sliding             none: no JDK queue evicts its oldest element to
 *                       make room, and poll-then-offer by hand is not atomic
 *
 * Messages are passed by reference (one shared heap): the receiver gets
 * the sender's very object, never a copy.
 */
package concbench.peer;

import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.SynchronousQueue;

final class Ports {
    static final String POLICIES = "default|unbounded|fixed|sliding|dropping|rendezvous";

    /* The queue for policy, or null (with the reason in r) when the JDK has
     * no such queue. */
    static <T> BlockingQueue<T> open(String policy, long capacity, Report r) {
        switch (policy) {
        case "default":
        case "unbounded":
            return new LinkedBlockingQueue<>();
        case "fixed":
        case "dropping":
            if (capacity > Integer.MAX_VALUE - 8) {
                r.unsupported("an ArrayBlockingQueue holds at most 2^31 - 9 elements");
                return null;
            }
            return new ArrayBlockingQueue<>((int) capacity);
        case "rendezvous":
            return new SynchronousQueue<>();
        default:
            r.unsupported("policy=" + policy + ": java.util.concurrent has no sliding "
                          + "queue (one that evicts its oldest element when full)");
            return null;
        }
    }

    /* Sends m; returns false when a dropping queue dropped it. */
    static <T> boolean send(BlockingQueue<T> q, String policy, T m) throws InterruptedException {
        if (policy.equals("dropping"))
            return q.offer(m);
        q.put(m);
        return true;
    }
}
