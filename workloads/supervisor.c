/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/* A supervisor after OTP's: the rules and their sources are in
 * supervisor.h. */
#include "workloads/supervisor.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct cb_sup {
    cb_sup_opts_t o;
    cb_sup_child_t *children;
    cb_task_t **kids; /* the running task of each child, or NULL */
    cb_task_t *task;
    cb_port_t *mbox; /* the supervisor's mailbox; its own */
    /* Restart times within the period, oldest first (a ring). */
    int64_t *times;
    size_t head, count, cap;
    cb_sup_stats_t st;
};

static cb_term_t a_exit, a_normal, a_shutdown, a_kill;

static bool is_exit_from(cb_term_t m, void *ctx)
{
    const cb_term_t *pid = ctx;
    return cb_is_tuple(m) && cb_tuple_arity(m) == 3 &&
           cb_tuple_elem(m, 0) == a_exit && cb_tuple_elem(m, 1) == *pid;
}

static int start_child(cb_sup_t *s, size_t i)
{
    cb_spawn_opts_t o = {.link = true};
    return cb_spawn(s->children[i].fn, s->children[i].arg, &o, &s->kids[i]);
}

/* Terminate child i (OTP's shutdown of a worker: exit signal `shutdown`,
 * then `kill` after the shutdown time) and wait for its EXIT. */
static void terminate_child(cb_sup_t *s, size_t i)
{
    cb_task_t *k = s->kids[i];
    if (!k)
        return;
    cb_term_t pid = cb_pid(k);
    cb_exit_task(k, a_shutdown);
    cb_term_t m = CB_NIL;
    if (cb_recv_match(s->mbox, is_exit_from, &pid, &m, CB_SUP_SHUTDOWN_NS) <
        0) {
        cb_exit_task(k, a_kill);
        cb_recv_match(s->mbox, is_exit_from, &pid, &m, CB_FOREVER);
    }
    cb_term_release(m);
    cb_join(k);
    s->kids[i] = NULL;
}

static void terminate_all(cb_sup_t *s)
{
    for (size_t i = s->o.nchildren; i-- > 0;)
        terminate_child(s, i);
}

__attribute__((noreturn)) static void sup_exit(cb_sup_t *s, cb_term_t reason)
{
    terminate_all(s);
    /* Trapping off before the mailbox goes: an EXIT must not be
     * delivered to a freed port. */
    cb_trap_exit(NULL);
    cb_port_free(s->mbox);
    s->mbox = NULL;
    cb_exit(reason);
}

/* Record a restart now; false when it makes more than `intensity`
 * within `period` (OTP's restart intensity). */
static bool restart_allowed(cb_sup_t *s)
{
    int64_t now = cb_now_ns();
    while (s->count && now - s->times[s->head] > s->o.period_ns) {
        s->head = (s->head + 1) % s->cap;
        s->count--;
    }
    if ((int64_t)s->count + 1 > s->o.intensity)
        return false;
    if (s->count == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        int64_t *t = malloc(cap * sizeof *t);
        if (!t)
            return false;
        for (size_t k = 0; k < s->count; k++)
            t[k] = s->times[(s->head + k) % s->cap];
        free(s->times);
        s->times = t;
        s->head = 0;
        s->cap = cap;
    }
    s->times[(s->head + s->count) % s->cap] = now;
    s->count++;
    return true;
}

/* clean: the child exited `normal` or `shutdown`. */
static bool wants_restart(const cb_sup_child_t *c, bool clean)
{
    switch (c->restart) {
    case CB_SUP_PERMANENT:
        return true;
    case CB_SUP_TRANSIENT:
        return !clean;
    case CB_SUP_TEMPORARY:
        break;
    }
    return false;
}

static void child_exited(cb_sup_t *s, size_t i, bool clean)
{
    cb_join(s->kids[i]);
    s->kids[i] = NULL;
    s->st.child_exits++;
    if (!wants_restart(&s->children[i], clean))
        return;
    if (!restart_allowed(s)) {
        s->st.gave_up = 1;
        sup_exit(s, a_shutdown);
    }
    if (s->o.strategy == CB_SUP_ONE_FOR_ALL) {
        terminate_all(s);
        for (size_t k = 0; k < s->o.nchildren; k++)
            if (start_child(s, k) < 0)
                sup_exit(s, a_shutdown);
        s->st.restarts += (int64_t)s->o.nchildren;
    } else {
        if (start_child(s, i) < 0)
            sup_exit(s, a_shutdown);
        s->st.restarts++;
    }
}

