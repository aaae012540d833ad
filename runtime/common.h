/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Conventions shared by every runtime file.
 *
 * Errors: functions return 0 (or a count) on success and a negative
 * errno-style code on failure (-ENOMEM, -EINVAL, -ETIMEDOUT, ...).
 * A broken invariant is not an error: RT_ASSERT stays on in release builds
 * and aborts with a "concbench:"-prefixed message, because a benchmark that
 * continues past a broken invariant reports numbers that mean nothing.
 */
#ifndef RT_COMMON_H
#define RT_COMMON_H

#include <stddef.h>
#include <stdint.h>

#define RT_LIKELY(x) __builtin_expect(!!(x), 1)
#define RT_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define RT_NOINLINE __attribute__((noinline))
#define RT_ALWAYS_INLINE inline __attribute__((always_inline))
#define RT_CACHELINE 64
#define RT_ALIGNED_CACHELINE __attribute__((aligned(RT_CACHELINE)))

/* Print "concbench: <message>" to stderr and abort. Async-signal-unsafe. */
__attribute__((noreturn, format(printf, 1, 2))) void rt_panic(const char *fmt,
                                                               ...);

#define RT_ASSERT(cond)                                                        \
    do {                                                                       \
        if (RT_UNLIKELY(!(cond)))                                              \
            rt_panic("%s:%d: assertion failed: %s", __FILE__, __LINE__,        \
                     #cond);                                                   \
    } while (0)

#endif
