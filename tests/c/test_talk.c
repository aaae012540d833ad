/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * The judge's arithmetic (runner/talk.c) on synthetic results, apart from
 * any noise: each rule helper's four verdicts, the edge cases (one
 * repetition, zero medians, NaN, negative figures), talk_get's matching,
 * talk_count's outcomes,
 * talk_fmt's units, the registry's well-formedness, and claim 4's judge.
 */
#include "cb_test.h"
#include "runner/talk.h"
#include "runner/talk_engine.h"

#include <math.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const double around1[] = {1.00, 1.02, 0.98, 1.01, 0.99};
static const double around10[] = {10.0, 10.3, 9.7, 10.1, 9.9};
static const double around2[] = {2.0, 2.05, 1.95, 2.02, 1.98};
static const double wide[] = {0.5, 1.0, 4.0, 8.0, 16.0};
static const double zeros[] = {0, 0, 0, 0, 0};

static talk_results_t *fixture(void)
{
    talk_results_t *r = talk_results_synthetic(true);
    talk_results_add(r, "s", "actor", "k=1", "m", around1, N(around1));
    talk_results_add(r, "s", "actor", "k=10", "m", around10, N(around10));
    talk_results_add(r, "s", "actor", "k=2", "m", around2, N(around2));
    talk_results_add(r, "s", "actor", "k=wide", "m", wide, N(wide));
    talk_results_add(r, "s", "actor", "k=zero", "m", zeros, N(zeros));
    double one = 5;
    talk_results_add(r, "s", "actor", "k=one", "m", &one, 1);
    double nan[] = {NAN, NAN, NAN};
    talk_results_add(r, "s", "actor", "k=nan", "m", nan, N(nan));
    double neg[] = {-1, -1.1, -0.9};
    talk_results_add(r, "s", "actor", "k=neg", "m", neg, N(neg));
    talk_results_add_missing(r, "s", "beam", "k=1", "unsupported",
                             "erlang not installed; scripts/deps.sh "
                             "installs it");
    return r;
}

static talk_value_t get(const talk_results_t *r, const char *system,
                        const char *where)
{
    return talk_get(r, "s", system, where, "m");
}

static void test_values(void)
{
    talk_results_t *r = fixture();
    talk_value_t v1 = get(r, "actor", "k=1");
    CHECK(v1.ok);
    CHECK_EQ(v1.n, 5);
    CHECK(v1.lo <= v1.median && v1.median <= v1.hi);
    CHECK(v1.lo >= 0.98 && v1.hi <= 1.02);
    /* at_least / at_most on the whole interval */
    CHECK_EQ(talk_value_at_least(v1, 0.9), TALK_HOLDS);
    CHECK_EQ(talk_value_at_least(v1, 1.5), TALK_NOT_HERE);
    CHECK_EQ(talk_value_at_least(v1, 1.0), TALK_INCONCLUSIVE);
    CHECK_EQ(talk_value_at_most(v1, 1.5), TALK_HOLDS);
    CHECK_EQ(talk_value_at_most(v1, 0.9), TALK_NOT_HERE);
    CHECK_EQ(talk_value_at_most(v1, 1.0), TALK_INCONCLUSIVE);
    /* a bound exactly at the interval's end is on the holding side */
    CHECK_EQ(talk_value_at_least(v1, v1.lo), TALK_HOLDS);
    CHECK_EQ(talk_value_at_most(v1, v1.hi), TALK_HOLDS);
    /* one repetition: no interval, inconclusive, and the notes say why */
    talk_value_t one = get(r, "actor", "k=one");
    CHECK(one.ok);
    CHECK_EQ(one.n, 1);
    CHECK_EQ(talk_value_at_least(one, 1), TALK_INCONCLUSIVE);
    CHECK_EQ(talk_value_at_most(one, 100), TALK_INCONCLUSIVE);
    CHECK(strstr(talk_results_notes(r), "no interval") != NULL);
    /* NaN figures are never a verdict */
    talk_value_t nan = get(r, "actor", "k=nan");
    CHECK_EQ(talk_value_at_least(nan, 0), TALK_INCONCLUSIVE);
    CHECK_EQ(talk_value_at_most(nan, 1e300), TALK_INCONCLUSIVE);
    CHECK_EQ(talk_value_at_least(v1, NAN), TALK_INCONCLUSIVE);
    /* a cell that did not run: cannot be shown, with its reason */
    talk_value_t beam = get(r, "beam", "k=1");
    CHECK(!beam.ok);
    CHECK_STREQ(beam.status, "unsupported");
    CHECK(strstr(beam.reason, "deps.sh") != NULL);
    CHECK_EQ(talk_value_at_least(beam, 0), TALK_CANNOT_SHOW);
    char why[200];
    talk_why_missing(why, sizeof why, "beam", beam);
    CHECK_STREQ(why, "beam: unsupported (erlang not installed; "
                     "scripts/deps.sh installs it)");
    talk_results_free(r);
}

