/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * The judges of claims 1, 2, 3, 6 and 12 (talk/message_copy.c,
 * preemption_fairness.c, crunch_throughput.c, threads_heavy.c,
 * selective_receive.c) on synthetic results: for each, the shape that
 * holds, a shape that does not, noise as large as the effect, and a cell
 * that could not run, so that every branch of their logic is checked
 * apart from any machine's noise.
 */
#include "cb_test.h"
#include "runner/talk.h"

#include <string.h>

static const talk_check_t *find_claim(const char *id)
{
    for (size_t i = 0; i < talk_claim_count(); i++)
        if (strcmp(talk_claim_at(i)->id, id) == 0)
            return talk_claim_at(i);
    return NULL;
}

/* Three repetitions of about v (a narrow interval), or spread wide. */
#define TIGHT(v) ((const double[]){(v), (v) * 1.02, (v) * 0.98})
#define WIDE(v) ((const double[]){(v) * 0.05, (v), (v) * 20})

static void add(talk_results_t *r, const char *step, const char *system,
                const char *where, const char *metric, const double *v)
{
    talk_results_add(r, step, system, where, metric, v, 3);
}

static talk_verdict_t judge(const char *id, talk_results_t *r)
{
    const talk_check_t *c = find_claim(id);
    CHECK(c != NULL);
    talk_judgement_t j;
    memset(&j, 0, sizeof j);
    c->judge(r, &j);
    CHECK(j.why[0] != '\0');
    /* The figures behind a verdict; a cell that could not run has none,
     * and its sentence says why. */
    if (j.verdict != TALK_CANNOT_SHOW)
        CHECK_GE(j.nfigures, 1);
    talk_results_free(r);
    return j.verdict;
}

/* ---- claim 2: preemption-fairness ---- */

typedef struct fair {
    const double *actor_jain, *csp_jain, *actor_late, *csp_late;
    bool csp_missing, real;
} fair_t;

static talk_verdict_t judge_fair(fair_t f)
{
    talk_results_t *r = talk_results_synthetic(true);
    add(r, "spinners", "actor", "hogs=1000", "fairness_jain", f.actor_jain);
    if (f.csp_missing)
        talk_results_add_missing(r, "spinners", "csp", "hogs=1000",
                                 "crashed", "killed by signal 11");
    else
        add(r, "spinners", "csp", "hogs=1000 pool=2", "fairness_jain",
            f.csp_jain);
    add(r, "hogs", "actor", "hogs=4", "lateness_ns.mean", f.actor_late);
    add(r, "hogs", "csp", "hogs=4 pool=2", "lateness_ns.mean", f.csp_late);
    if (f.real) {
        add(r, "real", "beam", "hogs=1000", "fairness_jain", TIGHT(0.98));
        talk_results_add_missing(r, "real", "go", "hogs=1000", "unsupported",
                                 "go not installed");
    }
    return judge("preemption-fairness", r);
}

static void test_preemption_fairness(void)
{
    fair_t holds = {TIGHT(0.93), TIGHT(0.002), TIGHT(300e3), TIGHT(300e6),
                    false, true};
    CHECK_EQ(judge_fair(holds), TALK_HOLDS);
    /* the real systems are shown, never judged: absent they change
     * nothing */
    holds.real = false;
    CHECK_EQ(judge_fair(holds), TALK_HOLDS);
    /* a budget that does not share */
    fair_t unfair = holds;
    unfair.actor_jain = TIGHT(0.01);
    CHECK_EQ(judge_fair(unfair), TALK_NOT_HERE);
    /* a pool that does share (it preempts after all) */
    fair_t shared = holds;
    shared.csp_jain = TIGHT(0.9);
    CHECK_EQ(judge_fair(shared), TALK_NOT_HERE);
    /* a probe that is not starved */
    fair_t served = holds;
    served.csp_late = TIGHT(600e3);
    CHECK_EQ(judge_fair(served), TALK_NOT_HERE);
    /* Jain's interval straddles 0.5 */
    fair_t noisy = holds;
    noisy.actor_jain = (const double[]){0.3, 0.9, 0.95};
    CHECK_EQ(judge_fair(noisy), TALK_INCONCLUSIVE);
    /* a model's cell that did not run */
    fair_t crashed = holds;
    crashed.csp_missing = true;
    CHECK_EQ(judge_fair(crashed), TALK_CANNOT_SHOW);
}

/* ---- claim 6: threads-heavy ---- */

typedef struct heavy {
    double spawn[4], rss[4], p99[4]; /* threads, actor, csp, jvm */
    bool jvm, wide_tail;
} heavy_t;

