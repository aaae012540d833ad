/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Crash isolation in the `actor` model: exit reasons, links, monitors,
 * trap_exit and exit/2, as the BEAM does them.
 *
 * The rules, each with where Erlang/OTP states it:
 *   - A process ends with an exit reason, any term; `normal` when its
 *     function returns or it calls exit(normal).  (Reference Manual,
 *     "Processes", Process Termination.)
 *   - When it ends, every linked process gets an exit signal with that
 *     reason and every monitor a message {'DOWN', Ref, process, Pid,
 *     Reason}.  (Reference Manual, "Processes", Links and Monitors;
 *     erlang:monitor/2.)
 *   - A process that does not trap exits and receives an exit signal
 *     whose reason is not `normal` exits with the same reason; `normal`
 *     is ignored.  A process that traps exits (process_flag(trap_exit,
 *     true)) gets the signal as a message {'EXIT', From, Reason} instead.
 *     (Reference Manual, "Processes", Receiving Exit Signals.)
 *   - exit(Pid, kill) sends an untrappable signal: the target exits with
 *     reason `killed` whether it traps exits or not, and its links get
 *     `killed`.  exit(Pid, normal) is ignored by a non-trapping process
 *     unless Pid is the caller itself, which then exits with `normal`.
 *     (erlang:exit/2; OTP 23.2 documented the exit(self(), normal) case.)
 *     A `kill` that arrives through a link (a process that called
 *     exit(kill) itself) is an ordinary reason, trappable.
 *   - Monitoring a process that does not exist delivers {'DOWN', Ref,
 *     process, Pid, noproc} at once (erlang:monitor/2).  Linking to one
 *     sends the caller an exit signal with reason `noproc`: a message if
 *     it traps exits, else the caller exits with `noproc` (erlang:link/1,
 *     the BEAM raising noproc in a process that does not catch it).
 *   - A link is one per pair, both ways; link to self does nothing;
 *     unlink removes it (a signal already on its way may still come).
 *     demonitor removes a monitor (without `flush`, a DOWN already sent
 *     stays in the mailbox).  (erlang:unlink/1, erlang:demonitor/1.)
 *   - A message sent to a process that has exited is dropped; its mailbox
 *     dies with it.  A send never fails.  (Reference Manual, "Processes",
 *     Sending Signals; erlang:send/2.)
 *
 * How.  A signal is acted on by its target, as in ERTS, where signals
 * queue on the process and are handled when it runs: the sender records
 * the reason in the target's `kill` word (the first one wins) and wakes
 * it; the target checks the word at its safe points, where it holds
 * nothing of the runtime's (after every park, at a yield, and when its
 * reduction budget runs out: sched.c, mailbox.c), and then exits
 * through the same path as a return from its function.  So a kill takes
 * effect within one slice of a running target and at once for a parked
 * one.  A signaller that finds its target still running wakes nobody, so
 * every park looks at the word once it has published PARKED (sched.c,
 * park_killed): a Dekker pair with the signaller's fence (kill_wake).  Inside cb_cells_update and cb_cells_read (which lock the cells)
 * the check is deferred to their end, so a killed client never leaves a
 * cell owner waiting for its `set` or `unlock`.
 *
 * Processes are type-stable and recycled (sched.c), so a pointer to one
 * may outlive it.  Each process keeps its id in sig_id while it lives and
 * 0 from the moment it begins to exit; everyone who touches another
 * process's lists takes its sig_lock and checks sig_id first.  Only one
 * sig_lock is held at a time: a link is made on each side in turn, and a
 * dying process takes its lists under its own lock, then visits each
 * peer under the peer's.  A DOWN or EXIT message is pushed while holding
 * the receiver's sig_lock, so the receiver cannot finish dying (and its
 * mailbox cannot die) in between.
 *
 * Limits, stated rather than hidden:
 *   - cb_exit abandons the C frames between it and the process's entry:
 *     C has no unwinding, so memory they own leaks (the BEAM frees the
 *     whole heap of a dead process; here only what it received is the
 *     "heap").
 *   - A stack overflow on a guarded stack kills the OS process with a
 *     report (runtime/stack.h) instead of ending only the offender with
 *     `stack_overflow`.  Ending it would mean switching to the scheduler
 *     from the SIGSEGV handler on the alternate signal stack: the fault
 *     can land inside libc (malloc holding its arena lock, which the next
 *     process on that scheduler would deadlock on), inside the runtime
 *     (holding a run-queue lock or a mailbox claim), or with the kernel's
 *     signal frame and mask still to unwind, the same reasons that rule
 *     out timer preemption (actor.c).  The BEAM has no guard pages to
 *     hit: a process's stack grows inside its heap, and a process that
 *     outgrows max_heap_size is killed with reason `killed`.
 *   - Any other fault in task code (SIGSEGV, SIGBUS, abort) ends the OS
 *     process, as a crashing NIF ends a BEAM node.
 *
 * Rejected: a signal queue per process (ERTS's own design, needed there
 * for ordering signals between a pair of processes; here a kill is the
 * only signal that must reach a process that is not receiving, and EXIT
 * and DOWN travel as messages in the mailbox the process named), and a
 * global pid table (a lookup on every link and a hash insert on every
 * spawn, the hot path of skynet; handles valid until join do the job).
 */
