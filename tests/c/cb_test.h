/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * A tiny assertion header for the C unit tests, after libuv's test/task.h
 * and libdill's tests/assert.h: every failed check prints both values and
 * file:line, then aborts so the driving pytest sees a non-zero exit.
 * A test that cannot run here exits with CB_TEST_SKIP (77), which ctest's
 * SKIP_RETURN_CODE and the pytest driver both map to "skipped".
 */
#ifndef CB_TEST_H
#define CB_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CB_TEST_SKIP 77

#define CB_FAIL_(...)                                                          \
    do {                                                                       \
        fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                        \
        fprintf(stderr, __VA_ARGS__);                                          \
        fputc('\n', stderr);                                                   \
        abort();                                                               \
    } while (0)

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond))                                                           \
            CB_FAIL_("check failed: %s", #cond);                               \
    } while (0)

#define CHECK_INT_(a, op, b)                                                   \
    do {                                                                       \
        int64_t a_ = (int64_t)(a), b_ = (int64_t)(b);                          \
        if (!(a_ op b_))                                                       \
            CB_FAIL_("check failed: %s %s %s (%" PRId64 " vs %" PRId64 ")",    \
                     #a, #op, #b, a_, b_);                                     \
    } while (0)

#define CHECK_EQ(a, b) CHECK_INT_(a, ==, b)
#define CHECK_NE(a, b) CHECK_INT_(a, !=, b)
#define CHECK_LT(a, b) CHECK_INT_(a, <, b)
#define CHECK_LE(a, b) CHECK_INT_(a, <=, b)
#define CHECK_GT(a, b) CHECK_INT_(a, >, b)
#define CHECK_GE(a, b) CHECK_INT_(a, >=, b)

#define CHECK_STREQ(a, b)                                                      \
    do {                                                                       \
        const char *a_ = (a), *b_ = (b);                                       \
        if (strcmp(a_, b_) != 0)                                               \
            CB_FAIL_("check failed: %s == %s (\"%s\" vs \"%s\")", #a, #b, a_,  \
                     b_);                                                      \
    } while (0)

#define SKIP(...)                                                              \
    do {                                                                       \
        fprintf(stderr, "skip: ");                                             \
        fprintf(stderr, __VA_ARGS__);                                          \
        fputc('\n', stderr);                                                   \
        exit(CB_TEST_SKIP);                                                    \
    } while (0)

/*
 * Wall-clock checks on a shared machine.  A test's verdict must not depend
 * on how busy the machine is, so time enters a test in two ways only:
 *
 *   - hang guards ("fail rather than wait for ever"): generous, and
 *     stretched by CONCBENCH_TIMEOUT_SCALE like every timeout of the
 *     suite (cb_test_scaled_ns);
 *   - shape checks that need a quiet machine (a timer a few ms late, a
 *     probe served within a slice): CHECK_TIMELY.  When one fails while
 *     other processes used more than CB_TEST_QUIET of the CPUs since the
 *     test started, the result is "inconclusive": the test goes on with
 *     its other checks and exits with the skip code, saying why; on a
 *     quiet machine the same failure fails the test.
 *
 * "Other processes" is all CPU time the kernel counts as busy
 * (/proc/stat, steal included) less this process's own (getrusage).
 */
#include <stdbool.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define CB_TEST_QUIET 0.20

static inline double cb_test_scale(void)
{
    const char *s = getenv("CONCBENCH_TIMEOUT_SCALE");
    if (!s)
        s = getenv("CB_TEST_TIMEOUT_SCALE");
    double k = s ? atof(s) : 1.0;
    return k >= 1.0 ? k : 1.0;
}

static inline int64_t cb_test_scaled_ns(int64_t ns)
{
    return (int64_t)((double)ns * cb_test_scale());
}

typedef struct cb_test_cpu {
    double busy_s, own_s, wall_s;
} cb_test_cpu_t;

static inline cb_test_cpu_t cb_test_cpu_now(void)
{
    cb_test_cpu_t c = {0, 0, 0};
    unsigned long long v[8] = {0};
    FILE *f = fopen("/proc/stat", "r");
    if (f) {
        if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
                   &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) != 8)
            memset(v, 0, sizeof v);
        fclose(f);
    }
    double hz = (double)sysconf(_SC_CLK_TCK);
    /* user nice system idle iowait irq softirq steal: idle and iowait
     * are the only times no one wanted a CPU. */
    c.busy_s = (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / hz;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    c.own_s = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
              (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    c.wall_s = (double)ts.tv_sec + ts.tv_nsec / 1e9;
    return c;
}

static cb_test_cpu_t cb_test_cpu_start;
static bool cb_test_inconclusive;

__attribute__((constructor)) static void cb_test_cpu_mark(void)
{
    cb_test_cpu_start = cb_test_cpu_now();
}

/* The share of the machine's CPUs that other processes used since the
 * test started, 0..1. */
static inline double cb_test_others_busy(void)
{
    cb_test_cpu_t now = cb_test_cpu_now();
    double wall = now.wall_s - cb_test_cpu_start.wall_s;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (wall <= 0 || ncpu <= 0)
        return 0;
    double others = (now.busy_s - cb_test_cpu_start.busy_s) -
                    (now.own_s - cb_test_cpu_start.own_s);
    double share = others / (wall * (double)ncpu);
    return share < 0 ? 0 : share > 1 ? 1 : share;
}

#define CHECK_TIMELY(cond, ...)                                                \
    do {                                                                       \
        if (!(cond)) {                                                         \
            double busy_ = cb_test_others_busy();                              \
            fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                    \
            fprintf(stderr, __VA_ARGS__);                                      \
            if (busy_ <= CB_TEST_QUIET) {                                      \
                fprintf(stderr, " (other processes used %.0f%% of the CPUs: " \
                                "a quiet machine, so a failure)\n",           \
                        busy_ * 100);                                          \
                abort();                                                       \
            }                                                                  \
            fprintf(stderr, "; inconclusive: other processes used %.0f%% of "  \
                            "the CPUs meanwhile\n",                           \
                    busy_ * 100);                                              \
            cb_test_inconclusive = true;                                       \
        }                                                                      \
    } while (0)

/* What main returns: the skip code when a timing check was inconclusive,
 * so the driver reports it instead of a pass it could not judge. */
static inline int cb_test_exit(void)
{
    if (cb_test_inconclusive)
        fprintf(stderr, "skip: inconclusive: timing checks failed on a busy "
                        "machine (the other checks passed)\n");
    return cb_test_inconclusive ? CB_TEST_SKIP : 0;
}

#endif
