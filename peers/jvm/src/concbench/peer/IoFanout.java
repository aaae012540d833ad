/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * io-fanout on the JVM: a platform thread per worker doing blocking
 * socket IO, the thread-per-connection style of java.net and of blocking
 * java.nio channels.
 *
 * Each worker owns a connected pair of SocketChannels in blocking mode:
 * loopback TCP on 127.0.0.1 (accepted from a listener on an ephemeral
 * port, TCP_NODELAY on both ends, as cb_wl_fd_pair), or with
 * transport=unix a UNIX-domain pair (JDK 16+: a listener bound to a path
 * in a fresh temporary directory, since the JDK has no socketpair).  Per
 * request the worker writes `payload` bytes carrying the request id into
 * one end, reads them from the other (its thread blocks in read(2)),
 * sleeps latency_us if asked, writes them back and reads the echo, which
 * must match byte for byte.  Requests come from the main thread through
 * each worker's LinkedBlockingQueue; replies go back on one shared queue.
 *
 * Closed loop (rate=0) keeps one request per worker outstanding; open
 * loop (rate=R) issues R requests a second round robin on a fixed
 * schedule and measures latency from each request's intended start, as
 * workloads/io_fanout.c (no coordinated omission).
 *
 * Metrics: latency_ns (hist), tasks, spawn_ns_per_task,
 * rss_per_task_bytes; ops = requests answered.  Invariant: every request
 * is answered exactly once, with its own bytes.
 */
package concbench.peer;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

final class IoFanout {
    static final long[] STOP = new long[0];

    static final class Worker {
        SocketChannel client, server;
        final LinkedBlockingQueue<long[]> port = new LinkedBlockingQueue<>();
        volatile String error;
    }

    static void readFully(SocketChannel c, ByteBuffer b) throws java.io.IOException {
        while (b.hasRemaining())
            if (c.read(b) < 0)
                throw new java.io.EOFException("the peer closed");
    }

    static void writeFully(SocketChannel c, ByteBuffer b) throws java.io.IOException {
        while (b.hasRemaining())
            c.write(b);
    }

    static void roundTrip(Worker w, long id, int payload, long latencyNs, ByteBuffer out,
                          ByteBuffer in) throws java.io.IOException {
        out.clear();
        for (int i = 0; i < payload; i++)
            out.put(i, (byte) (id & 0x7f));
        out.putLong(0, id);
        out.limit(payload);
        writeFully(w.client, out);
        in.clear();
        readFully(w.server, in);
        if (latencyNs > 0) {
            long until = System.nanoTime() + latencyNs, now;
            while ((now = System.nanoTime()) < until)
                LockSupport.parkNanos(until - now);
        }
        in.flip();
        writeFully(w.server, in);
        in.clear();
        readFully(w.client, in);
        out.rewind();
        in.flip();
        if (!in.equals(out))
            throw new java.io.IOException("the echo differed from the request");
    }

