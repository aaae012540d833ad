/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Lab 2, the bank: your workload.  Read sheet.md first.
 *
 * `tasks` workers each make `ops` operations on `accounts` accounts that
 * start with 1000 units each: a transfer of 1..100 units between two
 * different random accounts, or (audit_pct % of the operations) an audit
 * that reads every account at once and checks the total.  The total must
 * never change: every audit and the end of the run check it.
 *
 * mode=tokens protects each account with a lock made of a port holding
 * one token (a channel with a buffer of one is a mutex, in Go and in
 * core.async): take the token to lock, put it back to unlock.
 * mode=cells moves the money with the model's cells instead.
 *
 * Your work is in transfer_tokens (step 2) and transfer_cells (step 3):
 * both are wrong as given.  `concbench lab check 2 .` says how.
 */
#include "models/model.h"
#include "workloads/workload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cb_param_def_t params[] = {
    {.name = "accounts", .kind = CB_PARAM_INT, .unit = "accounts",
     .help = "number of accounts (2: every transfer collides; 1000: few "
             "do)",
     .def = 4, .quick = 4, .min = 2, .max = 100000},
    {.name = "tasks", .kind = CB_PARAM_INT, .unit = "workers",
     .help = "workers making transfers and audits",
     .def = 4, .quick = 4, .min = 1, .max = 1000},
    {.name = "ops", .kind = CB_PARAM_INT, .unit = "operations",
     .help = "operations per worker",
     .def = 20000, .quick = 2000, .min = 1, .max = 1000000000},
    {.name = "mode", .kind = CB_PARAM_ENUM,
     .help = "tokens: a lock per account, a port with one token; cells: "
             "the model's atomic update of the pair",
     .choices = "tokens|cells", .enum_def = "tokens"},
    {.name = "audit_pct", .kind = CB_PARAM_INT, .unit = "%",
     .help = "share of operations that are audits of every account",
     .def = 10, .quick = 10, .min = 0, .max = 100},
    {.name = "stall_ms", .kind = CB_PARAM_INT, .unit = "ms",
     .help = "a wait this long for a token is taken for a deadlock",
     .def = 1000, .quick = 1000, .min = 10, .max = 600000},
    {0},
};

#define INITIAL 1000 /* units in each account at the start */

typedef struct bank {
    cb_cell_t **acct;  /* the balances */
    cb_port_t **token; /* tokens mode: account i's lock */
    int64_t naccounts, ops, stall_ns;
    unsigned audit_pct;
    bool tokens;
    uint64_t seed;
    cb_port_t *done; /* each worker says "done" here */
} bank_t;

typedef struct worker {
    bank_t *b;
    int idx;
    cb_task_t *task;
    int64_t *buf; /* an audit's copy of every balance */
    int64_t transfers, audits, torn, bad_sum;
    int error;
    bool held;     /* it gave up holding a token: part of the cycle */
    char why[200]; /* what a stuck worker held and waited for */
} worker_t;

/* ---- locks made of tokens ---- */

/* Wait for account i's token (lock it); 0, or -ETIMEDOUT after
 * stall_ms, which this lab takes for a deadlock. */
static int lock_account(bank_t *b, int64_t i)
{
    cb_term_t t;
    int rc = cb_recv(b->token[i], &t, b->stall_ns);
    if (rc == 0)
        cb_term_release(t);
    return rc;
}

static void unlock_account(bank_t *b, int64_t i)
{
    cb_send(b->token[i], cb_atom("token"));
}

/* ---- moving money ---- */

typedef struct move {
    int64_t amount;
    bool moved; /* the source could cover it */
} move_t;

static void debit_fn(int64_t *v, size_t n, void *arg)
{
    move_t *m = arg;
    m->moved = v[0] >= m->amount;
    if (m->moved)
        v[0] -= m->amount;
}

static void credit_fn(int64_t *v, size_t n, void *arg)
{
    move_t *m = arg;
    v[0] += m->amount;
}

/* For step 3 (unused until then). */
__attribute__((unused)) static void pair_fn(int64_t *v, size_t n, void *arg)
{
    move_t *m = arg;
    m->moved = v[0] >= m->amount; /* a transaction may run this again */
    if (m->moved) {
        v[0] -= m->amount;
        v[1] += m->amount;
    }
}

/* Debit, then credit: two atomic steps.  Safe only while something else
 * (the tokens) keeps everyone else away from both accounts. */
static int move_in_two_steps(bank_t *b, int64_t from, int64_t to,
                             int64_t amount)
{
    move_t m = {.amount = amount};
    int rc = cb_cells_update(&b->acct[from], 1, debit_fn, &m);
    cb_yield(); /* a window: here real code records the debit, ... */
    if (rc == 0 && m.moved)
        rc = cb_cells_update(&b->acct[to], 1, credit_fn, &m);
    return rc;
}

