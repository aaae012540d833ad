/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * The context switch: values and callee-saved state survive round trips,
 * a ring of fibers hands control around in order, contexts run on pool
 * stacks, finished contexts are destroyed cleanly (many more than TSan's
 * thread limit, so a leaked fiber would show), a task migrates between OS
 * threads, the FP control state is per context, and an entry that returns
 * is reported.  Runs clean under ASan+UBSan, TSan and valgrind.
 */
#include "runtime/common.h"
#include "runtime/ctx.h"
#include "runtime/stack.h"

#include "tests/c/cb_test.h"

#include <fenv.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/wait.h>
#include <unistd.h>

#define STACK_SIZE ((size_t)64 * 1024)

static rt_stack_pool_t *pool;

/* ---- Round trips passing values ---- */

static rt_ctx_t main_ctx, fib_ctx;
static volatile long shared_value;

static void echo_entry(void *arg)
{
    long step = (long)(intptr_t)arg;
    for (;;) {
        shared_value = shared_value * 2 + step;
        rt_ctx_switch(&fib_ctx, &main_ctx);
    }
}

static void test_round_trip(void)
{
    rt_stack_t st;
    CHECK_EQ(rt_stack_alloc(pool, &st), 0);
    rt_ctx_make(&fib_ctx, st.lo, st.size, echo_entry, (void *)(intptr_t)3);
    for (long i = 0; i < 10000; i++) {
        shared_value = i;
        rt_ctx_switch(&main_ctx, &fib_ctx);
        CHECK_EQ(shared_value, i * 2 + 3);
    }
    /* The fiber is suspended forever: destroy without finishing it. */
    rt_ctx_destroy(&fib_ctx);
    rt_stack_release(pool, &st);
}

/* ---- Callee-saved registers across switches ---- */

static rt_ctx_t churn_ctx;

/*
 * Overwrite every callee-saved register the compiler lets us name (not the
 * frame pointer), so that a register the switch failed to restore would
 * hand the fiber's garbage to main instead of main's own value.
 */
static void clobber_callee_saved(void)
{
#if defined(__x86_64__)
    __asm__ volatile("movq $0x1111, %%rbx\n\t"
                     "movq $0x2222, %%r12\n\t"
                     "movq $0x3333, %%r13\n\t"
                     "movq $0x4444, %%r14\n\t"
                     "movq $0x5555, %%r15\n\t"
                     :
                     :
                     : "rbx", "r12", "r13", "r14", "r15", "memory");
#elif defined(__aarch64__)
    __asm__ volatile("mov x19, #0x1119\n\t"
                     "mov x20, #0x1120\n\t"
                     "mov x21, #0x1121\n\t"
                     "mov x22, #0x1122\n\t"
                     "mov x23, #0x1123\n\t"
                     "mov x24, #0x1124\n\t"
                     "mov x25, #0x1125\n\t"
                     "mov x26, #0x1126\n\t"
                     "mov x27, #0x1127\n\t"
                     "mov x28, #0x1128\n\t"
                     "fmov d8, #1.0\n\t"
                     "fmov d9, #2.0\n\t"
                     "fmov d10, #3.0\n\t"
                     "fmov d11, #4.0\n\t"
                     "fmov d12, #5.0\n\t"
                     "fmov d13, #6.0\n\t"
                     "fmov d14, #7.0\n\t"
                     "fmov d15, #8.0\n\t"
                     :
                     :
                     : "x19", "x20", "x21", "x22", "x23", "x24", "x25", "x26",
                       "x27", "x28", "d8", "d9", "d10", "d11", "d12", "d13",
                       "d14", "d15", "memory");
#endif
}

/*
 * The fiber clobbers the callee-saved registers between switches, so if
 * the switch failed to restore one, main's live locals would change.
 */
static void churn_entry(void *arg)
{
    volatile uint64_t sink = (uint64_t)(uintptr_t)arg;
    for (uint64_t k = 1;; k++) {
        uint64_t a = sink * 0x9e3779b97f4a7c15u + k, b = a ^ (a >> 29);
        uint64_t c = b * 0xbf58476d1ce4e5b9u, d = c ^ (c >> 32);
        uint64_t e = d + a, f = e * 3, g = f ^ b, h = g + c;
        uint64_t i = h * 5, j = i ^ d, l = j + e, m = l * 7;
        sink = a + b + c + d + e + f + g + h + i + j + l + m;
        clobber_callee_saved();
        rt_ctx_switch(&churn_ctx, &main_ctx);
    }
}

static uint64_t mix(uint64_t x)
{
    x ^= x >> 31;
    x *= 0x7fb5d329728ea185u;
    return x ^ (x >> 27);
}

