/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * A workload's parameters, key=value, with the C workload's names,
 * defaults and bounds (workloads/<name>.c), so that the program runs alone
 * with the same sizes the runner would give it.  The runner passes every
 * parameter already resolved and validated, plus `seed`; keys this
 * workload does not know are ignored, as the contract says.  A value that
 * is not a decimal integer in range, or not one of an enum's choices,
 * ends the program with exit status 2 and the reason on stderr.
 */
package concbench.peer;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

public final class Params {
    public static final class BadParam extends RuntimeException {
        BadParam(String m) { super(m); }
    }

    private final Map<String, String> given = new HashMap<>();
    private final Map<String, Object> values = new LinkedHashMap<>();

    public Params(String[] args, int from) {
        for (int i = from; i < args.length; i++) {
            int eq = args[i].indexOf('=');
            if (eq <= 0)
                throw new BadParam("'" + args[i] + "' is not key=value");
            given.put(args[i].substring(0, eq), args[i].substring(eq + 1));
        }
    }

    public long integer(String name, long def, long min, long max) {
        String s = given.get(name);
        long v = def;
        if (s != null) {
            if (!s.matches("-?[0-9]{1,19}"))
                throw new BadParam(name + "=" + s + ": not a decimal integer");
            try {
                v = Long.parseLong(s);
            } catch (NumberFormatException e) {
                throw new BadParam(name + "=" + s + ": out of range");
            }
            if (v < min || v > max)
                throw new BadParam(name + "=" + s + ": must be in " + min + ".." + max);
        }
        values.put(name, v);
        return v;
    }

    public String choice(String name, String def, String choices) {
        String s = given.getOrDefault(name, def);
        for (String c : choices.split("\\|"))
            if (c.equals(s)) {
                values.put(name, s);
                return s;
            }
        throw new BadParam(name + "=" + s + ": must be one of " + choices);
    }

    /* The run's seed: any 64-bit value, decimal (unsigned or signed). */
    public long seed() {
        String s = given.get("seed");
        if (s == null)
            return 1;
        try {
            return Long.parseUnsignedLong(s);
        } catch (NumberFormatException e) {
            try {
                return Long.parseLong(s);
            } catch (NumberFormatException e2) {
                throw new BadParam("seed=" + s + ": not a decimal integer");
            }
        }
    }

    public static long mix(long x) {
        /* splitmix64, as cb_wl_mix: per-task generators from one seed. */
        x += 0x9E3779B97F4A7C15L;
        x = (x ^ (x >>> 30)) * 0xBF58476D1CE4E5B9L;
        x = (x ^ (x >>> 27)) * 0x94D049BB133111EBL;
        return x ^ (x >>> 31);
    }
}
