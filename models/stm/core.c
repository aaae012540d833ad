/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * The STM core: TL2 (Dice, Shalev and Shavit, "Transactional Locking II",
 * DISC 2006) with Clojure's multi-version reads, commute and ensure, and
 * Haskell's retry and orElse.
 *
 * How a transaction runs.  It samples the global version clock into rv,
 * its read version.  A read checks the ref's versioned lock word before
 * and after loading the value (a sequence lock); a version <= rv is part
 * of the snapshot at rv.  A newer version is handled by isolation:
 *   - serializable (TL2; the stm model's default is snapshot): try to
 *     extend the snapshot — re-read the clock and check that nothing read so far has changed
 *     (LSA's extension); failing that, abort;
 *   - a read-only transaction, and every transaction in snapshot mode
 *     (Clojure's MVCC), reads the newest value with version <= rv from the
 *     ref's history ring instead; Clojure keeps such a history per ref so
 *     that long readers (an audit over every account) are not starved by
 *     writers.  A ring too short for the reader is a `history` abort.
 * Writes are buffered in an append-only log (the newest entry for a ref
 * wins) and touch nothing shared until commit.  Commit: lock the written
 * refs in a global order (by address) with a bounded spin, take a write
 * version wv from the clock (fetch-and-add), validate the read set (each
 * ref still unlocked by others and at the version read; skipped when
 * wv == rv + 1, as nobody committed in between), install the values with
 * the old ones pushed into the history, and release each lock with
 * version wv.  Any failure aborts: the attempt is abandoned with a
 * longjmp, locks taken are restored, the thread backs off for a bounded,
 * randomised, exponentially growing spin, and the body runs again.
 *
 * commute (Clojure): the function is applied to the in-transaction value
 * at once, and again at commit, under the ref's lock, to the latest
 * committed value; the ref is never validated, so commuting transactions
 * do not conflict.  A set after a commute of the same ref is refused, as
 * in Clojure.  ensure (Clojure): the read is validated at commit even in
 * snapshot mode, which is what stops write skew there; in serializable
 * mode every read already is.  Clojure's ensure takes a read lock and
 * makes writers wait; here the writer wins and the ensurer aborts, the
 * optimistic form of the same guarantee.
 *
 * The retry limit (Clojure): a transaction whose attempts keep aborting
 * on conflicts gives up after retry_limit of them and stm_atomically
 * returns -ECANCELED, as Clojure's LockingTransaction.run stops after
 * RETRY_LIMIT = 10000 attempts and throws "Transaction failed after
 * reaching retry limit" (clojure/clojure,
 * src/jvm/clojure/lang/LockingTransaction.java).  Blocking in retry is
 * not an attempt (Clojure has no such retry), nor is the re-run after a
 * clock reset (our engine's own doing).  Clojure also lets an older
 * transaction barge a younger one's write lock, which makes starvation
 * rarer; here the bounded randomised backoff is all there is, so the
 * limit is reached somewhat sooner under the same contention.
 *
 * retry (Haskell): abandon the attempt and block until a ref it read has
 * changed.  The waiter registers in the wait buckets of its read set (a
 * hash of the ref's address), re-checks the versions, and sleeps; a
 * committer, after releasing its locks, wakes the buckets of the refs it
 * wrote.  orElse runs a second branch when the first retries, with the
 * first branch's writes undone (the log is cut back) and its reads kept,
 * so a retry of the whole waits on both.
 *
 * The clock: versions are 63 bits, so it cannot wrap in practice, but the
 * limit is a setting and a commit that would pass it resets the clock:
 * new transactions are held at a gate, running ones drain, every
 * registered ref's version and history are cleared, and the clock
 * restarts at 0; the committer aborts and re-runs.  Tests set a small
 * limit to exercise it.
 *
 * Invariants:
 *   - a ref's value and history change only while its lock bit is set,
 *     by the committer that set it; a lock word's version never exceeds
 *     the clock;
 *   - a transaction sees one snapshot: every value it read was current at
 *     its (possibly extended) rv, so a body never computes on torn state;
 *   - commit locks are taken in address order and only with a bounded
 *     spin, so committers cannot deadlock;
 *   - no transaction runs while the clock is reset (the gate).
 *
 * Rejected: undo logs with encounter-time locking (TinySTM's write-
 * through: readers would wait on writers' locks for the whole
 * transaction, and Clojure's writes are buffered); one global retry
 * condition variable (every commit would wake every blocked receiver);
 * a hardware-transaction (RTM) fast path: the machines this was measured
 * on (AMD EPYC) have no RTM, and most Intel parts have TSX disabled by
 * microcode, so such a path could be neither taken nor measured.
 */
#include "models/stm/stm_core.h"

#include "runtime/clock.h"
#include "runtime/common.h"
#include "runtime/executor.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

/* ---- configuration and the clock ---- */

static stm_config_t config = {
    .isolation = STM_SERIALIZABLE,
    .clock_limit = UINT64_C(1) << 62,
    /* Pauses (~40 cycles each here): 4096 caps one backoff near 50 us,
     * a few commit times, chosen by measuring bank at 8 accounts. */
    .backoff_max_spins = 4096,
    .commit_lock_spins = 256,
    .retry_limit = 10000,
};

void stm_config_default(stm_config_t *c)
{
    *c = (stm_config_t){.isolation = STM_SERIALIZABLE,
                        .clock_limit = UINT64_C(1) << 62,
                        .backoff_max_spins = 4096,
                        .commit_lock_spins = 256,
                        .retry_limit = 10000};
}

void stm_configure(const stm_config_t *c)
{
    config = *c;
}

/* The global version clock.  Its own cache line: every commit bumps it. */
static struct {
    _Atomic uint64_t now;
} clock_ RT_ALIGNED_CACHELINE;

uint64_t stm_clock_now(void)
{
    return atomic_load_explicit(&clock_.now, memory_order_acquire);
}

/* ---- the gate that keeps transactions out during a clock reset ---- */

#define GATE_SHARDS 64

static struct {
    _Atomic int64_t n;
} RT_ALIGNED_CACHELINE gate[GATE_SHARDS];
static _Atomic int resetting;
static _Atomic unsigned next_shard;
static _Thread_local int my_shard = -1;

static void gate_enter(void)
{
    if (my_shard < 0)
        my_shard = (int)(atomic_fetch_add_explicit(&next_shard, 1,
                                                   memory_order_relaxed) %
                         GATE_SHARDS);
    for (;;) {
        /* seq_cst, Dekker with the resetter: it stores `resetting` then
         * reads the shard counts; we bump our shard then read
         * `resetting`.  One of the two sees the other. */
        atomic_fetch_add_explicit(&gate[my_shard].n, 1, memory_order_seq_cst);
        if (!atomic_load_explicit(&resetting, memory_order_seq_cst))
            return;
        atomic_fetch_sub_explicit(&gate[my_shard].n, 1, memory_order_seq_cst);
        while (atomic_load_explicit(&resetting, memory_order_acquire))
            sched_yield();
    }
}

static void gate_exit(void)
{
    /* Release: the resetter's acquire read of 0 orders our last accesses
     * to refs before its clearing of them. */
    atomic_fetch_sub_explicit(&gate[my_shard].n, 1, memory_order_release);
}

/* ---- the registry of refs, for the clock reset ---- */

typedef struct reg {
    struct reg *prev, *next;
    stm_ref_t *base;
    size_t n, stride;
} reg_t;

static struct {
    pthread_mutex_t mu; /* guards head; taken before any bucket lock */
    reg_t *head;
} registry = {.mu = PTHREAD_MUTEX_INITIALIZER};

int stm_refs_register(stm_ref_t *refs, size_t n, size_t stride)
{
    reg_t *g = malloc(sizeof *g);
    if (!g)
        return -ENOMEM;
    g->base = refs;
    g->n = n;
    g->stride = stride;
    g->prev = NULL;
    refs->reg = g;
    pthread_mutex_lock(&registry.mu);
    g->next = registry.head;
    if (registry.head)
        registry.head->prev = g;
    registry.head = g;
    pthread_mutex_unlock(&registry.mu);
    return 0;
}

void stm_refs_unregister(stm_ref_t *refs)
{
    reg_t *g = refs->reg;
    RT_ASSERT(g != NULL && g->base == refs);
    refs->reg = NULL;
    pthread_mutex_lock(&registry.mu);
    if (g->prev)
        g->prev->next = g->next;
    else
        registry.head = g->next;
    if (g->next)
        g->next->prev = g->prev;
    pthread_mutex_unlock(&registry.mu);
    free(g);
}

int stm_ref_init(stm_ref_t *r, int64_t v, uint32_t hmin, uint32_t hmax)
{
    memset(r, 0, sizeof *r);
    if (hmin > hmax)
        return -EINVAL;
    if (hmax && !(r->hist = calloc(hmax, sizeof *r->hist)))
        return -ENOMEM;
    r->hmin = hmin;
    r->hmax = hmax;
    atomic_init(&r->lock, 0);
    atomic_init(&r->val, v);
    atomic_init(&r->hlen, 0);
    atomic_init(&r->faulted, 0);
    return 0;
}

void stm_ref_destroy(stm_ref_t *r)
{
    free(r->hist);
    r->hist = NULL;
}

/* ---- per-thread counters ---- */

typedef struct stats_node {
    stm_stats_t s;
    struct stats_node *next;
} stats_node_t;

static struct {
    pthread_mutex_t mu;
    stats_node_t *head;
} all_stats = {.mu = PTHREAD_MUTEX_INITIALIZER};

static _Thread_local stats_node_t *my_stats;

/* Each block has one writer, its thread, so an increment needs no RMW;
 * but the runner sums the blocks while late tasks may still be counting
 * (a sender finishes its commit's book-keeping after the receiver already
 * has the message), so both sides use relaxed atomic loads and stores:
 * the sum is a snapshot, each field untorn, and nothing orders against it. */
#define STAT_GET(f) __atomic_load_n(&(f), __ATOMIC_RELAXED)
#define STAT_ADD(f, v)                                                         \
    __atomic_store_n(&(f), STAT_GET(f) + (v), __ATOMIC_RELAXED)
#define STAT_MAX(f, v)                                                         \
    do {                                                                       \
        if ((v) > STAT_GET(f))                                                 \
            __atomic_store_n(&(f), (v), __ATOMIC_RELAXED);                     \
    } while (0)

/* Stats blocks are never freed: a thread's block stays readable after it
 * exits, and a pool reuses few threads. */
static stm_stats_t *stats(void)
{
    if (RT_LIKELY(my_stats != NULL))
        return &my_stats->s;
    stats_node_t *n = calloc(1, sizeof *n);
    RT_ASSERT(n != NULL);
    pthread_mutex_lock(&all_stats.mu);
    n->next = all_stats.head;
    all_stats.head = n;
    pthread_mutex_unlock(&all_stats.mu);
    my_stats = n;
    return &n->s;
}

void stm_stats_sum(stm_stats_t *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&all_stats.mu);
    for (stats_node_t *n = all_stats.head; n; n = n->next) {
        const stm_stats_t *s = &n->s;
        out->commits += STAT_GET(s->commits);
        out->commits_ro += STAT_GET(s->commits_ro);
        out->retries += STAT_GET(s->retries);
        out->retry_wakeups += STAT_GET(s->retry_wakeups);
        out->extensions += STAT_GET(s->extensions);
        for (int i = 0; i < STM_ABORT__COUNT; i++)
            out->aborts[i] += STAT_GET(s->aborts[i]);
        out->read_set_total += STAT_GET(s->read_set_total);
        out->write_set_total += STAT_GET(s->write_set_total);
        if (STAT_GET(s->read_set_max) > out->read_set_max)
            out->read_set_max = STAT_GET(s->read_set_max);
        if (STAT_GET(s->write_set_max) > out->write_set_max)
            out->write_set_max = STAT_GET(s->write_set_max);
        out->clock_resets += STAT_GET(s->clock_resets);
        out->gave_up += STAT_GET(s->gave_up);
    }
    pthread_mutex_unlock(&all_stats.mu);
}

void stm_stats_reset(void)
{
    pthread_mutex_lock(&all_stats.mu);
    for (stats_node_t *n = all_stats.head; n; n = n->next)
        memset(&n->s, 0, sizeof n->s);
    pthread_mutex_unlock(&all_stats.mu);
}

const char *stm_cause_name(stm_cause_t c)
{
    static const char *const names[] = {
#define X(n) #n,
        STM_ABORT_CAUSES(X)
#undef X
    };
    return c < STM_ABORT__COUNT ? names[c] : "?";
}

/* ---- wait buckets for retry ---- */

typedef struct rd {
    stm_ref_t *ref;
    uint64_t ver;
    bool ensured;
} rd_t;

/* A transaction blocked in retry.  Its read set is fixed while it waits
 * and is read by committers under the bucket lock it registered with. */
typedef struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int fired; /* guarded by mu */
    const rd_t *rs;
    size_t nr;
} waiter_t;

#define BUCKETS 256

static struct bucket {
    pthread_mutex_t mu; /* then a waiter's mu; never two buckets */
    _Atomic int nwait;  /* entries in w; read without mu by committers */
    waiter_t **w;       /* guarded by mu */
    int cap;
} RT_ALIGNED_CACHELINE buckets[BUCKETS];
static pthread_once_t buckets_once = PTHREAD_ONCE_INIT;

static void buckets_init(void)
{
    for (int i = 0; i < BUCKETS; i++)
        pthread_mutex_init(&buckets[i].mu, NULL);
}

static unsigned bucket_of(const stm_ref_t *r)
{
    uintptr_t a = (uintptr_t)r;
    return (unsigned)((a >> 4) ^ (a >> 12)) % BUCKETS;
}

static bool waits_on(const waiter_t *w, const stm_ref_t *r)
{
    for (size_t i = 0; i < w->nr; i++)
        if (w->rs[i].ref == r)
            return true;
    return false;
}

/* Wake the waiters of b that read r (every one when r is NULL): refs
 * that merely share the bucket wake nobody. */
static void fire_bucket(struct bucket *b, const stm_ref_t *r)
{
    /* A waiter initialised the buckets before it counted itself in
     * nwait; pthread_once makes that initialisation happen-before us. */
    pthread_once(&buckets_once, buckets_init);
    pthread_mutex_lock(&b->mu);
    for (int i = 0; i < atomic_load_explicit(&b->nwait, memory_order_relaxed);
         i++) {
        waiter_t *w = b->w[i];
        if (r && !waits_on(w, r))
            continue;
        pthread_mutex_lock(&w->mu);
        w->fired = 1;
        pthread_cond_signal(&w->cv);
        pthread_mutex_unlock(&w->mu);
    }
    pthread_mutex_unlock(&b->mu);
}

/* ---- transactions ---- */

enum { W_SET, W_COMMUTE };

typedef struct wr {
    stm_ref_t *ref;
    int64_t val; /* the in-transaction value after this entry */
    stm_commute_fn fn;
    int64_t arg;
    int kind;
} wr_t;

/* One distinct written ref at commit. */
typedef struct lk {
    stm_ref_t *ref;
    uint64_t old; /* lock word before we locked it */
    size_t last;  /* its newest log entry */
    bool has_set;
} lk_t;

enum { JMP_ABORT = 1, JMP_RETRY = 2 };

#define INLINE_SET 16

struct stm_tx {
    jmp_buf jb;         /* the attempt's start */
    jmp_buf *branch_jb; /* innermost orElse first branch, or NULL */
    uint64_t rv;
    bool readonly, need_reset;
    rd_t *rs;
    size_t nr, rcap;
    wr_t *ws;
    size_t nw, wcap;
    uint64_t bloom; /* refs in ws; cleared per attempt only */
    lk_t *lk;
    size_t lkcap;
    int attempts;
    int64_t retry_limit; /* this transaction's; 0: none */
    uint64_t rng;
    int64_t deadline; /* of a retry wait: < 0 none, 0 poll */
    stm_body_fn body;
    void *arg;
    stm_stats_t *st;
    rd_t rs_inline[INLINE_SET];
    wr_t ws_inline[INLINE_SET];
    lk_t lk_inline[INLINE_SET];
};

/* Thread-local rather than on the stack of stm_atomically: it is written
 * between setjmp and longjmp, which would leave an automatic object's
 * contents indeterminate. */
static _Thread_local stm_tx_t tx_slot;
static _Thread_local stm_tx_t *cur_tx;

static _Noreturn void abort_tx(stm_tx_t *tx, stm_cause_t cause)
{
    STAT_ADD(tx->st->aborts[cause], 1);
    longjmp(tx->jb, JMP_ABORT);
}

static uint64_t bloom_bit(const stm_ref_t *r)
{
    return UINT64_C(1) << (((uintptr_t)r >> 5) & 63);
}

static void *grow(void *inl, void *cur, size_t *cap, size_t elem)
{
    size_t ncap = *cap * 2;
    void *p;
    if (cur == inl) {
        p = malloc(ncap * elem);
        if (p)
            memcpy(p, cur, *cap * elem);
    } else {
        p = realloc(cur, ncap * elem);
    }
    RT_ASSERT(p != NULL); /* out of memory mid-transaction */
    *cap = ncap;
    return p;
}

static wr_t *find_write(stm_tx_t *tx, const stm_ref_t *r)
{
    if (!(tx->bloom & bloom_bit(r)))
        return NULL;
    for (size_t i = tx->nw; i-- > 0;)
        if (tx->ws[i].ref == r)
            return &tx->ws[i];
    return NULL;
}

static bool locked_by_me(stm_tx_t *tx, const stm_ref_t *r, size_t nlk)
{
    for (size_t i = 0; i < nlk; i++)
        if (tx->lk[i].ref == r)
            return true;
    return false;
}

/* Every read still at the version read (and not locked by another). */
static bool reads_valid(stm_tx_t *tx, bool ensured_only, size_t nlk)
{
    for (size_t i = 0; i < tx->nr; i++) {
        const rd_t *e = &tx->rs[i];
        if (ensured_only && !e->ensured)
            continue;
        /* Acquire: pairs with the committer's release of the lock word,
         * so a version we accept comes with its value. */
        uint64_t l = atomic_load_explicit(&e->ref->lock, memory_order_acquire);
        if ((l >> 1) != e->ver)
            return false;
        if ((l & 1) && !locked_by_me(tx, e->ref, nlk))
            return false;
    }
    return true;
}

/* TL2 read extension (LSA): move rv to now if nothing read has moved. */
static bool extend(stm_tx_t *tx)
{
    uint64_t now = atomic_load_explicit(&clock_.now, memory_order_acquire);
    if (!reads_valid(tx, false, 0))
        return false;
    tx->rv = now;
    STAT_ADD(tx->st->extensions, 1);
    return true;
}

/*
 * One consistent (lock word, value) pair of r: a sequence-lock read.  A
 * ref locked by a committer is waited out for a bounded spin, after which
 * tx aborts (`locked`); without a transaction the wait is unbounded.
 */
static int64_t seq_read(stm_tx_t *tx, stm_ref_t *r, uint64_t *lw)
{
    for (int spins = 0;;) {
        /* Acquire pairs with the committer's release store of the lock
         * word; the acquire fence keeps the value load before the
         * re-check. */
        uint64_t l1 = atomic_load_explicit(&r->lock, memory_order_acquire);
        if (l1 & 1) {
            if (tx && ++spins >= 64)
                abort_tx(tx, STM_ABORT_locked);
            rt_cpu_relax();
            continue;
        }
        int64_t v = atomic_load_explicit(&r->val, memory_order_relaxed);
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&r->lock, memory_order_relaxed) == l1) {
            *lw = l1;
            return v;
        }
    }
}

/* The newest history entry of r at or below rv, read under lock word l1:
 * true with *ver and *v, or false (none, or r changed meanwhile: *ver is
 * then 0, and the caller reads again). */
static bool history_at(stm_ref_t *r, uint64_t l1, uint64_t rv, uint64_t *ver,
                       int64_t *v)
{
    uint64_t found = UINT64_MAX;
    uint32_t n = atomic_load_explicit(&r->hlen, memory_order_relaxed);
    for (uint32_t i = 0; i < n; i++) {
        uint64_t hv =
            atomic_load_explicit(&r->hist[i].ver, memory_order_relaxed);
        if (hv <= rv && (found == UINT64_MAX || hv > found)) {
            found = hv;
            *v = atomic_load_explicit(&r->hist[i].val, memory_order_relaxed);
        }
    }
    /* The same sequence-lock check as seq_read: a committer that pushed
     * into the history meanwhile changed the lock word. */
    atomic_thread_fence(memory_order_acquire);
    if (atomic_load_explicit(&r->lock, memory_order_relaxed) != l1) {
        *ver = 0;
        return false;
    }
    *ver = found;
    return found != UINT64_MAX;
}

/* The value of r in the snapshot at tx->rv, and its version. */
static int64_t read_at(stm_tx_t *tx, stm_ref_t *r, uint64_t *ver)
{
    bool mv = tx->readonly || config.isolation == STM_SNAPSHOT;
    for (;;) {
        uint64_t l1;
        int64_t v = seq_read(tx, r, &l1);
        if ((l1 >> 1) <= tx->rv) {
            *ver = l1 >> 1;
            return v;
        }
        if (mv) {
            if (history_at(r, l1, tx->rv, ver, &v))
                return v;
            if (*ver == 0)
                continue; /* the ref moved under us: read it again */
            /* A read fault: ask the next committer to keep one more
             * version (relaxed: a hint, a lost one costs a retry). */
            if (r->hmax)
                atomic_store_explicit(&r->faulted, 1, memory_order_relaxed);
            abort_tx(tx, STM_ABORT_history);
        }
        if (!extend(tx))
            abort_tx(tx, STM_ABORT_read_version);
    }
}

static void add_read(stm_tx_t *tx, stm_ref_t *r, uint64_t ver, bool ensured)
{
    if (tx->nr == tx->rcap)
        tx->rs = grow(tx->rs_inline, tx->rs, &tx->rcap, sizeof *tx->rs);
    tx->rs[tx->nr++] = (rd_t){r, ver, ensured};
}

static wr_t *add_write(stm_tx_t *tx)
{
    if (tx->nw == tx->wcap)
        tx->ws = grow(tx->ws_inline, tx->ws, &tx->wcap, sizeof *tx->ws);
    return &tx->ws[tx->nw++];
}

int64_t stm_read(stm_tx_t *tx, stm_ref_t *r)
{
    wr_t *w = tx->nw ? find_write(tx, r) : NULL;
    if (w)
        return w->val;
    uint64_t ver;
    int64_t v = read_at(tx, r, &ver);
    add_read(tx, r, ver, false);
    return v;
}

int64_t stm_ensure(stm_tx_t *tx, stm_ref_t *r)
{
    wr_t *w = tx->nw ? find_write(tx, r) : NULL;
    if (w)
        return w->val; /* written here: the commit locks it anyway */
    uint64_t ver;
    int64_t v = read_at(tx, r, &ver);
    add_read(tx, r, ver, true);
    return v;
}

void stm_write(stm_tx_t *tx, stm_ref_t *r, int64_t v)
{
    if (tx->readonly)
        rt_panic("stm: write in a read-only transaction");
    wr_t *old = find_write(tx, r);
    if (old && old->kind == W_COMMUTE)
        rt_panic("stm: can't set after commute"); /* Clojure's rule */
    wr_t *w = add_write(tx);
    *w = (wr_t){.ref = r, .val = v, .kind = W_SET};
    tx->bloom |= bloom_bit(r);
}

/* The latest committed value, whatever its version (commute's view). */
static int64_t read_latest(stm_tx_t *tx, stm_ref_t *r)
{
    uint64_t lw;
    return seq_read(tx, r, &lw);
}

int64_t stm_commute(stm_tx_t *tx, stm_ref_t *r, stm_commute_fn fn, int64_t arg)
{
    if (tx->readonly)
        rt_panic("stm: commute in a read-only transaction");
    wr_t *old = find_write(tx, r);
    int64_t cur = old ? old->val : read_latest(tx, r);
    wr_t *w = add_write(tx);
    *w = (wr_t){
        .ref = r, .val = fn(cur, arg), .fn = fn, .arg = arg, .kind = W_COMMUTE};
    tx->bloom |= bloom_bit(r);
    return w->val;
}

_Noreturn void stm_retry(stm_tx_t *tx)
{
    if (tx->branch_jb)
        longjmp(*tx->branch_jb, 1);
    longjmp(tx->jb, JMP_RETRY);
}

int stm_or_else(stm_tx_t *tx, stm_body_fn a, void *aarg, stm_body_fn b,
                void *barg)
{
    jmp_buf jb;
    jmp_buf *outer = tx->branch_jb;
    size_t mark = tx->nw;
    tx->branch_jb = &jb;
    if (setjmp(jb) == 0) {
        int r = a(tx, aarg);
        tx->branch_jb = outer;
        return r;
    }
    /* a retried: undo its writes, keep its reads for the wait set. */
    tx->branch_jb = outer;
    tx->nw = mark;
    return b(tx, barg);
}

/* ---- commit ---- */

static int by_ref(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)((const lk_t *)a)->ref;
    uintptr_t y = (uintptr_t)((const lk_t *)b)->ref;
    return (x > y) - (x < y);
}

