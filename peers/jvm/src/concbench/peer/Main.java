/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * The `jvm` real system: the concbench workloads written in plain Java
 * with platform threads and java.util.concurrent, one repetition per JVM.
 *
 *     java concbench.peer.Main WORKLOAD key=value ...
 *
 * Each workload (one class each) takes the C workload's parameters, checks
 * the same invariant, times the same window and reports the same metric
 * names (workloads/<name>.c) through Report.  Exit status: 0 once an
 * outcome line is printed (ok, failed, unsupported or error), 2 for a bad
 * parameter, with the reason on stderr.  System.exit ends the JVM at
 * once, so a thread a workload abandoned (a stalled worker) cannot keep
 * it alive.
 */
package concbench.peer;

import java.util.Map;
import java.util.TreeMap;

public final class Main {
    public interface Workload {
        void run(Params p, Report r) throws Exception;
    }

    static final Map<String, Workload> WORKLOADS = new TreeMap<>();
    static {
        WORKLOADS.put("ping-pong", PingPong::run);
        WORKLOADS.put("spawn", Spawn::run);
        WORKLOADS.put("skynet", Skynet::run);
        WORKLOADS.put("alts", (p, r) -> r.unsupported(
            "alts: java.util.concurrent has no select over several queues "
            + "(BlockingQueue.take waits on one; the JDK idiom for 'whichever is "
            + "ready' is one shared queue or a CompletionService, not a choice "
            + "among channels)"));
        WORKLOADS.put("selective-receive", (p, r) -> r.unsupported(
            "selective-receive: a BlockingQueue has no receive by pattern "
            + "(take() returns the head; there is no mailbox scan)"));
        WORKLOADS.put("cpu-crunch", CpuCrunch::run);
        WORKLOADS.put("mailbox-flood", MailboxFlood::run);
        WORKLOADS.put("bank", Bank::run);
        WORKLOADS.put("io-fanout", IoFanout::run);
        WORKLOADS.put("supervision", Supervision::run);
    }

    /* The workloads that run virtual threads with threads=virtual. */
    static final java.util.List<String> VIRTUAL =
        java.util.List.of("ping-pong", "spawn", "cpu-crunch", "io-fanout");

    /* The CPUs the runner pinned the JVM to (CONCBENCH_CPUS, passed by the
     * entry script), which -XX:ActiveProcessorCount also gives the JVM. */
    public static int cpus() {
        int n = Integer.getInteger("concbench.cpus", 0);
        return n > 0 ? n : Runtime.getRuntime().availableProcessors();
    }

    public static void main(String[] args) {
        if (args.length < 1 || !WORKLOADS.containsKey(args[0])) {
            System.err.println("jvm: usage: WORKLOAD key=value ...; workloads: "
                               + String.join(" ", WORKLOADS.keySet()));
            System.exit(2);
        }
        Report r = new Report();
        try {
            Params p = new Params(args, 1);
            boolean virtual = p.choice("threads", "platform", "platform|virtual").equals("virtual");
            if (virtual && !VIRTUAL.contains(args[0]))
                r.unsupported("threads=virtual: " + args[0] + " runs platform threads only "
                              + "(virtual threads: " + String.join(", ", VIRTUAL) + ")");
            else
                WORKLOADS.get(args[0]).run(p, r);
        } catch (Params.BadParam e) {
            System.err.println("jvm: " + args[0] + ": " + e.getMessage());
            System.exit(2);
        } catch (Throwable t) {
            System.out.println("outcome error " + Report.oneLine(t.toString()));
            System.out.flush();
            t.printStackTrace();
            System.exit(0);
        }
        r.finish();
        System.exit(0);
    }
}
