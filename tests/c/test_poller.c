/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * The poller's contract: timer order and punctuality, cancel, timers and
 * fds changed from inside callbacks, one-shot fds on a pipe and on a
 * loopback TCP pair, and cross-thread wakes.  Every timer test runs twice,
 * once on epoll_pwait2 and once on the timerfd fallback.
 *
 * Timing checks only bound lateness from above, with slack for a loaded
 * two-core CI machine (LATE_MAX_NS); "never early" is exact, because it
 * does not depend on the machine's load.  A lateness bound that fails
 * while other processes kept the CPUs busy is inconclusive, not a failure
 * (CHECK_TIMELY, tests/c/cb_test.h), and the hang guards stretch with
 * CONCBENCH_TIMEOUT_SCALE.
 */
#include "cb_test.h"
#include "runtime/clock.h"
#include "runtime/poller.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define LATE_MAX_NS (50 * RT_NS_PER_MS)
#define NTIMERS 40

static const char *mode = "epoll_pwait2";

/* Poll until done() or a deadline, so a broken poller fails, not hangs. */
static void poll_until(rt_poller_t *p, bool (*done)(void), int64_t limit_ns)
{
    limit_ns = cb_test_scaled_ns(limit_ns);
    int64_t end = rt_now_ns() + limit_ns;
    while (!done()) {
        if (rt_now_ns() > end)
            CB_FAIL_("[%s] condition not reached in %lld ms", mode,
                     (long long)(limit_ns / RT_NS_PER_MS));
        int rc = rt_poller_poll(p, 100 * RT_NS_PER_MS);
        CHECK_GE(rc, 0);
    }
}

/* ---- timer order ---------------------------------------------------- */

struct fired {
    int id;
    int64_t at;
};

static struct fired fired[4 * NTIMERS];
static int nfired;

static void record_fn(rt_timer_t *t, void *arg)
{
    CHECK(!rt_timer_armed(t));
    CHECK_LT(nfired, 4 * NTIMERS);
    fired[nfired++] = (struct fired){(int)(intptr_t)arg, rt_now_ns()};
}

static int want_fired;
static bool all_fired(void)
{
    return nfired >= want_fired;
}

static void test_order(void)
{
    rt_poller_t *p;
    CHECK_EQ(rt_poller_new(&p), 0);
    static rt_timer_t t[NTIMERS];
    int64_t base = rt_now_ns() + 5 * RT_NS_PER_MS;
    CHECK_EQ(rt_poller_next_deadline(p), -1);
    int64_t min_deadline = INT64_MAX;
    for (int i = 0; i < NTIMERS; i++) {
        rt_timer_init(&t[i]);
        CHECK(!rt_timer_armed(&t[i]));
        /* Groups of four share a deadline; groups start out of order. */
        int64_t d = base + ((i * 7919) % 10) * 2 * RT_NS_PER_MS;
        if (d < min_deadline)
            min_deadline = d;
        rt_timer_start(p, &t[i], d, record_fn, (void *)(intptr_t)i);
        CHECK(rt_timer_armed(&t[i]));
    }
    CHECK_EQ(rt_poller_next_deadline(p), min_deadline);
    nfired = 0;
    want_fired = NTIMERS;
    poll_until(p, all_fired, 5 * RT_NS_PER_S);
    CHECK_EQ(nfired, NTIMERS);
    CHECK_EQ(rt_poller_next_deadline(p), -1);
    for (int k = 0; k < NTIMERS; k++) {
        const rt_timer_t *x = &t[fired[k].id];
        if (fired[k].at < x->deadline_ns)
            CB_FAIL_("[%s] timer %d fired %lld ns early", mode, fired[k].id,
                     (long long)(x->deadline_ns - fired[k].at));
        CHECK_TIMELY(
            fired[k].at - x->deadline_ns <= LATE_MAX_NS,
            "[%s] timer %d fired %lld ms late", mode, fired[k].id,
            (long long)((fired[k].at - x->deadline_ns) / RT_NS_PER_MS));
        if (k == 0)
            continue;
        const rt_timer_t *prev = &t[fired[k - 1].id];
        /* Deadline order; ties in start order, which is index order. */
        CHECK(prev->deadline_ns <= x->deadline_ns);
        if (prev->deadline_ns == x->deadline_ns)
            CHECK_LT(fired[k - 1].id, fired[k].id);
    }
    rt_poller_free(p);
}

