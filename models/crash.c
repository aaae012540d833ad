/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/* Landing frames for tasks that end early: see crash.h. */
#include "models/crash.h"

#include "runtime/common.h"

#include <setjmp.h>
#include <stdio.h>

static _Thread_local jmp_buf *landing;

bool cb_crash_call(cb_task_fn fn, void *arg)
{
    jmp_buf here;
    jmp_buf *outer = landing;
    if (setjmp(here)) {
        landing = outer;
        return false;
    }
    landing = &here;
    fn(arg);
    landing = outer;
    return true;
}

bool cb_crash_active(void)
{
    return landing != NULL;
}

void cb_crash_unwind(void)
{
    if (!landing)
        rt_panic("a task exited outside any task frame");
    longjmp(*landing, 1);
}

bool cb_crash_is_normal(cb_term_t reason)
{
    return cb_is_atom(reason) && reason == cb_atom("normal");
}

void cb_crash_exit_thread(cb_term_t reason, uint64_t id, const char *what)
{
    if (!cb_crash_is_normal(reason)) {
        char why[256];
        cb_term_format(reason, why, sizeof why);
        fprintf(stderr, "Exception in thread \"task-%llu\" %s: %s\n",
                (unsigned long long)id, what, why);
    }
    cb_term_release(reason);
    cb_crash_unwind();
}
