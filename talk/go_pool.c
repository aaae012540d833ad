/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Claim 9: go blocks park on a fixed pool of threads; blocking inside a
 * go block starves that pool; the "1000 msgs in 194 ms" example.
 *
 * The talk: core.async's `go` rewrites a block so that a channel op that
 * cannot complete parks it and frees its thread; go blocks share a
 * fixed-size pool, which makes them far lighter than `thread`, where a
 * real JVM thread blocks.  Its example puts "hi" from 1,000 go blocks on
 * 1,000 channels and takes them all with alts!! from the main thread:
 * "1000 msgs in 194 ms".
 *
 * The real system: go blocks are dispatched over an internal pool of 8
 * threads by default (clojure.core.async.pool-size); the blocking ops
 * (<!!, >!!, alts!!) inside a go block block that pool thread, which is
 * why the namespace offers clojure.core.async.go-checking to catch them
 * (the clojure.core.async namespace docstring,
 * https://clojure.github.io/core.async/ ; the `go` docstring warns that
 * blocking "risks depleting the fixed pool of go block threads").
 * `thread` runs its body on a thread of its own.
 *
 * The experiment: `alts` with unbuffered channels (port=rendezvous) and
 * the selector a go block (selector=task), 100 channels at --quick
 * (1,000 at full size), the best of 4 rounds (3 at full size), on `csp`
 * with a pool of 2 threads: go_ops=park (>! and alts!: parked go blocks
 * cost nothing while they wait) against go_ops=block (>!! and alts!!
 * inside the go blocks: every waiting go block holds one of the 2
 * threads, so the others queue behind them and each message waits for a
 * thread to come free), and against `threads` (core.async's `thread`: one OS
 * thread per putter, spawned and blocked in the kernel).  Step "example": the
 * talk's own example at 1,000 channels on `csp` (default pool of 8) and on the
 * real core.async where installed, reported as the talk reports it, the
 * first (cold) round in ms; it is a figure, not part of the rule, since
 * an absolute time says nothing about a shape, and it runs once at
 * --quick (a JVM start with Clojure and core.async loaded is seconds).
 *
 * The rule: a round with blocking ops in the go blocks takes at least
 * 1.5x as long as with parking ops, and a round of `thread`s at least 10x
 * as long as parked go blocks, both on the end-to-end intervals of the
 * ratios of the best round (round_ns_min).  Measured at --quick on a quiet
 * 2-core machine: blocking 2.9-3.7x, threads 100-110x; on one with a load
 * average of 40, blocking 130-730x and threads 300-2000x.  The two bounds
 * differ because the costs do: with the selector holding one of the two
 * threads in alts!!, every message is a hand-off between two kernel
 * threads (a futex wake, a few microseconds on an idle core, a whole time
 * slice on a busy one) where parked go blocks hand off in user space,
 * while a thread per putter pays a clone and a stack each.  A bound of
 * 10x on blocking held only on a loaded machine and failed on every quiet
 * run, so it measured the load, not the pool.  That the pool really
 * starves when the blocked go blocks outnumber its threads is a deadlock,
 * not a slowdown, and gives no figure to compare: cpu-crunch with 16
 * probes on a pool of 2 and go_ops=block hangs until the cell's timeout,
 * as the first two probes' blocking takes of their go message hold both
 * threads and the other fourteen never report ready.
 */
#include "runner/talk.h"

#include <stdio.h>

