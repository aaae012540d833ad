/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Task stacks: size validation, the pool's reuse and bounds, the guard
 * page, and the overflow report.  The crash cases run in forked children
 * whose stderr and exit status the parent checks.
 */
#include "runtime/clock.h"
#include "runtime/common.h"
#include "runtime/ctx.h"
#include "runtime/stack.h"

#include "tests/c/cb_test.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static size_t page;

/* ---- Sizes ---- */

static void test_sizes(void)
{
    rt_stack_pool_t *p = NULL;
    CHECK_EQ(rt_stack_pool_new(&p, 0, 4), -EINVAL);
    CHECK_EQ(rt_stack_pool_new(&p, 1, 4), -EINVAL);
    CHECK_EQ(rt_stack_pool_new(&p, RT_STACK_MIN_SIZE - 1, 4), -EINVAL);
    CHECK_EQ(rt_stack_pool_new(&p, RT_STACK_MAX_SIZE + 1, 4), -EINVAL);
    CHECK_EQ(rt_stack_pool_new(&p, SIZE_MAX, 4), -EINVAL);
    CHECK_EQ(
        rt_stack_pool_new(&p, RT_STACK_MIN_SIZE, RT_STACK_POOL_MAX_CACHED + 1),
        -EINVAL);
    CHECK(p == NULL);

    rt_stack_t s;
    CHECK_EQ(rt_stack_map(RT_STACK_MIN_SIZE - 1, &s), -EINVAL);
    CHECK_EQ(rt_stack_map(RT_STACK_MAX_SIZE + 1, &s), -EINVAL);

    /* Odd sizes round up to whole pages. */
    CHECK_EQ(rt_stack_pool_new(&p, RT_STACK_MIN_SIZE + 1, 0), 0);
    size_t got = rt_stack_pool_stack_size(p);
    CHECK_EQ(got % page, 0);
    CHECK_GE(got, RT_STACK_MIN_SIZE + 1);
    CHECK_LT(got, RT_STACK_MIN_SIZE + 1 + page);
    rt_stack_pool_free(p);

    /* The extremes work; NORESERVE makes the 1 GiB one cheap. */
    CHECK_EQ(rt_stack_map(RT_STACK_MIN_SIZE, &s), 0);
    CHECK_EQ(s.size, RT_STACK_MIN_SIZE);
    rt_stack_unmap(&s);
    CHECK(s.map == NULL);
    CHECK_EQ(rt_stack_map(RT_STACK_MAX_SIZE, &s), 0);
    CHECK_EQ(s.size, RT_STACK_MAX_SIZE);
    ((volatile char *)s.lo)[s.size - 1] = 1;
    rt_stack_unmap(&s);
}

/* ---- The pool ---- */

static void check_layout(const rt_stack_t *s, size_t size)
{
    CHECK_EQ(s->size, size);
    CHECK_EQ((uintptr_t)s->lo % page, 0);
    CHECK_EQ((uintptr_t)s->map % page, 0);
#if defined(CB_NO_GUARD_PAGES)
    CHECK(s->map == s->lo);
    CHECK_EQ(s->map_size, size);
#else
    CHECK((char *)s->map + page == (char *)s->lo);
    CHECK_EQ(s->map_size, size + page);
#endif
}