/* The distinct written refs into tx->lk, sorted by address. */
static size_t collect_writes(stm_tx_t *tx)
{
    size_t n = 0;
    for (size_t i = 0; i < tx->nw; i++) {
        wr_t *w = &tx->ws[i];
        size_t j = 0;
        if (tx->nw <= INLINE_SET) {
            while (j < n && tx->lk[j].ref != w->ref)
                j++;
        } else {
            j = n; /* large sets: sort, then merge duplicates below */
        }
        if (j == n) {
            if (n == tx->lkcap)
                tx->lk =
                    grow(tx->lk_inline, tx->lk, &tx->lkcap, sizeof *tx->lk);
            tx->lk[n++] = (lk_t){.ref = w->ref, .last = i};
        }
        tx->lk[j].last = i;
        tx->lk[j].has_set |= w->kind == W_SET;
    }
    qsort(tx->lk, n, sizeof *tx->lk, by_ref);
    if (tx->nw > INLINE_SET) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++) {
            if (m && tx->lk[m - 1].ref == tx->lk[i].ref) {
                lk_t *d = &tx->lk[m - 1];
                d->has_set |= tx->lk[i].has_set;
                if (tx->lk[i].last > d->last)
                    d->last = tx->lk[i].last;
            } else {
                tx->lk[m++] = tx->lk[i];
            }
        }
        n = m;
    }
    return n;
}

