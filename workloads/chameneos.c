/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * chameneos: Kaiser and Pradat-Peyre's concurrency game, as the Computer
 * Language Benchmarks Game's chameneos-redux and Savina's Chameneos play it.
 *
 * The rules.  `creatures` creatures, each blue, red or yellow, go again and
 * again to one meeting place, where they meet, or wait to meet, another
 * creature; only two meet at a time.  The two tell each other their
 * colours and both take the complement of the pair: the same colour when
 * both had it, else the third colour (blue+red -> yellow, blue+yellow ->
 * red, red+yellow -> blue).  After `meetings` meetings the place is
 * closed: a creature that comes then fades, reports how many creatures it
 * met and how many times it met itself, and ends.  The population is the
 * game's: blue red yellow for 3 creatures, and for 10 the benchmark game's
 * list (blue red yellow red yellow blue red yellow red blue); any other
 * size cycles blue, red, yellow.  Sources: C. Kaiser, J.-F. Pradat-Peyre,
 * "Chameneos, a concurrency game for Java, Ada and others", AICCSA 2003
 * (cedric.cnam.fr RC474); the benchmark game's chameneos-redux as its
 * entries state it (chapel-lang/chapel test/release/examples/benchmarks/
 * shootout/chameneosredux.chpl: each creature prints its meetings and
 * spells out its self-meetings, then the total); Savina (Imam and Sarkar,
 * AGERE 2014), whose Chameneos measures contention on "the mailbox of the
 * mall actor" (lf-lang/benchmarks-lingua-franca Cpp/Savina/src/micro/
 * Chameneos.lf: 200,000 meetings, 100 creatures by default).
 *
 * The meeting place, place=broker (Savina's mall): a task with a port.  A
 * creature sends {Id, Colour} and waits on its own port; the broker keeps
 * the first arrival, and when the second comes sends each the other's
 * {Id, Colour}; once closed it answers `faded`.  Every model runs it
 * through its own port: a BEAM mailbox (copy on send), a core.async
 * channel, a JVM blocking queue, a transactional queue, a futex queue.
 *
 * place=cell (the benchmark game's fast entries, a shared word updated
 * atomically, as the Chapel and C entries' compare-and-swap): the place is
 * one cell holding (meetings left, who waits and in which colour).  A
 * creature's arrival is one cb_cells_update: it either registers as the
 * one waiting, or takes the one waiting and counts the meeting down; the
 * second then sends the first its {Id, Colour} on the first's port.  Each
 * model's cell is its system's shared state: a monitor (locks, threads), a
 * ref in a transaction (stm: arrivals that collide run again), an atom
 * (csp), a process that owns the state with updates as messages (actor:
 * the broker again, under the hood).
 *
 * Invariants (checked at the end; a break fails the run):
 *   - the place counts exactly `meetings` meetings, and the creatures'
 *     meeting counts add up to twice that (each meeting counts for both);
 *   - no creature meets itself (self-meetings are 0: the place pairs two
 *     arrivals, and a creature waiting cannot arrive again);
 *   - who met whom agrees: the sum over creatures of their partners' ids
 *     equals the sum of id x meetings (each meeting {a, b} adds b to a's
 *     sum and a to b's);
 *   - colours follow the complement table: a meeting of two colours
 *     changes the counts by (-1, -1, +2) and a meeting of one colour not
 *     at all, so the differences between the three colour counts modulo 3
 *     never change (the puzzle's invariant); a creature that took a wrong
 *     colour, or changed alone, breaks it.
 * A creature that waits stall_ms for a partner fails the run (a lost
 * wake-up), with who waited and how many meetings were left; it never
 * hangs.
 *
 * Metrics: throughput_ops_s (meetings per second), meetings,
 * creature_meetings (2 x meetings), self_meetings, fairness_jain over the
 * creatures' meeting counts (1: every creature met as often), meetings_min
 * and meetings_max (per creature), wait_ns (arrival to knowing the
 * partner), place_queue_max (broker: the longest its port was seen, the
 * bottleneck Savina measures).  The model's counters (parks, steals,
 * preemptions, transaction retries) come with every run.
 *
 * What a lab does with it: fairness.  Which creature meets is the
 * scheduler's choice: a creature that has just met comes straight back,
 * and whether it reaches the place before the others depends on which
 * task the scheduler runs next.  On one scheduler with FIFO run queues
 * (actor --cpus 0; csp -p pool=1 with core.async's one FIFO, sched=shared)
 * the creatures come in strict rotation and each meets exactly
 * 2 x meetings / creatures times.  Go's runnext (csp sched=stealing: the go
 * block just readied runs next, runtime/proc.go runqput with next=true,
 * bounded in Go by the time slice it inherits and in the model by a look
 * at the queue every 61 picks) lets the creature that was waiting run
 * again at once and wait again for the next comer: on one worker with
 * place=cell it takes part in every meeting (Jain 0.36, measured by
 * tests/test_chameneos.py).  Preemptive kernel threads (threads, locks,
 * stm) measured 0.99 to 1.0 here, rarely exactly 1.  work_us
 * (CPU work between meetings, with reduction points) makes each creature
 * a small hog, to compare preemptive schedulers with a cooperative pool.
 *
 * Rejected: counting meetings in the creatures (the place must count, or
 * a lost meeting goes unseen); a creature polling the cell for its partner
 * (a spin that a cooperative pool cannot run alongside the others); a
 * histogram shared by every creature (a lock the workload would add to
 * every model's own).
 */
#include "models/model.h"
#include "workloads/workload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cb_param_def_t params[] = {
    /* Not `tasks`: a sweep of tasks=1,2,... over every workload (matrix)
     * would hand the game a lone creature, which has nobody to meet (a
     * population "must be > 1", as the benchmark game's Chapel entry
     * says). */
    {.name = "creatures", .kind = CB_PARAM_INT, .unit = "creatures",
     .help = "creatures at the meeting place (the game needs two)",
     .def = 10, .quick = 10, .min = 2, .max = 1000},
    {.name = "meetings", .kind = CB_PARAM_INT, .unit = "meetings",
     .help = "meetings before the place closes (2 x as many creature "
             "meetings)",
     .def = 200000, .quick = 2000, .min = 1, .max = 1000000000},
    {.name = "place", .kind = CB_PARAM_ENUM,
     .help = "broker: a task with a port pairs the creatures (Savina's "
             "mall); cell: one shared cell updated atomically",
     .choices = "broker|cell", .enum_def = "broker"},
    {.name = "work_us", .kind = CB_PARAM_INT, .unit = "us",
     .help = "CPU work between meetings (with reduction points), 0: none",
     .def = 0, .quick = 0, .min = 0, .max = 1000000},
    {.name = "stall_ms", .kind = CB_PARAM_INT, .unit = "ms",
     .help = "a wait this long for a partner fails the run",
     .def = 10000, .quick = 10000, .min = 10, .max = 3600000},
    {0},
};

enum { BLUE, RED, YELLOW };

/* The benchmark game's population of ten. */
static const int colours10[10] = {BLUE, RED,    YELLOW, RED, YELLOW,
                                  BLUE, RED,    YELLOW, RED, BLUE};

static int complement(int a, int b)
{
    return a == b ? a : 3 - a - b;
}

typedef struct game game_t;

/* Written only by its own task; read by the root after cb_join. */
typedef struct creature {
    game_t *g;
    int id, colour;
    cb_port_t *port; /* {PartnerId, PartnerColour}, or faded */
    cb_task_t *task;
    int64_t meetings, self, partner_sum, hosted;
    rt_hist_t *wait;
    int failed; /* 0, or the error that ended it */
} creature_t;

struct game {
    int64_t n, meetings, work_ns, stall_ns;
    bool cell;
    creature_t *c;
    cb_port_t *done;
    /* place=broker */
    cb_port_t *broker_port; /* {Id, Colour} from creatures, stop from root */
    cb_task_t *broker;
    int64_t broker_meetings, queue_max; /* the broker's, read after join */
    /* place=cell: left << SLOT_BITS | slot, slot 0 or 1 + id * 3 + colour */
    cb_cell_t *place;
};

#define SLOT_BITS 20
#define SLOT_MASK ((INT64_C(1) << SLOT_BITS) - 1)
_Static_assert(1 + 999 * 3 + 2 <= SLOT_MASK, "creatures' max fits a slot");

static void broker_main(void *arg)
{
    game_t *g = arg;
    int64_t left = g->meetings, faded = 0, waiting = -1, waiting_colour = 0;
    while (faded < g->n) {
        cb_term_t m;
        if (cb_recv(g->broker_port, &m, CB_FOREVER) < 0 || cb_is_atom(m))
            break; /* stop: the root gave up on the creatures */
        size_t queued = cb_port_length(g->broker_port);
        if ((int64_t)queued > g->queue_max)
            g->queue_max = (int64_t)queued;
        int64_t id = cb_int_value(cb_tuple_elem(m, 0));
        int64_t colour = cb_int_value(cb_tuple_elem(m, 1));
        cb_term_release(m);
        if (left == 0) {
            cb_send(g->c[id].port, cb_atom("faded"));
            faded++;
        } else if (waiting < 0) {
            waiting = id, waiting_colour = colour;
        } else {
            cb_send(g->c[waiting].port,
                    cb_tuple2(cb_int(id), cb_int(colour)));
            cb_send(g->c[id].port,
                    cb_tuple2(cb_int(waiting), cb_int(waiting_colour)));
            waiting = -1;
            left--;
            g->broker_meetings++;
        }
    }
}

enum { FADED, WAIT, MET, };

typedef struct arrival {
    int64_t slot; /* in: this creature's slot */
    int action;   /* out */
    int64_t partner, partner_colour, left;
} arrival_t;

/* Runs inside the model's atomic update, perhaps more than once (an stm
 * transaction that collides runs again): it sets every output each time. */
static void arrive(int64_t *v, size_t n, void *arg)
{
    (void)n;
    arrival_t *a = arg;
    int64_t left = v[0] >> SLOT_BITS, slot = v[0] & SLOT_MASK;
    a->left = left;
    a->partner = a->partner_colour = -1;
    if (left == 0) {
        a->action = FADED;
    } else if (slot == 0) {
        a->action = WAIT;
        v[0] = left << SLOT_BITS | a->slot;
    } else {
        a->action = MET;
        a->partner = (slot - 1) / 3;
        a->partner_colour = (slot - 1) % 3;
        v[0] = (left - 1) << SLOT_BITS;
    }
}

/* One visit to the place: 1 and the partner, 0 when the place is closed,
 * or a negative error. */
static int visit(creature_t *c, int64_t *partner, int64_t *partner_colour)
{
    game_t *g = c->g;
    cb_term_t m;
    int rc;
    if (!g->cell) {
        cb_send(g->broker_port, cb_tuple2(cb_int(c->id), cb_int(c->colour)));
    } else {
        arrival_t a = {.slot = 1 + (int64_t)c->id * 3 + c->colour};
        if ((rc = cb_cells_update(&g->place, 1, arrive, &a)) < 0)
            return rc;
        if (a.action == FADED)
            return 0;
        if (a.action == MET) {
            c->hosted++;
            *partner = a.partner, *partner_colour = a.partner_colour;
            cb_send(g->c[a.partner].port,
                    cb_tuple2(cb_int(c->id), cb_int(c->colour)));
            return 1;
        }
    }
    if ((rc = cb_recv(c->port, &m, g->stall_ns)) < 0)
        return rc;
    if (cb_is_atom(m)) /* faded */
        return 0;
    *partner = cb_int_value(cb_tuple_elem(m, 0));
    *partner_colour = cb_int_value(cb_tuple_elem(m, 1));
    cb_term_release(m);
    return 1;
}

static void creature_main(void *arg)
{
    creature_t *c = arg;
    game_t *g = c->g;
    for (;;) {
        int64_t partner = -1, partner_colour = -1, t0 = cb_now_ns();
        int rc = visit(c, &partner, &partner_colour);
        if (rc <= 0) {
            c->failed = rc;
            break;
        }
        rt_hist_record(c->wait, (uint64_t)(cb_now_ns() - t0));
        c->meetings++;
        c->self += partner == c->id;
        c->partner_sum += partner;
        c->colour = complement(c->colour, (int)partner_colour);
        if (g->work_ns)
            cb_wl_spin_ns(g->work_ns);
        else
            cb_reduce(1);
    }
    cb_send(g->done, cb_int(c->id));
}

static int estimate(const cb_param_set_t *ps, cb_wl_estimate_t *est,
                    char *err, size_t errlen)
{
    (void)err, (void)errlen;
    int64_t n = cb_params_int(ps, "creatures");
    est->tasks = n + 2; /* the creatures, the broker, the root */
    /* Each creature's wait histogram is about 60 KiB (runtime/hist.c:
     * 58 octaves of 128 buckets of 8 bytes). */
    est->bytes = n * (int64_t)(sizeof(creature_t) + 64 * 1024);
    est->fds = 0;
    return 0;
}

static void count_colours(const game_t *g, int64_t counts[3])
{
    counts[0] = counts[1] = counts[2] = 0;
    for (int64_t i = 0; i < g->n; i++)
        counts[g->c[i].colour]++;
}

static void check(cb_wl_ctx_t *ctx, game_t *g, const int64_t before[3],
                  int64_t spawned)
{
    int64_t meetings = 0, self = 0, partner_sum = 0, id_sum = 0;
    int64_t hosted = 0, min = INT64_MAX, max = 0;
    const creature_t *stuck = NULL;
    for (int64_t i = 0; i < spawned; i++) {
        const creature_t *c = &g->c[i];
        meetings += c->meetings, self += c->self, hosted += c->hosted;
        partner_sum += c->partner_sum, id_sum += c->meetings * c->id;
        min = c->meetings < min ? c->meetings : min;
        max = c->meetings > max ? c->meetings : max;
        if (c->failed < 0 && !stuck)
            stuck = c;
    }
    int64_t place = g->cell ? hosted : g->broker_meetings;
    if (stuck) {
        cb_wl_error(ctx, stuck->failed,
                    "creature %d gave up at the place (%s%s): %lld of "
                    "%lld meetings held",
                    stuck->id, cb_strerror(stuck->failed),
                    stuck->failed == -ETIMEDOUT
                        ? " waiting stall_ms for a partner"
                        : "",
                    (long long)place,
                    (long long)g->meetings);
        return;
    }
    if (spawned < g->n)
        return; /* the spawn failure is the outcome */
    if (place != g->meetings)
        cb_wl_fail(ctx, "the place held %lld meetings, not %lld",
                   (long long)place, (long long)g->meetings);
    if (meetings != 2 * place)
        cb_wl_fail(ctx, "the creatures count %lld meetings, not 2 x %lld",
                   (long long)meetings, (long long)place);
    if (self)
        cb_wl_fail(ctx, "creatures met themselves %lld times",
                   (long long)self);
    if (partner_sum != id_sum)
        cb_wl_fail(ctx, "who met whom disagrees: partners' ids add up to "
                        "%lld, ids x meetings to %lld",
                   (long long)partner_sum, (long long)id_sum);
    int64_t after[3];
    count_colours(g, after);
    for (int k = 0; k < 2; k++)
        if (((before[k] - before[k + 1]) - (after[k] - after[k + 1])) % 3)
            cb_wl_fail(ctx, "colours broke the complement table: blue, "
                            "red, yellow went from %lld, %lld, %lld to "
                            "%lld, %lld, %lld (differences mod 3 changed)",
                       (long long)before[0], (long long)before[1],
                       (long long)before[2], (long long)after[0],
                       (long long)after[1], (long long)after[2]);
    cb_wl_ops(ctx, place);
    cb_wl_metric_int(ctx, "meetings", place);
    cb_wl_metric_int(ctx, "creature_meetings", meetings);
    cb_wl_metric_int(ctx, "self_meetings", self);
    cb_wl_metric_int(ctx, "meetings_min", min);
    cb_wl_metric_int(ctx, "meetings_max", max);
    double *counts = calloc((size_t)g->n, sizeof *counts);
    rt_hist_t *wait = rt_hist_new();
    for (int64_t i = 0; i < g->n; i++) {
        if (counts)
            counts[i] = (double)g->c[i].meetings;
        if (wait)
            rt_hist_merge(wait, g->c[i].wait);
    }
    if (counts)
        cb_wl_metric_f64(ctx, "fairness_jain",
                         cb_wl_jain(counts, (size_t)g->n));
    if (wait && rt_hist_count(wait) > 0)
        cb_wl_metric_hist(ctx, "wait_ns", wait);
    if (!g->cell)
        cb_wl_metric_int(ctx, "place_queue_max", g->queue_max);
    free(counts);
    rt_hist_free(wait);
}

static void run(cb_wl_ctx_t *ctx)
{
    game_t *g = calloc(1, sizeof *g);
    if (!g) {
        cb_wl_unsupported(ctx, "the meeting place", -ENOMEM);
        return;
    }
    g->n = cb_wl_int(ctx, "creatures");
    g->meetings = cb_wl_int(ctx, "meetings");
    g->cell = strcmp(cb_wl_str(ctx, "place"), "cell") == 0;
    g->work_ns = cb_wl_int(ctx, "work_us") * 1000;
    g->stall_ns = cb_wl_int(ctx, "stall_ms") * 1000000;
    g->c = calloc((size_t)g->n, sizeof *g->c);
    int64_t ports = 0, spawned = 0;
    int rc = g->c ? cb_wl_gather_port_open(g->n, &g->done) : -ENOMEM;
    const char *what = "opening the ports";
    /* The broker's port holds at most one request per creature (each
     * waits for its answer) and the root's stop; a creature's holds one
     * answer. */
    if (rc == 0 && !g->cell)
        rc = cb_wl_gather_port_open(g->n + 1, &g->broker_port);
    if (rc == 0 && g->cell) {
        what = "the place's cell";
        rc = cb_cell_new(g->meetings << SLOT_BITS, &g->place);
    }
    for (; rc == 0 && ports < g->n; ports++) {
        creature_t *c = &g->c[ports];
        *c = (creature_t){.g = g, .id = (int)ports,
                          .colour = g->n == 10 ? colours10[ports]
                                               : (int)(ports % 3)};
        c->wait = rt_hist_new();
        rc = c->wait ? cb_wl_gather_port_open(2, &c->port) : -ENOMEM;
    }
    int64_t before[3] = {0, 0, 0};
    if (rc == 0)
        count_colours(g, before);
    if (rc == 0 && !g->cell) {
        what = "spawning the broker";
        rc = cb_spawn(broker_main, g, NULL, &g->broker);
    }
    bool window = rc == 0;
    if (window) {
        what = "spawning the creatures";
        cb_wl_window_start(ctx);
    }
    for (; rc == 0 && spawned < g->n; spawned++)
        if ((rc = cb_spawn(creature_main, &g->c[spawned], NULL,
                           &g->c[spawned].task)) < 0)
            break;
    if (rc < 0)
        cb_wl_unsupported(ctx, what, rc);
    for (int64_t i = 0; i < spawned; i++) {
        cb_term_t m;
        cb_recv(g->done, &m, CB_FOREVER);
        cb_term_release(m);
    }
    if (window)
        cb_wl_window_stop(ctx);
    for (int64_t i = 0; i < spawned; i++)
        cb_join(g->c[i].task);
    if (g->broker) {
        /* Ends a broker still waiting for creatures that gave up; one
         * that saw every creature fade has ended and never reads it. */
        cb_send(g->broker_port, cb_atom("stop"));
        cb_join(g->broker);
    }
    if (rc == 0 || spawned > 0)
        check(ctx, g, before, spawned);
    for (int64_t i = 0; i < ports; i++) {
        if (g->c[i].port)
            cb_port_free(g->c[i].port);
        rt_hist_free(g->c[i].wait);
    }
    if (g->place)
        cb_cell_free(g->place);
    if (g->broker_port)
        cb_port_free(g->broker_port);
    if (g->done)
        cb_port_free(g->done);
    free(g->c);
    free(g);
}

const cb_workload_t cb_workload_chameneos = {
    .name = "chameneos",
    .no_instruction_count =
        "its point is which creature the scheduler lets meet, between "
        "tasks that run at once, and callgrind runs one thread at a time",
    .summary = "chameneos-redux: creatures meet in pairs at one place and "
               "change colour; fairness across creatures",
    .description =
        "`creatures` creatures (blue, red, yellow; the benchmark game's ten "
        "at creatures=10) go again and again to one meeting place and meet in "
        "pairs; both take the complement of the pair's colours. After "
        "`meetings` meetings a creature arriving fades and ends. "
        "place=broker: a task with a port pairs them (Savina's mall); "
        "place=cell: one shared cell updated atomically (a monitor, a "
        "ref, an atom, an owning process). work_us: CPU work between "
        "meetings. Invariants: the place holds `meetings` meetings and "
        "the creatures count twice that; no creature meets itself; who "
        "met whom agrees; colour counts keep their differences mod 3. "
        "Metrics: throughput_ops_s (meetings per second), meetings, "
        "creature_meetings, self_meetings, fairness_jain (over each "
        "creature's meetings), meetings_min, meetings_max, wait_ns "
        "(arrival to partner), place_queue_max (broker).",
    .params = params,
    .estimate = estimate,
    .run = run,
};
