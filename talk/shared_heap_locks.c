/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Claim 5: on a shared heap, threads that update the same data without
 * locks race and lose updates; with locks they do not; and locks taken
 * in a careless order deadlock.
 *
 * The talk: the JVM's one heap is shared by every thread, which is what
 * makes shared-state concurrency possible; it also makes races possible,
 * so the program guards the data with locks (or Clojure's atoms and
 * refs), and locks bring deadlocks when they are taken carelessly.
 *
 * The real system: two threads that read-modify-write one field without
 * synchronisation interleave, and one update overwrites the other ("Thread
 * Interference" in the Java tutorial's concurrency trail,
 * https://docs.oracle.com/javase/tutorial/essential/concurrency/interfere.html;
 * the Java memory model gives an unsynchronised program no ordering at
 * all, JLS 17.4).  `synchronized` makes each update atomic
 * ("Synchronized Methods", same trail).  Two threads that each hold one
 * monitor and wait for the other's block forever ("Deadlock", same trail:
 * https://docs.oracle.com/javase/tutorial/essential/concurrency/deadlock.html);
 * the usual cure is one global lock order.
 *
 * The experiment: `bank` on `locks` (the JVM's shared heap with
 * java.util.concurrent locks), 4 workers moving random amounts between
 * 8 accounts (high contention), the total checked at the end and by
 * audits.  Step "race": lock=none (plain loads and stores of the
 * balances: the race) against lock=mutex (each transfer holds both
 * accounts' locks, taken in address order).  Step "order": lock=mutex
 * with ordering=naive (the source account's lock first, then the
 * destination's), which deadlocks as soon as two workers move money
 * between the same two accounts in opposite directions; the workload's
 * watchdog reports it when no worker progresses for stall_ms (1 s).
 * That step has 4 accounts and a window of 1 s (--quick; 3 s at full
 * size): with 8 accounts and 200 ms, one repetition in three escaped on
 * a busy 2-core machine here; the rule asks for one deadlock, the sizes
 * make one in every repetition all but certain.
 * The evidence is the cells' outcomes, not a time: the race's run fails
 * its invariant ("N units lost", or created when a lost update was a
 * debit), the locked run keeps the total to the unit, and the naive
 * order's run fails as a deadlock.
 *
 * The rule, on outcomes with no tolerance needed: lock=none fails the
 * bank's invariant (units lost or created) in at least one repetition;
 * lock=mutex succeeds in every repetition with lost_units exactly 0 (the
 * interval of the median is [0, 0]); ordering=naive fails with the
 * watchdog's "deadlock" in at least one repetition (talk_count: the
 * claim is that the race and the deadlock happen, not that they happen
 * every time).  Each
 * is all but certain on any machine with two PUs: at --quick the race
 * has millions of unguarded transfers in 200 ms (a run here lost 7,997
 * of 8,000 units), and the naive order meets opposite transfers within
 * milliseconds.  A race that loses nothing, a locked run that does, or a
 * naive run that finishes is "does not hold here"; a cell that could
 * not run at all (a timeout, a crash) is "cannot be shown here".
 */
#include "runner/talk.h"

#include <stdio.h>
#include <string.h>

/* What the repetitions of one cell did: how many failed, how many ran,
 * and whether the first failure was the one the claim names. */
typedef struct outcomes {
    int failed, measured;
    const char *reason;
    bool named; /* the first failure's reason contains the claim's words */
} outcomes_t;

static outcomes_t outcomes(const talk_results_t *r, const char *step,
                           const char *where, const char *what)
{
    outcomes_t o = {0};
    o.failed =
        talk_count(r, step, "locks", where, "failed", &o.measured, &o.reason);
    o.named = o.failed > 0 && o.reason && strstr(o.reason, what) != NULL;
    return o;
}

static void figure(talk_judgement_t *j, const char *name, outcomes_t o)
{
    if (o.failed > 0)
        talk_figure(j, "%s: %d of %d runs failed: %.140s", name, o.failed,
                    o.measured, o.reason ? o.reason : "no reason recorded");
    else
        talk_figure(j, "%s: %d of %d runs failed", name,
                    o.failed < 0 ? 0 : o.failed, o.measured);
}

static void judge(const talk_results_t *r, talk_judgement_t *j)
{
    outcomes_t none = outcomes(r, "race", "lock=none", " units ");
    outcomes_t naive = outcomes(r, "order", "ordering=naive", "deadlock");
    outcomes_t lockedo = outcomes(r, "race", "lock=mutex", " units ");
    talk_value_t locked =
        talk_get(r, "race", "locks", "lock=mutex", "lost_units");
    char why[400];

    figure(j, "lock=none", none);
    if (locked.ok)
        talk_figure(j,
                    "lock=mutex: lost_units %.0f [%.0f .. %.0f] over %zu "
                    "runs",
                    locked.median, locked.lo, locked.hi, locked.n);
    else
        figure(j, "lock=mutex", lockedo);
    figure(j, "ordering=naive", naive);

    /* A cell that did not run, or whose runs neither succeeded nor
     * failed (timeouts, crashes), shows nothing. */
    const struct {
        const char *name, *where, *step;
        outcomes_t o;
    } cells[] = {{"lock=none", "lock=none", "race", none},
                 {"lock=mutex", "lock=mutex", "race", lockedo},
                 {"ordering=naive", "ordering=naive", "order", naive}};
    for (size_t i = 0; i < sizeof cells / sizeof cells[0]; i++) {
        int ok = talk_count(r, cells[i].step, "locks", cells[i].where, "ok",
                            NULL, NULL);
        if (cells[i].o.failed < 0 || ok < 0 || ok + cells[i].o.failed == 0) {
            talk_value_t v =
                talk_get(r, cells[i].step, "locks", cells[i].where, "ops");
            talk_why_missing(why, sizeof why, "locks", v);
            talk_judge(j, TALK_CANNOT_SHOW, "the %s cell did not run: %s",
                       cells[i].name, why);
            return;
        }
    }
    if (lockedo.failed > 0 || !locked.ok) {
        talk_judge(j, TALK_NOT_HERE,
                   "the locked transfers failed too (%.200s): locks did not "
                   "keep the total",
                   lockedo.reason ? lockedo.reason : "no reason recorded");
        return;
    }
    talk_verdict_t kept[2] = {talk_value_at_most(locked, 0),
                              talk_value_at_least(locked, 0)};
    talk_verdict_t k = talk_all(kept, 2);
    if (!none.named) {
        talk_judge(j, TALK_NOT_HERE,
                   none.failed == 0 ? "the unlocked transfers lost nothing in "
                                      "any run: no race was seen"
                                    : "the unlocked runs failed, but not by "
                                      "losing or creating units: %.200s",
                   none.reason ? none.reason : "");
    } else if (k == TALK_NOT_HERE) {
        talk_judge(j, TALK_NOT_HERE,
                   "with locks the total still changed: lost_units %.0f "
                   "[%.0f .. %.0f]",
                   locked.median, locked.lo, locked.hi);
    } else if (!naive.named) {
        talk_judge(j, TALK_NOT_HERE,
                   naive.failed == 0 ? "the naive lock order finished "
                                       "without a deadlock in every run"
                                     : "the naive lock order failed, but not "
                                       "as a deadlock: %.200s",
                   naive.reason ? naive.reason : "");
    } else if (k == TALK_HOLDS) {
        talk_judge(j, TALK_HOLDS,
                   "without locks the transfers raced and the total "
                   "changed; with locks it stayed exact; the naive lock "
                   "order deadlocked");
    } else {
        talk_judge(j, TALK_INCONCLUSIVE,
                   "the race and the deadlock showed, but the locked run "
                   "had too few repetitions to give lost_units an "
                   "interval");
    }
}

const talk_check_t cb_talk_shared_heap_locks = {
    .id = "shared-heap-locks",
    .order = 5,
    .title = "shared heap: without locks a race loses money, with locks it "
             "does not, and a naive lock order deadlocks",
    .claim = "On the JVM's shared heap threads can touch the same data: "
             "unguarded updates race and are lost, locks prevent the race, "
             "and locks taken in no fixed order deadlock.",
    .rule = "bank on locks, 4 workers, 8 accounts: lock=none fails the "
            "invariant (units lost or created) in at least one repetition, "
            "lock=mutex keeps lost_units at exactly 0 in every repetition, "
            "and ordering=naive (4 accounts) ends in the watchdog's "
            "deadlock in at least one; judged on the repetitions' "
            "outcomes.",
    .steps = {{
                  .name = "race",
                  .systems = "locks",
                  .workload = "bank",
                  .params = {"lock=none,mutex", "tasks=4", "accounts=8"},
                  .timeout_s = 60,
              },
              {
                  .name = "order",
                  .systems = "locks",
                  .workload = "bank",
                  .params = {"lock=mutex", "ordering=naive", "tasks=4",
                             "accounts=4", "duration_ms=3000"},
                  .quick_params = {"lock=mutex", "ordering=naive", "tasks=4",
                                   "accounts=4", "duration_ms=1000"},
                  .timeout_s = 60,
              }},
    .nsteps = 2,
    .judge = judge,
    .plots = {{
        .kind = TALK_PLOT_BARS,
        .step = "race",
        .metric = "throughput_ops_s",
        .x = "lock",
        .title = "transfers per second with locks (the unlocked run has no "
                 "bar: it broke the bank's invariant)",
        .unit = "",
    }},
    .nplots = 1,
};