/*
 * Expects r locked by the caller.  Keep (ver, val) as Clojure's refs do:
 * grow the history by one below hmin, or after a read fault up to hmax;
 * otherwise replace the oldest entry.  The entries are a contiguous
 * suffix of the ref's past versions, which is what read_at relies on.
 */
static void keep_history(stm_ref_t *r, uint64_t ver, int64_t val)
{
    uint32_t len = atomic_load_explicit(&r->hlen, memory_order_relaxed);
    bool grow = len < r->hmin ||
                (len < r->hmax && atomic_exchange_explicit(
                                      &r->faulted, 0, memory_order_relaxed));
    uint32_t slot = len;
    if (!grow) {
        if (len == 0)
            return;
        slot = 0;
        for (uint32_t i = 1; i < len; i++)
            if (atomic_load_explicit(&r->hist[i].ver, memory_order_relaxed) <
                atomic_load_explicit(&r->hist[slot].ver, memory_order_relaxed))
                slot = i;
    }
    atomic_store_explicit(&r->hist[slot].ver, ver, memory_order_relaxed);
    atomic_store_explicit(&r->hist[slot].val, val, memory_order_relaxed);
    if (grow)
        atomic_store_explicit(&r->hlen, len + 1, memory_order_relaxed);
}

static void unlock_restore(stm_tx_t *tx, size_t n)
{
    /* Release: nothing was written; pairs with readers' acquire. */
    for (size_t i = 0; i < n; i++)
        atomic_store_explicit(&tx->lk[i].ref->lock, tx->lk[i].old,
                              memory_order_release);
}