static void test_pool(void)
{
    const size_t size = 64 * 1024;
    rt_stack_pool_t *p;
    CHECK_EQ(rt_stack_pool_new(&p, size, 4), 0);
    CHECK_EQ(rt_stack_pool_stack_size(p), size);

    rt_stack_t s[6];
    for (int i = 0; i < 6; i++) {
        CHECK_EQ(rt_stack_alloc(p, &s[i]), 0);
        check_layout(&s[i], size);
        /* The whole usable region is writable. */
        memset(s[i].lo, i + 1, s[i].size);
    }
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 6; j++)
            if (i != j)
                CHECK((char *)s[i].map + s[i].map_size <= (char *)s[j].map ||
                      (char *)s[j].map + s[j].map_size <= (char *)s[i].map);
    for (int i = 0; i < 6; i++)
        CHECK_EQ(((unsigned char *)s[i].lo)[s[i].size - 1], i + 1);

    rt_stack_pool_stats_t st;
    rt_stack_pool_stats(p, &st);
    CHECK_EQ(st.allocations, 6);
    CHECK_EQ(st.maps, 6);
    CHECK_EQ(st.reuses, 0);

    /* The cache holds 4: s[0..3] are kept, s[4] and s[5] unmapped. */
    void *kept_last = s[3].lo;
    for (int i = 0; i < 6; i++) {
        rt_stack_release(p, &s[i]);
        CHECK(s[i].map == NULL);
    }
    rt_stack_pool_stats(p, &st);
    CHECK_EQ(st.cached, 4);
    CHECK_EQ(st.unmaps, 2);

    /* LIFO: the stack cached last comes back first, contents kept. */
    rt_stack_t r;
    CHECK_EQ(rt_stack_alloc(p, &r), 0);
    CHECK(r.lo == kept_last);
    check_layout(&r, size);
    CHECK_EQ(((unsigned char *)r.lo)[r.size - 1], 4);
    rt_stack_t r2;
    rt_stack_release(p, &r);
    CHECK_EQ(rt_stack_alloc(p, &r2), 0);
    CHECK(r2.lo == kept_last);
    rt_stack_pool_stats(p, &st);
    CHECK_EQ(st.allocations, 8);
    CHECK_EQ(st.reuses, 2);
    CHECK_EQ(st.maps, 6);

    /* A stack of another size is unmapped, not cached. */
    rt_stack_t other;
    CHECK_EQ(rt_stack_map(2 * size, &other), 0);
    rt_stack_pool_stats(p, &st);
    size_t cached = st.cached;
    rt_stack_release(p, &other);
    rt_stack_pool_stats(p, &st);
    CHECK_EQ(st.cached, cached);
    CHECK_EQ(st.unmaps, 3);

    rt_stack_release(p, &r2);
    rt_stack_pool_free(p);
    rt_stack_pool_free(NULL);

    /* max_cached 0: nothing is ever kept. */
    CHECK_EQ(rt_stack_pool_new(&p, size, 0), 0);
    CHECK_EQ(rt_stack_alloc(p, &r), 0);
    rt_stack_release(p, &r);
    CHECK_EQ(rt_stack_alloc(p, &r), 0);
    rt_stack_release(p, &r);
    rt_stack_pool_stats(p, &st);
    CHECK_EQ(st.maps, 2);
    CHECK_EQ(st.unmaps, 2);
    CHECK_EQ(st.cached, 0);
    rt_stack_pool_free(p);
}

#if !defined(CB_NO_GUARD_PAGES)
/* The permissions /proc/self/maps shows for the page holding addr. */
static bool page_perms(const void *addr, char perms[5])
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (f == NULL)
        return false;
    char line[512];
    bool found = false;
    while (fgets(line, sizeof line, f) != NULL) {
        unsigned long lo, hi;
        char p[5];
        if (sscanf(line, "%lx-%lx %4s", &lo, &hi, p) == 3 &&
            (uintptr_t)addr >= lo && (uintptr_t)addr < hi) {
            memcpy(perms, p, 5);
            found = true;
            break;
        }
    }
    fclose(f);
    return found;
}
#endif

#if !defined(CB_NO_GUARD_PAGES)
/* Touching addr kills a child with SIGSEGV or SIGBUS. */
static void expect_fault(void *addr)
{
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        signal(SIGSEGV, SIG_DFL);
        signal(SIGBUS, SIG_DFL);
        ((volatile char *)addr)[0] = 1;
        _exit(0);
    }
    int st = 0;
    CHECK_EQ(waitpid(pid, &st, 0), pid);
    CHECK(WIFSIGNALED(st));
    CHECK(WTERMSIG(st) == SIGSEGV || WTERMSIG(st) == SIGBUS);
}
#endif

