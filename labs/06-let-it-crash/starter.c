/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Lab 6, let it crash: your workload.  Read sheet.md first.
 *
 * A dispatcher (the root) hands `jobs` jobs to `workers` workers, one
 * job at a time each: it sends a job to a worker's port, the worker
 * does about job_us of work and reports {done, Worker, Job}, and the
 * dispatcher sends it the next.  Some attempts crash their worker: the
 * worker ends with cb_exit({crash, Job}), an uncaught error, losing the
 * job it held.  Whether an attempt crashes is a hash of the run's seed,
 * the job and the attempt, so a retried job may succeed, and the same
 * jobs crash on every model.
 *
 * Your work is in run's set-up, start_worker and worker_exited (steps 2 to 4):
 * as given, nobody notices a worker's death, and its job is lost.
 *
 * Invariant (where the model has links): every job is done exactly once.
 */
#include "models/model.h"
#include "workloads/workload.h"

#include <stdlib.h>
#include <string.h>

static const cb_param_def_t params[] = {
    {.name = "workers", .kind = CB_PARAM_INT, .unit = "tasks",
     .help = "workers, each doing one job at a time",
     .def = 4, .quick = 4, .min = 1, .max = 1000},
    {.name = "jobs", .kind = CB_PARAM_INT, .unit = "jobs",
     .help = "jobs to do", .def = 200, .quick = 200, .min = 1,
     .max = 10000000},
    {.name = "crash_pct", .kind = CB_PARAM_INT, .unit = "%",
     .help = "chance that an attempt at a job crashes its worker",
     .def = 10, .quick = 10, .min = 0, .max = 90},
    {.name = "job_us", .kind = CB_PARAM_INT, .unit = "us",
     .help = "work in one job (spun, with reduction points)",
     .def = 200, .quick = 200, .min = 0, .max = 1000000},
    {.name = "idle_ms", .kind = CB_PARAM_INT, .unit = "ms",
     .help = "with no message for this long, the dispatcher takes the "
             "jobs still out for lost",
     .def = 1000, .quick = 1000, .min = 10, .max = 600000},
    {0},
};

typedef struct dispatcher dispatcher_t;

typedef struct worker {
    dispatcher_t *d;
    int64_t idx;
    cb_port_t *port; /* this incarnation's jobs */
    cb_task_t *task; /* this incarnation */
    int64_t job, attempt; /* what it holds; job -1: nothing */
    /* Written by its incarnations one after another (an incarnation's
     * exit, the EXIT message and the restart order them), read by the
     * root after joining the last. */
    int64_t crashes;
    bool alive; /* the dispatcher's view: not known to have died */
} worker_t;

struct dispatcher {
    cb_port_t *inbox; /* results, and EXIT messages while trapping */
    worker_t *w;
    int64_t nworkers, njobs;
    int64_t job_ns;
    uint64_t seed;
    unsigned crash_pct;
    bool links;      /* the model has links: supervising is possible */
    bool supervised; /* the dispatcher traps its workers' exits */
    /* The queue of jobs to hand out: (job, attempt), FIFO. */
    int64_t *queue_job, *queue_attempt;
    int64_t head, tail, cap;
    char *done;      /* per job: done already */
    int64_t ndone, twice, restarts;
    cb_term_t a_done, a_exit, a_crash, a_stop, a_normal;
};

/* Whether attempt `attempt` at `job` crashes (the same on every model). */
static bool crashes(const dispatcher_t *d, int64_t job, int64_t attempt)
{
    uint64_t h = cb_wl_mix(d->seed ^ cb_wl_mix((uint64_t)job * 1000003u +
                                               (uint64_t)attempt));
    return h % 100 < d->crash_pct;
}

/* ---- the worker ---- */

static void worker_main(void *arg)
{
    worker_t *w = arg;
    dispatcher_t *d = w->d;
    for (;;) {
        cb_term_t m;
        if (cb_recv(w->port, &m, CB_FOREVER) < 0)
            return;
        if (!cb_is_tuple(m)) { /* stop */
            cb_term_release(m);
            return;
        }
        int64_t job = cb_int_value(cb_tuple_elem(m, 0));
        int64_t attempt = cb_int_value(cb_tuple_elem(m, 1));
        cb_term_release(m);
        cb_wl_spin_ns(d->job_ns);
        if (crashes(d, job, attempt)) {
            w->crashes++;
            cb_exit(cb_tuple2(d->a_crash, cb_int(job)));
        }
        cb_send(d->inbox,
                cb_tuple3(d->a_done, cb_int(w->idx), cb_int(job)));
    }
}

