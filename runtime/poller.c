/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * The epoll poller and its timer heap.
 *
 * What it guarantees (see poller.h for the contract):
 *   - a timer fires at most once per rt_timer_start, never before its
 *     deadline on rt_now_ns()'s clock, and due timers fire in (deadline,
 *     start order) order;
 *   - an fd callback runs at most once per add or rearm, and never for an
 *     fd that was removed, re-added or rearmed after its event was
 *     collected (see "Events that go stale inside one batch" below);
 *   - a wake from any thread is never lost: it makes the poll in progress,
 *     or failing that the next one, return.
 *
 * Invariants:
 *   - heap[i]->heap_index == i for every armed timer, every other timer has
 *     heap_index == NOT_ARMED, and heap[0] is the (deadline, seq) minimum;
 *   - fds[fd].live iff fd is registered with epoll through this poller, and
 *     the epoll data of a live fd carries fds[fd].gen;
 *   - wake_pending is true from a waker's first exchange until the owner
 *     has drained the eventfd and cleared it, and the eventfd is readable
 *     whenever wake_pending is true and the owner is not inside the drain.
 *
 * Why a binary heap of intrusive timers.  The caller embeds rt_timer_t in
 * its task, so starting a timer allocates nothing but the occasional
 * doubling of the pointer array, and heap_index makes cancel O(log n)
 * without a search.  Rejected: a hierarchical timer wheel (O(1), but its
 * slots are coarse, so the nanosecond deadlines this suite measures would
 * have to be re-sorted inside a slot anyway, and it cascades in bursts);
 * a sorted list (O(n) insert, and a million sleeping tasks are a workload
 * here); a red-black tree (the same O(log n) with three pointers per timer
 * and worse locality than an array); one timerfd per timer (a syscall per
 * start and cancel, and one fd per sleeping task runs out of fds).
 *
 * Why one-shot fds.  A green task waits on an fd once per io_wait; after
 * the wake-up the fd must stay quiet until the task waits again, or the
 * poller would spin on a level-triggered fd nobody is reading.  Keeping
 * the registration and re-arming it with EPOLL_CTL_MOD costs one syscall
 * per wait, where deleting and re-adding would cost two.  Edge-triggered
 * mode was rejected because it obliges every reader to drain to EAGAIN
 * and to remember edges that arrived while no task was waiting.
 * EPOLLONESHOT also makes the kernel, not this file, guarantee that one
 * arming yields at most one event.
 *
 * Why an eventfd for wakes.  It is one fd whose 8-byte counter coalesces
 * any number of writes into one readable state, drained by one read.
 * Rejected: a self-pipe (two fds, and a full pipe blocks or drops the
 * writer), a signal (EINTR handling everywhere, and the owner's signal
 * mask would have to be swapped around every wait).  The wake_pending flag
 * in front of it makes repeated wakes between two polls cost one atomic
 * exchange instead of one write(2) each.
 *
 * Why epoll_pwait2.  epoll_wait takes milliseconds and rounds up, so every
 * short sleep would be up to 1 ms late.  epoll_pwait2 (Linux 5.11) takes a
 * timespec.  On an older kernel (or under valgrind, which does not know
 * the syscall) the first call fails with ENOSYS; from then on this poller,
 * and every poller created later, arms a timerfd (hrtimer precision,
 * absolute deadline on CLOCK_MONOTONIC) for the wait's end and calls
 * epoll_wait with an infinite timeout.  CONCBENCH_POLLER=timerfd in the
 * environment forces that path, so it can be tested and measured on any
 * kernel.  Measured by bench_poller on a 2-vCPU VM, the two differ in
 * punctuality: epoll_pwait2 sleeps with the thread's timer slack (50 us
 * by default, see PR_SET_TIMERSLACK in prctl(2)), so a 100 us timer comes
 * back ~72 us late at the median, while a timerfd is an hrtimer with no
 * slack and comes back ~23 us late, at the price of a timerfd_settime
 * call whenever the next deadline changes.  epoll_pwait2 with a 1 ns
 * slack matches the timerfd.  epoll_pwait2 stays the default because the
 * slack is the owner thread's to choose: a worker that wants tight timers
 * sets its own.
 *
 * Events that go stale inside one batch.  epoll_pwait2 returns up to
 * NEVENTS events, then their callbacks run one after another, and any of
 * them may remove, re-add or rearm another fd whose event is still waiting
 * in the array.  Each registration carries a generation number, bumped by
 * add, rearm and del, and stored in the event's data; an event whose
 * generation is no longer the fd's is skipped.  Nothing is lost by this:
 * a rearmed or re-added fd that is still ready is reported again by the
 * next poll, because epoll is level-triggered underneath EPOLLONESHOT.
 *
 * Timers started by a callback.  The timer pass fires due timers in heap
 * order and stops at the first timer started during the pass, even if it
 * is due: such a timer fires at the next rt_poller_poll, which then does
 * not block.  Strict deadline order is kept (nothing behind it in the
 * heap fires first), and a callback that re-arms its timer in the past
 * cannot keep one rt_poller_poll from returning.
 */