static void test_guard_mapping(void)
{
#if defined(CB_NO_GUARD_PAGES)
    fprintf(stderr, "test_stack: built without guard pages, guard "
                    "mapping not checked\n");
#else
    /* The guard is either a PROT_NONE page (its own VMA) or, on kernels
     * with guard regions, a marker inside one read-write VMA that maps
     * cannot show; so touch it, in a child, and expect the fault. */
    rt_stack_t s;
    CHECK_EQ(rt_stack_map(32 * 1024, &s), 0);
    char perms[5];
    if (!page_perms(s.lo, perms))
        SKIP("/proc/self/maps unreadable");
    CHECK_STREQ(perms, "rw-p");
    ((volatile char *)s.lo)[0] = 1;
    expect_fault(s.map);
    rt_stack_unmap(&s);

    /* Stacks a pool maps in one batch: each has its own guard, and one
     * can be unmapped alone while its neighbours stay usable. */
    rt_stack_pool_t *pool;
    CHECK_EQ(rt_stack_pool_new(&pool, 32 * 1024, 8), 0);
    rt_stack_t b[3];
    for (int i = 0; i < 3; i++)
        CHECK_EQ(rt_stack_alloc(pool, &b[i]), 0);
    rt_stack_unmap(&b[1]);
    for (int i = 0; i < 3; i += 2) {
        ((volatile char *)b[i].lo)[0] = 1;
        ((volatile char *)b[i].lo)[b[i].size - 1] = 1;
        expect_fault(b[i].map);
        rt_stack_release(pool, &b[i]);
    }
    rt_stack_pool_stats_t st;
    rt_stack_pool_stats(pool, &st);
    CHECK_EQ(st.maps, 3);
    rt_stack_pool_free(pool);
#endif
}

#if !defined(CB_NO_GUARD_PAGES)
/* Whether this kernel installs guard markers, asked independently of the
 * module: one MADV_GUARD_INSTALL (102) on a scratch mapping. */
static bool kernel_has_guard_markers(void)
{
    void *m = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(m != MAP_FAILED);
    bool yes = madvise(m, page, 102) == 0;
    munmap(m, 2 * page);
    return yes;
}

/* Whether this kernel takes guard markers through process_madvise, which
 * slab pools use to ready fresh stacks in batches; asked the same way. */
static bool kernel_batches_guards(void)
{
#if defined(SYS_pidfd_open) && defined(SYS_process_madvise)
    void *m = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(m != MAP_FAILED);
    int fd = (int)syscall(SYS_pidfd_open, getpid(), 0);
    struct iovec v = {m, page};
    bool yes = fd >= 0 &&
               syscall(SYS_process_madvise, fd, &v, 1, 102, 0) == (long)page;
    if (fd >= 0)
        close(fd);
    munmap(m, 2 * page);
    return yes;
#else
    return false;
#endif
}

static bool resident(const void *addr)
{
    unsigned char v = 0;
    CHECK_EQ(mincore((void *)((uintptr_t)addr & ~(uintptr_t)(page - 1)),
                     page, &v),
             0);
    return v & 1;
}
#endif

static void test_slab_pool(void)
{
    const size_t size = 32 * 1024;
    rt_stack_pool_t *plain, *slabs;
    CHECK_EQ(rt_stack_pool_new(&plain, size, 8), 0);
    CHECK(!rt_stack_pool_carves_slabs(plain));
    rt_stack_pool_free(plain);

    CHECK_EQ(rt_stack_pool_new_slabs(&slabs, size, 8), 0);
#if defined(CB_NO_GUARD_PAGES)
    CHECK(!rt_stack_pool_carves_slabs(slabs));
#else
    /* Known when the pool is made, before any stack is handed out: a
     * scheduler decides at spawn whether a stack may wait for the first
     * run. */
    bool carves = kernel_has_guard_markers();
    CHECK_EQ(rt_stack_pool_carves_slabs(slabs), carves);
    if (carves) {
        /* Fresh stacks come readied in batches where the kernel takes
         * guards through process_madvise: guard in, top page resident,
         * before rt_stack_ready; one by one at rt_stack_ready elsewhere.
         * 40 stacks span more than one batch. */
        bool batched = kernel_batches_guards();
        enum { N = 40 };
        rt_stack_t b[N];
        for (int i = 0; i < N; i++) {
            CHECK_EQ(rt_stack_alloc(slabs, &b[i]), 0);
            CHECK(b[i].slab);
            CHECK_EQ(b[i].guard_pending, !batched);
            check_layout(&b[i], size);
            if (batched) {
                CHECK(resident((char *)b[i].lo + b[i].size - 1));
                CHECK(!resident(b[i].lo));
            }
        }
        /* Batched guards are in before rt_stack_ready (the first and the
         * last of the two batches' stacks here). */
        if (batched) {
            expect_fault(b[0].map);
            expect_fault(b[N - 1].map);
        }
        /* Carved side by side from one slab. */
        for (int i = 0; i + 1 < N; i++)
            CHECK((char *)b[i + 1].map == (char *)b[i].map + b[i].map_size);
        for (int i = 0; i < N; i++) {
            CHECK_EQ(rt_stack_ready(&b[i]), 0);
            CHECK(!b[i].guard_pending);
            ((volatile char *)b[i].lo)[0] = 1;
            expect_fault(b[i].map);
        }
        /* A cached stack comes back with its guard still in place. */
        void *top = b[2].lo;
        rt_stack_release(slabs, &b[2]);
        CHECK_EQ(rt_stack_alloc(slabs, &b[2]), 0);
        CHECK(b[2].lo == top);
        CHECK(!b[2].guard_pending);
        expect_fault(b[2].map);
        for (int i = 0; i < N; i++)
            rt_stack_release(slabs, &b[i]);
    }
#endif
    rt_stack_pool_free(slabs);
}