static void test_callee_saved(void)
{
    rt_stack_t st;
    CHECK_EQ(rt_stack_alloc(pool, &st), 0);
    rt_ctx_make(&churn_ctx, st.lo, st.size, churn_entry, (void *)7);

    /* More live values than there are callee-saved registers, so some sit
     * in registers and some in the frame; all must survive. */
    uint64_t v0 = mix(1), v1 = mix(2), v2 = mix(3), v3 = mix(4);
    uint64_t v4 = mix(5), v5 = mix(6), v6 = mix(7), v7 = mix(8);
    uint64_t v8 = mix(9), v9 = mix(10), v10 = mix(11), v11 = mix(12);
    double d0 = 1.5, d1 = 2.25, d2 = 3.125, d3 = 4.0625;
    uint64_t expect = 0;
    for (int round = 0; round < 1000; round++) {
        rt_ctx_switch(&main_ctx, &churn_ctx);
        v0 += v11;
        v1 ^= v0;
        v2 += v1;
        v3 ^= v2;
        v4 += v3;
        v5 ^= v4;
        v6 += v5;
        v7 ^= v6;
        v8 += v7;
        v9 ^= v8;
        v10 += v9;
        v11 ^= v10;
        d0 = d0 * 1.0000001 + d3;
        d1 = d1 * 0.9999999 + d0;
        d2 = d2 + d1 * 1e-9;
        d3 = d3 - d2 * 1e-9;
        rt_ctx_switch(&main_ctx, &churn_ctx);
    }
    uint64_t got = v0 ^ v1 ^ v2 ^ v3 ^ v4 ^ v5 ^ v6 ^ v7 ^ v8 ^ v9 ^ v10 ^ v11;
    double dgot = d0 + d1 + d2 + d3;

    /* The same computation without any switch. */
    uint64_t w[12];
    for (int k = 0; k < 12; k++)
        w[k] = mix((uint64_t)k + 1);
    double e0 = 1.5, e1 = 2.25, e2 = 3.125, e3 = 4.0625;
    for (int round = 0; round < 1000; round++) {
        w[0] += w[11];
        for (int k = 1; k < 12; k++)
            w[k] = (k & 1) ? (w[k] ^ w[k - 1]) : (w[k] + w[k - 1]);
        e0 = e0 * 1.0000001 + e3;
        e1 = e1 * 0.9999999 + e0;
        e2 = e2 + e1 * 1e-9;
        e3 = e3 - e2 * 1e-9;
    }
    for (int k = 0; k < 12; k++)
        expect ^= w[k];
    CHECK_EQ(got, expect);
    CHECK(dgot == e0 + e1 + e2 + e3);

    rt_ctx_destroy(&churn_ctx);
    rt_stack_release(pool, &st);
}

/* ---- A ring of fibers ---- */

#define RING 64
#define RING_LAPS 100

static rt_ctx_t ring_ctx[RING];
static rt_stack_t ring_stack[RING];
static int ring_trace[RING * RING_LAPS];
static int ring_trace_len;

static void ring_entry(void *arg)
{
    int me = (int)(intptr_t)arg;
    for (int lap = 0; lap < RING_LAPS; lap++) {
        ring_trace[ring_trace_len++] = me;
        if (me == RING - 1 && lap == RING_LAPS - 1)
            break;
        rt_ctx_switch(&ring_ctx[me], &ring_ctx[(me + 1) % RING]);
    }
    /* Every fiber but the last is still suspended in the ring; the last
     * one finishes for good and hands control back to main. */
    rt_ctx_switch_final(&ring_ctx[me], &main_ctx);
}

static void test_ring(void)
{
    for (int i = 0; i < RING; i++) {
        CHECK_EQ(rt_stack_alloc(pool, &ring_stack[i]), 0);
        rt_ctx_make(&ring_ctx[i], ring_stack[i].lo, ring_stack[i].size,
                    ring_entry, (void *)(intptr_t)i);
    }
    rt_ctx_switch(&main_ctx, &ring_ctx[0]);
    CHECK_EQ(ring_trace_len, RING * RING_LAPS);
    for (int k = 0; k < RING * RING_LAPS; k++)
        CHECK_EQ(ring_trace[k], k % RING);
    for (int i = 0; i < RING; i++) {
        rt_ctx_destroy(&ring_ctx[i]);
        rt_stack_release(pool, &ring_stack[i]);
    }
}

/* ---- Finished contexts, many times ---- */

static rt_ctx_t short_ctx;
static long short_runs;

static void short_entry(void *arg)
{
    short_runs += (long)(intptr_t)arg;
    rt_ctx_switch_final(&short_ctx, &main_ctx);
}

