/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * bank: concurrent transfers between accounts; the total never changes.
 *
 * `accounts` cells start at `initial` each.  `tasks` workers each pick,
 * per operation, either an audit (with probability audit_pct %) or a
 * transfer of 1..max_amount between two distinct random accounts.  A
 * transfer is one cb_cells_update of the pair, in the order (from, to),
 * that moves the amount when the source can cover it (and declines
 * otherwise); an audit is one cb_cells_read of every account, whose sum
 * must be the initial total: a torn audit — one that sees a transfer's
 * debit without its credit — is an invariant violation.  How the pair is
 * made atomic is the model's business: two locks in a global order, a
 * transaction, messages to the owning processes.  A model parameter may
 * ask it to lock in request order (`locks`: -p ordering=naive), which is
 * how transfer(a, b) deadlocks against transfer(b, a).
 *
 * A watchdog (the root task) samples each worker's progress every
 * 10 ms; when no running worker has made any for `stall_ms`, the run is
 * reported as a deadlock, with the stalled workers named, and ends at
 * once — the stuck tasks are abandoned, never waited for.  A worker
 * starved while others progress is a fairness figure (longest_stall_ns,
 * starved_workers), not a deadlock: see watch().
 *
 * Invariants: every audit sums to accounts x initial; after the run the
 * accounts still do, and none is negative.  A run that breaks them fails
 * (exit 3) with the units lost: `-m locks -p lock=none` is the
 * demonstration of the claim "locks prevent races" (its transfers race
 * and lose updates).
 */
#include "models/model.h"
#include "workloads/workload.h"

#include <dirent.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const cb_param_def_t params[] = {
    {.name = "accounts",
     .kind = CB_PARAM_INT,
     .unit = "accounts",
     .help = "number of accounts (8: high contention; 10000: low)",
     .def = 8,
     .quick = 8,
     .min = 2,
     .max = 10000000},
    {.name = "tasks",
     .kind = CB_PARAM_INT,
     .unit = "workers",
     .help = "concurrent workers doing transfers and audits",
     .def = 2,
     .quick = 2,
     .min = 1,
     .max = 100000},
    {.name = "duration_ms",
     .kind = CB_PARAM_INT,
     .unit = "ms",
     .help = "length of the run when ops=0",
     .def = 3000,
     .quick = 200,
     .min = 1,
     .max = 86400000},
    {.name = "ops",
     .kind = CB_PARAM_INT,
     .unit = "operations",
     .help = "operations (transfers and audits) per worker; 0: run for "
             "duration_ms instead",
     .def = 0,
     .quick = 0,
     .min = 0,
     .max = (int64_t)1 << 40},
    {.name = "audit_pct",
     .kind = CB_PARAM_INT,
     .unit = "%",
     .help = "share of operations that are audits of every account",
     .def = 5,
     .quick = 5,
     .min = 0,
     .max = 100},
    {.name = "initial",
     .kind = CB_PARAM_INT,
     .unit = "units",
     .help = "initial balance of each account",
     .def = 1000,
     .quick = 1000,
     .min = 0,
     .max = (int64_t)1 << 32},
    {.name = "max_amount",
     .kind = CB_PARAM_INT,
     .unit = "units",
     .help = "a transfer moves 1..max_amount",
     .def = 100,
     .quick = 100,
     .min = 1,
     .max = (int64_t)1 << 32},
    {.name = "stall_ms",
     .kind = CB_PARAM_INT,
     .unit = "ms",
     .help = "no running worker progressing this long is a deadlock; one "
             "worker without progress this long counts as starved",
     .def = 1000,
     .quick = 1000,
     .min = 10,
     .max = 3600000},
    {0},
};

#define WATCH_NS (10 * 1000000LL) /* the watchdog's sampling period */

typedef struct shared {
    cb_cell_t **acct;
    int64_t naccounts, initial, max_amount, ops, end_ns;
    unsigned audit_per_64k; /* audit probability, in 1/65536 */
    cb_port_t *coord;
    uint64_t seed;
} shared_t;

typedef struct worker {
    _Alignas(64) shared_t *sh; /* each worker on its own cache lines */
    int idx;
    cb_port_t *port;
    cb_task_t *task;
    int64_t *audit_buf;
    rt_hist_t *audit_lat;
    /* Read by the watchdog while the worker runs. */
    _Atomic int64_t progress;
    _Atomic int done;
    /* Results, written before the done message. */
    int64_t transfers, declined, audits, torn, bad_sum;
    int error;
} worker_t;

typedef struct xfer {
    int64_t amount;
    int moved; /* set by the function: a transaction may run it again */
} xfer_t;