/* ---- Alternate signal stacks ---- */

static void *altstack_thread(void *arg)
{
    (void)arg;
    stack_t before, after;
    CHECK_EQ(sigaltstack(NULL, &before), 0);
    CHECK_EQ(rt_stack_thread_init(), 0);
    CHECK_EQ(rt_stack_thread_init(), 0); /* idempotent */
    CHECK_EQ(sigaltstack(NULL, &after), 0);
    CHECK(!(after.ss_flags & SS_DISABLE));
    if (before.ss_flags & SS_DISABLE) {
        CHECK_GE(after.ss_size, 64 * 1024);
        /* Ours: term takes it away again. */
        rt_stack_thread_term();
        CHECK_EQ(sigaltstack(NULL, &after), 0);
        CHECK(after.ss_flags & SS_DISABLE);
        /* And a second one is freed by the thread-exit destructor. */
        CHECK_EQ(rt_stack_thread_init(), 0);
    } else {
        /* Someone else's (ASan's): kept, and term leaves it alone. */
        CHECK(after.ss_sp == before.ss_sp);
        rt_stack_thread_term();
        CHECK_EQ(sigaltstack(NULL, &after), 0);
        CHECK(after.ss_sp == before.ss_sp);
    }
    return NULL;
}

static void test_altstack(void)
{
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, altstack_thread, NULL), 0);
    CHECK_EQ(pthread_join(t, NULL), 0);
}

/* ---- Crashes in a child ---- */

struct child_result {
    int status;
    char err[65536];
};

/*
 * How long a crashing child may take, in seconds; a sanitizer's report
 * takes well under one here.  Scaled by CONCBENCH_TIMEOUT_SCALE (the
 * suite's, which sanitizer runs set) or CB_TEST_TIMEOUT_SCALE on slow
 * machines (valgrind, emulators).
 */
#define CHILD_TIMEOUT_S 30

static int child_timeout_ms(void)
{
    return (int)(CHILD_TIMEOUT_S * 1000 * cb_test_scale());
}

/*
 * Run fn in a forked child with stderr captured.  A child that hangs (a
 * deadlock in a fault handler would look like this) is killed and fails
 * the test instead of hanging it.
 */
static void run_child(void (*fn)(void), struct child_result *res)
{
    int pipefd[2];
    CHECK_EQ(pipe(pipefd), 0);
    fflush(NULL);
    pid_t pid = fork();
    CHECK_GE(pid, 0);
    if (pid == 0) {
        dup2(pipefd[1], STDERR_FILENO);
        close(pipefd[0]);
        close(pipefd[1]);
        fn();
        _exit(99); /* fn was supposed to crash */
    }
    close(pipefd[1]);
    size_t len = 0;
    int64_t deadline = rt_now_ns() + (int64_t)child_timeout_ms() * 1000000;
    for (;;) {
        int left_ms = (int)((deadline - rt_now_ns()) / 1000000);
        struct pollfd pfd = {.fd = pipefd[0], .events = POLLIN};
        int ready = left_ms > 0 ? poll(&pfd, 1, left_ms) : 0;
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready == 0) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            CB_FAIL_("child hung (killed after %d ms); stderr so far: "
                     "\"%.*s\"",
                     child_timeout_ms(), (int)len, res->err);
        }
        ssize_t n = read(pipefd[0], res->err + len, sizeof res->err - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
        if (len == sizeof res->err - 1)
            break;
    }
    res->err[len] = '\0';
    close(pipefd[0]);
    CHECK_EQ(waitpid(pid, &res->status, 0), pid);
}

