/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * The judges of claims 5, 7, 8, 9, 10 and 11 (talk/) on synthetic
 * results, apart from any noise: for each, results shaped as the claim
 * says (holds), results that contradict it (does not hold here), noise
 * across a bound (inconclusive) where the rule has a ratio, and a cell
 * that could not run (cannot be shown here).  The outcome-judging claims
 * (5, 7's cap, 8's unbounded channel) are fed the statuses and reasons
 * the runner records for such cells.
 */
#include "cb_test.h"
#include "runner/talk.h"

#include <string.h>

static const double zeros[] = {0, 0, 0};

static const talk_check_t *claim(const char *id)
{
    for (size_t i = 0; i < talk_claim_count(); i++)
        if (strcmp(talk_claim_at(i)->id, id) == 0)
            return talk_claim_at(i);
    CB_FAIL_("no claim %s", id);
    return NULL;
}

static talk_verdict_t judge(const char *id, talk_results_t *r)
{
    talk_judgement_t j;
    memset(&j, 0, sizeof j);
    claim(id)->judge(r, &j);
    CHECK(j.why[0] != '\0');
    CHECK_GE(j.nfigures, 1);
    talk_results_free(r);
    return j.verdict;
}

static void add3(talk_results_t *r, const char *step, const char *sys,
                 const char *where, const char *metric, double a, double b,
                 double c)
{
    const double v[] = {a, b, c};
    talk_results_add(r, step, sys, where, metric, v, 3);
}

/* ---- claim 5: shared-heap-locks ---- */

enum {
    RACE_OK = 1,
    RACE_TIMEOUT = 2,
    NAIVE_OK = 4,
    LOCKED_LOSES = 8,
    LOCKED_ONCE = 16,
    NAIVE_SOME = 32,
    LOCKED_SOME_FAIL = 64
};

static talk_verdict_t locks_case(int how)
{
    talk_results_t *r = talk_results_synthetic(true);
    const char *m = "lost_units";
    if (how & RACE_OK)
        talk_results_add(r, "race", "locks", "lock=none tasks=4", m, zeros, 3);
    else if (how & RACE_TIMEOUT)
        talk_results_add_missing(r, "race", "locks", "lock=none tasks=4",
                                 "timeout", "ran past 60 s");
    else
        talk_results_add_missing(r, "race", "locks", "lock=none tasks=4",
                                 "failed",
                                 "total after the run is 3, wanted 8000: "
                                 "7997 units lost; 0 accounts negative");
    if (how & LOCKED_LOSES)
        add3(r, "race", "locks", "lock=mutex tasks=4", m, 5, 3, 4);
    else if (how & LOCKED_ONCE)
        talk_results_add(r, "race", "locks", "lock=mutex tasks=4", m, zeros, 1);
    else
        talk_results_add(r, "race", "locks", "lock=mutex tasks=4", m, zeros, 3);
    if (how & LOCKED_SOME_FAIL)
        talk_results_add_outcomes(r, "race", "locks", "lock=mutex tasks=4",
                                  "failed", 1,
                                  "total after the run is 7999, wanted 8000: "
                                  "1 units lost");
    if (how & NAIVE_OK)
        talk_results_add(r, "order", "locks",
                         "lock=mutex ordering=naive tasks=4", m, zeros, 3);
    else if (how & NAIVE_SOME) {
        /* one repetition escaped, two deadlocked */
        talk_results_add(r, "order", "locks",
                         "lock=mutex ordering=naive tasks=4", m, zeros, 1);
        talk_results_add_outcomes(r, "order", "locks",
                                  "lock=mutex ordering=naive tasks=4", "failed",
                                  2,
                                  "deadlock: none of the 4 running workers "
                                  "(of 4) made progress for 1000 ms");
    } else
        talk_results_add_missing(r, "order", "locks",
                                 "lock=mutex ordering=naive tasks=4", "failed",
                                 "deadlock: none of the 4 running workers "
                                 "(of 4) made progress for 1000 ms");
    return judge("shared-heap-locks", r);
}

