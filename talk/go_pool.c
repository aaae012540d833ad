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
 * The experiment, in three steps.  "starve": io-fanout on `csp` with a
 * pool of 2 threads and 16 workers, each a go block that sends "ready"
 * and then waits on its channel for requests; the coordinator (the root
 * thread) sends the first request only when all 16 are ready.  With
 * go_ops=park the waiting workers park and all 16 get to run; with
 * go_ops=block (<!! inside the go blocks) the first two workers hold both
 * threads while they wait, the other fourteen never run, and the run
 * hangs until the step's timeout kills it: the pool is depleted, which is
 * a deadlock, not a slowdown.  "pool": `alts` with unbuffered channels
 * (port=rendezvous) and the selector a go block (selector=task), 100
 * channels at --quick (1,000 at full size), the best of 4 rounds (3 at full
 * size), on `csp` with a pool of 2 (go_ops=park and go_ops=block) and on
 * `threads` (core.async's `thread`: one OS thread per putter, spawned and
 * blocked in the kernel).  "example": the talk's own example at 1,000
 * channels on `csp` (default pool of 8) and on the real core.async where
 * installed, reported as the talk reports it, the first (cold) round in
 * ms; a figure, not part of the rule, since an absolute time says nothing
 * about a shape, and it runs once at --quick (a JVM start with Clojure and
 * core.async loaded is seconds).
 *
 * The rule: the starve step with parking ops finishes and the one with
 * blocking ops is killed at its timeout (5 s, scaled as every cell's; the
 * parking run takes 0.5-5 ms, so the margin is three orders of magnitude),
 * and the best round of `thread`s takes at least 10x as long as parked go
 * blocks on the end-to-end interval of the ratio (measured at --quick: 90-
 * 200x quiet, 300-2000x at a load average of 40).  The blocking alts round
 * is a figure only: with the selector holding one thread in alts!!, every
 * message is a futex hand-off between two kernel threads, which cost
 * 2.9-3.7x a parked round on one quiet 2-core machine but 1.9x, with an
 * interval reaching under 1.5x, on another; a hand-off's price is the
 * machine's, while a depleted pool hangs on every machine.
 */
#include "runner/talk.h"

#include <stdio.h>
#include <string.h>

/* The starve step: HOLDS when parking finished and blocking was killed at
 * the timeout, NOT_HERE when blocking finished too (nothing was held),
 * CANNOT_SHOW when a cell failed some other way. */
static talk_verdict_t starved_pool(talk_value_t park, talk_value_t block,
                                   char *why, size_t len)
{
    if (!park.ok) {
        talk_why_missing(why, len, "csp go_ops=park", park);
        return TALK_CANNOT_SHOW;
    }
    if (block.ok)
        return TALK_NOT_HERE;
    if (strcmp(block.status, "timeout") != 0) {
        talk_why_missing(why, len, "csp go_ops=block", block);
        return TALK_CANNOT_SHOW;
    }
    return TALK_HOLDS;
}

static void judge(const talk_results_t *r, talk_judgement_t *j)
{
    const char *m = "round_ns_min";
    talk_value_t io_park =
        talk_get(r, "starve", "csp", "go_ops=park", "elapsed_ns");
    talk_value_t io_block =
        talk_get(r, "starve", "csp", "go_ops=block", "elapsed_ns");
    talk_value_t park = talk_get(r, "pool", "csp", "go_ops=park", m);
    talk_value_t block = talk_get(r, "pool", "csp", "go_ops=block", m);
    talk_value_t thread = talk_get(r, "pool", "threads", NULL, m);
    talk_value_t ex_csp = talk_get(r, "example", "csp", NULL, "round_ns_first");
    talk_value_t ex_real =
        talk_get(r, "example", "core.async", NULL, "round_ns_first");
    char a[32], b[32], c[32], why[400] = "";

    talk_figure(j,
                "16 go blocks waiting on channels, pool of 2: parking "
                "finished in %s; blocking %s",
                talk_fmt(a, sizeof a, io_park.median, "ns"),
                io_block.ok ? talk_fmt(b, sizeof b, io_block.median, "ns")
                : strcmp(io_block.status, "timeout") == 0
                    ? "never finished (killed at the timeout)"
                    : io_block.status);
    talk_figure(j,
                "one alts round on a pool of 2: parked go blocks %s, "
                "blocking go blocks %s, threads %s",
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

    talk_verdict_t starved = starved_pool(io_park, io_block, why, sizeof why);
    if (starved == TALK_CANNOT_SHOW) {
        talk_judge(j, starved, "a starve cell gave no figure: %s", why);
        return;
    }
    const struct {
        const char *name;
        talk_value_t v;
    } cells[] = {{"csp go_ops=park", park}, {"threads", thread}};
    for (size_t i = 0; i < 2; i++)
        if (!cells[i].v.ok) {
            talk_why_missing(why, sizeof why, cells[i].name, cells[i].v);
            talk_judge(j, TALK_CANNOT_SHOW, "a cell gave no figure: %s", why);
            return;
        }
    double heavy = 0;
    talk_verdict_t v[2] = {starved,
                           talk_ratio_at_least(thread, park, 10, &heavy)};
    talk_verdict_t all = talk_all(v, 2);
    switch (all) {
    case TALK_HOLDS:
        talk_judge(j, all,
                   "parked go blocks shared the 2 threads freely; blocking "
                   "inside them held both threads and the rest never ran "
                   "(the run hung), and a thread per putter was %.0fx "
                   "slower than parked go blocks",
                   heavy);
        break;
    case TALK_NOT_HERE:
        talk_judge(j, all,
                   "%s; threads / parking %.1fx (bound 10x)",
                   starved == TALK_NOT_HERE
                       ? "the go blocks that blocked finished all the same: "
                         "the pool was not depleted"
                       : "the blocking go blocks depleted the pool",
                   heavy);
        break;
    default:
        talk_judge(j, all,
                   "the interval of threads / parking straddles its bound "
                   "(%.1fx, bound 10x)",
                   heavy);
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
    .rule = "16 go blocks that wait on channels on a csp pool of 2: with "
            "parking ops the run finishes, with blocking ops (go_ops=block) "
            "it hangs until the 5 s timeout kills it; and alts over "
            "unbuffered channels with a go block selecting, pool=2: the "
            "best round with a thread per putter (threads) takes at least "
            "10x as long as with parked go blocks, on the whole interval of "
            "the ratio; the blocking round and the talk's example are "
            "reported beside it.",
    .steps = {{
                  .name = "starve",
                  .systems = "csp",
                  .workload = "io-fanout",
                  .params = {"tasks=16", "ops=2", "coordinator=root",
                             "go_ops=park,block", "pool=2"},
                  .quick_params = {"tasks=16", "ops=2", "coordinator=root",
                                   "go_ops=park,block", "pool=2"},
                  /* One repetition: the blocking cell can only hang, and
                   * each hang costs the whole timeout. */
                  .reps = 1,
                  .quick_reps = 1,
                  .timeout_s = 5,
              },
              {
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
    .nsteps = 3,
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
