/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Topology against what the kernel says: the allowed PUs are exactly this
 * process's affinity mask, cpulists parse and fail as documented, and
 * pinning to each allowed PU puts the thread there.
 */
#include "cb_test.h"
#include "runtime/topo.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>

static cpu_set_t affinity;

static void *first_call(void *arg)
{
    *(int *)arg = rt_topo_npus();
    return NULL;
}

/* The first load happens from several threads at once. */
static void test_concurrent_init(void)
{
    pthread_t th[4];
    int n[4];
    for (int i = 0; i < 4; i++)
        CHECK_EQ(pthread_create(&th[i], NULL, first_call, &n[i]), 0);
    for (int i = 0; i < 4; i++) {
        CHECK_EQ(pthread_join(th[i], NULL), 0);
        CHECK_EQ(n[i], n[0]);
    }
    CHECK_EQ(rt_topo_init(), 0);
}

static void test_counts(void)
{
    int npus = rt_topo_npus();
    CHECK_GE(npus, 1);
    CHECK_EQ(npus, CPU_COUNT(&affinity));
    CHECK_GE(rt_topo_ncores(), 1);
    CHECK_LE(rt_topo_ncores(), npus);
    CHECK_GE(rt_topo_npackages(), 1);
    CHECK_LE(rt_topo_npackages(), rt_topo_ncores());
    CHECK_GE(rt_topo_nnuma(), 1);

    for (int i = 0; i < npus; i++) {
        int pu = rt_topo_pu_os_index(i);
        CHECK(pu >= 0 && pu < CPU_SETSIZE && CPU_ISSET(pu, &affinity));
        for (int j = 0; j < i; j++)
            CHECK_NE(rt_topo_pu_os_index(j), pu);
        int core = rt_topo_core_of_pu(pu);
        CHECK(core >= 0 && core < rt_topo_ncores());
    }
    CHECK_EQ(rt_topo_core_of_pu(-1), -1);
    CHECK_EQ(rt_topo_core_of_pu(RT_TOPO_MAX_PUS + 5), -1);
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (!CPU_ISSET(c, &affinity))
            CHECK_EQ(rt_topo_core_of_pu(c), -1);
}

static void expect_list(const char *list, const int *want, int nwant)
{
    int pus[RT_TOPO_MAX_PUS];
    char err[512] = "";
    int n = rt_topo_parse_cpulist(list, pus, RT_TOPO_MAX_PUS, err, sizeof err);
    if (n != nwant)
        CB_FAIL_("\"%s\": got %d PUs (%s), want %d", list, n, err, nwant);
    for (int i = 0; i < n; i++)
        CHECK_EQ(pus[i], want[i]);
}

static void expect_bad(const char *list, const char *needle)
{
    int pus[RT_TOPO_MAX_PUS];
    char err[512] = "";
    int n = rt_topo_parse_cpulist(list, pus, RT_TOPO_MAX_PUS, err, sizeof err);
    if (n != -EINVAL)
        CB_FAIL_("\"%s\": got %d, want -EINVAL", list ? list : "(null)", n);
    if (err[0] == '\0' || (needle && !strstr(err, needle)))
        CB_FAIL_("\"%s\": message \"%s\" lacks \"%s\"", list, err,
                 needle ? needle : "");
    fprintf(stderr, "  rejected \"%s\": %s\n", list ? list : "(null)", err);
}

