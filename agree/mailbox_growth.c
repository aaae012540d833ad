/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Agreement: a flooded mailbox grows without bound, on the actor model
 * and on the real BEAM.
 *
 * The real system: Erlang's send (`!`) never blocks and a process's
 * message queue has no bound (the Erlang Reference Manual, "Processes":
 * sending a message to a process always succeeds, and the message is put
 * in the receiver's message queue; erts/emulator/beam/erl_message.c
 * appends to the queue with no limit).  A consumer slower than its
 * producers therefore sees its queue, and the memory it holds, grow for
 * as long as the flood lasts, until the node runs out of memory (OTP 19's
 * max_heap_size can kill the process first; the default is off).  The
 * actor model's mailbox is unbounded the same way (models/actor).
 *
 * The experiment: mailbox-flood on 2 PUs, 2 producers (--quick) sending
 * as fast as they can to one consumer spending 1 us per message, in a
 * window of T and of 2T (200 and 400 ms at --quick, 500 and 1000 ms at
 * full size).
 *
 * The rule, on each system by itself: when the 2T window closes, the
 * mailbox still holds at least a quarter of every message sent, and
 * nothing was dropped.  That is growth without bound: the backlog is a
 * steady share of a count that rises with time (measured here 0.41-0.98
 * on beam, 0.61-0.98 on actor), where a bounded channel (csp,
 * core.async, go: backpressure at `capacity`, 1,024) holds at most its
 * capacity, under 0.01 of the ~100,000 or more messages sent.  The
 * backlog at T beside it shows the growth itself; it is a figure, not
 * the rule: on a loaded 2-core machine the BEAM's producers were
 * descheduled for long stretches, and the backlog at 2T was 1.1x-10x
 * that at T between runs.
 */
#include "agree/agree.h"

static const char *const sides[] = {"actor", "beam"};

static void judge(const talk_results_t *r, talk_judgement_t *j)
{
    bool quick = talk_quick(r);
    const char *at_t = quick ? "duration_ms=200" : "duration_ms=500";
    const char *at_2t = quick ? "duration_ms=400" : "duration_ms=1000";
    agree_side_t s[2];
    for (size_t i = 0; i < 2; i++) {
        const char *sys = sides[i];
        talk_value_t v[4] = {
            talk_get(r, "flood", sys, at_2t, "backlog_at_stop"),
            talk_get(r, "flood", sys, at_2t, "ops"),
            talk_get(r, "flood", sys, at_2t, "dropped"),
            talk_get(r, "flood", sys, at_t, "backlog_at_stop"),
        };
        if (agree_any_missing(&s[i], sys, v, 4))
            continue;
        double held = 0;
        s[i].system = sys;
        s[i].verdict = talk_ratio_at_least(v[0], v[1], 0.25, &held);
        if (v[2].median > 0)
            s[i].verdict = TALK_NOT_HERE; /* an unbounded mailbox drops none */
        snprintf(s[i].text, sizeof s[i].text,
                 "%s: %.0f of %.0f sent still queued at 2T (%.2f; %.0f at "
                 "T), %.0f dropped",
                 sys, v[0].median, v[1].median, held, v[3].median,
                 v[2].median);
    }
    agree_conclude(j, s, 2,
                   "a mailbox that grows without bound under a flood (at "
                   "least a quarter of all sent still queued, no drops)");
}

const talk_check_t cb_agree_mailbox_growth = {
    .id = "mailbox-growth",
    .order = 4,
    .title = "mailbox growth under a flood: actor and the BEAM both grow "
             "without bound",
    .claim = "An Erlang send never blocks and a mailbox has no bound, so a "
             "slow consumer's queue grows for as long as the flood lasts; "
             "the actor model's mailbox must grow the same way.",
    .rule = "On each of actor and beam, when a 2T window of flooding "
            "closes, at least 0.25 of every message sent is still in the "
            "mailbox (a bounded channel holds at most its 1,024), and none "
            "was dropped; agree when both hold.",
    .steps = {{
        .name = "flood",
        .systems = "actor,beam",
        .workload = "mailbox-flood",
        .params = {"duration_ms=500,1000", "producers=2"},
        .quick_params = {"duration_ms=200,400", "producers=2"},
        .reps = 5,
        .quick_reps = 3,
        .timeout_s = 60,
    }},
    .nsteps = 1,
    .judge = judge,
    .plots = {{
        .kind = TALK_PLOT_BARS,
        .step = "flood",
        .metric = "backlog_at_stop",
        .x = "duration_ms",
        .title = "messages left in the mailbox when the flood stops, after "
                 "T and 2T",
        .unit = "",
        .log_y = false,
    }},
    .nplots = 1,
};