static void describe(const char *what, const struct child_result *r)
{
    if (WIFSIGNALED(r->status))
        fprintf(stderr, "test_stack: %s: child killed by signal %d\n", what,
                WTERMSIG(r->status));
    else
        fprintf(stderr, "test_stack: %s: child exited %d\n", what,
                WEXITSTATUS(r->status));
    if (getenv("TEST_STACK_VERBOSE") != NULL)
        fprintf(stderr, "---- child stderr ----\n%s----\n", r->err);
}

/*
 * The child must have died of the fault, reported as `kind`.  With no
 * other SIGSEGV handler the default action kills it by SIGSEGV.  In a
 * sanitizer build our handler chains to the sanitizer's, which (with
 * default options, as measured: ASan exits 1, TSan 66) prints
 * "<Sanitizer>: <kind>" and exits, or aborts after the report when run
 * with abort_on_error=1 (as scripts/test.sh does); a sanitizer run with
 * handle_segv=0 dies by SIGSEGV again, which is accepted too.
 */
static void check_crashed(const struct child_result *r, const char *kind)
{
#if defined(CB_SANITIZE_ADDRESS) || defined(CB_SANITIZE_THREAD)
#if defined(CB_SANITIZE_ADDRESS)
    const char *san = "AddressSanitizer";
#else
    const char *san = "ThreadSanitizer";
#endif
    if (WIFSIGNALED(r->status) && WTERMSIG(r->status) == SIGABRT) {
        /* abort_on_error=1: the sanitizer reports, then aborts. */
        char want[128];
        snprintf(want, sizeof want, "%s: %s", san, kind);
        if (strstr(r->err, want) == NULL)
            CB_FAIL_("no \"%s\" in child stderr: \"%s\"", want, r->err);
    } else if (WIFSIGNALED(r->status)) {
        CHECK_EQ(WTERMSIG(r->status), SIGSEGV);
    } else {
        CHECK(WIFEXITED(r->status));
        CHECK_NE(WEXITSTATUS(r->status), 0);
        CHECK_NE(WEXITSTATUS(r->status), 98);
        CHECK_NE(WEXITSTATUS(r->status), 99);
        char want[128];
        snprintf(want, sizeof want, "%s: %s", san, kind);
        if (strstr(r->err, want) == NULL)
            CB_FAIL_("no \"%s\" in child stderr: \"%s\"", want, r->err);
    }
#else
    (void)kind;
    CHECK(WIFSIGNALED(r->status));
    CHECK_EQ(WTERMSIG(r->status), SIGSEGV);
#endif
}

#define OVERFLOW_KIB 32
#define OVERFLOW_TASK 4242

static rt_ctx_t child_main, child_task;
static rt_stack_t child_stack;
static volatile int recursion_limit = INT_MAX;

static RT_NOINLINE int deep(int n)
{
    volatile char pad[200];
    pad[0] = (char)n;
    if (n >= recursion_limit)
        return pad[0];
    return deep(n + 1) + pad[0];
}

static void overflow_entry(void *arg)
{
    (void)arg;
    deep(0);
    rt_ctx_switch_final(&child_task, &child_main);
}

/*
 * An address that is never mapped (below vm.mmap_min_addr) yet not NULL,
 * so UBSan's null check does not catch the store before the fault does;
 * read through a volatile so the compiler cannot see what it is.
 */
static int *volatile bad_pointer = (int *)(uintptr_t)0x1000;

static void wild_store_entry(void *arg)
{
    (void)arg;
    *bad_pointer = 1;
    rt_ctx_switch_final(&child_task, &child_main);
}