static void commit(stm_tx_t *tx)
{
    stm_stats_t *st = tx->st;
    if (tx->nw == 0) {
        if (config.isolation == STM_SNAPSHOT && !reads_valid(tx, true, 0))
            abort_tx(tx, STM_ABORT_validation);
        STAT_ADD(st->commits_ro, 1);
        goto counted;
    }
    size_t n = collect_writes(tx);
    for (size_t i = 0; i < n; i++) {
        stm_ref_t *r = tx->lk[i].ref;
        for (int spins = 0;; spins++) {
            uint64_t l = atomic_load_explicit(&r->lock, memory_order_relaxed);
            /* Acquire on success: the previous committer's installs
             * happen-before ours (pairs with its release store). */
            if (!(l & 1) && atomic_compare_exchange_weak_explicit(
                                &r->lock, &l, l | 1, memory_order_acquire,
                                memory_order_relaxed)) {
                tx->lk[i].old = l;
                break;
            }
            if (spins >= config.commit_lock_spins) {
                unlock_restore(tx, i);
                abort_tx(tx, STM_ABORT_commit_lock);
            }
            rt_cpu_relax();
        }
    }
    /* Sequence-lock writer: the lock bits must be visible before any
     * value or history store below (pairs with readers' acquire fence). */
    atomic_thread_fence(memory_order_release);
    /* acq_rel: ordered after the locks, and a reader that samples this
     * clock value then sees our locks (TL2's requirement). */
    uint64_t wv =
        atomic_fetch_add_explicit(&clock_.now, 1, memory_order_acq_rel) + 1;
    if (wv > config.clock_limit) {
        unlock_restore(tx, n);
        tx->need_reset = true;
        abort_tx(tx, STM_ABORT_clock_overflow);
    }
    bool snap = config.isolation == STM_SNAPSHOT && !tx->readonly;
    if (wv != tx->rv + 1 && !reads_valid(tx, snap, n)) {
        unlock_restore(tx, n);
        abort_tx(tx, STM_ABORT_validation);
    }
    if (snap)
        for (size_t i = 0; i < n; i++)
            if (tx->lk[i].has_set && (tx->lk[i].old >> 1) > tx->rv) {
                unlock_restore(tx, n);
                abort_tx(tx, STM_ABORT_write_conflict);
            }
    for (size_t i = 0; i < n; i++) {
        lk_t *k = &tx->lk[i];
        stm_ref_t *r = k->ref;
        int64_t old = atomic_load_explicit(&r->val, memory_order_relaxed);
        int64_t nv;
        if (k->has_set) {
            nv = tx->ws[k->last].val;
        } else {
            /* Commute only: re-apply to the latest committed value. */
            nv = old;
            for (size_t j = 0; j <= k->last; j++)
                if (tx->ws[j].ref == r)
                    nv = tx->ws[j].fn(nv, tx->ws[j].arg);
        }
        if (r->hmax)
            keep_history(r, k->old >> 1, old);
        atomic_store_explicit(&r->val, nv, memory_order_relaxed);
        /* Release: publishes the value and history with version wv. */
        atomic_store_explicit(&r->lock, wv << 1, memory_order_release);
    }
    /* seq_cst fence, Dekker with a retrying waiter: we stored versions and
     * now read the bucket counts; it bumped a count and then reads the
     * versions.  One of the two sees the other, so no wake-up is lost. */
    atomic_thread_fence(memory_order_seq_cst);
    for (size_t i = 0; i < n; i++) {
        struct bucket *b = &buckets[bucket_of(tx->lk[i].ref)];
        if (atomic_load_explicit(&b->nwait, memory_order_relaxed) > 0)
            fire_bucket(b, tx->lk[i].ref);
    }
    STAT_ADD(st->commits, 1);
    STAT_ADD(st->write_set_total, (int64_t)n);
    STAT_MAX(st->write_set_max, (int64_t)n);
counted:
    STAT_ADD(st->read_set_total, (int64_t)tx->nr);
    STAT_MAX(st->read_set_max, (int64_t)tx->nr);
}