static int transfer_tokens(worker_t *w, int64_t from, int64_t to,
                           int64_t amount)
{
    bank_t *b = w->b;
    /* TODO (step 2): this can deadlock.  Why, and how do you fix it? */
    int64_t first = from, second = to;
    if (lock_account(b, first)) {
        snprintf(w->why, sizeof w->why,
                 "worker %d waited for account %lld's token",
                 w->idx, (long long)first);
        return -EDEADLK;
    }
    cb_yield(); /* a window: here real code logs, faults a page, ... */
    if (lock_account(b, second)) {
        snprintf(w->why, sizeof w->why,
                 "worker %d held account %lld's token and waited for "
                 "account %lld's",
                 w->idx, (long long)first, (long long)second);
        w->held = true;
        unlock_account(b, first);
        return -EDEADLK;
    }
    int rc = move_in_two_steps(b, from, to, amount);
    unlock_account(b, second);
    unlock_account(b, first);
    return rc;
}

static int transfer_cells(worker_t *w, int64_t from, int64_t to,
                          int64_t amount)
{
    bank_t *b = w->b;
    /* TODO (step 3): each update is atomic, but is the transfer?  An
     * audit may run between the two.  pair_fn above moves the money in
     * one update of both accounts. */
    return move_in_two_steps(b, from, to, amount);
}

/* ---- audits ---- */

static int audit(worker_t *w)
{
    bank_t *b = w->b;
    int rc = 0;
    int64_t locked = 0;
    if (b->tokens) /* every lock, in the same global order */
        for (; locked < b->naccounts; locked++)
            if ((rc = lock_account(b, locked)) < 0) {
                snprintf(w->why, sizeof w->why,
                         "worker %d (auditing) waited for account %lld's "
                         "token",
                         w->idx, (long long)locked);
                rc = -EDEADLK;
                break;
            }
    if (rc == 0)
        rc = cb_cells_read(b->acct, (size_t)b->naccounts, w->buf);
    for (int64_t i = locked - 1; i >= 0; i--)
        unlock_account(b, i);
    if (rc < 0)
        return rc;
    int64_t sum = 0;
    for (int64_t i = 0; i < b->naccounts; i++)
        sum += w->buf[i];
    if (sum != b->naccounts * INITIAL && !w->torn++)
        w->bad_sum = sum;
    w->audits++;
    return 0;
}

static void worker_main(void *arg)
{
    worker_t *w = arg;
    bank_t *b = w->b;
    uint64_t rng = cb_wl_mix(b->seed ^ (uint64_t)(w->idx + 1));
    uint64_t na = (uint64_t)b->naccounts;
    for (int64_t op = 0; op < b->ops && !w->error; op++) {
        rng = cb_wl_mix(rng);
        int rc;
        if (rng % 100 < b->audit_pct) {
            rc = audit(w);
        } else {
            int64_t from = (int64_t)((rng >> 8) % na);
            int64_t to = (from + 1 + (int64_t)((rng >> 32) % (na - 1))) %
                         (int64_t)na;
            int64_t amount = 1 + (int64_t)((rng >> 48) % 100);
            rc = b->tokens ? transfer_tokens(w, from, to, amount)
                           : transfer_cells(w, from, to, amount);
            w->transfers++;
        }
        if (rc < 0)
            w->error = rc;
        cb_reduce(1);
    }
    cb_send(b->done, cb_int(w->idx));
}

static int estimate(const cb_param_set_t *ps, cb_wl_estimate_t *est,
                    char *err, size_t errlen)
{
    int64_t a = cb_params_int(ps, "accounts"), t = cb_params_int(ps, "tasks");
    est->tasks = t + 1;
    est->bytes = a * 256 + t * (a * 8 + 512);
    est->fds = 0;
    return 0;
}