#include "models/actor/actor_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cb_term_t a_normal, a_kill, a_killed, a_noproc, a_exit, a_down,
    a_process;

void actor_exit_start(void)
{
    a_normal = cb_atom("normal");
    a_kill = cb_atom("kill");
    a_killed = cb_atom("killed");
    a_noproc = cb_atom("noproc");
    a_exit = cb_atom("EXIT");
    a_down = cb_atom("DOWN");
    a_process = cb_atom("process");
}

#define COUNT_ON(s, name, n)                                                   \
    atomic_store_explicit(                                                     \
        &(s)->c.name,                                                          \
        atomic_load_explicit(&(s)->c.name, memory_order_relaxed) + (n),        \
        memory_order_relaxed)

void actor_exit_init(cb_task_t *p)
{
    /* Lists were freed by the last life's exit; the pointers are NULL. */
    p->nlinks = p->nmons_in = p->nmons_out = 0;
    p->trap = NULL;
    p->defer_kill = 0;
    p->nowned = 0;
    atomic_store_explicit(&p->kill, CB_NIL, memory_order_relaxed);
    /* Release: a stale signaller that reads this id (under sig_lock)
     * sees the fields above reset. */
    atomic_store_explicit(&p->sig_id, p->id, memory_order_release);
}

static bool alive_locked(cb_task_t *t, uint64_t id)
{
    return atomic_load_explicit(&t->sig_id, memory_order_acquire) == id &&
           id != 0;
}

static int peers_add(actor_peer_t **list, uint32_t *n, uint32_t *cap,
                     actor_peer_t e)
{
    if (*n == *cap) {
        uint32_t c = *cap ? *cap * 2 : 4;
        actor_peer_t *b = realloc(*list, c * sizeof *b);
        if (!b)
            return -ENOMEM;
        *list = b;
        *cap = c;
    }
    (*list)[(*n)++] = e;
    return 0;
}

/* Remove the first entry matching id (and ref, unless CB_NIL). */
static bool peers_remove(actor_peer_t *list, uint32_t *n, uint64_t id,
                         cb_term_t ref)
{
    for (uint32_t i = 0; i < *n; i++)
        if (list[i].id == id && (ref == CB_NIL || list[i].ref == ref)) {
            list[i] = list[--*n];
            return true;
        }
    return false;
}

static bool peers_has(const actor_peer_t *list, uint32_t n, uint64_t id)
{
    for (uint32_t i = 0; i < n; i++)
        if (list[i].id == id)
            return true;
    return false;
}

static cb_task_t *self_or_die(void)
{
    cb_task_t *p = actor_self();
    if (!p)
        rt_panic("actor: exits, links and monitors need a process");
    return p;
}

/* A reason's copy for one more holder (immediates are free). */
static cb_term_t dup(cb_term_t t)
{
    return cb_is_boxed(t) ? cb_term_copy(t) : t;
}

/*
 * An exit signal from process `from` with `reason` reaches t (id tid):
 * link says whether it came through a link (then t's link to `from` is
 * removed; a `kill` through a link is an ordinary reason).  Returns true
 * when t was killed and must be woken.  Expects nothing held.
 */