/* ---- the dispatcher ---- */

static void push(dispatcher_t *d, int64_t job, int64_t attempt)
{
    d->queue_job[d->tail % d->cap] = job;
    d->queue_attempt[d->tail % d->cap] = attempt;
    d->tail++;
}

/* Hand w the next job, if any; 0 or -errno. */
static int hand_out(dispatcher_t *d, worker_t *w)
{
    w->job = -1;
    if (d->head == d->tail)
        return 0;
    w->job = d->queue_job[d->head % d->cap];
    w->attempt = d->queue_attempt[d->head % d->cap];
    d->head++;
    return cb_send(w->port, cb_tuple2(cb_int(w->job), cb_int(w->attempt)));
}

/* Start an incarnation of worker w (a fresh port: a dead process's
 * mailbox dies with it), linked to the dispatcher where it supervises,
 * and hand it a job.  0 or -errno. */
static int start_worker(dispatcher_t *d, worker_t *w)
{
    int rc = cb_port_open(NULL, &w->port);
    if (rc < 0)
        return rc;
    /* TODO (step 3): the worker's death concerns no one. */
    rc = cb_spawn(worker_main, w, NULL, &w->task);
    if (rc < 0) {
        cb_port_free(w->port);
        w->port = NULL;
        return rc;
    }
    w->alive = true;
    return hand_out(d, w);
}

/* For step 4 (unused until then). */
__attribute__((unused)) static worker_t *worker_of(dispatcher_t *d,
                                                  cb_term_t pid)
{
    for (int64_t i = 0; i < d->nworkers; i++)
        if (d->w[i].alive && d->w[i].task &&
            cb_pid(d->w[i].task) == pid)
            return &d->w[i];
    return NULL;
}

/* An EXIT message {'EXIT', Pid, Reason} from a linked worker: 0, or
 * -errno when no replacement could be started. */
static int worker_exited(dispatcher_t *d, cb_term_t pid, cb_term_t reason)
{
    /* TODO (step 4): which worker was it, what did it hold, and who
     * takes its place?  worker_of and push are there for you. */
    (void)pid, (void)reason;
    return 0;
}

static int estimate(const cb_param_set_t *ps, cb_wl_estimate_t *est,
                    char *err, size_t errlen)
{
    (void)err, (void)errlen;
    int64_t jobs = cb_params_int(ps, "jobs");
    est->tasks = cb_params_int(ps, "workers") + 1;
    est->bytes = jobs * 17 + est->tasks * (int64_t)sizeof(worker_t);
    est->fds = 0;
    return 0;
}

