/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Addition 13: location transparency and a global registry survive a node
 * loss; the price is the handoff window.
 *
 * The talk's answer to outgrowing one machine is the actor model's
 * location transparency: a process is reached by its name or pid whatever
 * node it lives on, and the BEAM's own distribution carries the message.
 * The seeds run it as libcluster (nodes find each other) plus Swarm or
 * horde (one instance of each registered worker cluster-wide, restarted
 * on a survivor when its node dies).
 *
 * The real system, with OTP alone (workloads/cluster.c and the program's
 * essay, peers/beam/concbench_cluster.erl): `global` keeps a replica of
 * the name table on every node; when a node goes down every node drops
 * its names (kernel reference manual, global,
 * https://www.erlang.org/doc/man/global.html); node monitors
 * (net_kernel:monitor_nodes/1) tell each survivor, and the survivor that
 * rendezvous hashing elects registers the name again.  Between the kill
 * and that registration the name points at a dead process or at nothing:
 * a request sent then is lost (no reply within timeout_ms) or fails (no
 * such name).  That window is the price.
 *
 * The experiment: `cluster` on the real `beam` (3 nodes, 12 workers at
 * --quick; 5 and 100 at full size): a request stream by name, one node
 * SIGKILLed, a node joining later.  Nothing here is a model: distribution
 * is the BEAM's own, and a machine without Erlang cannot show the claim.
 *
 * The rule, all measured in the same runs: (1) it survives: the registry
 * converged (`converged`, the interval of its median at 1) and requests by
 * name were answered after the loss (`requests_ok_after_loss` at least 1);
 * (2) the price is real: the median handoff (kill -> a lost name
 * registered again, handoff_ns.p50) is at least 10x the median request
 * round trip by name measured side by side before the kill
 * (request_ns.p50), and at least one request was lost or failed in the
 * window.  It could fail both ways: a handoff as fast as a request (a
 * registry that moved names before anyone noticed) or a stream that
 * stopped for good.  Round trips on loopback are some 100 us here and the
 * handoff some 100 ms (global's cleanup after nodedown, then a new
 * registration under global's cluster-wide lock): three orders of
 * magnitude, so 10x leaves room for a loaded machine.
 */
#include "runner/talk.h"

#include <stdio.h>

static void judge(const talk_results_t *r, talk_judgement_t *j)
{
    talk_value_t conv = talk_get(r, "loss", "beam", NULL, "converged");
    talk_value_t after =
        talk_get(r, "loss", "beam", NULL, "requests_ok_after_loss");
    talk_value_t handoff = talk_get(r, "loss", "beam", NULL, "handoff_ns.p50");
    talk_value_t request = talk_get(r, "loss", "beam", NULL, "request_ns.p50");
    talk_value_t lost =
        talk_get(r, "loss", "beam", NULL, "requests_lost_in_handoff");
    talk_value_t need[] = {conv, after, handoff, request, lost};
    char why[400], a[32], b[32];
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
        if (!need[i].ok) {
            talk_why_missing(why, sizeof why, "beam", need[i]);
            talk_figure(j, "%s", why);
            talk_judge(j, TALK_CANNOT_SHOW,
                       "the cluster on the real BEAM gave no figure: %s",
                       why);
            return;
        }
    double ratio = 0;
    talk_verdict_t v[4] = {
        talk_value_at_least(conv, 1),
        talk_value_at_least(after, 1),
        talk_ratio_at_least(handoff, request, 10, &ratio),
        talk_value_at_least(lost, 1),
    };
    talk_figure(j, "handoff p50 %s against a request by name p50 %s (%.0fx)",
                talk_fmt(a, sizeof a, handoff.median, "ns"),
                talk_fmt(b, sizeof b, request.median, "ns"), ratio);
    talk_figure(j,
                "requests lost or failed in the window: %.0f; answered "
                "after the loss: %.0f",
                lost.median, after.median);
    talk_figure(j, "registry converged after the simultaneous joins: %s",
                conv.median >= 1 ? "yes" : "no");
    talk_verdict_t all = talk_all(v, 4);
    switch (all) {
    case TALK_HOLDS:
        talk_judge(j, all,
                   "after the SIGKILL every lost name ran again on a "
                   "survivor and requests by name went on, but for a "
                   "handoff window %.0fx a request's round trip, in which "
                   "requests were lost",
                   ratio);
        break;
    case TALK_NOT_HERE:
        talk_judge(j, all,
                   "the figures disagree: the registry did not converge, "
                   "no request was answered after the loss, or the handoff "
                   "cost nothing (under 10x a request, nothing lost)");
        break;
    default:
        talk_judge(j, all,
                   "the repetitions straddle a bound (or too few "
                   "repetitions for an interval)");
        break;
    }
}

const talk_check_t cb_talk_cluster_handoff = {
    .id = "cluster-handoff",
    .order = 13,
    .addition = true,
    .title = "location transparency and a global registry survive a node "
             "loss; the price is the handoff window",
    .claim = "Past one machine the actor model's answer is location "
             "transparency: send to a name, wherever it lives.  On real "
             "Erlang distribution a global registry and node monitors "
             "bring a killed node's workers back on a survivor, and "
             "requests by name carry on; between the kill and the new "
             "registration the name leads nowhere, and requests sent then "
             "are lost.",
    .rule = "cluster on the real BEAM: the registry converges and requests "
            "by name are answered after the SIGKILL of a node, while the "
            "median handoff is at least 10x the median request by name "
            "measured in the same runs and at least one request is lost "
            "in the window; judged on the intervals of the medians.",
    .steps = {{
        .name = "loss",
        .systems = "beam",
        .workload = "cluster",
        .params = {"nodes=5", "workers=100"},
        .quick_params = {"nodes=3", "workers=12"},
        .reps = 5,
        .quick_reps = 3,
        .timeout_s = 120,
    }},
    .nsteps = 1,
    .judge = judge,
    .plots = {{
                  .kind = TALK_PLOT_BARS,
                  .step = "loss",
                  .metric = "handoff_ns.p50",
                  .title = "time from the SIGKILL to a lost name's new "
                           "registration (median)",
                  .unit = "ns",
                  .log_y = false,
              },
              {
                  .kind = TALK_PLOT_BARS,
                  .step = "loss",
                  .metric = "request_ns.p50",
                  .title = "a request by name, round trip (median)",
                  .unit = "ns",
                  .log_y = false,
              }},
    .nplots = 2,
};