static talk_verdict_t judge_heavy(heavy_t h)
{
    static const char *const sys[] = {"threads", "actor", "csp", "jvm"};
    talk_results_t *r = talk_results_synthetic(true);
    for (size_t i = 0; i < 4; i++) {
        if (i == 3 && !h.jvm) {
            talk_results_add_missing(r, "spawn", "jvm", "tasks=300",
                                     "unsupported", "java not installed");
            talk_results_add_missing(r, "io", "jvm", "tasks=200",
                                     "unsupported", "java not installed");
            continue;
        }
        add(r, "spawn", sys[i], "tasks=300", "spawn_ns_per_task",
            TIGHT(h.spawn[i]));
        add(r, "spawn", sys[i], "tasks=300", "rss_per_task_bytes",
            TIGHT(h.rss[i]));
        add(r, "io", sys[i], "tasks=200", "throughput_ops_s", TIGHT(1e4));
        add(r, "io", sys[i], "tasks=200", "latency_ns.p99",
            h.wide_tail && i == 0 ? WIDE(h.p99[i]) : TIGHT(h.p99[i]));
    }
    return judge("threads-heavy", r);
}

static void test_threads_heavy(void)
{
    heavy_t h = {
        .spawn = {300e3, 700, 20e3, 2e6},
        .rss = {35e3, 5e3, 6e3, 100e3},
        .p99 = {100e6, 30e6, 8e6, 120e6},
        .jvm = true,
    };
    CHECK_EQ(judge_heavy(h), TALK_HOLDS);
    /* without the JVM the models decide */
    heavy_t nojvm = h;
    nojvm.jvm = false;
    CHECK_EQ(judge_heavy(nojvm), TALK_HOLDS);
    /* a JVM whose threads were light would not hold */
    heavy_t light = h;
    light.spawn[3] = 1e3;
    CHECK_EQ(judge_heavy(light), TALK_NOT_HERE);
    /* threads as cheap to spawn as processes */
    heavy_t cheap = h;
    cheap.spawn[0] = 2e3;
    CHECK_EQ(judge_heavy(cheap), TALK_NOT_HERE);
    /* a thread no bigger than a go block */
    heavy_t small = h;
    small.rss[0] = 6e3;
    CHECK_EQ(judge_heavy(small), TALK_NOT_HERE);
    /* a go block's spawn is shown, not judged */
    heavy_t slow_go = h;
    slow_go.spawn[2] = 250e3;
    CHECK_EQ(judge_heavy(slow_go), TALK_HOLDS);
    /* the tail's noise as large as the effect */
    heavy_t noisy = h;
    noisy.wide_tail = true;
    CHECK_EQ(judge_heavy(noisy), TALK_INCONCLUSIVE);
    /* a model's cell missing */
    talk_results_t *r = talk_results_synthetic(true);
    talk_results_add_missing(r, "spawn", "threads", "tasks=300", "resource",
                             "no thread could be started");
    CHECK_EQ(judge("threads-heavy", r), TALK_CANNOT_SHOW);
}

/* ---- claim 1: message-copy ---- */

typedef struct copy {
    double a10, a1k, c10, c1k, b64, b64k, h64, h64k;
    bool beam;
} copy_t;

static talk_verdict_t judge_copy(copy_t c)
{
    const char *rt = "round_trip_ns", *heap = "message_heap_bytes";
    talk_results_t *r = talk_results_synthetic(true);
    add(r, "terms", "actor", "payload_kind=tuple payload=10", rt,
        TIGHT(c.a10));
    add(r, "terms", "actor", "payload_kind=tuple payload=1000", rt,
        TIGHT(c.a1k));
    add(r, "terms", "csp", "payload_kind=tuple payload=10", rt, TIGHT(c.c10));
    add(r, "terms", "csp", "payload_kind=tuple payload=1000", rt,
        TIGHT(c.c1k));
    add(r, "binaries", "actor", "payload_kind=binary payload=64", rt,
        TIGHT(c.b64));
    add(r, "binaries", "actor", "payload_kind=binary payload=65536", rt,
        TIGHT(c.b64k));
    double h64[] = {c.h64, c.h64, c.h64}, h64k[] = {c.h64k, c.h64k, c.h64k};
    add(r, "binaries", "actor", "payload_kind=binary payload=64", heap, h64);
    add(r, "binaries", "actor", "payload_kind=binary payload=65536", heap,
        h64k);
    if (c.beam) {
        add(r, "real", "beam", "payload_kind=tuple payload=10", rt,
            TIGHT(700));
        add(r, "real", "beam", "payload_kind=tuple payload=1000", rt,
            TIGHT(14e3));
    }
    return judge("message-copy", r);
}

static void test_message_copy(void)
{
    copy_t c = {134, 27e3, 550, 180, 131, 6.8e3, 80, 16, true};
    CHECK_EQ(judge_copy(c), TALK_HOLDS);
    copy_t nobeam = c;
    nobeam.beam = false;
    CHECK_EQ(judge_copy(nobeam), TALK_HOLDS);
    /* a copy that does not grow (actor passing pointers) */
    copy_t flat = c;
    flat.a1k = 140;
    CHECK_EQ(judge_copy(flat), TALK_NOT_HERE);
    /* csp copying too */
    copy_t csp_copies = c;
    csp_copies.c1k = 20e3;
    CHECK_EQ(judge_copy(csp_copies), TALK_NOT_HERE);
    /* a large binary copied onto the heap */
    copy_t binary_copied = c;
    binary_copied.h64k = 65552;
    CHECK_EQ(judge_copy(binary_copied), TALK_NOT_HERE);
    /* csp's ratio near its bound of 2x: inconclusive */
    copy_t near = c;
    near.c1k = 1100;
    CHECK_EQ(judge_copy(near), TALK_INCONCLUSIVE);
    talk_results_t *r = talk_results_synthetic(true);
    talk_results_add_missing(r, "terms", "actor",
                             "payload_kind=tuple payload=10", "timeout",
                             "ran past 120 s");
    CHECK_EQ(judge("message-copy", r), TALK_CANNOT_SHOW);
}

