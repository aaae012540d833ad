/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * supervision: workers that crash at random, and what keeps the work
 * going.
 *
 * `workers` tasks each do operations (about op_ns of work each) until
 * the run's end, committing their count every `batch` operations; after
 * each operation a worker crashes with probability crash_ppm per million
 * (a seeded generator per worker), losing what it had not committed, by
 * cb_exit with the reason {crash, Worker}.
 *
 * Where the model has links (actor, the BEAM), the workers are the
 * children of a supervisor (workloads/supervisor.h, OTP's rules) with
 * restart type transient: a crashed worker is started again and carries
 * on, and the run survives unless the crashes pass the restart intensity
 * (`intensity` restarts in `period_ms`), when the supervisor terminates
 * the workers and gives up, as an OTP supervisor does.  Where it has
 * none, nothing restarts anything, and what happens is what the real
 * system does: a JVM thread's uncaught exception ends that worker and the
 * others run on (locks, stm, threads), so the work dwindles; core.async
 * prints the go block's exception and loses that worker the same way
 * (csp); a Go panic ends the program at the first crash (csp with
 * -p crash=panic): the process exits with status 2 and no result, which
 * the runner records as a crash with the panic in its last words, the
 * same for the model and the real Go program.
 *
 * Invariant: every worker's last incarnation finishes or crashes; a run
 * that did not survive is a result, not a failure.
 */
#include "models/model.h"
#include "workloads/supervisor.h"
#include "workloads/workload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cb_param_def_t params[] = {
    {.name = "workers", .kind = CB_PARAM_INT, .unit = "tasks",
     .help = "workers doing operations (children of one supervisor where "
             "the model has links)",
     .def = 8, .quick = 4, .min = 1, .max = CB_SUP_CHILDREN_MAX},
    {.name = "crash_ppm", .kind = CB_PARAM_INT, .unit = "per million ops",
     .help = "probability that a worker crashes after an operation",
     .def = 1000, .quick = 2000, .min = 0, .max = 1000000},
    {.name = "op_ns", .kind = CB_PARAM_INT, .unit = "ns",
     .help = "work in one operation (spun, with reduction points)",
     .def = 1000, .quick = 1000, .min = 0, .max = 1000000000},
    {.name = "batch", .kind = CB_PARAM_INT, .unit = "ops",
     .help = "operations a worker commits at once; a crash loses the "
             "uncommitted ones (work_lost)",
     .def = 100, .quick = 100, .min = 1, .max = 1000000000},
    {.name = "duration_ms", .kind = CB_PARAM_INT, .unit = "ms",
     .help = "how long the workers work", .def = 1000, .quick = 200,
     .min = 1, .max = 3600 * 1000},
    {.name = "strategy", .kind = CB_PARAM_ENUM,
     .help = "the supervisor's restart strategy (OTP's)",
     .choices = "one_for_one|one_for_all", .enum_def = "one_for_one"},
    {.name = "intensity", .kind = CB_PARAM_INT, .unit = "restarts",
     .help = "restarts allowed within period_ms before the supervisor "
             "gives up (OTP's default is 1 in 5 s; the workload's default "
             "lets a run with crashes every few ms live)",
     .def = 1000000, .quick = 1000000, .min = 0, .max = INT64_C(1) << 40},
    {.name = "period_ms", .kind = CB_PARAM_INT, .unit = "ms",
     .help = "the restart intensity's period (OTP's default: 5000)",
     .def = 5000, .quick = 5000, .min = 1, .max = INT64_C(1) << 40},
    {0},
};

typedef struct shared shared_t;

typedef struct slot {
    shared_t *sh;
    int64_t idx;
    /* Written by the worker's incarnations one after another (a crash,
     * the supervisor's EXIT and the restart order them), read by the
     * root once every incarnation is joined. */
    uint64_t rng;
    int64_t committed, lost, crashes, incarnations;
    int64_t crashed_at; /* when the last incarnation crashed; 0: none */
    bool finished;
    rt_hist_t *latency; /* crash to the replacement's first operation */
    cb_task_t *task;    /* unsupervised runs: the one incarnation */
} slot_t;

struct shared {
    cb_port_t *coord;
    int64_t end, op_ns, batch;
    uint64_t threshold; /* a draw below it crashes */
    cb_term_t a_done, a_crashed, a_crash;
};

static uint64_t next_rand(uint64_t *s)
{
    /* xorshift64*: a stream per worker, continued by its replacements. */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1DULL;
}

