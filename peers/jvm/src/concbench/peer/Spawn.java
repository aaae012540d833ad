/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * spawn on the JVM: `tasks` platform threads, each reporting ready and
 * then parked in take() on its own queue, as workloads/spawn.c.
 *
 * A platform thread is a kernel thread with a reserved stack (1 MiB by
 * default, -Xss), its guard zones and a JVM Thread object, so its cost is
 * a clone(2), an mmap and the kernel's task, paid by the caller of
 * Thread.start (which waits for the new thread to be running).  The
 * kernel bounds how many there can be: kernel.pid_max and threads-max
 * count every thread of the machine, and vm.max_map_count the mappings of
 * one process (a thread's stack and its guard are separate mappings).
 * Rather than run the machine out of process ids, the run first compares
 * `tasks` with what is free and says unsupported, with the figures, when
 * they do not fit (at most half of the free pids, a quarter of the map
 * count); a Thread.start that still fails ("unable to create native
 * thread") ends the spawning and is reported the same way.
 *
 * Metrics as workloads/spawn.c: spawn_ns_per_task (the start calls),
 * ready_ns_per_task (until every thread has reported ready) and
 * rss_per_task_bytes (resident growth over the parked threads).
 * Invariant: every thread reports ready exactly once and ends when told.
 */
package concbench.peer;

import java.util.concurrent.LinkedBlockingQueue;

final class Spawn {
    static long readLong(String path, long dflt) {
        try {
            return Long.parseLong(Report.readProc(path).trim().split("\\s+")[0]);
        } catch (Exception e) {
            return dflt;
        }
    }

    /* How many more platform threads this machine can take without
     * starving everyone else of pids; the reason when it is the bound. */
    static long threadsThatFit(StringBuilder why) {
        long pidMax = readLong("/proc/sys/kernel/pid_max", 32768);
        long threadsMax = readLong("/proc/sys/kernel/threads-max", pidMax);
        long maps = readLong("/proc/sys/vm/max_map_count", 65530);
        long running = 0;
        try {
            /* loadavg's fourth field: runnable/total scheduling entities. */
            String f = Report.readProc("/proc/loadavg").split(" ")[3];
            running = Long.parseLong(f.substring(f.indexOf('/') + 1));
        } catch (Exception e) {
            running = 0;
        }
        long freePids = Math.min(pidMax, threadsMax) - running;
        long byPids = freePids / 2, byMaps = maps / 4;
        if (byPids <= byMaps) {
            why.append("half of the ").append(freePids).append(" free thread ids (kernel.pid_max ")
               .append(pidMax).append(", threads-max ").append(threadsMax).append(", ")
               .append(running).append(" in use)");
            return byPids;
        }
        why.append("a quarter of vm.max_map_count ").append(maps)
           .append(" (a thread's stack and guard are separate mappings)");
        return byMaps;
    }

    static void run(Params p, Report r) throws Exception {
        long n = p.integer("tasks", 100000, 1, 100000000);
        Boolean virtual = Threads.choose(p, r);
        if (virtual == null)
            return;
        StringBuilder why = new StringBuilder();
        long fit = virtual ? Integer.MAX_VALUE - 8 : threadsThatFit(why);
        if (n > fit) {
            r.unsupported(n + " platform threads do not fit on this machine: at most " + fit
                          + ", " + why + "; a JVM thread is a kernel thread");
            return;
        }
        int tasks = (int) n;
        LinkedBlockingQueue<Integer> coord = new LinkedBlockingQueue<>();
        @SuppressWarnings({"unchecked", "rawtypes"})
        LinkedBlockingQueue<Object>[] ports = new LinkedBlockingQueue[tasks];
        for (int i = 0; i < tasks; i++)
            ports[i] = new LinkedBlockingQueue<>();
        Thread[] threads = new Thread[tasks];
        long rss0 = Report.rssBytes();
        r.windowStart();
        long t0 = System.nanoTime();
        int spawned = 0;
        String refused = null;
        for (; spawned < tasks; spawned++) {
            final LinkedBlockingQueue<Object> mine = ports[spawned];
            Thread t = Threads.make(virtual, () -> {
                coord.add(1);
                try {
                    mine.take();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "waiter-" + spawned);
            try {
                t.start();
            } catch (OutOfMemoryError e) {
                refused = e.getMessage();
                break;
            }
            threads[spawned] = t;
        }
        long t1 = System.nanoTime();
        int ready = 0;
        for (; ready < spawned; ready++)
            coord.take();
        long t2 = System.nanoTime();
        r.windowStop();
        long rss1 = Report.rssBytes();
        for (int i = 0; i < spawned; i++)
            ports[i].add("stop");
        for (int i = 0; i < spawned; i++)
            threads[i].join();
        if (refused != null) {
            r.unsupported("only " + spawned + " of " + tasks
                          + " platform threads could start: " + refused);
            return;
        }
        r.ops(spawned);
        r.metric("spawn_ns_per_task", (double) (t1 - t0) / spawned);
        r.metric("ready_ns_per_task", (double) (t2 - t0) / spawned);
        if (rss0 > 0 && rss1 > 0)
            r.metric("rss_per_task_bytes", (double) (rss1 - rss0) / spawned);
    }
}