/* Restarting a timer moves it behind timers already waiting on a tie. */
static void test_ties_and_restart(void)
{
    rt_poller_t *p;
    CHECK_EQ(rt_poller_new(&p), 0);
    rt_timer_t t[5];
    int64_t d = rt_now_ns() + 2 * RT_NS_PER_MS;
    for (int i = 0; i < 5; i++) {
        rt_timer_init(&t[i]);
        rt_timer_start(p, &t[i], d, record_fn, (void *)(intptr_t)i);
    }
    rt_timer_start(p, &t[1], d, record_fn, (void *)(intptr_t)1);
    rt_timer_start(p, &t[0], d, record_fn, (void *)(intptr_t)0);
    nfired = 0;
    want_fired = 5;
    poll_until(p, all_fired, 5 * RT_NS_PER_S);
    static const int order[] = {2, 3, 4, 1, 0};
    for (int i = 0; i < 5; i++)
        CHECK_EQ(fired[i].id, order[i]);
    rt_poller_free(p);
}

static void test_cancel(void)
{
    rt_poller_t *p;
    CHECK_EQ(rt_poller_new(&p), 0);
    rt_timer_t t[4];
    int64_t now = rt_now_ns();
    for (int i = 0; i < 4; i++) {
        rt_timer_init(&t[i]);
        rt_timer_start(p, &t[i], now + (i + 1) * RT_NS_PER_MS, record_fn,
                       (void *)(intptr_t)i);
    }
    CHECK(rt_timer_cancel(p, &t[0]));
    CHECK(rt_timer_cancel(p, &t[2]));
    CHECK(!rt_timer_cancel(p, &t[2]));
    CHECK(!rt_timer_armed(&t[0]));
    CHECK(rt_timer_armed(&t[1]));
    CHECK_EQ(rt_poller_next_deadline(p), t[1].deadline_ns);
    nfired = 0;
    want_fired = 2;
    poll_until(p, all_fired, 5 * RT_NS_PER_S);
    /* Nothing more arrives: the cancelled timers stay quiet. */
    CHECK_EQ(rt_poller_poll(p, 10 * RT_NS_PER_MS), 0);
    CHECK_EQ(nfired, 2);
    CHECK_EQ(fired[0].id, 1);
    CHECK_EQ(fired[1].id, 3);
    CHECK(!rt_timer_cancel(p, &t[1]));

    /* A poller freed with armed timers leaves them disarmed. */
    rt_timer_start(p, &t[0], rt_now_ns() + RT_NS_PER_S, record_fn, NULL);
    rt_poller_free(p);
    CHECK(!rt_timer_armed(&t[0]));
}

/* ---- timers from callbacks ------------------------------------------ */

static rt_poller_t *cb_poller;
static rt_timer_t cb_a, cb_b, cb_c, cb_self;
static int self_runs;

/* A starts C with a deadline already behind B's. */
static void start_c_fn(rt_timer_t *t, void *arg)
{
    record_fn(t, arg);
    rt_timer_start(cb_poller, &cb_c, t->deadline_ns - RT_NS_PER_MS, record_fn,
                   (void *)(intptr_t)'C');
}

/* Re-arms itself in the past: must not keep one poll from returning. */
static void self_fn(rt_timer_t *t, void *arg)
{
    self_runs++;
    if (self_runs < 5)
        rt_timer_start(cb_poller, t, 0, self_fn, NULL);
}

/* Cancels B from inside the dispatch of the same pass. */
static void cancel_b_fn(rt_timer_t *t, void *arg)
{
    record_fn(t, arg);
    CHECK(rt_timer_cancel(cb_poller, &cb_b));
}

