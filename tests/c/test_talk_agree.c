/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * The agreement checks' judges (the files in agree/) on synthetic
 * results, apart from any noise: for each check, the shapes it tells apart give agree,
 * differ and inconclusive, and a real system that did not run gives
 * "cannot be shown here" with the reason the runner recorded.
 */
#include "cb_test.h"
#include "runner/talk.h"

#include <string.h>

static const talk_check_t *find(const char *id)
{
    for (size_t i = 0; i < talk_agree_count(); i++)
        if (strcmp(talk_agree_at(i)->id, id) == 0)
            return talk_agree_at(i);
    return NULL;
}

static talk_judgement_t judge(const char *id, talk_results_t *r)
{
    const talk_check_t *c = find(id);
    CHECK(c != NULL);
    talk_judgement_t j;
    memset(&j, 0, sizeof j);
    c->judge(r, &j);
    CHECK(j.why[0] != '\0');
    CHECK_GE(j.nfigures, 1);
    talk_results_free(r);
    return j;
}

/* Three repetitions around `v`, spread by +-`spread` (a fraction). */
static void add3(talk_results_t *r, const char *step, const char *system,
                 const char *where, const char *metric, double v,
                 double spread)
{
    double x[3] = {v, v * (1 + spread), v * (1 - spread)};
    talk_results_add(r, step, system, where, metric, x, 3);
}

static const char *const missing_reason =
    "erl not found in PATH (scripts/deps.sh installs erlang-base)";

/* ---- probe-lateness: p99 with 4 hogs over the window, each system ---- */

static talk_judgement_t probe(double actor_p99, double beam_p99,
                              double spread, bool beam_missing)
{
    talk_results_t *r = talk_results_synthetic(true);
    const char *sys[] = {"actor", "beam"};
    double p99[] = {actor_p99, beam_p99};
    for (int i = 0; i < 2; i++) {
        if (i == 1 && beam_missing) {
            talk_results_add_missing(r, "crunch", "beam", "hogs=4",
                                     "unsupported", missing_reason);
            talk_results_add_missing(r, "crunch", "beam", "hogs=0",
                                     "unsupported", missing_reason);
            continue;
        }
        add3(r, "crunch", sys[i], "hogs=4", "lateness_ns.p99", p99[i],
             spread);
        add3(r, "crunch", sys[i], "hogs=4", "elapsed_ns", 1e9, 0.01);
        add3(r, "crunch", sys[i], "hogs=0", "lateness_ns.p99", 2e6, 0.1);
    }
    return judge("probe-lateness", r);
}

static void test_probe_lateness(void)
{
    CHECK_EQ(probe(5e6, 30e6, 0.1, false).verdict, TALK_HOLDS);
    talk_judgement_t j = probe(5e6, 950e6, 0.02, false); /* beam starves */
    CHECK_EQ(j.verdict, TALK_NOT_HERE);
    CHECK(strstr(j.why, "beam") != NULL);
    CHECK_EQ(probe(5e6, 250e6, 0.5, false).verdict, TALK_INCONCLUSIVE);
    j = probe(5e6, 5e6, 0.1, true);
    CHECK_EQ(j.verdict, TALK_CANNOT_SHOW);
    CHECK(strstr(j.why, "deps.sh") != NULL);
}

/* ---- pool-starvation: the opposite side of the same ratio ---- */

static talk_verdict_t starve(double csp_p99, double ca_p99, double spread)
{
    talk_results_t *r = talk_results_synthetic(true);
    add3(r, "crunch", "csp", "hogs=4", "lateness_ns.p99", csp_p99, spread);
    add3(r, "crunch", "csp", "hogs=4", "elapsed_ns", 1e9, 0.01);
    add3(r, "crunch", "core.async", "hogs=4", "lateness_ns.p99", ca_p99,
         spread);
    add3(r, "crunch", "core.async", "hogs=4", "elapsed_ns", 1e9, 0.01);
    return judge("pool-starvation", r).verdict;
}

static void test_pool_starvation(void)
{
    CHECK_EQ(starve(980e6, 960e6, 0.02), TALK_HOLDS);
    CHECK_EQ(starve(980e6, 20e6, 0.02), TALK_NOT_HERE); /* core.async served */
    CHECK_EQ(starve(980e6, 500e6, 0.3), TALK_INCONCLUSIVE);
}

/* ---- fairness: two bounds, one per kind of scheduler ---- */

