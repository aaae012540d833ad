/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * The workload registry, the run context, and helpers every workload
 * shares.  Metrics are reported by the root task only (after it has
 * gathered its workers' results through messages); cb_wl_fail may be
 * called from any task, so the outcome is guarded by a mutex that is only
 * ever taken on that cold path.
 */
#include "workloads/workload.h"

#include "runtime/clock.h"
#include "runtime/common.h"
#include "runtime/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CB_WORKLOAD(name) extern const cb_workload_t cb_workload_##name;
#include "workloads_list.h"
#undef CB_WORKLOAD

static const cb_workload_t *const registry[] = {
#define CB_WORKLOAD(name) &cb_workload_##name,
#include "workloads_list.h"
#undef CB_WORKLOAD
};

/* One workload built outside the tree: `concbench lab check` links a
 * student's file into a runner of its own with a definition of this
 * pointer (runner/cmd_lab.c); concbench itself leaves it undefined, and a
 * weak reference to an undefined symbol is NULL. */
extern const cb_workload_t *const cb_workload_extra __attribute__((weak));

static size_t registered(void)
{
    return sizeof registry / sizeof registry[0];
}

size_t cb_workload_count(void)
{
    return registered() + (&cb_workload_extra && cb_workload_extra);
}

const cb_workload_t *cb_workload_at(size_t i)
{
    if (i < registered())
        return registry[i];
    return i < cb_workload_count() ? cb_workload_extra : NULL;
}

const cb_workload_t *cb_workload_find(const char *name)
{
    for (size_t i = 0; i < cb_workload_count(); i++)
        if (strcmp(cb_workload_at(i)->name, name) == 0)
            return cb_workload_at(i);
    return NULL;
}

static const cb_wl_metric_role_t *metric_role(const cb_workload_t *w,
                                              const char *metric)
{
    size_t len = strcspn(metric, "."); /* a histogram field: its histogram */
    for (const cb_wl_metric_role_t *r = w ? w->metric_roles : NULL;
         r && r->name; r++)
        if (strcmp(r->name, metric) == 0 ||
            (strlen(r->name) == len && strncmp(r->name, metric, len) == 0))
            return r;
    return NULL;
}

const char *cb_wl_metric_derived_from(const cb_workload_t *w,
                                      const char *metric)
{
    const cb_wl_metric_role_t *r = metric_role(w, metric);
    if (r)
        return r->derived_from;
    if (strcmp(metric, "elapsed_ns") == 0)
        return "throughput_ops_s";
    return NULL;
}

const char *cb_wl_metric_diagnostic(const cb_workload_t *w,
                                    const char *metric)
{
    const cb_wl_metric_role_t *r = metric_role(w, metric);
    if (r)
        return r->diagnostic;
    /* The runner's own measurement of every workload (runner/child.c).
     * Between two runs of one binary on a quiet machine, ping-pong's
     * differed by 27% (csp) and 32% (actor) with round_trip_ns unchanged,
     * in 2 of 40 A/A comparisons (with one message in flight, most of it
     * is the other worker spinning before it parks), and csp skynet's by
     * 14% (interval [1.077, 1.204]), its ns_per_task unchanged and the
     * drift probe steady. */
    if (strcmp(metric, "window_cpu_ns") == 0)
        return "the process's CPU time counts idle workers spinning before "
               "they park, which the timing of wake-ups decides more than "
               "the code";
    return NULL;
}

/* ---- the run context ---- */

#define METRICS_MAX 64

struct cb_wl_ctx {
    const cb_param_set_t *params;
    uint64_t seed;
    int64_t window_start, window_stop;
    cb_metric_t metrics[METRICS_MAX];
    size_t nmetrics;
    pthread_mutex_t outcome_lock; /* guards outcome and reason */
    cb_outcome_t outcome;
    char reason[512];
    double slow_window; /* injected slowdown (cb_wl_ctx_slow_window) */
    int64_t cpu_start, cpu_stop; /* process CPU time at the window's ends */
};

cb_wl_ctx_t *cb_wl_ctx_new(const cb_param_set_t *params, uint64_t seed)
{
    cb_wl_ctx_t *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->params = params;
    c->seed = seed;
    pthread_mutex_init(&c->outcome_lock, NULL);
    return c;
}

void cb_wl_ctx_free(cb_wl_ctx_t *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nmetrics; i++) {
        rt_hist_free(c->metrics[i].hist);
        free(c->metrics[i].t);
        free(c->metrics[i].v);
    }
    pthread_mutex_destroy(&c->outcome_lock);
    free(c);
}