static void test_callbacks(void)
{
    CHECK_EQ(rt_poller_new(&cb_poller), 0);
    rt_timer_init(&cb_a);
    rt_timer_init(&cb_b);
    rt_timer_init(&cb_c);
    int64_t d = rt_now_ns() + 2 * RT_NS_PER_MS;
    rt_timer_start(cb_poller, &cb_a, d, start_c_fn, (void *)(intptr_t)'A');
    rt_timer_start(cb_poller, &cb_b, d + 1, record_fn, (void *)(intptr_t)'B');
    nfired = 0;
    want_fired = 3;
    poll_until(cb_poller, all_fired, 5 * RT_NS_PER_S);
    CHECK_EQ(fired[0].id, 'A');
    CHECK_EQ(fired[1].id, 'C');
    CHECK_EQ(fired[2].id, 'B');

    /* A timer started from a callback for later fires later. */
    rt_timer_start(cb_poller, &cb_a, rt_now_ns() + RT_NS_PER_MS, cancel_b_fn,
                   (void *)(intptr_t)'A');
    rt_timer_start(cb_poller, &cb_b, rt_now_ns() + 2 * RT_NS_PER_MS, record_fn,
                   (void *)(intptr_t)'B');
    nfired = 0;
    want_fired = 1;
    poll_until(cb_poller, all_fired, 5 * RT_NS_PER_S);
    CHECK_EQ(rt_poller_poll(cb_poller, 5 * RT_NS_PER_MS), 0);
    CHECK_EQ(nfired, 1);

    rt_timer_init(&cb_self);
    self_runs = 0;
    rt_timer_start(cb_poller, &cb_self, 0, self_fn, NULL);
    for (int i = 1; i <= 5; i++) {
        /* Already due, so an infinite poll returns at once. */
        int64_t t0 = rt_now_ns();
        CHECK_EQ(rt_poller_poll(cb_poller, -1), 1);
        CHECK_EQ(self_runs, i);
        CHECK_TIMELY(rt_now_ns() - t0 < LATE_MAX_NS,
                     "[%s] a due timer's poll took %lld ms", mode,
                     (long long)((rt_now_ns() - t0) / RT_NS_PER_MS));
    }
    CHECK(!rt_timer_armed(&cb_self));
    rt_poller_free(cb_poller);
}

/* ---- punctuality ---------------------------------------------------- */

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static bool one_fired(void)
{
    return nfired >= want_fired;
}

/*
 * A 200 us timer must come back well inside 1 ms: with a millisecond
 * epoll_wait timeout it would be 1 ms late every time.
 */
static void test_sub_millisecond(void)
{
    enum { N = 50 };
    rt_poller_t *p;
    CHECK_EQ(rt_poller_new(&p), 0);
    int64_t late[N];
    rt_timer_t t;
    rt_timer_init(&t);
    for (int i = 0; i < N; i++) {
        nfired = 0;
        want_fired = 1;
        int64_t d = rt_now_ns() + 200 * RT_NS_PER_US;
        rt_timer_start(p, &t, d, record_fn, (void *)(intptr_t)i);
        poll_until(p, one_fired, 5 * RT_NS_PER_S);
        late[i] = fired[0].at - d;
        CHECK_GE(late[i], 0);
    }
    qsort(late, N, sizeof late[0], cmp_i64);
    fprintf(stderr, "[%s] 200 us timer lateness: median %lld us, max %lld us\n",
            mode, (long long)(late[N / 2] / RT_NS_PER_US),
            (long long)(late[N - 1] / RT_NS_PER_US));
    CHECK_TIMELY(late[N / 2] < RT_NS_PER_MS,
                 "[%s] 200 us timers came back %lld us late (median)", mode,
                 (long long)(late[N / 2] / RT_NS_PER_US));
    rt_poller_free(p);
}

static void test_timeouts(void)
{
    rt_poller_t *p;
    CHECK_EQ(rt_poller_new(&p), 0);
    rt_timer_t t;
    rt_timer_init(&t);
    rt_timer_start(p, &t, rt_now_ns() + RT_NS_PER_S, record_fn, NULL);
    nfired = 0;
    /* Timeout 0 returns at once even with nothing to do. */
    for (int i = 0; i < 100; i++) {
        int64_t t0 = rt_now_ns();
        CHECK_EQ(rt_poller_poll(p, 0), 0);
        CHECK_TIMELY(rt_now_ns() - t0 < LATE_MAX_NS,
                     "[%s] a poll with timeout 0 took %lld ms", mode,
                     (long long)((rt_now_ns() - t0) / RT_NS_PER_MS));
    }
    /* A finite timeout waits at least that long, and not much longer. */
    int64_t t0 = rt_now_ns();
    CHECK_EQ(rt_poller_poll(p, 20 * RT_NS_PER_MS), 0);
    int64_t waited = rt_now_ns() - t0;
    CHECK_GE(waited, 20 * RT_NS_PER_MS);
    CHECK_TIMELY(waited < 20 * RT_NS_PER_MS + LATE_MAX_NS,
                 "[%s] a 20 ms poll took %lld ms", mode,
                 (long long)(waited / RT_NS_PER_MS));
    /* An enormous timeout is as good as an infinite one, not an overflow. */
    rt_poller_wake(p);
    CHECK_EQ(rt_poller_poll(p, INT64_MAX), 0);
    CHECK_EQ(nfired, 0);
    CHECK(rt_timer_cancel(p, &t));
    rt_poller_free(p);
}