static void transfer_fn(int64_t *v, size_t n, void *arg)
{
    xfer_t *x = arg;
    (void)n;
    x->moved = v[0] >= x->amount;
    if (x->moved) {
        v[0] -= x->amount;
        v[1] += x->amount;
    }
}

static uint64_t next_rand(uint64_t *s)
{
    /* xorshift64*: per worker, seeded from the run's seed. */
    uint64_t x = *s;
    x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static int audit(worker_t *w)
{
    shared_t *sh = w->sh;
    int64_t t0 = cb_now_ns();
    int rc = cb_cells_read(sh->acct, (size_t)sh->naccounts, w->audit_buf);
    if (rc < 0)
        return rc;
    rt_hist_record(w->audit_lat, (uint64_t)(cb_now_ns() - t0));
    int64_t sum = 0;
    for (int64_t i = 0; i < sh->naccounts; i++)
        sum += w->audit_buf[i];
    if (sum != sh->naccounts * sh->initial && !w->torn++)
        w->bad_sum = sum;
    w->audits++;
    return 0;
}

static void worker_main(void *arg)
{
    worker_t *w = arg;
    shared_t *sh = w->sh;
    uint64_t rng = cb_wl_mix(sh->seed ^ (uint64_t)(w->idx + 1)) | 1;
    cb_send(sh->coord, cb_tuple2(cb_atom("ready"), cb_int(w->idx)));
    cb_term_t m;
    cb_recv(w->port, &m, CB_FOREVER);
    uint64_t na = (uint64_t)sh->naccounts;
    for (int64_t op = 0;; op++) {
        if (sh->ops ? op >= sh->ops
                    : (op & 63) == 0 && cb_now_ns() >= sh->end_ns)
            break;
        uint64_t r = next_rand(&rng);
        int rc;
        if ((r & 0xffff) < sh->audit_per_64k) {
            rc = audit(w);
        } else {
            uint64_t a = (r >> 16) % na;
            uint64_t b = (a + 1 + (r >> 40) % (na - 1)) % na;
            xfer_t x = {.amount = 1 + (int64_t)(next_rand(&rng) %
                                                (uint64_t)sh->max_amount)};
            cb_cell_t *pair[2] = {sh->acct[a], sh->acct[b]};
            rc = cb_cells_update(pair, 2, transfer_fn, &x);
            w->transfers++;
            w->declined += !x.moved;
        }
        if (rc < 0) {
            w->error = rc;
            break;
        }
        /* Relaxed: a progress hint for the watchdog, nothing hangs on
         * its order. */
        atomic_store_explicit(&w->progress, op + 1, memory_order_relaxed);
        cb_reduce(1);
    }
    atomic_store_explicit(&w->done, 1, memory_order_relaxed);
    cb_send(sh->coord, cb_tuple2(cb_atom("done"), cb_int(w->idx)));
}

static int estimate(const cb_param_set_t *ps, cb_wl_estimate_t *est, char *err,
                    size_t errlen)
{
    int64_t a = cb_params_int(ps, "accounts"), t = cb_params_int(ps, "tasks");
    int64_t initial = cb_params_int(ps, "initial");
    if (initial > 0 && a > INT64_MAX / 4 / initial) {
        snprintf(err, errlen, "accounts x initial overflows the total");
        return -EINVAL;
    }
    est->tasks = t + 1;
    /* A cell (a cache line with its lock or history), a pointer to it,
     * and every worker's audit buffer of one value per account. */
    est->bytes = a * (64 + 8 + 8 * 10) + t * (a * 8 + 4096);
    est->fds = 0;
    return 0;
}

/*
 * The watchdog: wait for every worker's done message; every WATCH_NS
 * sample each worker's progress.
 *
 * A deadlock is a cycle of waiters, and what the watchdog can see of one
 * from outside the model is that no worker still running progresses at
 * all: a cycle that catches only some workers leaves the others running
 * until they finish (at the end of the window, or after their ops), and
 * then nothing moves.  One worker without progress while others go on is
 * starved (by the scheduler, by retries, by a long audit), which is a
 * fairness figure — the longest stall and the workers that went stall_ms
 * without progress are reported as metrics — never a broken invariant.
 * The stall must also span STALL_SAMPLES samples, and only the time the
 * watchdog saw counts toward stall_ms: a sample that woke more than
 * LATE_NS after the one before adds LATE_NS, not its whole gap.  A
 * watchdog that wakes late was itself not run (a loaded machine, or a
 * pool whose workers hog every thread), and neither were the workers it
 * would blame; a real deadlock is still found, since its workers block
 * and the watchdog then wakes on time (seen on a 2-core machine at load
 * 30-370: 64 starving workers called deadlocked after 100 ms of nobody
 * running).  Waking on time is not enough, though: the kernel wakes a
 * sleeper such as the watchdog promptly while CPU-bound threads queue
 * for their slices, so at a load of 43 two STM workers went 100 ms
 * without a slice while the watchdog kept time.  So a quiet sample also
 * counts only when no other thread of this process is runnable (state R
 * in /proc/self/task): the threads of a deadlock sleep in their waits,
 * and a worker that waits for a CPU is starved by the machine, not
 * deadlocked.  Without /proc every quiet sample counts, as before.
 *
 * Returns the number of running workers when none of them progressed
 * for stall_ns (and names them in why), 0 when all finished, -1 on an
 * allocation failure.
 */
#define STALL_SAMPLES 10
#define LATE_NS (2 * WATCH_NS)

/* Whether a thread of this process other than the caller is runnable (or
 * running): false when none is, or when /proc cannot tell. */
static bool others_runnable(void)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return false;
    long me = (long)gettid();
    bool any = false;
    struct dirent *e;
    while (!any && (e = readdir(d))) {
        char *end;
        long tid = strtol(e->d_name, &end, 10);
        if (*end || end == e->d_name || tid == me)
            continue;
        char path[64], buf[512];
        snprintf(path, sizeof path, "/proc/self/task/%ld/stat", tid);
        FILE *f = fopen(path, "r");
        if (!f)
            continue; /* the thread exited meanwhile */
        size_t len = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[len] = 0;
        /* The state follows the command name's closing parenthesis,
         * which is the last one (the name may hold parentheses). */
        char *close = strrchr(buf, ')');
        any = close && close[1] == ' ' && close[2] == 'R';
    }
    closedir(d);
    return any;
}

