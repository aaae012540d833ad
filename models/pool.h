/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Tasks on an executor of OS threads (runtime/executor.h), for the
 * models whose tasks are JVM-style pool tasks: `locks` and `stm`.  They
 * differ in how tasks share, not in how tasks run, so the task slots of
 * their tables, their lifecycle and their pool parameters live here once.
 *
 * A task's abnormal cb_exit is an uncaught exception: the task ends, the
 * pool thread runs on (models/crash.h), and the JVM has no links or
 * monitors to tell anyone (CB_POOL_NO_LINKS, CB_POOL_NO_MONITORS).
 *
 * A cb_task_t of these models is the executor's task under the model
 * API's opaque name.  One executor exists at a time, as one model is
 * active at a time.
 */
#ifndef CB_POOL_H
#define CB_POOL_H

#include "models/model.h"
#include "runtime/executor.h"

/* The pool's parameters, for the model's parameter table. */
#define CB_POOL_PARAMS                                                         \
    {.name = "compensate",                                                     \
     .kind = CB_PARAM_ENUM,                                                    \
     .help = "start spare threads while tasks block (ForkJoinPool managed "    \
             "blocking); off: a fixed pool that can starve",                   \
     .choices = "on|off",                                                      \
     .enum_def = "on"},                                                        \
        {.name = "pool",                                                       \
         .kind = CB_PARAM_INT,                                                 \
         .unit = "threads",                                                    \
         .help = "core threads of the executor; 0: one per PU of --cpus",      \
         .def = 0,                                                             \
         .quick = 0,                                                           \
         .min = 0,                                                             \
         .max = 4096},                                                         \
        {.name = "max_threads",                                                \
         .kind = CB_PARAM_INT,                                                 \
         .unit = "threads",                                                    \
         .help = "cap on threads, spares included",                            \
         .def = 16384,                                                         \
         .quick = 16384,                                                       \
         .min = 1,                                                             \
         .max = 1000000},                                                      \
    {                                                                          \
        .name = "stack", .kind = CB_PARAM_INT, .unit = "KiB",                  \
        .help = "stack size of each pool thread (address space)", .def = 256,  \
        .quick = 256, .min = 64, .max = 1024 * 1024                            \
    }

/* Start the executor from the CB_POOL_PARAMS in params; each member
 * thread gets thread_data_size zeroed bytes (rt_exec_thread_data). */
int cb_pool_start(const cb_param_set_t *params, const cb_model_env_t *env,
                  size_t thread_data_size, char *err, size_t errlen);
int cb_pool_run(cb_task_fn root, void *arg);
int cb_pool_stop(char *err, size_t errlen);
/* The executor while started, else NULL. */
rt_exec_t *cb_pool_exec(void);
/* The executor's counters (threads, spares, tasks, blocking). */
size_t cb_pool_counters(cb_counter_t *out, size_t max);
size_t cb_pool_task_cost(const cb_param_set_t *params);
/* The threads_for slot: a blocked task holds a thread (see pool.c). */
int64_t cb_pool_threads_for(const cb_param_set_t *params, int ncpus,
                            int64_t tasks, int64_t *most);

/* Task slots of the model table. */
int cb_pool_spawn(cb_task_fn fn, void *arg, const cb_spawn_opts_t *opts,
                  cb_task_t **out);
int cb_pool_join(cb_task_t *t);
cb_task_t *cb_pool_self(void);
uint64_t cb_pool_task_id(const cb_task_t *t);
void cb_pool_reduce_slow(void);
/* cb_exit: an uncaught exception ends the task, not its thread. */
__attribute__((noreturn)) void cb_pool_exit_self(cb_term_t reason);

/* The JVM's answer to links and monitors, for the unsupported tables. */
#define CB_POOL_NO_LINKS                                                       \
    "the JVM has no links: a thread's uncaught exception ends that thread "   \
    "only (Thread.UncaughtExceptionHandler), and nothing is told unless "      \
    "the program catches it; Thread.stop, the only way to kill another "       \
    "thread, throws UnsupportedOperationException since Java 20"
#define CB_POOL_NO_MONITORS                                                    \
    "the JVM has no monitors of a thread's death; a program joins the "       \
    "thread or reads its Future's ExecutionException"

#endif