/* ---- fds ------------------------------------------------------------ */

struct fdev {
    int fd;
    uint32_t revents;
};

static struct fdev fdevs[16];
static int nfdevs;

static void fd_fn(int fd, uint32_t revents, void *arg)
{
    CHECK_LT(nfdevs, 16);
    CHECK_EQ(fd, (int)(intptr_t)arg);
    fdevs[nfdevs++] = (struct fdev){fd, revents};
}

static bool fd_seen(void)
{
    return nfdevs > 0;
}

static void test_pipe(void)
{
    rt_poller_t *p;
    CHECK_EQ(rt_poller_new(&p), 0);
    int pfd[2];
    CHECK_EQ(pipe2(pfd, O_NONBLOCK | O_CLOEXEC), 0);
    void *arg = (void *)(intptr_t)pfd[0];

    CHECK_EQ(rt_poller_add_fd(p, pfd[0], EPOLLIN, fd_fn, arg), 0);
    CHECK_EQ(rt_poller_add_fd(p, pfd[0], EPOLLIN, fd_fn, arg), -EEXIST);
    CHECK_EQ(rt_poller_rearm_fd(p, pfd[1], EPOLLOUT, fd_fn, arg), -ENOENT);
    CHECK_EQ(rt_poller_del_fd(p, pfd[1]), -ENOENT);
    CHECK_EQ(rt_poller_add_fd(p, -1, EPOLLIN, fd_fn, arg), -EINVAL);
    nfdevs = 0;
    CHECK_EQ(rt_poller_poll(p, 0), 0);

    CHECK_EQ(write(pfd[1], "x", 1), 1);
    poll_until(p, fd_seen, 5 * RT_NS_PER_S);
    CHECK_EQ(nfdevs, 1);
    CHECK(fdevs[0].revents & EPOLLIN);

    /* One-shot: still readable, but disarmed until rearmed. */
    CHECK_EQ(rt_poller_poll(p, 20 * RT_NS_PER_MS), 0);
    CHECK_EQ(rt_poller_rearm_fd(p, pfd[0], EPOLLIN, fd_fn, arg), 0);
    CHECK_EQ(rt_poller_poll(p, RT_NS_PER_S), 1);
    CHECK_EQ(nfdevs, 2);

    /* Removed: no more callbacks even though data is waiting. */
    CHECK_EQ(rt_poller_rearm_fd(p, pfd[0], EPOLLIN, fd_fn, arg), 0);
    CHECK_EQ(rt_poller_del_fd(p, pfd[0]), 0);
    CHECK_EQ(rt_poller_del_fd(p, pfd[0]), -ENOENT);
    CHECK_EQ(rt_poller_poll(p, 20 * RT_NS_PER_MS), 0);
    CHECK_EQ(nfdevs, 2);

    /* Re-added, it reports again; the writer sees EPOLLOUT. */
    CHECK_EQ(rt_poller_add_fd(p, pfd[0], EPOLLIN, fd_fn, arg), 0);
    CHECK_EQ(
        rt_poller_add_fd(p, pfd[1], EPOLLOUT, fd_fn, (void *)(intptr_t)pfd[1]),
        0);
    int64_t end = rt_now_ns() + cb_test_scaled_ns(5 * RT_NS_PER_S);
    while (nfdevs < 4 && rt_now_ns() < end)
        CHECK_GE(rt_poller_poll(p, 100 * RT_NS_PER_MS), 0);
    CHECK_EQ(nfdevs, 4);

    /* Closing before del is tolerated (the kernel already dropped it). */
    close(pfd[0]);
    close(pfd[1]);
    CHECK_EQ(rt_poller_del_fd(p, pfd[0]), 0);
    CHECK_EQ(rt_poller_del_fd(p, pfd[1]), 0);
    rt_poller_free(p);
}