static bool signal_exit(cb_task_t *t, uint64_t tid, uint64_t from,
                        cb_term_t reason, bool link)
{
    bool wake = false;
    actor_lock(&t->sig_lock);
    if (!alive_locked(t, tid)) {
        actor_unlock(&t->sig_lock);
        return false;
    }
    if (link && !peers_remove(t->links, &t->nlinks, from, CB_NIL)) {
        /* Unlinked meanwhile: the signal is not sent (erlang:unlink/1). */
        actor_unlock(&t->sig_lock);
        return false;
    }
    cb_term_t kill_with = CB_NIL;
    if (!link && reason == a_kill)
        kill_with = a_killed;
    else if (t->trap)
        actor_port_deliver(t->trap, cb_tuple3(a_exit, cb_int((int64_t)from),
                                              dup(reason)));
    else if (reason != a_normal)
        kill_with = dup(reason);
    if (kill_with != CB_NIL) {
        cb_term_t none = CB_NIL;
        /* seq_cst: the reason's bytes before the word that names them,
         * and the first half of the Dekker pair (kill_wake). */
        if (atomic_compare_exchange_strong_explicit(
                &t->kill, &none, kill_with, memory_order_seq_cst,
                memory_order_relaxed))
            wake = true;
        else
            cb_term_release(kill_with);
    }
    actor_unlock(&t->sig_lock);
    return wake;
}

/* Wake t, which a signal has just killed: the fence is the signaller's
 * half of the Dekker pair with a parking target (sched.c, park_killed). */
static void kill_wake(cb_task_t *t)
{
    atomic_thread_fence(memory_order_seq_cst);
    actor_wake(t);
}

void actor_die_killed(cb_task_t *p)
{
    /* Acquire: pairs with the signaller's release. */
    cb_term_t r = atomic_exchange_explicit(&p->kill, CB_NIL,
                                           memory_order_acquire);
    RT_ASSERT(r != CB_NIL);
    actor_proc_exit(p, r);
}

void actor_exit_self(cb_term_t reason)
{
    actor_proc_exit(self_or_die(), reason);
}

/* A signal a process sends itself: handled at once, since the caller is
 * at a safe point (it is in a call of its own). */
static int signal_self(cb_task_t *self, cb_term_t reason, bool exit2)
{
    bool kill = exit2 && reason == a_kill;
    if (!kill && self->trap) {
        actor_port_deliver(self->trap,
                           cb_tuple3(a_exit, cb_int((int64_t)self->id),
                                     reason));
        return 0;
    }
    if (kill) {
        cb_term_release(reason);
        actor_proc_exit(self, a_killed);
    }
    /* exit(self(), normal) ends the caller too (erlang:exit/2); so does
     * any other reason it does not trap. */
    actor_proc_exit(self, reason);
}

int actor_exit_task(cb_task_t *t, cb_term_t reason)
{
    cb_task_t *self = self_or_die();
    if (!t) {
        cb_term_release(reason);
        return -EINVAL;
    }
    if (t == self)
        return signal_self(self, reason, true);
    uint64_t tid = atomic_load_explicit(&t->sig_id, memory_order_acquire);
    COUNT_ON(self->sched, exit_signals, 1);
    /* A dead target: the signal goes nowhere (a signal to a pid that no
     * longer exists is dropped). */
    if (tid && signal_exit(t, tid, self->id, reason, false))
        kill_wake(t);
    cb_term_release(reason);
    return 0;
}

int actor_link(cb_task_t *t)
{
    cb_task_t *self = self_or_die();
    if (!t)
        return -EINVAL;
    if (t == self)
        return 0;
    /* The target's id while it lives; 0 once it has begun to exit. */
    uint64_t tid = atomic_load_explicit(&t->sig_id, memory_order_acquire);
    actor_lock(&self->sig_lock);
    bool had = tid && peers_has(self->links, self->nlinks, tid);
    int rc = had || !tid ? 0
                         : peers_add(&self->links, &self->nlinks,
                                     &self->links_cap,
                                     (actor_peer_t){t, tid, CB_NIL, NULL});
    actor_unlock(&self->sig_lock);
    if (rc < 0)
        return rc;
    if (had)
        return 0;
    bool linked = false;
    if (tid) {
        actor_lock(&t->sig_lock);
        if (alive_locked(t, tid)) {
            rc = peers_has(t->links, t->nlinks, self->id)
                     ? 0
                     : peers_add(&t->links, &t->nlinks, &t->links_cap,
                                 (actor_peer_t){self, self->id, CB_NIL, NULL});
            linked = rc == 0;
        }
        actor_unlock(&t->sig_lock);
    }
    if (linked)
        return 0;
    actor_lock(&self->sig_lock);
    if (tid)
        peers_remove(self->links, &self->nlinks, tid, CB_NIL);
    actor_unlock(&self->sig_lock);
    if (rc < 0)
        return rc;
    /* No such process: an exit signal `noproc` from it (erlang:link/1). */
    if (self->trap) {
        actor_port_deliver(self->trap,
                           cb_tuple3(a_exit,
                                     cb_int((int64_t)t->id),
                                     a_noproc));
        return 0;
    }
    actor_proc_exit(self, a_noproc);
}