    static void run(Params p, Report r) throws Exception {
        int n = (int) p.integer("tasks", 1000, 1, 1000000);
        long opsPer = p.integer("ops", 20, 1, 100000000);
        int payload = (int) p.integer("payload", 64, 8, 65536);
        long latencyNs = p.integer("latency_us", 0, 0, 10000000) * 1000L;
        long rate = p.integer("rate", 0, 0, 100000000);
        String transport = p.choice("transport", "tcp", "tcp|unix");
        Boolean virtual = Threads.choose(p, r);
        if (virtual == null)
            return;
        if ((long) n * opsPer > Integer.MAX_VALUE)
            throw new Params.BadParam("tasks x ops = " + (long) n * opsPer
                                      + " requests: more than this program's 2^31 - 1");
        Worker[] w = new Worker[n];
        Path dir = null;
        ServerSocketChannel listener;
        if (transport.equals("tcp")) {
            listener = ServerSocketChannel.open();
            listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), n);
        } else {
            dir = Files.createTempDirectory("concbench-io");
            listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            listener.bind(UnixDomainSocketAddress.of(dir.resolve("s")), n);
        }
        try {
            for (int i = 0; i < n; i++) {
                w[i] = new Worker();
                w[i].client = SocketChannel.open(listener.getLocalAddress());
                w[i].server = listener.accept();
                if (transport.equals("tcp")) {
                    w[i].client.setOption(StandardSocketOptions.TCP_NODELAY, true);
                    w[i].server.setOption(StandardSocketOptions.TCP_NODELAY, true);
                }
            }
        } finally {
            listener.close();
            if (dir != null) {
                Files.deleteIfExists(dir.resolve("s"));
                Files.deleteIfExists(dir);
            }
        }
        LinkedBlockingQueue<long[]> replies = new LinkedBlockingQueue<>();
        LinkedBlockingQueue<Integer> ready = new LinkedBlockingQueue<>();
        Thread[] th = new Thread[n];
        long rss0 = Report.rssBytes(), tSpawn = System.nanoTime();
        for (int k = 0; k < n; k++) {
            final Worker me = w[k];
            th[k] = Threads.make(virtual, () -> {
                ByteBuffer out = ByteBuffer.allocate(payload), in = ByteBuffer.allocate(payload);
                ready.add(1);
                try {
                    for (;;) {
                        long[] m = me.port.take();
                        if (m == STOP)
                            break;
                        try {
                            roundTrip(me, m[0], payload, latencyNs, out, in);
                        } catch (java.io.IOException e) {
                            if (me.error == null)
                                me.error = e.toString();
                        }
                        replies.add(m);
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "io-" + k);
            th[k].start();
        }
        tSpawn = System.nanoTime() - tSpawn;
        for (int i = 0; i < n; i++)
            ready.take();
        long rss1 = Report.rssBytes();
        long total = n * opsPer, got = 0, dupes = 0;
        BitSet answered = new BitSet();
        Samples lat = new Samples();
        r.windowStart();
        if (rate == 0) {
            for (int i = 0; i < n; i++)
                w[i].port.add(new long[] {i, System.nanoTime()});
            while (got < total) {
                long[] m = replies.take();
                long now = System.nanoTime();
                lat.add(now - m[1]);
                got++;
                if (m[0] < 0 || m[0] >= total || answered.get((int) m[0]))
                    dupes++;
                else
                    answered.set((int) m[0]);
                long next = m[0] + n;
                if (next < total)
                    w[(int) (next % n)].port.add(new long[] {next, System.nanoTime()});
            }
        } else {
            long t0 = System.nanoTime(), next = 0;
            double period = 1e9 / rate;
            while (got < total) {
                long now = System.nanoTime();
                long due = t0 + (long) (next * period);
                if (next < total && now >= due) {
                    w[(int) (next % n)].port.add(new long[] {next, due});
                    next++;
                    continue;
                }
                long[] m = next < total ? replies.poll(due - now, TimeUnit.NANOSECONDS)
                                        : replies.take();
                if (m == null)
                    continue;
                lat.add(System.nanoTime() - m[1]);
                got++;
                if (m[0] < 0 || m[0] >= total || answered.get((int) m[0]))
                    dupes++;
                else
                    answered.set((int) m[0]);
            }
        }
        r.windowStop();
        for (int i = 0; i < n; i++)
            w[i].port.add(STOP);
        for (Thread t : th)
            t.join();
        for (Worker x : w) {
            x.client.close();
            x.server.close();
        }
        if (got != total || dupes > 0)
            r.fail(got + " replies for " + total + " requests (" + dupes + " duplicates)");
        for (int i = 0; i < n; i++)
            if (w[i].error != null) {
                r.fail("worker " + i + ": IO round trip failed: " + w[i].error);
                break;
            }
        r.ops(got);
        r.hist("latency_ns", lat);
        r.metric("tasks", (long) n);
        r.metric("spawn_ns_per_task", (double) tSpawn / n);
        if (rss0 > 0 && rss1 > 0)
            r.metric("rss_per_task_bytes", (double) (rss1 - rss0) / n);
    }
}
