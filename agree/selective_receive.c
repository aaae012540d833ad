/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Agreement: a selective receive costs O(n) in the messages it skips,
 * and the reference trick makes it flat, on the actor model and on the
 * real BEAM.
 *
 * The real system: `receive` scans the message queue from the oldest
 * message and tests each against the patterns; a message that matches
 * none stays where it is (Erlang Reference Manual, "Expressions:
 * Receive"), so a reply behind n unrelated messages costs n tests.  The
 * exception (OTP 24, "receive markers", erts/emulator/beam/erl_message.h
 * and the compiler's recv_marker_reserve/bind/use instructions): when the
 * receive matches a reference created by make_ref() in the same function
 * just before, the runtime remembers where the queue ended at that point
 * and starts the scan there, skipping the backlog without looking at it
 * (the Efficiency Guide, "Processes: Receiving messages").  The actor
 * model has both (cb_recv_match scans; cb_recv_mark with
 * cb_recv_match_ref starts at the mark: models/actor).
 *
 * The experiment: selective-receive with 1,000 and 10,000 messages in
 * front of each reply, trick=no and trick=yes, 1,000 receives a cell
 * (the workload's quick queue and a 10x one; full size 10x both), 5
 * repetitions.
 *
 * The rule, on each system by itself: with trick=no, a receive behind
 * 10x the backlog costs at least 5x as much (O(n): ~10x once the scan
 * dominates; measured here actor 13x-18x, beam 12x-35x); with trick=yes,
 * at most 4x, i.e. clearly not proportional to the backlog (measured
 * here 1.2x-2.1x on both: not quite flat, since a larger heap and
 * mailbox still cost cache misses and, on the BEAM, garbage collection
 * that copies the messages: a mailbox is on the process heap by default,
 * message_queue_data=on_heap).  Agree when all four hold.
 */
#include "agree/agree.h"

static const char *const systems[] = {"actor", "beam"};

static void judge(const talk_results_t *r, talk_judgement_t *j)
{
    bool quick = talk_quick(r);
    const char *small = quick ? "queued=1000" : "queued=10000";
    const char *large = quick ? "queued=10000" : "queued=100000";
    agree_side_t s[4];
    size_t n = 0;
    for (size_t i = 0; i < 2; i++) {
        for (int trick = 0; trick < 2; trick++, n++) {
            const char *sys = systems[i];
            char at_small[64], at_large[64];
            snprintf(at_small, sizeof at_small, "%s trick=%s", small,
                     trick ? "yes" : "no");
            snprintf(at_large, sizeof at_large, "%s trick=%s", large,
                     trick ? "yes" : "no");
            talk_value_t v[2] = {
                talk_get(r, "receive", sys, at_large, "receive_ns_loaded"),
                talk_get(r, "receive", sys, at_small, "receive_ns_loaded"),
            };
            if (agree_any_missing(&s[n], sys, v, 2))
                continue;
            double grows = 0;
            char a[32], b[32];
            s[n].system = trick ? (i ? "beam trick=yes" : "actor trick=yes")
                                : (i ? "beam trick=no" : "actor trick=no");
            s[n].verdict = trick ? talk_ratio_at_most(v[0], v[1], 4, &grows)
                                 : talk_ratio_at_least(v[0], v[1], 5, &grows);
            snprintf(s[n].text, sizeof s[n].text,
                     "%s: a receive %s behind 10x the backlog (%s before), "
                     "x%.1f",
                     s[n].system, talk_fmt(a, sizeof a, v[0].median, "ns"),
                     talk_fmt(b, sizeof b, v[1].median, "ns"), grows);
        }
    }
    agree_conclude(j, s, n,
                   "the receive's O(n) scan (>= 5x for 10x the backlog) "
                   "and the ref trick's skip (<= 4x)");
}

const talk_check_t cb_agree_selective_receive = {
    .id = "selective-receive",
    .order = 5,
    .title = "selective receive: O(n) in the skipped messages on actor and "
             "the BEAM; the reference trick skips them on both",
    .claim = "A receive that matches a reply behind n unrelated messages "
             "scans all of them, on the BEAM and in the actor model; "
             "matching a reference made just before the request (OTP 24's "
             "receive marker) skips them on both.",
    .rule = "On each of actor and beam: receive_ns_loaded at 10x the "
            "backlog is at least 5x that at 1x with trick=no (a scan), and "
            "at most 4x with trick=yes (no scan); agree when all four "
            "hold.",
    .steps = {{
        .name = "receive",
        .systems = "actor,beam",
        .workload = "selective-receive",
        .params = {"queued=10000,100000", "trick=no,yes", "reps=1000"},
        .quick_params = {"queued=1000,10000", "trick=no,yes", "reps=1000"},
        .reps = 5,
        /* 5 at --quick too: a run is 0.1 s on actor and ~1 s on beam, and
         * one of 3 repetitions descheduled by other work (20 us a
         * receive instead of 0.3) widened the interval past the bound. */
        .quick_reps = 5,
        .timeout_s = 120,
    }},
    .nsteps = 1,
    .judge = judge,
    .plots = {{
        .kind = TALK_PLOT_XY,
        .step = "receive",
        .metric = "receive_ns_loaded",
        .x = "queued",
        .title = "time per selective receive against the backlog it skips",
        .unit = "ns",
        .log_y = true,
    }},
    .nplots = 1,
};
