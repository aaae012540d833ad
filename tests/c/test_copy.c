/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * The talk's first claim, as shapes: a message is copied on `actor` and
 * its copy costs more as the message grows, while `csp` passes a pointer
 * whatever the size; `actor` with copy=off passes the very box, as Akka
 * does.
 *
 *   test_copy            every case, each in its own process
 *   test_copy CASE       one case
 *
 * Timing is only ever a ratio of two figures measured side by side in
 * one process (trials of the small and the large message interleaved,
 * medians of each), with wide margins: a 64Ki-element tuple round trip
 * costs thousands of times a 16-element one when copied (512 KiB twice
 * a round trip: over 1,000x measured), and about the same when passed by
 * pointer.  The checks ask for at least 4x when copied and at most 40x
 * when passed: a window of 40 large round trips is tens of microseconds,
 * so one descheduling on a loaded machine (measured: 4.1x at load 30)
 * moves the pointer-passing ratio far more than the copy's.
 */
#include "tests/c/cb_test_model.h"

#include "models/model.h"
#include "workloads/payload.h"

#include <sys/wait.h>
#include <unistd.h>

#define SMALL 16
#define LARGE 65536
#define TRIALS 5

typedef struct echo {
    cb_port_t *in, *out;
} echo_t;

static void echo_main(void *arg)
{
    echo_t *e = arg;
    cb_term_t m;
    while (cb_recv(e->in, &m, CB_FOREVER) == 0)
        CHECK_EQ(cb_send(e->out, m), 0);
}