static void worker_main(void *arg)
{
    slot_t *s = arg;
    shared_t *sh = s->sh;
    s->incarnations++;
    int64_t pending = 0;
    while (cb_now_ns() < sh->end) {
        if (s->crashed_at) {
            int64_t d = cb_now_ns() - s->crashed_at;
            rt_hist_record(s->latency, (uint64_t)(d > 0 ? d : 0));
            s->crashed_at = 0;
        }
        cb_wl_spin_ns(sh->op_ns);
        if (++pending == sh->batch) {
            s->committed += pending;
            pending = 0;
        }
        if (sh->threshold && next_rand(&s->rng) < sh->threshold) {
            s->lost += pending;
            s->crashes++;
            s->crashed_at = cb_now_ns();
            cb_send(sh->coord, cb_tuple2(sh->a_crashed, cb_int(s->idx)));
            cb_exit(cb_tuple2(sh->a_crash, cb_int(s->idx)));
        }
    }
    s->committed += pending;
    s->finished = true;
    cb_send(sh->coord, cb_tuple2(sh->a_done, cb_int(s->idx)));
}

static int estimate(const cb_param_set_t *p, cb_wl_estimate_t *est, char *err,
                    size_t errlen)
{
    (void)err, (void)errlen;
    est->tasks = cb_params_int(p, "workers") + 2;
    est->bytes = cb_params_int(p, "workers") * (int64_t)(sizeof(slot_t) + 8192);
    est->fds = 0;
    return 0;
}

static void run(cb_wl_ctx_t *ctx)
{
    int64_t n = cb_wl_int(ctx, "workers");
    int64_t duration = cb_wl_int(ctx, "duration_ms") * 1000000;
    double ppm = (double)cb_wl_int(ctx, "crash_ppm");
    shared_t sh = {
        .op_ns = cb_wl_int(ctx, "op_ns"),
        .batch = cb_wl_int(ctx, "batch"),
        .threshold = ppm >= 1e6 ? UINT64_MAX
                                : (uint64_t)(ppm / 1e6 * 18446744073709551616.0),
        .a_done = cb_atom("done"),
        .a_crashed = cb_atom("crashed"),
        .a_crash = cb_atom("crash"),
    };
    cb_term_t a_down = cb_atom("DOWN");
    slot_t *slots = calloc((size_t)n, sizeof *slots);
    cb_sup_child_t *kids = calloc((size_t)n, sizeof *kids);
    cb_sup_t *sup = NULL;
    if (!slots || !kids ||
        cb_wl_gather_port_open(2 * n + 64, &sh.coord) < 0) {
        cb_wl_fail(ctx, "setting up: out of memory");
        goto out;
    }
    for (int64_t i = 0; i < n; i++) {
        slots[i] = (slot_t){.sh = &sh, .idx = i,
                            .rng = cb_wl_mix(cb_wl_seed(ctx) + (uint64_t)i) | 1,
                            .latency = rt_hist_new()};
        kids[i] = (cb_sup_child_t){worker_main, &slots[i], CB_SUP_TRANSIENT};
        if (!slots[i].latency) {
            cb_wl_fail(ctx, "setting up: out of memory");
            goto out;
        }
    }
    /* Links exist where unlinking from oneself succeeds (a no-op). */
    bool supervised = cb_unlink(cb_self()) == 0;
    cb_term_t sup_ref = CB_NIL;
    cb_wl_window_start(ctx);
    sh.end = cb_now_ns() + duration;
    int64_t started = 0;
    if (supervised) {
        cb_sup_opts_t o = {
            .strategy = strcmp(cb_wl_str(ctx, "strategy"), "one_for_all") == 0
                            ? CB_SUP_ONE_FOR_ALL
                            : CB_SUP_ONE_FOR_ONE,
            .intensity = cb_wl_int(ctx, "intensity"),
            .period_ns = cb_wl_int(ctx, "period_ms") * 1000000,
            .children = kids,
            .nchildren = (size_t)n,
            .monitor_mailbox = sh.coord,
            .monitor_ref = &sup_ref,
        };
        int rc = cb_sup_start(&o, &sup);
        if (rc < 0) {
            cb_wl_fail(ctx, "starting the supervisor: %s", cb_strerror(rc));
            goto out;
        }
        started = n;
    } else {
        for (; started < n; started++) {
            int rc = cb_spawn(worker_main, &slots[started], NULL,
                              &slots[started].task);
            if (rc < 0) {
                cb_wl_fail(ctx, "spawning: %s", cb_strerror(rc));
                break;
            }
        }
    }
    /* Until every worker's last incarnation is done: finished, or (with
     * nobody to restart it) crashed, or the supervisor gave up. */
    int64_t open = started, crash_msgs = 0;
    bool sup_down = false;
    int64_t deadline = sh.end + 30 * INT64_C(1000000000);
    while (open > 0 && !sup_down) {
        cb_term_t m;
        int64_t left = deadline - cb_now_ns();
        if (cb_recv(sh.coord, &m, left > 0 ? left : 0) < 0)
            break;
        cb_term_t tag = cb_is_tuple(m) ? cb_tuple_elem(m, 0) : CB_NIL;
        if (tag == sh.a_done) {
            open--;
        } else if (tag == sh.a_crashed) {
            crash_msgs++;
            if (!supervised)
                open--;
        } else if (tag == a_down && cb_tuple_arity(m) == 5 &&
                   cb_tuple_elem(m, 1) == sup_ref) {
            sup_down = true;
        }
        cb_term_release(m);
    }
    cb_wl_window_stop(ctx);
    cb_sup_stats_t st = {0};
    if (sup)
        cb_sup_stop(sup, &st);
    else
        for (int64_t i = 0; i < started; i++)
            cb_join(slots[i].task);

    rt_hist_t *lat = rt_hist_new();
    int64_t ops = 0, lost = 0, crashes = 0, alive = 0;
    for (int64_t i = 0; i < n; i++) {
        ops += slots[i].committed;
        lost += slots[i].lost;
        crashes += slots[i].crashes;
        alive += slots[i].finished;
        if (lat)
            rt_hist_merge(lat, slots[i].latency);
    }
    if (crashes != crash_msgs && !sup_down && open == 0)
        cb_wl_fail(ctx, "%lld crashes counted, %lld reported",
                   (long long)crashes, (long long)crash_msgs);
    if (open > 0 && !sup_down)
        cb_wl_fail(ctx, "%lld workers neither finished nor crashed in time",
                   (long long)open);
    bool survived = alive == n && !st.gave_up;
    cb_wl_ops(ctx, ops);
    cb_wl_metric_int(ctx, "crashes", crashes);
    cb_wl_metric_int(ctx, "restarts", st.restarts);
    cb_wl_metric_int(ctx, "work_lost", lost);
    cb_wl_metric_int(ctx, "workers_alive_at_end", alive);
    cb_wl_metric_int(ctx, "supervised", supervised);
    cb_wl_metric_int(ctx, "supervisor_gave_up", st.gave_up);
    cb_wl_metric_int(ctx, "survived", survived);
    if (lat)
        cb_wl_metric_hist(ctx, "restart_latency_ns", lat);
    rt_hist_free(lat);
out:
    if (sh.coord)
        cb_port_free(sh.coord);
    if (slots)
        for (int64_t i = 0; i < n; i++)
            rt_hist_free(slots[i].latency);
    free(slots);
    free(kids);
}