#include "runtime/poller.h"

#include "runtime/clock.h"
#include "runtime/common.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

/*
 * Events taken per wait (12 bytes each).  More ready fds than this are
 * reported by the next poll, since they stay ready.  64 is a guess, not a
 * measurement: it bounds how long one batch of fd callbacks can hold off
 * the due timers, and it has not shown up in bench_poller.
 */
#define NEVENTS 64
#define NOT_ARMED ((size_t)-1)

/*
 * epoll data of the poller's own fds.  A user fd's data is gen << 32 | fd
 * with fd < 2^31, so its low half can never be all ones.
 */
#define TAG_WAKE UINT64_MAX
#define TAG_TIMERFD (UINT64_MAX - 1)

/*
 * Set once any poller has seen epoll_pwait2 fail with ENOSYS, so later
 * pollers skip straight to the timerfd instead of probing again (valgrind,
 * for one, reports every probe).  Relaxed is enough: it is a hint about
 * the kernel, a thread that misses it just probes once more, and it
 * publishes no other data.
 */
static atomic_bool pwait2_missing;

struct fdreg {
    rt_fd_fn fn;
    void *arg;
    uint32_t gen; /* bumped by add, rearm and del */
    bool live;
};

struct rt_poller {
    /*
     * Shared with waking threads, on its own cache line so that wakers do
     * not bounce the owner's fields.  evfd is immutable after
     * rt_poller_new.
     */
    struct {
        atomic_bool wake_pending;
        int evfd;
    } shared RT_ALIGNED_CACHELINE;

    /* Everything below belongs to the owner thread. */
    int epfd RT_ALIGNED_CACHELINE;
    int tfd;              /* timerfd of the fallback path, or -1 */
    bool use_pwait2;      /* false after ENOSYS or when forced */
    bool polling;         /* inside rt_poller_poll's dispatch */
    int64_t tfd_deadline; /* absolute deadline tfd is armed for, or -1 */

    rt_timer_t **heap;
    size_t nheap, heap_cap;
    uint64_t next_seq;

    struct fdreg *fds; /* indexed by fd */
    size_t nfds;

    struct epoll_event events[NEVENTS];
};

/* ---- timer heap ---------------------------------------------------- */

static inline bool timer_before(const rt_timer_t *a, const rt_timer_t *b)
{
    return a->deadline_ns < b->deadline_ns ||
           (a->deadline_ns == b->deadline_ns && a->seq < b->seq);
}

static inline void heap_put(rt_poller_t *p, size_t i, rt_timer_t *t)
{
    p->heap[i] = t;
    t->heap_index = i;
}

static void sift_up(rt_poller_t *p, size_t i)
{
    rt_timer_t *t = p->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!timer_before(t, p->heap[parent]))
            break;
        heap_put(p, i, p->heap[parent]);
        i = parent;
    }
    heap_put(p, i, t);
}

static void sift_down(rt_poller_t *p, size_t i)
{
    rt_timer_t *t = p->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= p->nheap)
            break;
        if (c + 1 < p->nheap && timer_before(p->heap[c + 1], p->heap[c]))
            c++;
        if (!timer_before(p->heap[c], t))
            break;
        heap_put(p, i, p->heap[c]);
        i = c;
    }
    heap_put(p, i, t);
}

