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

#endif