const cb_workload_t cb_workload_supervision = {
    .name = "supervision",
    .summary = "workers crash at random: restarted by a supervisor (actor), "
             "lost (JVM, core.async) or the program ends (Go panic)",
    .description =
        "`workers` tasks do operations of op_ns each until duration_ms "
        "passes, committing every `batch`; after each one a worker "
        "crashes with probability crash_ppm per million (seeded), by "
        "cb_exit with reason {crash, N}.\n"
        "Per model, as its real system: actor (the BEAM): the workers are "
        "the transient children of an OTP-style supervisor "
        "(workloads/supervisor.h; `strategy`, `intensity` restarts in "
        "`period_ms`), a crash is followed by a restart in microseconds "
        "and the run survives, unless the intensity is passed and the "
        "supervisor terminates everything and exits with `shutdown` "
        "(try -p intensity=1, OTP's default). locks, stm, threads (the "
        "JVM): no links or supervisors; an uncaught exception ends that "
        "worker and the rest run on, so work stops one worker at a time. "
        "csp: core.async prints the go block's exception and loses the "
        "worker the same way; with -p crash=panic (Go) the first crash "
        "ends the program, recorded as the run's outcome (failed: "
        "panic ...).\n"
        "Metrics: ops (committed operations), crashes, restarts, "
        "restart_latency_ns (from a crash to its replacement's first "
        "operation), work_lost (operations done but not committed when "
        "their worker crashed), workers_alive_at_end, supervised (1 where "
        "the model has links), supervisor_gave_up, survived (1 when every "
        "worker was still working at the end).",
    .params = params,
    .estimate = estimate,
    .run = run,
    .no_instruction_count = "crashes and restarts are random and timed",
};