static talk_judgement_t fair(double actor, double beam, double pools,
                             double go, bool go_missing)
{
    talk_results_t *r = talk_results_synthetic(true);
    add3(r, "crunch", "actor", NULL, "fairness_jain", actor, 0.02);
    add3(r, "crunch", "beam", NULL, "fairness_jain", beam, 0.02);
    add3(r, "crunch", "csp", NULL, "fairness_jain", pools, 0.02);
    add3(r, "crunch", "core.async", NULL, "fairness_jain", pools, 0.02);
    if (go_missing)
        talk_results_add_missing(r, "crunch", "go", NULL, "unsupported",
                                 "go not found in PATH (scripts/deps.sh "
                                 "installs golang-go)");
    else
        add3(r, "crunch", "go", NULL, "fairness_jain", go, 0.02);
    return judge("fairness", r);
}

static void test_fairness(void)
{
    CHECK_EQ(fair(0.95, 0.9, 0.008, 0.03, false).verdict, TALK_HOLDS);
    talk_judgement_t j = fair(0.95, 0.05, 0.008, 0.03, false);
    CHECK_EQ(j.verdict, TALK_NOT_HERE);
    CHECK(strstr(j.why, "beam") != NULL);
    CHECK_EQ(fair(0.95, 0.3, 0.008, 0.03, false).verdict, TALK_INCONCLUSIVE);
    CHECK_EQ(fair(0.95, 0.9, 0.008, 0.6, false).verdict, TALK_NOT_HERE);
    j = fair(0.95, 0.9, 0.008, 0.03, true);
    CHECK_EQ(j.verdict, TALK_CANNOT_SHOW);
    CHECK(strstr(j.why, "golang-go") != NULL);
}

/* ---- mailbox-growth: the share of all sent still queued ---- */

static talk_verdict_t flood(double actor_backlog, double beam_backlog,
                            double beam_dropped)
{
    talk_results_t *r = talk_results_synthetic(true);
    const char *sys[] = {"actor", "beam"};
    double backlog[] = {actor_backlog, beam_backlog};
    double dropped[] = {0, beam_dropped};
    for (int i = 0; i < 2; i++) {
        add3(r, "flood", sys[i], "duration_ms=400", "backlog_at_stop",
             backlog[i], 0.05);
        add3(r, "flood", sys[i], "duration_ms=400", "ops", 500000, 0.05);
        add3(r, "flood", sys[i], "duration_ms=400", "dropped", dropped[i],
             0);
        add3(r, "flood", sys[i], "duration_ms=200", "backlog_at_stop",
             backlog[i] / 2, 0.05);
    }
    return judge("mailbox-growth", r).verdict;
}

static void test_mailbox_growth(void)
{
    CHECK_EQ(flood(400000, 300000, 0), TALK_HOLDS);
    CHECK_EQ(flood(400000, 1024, 0), TALK_NOT_HERE); /* a bounded queue */
    CHECK_EQ(flood(400000, 300000, 10), TALK_NOT_HERE); /* drops */
    CHECK_EQ(flood(400000, 125000, 0), TALK_INCONCLUSIVE);
}

/* ---- selective-receive: growth with trick=no, none with trick=yes ---- */

static talk_verdict_t receive(double actor_no, double beam_no,
                              double actor_yes, double beam_yes)
{
    talk_results_t *r = talk_results_synthetic(true);
    const char *sys[] = {"actor", "beam"};
    double no[] = {actor_no, beam_no}, yes[] = {actor_yes, beam_yes};
    for (int i = 0; i < 2; i++) {
        add3(r, "receive", sys[i], "queued=1000 trick=no",
             "receive_ns_loaded", 5000, 0.05);
        add3(r, "receive", sys[i], "queued=10000 trick=no",
             "receive_ns_loaded", 5000 * no[i], 0.05);
        add3(r, "receive", sys[i], "queued=1000 trick=yes",
             "receive_ns_loaded", 200, 0.05);
        add3(r, "receive", sys[i], "queued=10000 trick=yes",
             "receive_ns_loaded", 200 * yes[i], 0.05);
    }
    return judge("selective-receive", r).verdict;
}

static void test_selective_receive(void)
{
    CHECK_EQ(receive(12, 20, 1.2, 1.5), TALK_HOLDS);
    CHECK_EQ(receive(12, 1.1, 1.2, 1.5), TALK_NOT_HERE); /* beam flat */
    CHECK_EQ(receive(12, 20, 9, 1.5), TALK_NOT_HERE);    /* no trick */
    CHECK_EQ(receive(12, 20, 4, 1.5), TALK_INCONCLUSIVE);
}

int main(void)
{
    CHECK_EQ(talk_agree_count(), 5);
    test_probe_lateness();
    test_pool_starvation();
    test_fairness();
    test_mailbox_growth();
    test_selective_receive();
    printf("ok\n");
    return 0;
}
