/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * The STM core of the `stm` model (models/stm/core.c has the essay):
 * refs, transactions, retry, orElse, commute and ensure.  Private to the
 * model and its unit tests.
 */
#ifndef STM_CORE_H
#define STM_CORE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One older value of a ref, kept for snapshot reads. */
typedef struct stm_hist {
    _Atomic uint64_t ver;
    _Atomic int64_t val;
} stm_hist_t;

/*
 * A ref: a versioned lock word, the current value, and an optional ring of
 * older (version, value) pairs.  The lock word is (version << 1) | locked;
 * while locked it keeps the old version.  val and the ring change only
 * under the lock, at commit; readers check the lock word before and after
 * (a sequence lock), so every field is an atomic.
 */
typedef struct stm_ref {
    _Atomic uint64_t lock;
    _Atomic int64_t val;
    stm_hist_t *hist;      /* hmax entries, or NULL */
    _Atomic uint32_t hlen; /* entries in use, <= hmax */
    _Atomic int faulted;   /* a snapshot read found no old enough
                              version: grow at the next commit */
    uint32_t hmin, hmax;   /* Clojure's :min-history, :max-history */
    void *reg;             /* the first ref of a registered range */
} stm_ref_t;

typedef struct stm_tx stm_tx_t;

/* Why a transaction attempt ended without committing. */
#define STM_ABORT_CAUSES(X)                                                    \
    X(locked)         /* a read met a ref locked by a committer */             \
    X(read_version)   /* a read met a newer version; extension failed */       \
    X(validation)     /* commit-time read-set validation failed */             \
    X(commit_lock)    /* a write-set lock stayed taken past the backoff */     \
    X(write_conflict) /* snapshot: a ref written since our snapshot */         \
    X(history)        /* snapshot read older than the ref's history */         \
    X(clock_overflow) /* the version clock was reset under us */

typedef enum stm_cause {
#define X(n) STM_ABORT_##n,
    STM_ABORT_CAUSES(X)
#undef X
        STM_ABORT__COUNT
} stm_cause_t;

typedef struct stm_stats {
    int64_t commits, commits_ro, retries, retry_wakeups, extensions;
    int64_t aborts[STM_ABORT__COUNT];
    int64_t read_set_total, write_set_total; /* summed at commit */
    int64_t read_set_max, write_set_max;
    int64_t clock_resets;
    int64_t gave_up; /* transactions that hit the retry limit */
} stm_stats_t;

typedef enum stm_isolation {
    STM_SERIALIZABLE, /* TL2: every read validated */
    STM_SNAPSHOT,     /* Clojure: snapshot reads; ensure to protect */
} stm_isolation_t;

typedef struct stm_config {
    stm_isolation_t isolation;
    uint64_t clock_limit;  /* reset the clock past this (tests: small) */
    int backoff_max_spins; /* cap of one randomized backoff, in pauses */
    int commit_lock_spins; /* tries on a taken write lock before abort */
    /* Attempts before a transaction gives up with -ECANCELED (Clojure's
     * LockingTransaction.RETRY_LIMIT, 10000); 0: never. */
    int64_t retry_limit;
} stm_config_t;

/* Set once before any transaction (the model's start); defaults apply
 * until then.  stm_config_default fills the defaults. */
void stm_config_default(stm_config_t *c);
void stm_configure(const stm_config_t *c);

/*
 * Refs.  Older versions are kept for snapshot reads as Clojure keeps
 * them: none at first (beyond hmin), and one more at each commit that
 * follows a read fault on the ref, up to hmax; a full history replaces
 * its oldest entry.  A ref must not be in use when destroyed.
 */
int stm_ref_init(stm_ref_t *r, int64_t v, uint32_t hmin, uint32_t hmax);
void stm_ref_destroy(stm_ref_t *r);
/* Register n initialised refs, stride bytes apart from refs, so that a
 * clock reset finds them; unregister (by the same refs) before freeing. */
int stm_refs_register(stm_ref_t *refs, size_t n, size_t stride);
void stm_refs_unregister(stm_ref_t *refs);
/* The committed value, outside any transaction (a snapshot of one ref). */
int64_t stm_ref_peek(stm_ref_t *r);

/*
 * A transaction body.  It may be run several times; only its ref
 * operations are undone, so side effects belong after the commit.  It
 * returns a result >= 0 that stm_atomically passes on.
 */
typedef int (*stm_body_fn)(stm_tx_t *tx, void *arg);
/* A commute function: the new value from the old (Clojure's commute). */
typedef int64_t (*stm_commute_fn)(int64_t old, int64_t arg);

/*
 * Run body atomically (Clojure's dosync, Haskell's atomically).  Nested
 * calls join the outer transaction.  Returns the body's result, or
 * -ETIMEDOUT when the body retried and nothing it read changed within
 * timeout_ns (0: do not wait; < 0: wait forever), or -EDEADLK when it
 * retried having read nothing (it could never wake: GHC's "blocked
 * indefinitely in an STM transaction"), or -ECANCELED when retry_limit
 * attempts in a row aborted on conflicts (Clojure's "Transaction failed
 * after reaching retry limit").
 */
int stm_atomically(stm_body_fn body, void *arg, int64_t timeout_ns);
/* A read-only transaction: reads come from the refs' histories at one
 * snapshot, so it never aborts on a concurrent writer while the history
 * reaches back far enough; writing in it is a programming error. */
int stm_atomically_ro(stm_body_fn body, void *arg);
/* Either of the two above (readonly picks) with a retry limit of its own
 * instead of the configured one (0: none), waiting without limit. */
int stm_atomically_limit(stm_body_fn body, void *arg, bool readonly,
                         int64_t retry_limit);

int64_t stm_read(stm_tx_t *tx, stm_ref_t *r);
void stm_write(stm_tx_t *tx, stm_ref_t *r, int64_t v);
/* Apply fn(value, arg) now to the in-transaction value and again at
 * commit to the latest committed one; the ref is not validated. */
int64_t stm_commute(stm_tx_t *tx, stm_ref_t *r, stm_commute_fn fn, int64_t arg);
/* Read r and have the commit fail if r changed since (Clojure's ensure;
 * under STM_SERIALIZABLE every read already is). */
int64_t stm_ensure(stm_tx_t *tx, stm_ref_t *r);
/* Abandon this attempt and block until a ref read so far changes. */
_Noreturn void stm_retry(stm_tx_t *tx);
/* Run a; if it retries, undo its writes and run b (Haskell's orElse).
 * Retrying in b retries the whole, waiting on what both read. */
int stm_or_else(stm_tx_t *tx, stm_body_fn a, void *aarg, stm_body_fn b,
                void *barg);

/* The calling thread's counters, and their sum over every thread that
 * ran a transaction since the last stm_stats_reset. */
void stm_stats_sum(stm_stats_t *out);
void stm_stats_reset(void);
const char *stm_cause_name(stm_cause_t c);

/* The version clock now (tests). */
uint64_t stm_clock_now(void);

#endif
