/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * supervision on the JVM: what happens when a thread throws.
 *
 * There is no C workload of this name yet; the parameters are this
 * program's own: `tasks` workers, of which `crashes` are told to throw.
 *
 * An exception nobody catches ends only the thread that threw it: the JVM
 * calls the thread's UncaughtExceptionHandler on that dying thread
 * (Thread.dispatchUncaughtException), then the thread terminates; every
 * other thread runs on, and nothing links them (no Erlang link or
 * monitor).  Supervision is therefore something a program builds: here
 * the supervisor gives each worker thread a handler that records the
 * exception and starts a replacement thread on the same queue (Erlang's
 * one_for_one restart).  The queue is an object on the shared heap, not
 * the thread's, so messages sent to a crashed worker wait for its
 * replacement instead of dying with it, as a BEAM mailbox does.
 *
 * The window runs from the first crash message to the moment every
 * worker (replacements included) has answered a ping sent after the
 * crashes.  Metrics: crashed (handler calls), restarted, survivors (never
 * crashed, still answering), restart_ns (mean, throw to the replacement
 * running).  Invariant: every crash reaches the handler with its
 * exception, and every worker answers afterwards.
 */
package concbench.peer;

import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicLong;

final class Supervision {
    static final class Boom extends RuntimeException {
        Boom(int i) { super("worker " + i + " told to crash"); }
    }

    static void run(Params p, Report r) throws Exception {
        int n = (int) p.integer("tasks", 100, 1, 100000);
        int crashes = (int) p.integer("crashes", 10, 0, 100000);
        if (crashes > n)
            throw new Params.BadParam("crashes=" + crashes + " is more than tasks=" + n);
        @SuppressWarnings({"unchecked", "rawtypes"})
        LinkedBlockingQueue<String>[] port = new LinkedBlockingQueue[n];
        LinkedBlockingQueue<Integer> replies = new LinkedBlockingQueue<>();
        AtomicLong handled = new AtomicLong(), restarted = new AtomicLong(),
                   restartNs = new AtomicLong(), wrongException = new AtomicLong();
        long[] thrownAt = new long[n];
        Thread[] current = new Thread[n];
        for (int i = 0; i < n; i++)
            port[i] = new LinkedBlockingQueue<>();
        Thread.UncaughtExceptionHandler[] supervisor = new Thread.UncaughtExceptionHandler[1];
        java.util.function.IntFunction<Thread> start = i -> {
            Thread t = new Thread(() -> {
                try {
                    for (;;) {
                        String m = port[i].take();
                        if (m.equals("stop"))
                            return;
                        if (m.equals("crash")) {
                            thrownAt[i] = System.nanoTime();
                            throw new Boom(i);
                        }
                        replies.add(i);
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "worker-" + i);
            t.setUncaughtExceptionHandler(supervisor[0]);
            return t;
        };
        /* Runs on the dying thread: record, then restart one for one. */
        supervisor[0] = (dead, ex) -> {
            handled.incrementAndGet();
            if (!(ex instanceof Boom))
                wrongException.incrementAndGet();
            int i = Integer.parseInt(dead.getName().substring("worker-".length()));
            Thread t = start.apply(i);
            synchronized (current) {
                current[i] = t;
            }
            t.start();
            restartNs.addAndGet(System.nanoTime() - thrownAt[i]);
            restarted.incrementAndGet();
        };
        for (int i = 0; i < n; i++) {
            current[i] = start.apply(i);
            current[i].start();
        }
        /* Everyone answers once before the crashes. */
        for (int i = 0; i < n; i++)
            port[i].add("ping");
        for (int i = 0; i < n; i++)
            replies.take();
        r.windowStart();
        for (int i = 0; i < crashes; i++)
            port[i * (n / Math.max(1, crashes))].add("crash");
        for (int i = 0; i < n; i++)
            port[i].add("ping");
        boolean[] answered = new boolean[n];
        for (int i = 0; i < n; i++)
            answered[replies.take()] = true;
        r.windowStop();
        for (int i = 0; i < n; i++)
            port[i].add("stop");
        for (int i = 0; i < n; i++) {
            Thread t;
            synchronized (current) {
                t = current[i];
            }
            t.join();
        }
        int survivors = 0;
        for (int i = 0; i < n; i++)
            survivors += answered[i] ? 1 : 0;
        survivors -= crashes;
        if (handled.get() != crashes || wrongException.get() > 0)
            r.fail(handled.get() + " crashes reached the handler (" + wrongException.get()
                   + " with another exception), " + crashes + " were thrown");
        if (restarted.get() != crashes || survivors != n - crashes)
            r.fail(restarted.get() + " of " + crashes + " restarted, " + survivors + " of "
                   + (n - crashes) + " others answered");
        r.ops(crashes);
        r.metric("crashed", handled.get());
        r.metric("restarted", restarted.get());
        r.metric("survivors", (long) survivors);
        if (crashes > 0)
            r.metric("restart_ns", (double) restartNs.get() / crashes);
    }
}
