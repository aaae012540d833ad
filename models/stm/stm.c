/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * The `stm` model: Clojure's refs and dosync, with Haskell STM's retry
 * for blocking.
 *
 * Tasks run on the same kind of executor as the `locks` model (a pool of
 * OS threads, one per PU by default, compensating while tasks block).
 * What differs is how they share: nothing shared is changed outside a
 * transaction.  A cell is a ref; cb_cells_update is a dosync that reads
 * the refs, applies the function and writes them back, re-run from the
 * start whenever it conflicts with another commit; cb_cells_read is a
 * read-only transaction that reads one snapshot from the refs' history,
 * so an audit of every account never sees half a transfer and is not
 * starved by the transfers.  A port is a transactional queue
 * (models/stm/port.c): a receive on an empty queue calls retry and
 * sleeps until a ref it read changes; select is orElse over the
 * operations.  The engine — TL2 with a global version clock, versioned
 * locks, buffered writes, commit-time locking in address order, read-set
 * validation, bounded randomised backoff — is models/stm/core.c, where
 * its essay and invariants are.
 *
 * Isolation is Clojure's by default, not a stricter one.  Clojure's refs
 * give snapshot isolation: "All reads of Refs will see a consistent
 * snapshot of the 'Ref world' as of the starting point of the
 * transaction" and "No changes will have been made by any other
 * transactions to any Refs that have been ref-set / altered / ensured by
 * this transaction" (clojure.org/reference/refs) — a ref only read is
 * not protected, so two transactions that each read the ref the other
 * writes both commit: write skew.  `ensure` ("Protects the ref from
 * modification by other transactions", clojure.core/ensure) is the cure.
 * cb_cells_update_reading is such a transaction: it writes its first
 * nwrite cells and only reads the rest.  `-p isolation=` picks:
 *   - snapshot (default): the cells only read are read from the snapshot,
 *     unprotected: write skew is possible, as in Clojure;
 *   - ensure: they are ensured, as a careful Clojure programmer does:
 *     serializable for these updates;
 *   - serializable: TL2, every read validated (extending the snapshot
 *     when it can): stricter than Clojure, kept for comparison.
 * Updates that write every cell they read (cb_cells_update, a transfer)
 * are safe under all three: a ref written since the snapshot aborts the
 * commit.  `retry_limit` is Clojure's RETRY_LIMIT (10000 attempts, then
 * the update fails with -ECANCELED: core.c); it binds the cells'
 * transactions, Clojure's dosync, and not the ports', which are Haskell
 * TQueue operations and retry without limit as GHC's do; `min_history` and
 * `max_history` (older versions kept per cell, grown one per read fault:
 * Clojure's defaults, 0 and 10).
 *
 * Invariants:
 *   - the model's only locks are the STM's own (commit locks, wait
 *     buckets, a port's node pool), none held while user code runs,
 *     except that a cb_cells_fn runs inside a transaction body and may
 *     run several times: it must be a pure function of the values;
 *   - a cell's value changes only by a committed transaction.
 *
 * Rejected: a global lock around every transaction (correct, and the
 * figure of interest — aborts by cause under contention — would vanish),
 * and copying messages (refs hold pointers to immutable terms, as
 * Clojure's refs hold persistent values).
 */
#include "models/pool.h"
#include "models/stm/stm_int.h"

#include "runtime/clock.h"
#include "runtime/common.h"
#include "runtime/executor.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cb_param_def_t stm_params[] = {
    {.name = "isolation",
     .kind = CB_PARAM_ENUM,
     .help = "snapshot (Clojure's refs: cells only read are not protected, "
             "write skew is possible), ensure (those reads are ensured: "
             "no write skew) or serializable (TL2: every read validated)",
     .choices = "snapshot|ensure|serializable",
     .enum_def = "snapshot"},
    {.name = "retry_limit",
     .kind = CB_PARAM_INT,
     .unit = "attempts",
     .help = "attempts after which a transaction gives up and the update "
             "fails (Clojure's LockingTransaction.RETRY_LIMIT); 0: never",
     .def = 10000,
     .quick = 10000,
     .min = 0,
     .max = (int64_t)1 << 40},
    {.name = "min_history",
     .kind = CB_PARAM_INT,
     .unit = "versions",
     .help = "older values every cell keeps from the start (Clojure's "
             ":min-history)",
     .def = 0,
     .quick = 0,
     .min = 0,
     .max = 1024},
    {.name = "max_history",
     .kind = CB_PARAM_INT,
     .unit = "versions",
     .help = "older values a cell keeps at most, grown one per read "
             "fault (Clojure's :max-history)",
     .def = 10,
     .quick = 10,
     .min = 0,
     .max = 1024},
    CB_POOL_PARAMS,
    {0},
};

stm_model_totals_t stm_totals;

static struct {
    uint32_t min_history, max_history;
    bool ensure_reads;   /* isolation=ensure: ensure the cells only read */
    int64_t retry_limit; /* of cell transactions (dosync); 0: none */
    _Atomic int64_t cell_updates, cell_reads, sleeps, io_waits, yields;
} model;

void stm_max_relaxed(_Atomic int64_t *max, int64_t v)
{
    int64_t cur = atomic_load_explicit(max, memory_order_relaxed);
    while (v > cur &&
           !atomic_compare_exchange_weak_explicit(
               max, &cur, v, memory_order_relaxed, memory_order_relaxed))
        ;
}

static void bump(_Atomic int64_t *c)
{
    atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

/* ---- lifecycle ---- */

static int stm_start(const cb_param_set_t *params, const cb_model_env_t *env,
                     char *err, size_t errlen)
{
    stm_config_t c;
    stm_config_default(&c);
    const char *iso = cb_params_str(params, "isolation");
    c.isolation =
        strcmp(iso, "serializable") == 0 ? STM_SERIALIZABLE : STM_SNAPSHOT;
    model.ensure_reads = strcmp(iso, "ensure") == 0;
    /* The limit is dosync's, so it binds the cells' transactions; the
     * ports' are Haskell's TQueue operations, which have none (GHC's
     * atomically retries without limit). */
    model.retry_limit = cb_params_int(params, "retry_limit");
    c.retry_limit = 0;
    stm_configure(&c);
    stm_stats_reset();
    model.min_history = (uint32_t)cb_params_int(params, "min_history");
    model.max_history = (uint32_t)cb_params_int(params, "max_history");
    if (model.min_history > model.max_history) {
        snprintf(err, errlen, "min_history (%u) is above max_history (%u)",
                 model.min_history, model.max_history);
        return -EINVAL;
    }
    memset(&stm_totals, 0, sizeof stm_totals);
    atomic_store(&model.cell_updates, 0);
    atomic_store(&model.cell_reads, 0);
    return cb_pool_start(params, env, 0, err, errlen);
}

static size_t stm_counters(cb_counter_t *out, size_t max)
{
    if (!cb_pool_exec())
        return 0;
    stm_stats_t s;
    stm_stats_sum(&s);
    int64_t aborts = 0;
    for (int i = 0; i < STM_ABORT__COUNT; i++)
        aborts += s.aborts[i];
    cb_counter_t all[CB_COUNTERS_MAX];
    size_t n = cb_pool_counters(all, CB_COUNTERS_MAX);
#define C(name, v) all[n++] = (cb_counter_t){name, (v)}
    C("commits", s.commits);
    C("commits_read_only", s.commits_ro);
    C("aborts", aborts);
#define X(c) C("aborts_" #c, s.aborts[STM_ABORT_##c]);
    STM_ABORT_CAUSES(X)
#undef X
    C("retries", s.retries);
    C("retry_wakeups", s.retry_wakeups);
    C("extensions", s.extensions);
    C("read_set_total", s.read_set_total);
    C("read_set_max", s.read_set_max);
    C("write_set_total", s.write_set_total);
    C("write_set_max", s.write_set_max);
    C("clock_resets", s.clock_resets);
    C("gave_up", s.gave_up);
    C("cell_updates", atomic_load(&model.cell_updates));
    C("cell_reads", atomic_load(&model.cell_reads));
    C("sends", atomic_load(&stm_totals.sends));
    C("recvs", atomic_load(&stm_totals.recvs));
    C("selects", atomic_load(&stm_totals.selects));
    C("drops", atomic_load(&stm_totals.drops));
    C("max_queue_len", atomic_load(&stm_totals.max_queue_len));
    C("sleeps", atomic_load(&model.sleeps));
    C("io_waits", atomic_load(&model.io_waits));
    C("yields", atomic_load(&model.yields));
#undef C
    size_t k = 0;
    for (; k < n && k < max; k++)
        out[k] = all[k];
    return k;
}

static void stm_yield(void)
{
    bump(&model.yields);
    sched_yield();
}

static int stm_sleep(int64_t ns)
{
    bump(&model.sleeps);
    return rt_exec_sleep(ns);
}

static int stm_io_wait(int fd, uint32_t events, int64_t timeout_ns)
{
    bump(&model.io_waits);
    return rt_exec_io_wait(fd, events, timeout_ns);
}

/* ---- cells: refs ---- */

struct cb_cell {
    stm_ref_t ref;
};

static int stm_cell_new(int64_t initial, cb_cell_t **out)
{
    cb_cell_t *c = aligned_alloc(RT_CACHELINE, RT_CACHELINE);
    _Static_assert(sizeof(cb_cell_t) <= RT_CACHELINE, "a cell per line");
    if (!c)
        return -ENOMEM;
    if (stm_ref_init(&c->ref, initial, model.min_history, model.max_history) <
            0 ||
        stm_refs_register(&c->ref, 1, sizeof c->ref) < 0) {
        stm_ref_destroy(&c->ref);
        free(c);
        return -ENOMEM;
    }
    *out = c;
    return 0;
}

static void stm_cell_free(cb_cell_t *c)
{
    if (!c)
        return;
    stm_refs_unregister(&c->ref);
    stm_ref_destroy(&c->ref);
    free(c);
}

typedef struct cells_op {
    cb_cell_t **cells;
    size_t n, nwrite;
    int64_t *vals;
    cb_cells_fn fn;
    void *arg;
} cells_op_t;

static int update_body(stm_tx_t *tx, void *arg)
{
    cells_op_t *o = arg;
    for (size_t i = 0; i < o->n; i++)
        o->vals[i] = i >= o->nwrite && model.ensure_reads
                         ? stm_ensure(tx, &o->cells[i]->ref)
                         : stm_read(tx, &o->cells[i]->ref);
    o->fn(o->vals, o->n, o->arg);
    for (size_t i = 0; i < o->nwrite; i++)
        stm_write(tx, &o->cells[i]->ref, o->vals[i]);
    return 0;
}

static int read_body(stm_tx_t *tx, void *arg)
{
    cells_op_t *o = arg;
    for (size_t i = 0; i < o->n; i++)
        o->vals[i] = stm_read(tx, &o->cells[i]->ref);
    return 0;
}

static int stm_cells_update_reading(cb_cell_t **cells, size_t n,
                                    size_t nwrite, cb_cells_fn fn, void *arg)
{
    if (!cells || n == 0 || !fn || nwrite == 0 || nwrite > n)
        return -EINVAL;
    int64_t small[8];
    cells_op_t o = {cells, n, nwrite,
                    n <= 8 ? small : malloc(n * sizeof(int64_t)), fn, arg};
    if (!o.vals)
        return -ENOMEM;
    int rc = stm_atomically_limit(update_body, &o, false, model.retry_limit);
    if (o.vals != small)
        free(o.vals);
    bump(&model.cell_updates);
    return rc;
}

static int stm_cells_update(cb_cell_t **cells, size_t n, cb_cells_fn fn,
                            void *arg)
{
    return stm_cells_update_reading(cells, n, n, fn, arg);
}

static int stm_cells_read(cb_cell_t **cells, size_t n, int64_t *out)
{
    if (!cells || n == 0 || !out)
        return -EINVAL;
    cells_op_t o = {cells, n, 0, out, NULL, NULL};
    bump(&model.cell_reads);
    return stm_atomically_limit(read_body, &o, true, model.retry_limit);
}

static const cb_unsupported_t stm_unsupported[] = {
    {CB_CAP_LINKS, CB_POOL_NO_LINKS},
    {CB_CAP_MONITORS, CB_POOL_NO_MONITORS},
    {CB_CAP_RECV_MATCH,
     "a transactional queue has no selective receive; scanning it in a "
     "transaction would conflict with every other receiver"},
    {CB_CAP_PORT_RENDEZVOUS,
     "a transaction cannot wait for another to take what it put and "
     "still commit atomically"},
    {0, NULL},
};

const cb_model_t cb_model_stm = {
    .name = "stm",
    .stands_for = "Clojure refs and dosync (with Haskell STM's retry and "
                  "orElse) on an executor of OS threads",
    .summary = "TL2 software transactional memory: refs as cells, "
               "transactional queues as ports",
    .params = stm_params,
    .unsupported = stm_unsupported,
    .start = stm_start,
    .run = cb_pool_run,
    .stop = cb_pool_stop,
    .counters = stm_counters,
    .task_cost_bytes = cb_pool_task_cost,
    .spawn = cb_pool_spawn,
    .join = cb_pool_join,
    .self = cb_pool_self,
    .task_id = cb_pool_task_id,
    .yield = stm_yield,
    .reduce_slow = cb_pool_reduce_slow,
    .port_open = stm_port_open,
    .port_close = stm_port_close,
    .port_free = stm_port_free,
    .port_length = stm_port_length,
    .send = stm_send,
    .recv = stm_recv,
    .recv_match = cb_model_no_recv_match,
    .recv_mark = cb_model_plain_recv_mark,
    .recv_match_ref = cb_model_no_recv_match_ref,
    .select = stm_select,
    .sleep = stm_sleep,
    .io_wait = stm_io_wait,
    .cell_new = stm_cell_new,
    .cell_free = stm_cell_free,
    .cells_update = stm_cells_update,
    .cells_read = stm_cells_read,
    .exit_self = cb_pool_exit_self,
    CB_MODEL_NO_LINKS,
    .native_call = cb_model_native_inline,
    .cells_update_reading = stm_cells_update_reading,
    .threads_for = cb_pool_threads_for,
};
