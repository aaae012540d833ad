/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Claim 3: the BEAM is not the best at sustained CPU crunching.
 *
 * The talk: preemptive scheduling makes the BEAM great at massive
 * concurrency but maybe not the best at CPU-intensive work sustained over
 * time, dynamic typing being another handicap there; one then resorts to
 * NIFs or ports, while the JVM's threads are a good fit for CPU-bound
 * work.
 *
 * The real systems: BEAM code is compiled to a register machine, run by
 * the JIT (BeamAsm, OTP 24 and later) without type specialisation, and
 * every integer beyond 60 bits is a heap-allocated bignum ("Efficiency
 * Guide: Advanced, Memory": a small integer is one word, a large one
 * 3..N words); Go and HotSpot compile the same loop to machine code on
 * 64-bit registers.  Each system runs the same crunch: a 64-bit LCG step
 * and an xor-shift per unit (crunch/2 in peers/beam/concbench_beam.erl,
 * crunch in peers/go/workloads.go, CpuCrunch.java in peers/jvm), which on
 * the BEAM means bignum products masked back to 64 bits, the arithmetic
 * a real Erlang program hashing or mixing 64-bit values does.
 *
 * The experiment and its metric: `cpu-crunch` with 2 hogs (one per core
 * of a 2-core machine, so each system computes on every core it is given)
 * and one probe, on the real BEAM, Go and the JVM's platform threads;
 * the figure is the hogs' throughput, units of work per second in the
 * measurement window (throughput_ops_s: the sum of the hogs' progress
 * over the window).  skynet was the other candidate and is not the one:
 * its time is spawning a million tasks and sending their results, which
 * measures task creation and messaging, not sustained computation.  The
 * models are not part of it: they are one C program whose crunch is the
 * same machine code on every model, so only the real systems can show a
 * difference of language runtime.
 *
 * The rule: the faster of Go and the JVM (whichever ran, the higher
 * median) does at least 2x the BEAM's units per second, on the whole
 * bootstrap interval of the ratio.  Measured on a loaded 2-core machine:
 * BEAM 68 K to 223 K units/s, Go 4.5 M to 7.1 M, JVM 7.5 M to 18.9 M, 30x
 * to 110x apart, so 2x is a clear margin that neither noise nor the
 * JVM's warm-up inside a 300 ms window (which counts against it) can
 * close.  Without the BEAM, or
 * without both Go and the JVM, the verdict is "cannot be shown here",
 * naming what to install.
 */
#include "runner/talk.h"

#include <stdio.h>

static void judge(const talk_results_t *r, talk_judgement_t *j)
{
    const char *m = "throughput_ops_s";
    talk_value_t beam = talk_get(r, "crunch", "beam", NULL, m);
    talk_value_t go = talk_get(r, "crunch", "go", NULL, m);
    talk_value_t jvm = talk_get(r, "crunch", "jvm", NULL, m);
    char a[32], b[32], c[32], why[300];
    const struct {
        const char *name;
        talk_value_t v;
    } cells[] = {{"beam", beam}, {"go", go}, {"jvm", jvm}};
    for (size_t i = 0; i < 3; i++) {
        if (cells[i].v.ok)
            talk_figure(j, "%s: %s units/s [%s .. %s]", cells[i].name,
                        talk_fmt(a, sizeof a, cells[i].v.median, ""),
                        talk_fmt(b, sizeof b, cells[i].v.lo, ""),
                        talk_fmt(c, sizeof c, cells[i].v.hi, ""));
        else
            talk_figure(j, "%s", talk_why_missing(why, sizeof why,
                                                  cells[i].name, cells[i].v));
    }
    if (!beam.ok) {
        talk_judge(j, TALK_CANNOT_SHOW, "the BEAM did not run: %s",
                   talk_why_missing(why, sizeof why, "beam", beam));
        return;
    }
    if (!go.ok && !jvm.ok) {
        talk_judge(j, TALK_CANNOT_SHOW,
                   "neither Go nor the JVM ran, so there is nothing to "
                   "compare the BEAM with: %s",
                   talk_why_missing(why, sizeof why, "go", go));
        return;
    }
    bool use_go = go.ok && (!jvm.ok || go.median >= jvm.median);
    const char *best = use_go ? "go" : "jvm";
    double ratio;
    talk_verdict_t v =
        talk_ratio_at_least(use_go ? go : jvm, beam, 2, &ratio);
    switch (v) {
    case TALK_HOLDS:
        talk_judge(j, v,
                   "%s crunched %.1fx the BEAM's units per second on the "
                   "same loop: the BEAM is not the best at it",
                   best, ratio);
        break;
    case TALK_NOT_HERE:
        talk_judge(j, v,
                   "the fastest other system, %s, crunched only %.2fx the "
                   "BEAM's units per second (bound 2x)",
                   best, ratio);
        break;
    default:
        talk_judge(j, v,
                   "%s / BEAM was %.2fx, with an interval that straddles the "
                   "bound of 2x",
                   best, ratio);
        break;
    }
}

const talk_check_t cb_talk_crunch_throughput = {
    .id = "crunch-throughput",
    .order = 3,
    .title = "the BEAM is not the best at sustained CPU crunching",
    .claim = "Preemption and dynamic typing make the BEAM great at many "
             "concurrent tasks but not the fastest at sustained number "
             "crunching, where the JVM's threads (and Go) do better; only "
             "the real systems can show it.",
    .rule = "cpu-crunch with 2 hogs on the real BEAM, Go and the JVM: the "
            "faster of Go and the JVM does at least 2x the BEAM's hog units "
            "per second (throughput_ops_s), on the whole bootstrap interval "
            "of the ratio; cannot be shown without the BEAM or without both "
            "of the others.",
    .steps = {{
        .name = "crunch",
        .systems = "beam,go,jvm",
        .workload = "cpu-crunch",
        .params = {"hogs=2", "probes=1"},
        .timeout_s = 120,
    }},
    .nsteps = 1,
    .judge = judge,
    .plots = {{
        .kind = TALK_PLOT_BARS,
        .step = "crunch",
        .metric = "throughput_ops_s",
        .title = "units of the same integer crunch per second, 2 hogs on 2 "
                 "cores",
        .unit = "",
        .log_y = true,
    }},
    .nplots = 1,
};