int64_t cb_wl_int(const cb_wl_ctx_t *c, const char *name)
{
    return cb_params_int(c->params, name);
}

const char *cb_wl_str(const cb_wl_ctx_t *c, const char *name)
{
    return cb_params_str(c->params, name);
}

uint64_t cb_wl_seed(const cb_wl_ctx_t *c)
{
    return c->seed;
}

/* CPU time of the whole process (every thread), 0 when unreadable. */
static int64_t process_cpu_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void cb_wl_window_start(cb_wl_ctx_t *c)
{
    c->cpu_start = process_cpu_ns();
    c->window_start = rt_now_ns();
}

void cb_wl_window_stop(cb_wl_ctx_t *c)
{
    int64_t now = rt_now_ns();
    if (c->slow_window > 0 && c->window_start) {
        /* Inside the window, so every figure taken from it (and the
         * workload's own per-operation times) is slower alike: busy until
         * both the wall time and the process's CPU time in the window have
         * grown by the fraction, as code that does that much more work
         * would make them. */
        double f = 1 + c->slow_window;
        int64_t wall = c->window_start + (int64_t)((double)(now -
                                                            c->window_start) *
                                                   f);
        int64_t cpu = c->cpu_start +
                      (int64_t)((double)(process_cpu_ns() - c->cpu_start) * f);
        while (rt_now_ns() < wall || process_cpu_ns() < cpu)
            cb_reduce(1);
        now = rt_now_ns();
    }
    c->window_stop = now;
    c->cpu_stop = process_cpu_ns();
}

int64_t cb_wl_window_cpu_ns(const cb_wl_ctx_t *c)
{
    if (!c->window_start || c->window_stop < c->window_start || !c->cpu_start)
        return -1;
    return c->cpu_stop - c->cpu_start;
}

void cb_wl_ctx_slow_window(cb_wl_ctx_t *c, double fraction)
{
    c->slow_window = fraction;
}

int64_t cb_wl_elapsed_ns(const cb_wl_ctx_t *c)
{
    if (!c->window_start || c->window_stop < c->window_start)
        return 0;
    return c->window_stop - c->window_start;
}

int64_t cb_wl_window_start_ns(const cb_wl_ctx_t *c)
{
    return c->window_start;
}

static cb_metric_t *metric(cb_wl_ctx_t *c, const char *name,
                           cb_metric_kind_t kind)
{
    for (size_t i = 0; i < c->nmetrics; i++)
        if (strcmp(c->metrics[i].name, name) == 0) {
            RT_ASSERT(c->metrics[i].kind == kind);
            return &c->metrics[i];
        }
    RT_ASSERT(c->nmetrics < METRICS_MAX);
    RT_ASSERT(strlen(name) < sizeof c->metrics[0].name);
    cb_metric_t *m = &c->metrics[c->nmetrics++];
    snprintf(m->name, sizeof m->name, "%s", name);
    m->kind = kind;
    return m;
}

void cb_wl_ops(cb_wl_ctx_t *c, int64_t ops)
{
    metric(c, "ops", CB_METRIC_INT)->i = ops;
}

void cb_wl_metric_int(cb_wl_ctx_t *c, const char *name, int64_t v)
{
    metric(c, name, CB_METRIC_INT)->i = v;
}