static void test_shared_heap_locks(void)
{
    CHECK_EQ(locks_case(0), TALK_HOLDS);
    /* a deadlock in some repetitions is the claim shown */
    CHECK_EQ(locks_case(NAIVE_SOME), TALK_HOLDS);
    /* a locked repetition that lost units is the claim failing */
    CHECK_EQ(locks_case(LOCKED_SOME_FAIL), TALK_NOT_HERE);
    /* a race that lost nothing, locks that lost, an order that finished */
    CHECK_EQ(locks_case(RACE_OK), TALK_NOT_HERE);
    CHECK_EQ(locks_case(LOCKED_LOSES), TALK_NOT_HERE);
    CHECK_EQ(locks_case(NAIVE_OK), TALK_NOT_HERE);
    /* one locked repetition: no interval for "exactly 0" */
    CHECK_EQ(locks_case(LOCKED_ONCE), TALK_INCONCLUSIVE);
    CHECK_EQ(locks_case(RACE_TIMEOUT), TALK_CANNOT_SHOW);
}

/* ---- claim 7: mailbox-unbounded ---- */

enum {
    NO_BEAM = 1,
    CAP_SURVIVES = 2,
    SMALL_MAILBOX = 4,
    NOISY = 8,
    ACTOR_CRASHED = 16,
    BEAM_BOUNDED = 32,
    SEND_WAITS = 64,
    OTHERS_STALL = 128
};

static talk_verdict_t flood_case(int how)
{
    talk_results_t *r = talk_results_synthetic(true);
    const char *m = "peak_queue_len";
    if (how & ACTOR_CRASHED)
        talk_results_add_missing(r, "flood", "actor", "", "crashed",
                                 "killed by signal 11");
    else if (how & SMALL_MAILBOX)
        add3(r, "flood", "actor", "", m, 2000, 2100, 1900);
    else if (how & NOISY) {
        const double v[] = {4000, 8000, 10240, 15000, 30000};
        talk_results_add(r, "flood", "actor", "", m, v, 5);
    } else
        add3(r, "flood", "actor", "", m, 3.0e5, 3.2e5, 2.9e5);
    if (how & NO_BEAM)
        talk_results_add_missing(r, "flood", "beam", "", "unsupported",
                                 "beam not installed: erl not found "
                                 "(scripts/deps.sh installs it)");
    else if (how & BEAM_BOUNDED)
        add3(r, "flood", "beam", "", m, 1024, 1100, 900);
    else
        add3(r, "flood", "beam", "", m, 1.4e5, 1.5e5, 1.3e5);
    add3(r, "flood", "csp", "", m, 1024, 1024, 1024);
    add3(r, "flood", "csp", "", "counters.put_blocked_ns", 3e8, 3.2e8, 2.9e8);
    double sent = how & SEND_WAITS ? 0 : 1000;
    double trips = how & OTHERS_STALL ? 0 : 5e4;
    add3(r, "receive", "actor", "messages=1000", "sends_before_receive", sent,
         sent, sent);
    add3(r, "receive", "actor", "messages=1000", "unmatched_left", 1000, 1000,
         1000);
    add3(r, "receive", "actor", "messages=1000", "receive_timed_out", 1, 1, 1);
    add3(r, "receive", "actor", "messages=1000", "others_round_trips", trips,
         trips * 1.1, trips * 0.9);
    if (how & CAP_SURVIVES)
        add3(r, "cap", "actor", "max_memory=4000000", m, 9e4, 9e4, 9e4);
    else
        talk_results_add_missing(r, "cap", "actor", "max_memory=4000000",
                                 "error",
                                 "running the root task: out of memory");
    return judge("mailbox-unbounded", r);
}

static void test_mailbox_unbounded(void)
{
    CHECK_EQ(flood_case(0), TALK_HOLDS);
    /* the real BEAM is optional: the model carries the verdict */
    CHECK_EQ(flood_case(NO_BEAM), TALK_HOLDS);
    /* but where it ran it must agree */
    CHECK_EQ(flood_case(BEAM_BOUNDED), TALK_NOT_HERE);
    CHECK_EQ(flood_case(CAP_SURVIVES), TALK_NOT_HERE);
    /* a send that waited for the receiver; a receive that stalled others */
    CHECK_EQ(flood_case(SEND_WAITS), TALK_NOT_HERE);
    CHECK_EQ(flood_case(OTHERS_STALL), TALK_NOT_HERE);
    CHECK_EQ(flood_case(SMALL_MAILBOX), TALK_NOT_HERE);
    CHECK_EQ(flood_case(NOISY | NO_BEAM), TALK_INCONCLUSIVE);
    CHECK_EQ(flood_case(ACTOR_CRASHED), TALK_CANNOT_SHOW);
}

