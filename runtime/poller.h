/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * The IO poller: epoll for file descriptors plus a binary min-heap of
 * timers, owned by one thread (a scheduler or worker of a green model).
 *
 * Invariants:
 *   - only the owning thread calls anything but rt_poller_wake;
 *   - rt_poller_wake may be called from any thread (and from the owner) and
 *     makes a concurrent or the next rt_poller_poll return promptly;
 *   - timers fire in deadline order (ties in start order), never before
 *     their deadline, and each at most once per rt_timer_start;
 *   - callbacks run on the owner thread inside rt_poller_poll; a callback
 *     may start or cancel timers and add, rearm or remove fds, but not
 *     call rt_poller_poll or rt_poller_free;
 *   - an fd callback never runs for an fd removed, re-added or rearmed
 *     after its event was collected: the event is dropped, and the next
 *     poll reports the fd again if it is registered, armed and ready;
 *   - a timer started by a callback fires at the next rt_poller_poll at
 *     the earliest, even if already due (that poll then does not block);
 *     no later-deadline timer fires before it.
 *
 * An fd must be removed with rt_poller_del_fd before it is closed (a
 * closed fd is forgotten by epoll, and its number may be reused).
 * rt_timer_start cannot fail: running out of memory for the heap panics.
 * The design and the rejected alternatives are in poller.c.
 *
 * Timeouts are nanoseconds on rt_now_ns()'s clock: epoll_pwait2 gives
 * sub-millisecond waits where the kernel has it; otherwise a timerfd armed
 * for the next deadline does (epoll_wait's millisecond timeout would make
 * every sleep up to 1 ms late, which is what the probes measure).  Setting
 * CONCBENCH_POLLER=timerfd in the environment forces the timerfd path for
 * pollers created afterwards.
 */
#ifndef RT_POLLER_H
#define RT_POLLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rt_poller rt_poller_t;
typedef struct rt_timer rt_timer_t;

typedef void (*rt_timer_fn)(rt_timer_t *t, void *arg);
typedef void (*rt_fd_fn)(int fd, uint32_t revents, void *arg);

/* Intrusive timer: the caller owns the storage; fields are private. */
struct rt_timer {
    int64_t deadline_ns;
    uint64_t seq;  /* start order, breaks deadline ties */
    size_t heap_index; /* (size_t)-1 when not armed */
    rt_timer_fn fn;
    void *arg;
};

/* 0 or -errno; *out is the new poller. */
int rt_poller_new(rt_poller_t **out);
void rt_poller_free(rt_poller_t *p);

/*
 * Watch fd for events (EPOLLIN, EPOLLOUT, ...; one-shot: after the callback
 * runs the fd is disarmed until rt_poller_rearm_fd).  Returns 0 or -errno.
 */
int rt_poller_add_fd(rt_poller_t *p, int fd, uint32_t events, rt_fd_fn fn,
                     void *arg);
int rt_poller_rearm_fd(rt_poller_t *p, int fd, uint32_t events, rt_fd_fn fn,
                       void *arg);
int rt_poller_del_fd(rt_poller_t *p, int fd);

void rt_timer_init(rt_timer_t *t);
/* Arm t to call fn(t, arg) at deadline_ns (absolute); re-arms if armed. */
void rt_timer_start(rt_poller_t *p, rt_timer_t *t, int64_t deadline_ns,
                    rt_timer_fn fn, void *arg);
/* true when t was armed and is now cancelled (its callback will not run). */
bool rt_timer_cancel(rt_poller_t *p, rt_timer_t *t);
bool rt_timer_armed(const rt_timer_t *t);
/* Earliest armed deadline, or -1 when no timer is armed. */
int64_t rt_poller_next_deadline(const rt_poller_t *p);

/*
 * Wait up to timeout_ns (-1: until something happens; 0: do not block),
 * shortened to the next timer's deadline, then run the callbacks of ready
 * fds and then of due timers.  Returns the number of callbacks run (0 on
 * a wake, a signal or a timeout), or -errno.
 */
int rt_poller_poll(rt_poller_t *p, int64_t timeout_ns);

/* Thread-safe: make a blocked rt_poller_poll return soon. */
void rt_poller_wake(rt_poller_t *p);

#endif