static void test_ratios(void)
{
    talk_results_t *r = fixture();
    talk_value_t v1 = get(r, "actor", "k=1"), v10 = get(r, "actor", "k=10"),
                 v2 = get(r, "actor", "k=2"), w = get(r, "actor", "k=wide"),
                 z = get(r, "actor", "k=zero"), one = get(r, "actor", "k=one"),
                 neg = get(r, "actor", "k=neg"),
                 beam = get(r, "beam", "k=1");
    double ratio = 0;
    /* 10 / 1 = 10: at least 5 holds, at least 20 does not, at least 10 is
     * inside the interval */
    CHECK_EQ(talk_ratio_at_least(v10, v1, 5, &ratio), TALK_HOLDS);
    CHECK(fabs(ratio - 10) < 0.5);
    CHECK_EQ(talk_ratio_at_least(v10, v1, 20, NULL), TALK_NOT_HERE);
    CHECK_EQ(talk_ratio_at_least(v10, v1, 10, NULL), TALK_INCONCLUSIVE);
    /* 2 / 1 at most 3 holds, at most 1.5 does not, at most 2 straddles */
    CHECK_EQ(talk_ratio_at_most(v2, v1, 3, &ratio), TALK_HOLDS);
    CHECK(fabs(ratio - 2) < 0.1);
    CHECK_EQ(talk_ratio_at_most(v2, v1, 1.5, NULL), TALK_NOT_HERE);
    CHECK_EQ(talk_ratio_at_most(v2, v1, 2, NULL), TALK_INCONCLUSIVE);
    /* the noise larger than the effect: 2 against a figure anywhere in
     * 0.5..16 is inconclusive for any bound inside its interval */
    CHECK_EQ(talk_ratio_at_least(w, v1, 2, NULL), TALK_INCONCLUSIVE);
    CHECK_EQ(talk_ratio_at_most(w, v1, 2, NULL), TALK_INCONCLUSIVE);
    /* zero medians: positive over zero is infinitely large, zero over
     * zero has no meaning */
    CHECK_EQ(talk_ratio_at_least(v1, z, 1000, &ratio), TALK_HOLDS);
    CHECK(isinf(ratio));
    CHECK_EQ(talk_ratio_at_most(v1, z, 1000, NULL), TALK_NOT_HERE);
    CHECK_EQ(talk_ratio_at_least(z, z, 1, &ratio), TALK_INCONCLUSIVE);
    CHECK(isnan(ratio));
    CHECK_EQ(talk_ratio_at_most(z, v1, 0.5, &ratio), TALK_HOLDS);
    CHECK_EQ(ratio, 0);
    /* one repetition and negative figures: inconclusive */
    CHECK_EQ(talk_ratio_at_least(one, v1, 1, NULL), TALK_INCONCLUSIVE);
    CHECK_EQ(talk_ratio_at_most(v1, one, 1000, NULL), TALK_INCONCLUSIVE);
    CHECK_EQ(talk_ratio_at_most(neg, v1, 1000, NULL), TALK_INCONCLUSIVE);
    /* a missing side cannot be shown, whatever the other */
    CHECK_EQ(talk_ratio_at_least(v10, beam, 1, NULL), TALK_CANNOT_SHOW);
    CHECK_EQ(talk_ratio_at_most(beam, v1, 1, NULL), TALK_CANNOT_SHOW);
    CHECK_EQ(talk_ratio_at_most(beam, one, 1, NULL), TALK_CANNOT_SHOW);
    talk_results_free(r);
}

