/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * The model registry and dispatch.  The table of models is generated from
 * the folder listing (models_list.h), so this file never names a model.
 */
#include "models/model.h"

#include "runtime/clock.h"
#include "runtime/common.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define CB_MODEL(name) extern const cb_model_t cb_model_##name;
#include "models_list.h"
#undef CB_MODEL

static const cb_model_t *const registry[] = {
#define CB_MODEL(name) &cb_model_##name,
#include "models_list.h"
#undef CB_MODEL
};

const cb_model_t *cb__active;
_Thread_local int64_t cb__budget __attribute__((tls_model("initial-exec"))) =
    INT64_MAX;

#if !((defined(__x86_64__) || defined(__aarch64__)) &&                         \
      !defined(CB_SANITIZE_THREAD))
int64_t *cb__budget_addr(void)
{
    return &cb__budget;
}
#endif

size_t cb_model_count(void)
{
    return sizeof registry / sizeof registry[0];
}

const cb_model_t *cb_model_at(size_t i)
{
    return i < cb_model_count() ? registry[i] : NULL;
}

const cb_model_t *cb_model_find(const char *name)
{
    for (size_t i = 0; i < cb_model_count(); i++)
        if (strcmp(registry[i]->name, name) == 0)
            return registry[i];
    return NULL;
}

const char *cb_model_unsupported(const cb_model_t *m, cb_cap_t cap)
{
    for (const cb_unsupported_t *u = m->unsupported; u && u->cap; u++)
        if (u->cap == cap)
            return u->reason;
    return NULL;
}

const char *cb_cap_name(cb_cap_t cap)
{
    static const char *const names[CB_CAP__COUNT] = {
        [CB_CAP_RECV_MATCH] = "recv_match",
        [CB_CAP_SELECT_SEND] = "select_send",
        [CB_CAP_PORT_UNBOUNDED] = "port_unbounded",
        [CB_CAP_PORT_FIXED] = "port_fixed",
        [CB_CAP_PORT_SLIDING] = "port_sliding",
        [CB_CAP_PORT_DROPPING] = "port_dropping",
        [CB_CAP_PORT_RENDEZVOUS] = "port_rendezvous",
        [CB_CAP_IO_WAIT] = "io_wait",
        [CB_CAP_LINKS] = "links",
        [CB_CAP_MONITORS] = "monitors",
        [CB_CAP_SEND_REFUSED] = "send_refused",
    };
    return cap > 0 && cap < CB_CAP__COUNT ? names[cap] : "unknown";
}

const char *cb_strerror(int err)
{
    switch (-err) {
    case 0:
        return "ok";
#define CB_ERR_CASE(code, text)                                                \
    case code:                                                                 \
        return text;
        CB_ERRNO_MAP(CB_ERR_CASE)
#undef CB_ERR_CASE
    default:
        return strerror(-err);
    }
}

/* Every slot from `start` on is a function pointer, and none may be NULL:
 * a capability a model lacks is a slot that returns -ENOTSUP, never a
 * NULL that crashes the workload that first calls it.  Walking the slots
 * by position means a slot added tomorrow is checked without editing this
 * function. */
typedef int (*any_slot_fn)(void);
_Static_assert((sizeof(cb_model_t) - offsetof(cb_model_t, start)) %
                       sizeof(any_slot_fn) ==
                   0,
               "cb_model_t ends with function pointers only");

static void check_slots(const cb_model_t *m)
{
    const char *base = (const char *)m + offsetof(cb_model_t, start);
    size_t n = (sizeof(cb_model_t) - offsetof(cb_model_t, start)) /
               sizeof(any_slot_fn);
    for (size_t i = 0; i < n; i++) {
        any_slot_fn f;
        memcpy(&f, base + i * sizeof f, sizeof f);
        if (!f)
            rt_panic("model %s leaves slot %zu of cb_model_t empty (count "
                     "from `start`); an unsupported call needs a slot that "
                     "returns -ENOTSUP",
                     m->name, i);
    }
}

int cb_model_start(const cb_model_t *m, const cb_param_set_t *params,
                   const cb_model_env_t *env, char *err, size_t errlen)
{
    RT_ASSERT(cb__active == NULL);
    check_slots(m);
    cb__active = m;
    int rc = m->start(params, env, err, errlen);
    if (rc < 0)
        cb__active = NULL;
    return rc;
}

int cb_model_run(cb_task_fn root, void *arg)
{
    RT_ASSERT(cb__active != NULL);
    return cb__active->run(root, arg);
}

int cb_model_stop(char *err, size_t errlen)
{
    RT_ASSERT(cb__active != NULL);
    int rc = cb__active->stop(err, errlen);
    /* Tasks that outlived a failed stop still dispatch through it. */
    if (rc == 0)
        cb__active = NULL;
    return rc;
}

size_t cb_model_counters(cb_counter_t *out, size_t max)
{
    return cb__active ? cb__active->counters(out, max) : 0;
}

int64_t cb_now_ns(void)
{
    return rt_now_ns();
}

