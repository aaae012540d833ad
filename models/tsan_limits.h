/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * What a ThreadSanitizer build cannot hold, for the models that would
 * otherwise cross it.
 *
 * TSan's deadlock detector (on by default; TSAN_OPTIONS=detect_deadlocks=0
 * turns it off) records at most 64 mutexes held by one thread
 * (sanitizer_deadlock_detector.h: all_locks_with_contexts_[64]) and stops
 * the process with a CHECK failure at the 65th: a bank audit of more than
 * 64 accounts on a lock-per-cell model did exactly that.  A model asked to
 * hold more pthread locks at once in such a build returns -ENOLCK instead
 * (no locks available), which the workload reports as the run's
 * "resource" outcome, before any lock is taken.
 */
#ifndef CB_TSAN_LIMITS_H
#define CB_TSAN_LIMITS_H

#include <stddef.h>

/* Most pthread locks one thread may hold at once in this build: 64 under
 * TSan with its deadlock detector on, SIZE_MAX otherwise. */
size_t cb_tsan_held_locks_max(void);

#endif
