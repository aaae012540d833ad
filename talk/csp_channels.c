/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Claim 8: CSP's channels: an unbuffered channel is a rendezvous; buffers
 * are fixed, sliding or dropping, and none is unbounded; a closed channel
 * drains and then yields nil; each message is read once, by one of
 * several readers; alts waits on several channels.
 *
 * The talk: a core.async channel is synchronous by default (a writer
 * waits until a reader takes, and the other way round); a buffered
 * channel lets writers go on until it is full, a sliding or dropping
 * buffer drops the oldest or the newest message when full, and there is
 * no channel of unlimited size; close! stops further writes while what
 * is in the channel can still be read; with several readers a message is
 * read once by at most one of them; alts!! reads from whichever of
 * several channels has a message first.
 *
 * The real system: clojure.core.async's docstrings
 * (https://clojure.github.io/core.async/): `chan` with no buffer is
 * unbuffered, `buffer` is fixed, `sliding-buffer` drops the oldest,
 * `dropping-buffer` drops the newest; `close!`: "data on the channel
 * remains available for taking, until exhausted, after which takes will
 * return nil"; `<!`: "will return nil if closed"; `alts!`: "completes at
 * most one of several channel operations".  There is no unbounded
 * buffer, and at most 1024 puts may wait on one channel
 * (https://clojure.org/guides/core_async_go: "unbounded queues are
 * bad").  Go's channels have the same rendezvous and fixed buffers and
 * `select` (https://go.dev/ref/spec#Channel_types).
 *
 * The experiment.  Step "policies": `mailbox-flood` on `csp`, two
 * producers sending as fast as they can to one consumer that spends 1 us
 * per message, the consumer's channel unbuffered (rendezvous), fixed,
 * sliding or dropping with a capacity of 64, and unbounded (which csp
 * refuses, as core.async does).  Step "semantics": the
 * `channel-semantics` workload on `csp`, which checks each property the
 * talk names by counting (a put that completed before any taker came to
 * an unbuffered channel, values a closed channel still gave, takes past
 * the end that did not say closed, values read twice or never by 4
 * readers, which values a sliding and a dropping buffer kept, the
 * channel alts chose).
 *
 * The rule, on counts (no time enters it): unbuffered: the queue never
 * held a message (peak_queue_len 0) and no put completed before its
 * taker; fixed: the queue never passed its capacity, nothing was dropped
 * and the producers waited (the model's put_blocked_ns counter); sliding
 * and dropping: the queue never passed its capacity and messages were
 * dropped; unbounded: unsupported; and the
 * semantics workload's violation counts are all 0 with its witness
 * counts as expected.  Each is exact in every repetition (an interval of
 * [x, x]), so there is no tolerance to choose: one broken property is
 * "does not hold here".  The flood's queue length is sampled every few
 * ms by a go block, which producers that never park (sliding, dropping)
 * can keep off the CPU for the whole window on a busy machine (a peak of
 * 0 was seen here); so the peak is bounded above only, and "a full
 * buffer" is shown by the semantics workload instead, which waits for
 * it.
 */
#include "runner/talk.h"

#include <stdio.h>
#include <string.h>

typedef struct expect {
    const char *step, *where, *metric;
    double lo, hi; /* the value's interval must lie inside [lo, hi] */
    const char *says;
} expect_t;

/* Capacity of the flood's buffered channels (the step's parameter). */
#define CAP 64

static const expect_t expected[] = {
    {"policies", "policy=rendezvous", "peak_queue_len", 0, 0,
     "an unbuffered channel never holds a message"},
    {"policies", "policy=rendezvous", "dropped", 0, 0,
     "an unbuffered channel drops nothing"},
    {"policies", "policy=fixed", "peak_queue_len", 0, CAP,
     "a fixed buffer never grows past its size"},
    {"policies", "policy=fixed", "dropped", 0, 0,
     "a full fixed buffer drops nothing"},
    {"policies", "policy=fixed", "counters.put_blocked_ns", 1, 1e300,
     "a full fixed buffer makes producers wait"},
    {"policies", "policy=sliding", "peak_queue_len", 0, CAP,
     "a sliding buffer never grows past its size"},
    {"policies", "policy=sliding", "dropped", 1, 1e300,
     "a full sliding buffer drops"},
    {"policies", "policy=dropping", "peak_queue_len", 0, CAP,
     "a dropping buffer never grows past its size"},
    {"policies", "policy=dropping", "dropped", 1, 1e300,
     "a full dropping buffer drops"},
    {"semantics", NULL, "rendezvous_early_puts", 0, 0,
     "no put on an unbuffered channel completed before its taker came"},
    {"semantics", NULL, "fixed_puts_past_capacity", 0, 0,
     "no put went past a full fixed buffer"},
    {"semantics", NULL, "closed_drained", 1, 1e300,
     "a closed channel still gave the values put before close"},
    {"semantics", NULL, "closed_takes_not_nil", 0, 0,
     "every take past the drained end said closed (nil)"},
    {"semantics", NULL, "read_twice", 0, 0, "no value was read by two readers"},
    {"semantics", NULL, "never_read", 0, 0, "no value was lost"},
    {"semantics", NULL, "sliding_kept_newest", 1, 1,
     "a sliding buffer kept the newest values"},
    {"semantics", NULL, "dropping_kept_oldest", 1, 1,
     "a dropping buffer kept the oldest values"},
    {"semantics", NULL, "alts_wrong_channel", 0, 0,
     "alts took from the channel that had a value"},
};

static void judge(const talk_results_t *r, talk_judgement_t *j)
{
    size_t nexp = sizeof expected / sizeof expected[0];
    talk_verdict_t v[sizeof expected / sizeof expected[0] + 1];
    size_t n = 0, broken = 0, firstbad = nexp;
    char why[400];

    talk_value_t unbounded =
        talk_get(r, "policies", "csp", "policy=unbounded", "ops");
    bool refused = !unbounded.ok && unbounded.status &&
                   strcmp(unbounded.status, "unsupported") == 0;
    static const char *const kinds[] = {"rendezvous", "fixed", "sliding",
                                        "dropping"};
    char line[200], a[32];
    size_t used = 0;
    for (size_t i = 0; i < 4; i++) {
        char where[40];
        snprintf(where, sizeof where, "policy=%s", kinds[i]);
        talk_value_t d = talk_get(r, "policies", "csp", where, "dropped");
        if (d.ok)
            snprintf(a, sizeof a, "%.0f", d.median);
        used += (size_t)snprintf(line + used, sizeof line - used, "%s%s %s",
                                 i ? ", " : "", kinds[i], d.ok ? a : "n/a");
        if (used >= sizeof line)
            break;
    }
    talk_figure(j, "dropped under the flood into capacity %d: %s", CAP, line);
    talk_figure(j, "unbounded channel: %s",
                refused ? "refused (unsupported), as in core.async"
                        : "accepted");
    talk_value_t early =
        talk_get(r, "semantics", "csp", NULL, "rendezvous_early_puts");
    talk_value_t twice = talk_get(r, "semantics", "csp", NULL, "read_twice");
    talk_value_t never = talk_get(r, "semantics", "csp", NULL, "never_read");
    talk_value_t wrong =
        talk_get(r, "semantics", "csp", NULL, "alts_wrong_channel");
    if (early.ok && twice.ok && never.ok && wrong.ok)
        talk_figure(j,
                    "semantics: puts done before a taker came %.0f; "
                    "values read twice %.0f, never %.0f; alts that took "
                    "a channel not ready %.0f",
                    early.median, twice.median, never.median, wrong.median);

    for (size_t i = 0; i < nexp; i++) {
        const expect_t *e = &expected[i];
        talk_value_t x = talk_get(r, e->step, "csp", e->where, e->metric);
        if (!x.ok) {
            talk_why_missing(why, sizeof why, "csp", x);
            talk_judge(j, TALK_CANNOT_SHOW, "%s %s %s gave no figure: %s",
                       e->step, e->where ? e->where : "", e->metric, why);
            return;
        }
        talk_verdict_t both[2] = {talk_value_at_least(x, e->lo),
                                  talk_value_at_most(x, e->hi)};
        v[n] = talk_all(both, 2);
        if (v[n] == TALK_NOT_HERE && firstbad == nexp)
            firstbad = i;
        if (v[n] == TALK_NOT_HERE)
            broken++;
        n++;
    }
    v[n++] = refused ? TALK_HOLDS : TALK_NOT_HERE;

    talk_verdict_t all = talk_all(v, n);
    if (all == TALK_HOLDS)
        talk_judge(j, all,
                   "every channel property the talk names held, by count: "
                   "rendezvous, fixed backpressure, sliding and dropping "
                   "drops, no unbounded buffer, close then nil, one reader "
                   "per value, alts");
    else if (!refused)
        talk_judge(j, TALK_NOT_HERE,
                   "csp accepted an unbounded channel, which core.async "
                   "refuses");
    else if (all == TALK_NOT_HERE)
        talk_judge(j, all, "%zu propert%s broke, the first: %s", broken,
                   broken == 1 ? "y" : "ies", expected[firstbad].says);
    else
        talk_judge(j, all,
                   "a count varied across repetitions across its bound (or "
                   "too few repetitions for an interval)");
}

const talk_check_t cb_talk_csp_channels = {
    .id = "csp-channels",
    .order = 8,
    .title = "CSP channels: rendezvous, fixed, sliding and dropping buffers, "
             "no unbounded one, close then nil, one reader per message, alts",
    .claim = "An unbuffered channel is a rendezvous; buffers are fixed "
             "(producers wait), sliding or dropping (messages are dropped), "
             "never unbounded; a closed channel drains and then gives nil; "
             "each message goes to one of several readers; alts takes from "
             "whichever channel is ready.",
    .rule = "csp: mailbox-flood into each kind of channel (capacity 64) and "
            "the channel-semantics workload's counts: every violation count "
            "is 0 and every witness as expected in every repetition, and "
            "an unbounded channel is unsupported.",
    .steps = {{
                  .name = "policies",
                  .systems = "csp",
                  .workload = "mailbox-flood",
                  .params = {"policy=rendezvous,fixed,sliding,dropping,"
                             "unbounded",
                             "capacity=64", "producers=2", "duration_ms=200"},
                  .quick_params = {"policy=rendezvous,fixed,sliding,"
                                   "dropping,unbounded",
                                   "capacity=64", "producers=2",
                                   "duration_ms=100"},
                  .timeout_s = 60,
              },
              {
                  .name = "semantics",
                  .systems = "csp",
                  .workload = "channel-semantics",
                  .timeout_s = 60,
              }},
    .nsteps = 2,
    .judge = judge,
    .plots = {{
        .kind = TALK_PLOT_BARS,
        .step = "policies",
        .metric = "dropped",
        .x = "policy",
        .title = "messages dropped by each kind of channel under a flood",
        .unit = "",
    }},
    .nplots = 1,
};