/* ---- claim 3: crunch-throughput ---- */

static talk_verdict_t judge_crunch(const double *beam, const double *go,
                                   const double *jvm)
{
    const char *m = "throughput_ops_s";
    talk_results_t *r = talk_results_synthetic(true);
    const char *sys[] = {"beam", "go", "jvm"};
    const double *v[] = {beam, go, jvm};
    for (size_t i = 0; i < 3; i++) {
        if (v[i])
            add(r, "crunch", sys[i], "hogs=2", m, v[i]);
        else
            talk_results_add_missing(r, "crunch", sys[i], "hogs=2",
                                     "unsupported", "not installed");
    }
    return judge("crunch-throughput", r);
}

static void test_crunch_throughput(void)
{
    CHECK_EQ(judge_crunch(TIGHT(2e5), TIGHT(7e6), TIGHT(1.9e7)), TALK_HOLDS);
    /* one of the two others is enough */
    CHECK_EQ(judge_crunch(TIGHT(2e5), TIGHT(7e6), NULL), TALK_HOLDS);
    CHECK_EQ(judge_crunch(TIGHT(2e5), NULL, TIGHT(7e6)), TALK_HOLDS);
    /* the faster one is judged: a slow Go does not spoil a fast JVM */
    CHECK_EQ(judge_crunch(TIGHT(2e5), TIGHT(2e5), TIGHT(7e6)), TALK_HOLDS);
    /* a BEAM as fast as the others */
    CHECK_EQ(judge_crunch(TIGHT(7e6), TIGHT(7e6), TIGHT(6e6)), TALK_NOT_HERE);
    /* noise straddling 2x */
    CHECK_EQ(judge_crunch(TIGHT(1e6), WIDE(2e6), NULL), TALK_INCONCLUSIVE);
    /* without the BEAM, or without both others */
    CHECK_EQ(judge_crunch(NULL, TIGHT(7e6), TIGHT(1.9e7)), TALK_CANNOT_SHOW);
    CHECK_EQ(judge_crunch(TIGHT(2e5), NULL, NULL), TALK_CANNOT_SHOW);
}

/* ---- claim 12: selective-receive ---- */

static talk_verdict_t judge_selective(double loaded1k, double loaded10k,
                                      double scan, const double *trick)
{
    talk_results_t *r = talk_results_synthetic(true);
    add(r, "scan", "actor", "trick=no queued=1000", "receive_ns_loaded",
        TIGHT(loaded1k));
    add(r, "scan", "actor", "trick=no queued=10000", "receive_ns_loaded",
        TIGHT(loaded10k));
    add(r, "scan", "actor", "trick=no queued=10000", "receive_ns_empty",
        TIGHT(160));
    add(r, "scan", "actor", "trick=no queued=10000", "ns_per_skipped_msg",
        TIGHT(scan));
    if (trick)
        add(r, "scan", "actor", "trick=yes queued=10000",
            "ns_per_skipped_msg", trick);
    else
        talk_results_add_missing(r, "scan", "actor", "trick=yes queued=10000",
                                 "unsupported", "no receive markers");
    return judge("selective-receive", r);
}

static void test_selective_receive(void)
{
    CHECK_EQ(judge_selective(2.2e3, 19e3, 1.9, TIGHT(0.022)), TALK_HOLDS);
    /* a trick measured as no cost at all (floored at 0) */
    const double zero[] = {0, 0, 0};
    CHECK_EQ(judge_selective(2.2e3, 19e3, 1.9, zero), TALK_HOLDS);
    /* a receive that does not grow with the backlog */
    CHECK_EQ(judge_selective(2.2e3, 2.3e3, 1.9, TIGHT(0.022)), TALK_NOT_HERE);
    /* a trick that skips nothing */
    CHECK_EQ(judge_selective(2.2e3, 19e3, 1.9, TIGHT(1.8)), TALK_NOT_HERE);
    /* the trick's cost as noisy as the effect */
    CHECK_EQ(judge_selective(2.2e3, 19e3, 1.9, WIDE(0.19)), TALK_INCONCLUSIVE);
    CHECK_EQ(judge_selective(2.2e3, 19e3, 1.9, NULL), TALK_CANNOT_SHOW);
}

int main(void)
{
    test_preemption_fairness();
    test_threads_heavy();
    test_message_copy();
    test_crunch_throughput();
    test_selective_receive();
    printf("ok\n");
    return 0;
}