/* ---- retry: wait until something read changes ---- */

static bool read_set_changed(stm_tx_t *tx)
{
    for (size_t i = 0; i < tx->nr; i++) {
        uint64_t l =
            atomic_load_explicit(&tx->rs[i].ref->lock, memory_order_acquire);
        if ((l & 1) || (l >> 1) != tx->rs[i].ver)
            return true;
    }
    return false;
}

/* 0: something changed, run again; -ETIMEDOUT; -EDEADLK (read nothing). */
static int wait_for_change(stm_tx_t *tx, int64_t deadline)
{
    if (tx->nr == 0)
        return -EDEADLK;
    if (deadline == 0)
        return -ETIMEDOUT;
    pthread_once(&buckets_once, buckets_init);
    waiter_t w = {.fired = 0, .rs = tx->rs, .nr = tx->nr};
    pthread_mutex_init(&w.mu, NULL);
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&w.cv, &a);
    pthread_condattr_destroy(&a);
    uint64_t mask[BUCKETS / 64] = {0};
    for (size_t i = 0; i < tx->nr; i++) {
        unsigned k = bucket_of(tx->rs[i].ref);
        if (mask[k / 64] & (UINT64_C(1) << (k % 64)))
            continue;
        mask[k / 64] |= UINT64_C(1) << (k % 64);
        struct bucket *b = &buckets[k];
        pthread_mutex_lock(&b->mu);
        int nw = atomic_load_explicit(&b->nwait, memory_order_relaxed);
        if (nw == b->cap) {
            int cap = b->cap ? b->cap * 2 : 4;
            waiter_t **p = realloc(b->w, (size_t)cap * sizeof *p);
            RT_ASSERT(p != NULL);
            b->w = p;
            b->cap = cap;
        }
        b->w[nw] = &w;
        /* seq_cst: the waiter's half of the Dekker pairing in commit. */
        atomic_store_explicit(&b->nwait, nw + 1, memory_order_seq_cst);
        pthread_mutex_unlock(&b->mu);
    }
    atomic_thread_fence(memory_order_seq_cst);
    int rc = 0;
    rt_exec_block_begin();
    while (!read_set_changed(tx)) {
        pthread_mutex_lock(&w.mu);
        int t = 0;
        while (!w.fired && t != ETIMEDOUT) {
            if (deadline < 0) {
                pthread_cond_wait(&w.cv, &w.mu);
            } else {
                struct timespec at = rt_ns_to_timespec(deadline);
                t = pthread_cond_timedwait(&w.cv, &w.mu, &at);
            }
        }
        bool fired = w.fired;
        w.fired = 0;
        pthread_mutex_unlock(&w.mu);
        if (!fired) {
            rc = read_set_changed(tx) ? 0 : -ETIMEDOUT;
            break;
        }
    }
    rt_exec_block_end();
    for (unsigned k = 0; k < BUCKETS; k++) {
        if (!(mask[k / 64] & (UINT64_C(1) << (k % 64))))
            continue;
        struct bucket *b = &buckets[k];
        pthread_mutex_lock(&b->mu);
        int nw = atomic_load_explicit(&b->nwait, memory_order_relaxed);
        for (int i = 0; i < nw; i++)
            if (b->w[i] == &w) {
                b->w[i] = b->w[nw - 1];
                atomic_store_explicit(&b->nwait, nw - 1, memory_order_relaxed);
                break;
            }
        pthread_mutex_unlock(&b->mu);
    }
    pthread_cond_destroy(&w.cv);
    pthread_mutex_destroy(&w.mu);
    if (rc == 0)
        STAT_ADD(tx->st->retry_wakeups, 1);
    return rc;
}