/* ---- claim 8: csp-channels ---- */

enum {
    UNBOUNDED_ACCEPTED = 1,
    READ_TWICE = 2,
    NO_SEMANTICS = 4,
    SLIDING_GROWS = 8,
    ONE_REP = 16,
    FIXED_NEVER_WAITS = 32
};

static talk_verdict_t channels_case(int how)
{
    talk_results_t *r = talk_results_synthetic(true);
    static const struct {
        const char *policy;
        double peak, dropped;
    } flood[] = {{"rendezvous", 0, 0},
                 {"fixed", 64, 0},
                 {"sliding", 64, 9e5},
                 {"dropping", 64, 8e5}};
    char where[80];
    for (size_t i = 0; i < 4; i++) {
        snprintf(where, sizeof where, "policy=%s capacity=64", flood[i].policy);
        double peak = flood[i].peak;
        if ((how & SLIDING_GROWS) && strcmp(flood[i].policy, "sliding") == 0)
            peak = 5000;
        add3(r, "policies", "csp", where, "peak_queue_len", peak, peak, peak);
        add3(r, "policies", "csp", where, "dropped", flood[i].dropped,
             flood[i].dropped * 1.1, flood[i].dropped * 0.9);
        if (strcmp(flood[i].policy, "fixed") == 0) {
            double w = how & FIXED_NEVER_WAITS ? 0 : 3e8;
            add3(r, "policies", "csp", where, "counters.put_blocked_ns", w,
                 w * 0.9, w * 1.1);
        }
    }
    if (how & UNBOUNDED_ACCEPTED)
        add3(r, "policies", "csp", "policy=unbounded capacity=64", "ops", 1e6,
             1e6, 1e6);
    else
        talk_results_add_missing(r, "policies", "csp",
                                 "policy=unbounded capacity=64", "unsupported",
                                 "opening the consumer's port: unsupported "
                                 "by this model");
    if (how & NO_SEMANTICS) {
        talk_results_add_missing(r, "semantics", "csp", "", "absent",
                                 "the step was not run");
        return judge("csp-channels", r);
    }
    static const struct {
        const char *metric;
        double v;
    } sem[] = {{"rendezvous_early_puts", 0},
               {"fixed_puts_past_capacity", 0},
               {"closed_drained", 4},
               {"closed_takes_not_nil", 0},
               {"read_twice", 0},
               {"never_read", 0},
               {"sliding_kept_newest", 1},
               {"dropping_kept_oldest", 1},
               {"alts_wrong_channel", 0},
               {"alts_taken", 100}};
    for (size_t i = 0; i < sizeof sem / sizeof sem[0]; i++) {
        double v = sem[i].v;
        if ((how & READ_TWICE) && strcmp(sem[i].metric, "read_twice") == 0)
            v = 3;
        const double vs[] = {v, v, v};
        talk_results_add(r, "semantics", "csp", "", sem[i].metric, vs,
                         how & ONE_REP ? 1 : 3);
    }
    return judge("csp-channels", r);
}

static void test_csp_channels(void)
{
    CHECK_EQ(channels_case(0), TALK_HOLDS);
    CHECK_EQ(channels_case(UNBOUNDED_ACCEPTED), TALK_NOT_HERE);
    CHECK_EQ(channels_case(READ_TWICE), TALK_NOT_HERE);
    CHECK_EQ(channels_case(SLIDING_GROWS), TALK_NOT_HERE);
    CHECK_EQ(channels_case(FIXED_NEVER_WAITS), TALK_NOT_HERE);
    CHECK_EQ(channels_case(ONE_REP), TALK_INCONCLUSIVE);
    CHECK_EQ(channels_case(NO_SEMANTICS), TALK_CANNOT_SHOW);
}

