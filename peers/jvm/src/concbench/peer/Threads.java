/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Platform or virtual threads, by the parameter threads=platform|virtual.
 *
 * Virtual threads (JEP 444) are final in JDK 21: a virtual thread is a
 * continuation mounted on a carrier of a ForkJoinPool, unmounted when it
 * blocks in a j.u.c queue, a sleep or socket IO.  This program is
 * compiled by whatever javac is installed (17 on Debian 12), so it asks
 * for Thread.ofVirtual() by reflection: on a JDK that has it, the same
 * classes run virtual threads; on one that has not, the run says
 * unsupported with the JDK's version instead of failing.
 */
package concbench.peer;

import java.lang.reflect.Method;

final class Threads {
    private static final Method OF_VIRTUAL = lookup();

    private static Method lookup() {
        try {
            return Thread.class.getMethod("ofVirtual");
        } catch (NoSuchMethodException e) {
            return null;
        }
    }

    static boolean virtualAvailable() { return OF_VIRTUAL != null; }

    /* Reads threads=platform|virtual; false (with the reason in r) when
     * virtual threads are asked for and this JDK has none. */
    static Boolean choose(Params p, Report r) {
        boolean virtual = p.choice("threads", "platform", "platform|virtual").equals("virtual");
        if (virtual && OF_VIRTUAL == null) {
            r.unsupported("threads=virtual: virtual threads are final in JDK 21; this JVM is "
                          + System.getProperty("java.version"));
            return null;
        }
        return virtual;
    }

    /* An unstarted thread running body. */
    static Thread make(boolean virtual, Runnable body, String name) {
        if (!virtual)
            return new Thread(body, name);
        try {
            /* Through the public interface Thread.Builder: the builder's
             * own class is internal to java.base. */
            Class<?> api = Class.forName("java.lang.Thread$Builder");
            Object builder = OF_VIRTUAL.invoke(null);
            builder = api.getMethod("name", String.class).invoke(builder, name);
            return (Thread) api.getMethod("unstarted", Runnable.class).invoke(builder, body);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("starting a virtual thread: " + e, e);
        }
    }
}