int actor_unlink(cb_task_t *t)
{
    cb_task_t *self = self_or_die();
    if (!t)
        return -EINVAL;
    if (t == self)
        return 0;
    actor_lock(&self->sig_lock);
    uint64_t tid = 0;
    for (uint32_t i = 0; i < self->nlinks; i++)
        if (self->links[i].task == t) {
            tid = self->links[i].id;
            self->links[i] = self->links[--self->nlinks];
            break;
        }
    actor_unlock(&self->sig_lock);
    if (!tid)
        return 0;
    actor_lock(&t->sig_lock);
    if (alive_locked(t, tid))
        peers_remove(t->links, &t->nlinks, self->id, CB_NIL);
    actor_unlock(&t->sig_lock);
    return 0;
}

static cb_term_t down_msg(cb_term_t ref, uint64_t pid, cb_term_t reason)
{
    cb_term_t e[5] = {a_down, ref, a_process, cb_int((int64_t)pid), reason};
    return cb_tuple(5, e);
}

int actor_monitor(cb_task_t *t, cb_port_t *mailbox, cb_term_t *ref)
{
    cb_task_t *self = self_or_die();
    if (!t || !mailbox || !ref)
        return -EINVAL;
    cb_term_t r = cb_make_ref();
    uint64_t tid = atomic_load_explicit(&t->sig_id, memory_order_acquire);
    actor_lock(&self->sig_lock);
    int rc = peers_add(&self->mons_out, &self->nmons_out, &self->mons_out_cap,
                       (actor_peer_t){t, tid, r, NULL});
    actor_unlock(&self->sig_lock);
    if (rc < 0)
        return rc;
    bool set = false;
    if (tid) {
        actor_lock(&t->sig_lock);
        if (alive_locked(t, tid)) {
            rc = peers_add(&t->mons_in, &t->nmons_in, &t->mons_in_cap,
                           (actor_peer_t){self, self->id, r, mailbox});
            set = rc == 0;
        }
        actor_unlock(&t->sig_lock);
    }
    if (!set) {
        actor_lock(&self->sig_lock);
        peers_remove(self->mons_out, &self->nmons_out, tid, r);
        actor_unlock(&self->sig_lock);
        if (rc < 0)
            return rc;
        /* Already gone: DOWN with `noproc` at once (erlang:monitor/2). */
        actor_port_deliver(mailbox,
                           down_msg(r, t->id, a_noproc));
    }
    *ref = r;
    return 0;
}

int actor_demonitor(cb_term_t ref)
{
    cb_task_t *self = self_or_die();
    if (!cb_is_ref(ref))
        return -EINVAL;
    actor_lock(&self->sig_lock);
    cb_task_t *t = NULL;
    uint64_t tid = 0;
    for (uint32_t i = 0; i < self->nmons_out; i++)
        if (self->mons_out[i].ref == ref) {
            t = self->mons_out[i].task;
            tid = self->mons_out[i].id;
            self->mons_out[i] = self->mons_out[--self->nmons_out];
            break;
        }
    actor_unlock(&self->sig_lock);
    if (!t)
        return 0;
    actor_lock(&t->sig_lock);
    if (alive_locked(t, tid))
        peers_remove(t->mons_in, &t->nmons_in, self->id, ref);
    actor_unlock(&t->sig_lock);
    return 0;
}

int actor_trap_exit(cb_port_t *mailbox)
{
    cb_task_t *self = self_or_die();
    actor_lock(&self->sig_lock);
    self->trap = mailbox;
    actor_unlock(&self->sig_lock);
    return 0;
}

int actor_spawn_watch(cb_task_t *child, const cb_spawn_opts_t *opts)
{
    cb_task_t *self = actor_self();
    if (!self || (opts->monitor_ref && !opts->monitor_mailbox))
        return -EINVAL;
    /* The child has not run and nobody else has its pointer: both sides
     * are made before it is enqueued, so it cannot die in between. */
    if (opts->link) {
        int rc = actor_link(child);
        if (rc < 0)
            return rc;
    }
    if (opts->monitor_ref) {
        int rc = actor_monitor(child, opts->monitor_mailbox,
                               opts->monitor_ref);
        if (rc < 0) {
            if (opts->link)
                actor_unlink(child);
            return rc;
        }
    }
    return 0;
}