static void test_all(void)
{
    talk_verdict_t holds[] = {TALK_HOLDS, TALK_HOLDS};
    CHECK_EQ(talk_all(holds, 2), TALK_HOLDS);
    CHECK_EQ(talk_all(holds, 0), TALK_HOLDS);
    talk_verdict_t a[] = {TALK_HOLDS, TALK_INCONCLUSIVE, TALK_HOLDS};
    CHECK_EQ(talk_all(a, 3), TALK_INCONCLUSIVE);
    talk_verdict_t b[] = {TALK_INCONCLUSIVE, TALK_NOT_HERE, TALK_HOLDS};
    CHECK_EQ(talk_all(b, 3), TALK_NOT_HERE);
    talk_verdict_t c[] = {TALK_NOT_HERE, TALK_CANNOT_SHOW, TALK_INCONCLUSIVE};
    CHECK_EQ(talk_all(c, 3), TALK_CANNOT_SHOW);
    CHECK_STREQ(talk_verdict_name(TALK_HOLDS), "holds");
    CHECK_STREQ(talk_verdict_name(TALK_NOT_HERE), "does not hold here");
    CHECK_STREQ(talk_verdict_name(TALK_INCONCLUSIVE), "inconclusive");
    CHECK_STREQ(talk_verdict_name(TALK_CANNOT_SHOW), "cannot be shown here");
    CHECK_STREQ(talk_verdict_label(TALK_HOLDS, true), "agree");
    CHECK_STREQ(talk_verdict_label(TALK_NOT_HERE, true), "differ");
    CHECK_EQ(talk_verdict_parse("differ"), TALK_NOT_HERE);
    CHECK_EQ(talk_verdict_parse("holds"), TALK_HOLDS);
    CHECK_EQ(talk_verdict_parse("maybe"), -1);
}

static void test_get(void)
{
    talk_results_t *r = talk_results_synthetic(false);
    CHECK(!talk_quick(r));
    /* cells as a matrix names them: model parameters with "model." */
    talk_results_add(r, "st", "csp", "hogs=4 model.pool=2", "m", around1, 5);
    talk_results_add(r, "st", "csp", "hogs=4 model.pool=8", "m", around2, 5);
    talk_results_add(r, "st", "csp", "hogs=1000 model.pool=8", "m", around10,
                     5);
    /* a model parameter asked without its prefix; numbers as numbers */
    talk_value_t v = talk_get(r, "st", "csp", "pool=2", "m");
    CHECK(v.ok);
    CHECK(fabs(v.median - 1) < 0.05);
    v = talk_get(r, "st", "csp", "hogs=1e3", "m");
    CHECK(v.ok);
    CHECK(fabs(v.median - 10) < 0.5);
    v = talk_get(r, "st", "csp", "  pool=8   hogs=4 ", "m");
    CHECK(v.ok);
    CHECK(fabs(v.median - 2) < 0.1);
    /* several cells: a bug in the check, said as such */
    v = talk_get(r, "st", "csp", "pool=8", "m");
    CHECK(!v.ok);
    CHECK_STREQ(v.status, "ambiguous");
    CHECK_EQ(talk_value_at_least(v, 0), TALK_CANNOT_SHOW);
    /* absent: no such cell, no such step, no such metric */
    v = talk_get(r, "st", "csp", "pool=3", "m");
    CHECK(!v.ok);
    CHECK_STREQ(v.status, "absent");
    v = talk_get(r, "other", "csp", NULL, "m");
    CHECK(!v.ok);
    CHECK(strstr(v.reason, "not run") != NULL);
    v = talk_get(r, "st", "csp", "pool=2", "nope");
    CHECK(!v.ok);
    CHECK_STREQ(v.status, "absent");
    v = talk_get(r, "st", "actor", "", "m");
    CHECK(!v.ok);
    CHECK(strstr(talk_results_notes(r), "ambiguous") == NULL);
    CHECK(strstr(talk_results_notes(r), "cells match") != NULL);
    talk_results_free(r);
}