typedef struct watch_figures {
    int64_t longest_stall_ns; /* one worker's longest gap between ops */
    int64_t starved;          /* workers with a gap of stall_ns or more */
} watch_figures_t;

static int64_t watch(cb_wl_ctx_t *ctx, shared_t *sh, worker_t *w, int64_t n,
                     int64_t stall_ns, watch_figures_t *fig, char *why,
                     size_t whylen)
{
    int64_t *last = calloc((size_t)n, sizeof *last);
    int64_t *since = calloc((size_t)n, sizeof *since);
    bool *starved = calloc((size_t)n, sizeof *starved);
    int64_t finished = 0, stalled = 0;
    *fig = (watch_figures_t){0};
    if (!last || !since || !starved) {
        free(last);
        free(since);
        free(starved);
        cb_wl_fail(ctx, "out of memory for the watchdog");
        return -1;
    }
    int64_t now = cb_now_ns();
    for (int64_t i = 0; i < n; i++)
        since[i] = now;
    int64_t any_since = now; /* the last op or exit of any worker */
    int64_t quiet_samples = 0, quiet_seen_ns = 0;
    while (finished < n) {
        cb_term_t m;
        int64_t before = now;
        int rc = cb_recv(sh->coord, &m, WATCH_NS);
        now = cb_now_ns();
        if (rc == 0) {
            cb_term_release(m);
            finished++;
            any_since = now;
            quiet_samples = quiet_seen_ns = 0;
            continue;
        }
        int64_t seen = now - before;
        bool moved = false;
        for (int64_t i = 0; i < n; i++) {
            if (atomic_load_explicit(&w[i].done, memory_order_relaxed))
                continue;
            int64_t p =
                atomic_load_explicit(&w[i].progress, memory_order_relaxed);
            int64_t gap = now - since[i];
            if (gap > fig->longest_stall_ns)
                fig->longest_stall_ns = gap;
            if (gap >= stall_ns && !starved[i]) {
                starved[i] = true;
                fig->starved++;
            }
            if (p != last[i]) {
                last[i] = p;
                since[i] = now;
                moved = true;
            }
        }
        if (moved) {
            any_since = now;
            quiet_samples = quiet_seen_ns = 0;
            continue;
        }
        if (others_runnable())
            continue; /* waiting for a CPU: starved by the machine */
        quiet_seen_ns += seen < LATE_NS ? seen : LATE_NS;
        if (++quiet_samples < STALL_SAMPLES || now - any_since < stall_ns ||
            quiet_seen_ns < stall_ns)
            continue;
        int len = 0;
        for (int64_t i = 0; i < n; i++) {
            if (atomic_load_explicit(&w[i].done, memory_order_relaxed))
                continue;
            if (stalled++ < 8 && len >= 0 && (size_t)len < whylen)
                len += snprintf(why + len, whylen - (size_t)len,
                                "%s%lld (after %lld ops)",
                                stalled > 1 ? ", " : "", (long long)i,
                                (long long)last[i]);
        }
        if (stalled)
            break;
    }
    free(last);
    free(since);
    free(starved);
    return stalled;
}