/* ---- the clock reset ---- */

static pthread_mutex_t reset_mu = PTHREAD_MUTEX_INITIALIZER;

static void clock_reset(stm_stats_t *st)
{
    pthread_mutex_lock(&reset_mu);
    if (atomic_load_explicit(&clock_.now, memory_order_acquire) <=
        config.clock_limit) {
        pthread_mutex_unlock(&reset_mu); /* another thread did it */
        return;
    }
    atomic_store_explicit(&resetting, 1, memory_order_seq_cst);
    for (int i = 0; i < GATE_SHARDS; i++)
        while (atomic_load_explicit(&gate[i].n, memory_order_seq_cst) != 0)
            sched_yield();
    /* No transaction runs: every version goes back to 0 with the clock.
     * Relaxed stores suffice; the release of `resetting` publishes them
     * to the transactions the gate lets in. */
    pthread_mutex_lock(&registry.mu);
    for (reg_t *g = registry.head; g; g = g->next)
        for (size_t i = 0; i < g->n; i++) {
            stm_ref_t *r = (stm_ref_t *)((char *)g->base + i * g->stride);
            atomic_store_explicit(&r->lock, 0, memory_order_relaxed);
            atomic_store_explicit(&r->hlen, 0, memory_order_relaxed);
        }
    pthread_mutex_unlock(&registry.mu);
    atomic_store_explicit(&clock_.now, 0, memory_order_relaxed);
    STAT_ADD(st->clock_resets, 1);
    atomic_store_explicit(&resetting, 0, memory_order_release);
    pthread_mutex_unlock(&reset_mu);
    /* Blocked retries read versions that no longer exist: wake them all
     * to re-run. */
    for (int i = 0; i < BUCKETS; i++)
        if (atomic_load_explicit(&buckets[i].nwait, memory_order_seq_cst))
            fire_bucket(&buckets[i], NULL);
}

