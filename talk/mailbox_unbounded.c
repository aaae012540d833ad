/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Claim 7: a send never blocks and a receive does; a mailbox is
 * unbounded, and one that overflows takes the node down.
 *
 * The talk: an actor's send is fire-and-forget, its receive waits for a
 * message that matches one of its clauses; a process cannot refuse
 * messages, so a mailbox that is not read grows without limit, and
 * overflowing mailboxes is one way to crash a BEAM node.
 *
 * The real system: `Pid ! Msg` is asynchronous and never fails, even to a
 * process that has exited; `receive` takes the first message that
 * matches a clause and suspends the process until one arrives (the Erlang
 * reference manual, "Expressions", sections Send and Receive,
 * https://www.erlang.org/doc/reference_manual/expressions.html#send).
 * A message queue has no bound; its messages live on the receiver's heap
 * (or off-heap), so a flooded process grows until the emulator cannot
 * allocate and the node dies with "eheap_alloc: Cannot allocate N bytes
 * of memory" and a crash dump (erts's erl_crash.dump documentation,
 * https://www.erlang.org/doc/apps/erts/crash_dump.html; the per-process
 * max_heap_size flag of erlang:process_flag/2 exists to kill the one
 * process instead).  core.async, by contrast, has no unbounded buffer:
 * a full channel parks its producers, and at most 1024 puts may wait
 * (clojure.org/guides/core_async_go: "unbounded queues are bad").
 *
 * The experiment: `mailbox-flood`, producers sending as fast as they can
 * to one consumer that spends 1 us per message.  Step "flood": `actor`
 * (the BEAM model: copying, unbounded mailbox), the real `beam` where it
 * is installed, and `csp` (a channel with core.async's fixed buffer of
 * 1024) side by side; the queue length and resident memory are sampled
 * every few ms.  Step "receive": `receive-block` on `actor`: a task sends
 * 1,000 messages to a process that is not receiving, and then, while two
 * other processes play ping-pong, that process waits 50 ms (--quick) in
 * a receive whose pattern nothing matches.  Step "cap": `actor` with
 * max_memory (4 MB at --quick, 16 MB at full size), the model's stand-in for
 * the node's memory, and a window of 2 s (5 s) that the run never lives to see:
 * the flood passes the cap within a few hundred ms even on a loaded machine (a
 * 200 ms window did not, once, here) and the VM stops with its report
 * naming the biggest mailbox, which the runner records as an "error"
 * outcome with "out of memory" (models/actor/actor.c, max_memory).  The
 * real BEAM is not run under a cap here: a check's step cannot pass the
 * runner's --mem-cap, and letting it eat half the machine's memory is
 * no experiment for a test suite.
 *
 * The rule: all 1,000 sends completed before any receive, the receive
 * that matched nothing returned by its timeout with the 1,000 messages
 * still queued, and the ping-pong pair made at least one round trip
 * meanwhile (counts: tens of thousands here; one is the claim); the
 * actor's peak queue length is at least 10x csp's (whose
 * buffer bounds it at 1024; an unbounded mailbox reaches hundreds of
 * thousands in 200 ms here), and the same for the real BEAM when it
 * ran; and the capped actor run ends out of memory.  The ratio is judged
 * on the end-to-end interval; 10x leaves two orders of magnitude for a
 * machine slower or busier than this one (a producer needs only ~10k
 * sends past the consumer in the whole window).  A BEAM that is not
 * installed is named in the figures and the verdict rests on the model.
 */
#include "runner/talk.h"

#include <stdio.h>
#include <string.h>

/* Messages the receive step sends before its receive (its parameter). */
#define RECEIVE_MESSAGES 1000