static void run(cb_wl_ctx_t *ctx)
{
    bank_t b = {
        .naccounts = cb_wl_int(ctx, "accounts"),
        .ops = cb_wl_int(ctx, "ops"),
        .stall_ns = cb_wl_int(ctx, "stall_ms") * 1000000,
        .audit_pct = (unsigned)cb_wl_int(ctx, "audit_pct"),
        .tokens = strcmp(cb_wl_str(ctx, "mode"), "tokens") == 0,
        .seed = cb_wl_seed(ctx),
    };
    int64_t n = cb_wl_int(ctx, "tasks"), made = 0, cells = 0, tokens = 0;
    b.acct = calloc((size_t)b.naccounts, sizeof *b.acct);
    b.token = calloc((size_t)b.naccounts, sizeof *b.token);
    worker_t *w = calloc((size_t)n, sizeof *w);
    int rc = b.acct && b.token && w ? cb_wl_gather_port_open(n, &b.done)
                                    : -ENOMEM;
    for (; rc == 0 && cells < b.naccounts; cells++)
        rc = cb_cell_new(INITIAL, &b.acct[cells]);
    cb_port_opts_t one = {.policy = CB_PORT_FIXED, .capacity = 1};
    for (; rc == 0 && b.tokens && tokens < b.naccounts; tokens++)
        if ((rc = cb_port_open(&one, &b.token[tokens])) == 0)
            rc = cb_send(b.token[tokens], cb_atom("token"));
    if (rc < 0) {
        cb_wl_unsupported(ctx, b.tokens ? "a lock made of a port with one "
                                          "token"
                                        : "the accounts",
                          rc);
        goto out;
    }
    cb_wl_window_start(ctx);
    for (; made < n; made++) {
        w[made] = (worker_t){.b = &b, .idx = (int)made};
        w[made].buf = malloc((size_t)b.naccounts * sizeof(int64_t));
        if (!w[made].buf ||
            (rc = cb_spawn(worker_main, &w[made], NULL, &w[made].task))) {
            cb_wl_unsupported(ctx, "spawning a worker", rc ? rc : -ENOMEM);
            free(w[made].buf);
            break;
        }
    }
    for (int64_t i = 0; i < made; i++) {
        cb_term_t m;
        cb_recv(b.done, &m, CB_FOREVER);
        cb_term_release(m);
    }
    cb_wl_window_stop(ctx);
    int64_t transfers = 0, audits = 0, torn = 0;
    for (int64_t i = 0; i < made; i++) {
        cb_join(w[i].task);
        transfers += w[i].transfers;
        audits += w[i].audits;
        torn += w[i].torn;
    }
    /* A worker that gave up holding a token names the cycle best; the
     * others waited behind it. */
    int64_t stuck = -1;
    for (int64_t i = 0; i < made; i++)
        if (w[i].error == -EDEADLK && (stuck < 0 || w[i].held))
            stuck = stuck >= 0 && w[stuck].held ? stuck : i;
    if (stuck >= 0)
        cb_wl_fail(ctx, "deadlock: for %lld ms, %s",
                   (long long)(b.stall_ns / 1000000), w[stuck].why);
    for (int64_t i = 0; i < made && stuck < 0; i++)
        if (w[i].error) {
            cb_wl_error(ctx, w[i].error, "worker %lld", (long long)i);
            break;
        }
    for (int64_t i = 0; i < made; i++)
        if (w[i].torn) {
            cb_wl_fail(ctx,
                       "torn audit: worker %lld counted %lld units, wanted "
                       "%lld (%lld of %lld audits were wrong): money was "
                       "seen in flight",
                       (long long)i, (long long)w[i].bad_sum,
                       (long long)(b.naccounts * INITIAL), (long long)torn,
                       (long long)audits);
            break;
        }
    int64_t *v = malloc((size_t)b.naccounts * sizeof *v);
    if (v && cb_cells_read(b.acct, (size_t)b.naccounts, v) == 0) {
        int64_t sum = 0;
        for (int64_t i = 0; i < b.naccounts; i++)
            sum += v[i];
        if (sum != b.naccounts * INITIAL)
            cb_wl_fail(ctx, "the total after the run is %lld, wanted %lld",
                       (long long)sum, (long long)(b.naccounts * INITIAL));
    }
    free(v);
    cb_wl_ops(ctx, transfers);
    cb_wl_metric_int(ctx, "transfers", transfers);
    cb_wl_metric_int(ctx, "audits", audits);
    cb_wl_metric_int(ctx, "torn_audits", torn);
out:
    for (int64_t i = 0; i < made; i++)
        free(w[i].buf);
    for (int64_t i = 0; i < tokens; i++)
        if (b.token[i])
            cb_port_free(b.token[i]);
    for (int64_t i = 0; i < cells; i++)
        if (b.acct[i])
            cb_cell_free(b.acct[i]);
    if (b.done)
        cb_port_free(b.done);
    free(b.acct);
    free(b.token);
    free(w);
}

const cb_workload_t cb_workload_lab_bank = {
    .name = "lab-bank",
    .summary = "lab 2: transfers between accounts under token locks or "
               "the model's atomic cells",
    .description =
        "Workers transfer money between random accounts and audit the "
        "total, which must never change. mode=tokens: a lock per account "
        "made of a port holding one token; mode=cells: the model's atomic "
        "update of both accounts. Metrics: throughput_ops_s (transfers), "
        "transfers, audits, torn_audits.",
    .params = params,
    .estimate = estimate,
    .run = run,
};
