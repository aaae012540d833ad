/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * The one clock of concbench: CLOCK_MONOTONIC in nanoseconds.  The vDSO
 * makes it a ~20 ns call with no syscall; CLOCK_MONOTONIC_RAW was rejected
 * because timers (epoll, nanosleep) run on CLOCK_MONOTONIC and lateness is
 * measured against them.
 */
#ifndef RT_CLOCK_H
#define RT_CLOCK_H

#include <stdint.h>
#include <time.h>

#define RT_NS_PER_US 1000LL
#define RT_NS_PER_MS 1000000LL
#define RT_NS_PER_S 1000000000LL

static inline int64_t rt_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * RT_NS_PER_S + ts.tv_nsec;
}

static inline struct timespec rt_ns_to_timespec(int64_t ns)
{
    struct timespec ts = {.tv_sec = ns / RT_NS_PER_S,
                          .tv_nsec = ns % RT_NS_PER_S};
    return ts;
}

#endif