/*
 * Two fds ready in the same batch, and whichever callback runs first
 * removes the other: the removed one must not run.  Then it re-adds the
 * other: the stale event is still skipped, and the next poll reports it.
 */
static rt_poller_t *batch_poller;
static int batch_fds[2];
static int batch_runs;
static bool batch_readd;

static void batch_fn(int fd, uint32_t revents, void *arg)
{
    batch_runs++;
    int other = fd == batch_fds[0] ? batch_fds[1] : batch_fds[0];
    if (batch_runs == 1) {
        CHECK_EQ(rt_poller_del_fd(batch_poller, other), 0);
        if (batch_readd)
            CHECK_EQ(
                rt_poller_add_fd(batch_poller, other, EPOLLIN, batch_fn, NULL),
                0);
    }
}

static void test_stale_batch(void)
{
    for (int readd = 0; readd < 2; readd++) {
        CHECK_EQ(rt_poller_new(&batch_poller), 0);
        int a[2], b[2];
        CHECK_EQ(pipe2(a, O_NONBLOCK), 0);
        CHECK_EQ(pipe2(b, O_NONBLOCK), 0);
        batch_fds[0] = a[0];
        batch_fds[1] = b[0];
        batch_runs = 0;
        batch_readd = readd;
        CHECK_EQ(write(a[1], "x", 1), 1);
        CHECK_EQ(write(b[1], "x", 1), 1);
        CHECK_EQ(rt_poller_add_fd(batch_poller, a[0], EPOLLIN, batch_fn, NULL),
                 0);
        CHECK_EQ(rt_poller_add_fd(batch_poller, b[0], EPOLLIN, batch_fn, NULL),
                 0);
        /* Both are ready before the poll, so both land in one batch. */
        CHECK_EQ(rt_poller_poll(batch_poller, RT_NS_PER_S), 1);
        CHECK_EQ(batch_runs, 1);
        CHECK_EQ(rt_poller_poll(batch_poller, 20 * RT_NS_PER_MS), readd);
        CHECK_EQ(batch_runs, 1 + readd);
        rt_poller_free(batch_poller);
        close(a[0]);
        close(a[1]);
        close(b[0]);
        close(b[1]);
    }
}

static void test_tcp(void)
{
    rt_poller_t *p;
    CHECK_EQ(rt_poller_new(&p), 0);
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (ls < 0)
        SKIP("no IPv4 sockets: %s", strerror(errno));
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t salen = sizeof sa;
    if (bind(ls, (struct sockaddr *)&sa, salen) < 0)
        SKIP("cannot bind 127.0.0.1: %s", strerror(errno));
    CHECK_EQ(listen(ls, 4), 0);
    CHECK_EQ(getsockname(ls, (struct sockaddr *)&sa, &salen), 0);

    int cs = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    CHECK_GE(cs, 0);
    int rc = connect(cs, (struct sockaddr *)&sa, salen);
    CHECK(rc == 0 || errno == EINPROGRESS);

    nfdevs = 0;
    CHECK_EQ(rt_poller_add_fd(p, ls, EPOLLIN, fd_fn, (void *)(intptr_t)ls), 0);
    CHECK_EQ(rt_poller_add_fd(p, cs, EPOLLOUT, fd_fn, (void *)(intptr_t)cs), 0);
    int64_t end = rt_now_ns() + cb_test_scaled_ns(5 * RT_NS_PER_S);
    while (nfdevs < 2 && rt_now_ns() < end)
        CHECK_GE(rt_poller_poll(p, 100 * RT_NS_PER_MS), 0);
    CHECK_EQ(nfdevs, 2);
    int as = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    CHECK_GE(as, 0);

    /* Data one way, one-shot rearm, then the peer's close. */
    nfdevs = 0;
    CHECK_EQ(rt_poller_add_fd(p, as, EPOLLIN | EPOLLRDHUP, fd_fn,
                              (void *)(intptr_t)as),
             0);
    CHECK_EQ(rt_poller_poll(p, 10 * RT_NS_PER_MS), 0);
    CHECK_EQ(send(cs, "ping", 4, MSG_NOSIGNAL), 4);
    poll_until(p, fd_seen, 5 * RT_NS_PER_S);
    CHECK(fdevs[0].revents & EPOLLIN);
    char buf[8];
    CHECK_EQ(recv(as, buf, sizeof buf, 0), 4);
    CHECK(memcmp(buf, "ping", 4) == 0);

    CHECK_EQ(rt_poller_rearm_fd(p, as, EPOLLIN | EPOLLRDHUP, fd_fn,
                                (void *)(intptr_t)as),
             0);
    CHECK_EQ(rt_poller_poll(p, 10 * RT_NS_PER_MS), 0);
    close(cs);
    CHECK_EQ(rt_poller_poll(p, cb_test_scaled_ns(RT_NS_PER_S)), 1);
    CHECK(fdevs[1].revents & (EPOLLRDHUP | EPOLLHUP | EPOLLIN));
    CHECK_EQ(recv(as, buf, sizeof buf, 0), 0);

    CHECK_EQ(rt_poller_del_fd(p, as), 0);
    CHECK_EQ(rt_poller_del_fd(p, cs), 0); /* closed already */
    CHECK_EQ(rt_poller_del_fd(p, ls), 0);
    close(as);
    close(ls);
    rt_poller_free(p);
}