int cb_model_no_recv_match(cb_port_t *p, cb_match_fn match, void *ctx,
                           cb_term_t *out, int64_t timeout_ns)
{
    (void)p, (void)match, (void)ctx, (void)out, (void)timeout_ns;
    return -ENOTSUP;
}

cb_term_t cb_model_plain_recv_mark(cb_port_t *p)
{
    (void)p;
    return cb_make_ref();
}

int cb_model_no_recv_match_ref(cb_port_t *p, cb_term_t ref,
                               cb_match_fn match, void *ctx, cb_term_t *out,
                               int64_t timeout_ns)
{
    (void)ref;
    return cb_model_no_recv_match(p, match, ctx, out, timeout_ns);
}

int cb_model_port_kind(const cb_port_opts_t *opts, cb_port_policy_t natural,
                       size_t natural_cap, cb_port_policy_t *policy,
                       size_t *capacity)
{
    cb_port_policy_t p = opts ? opts->policy : CB_PORT_DEFAULT;
    size_t cap = opts ? opts->capacity : 0;
    if (p == CB_PORT_DEFAULT)
        p = natural, cap = natural_cap;
    switch (p) {
    case CB_PORT_UNBOUNDED:
    case CB_PORT_RENDEZVOUS:
        cap = 0;
        break;
    case CB_PORT_FIXED:
    case CB_PORT_SLIDING:
    case CB_PORT_DROPPING:
        if (cap < 1 || cap > CB_PORT_CAPACITY_MAX)
            return -EINVAL;
        break;
    default:
        return -EINVAL;
    }
    *policy = p;
    *capacity = cap;
    return 0;
}

int cb_model_no_exit_task(cb_task_t *t, cb_term_t reason)
{
    (void)t;
    cb_term_release(reason);
    return -ENOTSUP;
}

int cb_model_no_link(cb_task_t *t)
{
    (void)t;
    return -ENOTSUP;
}

int cb_model_no_monitor(cb_task_t *t, cb_port_t *mailbox, cb_term_t *ref)
{
    (void)t, (void)mailbox, (void)ref;
    return -ENOTSUP;
}

int cb_model_no_demonitor(cb_term_t ref)
{
    (void)ref;
    return -ENOTSUP;
}

int cb_model_no_trap_exit(cb_port_t *mailbox)
{
    (void)mailbox;
    return -ENOTSUP;
}

/* Set by the runner's child before the run, read when a model dies. */
static cb_die_handler_fn die_handler;

void cb_model_set_die_handler(cb_die_handler_fn fn)
{
    die_handler = fn;
}

void cb_model_die(const char *why)
{
    if (die_handler)
        die_handler(why);
    fprintf(stderr, "%s\n", why);
    fflush(stderr);
    _exit(2);
}

static size_t format_into(cb_term_t t, char *buf, size_t len, size_t at,
                          int depth)
{
    if (at >= len)
        return at;
    int n = 0;
    switch (cb_term_kind(t)) {
    case CB_TERM_ATOM:
        n = snprintf(buf + at, len - at, "%s", cb_atom_name(t));
        break;
    case CB_TERM_INT:
        n = snprintf(buf + at, len - at, "%lld", (long long)cb_int_value(t));
        break;
    case CB_TERM_TUPLE:
        if (depth > 4) {
            n = snprintf(buf + at, len - at, "{...}");
            break;
        }
        n = snprintf(buf + at, len - at, "{");
        at += n > 0 ? (size_t)n : 0;
        for (size_t i = 0; i < cb_tuple_arity(t); i++) {
            if (i && at < len)
                at += (size_t)snprintf(buf + at, len - at, ",");
            at = format_into(cb_tuple_elem(t, i), buf, len, at, depth + 1);
        }
        n = at < len ? snprintf(buf + at, len - at, "}") : 0;
        break;
    case CB_TERM_BINARY:
        n = snprintf(buf + at, len - at, "<<%zu bytes>>", cb_binary_size(t));
        break;
    case CB_TERM_REF:
        n = snprintf(buf + at, len - at, "#Ref");
        break;
    case CB_TERM_PORT:
        n = snprintf(buf + at, len - at, "#Port");
        break;
    case CB_TERM_NIL:
        n = snprintf(buf + at, len - at, "[]");
        break;
    }
    return at + (n > 0 ? (size_t)n : 0);
}

void cb_term_format(cb_term_t t, char *buf, size_t len)
{
    if (!len)
        return;
    buf[0] = '\0';
    format_into(t, buf, len, 0, 0);
    buf[len - 1] = '\0';
}

int cb_model_native_inline(cb_native_fn fn, void *arg, unsigned flags)
{
    if (flags & ~CB_NATIVE_DIRTY_CPU)
        return -EINVAL;
    /* No reduction point inside native code may yield.  The budget is
     * the thread's, and fn never switches, so it is restored on the
     * thread it was read on. */
    int64_t *budget = cb__budget_addr();
    int64_t saved = *budget;
    *budget = INT64_MAX / 2;
    fn(arg);
    *budget = saved;
    return 0;
}