static void run(cb_wl_ctx_t *ctx)
{
    dispatcher_t *d = calloc(1, sizeof *d);
    if (!d) {
        cb_wl_fail(ctx, "setting up: out of memory");
        return;
    }
    d->nworkers = cb_wl_int(ctx, "workers");
    d->njobs = cb_wl_int(ctx, "jobs");
    d->job_ns = cb_wl_int(ctx, "job_us") * 1000;
    d->seed = cb_wl_seed(ctx);
    d->crash_pct = (unsigned)cb_wl_int(ctx, "crash_pct");
    d->a_done = cb_atom("done");
    d->a_exit = cb_atom("EXIT");
    d->a_crash = cb_atom("crash");
    d->a_stop = cb_atom("stop");
    d->a_normal = cb_atom("normal");
    int64_t idle = cb_wl_int(ctx, "idle_ms") * 1000000;
    /* Every job once, and one retry per crash at most: a retry is queued
     * only after its attempt was taken out. */
    d->cap = d->njobs + 1;
    d->w = calloc((size_t)d->nworkers, sizeof *d->w);
    d->queue_job = calloc((size_t)d->cap, sizeof *d->queue_job);
    d->queue_attempt = calloc((size_t)d->cap, sizeof *d->queue_attempt);
    d->done = calloc((size_t)d->njobs, 1);
    int64_t started = 0;
    int rc = d->w && d->queue_job && d->queue_attempt && d->done
                 ? cb_wl_gather_port_open(4 * d->nworkers + 16, &d->inbox)
                 : -ENOMEM;
    if (rc < 0) {
        cb_wl_error(ctx, rc, "setting up");
        goto out;
    }
    for (int64_t j = 0; j < d->njobs; j++)
        push(d, j, 0);
    /* Links exist where unlinking from oneself succeeds (a no-op). */
    d->links = cb_unlink(cb_self()) == 0;
    /* TODO (step 2): nothing here hears of a worker's death. */
    d->supervised = false;
    cb_wl_window_start(ctx);
    for (; started < d->nworkers; started++) {
        d->w[started] = (worker_t){.d = d, .idx = started, .job = -1};
        if ((rc = start_worker(d, &d->w[started])) < 0) {
            cb_wl_error(ctx, rc, "starting worker %lld", (long long)started);
            break;
        }
    }
    while (rc == 0 && d->ndone < d->njobs) {
        cb_term_t m;
        if (cb_recv(d->inbox, &m, idle) < 0)
            break; /* nothing for idle_ms: the jobs still out are lost */
        size_t n = cb_is_tuple(m) ? cb_tuple_arity(m) : 0;
        cb_term_t tag = n ? cb_tuple_elem(m, 0) : CB_NIL;
        if (n == 3 && tag == d->a_done) {
            worker_t *w = &d->w[cb_int_value(cb_tuple_elem(m, 1))];
            int64_t job = cb_int_value(cb_tuple_elem(m, 2));
            if (d->done[job]++)
                d->twice++;
            else
                d->ndone++;
            rc = hand_out(d, w);
        } else if (n == 3 && tag == d->a_exit) {
            rc = worker_exited(d, cb_tuple_elem(m, 1), cb_tuple_elem(m, 2));
        }
        cb_term_release(m);
        if (rc < 0)
            cb_wl_error(ctx, rc, "handing out a job or restarting a worker");
    }
    cb_wl_window_stop(ctx);
out:
    /* Stop the workers still alive (a dead one's port drops the stop),
     * and wait for every one. */
    for (int64_t i = 0; i < started; i++)
        if (d->w[i].port)
            cb_send(d->w[i].port, d->a_stop);
    if (d->supervised)
        cb_trap_exit(NULL);
    int64_t crashed = 0;
    for (int64_t i = 0; i < started; i++) {
        if (d->w[i].task)
            cb_join(d->w[i].task);
        crashed += d->w[i].crashes;
        if (d->w[i].port)
            cb_port_free(d->w[i].port);
    }
    if (started == d->nworkers && !cb_wl_failed(ctx)) {
        int64_t lost = d->njobs - d->ndone;
        int64_t never = d->tail - d->head;
        if (d->twice)
            cb_wl_fail(ctx, "%lld jobs were done twice", (long long)d->twice);
        else if (lost && d->links && d->restarts)
            cb_wl_fail(ctx,
                       "lost %lld of %lld jobs: %lld workers crashed and "
                       "were restarted %lld times, but the jobs never came "
                       "back: a dead worker's job must be queued again, and "
                       "a fresh worker needs a port of its own (the dead "
                       "one's mailbox died with it)",
                       (long long)lost, (long long)d->njobs,
                       (long long)crashed, (long long)d->restarts);
        else if (lost && d->links)
            cb_wl_fail(ctx,
                       "lost %lld of %lld jobs: %lld workers crashed, each "
                       "with the job it held, and nothing restarted them "
                       "(%lld jobs were never handed out: no worker was "
                       "left)",
                       (long long)lost, (long long)d->njobs,
                       (long long)crashed, (long long)never);
        cb_wl_ops(ctx, d->ndone);
        cb_wl_metric_int(ctx, "jobs_done", d->ndone);
        cb_wl_metric_int(ctx, "jobs_lost", lost);
        cb_wl_metric_int(ctx, "crashes", crashed);
        cb_wl_metric_int(ctx, "restarts", d->restarts);
        cb_wl_metric_int(ctx, "supervised", d->supervised);
    }
    if (d->inbox)
        cb_port_free(d->inbox);
    free(d->w);
    free(d->queue_job);
    free(d->queue_attempt);
    free(d->done);
    free(d);
}

const cb_workload_t cb_workload_lab_crash = {
    .name = "lab-crash",
    .summary = "lab 6: a worker pool whose workers crash: supervised, or "
               "jobs lost",
    .description =
        "A dispatcher hands `jobs` jobs of job_us to `workers` workers; "
        "an attempt crashes its worker with probability crash_pct "
        "(seeded, the same jobs on every model). Where the model has "
        "links (actor) a lost job breaks the invariant; elsewhere the "
        "loss is the result. Metrics: jobs_done, jobs_lost, crashes, "
        "restarts, supervised (1 where exits were trapped).",
    .params = params,
    .estimate = estimate,
    .run = run,
};