void cb_wl_metric_f64(cb_wl_ctx_t *c, const char *name, double v)
{
    metric(c, name, CB_METRIC_F64)->f = v;
}

void cb_wl_metric_hist(cb_wl_ctx_t *c, const char *name, const rt_hist_t *h)
{
    cb_metric_t *m = metric(c, name, CB_METRIC_HIST);
    if (!m->hist)
        m->hist = rt_hist_new();
    RT_ASSERT(m->hist != NULL);
    rt_hist_reset(m->hist);
    rt_hist_merge(m->hist, h);
}

void cb_wl_series(cb_wl_ctx_t *c, const char *name, int64_t t_ns, double v)
{
    cb_metric_t *m = metric(c, name, CB_METRIC_SERIES);
    if (m->npoints == m->cap) {
        size_t n = m->cap ? m->cap * 2 : 256;
        int64_t *t = realloc(m->t, n * sizeof *t);
        if (t)
            m->t = t;
        double *vv = realloc(m->v, n * sizeof *vv);
        if (vv)
            m->v = vv;
        if (!t || !vv)
            return; /* a sample lost to memory pressure, not a crash */
        m->cap = n;
    }
    m->t[m->npoints] = t_ns;
    m->v[m->npoints++] = v;
}

static void set_outcome(cb_wl_ctx_t *c, cb_outcome_t o, const char *reason)
{
    pthread_mutex_lock(&c->outcome_lock);
    if (c->outcome == CB_OUTCOME_OK) { /* the first cause is the one told */
        c->outcome = o;
        snprintf(c->reason, sizeof c->reason, "%s", reason);
    }
    pthread_mutex_unlock(&c->outcome_lock);
}

void cb_wl_fail(cb_wl_ctx_t *c, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    set_outcome(c, CB_OUTCOME_FAILED, buf);
}

static bool out_of_resource(int err)
{
    return err == -EAGAIN || err == -ENOMEM || err == -EMFILE ||
           err == -ENFILE || err == -ENOLCK;
}

static void judge(cb_wl_ctx_t *c, int err, const char *what)
{
    char buf[512];
    if (err == -EAGAIN) /* what a spawn says when no thread can start */
        snprintf(buf, sizeof buf,
                 "%s: out of threads (EAGAIN: a limit on threads or process "
                 "ids, or no memory for a stack)",
                 what);
    else
        snprintf(buf, sizeof buf, "%s: %s", what, cb_strerror(err));
    set_outcome(c,
                err == -ENOTSUP         ? CB_OUTCOME_UNSUPPORTED
                : out_of_resource(err) ? CB_OUTCOME_RESOURCE
                                        : CB_OUTCOME_FAILED,
                buf);
}

void cb_wl_error(cb_wl_ctx_t *c, int err, const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    judge(c, err, what);
}

void cb_wl_unsupported(cb_wl_ctx_t *c, const char *what, int err)
{
    if (out_of_resource(err)) {
        judge(c, err, what);
        return;
    }
    char buf[512];
    snprintf(buf, sizeof buf, "%s: %s", what, cb_strerror(err));
    set_outcome(c, CB_OUTCOME_UNSUPPORTED, buf);
}

bool cb_wl_failed(const cb_wl_ctx_t *c)
{
    cb_wl_ctx_t *m = (cb_wl_ctx_t *)c;
    pthread_mutex_lock(&m->outcome_lock);
    bool f = c->outcome != CB_OUTCOME_OK;
    pthread_mutex_unlock(&m->outcome_lock);
    return f;
}

cb_outcome_t cb_wl_outcome(const cb_wl_ctx_t *c, const char **reason)
{
    if (reason)
        *reason = c->reason;
    return c->outcome;
}

size_t cb_wl_metric_count(const cb_wl_ctx_t *c)
{
    return c->nmetrics;
}

const cb_metric_t *cb_wl_metric_at(const cb_wl_ctx_t *c, size_t i)
{
    return i < c->nmetrics ? &c->metrics[i] : NULL;
}