static void judge(const talk_results_t *r, talk_judgement_t *j)
{
    const char *m = "peak_queue_len";
    talk_value_t actor = talk_get(r, "flood", "actor", NULL, m);
    talk_value_t beam = talk_get(r, "flood", "beam", NULL, m);
    talk_value_t csp = talk_get(r, "flood", "csp", NULL, m);
    talk_value_t blocked =
        talk_get(r, "flood", "csp", NULL, "counters.put_blocked_ns");
    talk_value_t cap = talk_get(r, "cap", "actor", NULL, m);
    char a[32], b[32], why[400];

    char c[32];
    if (beam.ok)
        snprintf(c, sizeof c, "%.0f", beam.median);
    talk_figure(j, "peak queue length: actor %s, real BEAM %s, csp %s",
                talk_fmt(a, sizeof a, actor.median, ""),
                beam.ok
                    ? c
                    : (beam.status && strcmp(beam.status, "unsupported") == 0
                           ? "not installed"
                           : "did not run"),
                talk_fmt(b, sizeof b, csp.median, ""));
    if (blocked.ok)
        talk_figure(j,
                    "csp's producers blocked on the full channel for %s "
                    "(backpressure)",
                    talk_fmt(a, sizeof a, blocked.median, "ns"));
    if (!cap.ok)
        talk_figure(j, "actor under max_memory: %s: %.120s", cap.status,
                    cap.reason ? cap.reason : "no reason recorded");
    else
        talk_figure(j,
                    "actor under max_memory: the run survived (peak "
                    "queue %s)",
                    talk_fmt(a, sizeof a, cap.median, ""));

    /* Send never waits, receive blocks only its process. */
    static const struct {
        const char *metric;
        double at_least;
    } recv_rules[] = {{"sends_before_receive", RECEIVE_MESSAGES},
                      {"unmatched_left", RECEIVE_MESSAGES},
                      {"receive_timed_out", 1},
                      {"others_round_trips", 1}};
    talk_verdict_t rv[4];
    talk_value_t rt =
        talk_get(r, "receive", "actor", NULL, "others_round_trips");
    talk_value_t sent =
        talk_get(r, "receive", "actor", NULL, "sends_before_receive");
    if (rt.ok && sent.ok)
        talk_figure(j,
                    "%.0f of %d sends done before any receive; %.0f "
                    "round trips elsewhere while a receive matched "
                    "nothing",
                    sent.median, RECEIVE_MESSAGES, rt.median);
    for (size_t i = 0; i < 4; i++) {
        talk_value_t x =
            talk_get(r, "receive", "actor", NULL, recv_rules[i].metric);
        if (!x.ok) {
            talk_why_missing(why, sizeof why, "actor", x);
            talk_judge(j, TALK_CANNOT_SHOW, "the receive run gave no %s: %s",
                       recv_rules[i].metric, why);
            return;
        }
        rv[i] = talk_value_at_least(x, recv_rules[i].at_least);
    }
    talk_verdict_t received = talk_all(rv, 4);

    if (!actor.ok || !csp.ok) {
        talk_why_missing(why, sizeof why, actor.ok ? "csp" : "actor",
                         actor.ok ? csp : actor);
        talk_judge(j, TALK_CANNOT_SHOW, "the flood did not run: %s", why);
        return;
    }
    bool capped = !cap.ok && cap.status && strcmp(cap.status, "error") == 0 &&
                  cap.reason && strstr(cap.reason, "memory") != NULL;
    if (!cap.ok && !capped && (!cap.status || strcmp(cap.status, "error"))) {
        talk_why_missing(why, sizeof why, "actor", cap);
        talk_judge(j, TALK_CANNOT_SHOW, "the capped run did not run: %s", why);
        return;
    }
    double ra = 0, rb = 0;
    talk_verdict_t v[4];
    size_t n = 0;
    v[n++] = received;
    v[n++] = talk_ratio_at_least(actor, csp, 10, &ra);
    if (beam.ok)
        v[n++] = talk_ratio_at_least(beam, csp, 10, &rb);
    v[n++] = capped ? TALK_HOLDS : TALK_NOT_HERE;
    talk_verdict_t all = talk_all(v, n);
    switch (all) {
    case TALK_HOLDS:
        talk_judge(j, all,
                   "every send completed with no receiver, a receive that "
                   "matched nothing blocked only its process, the actor's "
                   "mailbox peaked %.0fx csp's bounded channel%s, and under "
                   "a memory cap the flooded VM stopped out of memory",
                   ra, beam.ok ? " (the real BEAM's too)" : "");
        break;
    case TALK_NOT_HERE:
        if (received == TALK_NOT_HERE)
            talk_judge(j, all,
                       "a send waited for the receiver, or a receive that "
                       "matched nothing held up more than its own process "
                       "(see the figures)");
        else if (!capped)
            talk_judge(j, all,
                       "the capped actor run did not end out of memory "
                       "(%.200s)",
                       cap.ok       ? "it survived: the flood never passed "
                                      "max_memory"
                       : cap.reason ? cap.reason
                                    : cap.status);
        else if (beam.ok)
            talk_judge(j, all,
                       "a mailbox did not outgrow csp's bounded channel by "
                       "10x: actor / csp %.1fx, beam / csp %.1fx",
                       ra, rb);
        else
            talk_judge(j, all,
                       "the mailbox did not outgrow csp's bounded channel "
                       "by 10x: actor / csp %.1fx",
                       ra);
        break;
    default:
        talk_judge(j, all,
                   "the intervals straddle the bound of 10x (actor / csp "
                   "%.1fx): noise larger than the effect",
                   ra);
        break;
    }
}

const talk_check_t cb_talk_mailbox_unbounded = {
    .id = "mailbox-unbounded",
    .order = 7,
    .title = "send never blocks, mailboxes are unbounded, and an overflowing "
             "one takes the node down",
    .claim = "An actor's send is fire-and-forget and only receive waits; "
             "nothing pushes back on a sender, so an unread mailbox grows "
             "without limit until the node runs out of memory, where a "
             "core.async channel's bounded buffer makes producers wait.",
    .rule = "receive-block on actor: all 1000 sends complete before any "
            "receive, and a receive that matches nothing times out with "
            "them still queued while other processes keep exchanging "
            "messages; mailbox-flood, producers against one slow "
            "consumer: the actor's (and the real BEAM's, where installed) "
            "peak queue "
            "length is at least 10x csp's 1024-message channel on the "
            "whole interval of the ratio, and the actor run under "
            "max_memory ends out of memory.",
    .steps = {{
                  .name = "flood",
                  .systems = "actor,beam,csp",
                  .workload = "mailbox-flood",
                  .params = {"consume_ns=1000"},
                  .timeout_s = 60,
              },
              {
                  .name = "receive",
                  .systems = "actor",
                  .workload = "receive-block",
                  .params = {"messages=1000"},
                  .timeout_s = 60,
              },
              {
                  .name = "cap",
                  .systems = "actor",
                  .workload = "mailbox-flood",
                  .params = {"max_memory=16M", "duration_ms=5000"},
                  .quick_params = {"max_memory=4M", "duration_ms=2000"},
                  .timeout_s = 60,
              }},
    .nsteps = 3,
    .judge = judge,
    .plots = {{
                  .kind = TALK_PLOT_SERIES,
                  .step = "flood",
                  .metric = "queue_len",
                  .title = "the consumer's queue over time: the mailboxes "
                           "grow, the channel stays at its buffer",
                  .unit = "",
                  .log_y = true,
              },
              {
                  .kind = TALK_PLOT_SERIES,
                  .step = "flood",
                  .metric = "rss_bytes",
                  .title = "resident memory over time under the flood",
                  .unit = "B",
              }},
    .nplots = 2,
};