/* ---- claim 9: go-pool ---- */

enum { BLOCK_FINISHED = 1, BLOCK_CRASHED = 2, PARK_TIMEOUT = 4 };

static talk_verdict_t pool_case(int starve, const double *park,
                                const double *block, const double *thread,
                                bool example)
{
    talk_results_t *r = talk_results_synthetic(true);
    const char *m = "round_ns_min", *el = "elapsed_ns";
    const double io_park[] = {3e6};
    if (starve & PARK_TIMEOUT)
        talk_results_add_missing(r, "starve", "csp", "go_ops=park pool=2",
                                 "timeout", "no result after 5 s");
    else
        talk_results_add(r, "starve", "csp", "go_ops=park pool=2", el, io_park,
                         1);
    if (starve & BLOCK_FINISHED)
        talk_results_add(r, "starve", "csp", "go_ops=block pool=2", el,
                         io_park, 1);
    else if (starve & BLOCK_CRASHED)
        talk_results_add_missing(r, "starve", "csp", "go_ops=block pool=2",
                                 "crashed", "killed by signal 11");
    else
        talk_results_add_missing(r, "starve", "csp", "go_ops=block pool=2",
                                 "timeout",
                                 "no result after 5 s: killed (a hang or a "
                                 "deadlock)");
    talk_results_add(r, "pool", "csp", "go_ops=park pool=2", m, park, 3);
    talk_results_add(r, "pool", "csp", "go_ops=block pool=2", m, block, 3);
    if (thread)
        talk_results_add(r, "pool", "threads", "", m, thread, 3);
    else
        talk_results_add_missing(r, "pool", "threads", "", "timeout",
                                 "ran past 60 s");
    if (example) {
        const double cold[] = {1.2e8};
        talk_results_add(r, "example", "csp", "", "round_ns_first", cold, 1);
        talk_results_add(r, "example", "core.async", "", "round_ns_first", cold,
                         1);
    } else {
        talk_results_add_missing(r, "example", "core.async", "", "unsupported",
                                 "core.async not installed");
    }
    return judge("go-pool", r);
}

static void test_go_pool(void)
{
    const double park[] = {50e3, 55e3, 60e3};
    const double block[] = {110e3, 120e3, 100e3};
    const double thread[] = {1e7, 1.1e7, 0.9e7};
    const double light[] = {300e3, 350e3, 400e3};
    const double noisy[] = {60e3, 500e3, 2e6};
    CHECK_EQ(pool_case(0, park, block, thread, true), TALK_HOLDS);
    /* the example is a figure: no core.async changes nothing */
    CHECK_EQ(pool_case(0, park, block, thread, false), TALK_HOLDS);
    /* the blocking round is a figure too: as cheap as parking is fine */
    CHECK_EQ(pool_case(0, park, park, thread, true), TALK_HOLDS);
    /* blocking go blocks that finished: the pool was never depleted */
    CHECK_EQ(pool_case(BLOCK_FINISHED, park, block, thread, true),
             TALK_NOT_HERE);
    /* a crash is not a hang; parking that hangs shows nothing */
    CHECK_EQ(pool_case(BLOCK_CRASHED, park, block, thread, true),
             TALK_CANNOT_SHOW);
    CHECK_EQ(pool_case(PARK_TIMEOUT, park, block, thread, true),
             TALK_CANNOT_SHOW);
    /* threads no heavier than 10x parked go blocks */
    CHECK_EQ(pool_case(0, park, block, light, true), TALK_NOT_HERE);
    CHECK_EQ(pool_case(0, park, block, noisy, true), TALK_INCONCLUSIVE);
    CHECK_EQ(pool_case(0, park, block, NULL, true), TALK_CANNOT_SHOW);
}

/* ---- claim 10: csp-shared-state ---- */

enum { REFS_SLOW = 1, ATOM_FAILED = 2, STM_TIMEOUT = 4 };

