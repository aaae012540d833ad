/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * The judge of addition 13 (talk/cluster_handoff.c) on synthetic results:
 * the shape the claim describes holds; a handoff as fast as a request, a
 * window that lost nothing, a registry that did not converge or a stream
 * that stopped do not hold; noise across the 10x bound is inconclusive;
 * a machine without Erlang cannot show it.
 */
#include "cb_test.h"
#include "runner/talk.h"

#include <string.h>

static talk_verdict_t judge(talk_results_t *r)
{
    const talk_check_t *c = NULL;
    for (size_t i = 0; i < talk_claim_count(); i++)
        if (strcmp(talk_claim_at(i)->id, "cluster-handoff") == 0)
            c = talk_claim_at(i);
    CHECK(c != NULL);
    CHECK(c->addition);
    talk_judgement_t j;
    memset(&j, 0, sizeof j);
    c->judge(r, &j);
    CHECK(j.why[0] != '\0');
    CHECK_GE(j.nfigures, 1);
    talk_results_free(r);
    return j.verdict;
}

static void add3(talk_results_t *r, const char *metric, double a, double b,
                 double c)
{
    const double v[] = {a, b, c};
    talk_results_add(r, "loss", "beam", NULL, metric, v, 3);
}

/* handoff and request medians in ns; lost in the window; converged. */
static talk_verdict_t shape(const double handoff[3], const double req[3],
                            double lost, double conv, double after)
{
    talk_results_t *r = talk_results_synthetic(true);
    add3(r, "handoff_ns.p50", handoff[0], handoff[1], handoff[2]);
    add3(r, "request_ns.p50", req[0], req[1], req[2]);
    add3(r, "requests_lost_in_handoff", lost, lost, lost);
    add3(r, "converged", conv, conv, conv);
    add3(r, "requests_ok_after_loss", after, after, after);
    return judge(r);
}

int main(void)
{
    const double slow[] = {75e6, 80e6, 110e6}, fast[] = {1e5, 1.1e5, 1.2e5};
    const double mixed[] = {0.5e6, 1e6, 3e6};
    CHECK_EQ(shape(slow, fast, 2, 1, 1800), TALK_HOLDS);
    /* a handoff no slower than a request: no price */
    CHECK_EQ(shape(fast, fast, 2, 1, 1800), TALK_NOT_HERE);
    /* nothing lost in the window */
    CHECK_EQ(shape(slow, fast, 0, 1, 1800), TALK_NOT_HERE);
    /* the registry never converged */
    CHECK_EQ(shape(slow, fast, 2, 0, 1800), TALK_NOT_HERE);
    /* the stream stopped after the loss */
    CHECK_EQ(shape(slow, fast, 2, 1, 0), TALK_NOT_HERE);
    /* handoffs of 5x to 30x a request: across the bound */
    CHECK_EQ(shape(mixed, fast, 2, 1, 1800), TALK_INCONCLUSIVE);

    talk_results_t *r = talk_results_synthetic(true);
    talk_results_add_missing(r, "loss", "beam", NULL, "unsupported",
                             "beam not installed: erl not found in PATH "
                             "(scripts/deps.sh installs erlang-base)");
    CHECK_EQ(judge(r), TALK_CANNOT_SHOW);
    printf("ok\n");
    return 0;
}