static void test_parse(void)
{
    int npus = rt_topo_npus();
    int sorted[RT_TOPO_MAX_PUS], n = 0;
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &affinity))
            sorted[n++] = c;
    CHECK_EQ(n, npus);
    char list[64];

    snprintf(list, sizeof list, "%d", sorted[0]);
    expect_list(list, sorted, 1);
    snprintf(list, sizeof list, "%d,%d,%d", sorted[0], sorted[0], sorted[0]);
    expect_list(list, sorted, 1);
    if (npus >= 2) {
        /* The order given is kept; duplicates go. */
        int rev[2] = {sorted[1], sorted[0]};
        snprintf(list, sizeof list, "%d,%d,%d", sorted[1], sorted[0],
                 sorted[1]);
        expect_list(list, rev, 2);
        if (sorted[1] == sorted[0] + 1) {
            snprintf(list, sizeof list, "%d-%d", sorted[0], sorted[1]);
            expect_list(list, sorted, 2);
            snprintf(list, sizeof list, "%d-%d,%d", sorted[0], sorted[1],
                     sorted[0]);
            expect_list(list, sorted, 2);
        }
    }
    /* Every allowed PU, as a comma list. */
    char all[8 * RT_TOPO_MAX_PUS] = "";
    size_t off = 0;
    for (int i = 0; i < npus; i++)
        off += (size_t)snprintf(all + off, sizeof all - off, "%s%d",
                                i ? "," : "", sorted[i]);
    expect_list(all, sorted, npus);

    /* Too many for the caller's array. */
    if (npus >= 2) {
        int pus[1];
        char err[256];
        snprintf(list, sizeof list, "%d,%d", sorted[0], sorted[1]);
        CHECK_EQ(rt_topo_parse_cpulist(list, pus, 1, err, sizeof err), -ENOSPC);
    }

    expect_bad(NULL, NULL);
    expect_bad("", "empty");
    expect_bad("a", "offset 0");
    expect_bad("3-1", "3-1");
    expect_bad("-1", "offset 0");
    /* Offsets count from the list's start, past a valid first PU. */
    char at[32];
    snprintf(list, sizeof list, "%d,,%d", sorted[0], sorted[0]);
    snprintf(at, sizeof at, "offset %zu", strlen(list) / 2);
    expect_bad(list, at);
    snprintf(list, sizeof list, "%d,", sorted[0]);
    snprintf(at, sizeof at, "offset %zu", strlen(list));
    expect_bad(list, at);
    snprintf(list, sizeof list, "%d-", sorted[0]);
    snprintf(at, sizeof at, "offset %zu", strlen(list));
    expect_bad(list, at);
    expect_bad("1 ", NULL);
    expect_bad(" 1", NULL);
    expect_bad("1234567890", NULL);
    expect_bad("0x1", NULL);
    expect_bad("99999", "PU 99999");
    /* The message lists the PUs that would have worked. */
    char first[16];
    snprintf(first, sizeof first, "%d", sorted[0]);
    expect_bad("99999", first);
    /* A range reaching past the machine names the first missing PU. */
    int missing = sorted[npus - 1] + 1;
    char want[32];
    snprintf(list, sizeof list, "%d-%d", sorted[0], missing + 10);
    snprintf(want, sizeof want, "PU %d ", sorted[0] + 1);
    for (int i = 0; i < npus; i++) {
        if (i + 1 == npus || sorted[i + 1] != sorted[i] + 1) {
            snprintf(want, sizeof want, "PU %d ", sorted[i] + 1);
            break;
        }
    }
    expect_bad(list, want);
    /* Without an error buffer it still fails cleanly. */
    int pus[4];
    CHECK_EQ(rt_topo_parse_cpulist("x", pus, 4, NULL, 0), -EINVAL);
}

static void test_pin(void)
{
    int npus = rt_topo_npus();
    for (int i = 0; i < npus; i++) {
        int pu = rt_topo_pu_os_index(i);
        CHECK_EQ(rt_topo_pin_self(pu), 0);
        cpu_set_t now;
        CHECK_EQ(sched_getaffinity(0, sizeof now, &now), 0);
        CHECK_EQ(CPU_COUNT(&now), 1);
        CHECK(CPU_ISSET(pu, &now));
        /* The kernel migrates the caller before the call returns. */
        CHECK_EQ(sched_getcpu(), pu);
    }
    CHECK_EQ(rt_topo_pin_self(-1), -EINVAL);
    CHECK_EQ(rt_topo_pin_self(RT_TOPO_MAX_PUS + 1), -EINVAL);
    CHECK_EQ(rt_topo_pin_self_set(NULL, 0), -EINVAL);

    /* Back to every allowed PU; the topology did not shrink meanwhile. */
    int all[RT_TOPO_MAX_PUS];
    for (int i = 0; i < npus; i++)
        all[i] = rt_topo_pu_os_index(i);
    CHECK_EQ(rt_topo_pin_self_set(all, npus), 0);
    cpu_set_t now;
    CHECK_EQ(sched_getaffinity(0, sizeof now, &now), 0);
    CHECK(CPU_EQUAL(&now, &affinity));
    CHECK_EQ(rt_topo_npus(), npus);
}

static void test_strings(void)
{
    char buf[256];
    const char *s = rt_topo_summary(buf, sizeof buf);
    CHECK(s == buf);
    CHECK(strstr(s, "PU") != NULL);
    CHECK(strstr(s, "NUMA") != NULL);
    fprintf(stderr, "  summary: %s\n", s);
    s = rt_topo_cpu_model(buf, sizeof buf);
    CHECK(s == buf && buf[0] != '\0');
    fprintf(stderr, "  cpu model: %s\n", s);
    /* Truncation is safe. */
    char tiny[4];
    rt_topo_summary(tiny, sizeof tiny);
    CHECK_LT(strlen(tiny), sizeof tiny);
}

int main(void)
{
    CHECK_EQ(sched_getaffinity(0, sizeof affinity, &affinity), 0);
    test_concurrent_init();
    test_counts();
    test_parse();
    test_pin();
    test_strings();
    return 0;
}