static void run(cb_wl_ctx_t *ctx)
{
    /* On the heap, not the stack: after a deadlock the stuck workers are
     * abandoned still holding pointers into it. */
    shared_t *shp = calloc(1, sizeof *shp);
    if (!shp) {
        cb_wl_unsupported(ctx, "allocating the bank", -ENOMEM);
        return;
    }
    shared_t *const sh = shp;
    *sh = (shared_t){
        .naccounts = cb_wl_int(ctx, "accounts"),
        .initial = cb_wl_int(ctx, "initial"),
        .max_amount = cb_wl_int(ctx, "max_amount"),
        .ops = cb_wl_int(ctx, "ops"),
        .audit_per_64k = (unsigned)(cb_wl_int(ctx, "audit_pct") * 65536 / 100),
        .seed = cb_wl_seed(ctx),
    };
    int64_t n = cb_wl_int(ctx, "tasks");
    int64_t stall_ns = cb_wl_int(ctx, "stall_ms") * 1000000;
    int64_t duration_ns = cb_wl_int(ctx, "duration_ms") * 1000000;
    sh->acct = calloc((size_t)sh->naccounts, sizeof *sh->acct);
    worker_t *w = aligned_alloc(_Alignof(worker_t), (size_t)n * sizeof *w);
    if (w)
        memset(w, 0, (size_t)n * sizeof *w);
    int64_t made = 0, spawned = 0, ncells = 0;
    int rc = sh->acct && w ? cb_wl_gather_port_open(2 * n, &sh->coord)
                             : -ENOMEM;
    for (; rc == 0 && ncells < sh->naccounts; ncells++)
        if ((rc = cb_cell_new(sh->initial, &sh->acct[ncells])) < 0)
            break;
    for (; rc == 0 && made < n; made++) {
        w[made] = (worker_t){.sh = sh, .idx = (int)made};
        w[made].audit_buf = malloc((size_t)sh->naccounts * sizeof(int64_t));
        w[made].audit_lat = rt_hist_new();
        if (!w[made].audit_buf || !w[made].audit_lat) {
            rc = -ENOMEM;
            made++;
            break;
        }
        if ((rc = cb_port_open(NULL, &w[made].port)) < 0) {
            made++;
            break;
        }
    }
    for (; rc == 0 && spawned < n; spawned++)
        if ((rc = cb_spawn(worker_main, &w[spawned], NULL, &w[spawned].task)) <
            0)
            break;
    if (rc < 0) {
        cb_wl_unsupported(ctx, "setting up accounts and workers", rc);
        goto out;
    }
    for (int64_t i = 0; i < n; i++) {
        cb_term_t m;
        cb_recv(sh->coord, &m, CB_FOREVER);
        cb_term_release(m);
    }
    cb_wl_window_start(ctx);
    sh->end_ns = cb_now_ns() + duration_ns;
    for (int64_t i = 0; i < n; i++)
        cb_send(w[i].port, cb_atom("go"));
    char why[512] = "";
    watch_figures_t fig;
    int64_t stalled = watch(ctx, sh, w, n, stall_ns, &fig, why, sizeof why);
    cb_wl_window_stop(ctx);
    if (stalled != 0) {
        if (stalled > 0)
            cb_wl_fail(ctx,
                       "deadlock: none of the %lld running workers (of "
                       "%lld) made progress for %lld ms: %s",
                       (long long)stalled, (long long)n,
                       (long long)(stall_ns / 1000000), why);
        /* The stalled tasks hold locks and are never coming back:
         * abandon them with everything they may touch. */
        return;
    }
    for (int64_t i = 0; i < n; i++)
        cb_join(w[i].task);
    spawned = 0;

    int64_t transfers = 0, declined = 0, audits = 0, torn = 0;
    int64_t first_torn = -1, lost = 0;
    rt_hist_t *lat = rt_hist_new();
    for (int64_t i = 0; i < n; i++) {
        transfers += w[i].transfers;
        declined += w[i].declined;
        audits += w[i].audits;
        torn += w[i].torn;
        if (lat)
            rt_hist_merge(lat, w[i].audit_lat);
        if (w[i].torn && first_torn < 0)
            first_torn = i;
    }
    /* The final state first: when both broke, the units lost are the
     * headline (a race loses money; a torn audit only misreads it). */
    int64_t *v = malloc((size_t)sh->naccounts * sizeof *v);
    if (v && cb_cells_read(sh->acct, (size_t)sh->naccounts, v) == 0) {
        int64_t sum = 0, negative = 0;
        for (int64_t i = 0; i < sh->naccounts; i++) {
            sum += v[i];
            negative += v[i] < 0;
        }
        lost = sh->naccounts * sh->initial - sum;
        if (lost || negative)
            cb_wl_fail(ctx,
                       "total after the run is %lld, wanted %lld: %lld "
                       "units %s; %lld accounts negative; %lld torn audits",
                       (long long)sum, (long long)(sh->naccounts * sh->initial),
                       (long long)(lost < 0 ? -lost : lost),
                       lost < 0 ? "created" : "lost", (long long)negative,
                       (long long)torn);
    }
    free(v);
    if (first_torn >= 0)
        cb_wl_fail(ctx,
                   "torn audit: worker %lld saw a total of %lld, "
                   "wanted %lld (%lld torn audits)",
                   (long long)first_torn, (long long)w[first_torn].bad_sum,
                   (long long)(sh->naccounts * sh->initial),
                   (long long)w[first_torn].torn);
    for (int64_t i = 0; i < n; i++)
        if (w[i].error == -ENOTSUP)
            cb_wl_unsupported(ctx, "a transfer or an audit", w[i].error);
        else if (w[i].error) /* stm's retry limit (Clojure throws): failed;
                                * too many locks for TSan: resource */
            cb_wl_error(ctx, w[i].error,
                        "worker %lld: a transfer or an audit failed",
                        (long long)i);
    int64_t el = cb_wl_elapsed_ns(ctx);
    cb_wl_ops(ctx, transfers);
    cb_wl_metric_int(ctx, "transfers", transfers);
    cb_wl_metric_int(ctx, "declined", declined);
    cb_wl_metric_int(ctx, "audits", audits);
    cb_wl_metric_int(ctx, "torn_audits", torn);
    cb_wl_metric_int(ctx, "lost_units", lost);
    cb_wl_metric_int(ctx, "longest_stall_ns", fig.longest_stall_ns);
    cb_wl_metric_int(ctx, "starved_workers", fig.starved);
    cb_wl_metric_f64(ctx, "audits_per_s",
                     el > 0 ? (double)audits * 1e9 / (double)el : 0);
    if (lat && rt_hist_count(lat) > 0)
        cb_wl_metric_hist(ctx, "audit_latency_ns", lat);
    rt_hist_free(lat);
out:
    /* Workers still waiting for their go signal: end them at once. */
    sh->ops = 0;
    sh->end_ns = 0;
    for (int64_t i = 0; i < spawned; i++)
        if (w[i].task) {
            cb_send(w[i].port, cb_atom("go"));
            cb_join(w[i].task);
        }
    for (int64_t i = 0; i < made; i++) {
        if (w[i].port)
            cb_port_free(w[i].port);
        free(w[i].audit_buf);
        rt_hist_free(w[i].audit_lat);
    }
    for (int64_t i = 0; i < ncells; i++)
        cb_cell_free(sh->acct[i]);
    if (sh->coord)
        cb_port_free(sh->coord);
    free(sh->acct);
    free(sh);
    free(w);
}

