/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Ending a task early in the models whose task is a call on an OS thread
 * (`threads`, `locks`, `stm`, and csp's `thread`): what an uncaught
 * exception does to a JVM thread, which Thread.dispatchUncaughtException
 * reports (the default handler, ThreadGroup.uncaughtException, prints
 * "Exception in thread ..." and the stack trace to System.err) before
 * the thread ends; the other threads run on.
 *
 * cb_crash_call(fn, arg) runs fn(arg) with a landing frame (setjmp) that
 * cb_crash_unwind jumps back to (longjmp): the C frames in between are
 * abandoned, not unwound, so a task must not hold a lock or own memory it
 * still needs when it exits this way; model.h says so at cb_exit.  The
 * frame is thread-local, and calls nest (a pool thread that runs a task
 * inside another's wait keeps both).
 *
 * Rejected: pthread_exit (it ends the thread itself, which a pool thread
 * must survive, and unwinds through frames compiled without unwind
 * tables), and a flag the task polls (cb_exit must not return).
 */
#ifndef CB_CRASH_H
#define CB_CRASH_H

#include "models/model.h"

#include <stdbool.h>

/* fn(arg) under a landing frame; false when it ended by cb_crash_unwind. */
bool cb_crash_call(cb_task_fn fn, void *arg);
/* Whether the calling thread runs under cb_crash_call. */
bool cb_crash_active(void);
/* Jump to the innermost landing frame of the calling thread. */
__attribute__((noreturn)) void cb_crash_unwind(void);

/*
 * The exit_self slot of a thread model: `normal` ends the task quietly
 * (as a thread's run() returning); any other reason is reported on stderr
 * as an uncaught exception of task `id` (what) and ends the task.  The
 * reason is consumed.
 */
__attribute__((noreturn)) void cb_crash_exit_thread(cb_term_t reason,
                                                    uint64_t id,
                                                    const char *what);

/* Whether reason is the atom `normal`. */
bool cb_crash_is_normal(cb_term_t reason);

#endif