static void test_finish_many(void)
{
    /*
     * More fibers than TSan's limit of 8128 live threads and fibers: this
     * only passes if finished fibers are really destroyed (checked: with
     * the destroy calls removed, TSan dies at fiber 8128).
     */
    enum { N = 10000 };
    for (int i = 0; i < N; i++) {
        rt_stack_t st;
        CHECK_EQ(rt_stack_alloc(pool, &st), 0);
        rt_ctx_make(&short_ctx, st.lo, st.size, short_entry, (void *)1);
        rt_ctx_switch(&main_ctx, &short_ctx);
        CHECK(short_ctx.finished);
#if defined(CB_SANITIZE_THREAD)
        /* Reaped by the resumed side already, before any destroy. */
        CHECK(short_ctx.tsan_fiber == NULL);
#endif
        rt_ctx_destroy(&short_ctx);
        rt_stack_release(pool, &st);
    }
    CHECK_EQ(short_runs, N);
    rt_stack_pool_stats_t stats;
    rt_stack_pool_stats(pool, &stats);
    CHECK_GE(stats.reuses, N - 1);
}

/* ---- A context on a plain mapped stack at the minimum size ---- */

static rt_ctx_t small_ctx;
static volatile int small_depth;

static int recurse_a_bit(int n)
{
    volatile char pad[512];
    pad[0] = (char)n;
    return n == 0 ? pad[0] : recurse_a_bit(n - 1) + pad[0];
}

static void small_entry(void *arg)
{
    /* ~12 KiB of frames on a 16 KiB stack. */
    small_depth = recurse_a_bit((int)(intptr_t)arg);
    rt_ctx_switch_final(&small_ctx, &main_ctx);
}

static void test_small_stack(void)
{
    rt_stack_t st;
    CHECK_EQ(rt_stack_map(RT_STACK_MIN_SIZE, &st), 0);
    /* Under ASan frames are bigger; recurse less there. */
#if defined(CB_SANITIZE_ADDRESS) || defined(CB_SANITIZE_THREAD)
    int depth = 4;
#else
    int depth = 20;
#endif
    rt_ctx_make(&small_ctx, st.lo, st.size, small_entry,
                (void *)(intptr_t)depth);
    rt_ctx_switch(&main_ctx, &small_ctx);
    CHECK_EQ(small_depth, depth * (depth + 1) / 2);
    rt_ctx_destroy(&small_ctx);
    rt_stack_unmap(&st);
}

/* ---- FP control state is per context ---- */

#if defined(__x86_64__)
static unsigned read_mxcsr(void)
{
    unsigned v;
    __asm__ volatile("stmxcsr %0" : "=m"(v));
    return v;
}

static unsigned short read_x87_cw(void)
{
    unsigned short v;
    __asm__ volatile("fnstcw %0" : "=m"(v));
    return v;
}

#define MXCSR_RC_MASK 0x6000u
#define MXCSR_RC_DOWN 0x2000u
#define MXCSR_RC_ZERO 0x6000u
#define X87_RC_MASK 0x0c00u
#define X87_RC_DOWN 0x0400u
#define X87_RC_ZERO 0x0c00u

static rt_ctx_t fp_ctx;
static volatile unsigned fp_seen_mxcsr, fp_seen_cw;

static void fp_entry(void *arg)
{
    (void)arg;
    /* Inherited from the creator (main set FE_DOWNWARD before making us). */
    fp_seen_mxcsr = read_mxcsr();
    fp_seen_cw = read_x87_cw();
    fesetround(FE_TOWARDZERO);
    for (;;) {
        rt_ctx_switch(&fp_ctx, &main_ctx);
        fp_seen_mxcsr = read_mxcsr();
        fp_seen_cw = read_x87_cw();
    }
}

static void test_fp_state(void)
{
    int saved = fegetround();
    rt_stack_t st;
    CHECK_EQ(rt_stack_alloc(pool, &st), 0);
    CHECK_EQ(fesetround(FE_DOWNWARD), 0);
    rt_ctx_make(&fp_ctx, st.lo, st.size, fp_entry, NULL);
    rt_ctx_switch(&main_ctx, &fp_ctx);
    CHECK_EQ(fp_seen_mxcsr & MXCSR_RC_MASK, MXCSR_RC_DOWN);
    CHECK_EQ(fp_seen_cw & X87_RC_MASK, X87_RC_DOWN);
    /* The fiber switched to toward-zero; ours must still be downward. */
    CHECK_EQ(fegetround(), FE_DOWNWARD);
    CHECK_EQ(read_mxcsr() & MXCSR_RC_MASK, MXCSR_RC_DOWN);
    for (int i = 0; i < 10; i++) {
        rt_ctx_switch(&main_ctx, &fp_ctx);
        CHECK_EQ(fp_seen_mxcsr & MXCSR_RC_MASK, MXCSR_RC_ZERO);
        CHECK_EQ(fp_seen_cw & X87_RC_MASK, X87_RC_ZERO);
        CHECK_EQ(read_mxcsr() & MXCSR_RC_MASK, MXCSR_RC_DOWN);
        CHECK_EQ(read_x87_cw() & X87_RC_MASK, X87_RC_DOWN);
    }
    rt_ctx_destroy(&fp_ctx);
    rt_stack_release(pool, &st);
    fesetround(saved);
}
#else
static void test_fp_state(void)
{
    /* aarch64 does not save FPCR per context (see runtime/ctx.h). */
}
#endif

