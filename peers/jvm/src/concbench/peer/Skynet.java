/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * skynet on the JVM: the tree as fork/join tasks on a ForkJoinPool.
 *
 * A platform thread per node cannot hold the tree (1,111,111 kernel
 * threads at the default size; see Spawn for the limits), so this is
 * what a Java programmer writes instead: each inner node is a
 * RecursiveTask that forks `div` children and joins them, summing their
 * results; a leaf returns its number.  The pool has one worker per CPU
 * (parallelism = ActiveProcessorCount, or `pool=N` when N > 0); a worker that joins
 * a child not yet done runs queued tasks meanwhile (work stealing, "help
 * joining"), so no thread ever blocks on a node and the tree unfolds depth
 * first on each worker's deque.  A task is a heap object, not a thread:
 * the JVM's answer to the benchmark is a different idiom, and the figure
 * says what that idiom costs, not what a thread would.
 *
 * Metrics as workloads/skynet.c: result (the sum) and ns_per_task.
 * Invariant: result = leaves * (leaves - 1) / 2.
 */
package concbench.peer;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.RecursiveTask;

final class Skynet {
    static final class Node extends RecursiveTask<Long> {
        final long num, size, div;

        Node(long num, long size, long div) {
            this.num = num;
            this.size = size;
            this.div = div;
        }

        @Override
        protected Long compute() {
            if (size == 1)
                return num;
            long step = size / div;
            Node[] kids = new Node[(int) div];
            for (int i = 0; i < div; i++) {
                kids[i] = new Node(num + i * step, step, div);
                kids[i].fork();
            }
            long sum = 0;
            for (int i = (int) div - 1; i >= 0; i--)
                sum += kids[i].join();
            return sum;
        }
    }

    static long tasksOf(long leaves, long div) {
        long total = 0;
        for (long level = leaves; level >= 1; level /= div) {
            total += level;
            if (level == 1)
                break;
        }
        return total;
    }

    static void run(Params p, Report r) throws Exception {
        long leaves = p.integer("leaves", 1000000, 1, 100000000);
        long div = p.integer("div", 10, 2, 1000);
        long pool = p.integer("pool", 0, 0, 32767);
        if (pool == 0)
            pool = Main.cpus();
        long l = leaves;
        while (l > 1 && l % div == 0)
            l /= div;
        if (l != 1)
            throw new Params.BadParam("leaves=" + leaves + " is not a power of div=" + div);
        ForkJoinPool fj = new ForkJoinPool((int) pool);
        r.windowStart();
        long sum = fj.invoke(new Node(0, leaves, div));
        r.windowStop();
        fj.shutdown();
        long tasks = tasksOf(leaves, div), expect = leaves * (leaves - 1) / 2;
        if (sum != expect)
            r.fail("sum " + sum + ", expected " + expect);
        r.ops(tasks);
        r.metric("result", sum);
        r.metric("ns_per_task", (double) r.elapsedNs() / tasks);
        r.counter("steals", fj.getStealCount());
    }
}