static void heap_insert(rt_poller_t *p, rt_timer_t *t)
{
    if (p->nheap == p->heap_cap) {
        size_t cap = p->heap_cap ? 2 * p->heap_cap : 64;
        rt_timer_t **heap = realloc(p->heap, cap * sizeof *heap);
        /* The contract gives rt_timer_start no way to fail. */
        if (!heap)
            rt_panic("poller: out of memory for %zu timers", cap);
        p->heap = heap;
        p->heap_cap = cap;
    }
    heap_put(p, p->nheap++, t);
    sift_up(p, t->heap_index);
}

static void heap_remove(rt_poller_t *p, rt_timer_t *t)
{
    size_t i = t->heap_index;
    RT_ASSERT(i < p->nheap && p->heap[i] == t);
    rt_timer_t *last = p->heap[--p->nheap];
    t->heap_index = NOT_ARMED;
    if (last == t)
        return;
    heap_put(p, i, last);
    if (i > 0 && timer_before(last, p->heap[(i - 1) / 2]))
        sift_up(p, i);
    else
        sift_down(p, i);
}

void rt_timer_init(rt_timer_t *t)
{
    memset(t, 0, sizeof *t);
    t->heap_index = NOT_ARMED;
}

void rt_timer_start(rt_poller_t *p, rt_timer_t *t, int64_t deadline_ns,
                    rt_timer_fn fn, void *arg)
{
    RT_ASSERT(deadline_ns >= 0 && fn != NULL);
    if (t->heap_index != NOT_ARMED)
        heap_remove(p, t);
    t->deadline_ns = deadline_ns;
    t->seq = p->next_seq++;
    t->fn = fn;
    t->arg = arg;
    heap_insert(p, t);
}

bool rt_timer_cancel(rt_poller_t *p, rt_timer_t *t)
{
    if (t->heap_index == NOT_ARMED)
        return false;
    heap_remove(p, t);
    return true;
}

bool rt_timer_armed(const rt_timer_t *t)
{
    return t->heap_index != NOT_ARMED;
}

int64_t rt_poller_next_deadline(const rt_poller_t *p)
{
    return p->nheap ? p->heap[0]->deadline_ns : -1;
}

/* ---- creation ------------------------------------------------------ */

static int epoll_add_tag(int epfd, int fd, uint64_t tag)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = tag};
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static int enable_timerfd(rt_poller_t *p)
{
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = epoll_add_tag(p->epfd, fd, TAG_TIMERFD);
    if (rc < 0) {
        close(fd);
        return rc;
    }
    p->tfd = fd;
    p->tfd_deadline = -1;
    p->use_pwait2 = false;
    return 0;
}

int rt_poller_new(rt_poller_t **out)
{
    int rc;
    rt_poller_t *p = aligned_alloc(RT_CACHELINE, sizeof *p);
    if (!p)
        return -ENOMEM;
    memset(p, 0, sizeof *p);
    atomic_init(&p->shared.wake_pending, false);
    p->shared.evfd = -1;
    p->tfd = -1;
    p->tfd_deadline = -1;
    p->use_pwait2 = true;

    p->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (p->epfd < 0) {
        rc = -errno;
        goto fail_free;
    }
    p->shared.evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (p->shared.evfd < 0) {
        rc = -errno;
        goto fail_epoll;
    }
    rc = epoll_add_tag(p->epfd, p->shared.evfd, TAG_WAKE);
    if (rc < 0)
        goto fail_eventfd;
    const char *mode = getenv("CONCBENCH_POLLER");
    if ((mode && strcmp(mode, "timerfd") == 0) ||
        atomic_load_explicit(&pwait2_missing, memory_order_relaxed)) {
        rc = enable_timerfd(p);
        if (rc < 0)
            goto fail_eventfd;
    }
    *out = p;
    return 0;

fail_eventfd:
    close(p->shared.evfd);
fail_epoll:
    close(p->epfd);
fail_free:
    free(p);
    return rc;
}

void rt_poller_free(rt_poller_t *p)
{
    if (!p)
        return;
    RT_ASSERT(!p->polling);
    /* The timers belong to the caller: leave them visibly disarmed. */
    for (size_t i = 0; i < p->nheap; i++)
        p->heap[i]->heap_index = NOT_ARMED;
    if (p->tfd >= 0)
        close(p->tfd);
    close(p->shared.evfd);
    close(p->epfd);
    free(p->heap);
    free(p->fds);
    free(p);
}