/* ---- Migration between OS threads ---- */

/*
 * The task parks on thread A and resumes on thread B.  Each thread's
 * context is its own; the task finds its way back through `home`, which
 * the resuming thread sets, and it re-reads its thread through a noinline
 * accessor after every switch, as ctx.h demands.
 */
static rt_ctx_t mig_ctx;
static rt_ctx_t *volatile mig_home;
static pthread_t mig_seen[2];
static rt_stack_t mig_stack;

/*
 * glibc declares pthread_self() const, so the compiler may reuse a value
 * computed before a switch; a noinline accessor whose body it cannot prove
 * const (the empty asm) makes every call a real re-read.
 */
static RT_NOINLINE pthread_t current_thread(void)
{
    __asm__ volatile("" ::: "memory");
    return pthread_self();
}

static void mig_entry(void *arg)
{
    (void)arg;
    mig_seen[0] = current_thread();
    rt_ctx_switch(&mig_ctx, mig_home);
    mig_seen[1] = current_thread();
    rt_ctx_switch_final(&mig_ctx, mig_home);
}

static void *mig_thread(void *arg)
{
    rt_ctx_t self;
    rt_ctx_init_thread(&self);
    mig_home = &self;
    if (arg != NULL)
        rt_ctx_make(&mig_ctx, mig_stack.lo, mig_stack.size, mig_entry, NULL);
    rt_ctx_switch(&self, &mig_ctx);
    return NULL;
}

static void test_migration(void)
{
    CHECK_EQ(rt_stack_alloc(pool, &mig_stack), 0);
    pthread_t a, b;
    /* pthread_create/join order the two threads' uses of mig_ctx. */
    CHECK_EQ(pthread_create(&a, NULL, mig_thread, (void *)1), 0);
    CHECK_EQ(pthread_join(a, NULL), 0);
    CHECK_EQ(pthread_create(&b, NULL, mig_thread, NULL), 0);
    CHECK_EQ(pthread_join(b, NULL), 0);
    CHECK(pthread_equal(mig_seen[0], a));
    CHECK(pthread_equal(mig_seen[1], b));
    rt_ctx_destroy(&mig_ctx);
    rt_stack_release(pool, &mig_stack);
}

/* ---- An entry that returns is reported ---- */

static rt_ctx_t ret_ctx;

static void returning_entry(void *arg)
{
    (void)arg;
}

static void test_entry_return_panics(void)
{
    int pipefd[2];
    CHECK_EQ(pipe(pipefd), 0);
    fflush(NULL);
    pid_t pid = fork();
    CHECK_GE(pid, 0);
    if (pid == 0) {
        dup2(pipefd[1], STDERR_FILENO);
        close(pipefd[0]);
        rt_stack_t st;
        if (rt_stack_map(RT_STACK_MIN_SIZE * 4, &st) != 0)
            _exit(3);
        rt_ctx_make(&ret_ctx, st.lo, st.size, returning_entry, NULL);
        rt_ctx_switch(&main_ctx, &ret_ctx);
        _exit(4);
    }
    close(pipefd[1]);
    char buf[4096];
    size_t len = 0;
    ssize_t n;
    while (len < sizeof buf - 1 &&
           (n = read(pipefd[0], buf + len, sizeof buf - 1 - len)) > 0)
        len += (size_t)n;
    buf[len] = '\0';
    close(pipefd[0]);
    int status;
    CHECK_EQ(waitpid(pid, &status, 0), pid);
    CHECK(WIFSIGNALED(status));
    CHECK_EQ(WTERMSIG(status), SIGABRT);
    if (strstr(buf, "concbench: context entry returned") == NULL)
        CB_FAIL_("child stderr lacks the panic: \"%s\"", buf);
}

int main(void)
{
    CHECK_EQ(rt_stack_pool_new(&pool, STACK_SIZE, 16), 0);
    rt_ctx_init_thread(&main_ctx);

    test_round_trip();
    test_callee_saved();
    test_ring();
    test_finish_many();
    test_small_stack();
    test_fp_state();
    test_migration();
    test_entry_return_panics();

    rt_stack_pool_free(pool);
    printf("test_ctx: ok\n");
    return 0;
}
