/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Claim 12 (an addition, not in the talk): a selective receive scans the
 * mailbox, so its cost grows with the messages waiting in front of the
 * one it wants; the reference trick lets it skip them unseen.
 *
 * The talk shows receive with patterns but not what a pattern costs; this
 * is the pathology that comes with it, and the reason for an idiom every
 * OTP call uses.
 *
 * The real system: a receive takes the first message in the queue that
 * matches one of its patterns, trying them against every message from
 * the oldest, and keeps the ones that match none in place (Erlang
 * Reference Manual, "Expressions: Receive"); with N messages that match
 * nothing in front, each receive costs N failed matches.  Since OTP 24
 * the compiler recognises a receive that can only match a reference made
 * by make_ref() just before it in the same function, marks the queue's
 * end when the reference is made, and starts the receive's scan at that
 * mark (Erlang Efficiency Guide, "Processes: Receiving Messages"; the
 * recv_marker_reserve / recv_marker_bind instructions,
 * lib/compiler/src/beam_ssa_recv.erl), which is how gen_server:call
 * stays cheap behind a flooded mailbox.
 *
 * The experiment: `selective-receive` on `actor`: request/reply round
 * trips whose reply is taken with a selective receive, with an empty
 * mailbox and with 1,000 and 10,000 non-matching messages in front
 * (queued), without and with the trick (cb_recv_mark and
 * cb_recv_match_ref, the model's receive markers).  The workload measures
 * the empty and loaded phases alternately in ten batches and reports the
 * median of their paired differences per skipped message
 * (ns_per_skipped_msg, never below zero: workloads/selective_receive.c).
 * The real BEAM runs the same in a second step, shown and not judged
 * (whether the model agrees with it is `concbench agree`'s question).
 * Other models have no selective receive and say so (unsupported), so
 * they are not in it.
 *
 * The rule, each on the whole bootstrap interval of the ratio: without
 * the trick, a receive behind 10,000 messages takes at least 3x as long
 * as one behind 1,000 (the scan grows with the backlog: linear growth
 * would be 10x, and the round trip's fixed part and a backlog of 1,000
 * that fits in the caches make it less); and the cost per skipped
 * message without the trick is at least 10x the cost with it.  Measured
 * on a loaded 2-core machine: 1.7 to 18 ns per skipped message scanning
 * and 0.023 to 0.027 ns with the trick (the little that is left is taking
 * the fresh backlog in once a batch), two orders of magnitude, so 10x
 * leaves room for noise.
 */
#include "runner/talk.h"

#include <stdio.h>

static void judge(const talk_results_t *r, talk_judgement_t *j)
{
    const char *loaded = "receive_ns_loaded", *per = "ns_per_skipped_msg";
    talk_value_t scan1k =
        talk_get(r, "scan", "actor", "trick=no queued=1000", loaded);
    talk_value_t scan10k =
        talk_get(r, "scan", "actor", "trick=no queued=10000", loaded);
    talk_value_t cost_scan =
        talk_get(r, "scan", "actor", "trick=no queued=10000", per);
    talk_value_t cost_trick =
        talk_get(r, "scan", "actor", "trick=yes queued=10000", per);
    talk_value_t empty =
        talk_get(r, "scan", "actor", "trick=no queued=10000",
                 "receive_ns_empty");
    talk_value_t beam_scan =
        talk_get(r, "real", "beam", "trick=no queued=10000", per);
    talk_value_t beam_trick =
        talk_get(r, "real", "beam", "trick=yes queued=10000", per);

    const talk_value_t cells[] = {scan1k, scan10k, cost_scan, cost_trick,
                                  empty};
    char why[300];
    for (size_t i = 0; i < sizeof cells / sizeof cells[0]; i++)
        if (!cells[i].ok) {
            talk_why_missing(why, sizeof why, "actor", cells[i]);
            talk_judge(j, TALK_CANNOT_SHOW, "a model's cell gave no figure: %s",
                       why);
            return;
        }
    char a[32], b[32], c[32];
    talk_figure(j, "actor round trip: empty %s, behind 1,000 %s, behind "
                   "10,000 %s",
                talk_fmt(a, sizeof a, empty.median, "ns"),
                talk_fmt(b, sizeof b, scan1k.median, "ns"),
                talk_fmt(c, sizeof c, scan10k.median, "ns"));
    talk_figure(j, "actor per skipped message: scanning %.3g ns, with the "
                   "trick %.3g ns",
                cost_scan.median, cost_trick.median);
    if (beam_scan.ok && beam_trick.ok)
        talk_figure(j, "real BEAM (not judged): scanning %.3g ns, with the "
                       "trick %.3g ns per skipped message",
                    beam_scan.median, beam_trick.median);
    else
        talk_figure(j, "real BEAM (not judged): %s",
                    talk_why_missing(why, sizeof why, "beam",
                                     beam_scan.ok ? beam_trick : beam_scan));

    double grows, skipped;
    talk_verdict_t v[2] = {
        talk_ratio_at_least(scan10k, scan1k, 3, &grows),
        talk_ratio_at_least(cost_scan, cost_trick, 10, &skipped),
    };
    talk_verdict_t all = talk_all(v, 2);
    switch (all) {
    case TALK_HOLDS:
        talk_judge(j, all,
                   "a receive behind 10,000 messages took %.1fx one behind "
                   "1,000, and the reference trick cut the cost per "
                   "skipped message %.0fx",
                   grows, skipped);
        break;
    case TALK_NOT_HERE:
        talk_judge(j, all,
                   v[0] == TALK_NOT_HERE
                       ? "the receive did not grow with the backlog: "
                         "%.2fx from 1,000 to 10,000 messages (bound 3x; "
                         "trick %.1fx)"
                       : "the receive grew %.1fx with the backlog, but the "
                         "trick cut the cost per skipped message only "
                         "%.2fx (bound 10x)",
                   grows, skipped);
        break;
    default:
        talk_judge(j, all,
                   "an interval straddles its bound: growth %.1fx (3x), "
                   "trick %.1fx (10x)",
                   grows, skipped);
        break;
    }
}

const talk_check_t cb_talk_selective_receive = {
    .id = "selective-receive",
    .order = 12,
    .addition = true,
    .title = "selective receive scans the mailbox; the reference trick "
             "skips the backlog",
    .claim = "(Not in the talk.) A receive with a pattern looks at every "
             "message in front of the one it matches, so it slows down as "
             "unmatched messages pile up; a receive for a reference made "
             "just before it (OTP 24's receive markers) starts after them.",
    .rule = "selective-receive on actor: without the trick, a receive "
            "behind 10,000 messages at least 3x one behind 1,000; the cost "
            "per skipped message without the trick at least 10x that with "
            "it; each on the whole bootstrap interval of the ratio.  The "
            "real BEAM is shown beside, not judged.",
    .steps = {
        {
            .name = "scan",
            .systems = "actor",
            .workload = "selective-receive",
            .params = {"trick=no,yes", "queued=1000,10000,100000"},
            .quick_params = {"trick=no,yes", "queued=1000,10000"},
            .timeout_s = 120,
        },
        {
            .name = "real",
            .systems = "beam",
            .workload = "selective-receive",
            .params = {"trick=no,yes", "queued=1000,10000,100000"},
            .quick_params = {"trick=no,yes", "queued=10000"},
            /* Shown, not judged: one repetition keeps --quick short. */
            .quick_reps = 1,
            .timeout_s = 120,
        },
    },
    .nsteps = 2,
    .judge = judge,
    .plots = {
        {
            .kind = TALK_PLOT_XY,
            .step = "scan",
            .metric = "receive_ns_loaded",
            .x = "queued",
            .title = "a selective receive's round trip against the messages "
                     "in front of its reply, with and without the trick",
            .unit = "ns",
            .log_y = true,
        },
        {
            .kind = TALK_PLOT_BARS,
            .step = "real",
            .metric = "ns_per_skipped_msg",
            .x = "trick",
            .title = "the real BEAM: cost per skipped message, with and "
                     "without the trick (not judged)",
            .unit = "ns",
            .log_y = true,
        },
    },
    .nplots = 2,
};