/* ---- helpers ---- */

int64_t cb_wl_rss_bytes(void)
{
    return rt_mem_rss_bytes();
}

double cb_wl_jain(const double *x, size_t n)
{
    double sum = 0, sq = 0;
    for (size_t i = 0; i < n; i++) {
        sum += x[i];
        sq += x[i] * x[i];
    }
    return sq > 0 ? sum * sum / ((double)n * sq) : 1.0;
}

uint64_t cb_wl_mix(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

void cb_wl_spin_ns(int64_t ns)
{
    int64_t end = cb_now_ns() + ns;
    while (cb_now_ns() < end)
        cb_reduce(1);
}

static int set_nonblocking(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -errno;
    return 0;
}

static int tcp_pair(int fds[2])
{
    int one = 1, rc = 0;
    int lst = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int cli = -1, srv = -1;
    if (lst < 0)
        return -errno;
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    if (bind(lst, (struct sockaddr *)&a, sizeof a) < 0 || listen(lst, 1) < 0 ||
        getsockname(lst, (struct sockaddr *)&a, &alen) < 0)
        goto fail;
    cli = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (cli < 0 || connect(cli, (struct sockaddr *)&a, sizeof a) < 0)
        goto fail;
    srv = accept4(lst, NULL, NULL, SOCK_CLOEXEC);
    if (srv < 0)
        goto fail;
    setsockopt(cli, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(srv, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if ((rc = set_nonblocking(cli)) < 0 || (rc = set_nonblocking(srv)) < 0)
        goto fail_rc;
    close(lst);
    fds[0] = cli;
    fds[1] = srv;
    return 0;
fail:
    rc = -errno;
fail_rc:
    if (srv >= 0)
        close(srv);
    if (cli >= 0)
        close(cli);
    close(lst);
    return rc;
}

int cb_wl_fd_pair(const char *transport, int fds[2])
{
    if (strcmp(transport, "tcp") == 0)
        return tcp_pair(fds);
    if (strcmp(transport, "unix") == 0) {
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
                       fds) < 0)
            return -errno;
        return 0;
    }
    return -EINVAL;
}

int cb_wl_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        /* errno is read before anything that may park. */
        int e = n < 0 ? errno : EIO;
        if (e == EINTR)
            continue;
        if (e != EAGAIN)
            return -e;
        int rc = cb_io_wait(fd, POLLOUT, CB_FOREVER);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int cb_wl_read_all(int fd, void *buf, size_t len)
{
    char *p = buf;
    while (len > 0) {
        ssize_t n = read(fd, p, len);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        int e = n < 0 ? errno : EPIPE; /* 0 bytes: the peer closed */
        if (e == EINTR)
            continue;
        if (e != EAGAIN)
            return -e;
        int rc = cb_io_wait(fd, POLLIN, CB_FOREVER);
        if (rc < 0)
            return rc;
    }
    return 0;
}

cb_port_policy_t cb_wl_port_policy(const char *name)
{
    static const char *const names[] = {
        [CB_PORT_DEFAULT] = "default",   [CB_PORT_UNBOUNDED] = "unbounded",
        [CB_PORT_FIXED] = "fixed",       [CB_PORT_SLIDING] = "sliding",
        [CB_PORT_DROPPING] = "dropping", [CB_PORT_RENDEZVOUS] = "rendezvous",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i] && strcmp(names[i], name) == 0)
            return (cb_port_policy_t)i;
    return CB_PORT_DEFAULT;
}

int cb_wl_gather_port_open(int64_t messages, cb_port_t **out)
{
    cb_port_opts_t o = {.policy = CB_PORT_FIXED,
                        .capacity = messages > 0 ? (size_t)messages : 1};
    int rc = cb_port_open(&o, out);
    return rc == -ENOTSUP ? cb_port_open(NULL, out) : rc;
}