static void judge(const talk_results_t *r, talk_judgement_t *j)
{
    const char *m = "round_ns_min";
    talk_value_t park = talk_get(r, "pool", "csp", "go_ops=park", m);
    talk_value_t block = talk_get(r, "pool", "csp", "go_ops=block", m);
    talk_value_t thread = talk_get(r, "pool", "threads", NULL, m);
    talk_value_t ex_csp = talk_get(r, "example", "csp", NULL, "round_ns_first");
    talk_value_t ex_real =
        talk_get(r, "example", "core.async", NULL, "round_ns_first");
    char a[32], b[32], c[32], why[400];

    talk_figure(j,
                "one round of the example on a pool of 2: parked go "
                "blocks %s, blocking go blocks %s, threads %s",
                talk_fmt(a, sizeof a, park.median, "ns"),
                talk_fmt(b, sizeof b, block.median, "ns"),
                talk_fmt(c, sizeof c, thread.median, "ns"));
    if (ex_csp.ok)
        talk_figure(j,
                    "the talk's example (1000 channels, first round): "
                    "csp %s",
                    talk_fmt(a, sizeof a, ex_csp.median, "ns"));
    if (ex_real.ok)
        talk_figure(j,
                    "the same on the real core.async: %s (the talk: "
                    "194 ms)",
                    talk_fmt(a, sizeof a, ex_real.median, "ns"));
    else
        talk_figure(j, "%s",
                    talk_why_missing(why, sizeof why, "core.async", ex_real));

    const struct {
        const char *name;
        talk_value_t v;
    } cells[] = {{"csp go_ops=park", park},
                 {"csp go_ops=block", block},
                 {"threads", thread}};
    for (size_t i = 0; i < 3; i++)
        if (!cells[i].v.ok) {
            talk_why_missing(why, sizeof why, cells[i].name, cells[i].v);
            talk_judge(j, TALK_CANNOT_SHOW, "a cell gave no figure: %s", why);
            return;
        }
    double starved = 0, heavy = 0;
    talk_verdict_t v[2] = {
        talk_ratio_at_least(block, park, 1.5, &starved),
        talk_ratio_at_least(thread, park, 10, &heavy),
    };
    talk_verdict_t all = talk_all(v, 2);
    switch (all) {
    case TALK_HOLDS:
        talk_judge(j, all,
                   "parked go blocks shared the 2 threads freely; blocking "
                   "inside them held the pool and made a round %.1fx "
                   "slower, and a thread per putter %.0fx slower",
                   starved, heavy);
        break;
    case TALK_NOT_HERE:
        talk_judge(j, all,
                   "blocking / parking %.1fx (bound 1.5x) and threads / "
                   "parking %.1fx (bound 10x): at least one is under its "
                   "bound",
                   starved, heavy);
        break;
    default:
        talk_judge(j, all,
                   "an interval straddles its bound (blocking / parking "
                   "%.1fx, bound 1.5x; threads / parking %.1fx, bound 10x)",
                   starved, heavy);
        break;
    }
}

const talk_check_t cb_talk_go_pool = {
    .id = "go-pool",
    .order = 9,
    .title = "go blocks park on a fixed pool; blocking inside one starves "
             "the pool (\"1000 msgs in 194 ms\")",
    .claim = "A go block that waits on a channel parks and frees its "
             "thread, so many go blocks share a small fixed pool; a "
             "blocking op inside a go block holds a pool thread instead, "
             "and a real thread per task is heavier still.",
    .rule = "alts over unbuffered channels with a go block selecting, csp "
            "pool=2: the best round with blocking ops (go_ops=block) takes "
            "at least 1.5x as long as with parking ops, and with a thread "
            "per putter (threads) at least 10x, on the whole intervals of "
            "the ratios; the talk's example is reported beside it.",
    .steps = {{
                  .name = "pool",
                  .systems = "csp,threads",
                  .workload = "alts",
                  .params = {"port=rendezvous", "selector=task",
                             "go_ops=park,block", "pool=2", "channels=1000",
                             "rounds=3"},
                  .quick_params = {"port=rendezvous", "selector=task",
                                   "go_ops=park,block", "pool=2",
                                   "channels=100", "rounds=4"},
                  /* Cells of a fraction of a second: 8 repetitions of the
                   * best of 4 rounds keep a loaded machine's outliers out
                   * of the interval (3 of the best of 2 straddled 10x
                   * under ASan at a load average of 40; 5 straddled 1.5x
                   * once at a load of 6, median 3.0x). */
                  .quick_reps = 8,
                  .timeout_s = 60,
              },
              {
                  .name = "example",
                  .systems = "csp,core.async",
                  .workload = "alts",
                  .params = {"port=rendezvous", "selector=root",
                             "channels=1000", "rounds=3"},
                  .quick_params = {"port=rendezvous", "selector=root",
                                   "channels=1000", "rounds=1"},
                  /* A figure, not part of the rule: one JVM start at
                   * --quick (3-4 s on a quiet 2-core machine, 20 s on a
                   * loaded one) keeps the claim inside its budget. */
                  .reps = 3,
                  .quick_reps = 1,
                  .timeout_s = 120,
              }},
    .nsteps = 2,
    .judge = judge,
    .plots = {{
                  .kind = TALK_PLOT_BARS,
                  .step = "pool",
                  .metric = "round_ns_min",
                  .x = "go_ops",
                  .title = "one round of 'put on N channels, alts over them' "
                           "on a pool of 2: parking, blocking, threads",
                  .unit = "ns",
                  .log_y = true,
              },
              {
                  .kind = TALK_PLOT_BARS,
                  .step = "example",
                  .metric = "round_ns_first",
                  .title = "the talk's example, 1000 channels, first round",
                  .unit = "ns",
              }},
    .nplots = 2,
};