static void test_count(void)
{
    talk_results_t *r = talk_results_synthetic(true);
    /* two repetitions ran, one deadlocked */
    talk_results_add(r, "st", "locks", "order=naive", "m", around1, 2);
    talk_results_add_outcomes(r, "st", "locks", "order=naive", "failed", 1,
                              "deadlock: none of the 4 workers moved");
    talk_results_add_outcomes(r, "st", "locks", "order=sorted", "timeout", 3,
                              "ran past 60 s");
    talk_results_add_missing(r, "st", "beam", "", "unsupported",
                             "erlang not installed");
    int measured;
    const char *reason;
    CHECK_EQ(talk_count(r, "st", "locks", "order=naive", "failed", &measured,
                        &reason),
             1);
    CHECK_EQ(measured, 3);
    CHECK(strstr(reason, "deadlock") != NULL);
    CHECK_EQ(talk_count(r, "st", "locks", "order=naive", "ok", NULL, NULL), 2);
    CHECK_EQ(talk_count(r, "st", "locks", "order=naive", "crashed", NULL,
                        NULL),
             0);
    /* the figures of the repetitions that succeeded, with a note */
    talk_value_t v = talk_get(r, "st", "locks", "order=naive", "m");
    CHECK(v.ok);
    CHECK_EQ(v.n, 2);
    CHECK(strstr(talk_results_notes(r), "1 of 3 repetitions failed") != NULL);
    /* no success at all: the outcome most repetitions had */
    v = talk_get(r, "st", "locks", "order=sorted", "m");
    CHECK(!v.ok);
    CHECK_STREQ(v.status, "timeout");
    CHECK_STREQ(v.reason, "ran past 60 s");
    CHECK_EQ(talk_count(r, "st", "beam", NULL, "unsupported", &measured,
                        NULL),
             1);
    /* no single cell, or no such outcome */
    CHECK_EQ(talk_count(r, "st", "locks", "", "failed", NULL, NULL), -1);
    CHECK_EQ(talk_count(r, "st", "locks", "order=naive", "lost", &measured,
                        NULL),
             -1);
    CHECK_EQ(measured, 0);
    CHECK_EQ(talk_count(r, "nope", "locks", "", "ok", NULL, NULL), -1);
    talk_results_free(r);
}

static void test_fmt(void)
{
    char b[64];
    CHECK_STREQ(talk_fmt(b, sizeof b, 1.3e6, "ns"), "1.30 ms");
    CHECK_STREQ(talk_fmt(b, sizeof b, 756, "ns"), "756 ns");
    CHECK_STREQ(talk_fmt(b, sizeof b, 2500, "ns"), "2.50 µs");
    CHECK_STREQ(talk_fmt(b, sizeof b, 3.1e9, "ns"), "3.10 s");
    CHECK_STREQ(talk_fmt(b, sizeof b, 0.69, "s"), "690 ms");
    CHECK_STREQ(talk_fmt(b, sizeof b, 2.7 * 1024, "B"), "2.70 KiB");
    CHECK_STREQ(talk_fmt(b, sizeof b, 27.6 * 1024 * 1024, "B"), "27.6 MiB");
    CHECK_STREQ(talk_fmt(b, sizeof b, 100, "B"), "100 B");
    CHECK_STREQ(talk_fmt(b, sizeof b, 0.987, ""), "0.987");
    CHECK_STREQ(talk_fmt(b, sizeof b, 12.34, "x"), "12.3x");
    CHECK_STREQ(talk_fmt(b, sizeof b, NAN, "ns"), "n/a");
    CHECK_STREQ(talk_fmt(b, sizeof b, INFINITY, "x"), "inf x");
    CHECK_STREQ(talk_fmt(b, sizeof b, 1234, "ops/s"), "1234 ops/s");
}