/* ---- wakes ---------------------------------------------------------- */

struct waker {
    rt_poller_t *p;
    atomic_int round;  /* owner -> waker: the round the owner waits in */
    atomic_int posted; /* waker -> owner: last round posted, before wake */
    int rounds;
    int64_t delay_ns;
};

static void *waker_main(void *arg)
{
    struct waker *w = arg;
    for (int r = 1; r <= w->rounds; r++) {
        while (atomic_load(&w->round) < r)
            sched_yield();
        if (w->delay_ns) {
            struct timespec ts = rt_ns_to_timespec(w->delay_ns);
            nanosleep(&ts, NULL);
        }
        atomic_store_explicit(&w->posted, r, memory_order_relaxed);
        rt_poller_wake(w->p);
    }
    return NULL;
}

/*
 * One wake per round, from another thread, into an infinite poll: a lost
 * wake hangs (and the alarm fails the test); the relaxed store of `posted`
 * must be visible once the poll returns, through the wake's release.
 */
static void run_wakes(int rounds, int64_t delay_ns)
{
    struct waker w = {.rounds = rounds, .delay_ns = delay_ns};
    CHECK_EQ(rt_poller_new(&w.p), 0);
    atomic_init(&w.round, 0);
    atomic_init(&w.posted, 0);
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, waker_main, &w), 0);
    for (int r = 1; r <= rounds; r++) {
        atomic_store(&w.round, r);
        while (atomic_load_explicit(&w.posted, memory_order_relaxed) < r) {
            int64_t t0 = rt_now_ns();
            CHECK_EQ(rt_poller_poll(w.p, -1), 0);
            CHECK_LT(rt_now_ns() - t0, cb_test_scaled_ns(5 * RT_NS_PER_S));
        }
    }
    CHECK_EQ(pthread_join(th, NULL), 0);
    rt_poller_free(w.p);
}

static void test_wake(void)
{
    rt_poller_t *p;
    CHECK_EQ(rt_poller_new(&p), 0);
    /* A wake before the poll is kept; several coalesce into one. */
    rt_poller_wake(p);
    rt_poller_wake(p);
    rt_poller_wake(p);
    CHECK_EQ(rt_poller_poll(p, -1), 0);
    int64_t t0 = rt_now_ns();
    CHECK_EQ(rt_poller_poll(p, 20 * RT_NS_PER_MS), 0);
    CHECK_GE(rt_now_ns() - t0, 20 * RT_NS_PER_MS);
    rt_poller_free(p);

    /* Blocked for real before the wake arrives. */
    run_wakes(5, 20 * RT_NS_PER_MS);
    /* Racing the poll's entry and exit, many times. */
    run_wakes(20000, 0);
}

static void run_timer_suite(void)
{
    test_order();
    test_ties_and_restart();
    test_cancel();
    test_callbacks();
    test_sub_millisecond();
    test_timeouts();
}

int main(void)
{
    /* A lost wake or a poll that never returns fails instead of hanging. */
    alarm((unsigned)(120 * cb_test_scale()));

    unsetenv("CONCBENCH_POLLER");
    run_timer_suite();
    test_pipe();
    test_stale_batch();
    test_tcp();
    test_wake();

    mode = "timerfd";
    setenv("CONCBENCH_POLLER", "timerfd", 1);
    run_timer_suite();
    test_pipe();
    test_wake();
    unsetenv("CONCBENCH_POLLER");
    return cb_test_exit();
}