void actor_exit_signals(cb_task_t *p, cb_term_t reason)
{
    actor_lock(&p->sig_lock);
    atomic_store_explicit(&p->sig_id, 0, memory_order_release);
    actor_peer_t *links = p->links, *mons_in = p->mons_in,
                 *mons_out = p->mons_out;
    uint32_t nlinks = p->nlinks, nmons_in = p->nmons_in,
             nmons_out = p->nmons_out;
    p->links = p->mons_in = p->mons_out = NULL;
    p->nlinks = p->nmons_in = p->nmons_out = 0;
    p->links_cap = p->mons_in_cap = p->mons_out_cap = 0;
    p->trap = NULL;
    actor_unlock(&p->sig_lock);
    /* A signal that came too late to act on dies with the process. */
    cb_term_t late = atomic_exchange_explicit(&p->kill, CB_NIL,
                                              memory_order_acquire);
    cb_term_release(late);
    /* CB_NIL: a spawn that failed before the process ran tells nobody. */
    bool tell = reason != CB_NIL;
    if (tell && reason != a_normal && actor_this_sched())
        COUNT_ON(actor_this_sched(), exits_abnormal, 1);
    for (uint32_t i = 0; i < nlinks; i++)
        if (tell) {
            if (signal_exit(links[i].task, links[i].id, p->id, reason, true))
                kill_wake(links[i].task);
        } else {
            cb_task_t *t = links[i].task;
            actor_lock(&t->sig_lock);
            if (alive_locked(t, links[i].id))
                peers_remove(t->links, &t->nlinks, p->id, CB_NIL);
            actor_unlock(&t->sig_lock);
        }
    for (uint32_t i = 0; i < nmons_in; i++) {
        cb_task_t *w = mons_in[i].task;
        actor_lock(&w->sig_lock);
        if (alive_locked(w, mons_in[i].id)) {
            peers_remove(w->mons_out, &w->nmons_out, p->id, mons_in[i].ref);
            if (tell)
                actor_port_deliver(mons_in[i].mailbox,
                                   down_msg(mons_in[i].ref, p->id,
                                            dup(reason)));
        }
        actor_unlock(&w->sig_lock);
    }
    /* Its own monitors die with it (erlang:monitor/2). */
    for (uint32_t i = 0; i < nmons_out; i++) {
        cb_task_t *t = mons_out[i].task;
        actor_lock(&t->sig_lock);
        if (alive_locked(t, mons_out[i].id))
            peers_remove(t->mons_in, &t->nmons_in, p->id, mons_out[i].ref);
        actor_unlock(&t->sig_lock);
    }
    free(links);
    free(mons_in);
    free(mons_out);
    actor_ports_die(p);
    if (tell)
        cb_term_release(reason);
}

/* A kill waits for the cells to be released (see the essay): an update
 * or a read holds the cells it names (cell.c) until it returns. */
static cb_task_t *kill_defer_begin(void)
{
    cb_task_t *self = actor_self();
    if (self)
        self->defer_kill++;
    return self;
}

static void kill_defer_end(cb_task_t *self)
{
    if (self) {
        self->defer_kill--;
        if (actor_kill_pending(self))
            actor_die_killed(self);
    }
}

int actor_cells_update_guarded(cb_cell_t **cells, size_t n, cb_cells_fn fn,
                               void *arg)
{
    cb_task_t *self = kill_defer_begin();
    int rc = actor_cells_update(cells, n, fn, arg);
    kill_defer_end(self);
    return rc;
}

int actor_cells_update_reading_guarded(cb_cell_t **cells, size_t n,
                                       size_t nwrite, cb_cells_fn fn,
                                       void *arg)
{
    cb_task_t *self = kill_defer_begin();
    int rc = actor_cells_update_reading(cells, n, nwrite, fn, arg);
    kill_defer_end(self);
    return rc;
}

int actor_cells_read_guarded(cb_cell_t **cells, size_t n, int64_t *out)
{
    cb_task_t *self = kill_defer_begin();
    int rc = actor_cells_read(cells, n, out);
    kill_defer_end(self);
    return rc;
}