/* ns per round trip of a tuple of n elements, bounced rounds times. */
static double round_trip_ns(echo_t *e, int64_t n, int rounds)
{
    cb_term_t t = cb_wl_payload_make(CB_WL_PAYLOAD_TUPLE, n);
    CHECK(t != CB_NIL);
    int64_t t0 = cb_now_ns();
    for (int i = 0; i < rounds; i++) {
        CHECK_EQ(cb_send(e->in, t), 0);
        CHECK_EQ(cb_recv(e->out, &t, CB_FOREVER), 0);
    }
    int64_t el = cb_now_ns() - t0;
    CHECK(cb_wl_payload_looks_right(CB_WL_PAYLOAD_TUPLE, n, t));
    cb_term_release(t);
    return (double)el / rounds;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median large/small round trip ratio, trials interleaved. */
static double copy_ratio(void)
{
    echo_t e = {0};
    CHECK_EQ(cb_port_open(NULL, &e.in), 0);
    CHECK_EQ(cb_port_open(NULL, &e.out), 0);
    cb_task_t *t;
    CHECK_EQ(cb_spawn(echo_main, &e, NULL, &t), 0);
    round_trip_ns(&e, SMALL, 100); /* warm up both ends */
    double small[TRIALS], large[TRIALS];
    for (int k = 0; k < TRIALS; k++) {
        small[k] = round_trip_ns(&e, SMALL, 2000);
        large[k] = round_trip_ns(&e, LARGE, 40);
    }
    cb_port_close(e.in);
    CHECK_EQ(cb_join(t), 0);
    cb_port_free(e.in);
    cb_port_free(e.out);
    qsort(small, TRIALS, sizeof *small, cmp_double);
    qsort(large, TRIALS, sizeof *large, cmp_double);
    double r = large[TRIALS / 2] / small[TRIALS / 2];
    printf("round trip: %d elements %.0f ns, %d elements %.0f ns, "
           "ratio %.1f\n",
           SMALL, small[TRIALS / 2], LARGE, large[TRIALS / 2], r);
    fflush(stdout);
    return r;
}

static void case_actor_copy_grows(void)
{
    CHECK(copy_ratio() >= 4.0);
}

#define FLAT_RATIO_MAX 40.0

static void case_pointer_passing_is_flat(void)
{
    CHECK(copy_ratio() <= FLAT_RATIO_MAX);
}

/* What arrives: a copy (another box, equal) or the sender's own box. */
static void check_arrival(bool same_box)
{
    cb_port_t *p;
    CHECK_EQ(cb_port_open(NULL, &p), 0);
    cb_term_t kinds[2] = {cb_wl_payload_make(CB_WL_PAYLOAD_TUPLE, 1000),
                          cb_wl_payload_make(CB_WL_PAYLOAD_LIST, 1000)};
    for (int k = 0; k < 2; k++) {
        cb_term_t keep = cb_term_copy(kinds[k]), m;
        uintptr_t box = (uintptr_t)kinds[k];
        CHECK_EQ(cb_send(p, kinds[k]), 0);
        CHECK_EQ(cb_recv(p, &m, CB_FOREVER), 0);
        CHECK(cb_term_equal(m, keep));
        if (same_box)
            CHECK((uintptr_t)m == box);
        else
            CHECK((uintptr_t)m != box);
        cb_term_release(m);
        cb_term_release(keep);
    }
    cb_port_free(p);
}

static void case_actor_copies(void)
{
    check_arrival(false);
}

static void case_copy_off_passes_the_box(void)
{
    check_arrival(true);
    /* And the size no longer shows. */
    CHECK(copy_ratio() <= FLAT_RATIO_MAX);
}

/* A list is a chain of cons cells: copying a long one must walk it in
 * constant stack, or a process's 64 KiB stack would overflow. */
static void case_long_list_copies_in_constant_stack(void)
{
    enum { CELLS = 1000000 };
    echo_t e = {0};
    CHECK_EQ(cb_port_open(NULL, &e.in), 0);
    CHECK_EQ(cb_port_open(NULL, &e.out), 0);
    cb_task_t *t;
    CHECK_EQ(cb_spawn(echo_main, &e, NULL, &t), 0);
    cb_term_t l = cb_wl_payload_make(CB_WL_PAYLOAD_LIST, CELLS);
    CHECK(l != CB_NIL);
    cb_term_t keep = cb_term_copy(l), m;
    CHECK_EQ(cb_term_heap_bytes(keep), (size_t)CELLS * 32);
    CHECK_EQ(cb_send(e.in, l), 0);
    CHECK_EQ(cb_recv(e.out, &m, CB_FOREVER), 0);
    CHECK(cb_term_equal(m, keep));
    cb_term_release(m);
    cb_term_release(keep);
    cb_port_close(e.in);
    CHECK_EQ(cb_join(t), 0);
    cb_port_free(e.in);
    cb_port_free(e.out);
}

typedef void (*case_fn)(void);

static const struct {
    const char *name;
    const char *model;
    const char *params; /* key=value;... for the model */
    case_fn fn;
} cases[] = {
    {"actor_copy_grows", "actor", "", case_actor_copy_grows},
    {"csp_is_flat", "csp", "pool=1;root=go", case_pointer_passing_is_flat},
    {"actor_copies", "actor", "", case_actor_copies},
    {"copy_off_passes_the_box", "actor", "copy=off",
     case_copy_off_passes_the_box},
    {"csp_passes_the_box", "csp", "pool=1;root=go",
     case_copy_off_passes_the_box},
    {"long_list_actor", "actor", "", case_long_list_copies_in_constant_stack},
    {"long_list_csp", "csp", "", case_long_list_copies_in_constant_stack},
};
#define NCASES (sizeof cases / sizeof cases[0])

static int run_case(size_t c)
{
    /* One PU: both ends on one worker, so a round trip is the message's
     * cost and two switches, not the hand-off between cores. */
    cb_test_run_in_model(cases[c].model, cases[c].params, 1,
                         cases[c].fn);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2) {
        for (size_t c = 0; c < NCASES; c++)
            if (strcmp(cases[c].name, argv[1]) == 0)
                return run_case(c);
        CB_FAIL_("unknown case %s", argv[1]);
    }
    int failed = 0;
    for (size_t c = 0; c < NCASES; c++) {
        printf("%s:\n", cases[c].name);
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0)
            _exit(run_case(c));
        int st;
        waitpid(pid, &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            printf("FAIL %s\n", cases[c].name);
            failed++;
        }
    }
    printf("%s\n", failed ? "some cases failed" : "ok");
    return failed ? 1 : 0;
}