static void sup_main(void *arg)
{
    cb_sup_t *s = arg;
    if (cb_port_open(NULL, &s->mbox) < 0 || cb_trap_exit(s->mbox) < 0)
        cb_exit(a_shutdown);
    for (size_t i = 0; i < s->o.nchildren; i++)
        if (start_child(s, i) < 0)
            sup_exit(s, a_shutdown);
    for (;;) {
        cb_term_t m;
        if (cb_recv(s->mbox, &m, CB_FOREVER) < 0)
            sup_exit(s, a_shutdown);
        if (!cb_is_tuple(m) || cb_tuple_arity(m) != 3 ||
            cb_tuple_elem(m, 0) != a_exit) {
            cb_term_release(m);
            continue;
        }
        cb_term_t pid = cb_tuple_elem(m, 1);
        size_t i = 0;
        while (i < s->o.nchildren &&
               !(s->kids[i] && cb_pid(s->kids[i]) == pid))
            i++;
        if (i == s->o.nchildren) {
            /* Not a child: the one that started it wants it gone. */
            cb_term_t reason = cb_term_copy(cb_tuple_elem(m, 2));
            cb_term_release(m);
            sup_exit(s, reason);
        }
        /* Released first: child_exited may end this process. */
        cb_term_t reason = cb_tuple_elem(m, 2);
        bool clean = reason == a_normal || reason == a_shutdown;
        cb_term_release(m);
        child_exited(s, i, clean);
    }
}

int cb_sup_start(const cb_sup_opts_t *o, cb_sup_t **out)
{
    if (!o || !out || o->nchildren > CB_SUP_CHILDREN_MAX ||
        (o->nchildren && !o->children) ||
        (o->strategy != CB_SUP_ONE_FOR_ONE &&
         o->strategy != CB_SUP_ONE_FOR_ALL))
        return -EINVAL;
    /* A probe that changes nothing: unlinking from oneself is a no-op
     * where links exist, -ENOTSUP where they do not. */
    int rc = cb_unlink(cb_self());
    if (rc < 0)
        return rc;
    a_exit = cb_atom("EXIT");
    a_normal = cb_atom("normal");
    a_shutdown = cb_atom("shutdown");
    a_kill = cb_atom("kill");
    cb_sup_t *s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    s->o = *o;
    if (s->o.intensity < 0)
        s->o.intensity = CB_SUP_INTENSITY_DEFAULT;
    if (s->o.period_ns <= 0)
        s->o.period_ns = CB_SUP_PERIOD_NS_DEFAULT;
    s->children = calloc(o->nchildren ? o->nchildren : 1, sizeof *s->children);
    s->kids = calloc(o->nchildren ? o->nchildren : 1, sizeof *s->kids);
    if (!s->children || !s->kids) {
        free(s->children);
        free(s->kids);
        free(s);
        return -ENOMEM;
    }
    if (o->nchildren)
        memcpy(s->children, o->children, o->nchildren * sizeof *s->children);
    cb_spawn_opts_t so = {.monitor_mailbox = o->monitor_mailbox,
                          .monitor_ref = o->monitor_ref};
    rc = cb_spawn(sup_main, s, &so, &s->task);
    if (rc < 0) {
        free(s->children);
        free(s->kids);
        free(s);
        return rc;
    }
    *out = s;
    return 0;
}

cb_task_t *cb_sup_task(const cb_sup_t *s)
{
    return s->task;
}

int cb_sup_stop(cb_sup_t *s, cb_sup_stats_t *stats)
{
    if (!s)
        return -EINVAL;
    cb_exit_task(s->task, a_shutdown);
    int rc = cb_join(s->task);
    if (stats)
        *stats = s->st;
    free(s->times);
    free(s->children);
    free(s->kids);
    free(s);
    return rc;
}