/* ---- fds ----------------------------------------------------------- */

static int fd_table_reserve(rt_poller_t *p, int fd)
{
    size_t need = (size_t)fd + 1;
    if (need <= p->nfds)
        return 0;
    size_t n = p->nfds ? p->nfds : 64;
    while (n < need)
        n *= 2;
    struct fdreg *fds = realloc(p->fds, n * sizeof *fds);
    if (!fds)
        return -ENOMEM;
    memset(fds + p->nfds, 0, (n - p->nfds) * sizeof *fds);
    p->fds = fds;
    p->nfds = n;
    return 0;
}

static int fd_ctl(rt_poller_t *p, int op, int fd, uint32_t events)
{
    struct epoll_event ev = {
        .events = events | EPOLLONESHOT,
        .data.u64 = (uint64_t)p->fds[fd].gen << 32 | (uint32_t)fd,
    };
    return epoll_ctl(p->epfd, op, fd, &ev) < 0 ? -errno : 0;
}

int rt_poller_add_fd(rt_poller_t *p, int fd, uint32_t events, rt_fd_fn fn,
                     void *arg)
{
    if (fd < 0 || !fn)
        return -EINVAL;
    int rc = fd_table_reserve(p, fd);
    if (rc < 0)
        return rc;
    struct fdreg *r = &p->fds[fd];
    if (r->live)
        return -EEXIST;
    r->gen++;
    rc = fd_ctl(p, EPOLL_CTL_ADD, fd, events);
    if (rc < 0)
        return rc;
    r->fn = fn;
    r->arg = arg;
    r->live = true;
    return 0;
}

int rt_poller_rearm_fd(rt_poller_t *p, int fd, uint32_t events, rt_fd_fn fn,
                       void *arg)
{
    if (fd < 0 || !fn)
        return -EINVAL;
    if ((size_t)fd >= p->nfds || !p->fds[fd].live)
        return -ENOENT;
    struct fdreg *r = &p->fds[fd];
    /* Supersede an event for this fd still waiting in the current batch. */
    r->gen++;
    r->fn = fn;
    r->arg = arg;
    return fd_ctl(p, EPOLL_CTL_MOD, fd, events);
}

int rt_poller_del_fd(rt_poller_t *p, int fd)
{
    if (fd < 0 || (size_t)fd >= p->nfds || !p->fds[fd].live)
        return -ENOENT;
    struct fdreg *r = &p->fds[fd];
    r->live = false;
    r->gen++;
    if (epoll_ctl(p->epfd, EPOLL_CTL_DEL, fd, NULL) < 0) {
        /*
         * EBADF: the caller closed fd first, which already removed it from
         * epoll (unless the file is open elsewhere, see the header).
         */
        if (errno != EBADF && errno != ENOENT)
            return -errno;
    }
    return 0;
}

/* ---- waiting ------------------------------------------------------- */

void rt_poller_wake(rt_poller_t *p)
{
    /*
     * Release pairs with the owner's acquire exchange in drain_wake, so
     * what this thread wrote before waking (a task pushed on a run queue)
     * is visible to the owner once its poll returns.  An RMW rather than a
     * load: of many concurrent wakers exactly one must see false and
     * write the eventfd.  A waker that sees true relies on that writer's
     * eventfd write, which the owner has not drained yet (it drains before
     * it clears the flag).
     */
    if (atomic_exchange_explicit(&p->shared.wake_pending, true,
                                 memory_order_release))
        return;
    uint64_t one = 1;
    ssize_t n;
    do
        n = write(p->shared.evfd, &one, sizeof one);
    while (n < 0 && errno == EINTR);
    /* EAGAIN would need 2^64 - 2 undrained wakes. */
    RT_ASSERT(n == (ssize_t)sizeof one);
}

static void drain_wake(rt_poller_t *p)
{
    uint64_t v;
    ssize_t n;
    do
        n = read(p->shared.evfd, &v, sizeof v);
    while (n < 0 && errno == EINTR);
    /*
     * Drain, then clear: clearing first would let a waker set the flag and
     * write the eventfd just before the read swallows that write, leaving
     * the flag set with nothing readable, and every later wake skipped.
     * Acquire pairs with the release exchange in rt_poller_wake; every
     * write to the flag is an RMW, so this synchronizes with each waker
     * that saw true since the last clear.
     */
    atomic_exchange_explicit(&p->shared.wake_pending, false,
                             memory_order_acquire);
}