static void raise_entry(void *arg)
{
    (void)arg;
    raise(SIGSEGV);
    rt_ctx_switch_final(&child_task, &child_main);
}

static void child_setup(void)
{
    if (rt_stack_overflow_handler_install() != 0 || rt_stack_thread_init() != 0)
        _exit(98);
    rt_ctx_init_thread(&child_main);
}

/* Run entry as task OVERFLOW_TASK on child_stack in the child. */
static void child_switch_in(void)
{
    rt_stack_set_current(&child_stack, OVERFLOW_TASK);
    rt_ctx_switch(&child_main, &child_task);
    rt_stack_set_current(NULL, 0);
}

static void child_run_task(void (*entry)(void *))
{
    child_setup();
    if (rt_stack_map(OVERFLOW_KIB * 1024, &child_stack) != 0)
        _exit(98);
    rt_ctx_make(&child_task, child_stack.lo, child_stack.size, entry, NULL);
    child_switch_in();
}

#if !defined(CB_NO_GUARD_PAGES)
static void child_overflow(void)
{
    child_run_task(overflow_entry);
}
#endif

/*
 * A stack whose rt_stack_t has no guard page (map == lo), as in a build
 * without guard pages, above memory that faults: the fault is outside
 * the recorded guard, and the reporter must still name the task, from the
 * stack pointer.  The memory below is a PROT_NONE reservation rather than
 * a hole, so that nothing mapped later (a sanitizer's trace buffers, say)
 * can land under the stack.
 */
static void child_overflow_unguarded(void)
{
    const size_t size = OVERFLOW_KIB * 1024, below = 256 * 1024;
    child_setup();
    char *m = mmap(NULL, below + size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED || mprotect(m, below, PROT_NONE) != 0)
        _exit(98);
    child_stack.lo = child_stack.map = m + below;
    child_stack.size = child_stack.map_size = size;
    rt_ctx_make(&child_task, child_stack.lo, child_stack.size, overflow_entry,
                NULL);
    child_switch_in();
}

static void child_wild_store_in_task(void)
{
    child_run_task(wild_store_entry);
}

static void child_raise_in_task(void)
{
    child_run_task(raise_entry);
}

static void child_wild_store_on_thread_stack(void)
{
    if (rt_stack_overflow_handler_install() != 0 || rt_stack_thread_init() != 0)
        _exit(98);
    rt_stack_set_current(NULL, 0);
    *bad_pointer = 1;
}

static struct child_result result;

static void check_overflow_report(void (*child)(void), const char *what)
{
    run_child(child, &result);
    describe(what, &result);
    char want[128];
    snprintf(want, sizeof want,
             "concbench: task %d overflowed its %d KiB stack\n", OVERFLOW_TASK,
             OVERFLOW_KIB);
    if (strstr(result.err, want) == NULL)
        CB_FAIL_("%s: child stderr lacks \"%s\": \"%s\"", what, want,
                 result.err);
    check_crashed(&result, "stack-overflow");
}

static void test_overflow_reported(void)
{
#if defined(CB_NO_GUARD_PAGES)
    fprintf(stderr, "test_stack: built without guard pages, guard-page "
                    "overflow not checked\n");
#else
    check_overflow_report(child_overflow, "overflow into guard");
#endif
    check_overflow_report(child_overflow_unguarded, "overflow, no guard");
}

static void test_other_faults_untouched(void)
{
    void (*children[])(void) = {child_wild_store_in_task, child_raise_in_task,
                                child_wild_store_on_thread_stack};
    const char *names[] = {"wild store in task", "raise in task",
                           "wild store on thread stack"};
    for (size_t i = 0; i < sizeof children / sizeof children[0]; i++) {
        run_child(children[i], &result);
        describe(names[i], &result);
        if (strstr(result.err, "overflowed") != NULL)
            CB_FAIL_("%s: wrongly reported as overflow: \"%s\"", names[i],
                     result.err);
        check_crashed(&result, "SEGV");
    }
}

int main(void)
{
    page = (size_t)sysconf(_SC_PAGESIZE);
    test_sizes();
    test_pool();
    test_guard_mapping();
    test_slab_pool();
    test_altstack();
    test_overflow_reported();
    test_other_faults_untouched();
    printf("test_stack: ok\n");
    return 0;
}
