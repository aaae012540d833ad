/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/* Executor-backed tasks for the `locks` and `stm` models: see pool.h. */
#include "models/pool.h"

#include "models/crash.h"

#include "runtime/clock.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Set between cb_pool_start and a successful cb_pool_stop. */
static rt_exec_t *exec;

/* Every task runs under a landing frame, so that cb_exit ends the task
 * and leaves its pool thread to run the next one: a pooled JVM task that
 * throws ends, and the pool goes on (ThreadPoolExecutor replaces the
 * worker thread, ForkJoinPool records the exception in the task). */
static void call_task(rt_exec_fn fn, void *arg)
{
    cb_crash_call(fn, arg);
}

int cb_pool_start(const cb_param_set_t *params, const cb_model_env_t *env,
                  size_t thread_data_size, char *err, size_t errlen)
{
    rt_exec_opts_t o = {
        .cpus = env->cpus,
        .ncpus = env->ncpus,
        .parallelism = (int)cb_params_int(params, "pool"),
        .compensate = strcmp(cb_params_str(params, "compensate"), "on") == 0,
        .max_threads = (int)cb_params_int(params, "max_threads"),
        .stack_size = (size_t)cb_params_int(params, "stack") * 1024,
        /* ForkJoinPool's keep-alive is 60 s; a run is seconds long, so a
         * spare that idles for 1 s is not coming back to work. */
        .keepalive_ns = RT_NS_PER_S,
        .thread_data_size = thread_data_size,
        .call = call_task,
    };
    if (o.max_threads < o.parallelism) {
        snprintf(err, errlen, "max_threads (%d) is below pool (%d)",
                 o.max_threads, o.parallelism);
        return -EINVAL;
    }
    int rc = rt_exec_new(&o, &exec);
    if (rc < 0)
        snprintf(err, errlen, "starting the executor: %s", cb_strerror(rc));
    /* The kernel preempts: keep cb_reduce a single decrement. */
    cb__budget = INT64_MAX;
    return rc;
}

int cb_pool_run(cb_task_fn root, void *arg)
{
    cb__budget = INT64_MAX;
    rt_exec_run(exec, root, arg);
    return 0;
}

int cb_pool_stop(char *err, size_t errlen)
{
    /* Tasks that outlive the root are a workload bug, or stuck in a
     * deadlock the workload reported: a second of grace, then -EBUSY. */
    int rc = rt_exec_free(exec, RT_NS_PER_S, err, errlen);
    if (rc == 0)
        exec = NULL;
    return rc;
}

rt_exec_t *cb_pool_exec(void)
{
    return exec;
}

size_t cb_pool_counters(cb_counter_t *out, size_t max)
{
    if (!exec)
        return 0;
    rt_exec_stats_t s;
    rt_exec_stats(exec, &s);
    const cb_counter_t all[] = {
        {"threads_started", s.threads_started},
        {"threads_peak", s.threads_peak},
        {"spares_started", s.spares_started},
        {"tasks_run", s.tasks_run},
        {"blocks", s.blocks},
        {"blocked_ns", s.blocked_ns},
    };
    size_t n = 0;
    for (; n < max && n < sizeof all / sizeof all[0]; n++)
        out[n] = all[n];
    return n;
}

size_t cb_pool_task_cost(const cb_param_set_t *params)
{
    /* A queued task is a 48-byte record; one that blocks holds a thread:
     * kernel stack and task_struct (~20 KiB) plus the touched top of its
     * stack, as for the threads model. */
    (void)params;
    return 32 * 1024;
}

/*
 * How many tasks the pool can hold blocked at once.  A blocked task keeps
 * its thread, as on the JVM, so with compensation each one past the core
 * threads needs a spare, up to max_threads; past that the JVM refuses the
 * block (ForkJoinPool.tryCompensate throws RejectedExecutionException,
 * "Thread limit exceeded replacing blocked worker": openjdk/jdk,
 * src/java.base/share/classes/java/util/concurrent/ForkJoinPool.java)
 * and here the queued tasks would wait for ever behind the blocked ones.
 * So a run that keeps more tasks alive (a workload's estimate) than
 * max_threads is refused before it starts, at once, with the cap named,
 * instead of hanging until the runner's timeout.  Without compensation
 * the pool is fixed at `pool` threads and starving is the point of that
 * setting (the fixed pool's pathology): nothing is refused.
 */
int64_t cb_pool_threads_for(const cb_param_set_t *params, int ncpus,
                            int64_t tasks, int64_t *most)
{
    int64_t core = cb_params_int(params, "pool");
    if (core == 0)
        core = ncpus > 0 ? ncpus : 1;
    if (strcmp(cb_params_str(params, "compensate"), "on") != 0)
        return core;
    int64_t cap = cb_params_int(params, "max_threads");
    /* The root runs on the caller's thread, not the pool's. */
    int64_t blocked = tasks > 0 ? tasks - 1 : 0;
    if (blocked > cap) {
        *most = cap;
        return -1;
    }
    return blocked > core ? blocked : core;
}

int cb_pool_spawn(cb_task_fn fn, void *arg, const cb_spawn_opts_t *opts,
                  cb_task_t **out)
{
    /* Pool threads have one stack size (`-p stack=`); the JVM has no
     * links or monitors to spawn with. */
    if (opts && (opts->link || opts->monitor_ref))
        return -ENOTSUP;
    return rt_exec_submit(exec, fn, arg, (rt_exec_task_t **)out);
}

int cb_pool_join(cb_task_t *t)
{
    return rt_exec_join((rt_exec_task_t *)t);
}

cb_task_t *cb_pool_self(void)
{
    return (cb_task_t *)rt_exec_current();
}

uint64_t cb_pool_task_id(const cb_task_t *t)
{
    return rt_exec_task_id((const rt_exec_task_t *)t);
}

void cb_pool_reduce_slow(void)
{
    cb__budget = INT64_MAX;
}

void cb_pool_exit_self(cb_term_t reason)
{
    cb_crash_exit_thread(reason, rt_exec_task_id(rt_exec_current()),
                         "(an uncaught exception; the other tasks run on)");
}