static void test_registry(void)
{
    char err[300];
    size_t nc = talk_claim_count(), na = talk_agree_count();
    CHECK_GE(nc, 1);
    const talk_check_t *prev = NULL;
    for (size_t i = 0; i < nc + na; i++) {
        const talk_check_t *c = i < nc ? talk_claim_at(i) : talk_agree_at(i - nc);
        CHECK(c != NULL);
        if (talk_check_validate(c, err, sizeof err) < 0)
            CB_FAIL_("%s", err);
        /* the talk's order, additions last */
        if (i < nc && prev)
            CHECK(prev->addition < c->addition ||
                  (prev->addition == c->addition && prev->order <= c->order));
        prev = i < nc ? c : NULL;
        for (size_t k = 0; k < i; k++) {
            const talk_check_t *o = k < nc ? talk_claim_at(k)
                                           : talk_agree_at(k - nc);
            if ((k < nc) == (i < nc) && strcmp(o->id, c->id) == 0)
                CB_FAIL_("two checks with the id %s", c->id);
        }
    }
    CHECK(talk_claim_at(nc) == NULL);
    CHECK(talk_agree_at(na) == NULL);
    /* validate refuses what would break a run */
    talk_check_t bad = *talk_claim_at(0);
    bad.id = "Bad Id";
    CHECK_EQ(talk_check_validate(&bad, err, sizeof err), -1);
    bad = *talk_claim_at(0);
    bad.judge = NULL;
    CHECK_EQ(talk_check_validate(&bad, err, sizeof err), -1);
    bad = *talk_claim_at(0);
    bad.nsteps = 0;
    CHECK_EQ(talk_check_validate(&bad, err, sizeof err), -1);
    bad = *talk_claim_at(0);
    bad.nplots = 1;
    bad.plots[0].step = "no-such-step";
    bad.plots[0].metric = "m";
    CHECK_EQ(talk_check_validate(&bad, err, sizeof err), -1);
}

static const talk_check_t *find_claim(const char *id)
{
    for (size_t i = 0; i < talk_claim_count(); i++)
        if (strcmp(talk_claim_at(i)->id, id) == 0)
            return talk_claim_at(i);
    return NULL;
}

/* Claim 4's judge on the shapes it tells apart. */
static talk_verdict_t judge_nif(const double *none, const double *plain,
                                const double *dirty, bool beam_missing)
{
    const talk_check_t *c = find_claim("nif-dirty");
    CHECK(c != NULL);
    talk_results_t *r = talk_results_synthetic(true);
    const char *m = "lateness_ns.p50";
    talk_results_add(r, "crunch", "actor", "nif=none hogs=4", m, none, 3);
    if (beam_missing)
        talk_results_add_missing(r, "crunch", "actor", "nif=plain hogs=4",
                                 "timeout", "ran past 60 s");
    else
        talk_results_add(r, "crunch", "actor", "nif=plain hogs=4", m, plain,
                         3);
    talk_results_add(r, "crunch", "actor", "nif=dirty hogs=4", m, dirty, 3);
    talk_judgement_t j;
    memset(&j, 0, sizeof j);
    c->judge(r, &j);
    CHECK(j.why[0] != '\0');
    CHECK_GE(j.nfigures, 1);
    talk_results_free(r);
    return j.verdict;
}

static void test_nif_dirty(void)
{
    const double quiet[] = {300e3, 320e3, 280e3};
    const double blocked[] = {300e6, 310e6, 290e6};
    const double busy[] = {3e6, 40e6, 10e6};
    CHECK_EQ(judge_nif(quiet, blocked, quiet, false), TALK_HOLDS);
    /* plain calls that do not block: does not hold */
    CHECK_EQ(judge_nif(quiet, quiet, quiet, false), TALK_NOT_HERE);
    /* dirty no better than plain: does not hold */
    CHECK_EQ(judge_nif(quiet, blocked, blocked, false), TALK_NOT_HERE);
    /* noise as large as the effect */
    CHECK_EQ(judge_nif(busy, blocked, quiet, false), TALK_INCONCLUSIVE);
    CHECK_EQ(judge_nif(quiet, blocked, quiet, true), TALK_CANNOT_SHOW);
}

int main(void)
{
    test_values();
    test_ratios();
    test_all();
    test_get();
    test_count();
    test_fmt();
    test_registry();
    test_nif_dirty();
    printf("ok\n");
    return 0;
}