const cb_workload_t cb_workload_bank = {
    .name = "bank",
    .no_instruction_count =
        "its point is contention between workers on shared accounts, and "
        "callgrind runs one thread at a time",
    .summary = "concurrent transfers between accounts and audits of the "
               "total, which must never change",
    .description =
        "Workers transfer random amounts between random pairs of accounts "
        "(one atomic update of the pair, named (from, to)) and, for "
        "audit_pct % of their operations, audit the sum of every account "
        "(one atomic read). A watchdog reports a deadlock when no running "
        "worker progresses for stall_ms (e.g. -m locks -p ordering=naive); "
        "a starved worker is a figure, not a deadlock. "
        "With -m locks -p lock=none the transfers race (no locks at all): "
        "the run fails its invariant with the units lost, the "
        "demonstration of the claim \"locks prevent races\".\n"
        "Metrics: ops and throughput_ops_s (transfers), declined "
        "(insufficient funds), audits, audits_per_s, audit_latency_ns, "
        "torn_audits, lost_units (units missing from the final total; "
        "negative: created), longest_stall_ns (one worker's longest time "
        "between operations, sampled every 10 ms), starved_workers (workers "
        "that went stall_ms without one while others progressed); the "
        "model's counters give aborts, retries or lock "
        "waits. Invariant: every audit and the final state sum to "
        "accounts x initial.",
    .params = params,
    .estimate = estimate,
    .run = run,
};