static void drain_timerfd(rt_poller_t *p)
{
    uint64_t v;
    ssize_t n;
    do
        n = read(p->tfd, &v, sizeof v);
    while (n < 0 && errno == EINTR);
    /* A one-shot timerfd that has expired is disarmed. */
    p->tfd_deadline = -1;
}

/* Arm the fallback timerfd for an absolute deadline, or disarm it (-1). */
static int arm_timerfd(rt_poller_t *p, int64_t until)
{
    if (until == p->tfd_deadline)
        return 0;
    struct itimerspec its = {0};
    if (until >= 0) {
        /* it_value zero means disarm, and CLOCK_MONOTONIC is never 0. */
        its.it_value = rt_ns_to_timespec(until > 0 ? until : 1);
    }
    if (timerfd_settime(p->tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
        return -errno;
    p->tfd_deadline = until;
    return 0;
}

/* Wait until `until` (absolute ns), -1 for ever; returns events or -errno. */
static int wait_events(rt_poller_t *p, int64_t until, int64_t now)
{
    int n;
    if (p->use_pwait2) {
        struct timespec ts, *tsp = NULL;
        if (until >= 0) {
            ts = rt_ns_to_timespec(until > now ? until - now : 0);
            tsp = &ts;
        }
        n = epoll_pwait2(p->epfd, p->events, NEVENTS, tsp, NULL);
        if (n >= 0)
            return n;
        if (errno != ENOSYS)
            return errno == EINTR ? 0 : -errno;
        atomic_store_explicit(&pwait2_missing, true, memory_order_relaxed);
        int rc = enable_timerfd(p);
        if (rc < 0)
            return rc;
    }
    int ms = -1;
    if (until >= 0 && until <= now) {
        ms = 0;
    } else {
        int rc = arm_timerfd(p, until);
        if (rc < 0)
            return rc;
    }
    n = epoll_wait(p->epfd, p->events, NEVENTS, ms);
    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    return n;
}

static int dispatch_fds(rt_poller_t *p, int n)
{
    int ran = 0;
    for (int i = 0; i < n; i++) {
        uint64_t data = p->events[i].data.u64;
        if (data == TAG_WAKE) {
            drain_wake(p);
            continue;
        }
        if (data == TAG_TIMERFD) {
            drain_timerfd(p);
            continue;
        }
        int fd = (int)(uint32_t)data;
        uint32_t gen = (uint32_t)(data >> 32);
        /*
         * Re-read the table for every event: an earlier callback of this
         * batch may have removed or rearmed this fd, or grown the table.
         */
        if ((size_t)fd >= p->nfds)
            continue;
        const struct fdreg *r = &p->fds[fd];
        if (!r->live || r->gen != gen)
            continue;
        rt_fd_fn fn = r->fn;
        void *arg = r->arg;
        fn(fd, p->events[i].events, arg);
        ran++;
    }
    return ran;
}

static int fire_timers(rt_poller_t *p)
{
    if (p->nheap == 0)
        return 0;
    int ran = 0;
    uint64_t started_before = p->next_seq;
    int64_t now = rt_now_ns();
    while (p->nheap > 0) {
        rt_timer_t *t = p->heap[0];
        if (t->deadline_ns > now || t->seq >= started_before)
            break;
        heap_remove(p, t);
        /* Disarmed before the call, so the callback may start it again. */
        t->fn(t, t->arg);
        ran++;
    }
    return ran;
}

int rt_poller_poll(rt_poller_t *p, int64_t timeout_ns)
{
    RT_ASSERT(!p->polling);
    int64_t now = rt_now_ns();
    /* A timeout too long to add to now is as good as none. */
    int64_t until = -1;
    if (timeout_ns >= 0 && timeout_ns <= INT64_MAX - now)
        until = now + timeout_ns;
    if (p->nheap > 0) {
        int64_t d = p->heap[0]->deadline_ns;
        if (until < 0 || d < until)
            until = d;
    }
    int n = wait_events(p, until, now);
    if (n < 0)
        return n;
    p->polling = true;
    int ran = dispatch_fds(p, n);
    ran += fire_timers(p);
    p->polling = false;
    return ran;
}