/* ---- atomically ---- */

static void backoff(stm_tx_t *tx)
{
    int shift = tx->attempts < 12 ? tx->attempts : 12;
    uint64_t cap = (uint64_t)16 << shift;
    if (cap > (uint64_t)config.backoff_max_spins)
        cap = (uint64_t)config.backoff_max_spins;
    uint64_t x = tx->rng;
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    tx->rng = x;
    for (uint64_t i = x % (cap + 1); i > 0; i--)
        rt_cpu_relax();
    if (tx->attempts > 16)
        sched_yield(); /* the winner may be preempted: let it finish */
}

static void tx_release(stm_tx_t *tx)
{
    if (tx->rs != tx->rs_inline)
        free(tx->rs);
    if (tx->ws != tx->ws_inline)
        free(tx->ws);
    if (tx->lk != tx->lk_inline)
        free(tx->lk);
    cur_tx = NULL;
}

/* The attempt loop.  Everything it needs after a longjmp lives in the
 * thread-local descriptor, never in locals the jump could clobber. */
static int attempt_loop(stm_tx_t *const tx)
{
    for (;;) {
        gate_enter();
        tx->rv = atomic_load_explicit(&clock_.now, memory_order_acquire);
        tx->nr = tx->nw = 0;
        tx->bloom = 0;
        tx->branch_jb = NULL;
        tx->need_reset = false;
        int code = setjmp(tx->jb);
        if (code == 0) {
            int r = tx->body(tx, tx->arg);
            commit(tx);
            gate_exit();
            return r;
        }
        gate_exit();
        if (code == JMP_RETRY) {
            STAT_ADD(tx->st->retries, 1);
            int rc = wait_for_change(tx, tx->deadline);
            if (rc < 0)
                return rc;
            continue;
        }
        if (tx->need_reset) {
            /* Our own clock's doing, not a conflict: not an attempt. */
            clock_reset(tx->st);
            continue;
        }
        tx->attempts++;
        if (tx->retry_limit > 0 && tx->attempts >= tx->retry_limit) {
            STAT_ADD(tx->st->gave_up, 1);
            return -ECANCELED;
        }
        backoff(tx);
    }
}