static talk_verdict_t state_case(int how)
{
    talk_results_t *r = talk_results_synthetic(true);
    const char *tp = "throughput_ops_s", *lost = "lost_units";
    if (how & ATOM_FAILED)
        talk_results_add_missing(r, "bank", "csp", "cell=atom tasks=2",
                                 "failed",
                                 "total after the run is 7990, wanted 8000");
    else {
        add3(r, "bank", "csp", "cell=atom tasks=2", tp, 1e7, 1.1e7, 0.9e7);
        talk_results_add(r, "bank", "csp", "cell=atom tasks=2", lost, zeros, 3);
    }
    add3(r, "bank", "csp", "cell=goblock tasks=2", tp, 2e5, 2.2e5, 1.8e5);
    talk_results_add(r, "bank", "csp", "cell=goblock tasks=2", lost, zeros, 3);
    if (how & STM_TIMEOUT)
        talk_results_add_missing(r, "bank", "stm", "tasks=2", "timeout",
                                 "ran past 60 s");
    else {
        if (how & REFS_SLOW)
            add3(r, "bank", "stm", "tasks=2", tp, 1e5, 1.1e5, 0.9e5);
        else
            add3(r, "bank", "stm", "tasks=2", tp, 2e6, 2.2e6, 1.8e6);
        talk_results_add(r, "bank", "stm", "tasks=2", lost, zeros, 3);
    }
    return judge("csp-shared-state", r);
}

static void test_csp_shared_state(void)
{
    CHECK_EQ(state_case(0), TALK_HOLDS);
    CHECK_EQ(state_case(REFS_SLOW), TALK_NOT_HERE);
    /* a total that changed is the claim failing, not a missing cell */
    CHECK_EQ(state_case(ATOM_FAILED), TALK_NOT_HERE);
    CHECK_EQ(state_case(STM_TIMEOUT), TALK_CANNOT_SHOW);
}

/* ---- claim 11: crash-isolation ---- */

enum {
    NO_BEAM11 = 1,
    CSP_KEEPS = 2,
    ACTOR_DIES = 4,
    ACTOR_MISSING = 8,
    ACTOR_VARIES = 16
};

static talk_verdict_t crash_case(int how)
{
    talk_results_t *r = talk_results_synthetic(true);
    const char *sys[] = {"actor", "beam", "csp", "threads"};
    for (size_t i = 0; i < 4; i++) {
        bool sup = i < 2;
        if ((i == 1 && (how & NO_BEAM11)) ||
            (i == 0 && (how & ACTOR_MISSING))) {
            talk_results_add_missing(r, "crash", sys[i], "workers=4",
                                     "unsupported", "not installed");
            continue;
        }
        add3(r, "crash", sys[i], "workers=4", "crashes", sup ? 90 : 4,
             sup ? 95 : 4, sup ? 83 : 4);
        add3(r, "crash", sys[i], "workers=4", "restarts", sup ? 90 : 0,
             sup ? 95 : 0, sup ? 83 : 0);
        double alive = sup || (i == 2 && (how & CSP_KEEPS)) ? 4 : 0;
        add3(r, "crash", sys[i], "workers=4", "workers_alive_at_end", alive,
             alive, alive);
        double survived = sup ? 1 : 0;
        if (i == 0 && (how & ACTOR_DIES))
            survived = 0;
        if (i == 0 && (how & ACTOR_VARIES))
            add3(r, "crash", sys[i], "workers=4", "survived", 1, 0, 1);
        else
            add3(r, "crash", sys[i], "workers=4", "survived", survived,
                 survived, survived);
    }
    return judge("crash-isolation", r);
}

static void test_crash_isolation(void)
{
    CHECK_EQ(crash_case(0), TALK_HOLDS);
    CHECK_EQ(crash_case(NO_BEAM11), TALK_HOLDS);
    CHECK_EQ(crash_case(CSP_KEEPS), TALK_NOT_HERE);
    CHECK_EQ(crash_case(ACTOR_DIES), TALK_NOT_HERE);
    CHECK_EQ(crash_case(ACTOR_VARIES), TALK_INCONCLUSIVE);
    CHECK_EQ(crash_case(ACTOR_MISSING), TALK_CANNOT_SHOW);
}

int main(void)
{
    test_shared_heap_locks();
    test_mailbox_unbounded();
    test_csp_channels();
    test_go_pool();
    test_csp_shared_state();
    test_crash_isolation();
    printf("ok\n");
    return 0;
}
