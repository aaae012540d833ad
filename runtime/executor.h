/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * An executor: a pool of OS threads that run submitted tasks to
 * completion, as java.util.concurrent's ThreadPoolExecutor and
 * ForkJoinPool do.  It knows nothing of models; the `locks` and `stm`
 * models build their tasks on it.
 *
 * A task runs on one thread from start to end: it never migrates, so a
 * thread-local is exact for the task's whole life.  A task that blocks
 * (rt_exec_block_begin/end around the wait) keeps its thread, as a JVM
 * thread does.  With `compensate` set, the pool starts a spare thread
 * when a blocking task would leave fewer than `parallelism` threads able
 * to run queued work (ForkJoinPool's managed blocking); spares retire
 * after `keepalive_ns` idle once the blocked tasks have resumed.
 *
 * The thread that calls rt_exec_run is a member too, running the root
 * task (as a JVM's main thread beside its pool); it counts for blocking
 * time but never for the pool's size.
 */
#ifndef RT_EXECUTOR_H
#define RT_EXECUTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rt_exec rt_exec_t;
typedef struct rt_exec_task rt_exec_task_t;
typedef void (*rt_exec_fn)(void *arg);

typedef struct rt_exec_opts {
    const int *cpus; /* OS indices to pin to; NULL/0: no pinning */
    int ncpus;
    int parallelism;         /* core threads; 0: ncpus, or every PU */
    bool compensate;         /* grow while tasks block */
    int max_threads;         /* cap on threads, spares included */
    size_t stack_size;       /* bytes; 0: 256 KiB */
    int64_t keepalive_ns;    /* an idle spare retires after this */
    size_t thread_data_size; /* zeroed bytes per member thread */
    /* What runs a task: call(fn, arg), e.g. fn under a landing frame a
     * task can end early to (models/crash.h); NULL: fn(arg). */
    void (*call)(rt_exec_fn fn, void *arg);
} rt_exec_opts_t;

typedef struct rt_exec_stats {
    int64_t threads_started; /* core threads and spares, ever */
    int64_t threads_peak;    /* most alive at once */
    int64_t threads_live;    /* alive now */
    int64_t spares_started;  /* started by compensation */
    int64_t tasks_run;       /* finished tasks, the root excepted */
    int64_t blocks;          /* rt_exec_block_begin calls */
    int64_t blocked_ns;      /* time between block_begin and block_end */
} rt_exec_stats_t;

/* Start the core threads; 0 or -errno (-EINVAL for bad options). */
int rt_exec_new(const rt_exec_opts_t *o, rt_exec_t **out);
/*
 * Wait up to grace_ns for every task to finish, then stop and join the
 * threads and free e.  Fails with -EBUSY (err says how many tasks are
 * left) when tasks are still running: their threads are left alone and e
 * is not freed, because a stuck thread may still touch it.
 */
int rt_exec_free(rt_exec_t *e, int64_t grace_ns, char *err, size_t errlen);

/* Queue fn(arg).  With out, the task is joinable and must be joined;
 * without, it is freed when it ends.  0 or -ENOMEM. */
int rt_exec_submit(rt_exec_t *e, rt_exec_fn fn, void *arg,
                   rt_exec_task_t **out);
/* Wait for t to end and free it (a managed block).  0 or -EINVAL. */
int rt_exec_join(rt_exec_task_t *t);
/* Run fn(arg) as the root task on the calling thread. */
void rt_exec_run(rt_exec_t *e, rt_exec_fn fn, void *arg);

/* The calling thread's task and its id (1 for the root); NULL/0 outside. */
rt_exec_task_t *rt_exec_current(void);
uint64_t rt_exec_task_id(const rt_exec_task_t *t);
/* The calling member thread's zeroed data block; NULL outside a pool. */
void *rt_exec_thread_data(void);
/* fn(data, ctx) for every member thread's block, retired ones included,
 * under the pool lock: fn must not block or call back into e. */
void rt_exec_foreach_thread_data(rt_exec_t *e, void (*fn)(void *, void *),
                                 void *ctx);

/*
 * Bracket a wait that blocks the calling thread.  Counted on member
 * threads (blocks, blocked_ns); on a pool thread of a compensating pool
 * block_begin may start a spare.  No-ops outside a pool.  Never nest.
 */
void rt_exec_block_begin(void);
void rt_exec_block_end(void);

/* Blocking waits, bracketed as above. */
int rt_exec_sleep(int64_t ns);
/* Ready events (> 0), -ETIMEDOUT, or -errno. */
int rt_exec_io_wait(int fd, uint32_t events, int64_t timeout_ns);

void rt_exec_stats(rt_exec_t *e, rt_exec_stats_t *out);

/* A spin-wait hint to the core (PAUSE, YIELD) for hand-written backoff. */
static inline void rt_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield" ::: "memory");
#else
    __asm__ volatile("" ::: "memory");
#endif
}

#endif