static int run(stm_body_fn body, void *arg, int64_t timeout_ns, bool readonly,
               int64_t retry_limit)
{
    if (cur_tx) {
        /* Flat nesting: the inner dosync joins the outer one. */
        if (readonly || !cur_tx->readonly)
            return body(cur_tx, arg);
        rt_panic("stm: update transaction nested in a read-only one");
    }
    stm_tx_t *tx = &tx_slot;
    tx->deadline = timeout_ns <= 0 ? timeout_ns : rt_now_ns() + timeout_ns;
    tx->body = body;
    tx->arg = arg;
    tx->rs = tx->rs_inline;
    tx->rcap = INLINE_SET;
    tx->ws = tx->ws_inline;
    tx->wcap = INLINE_SET;
    tx->lk = tx->lk_inline;
    tx->lkcap = INLINE_SET;
    tx->readonly = readonly;
    tx->attempts = 0;
    tx->retry_limit = retry_limit;
    tx->st = stats();
    if (!tx->rng)
        tx->rng = (uint64_t)(uintptr_t)tx ^ (uint64_t)rt_now_ns() ^ 1;
    cur_tx = tx;
    int r = attempt_loop(tx);
    tx_release(tx);
    return r;
}

int stm_atomically(stm_body_fn body, void *arg, int64_t timeout_ns)
{
    return run(body, arg, timeout_ns, false, config.retry_limit);
}

int stm_atomically_ro(stm_body_fn body, void *arg)
{
    return run(body, arg, -1, true, config.retry_limit);
}

int stm_atomically_limit(stm_body_fn body, void *arg, bool readonly,
                         int64_t retry_limit)
{
    return run(body, arg, -1, readonly, retry_limit);
}

int64_t stm_ref_peek(stm_ref_t *r)
{
    uint64_t lw;
    return seq_read(NULL, r, &lw);
}
