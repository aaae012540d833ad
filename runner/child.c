/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * One repetition, one child process.
 *
 * Every repetition runs in a fresh fork, so a crash, a hang, a deadlock or
 * an out-of-memory in one is recorded as that repetition's outcome and the
 * others keep their results; each starts with a clean heap and its own peak
 * RSS.  The child reports through a pipe in a line protocol the parent
 * parses (one record per line, fields separated by spaces; names never
 * contain spaces):
 *
 *     metric NAME int|f64 VALUE
 *     hist NAME COUNT MIN MAX MEAN P50 P90 P99 P999
 *     bucket NAME LO HI COUNT
 *     point NAME T_NS VALUE
 *     counter NAME VALUE
 *     outcome ok|failed|unsupported|error REASON...
 *
 * A child that dies before its outcome line is "crashed" (with the signal
 * or its exit status); one that outlives the timeout is killed and
 * recorded as "timeout".
 *
 * CONCBENCH_INJECT_FAULT=crash|hang|invariant makes every child crash
 * (SIGSEGV), hang, or report a broken invariant after its run: the tests of
 * these paths need a run that really does each, and no workload should be
 * bent into doing it.
 */
#include "runner/cli.h"

#include "runtime/clock.h"
#include "runtime/mem.h"
#include "runtime/topo.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

const char *rep_outcome_name(rep_outcome_t o)
{
    static const char *const names[] = {
        [REP_OK] = "ok",           [REP_FAILED] = "failed",
        [REP_UNSUPPORTED] = "unsupported", [REP_ERROR] = "error",
        [REP_CRASHED] = "crashed", [REP_TIMEOUT] = "timeout",
    };
    return names[o];
}

/* ---- the child side ---- */

typedef struct child_ctx {
    const cb_workload_t *wl;
    cb_wl_ctx_t *ctx;
} child_ctx_t;

static void root_task(void *arg)
{
    child_ctx_t *c = arg;
    c->wl->run(c->ctx);
}

static int emit_bucket(uint64_t lo, uint64_t hi, uint64_t count, void *arg)
{
    void **a = arg;
    fprintf(a[0], "bucket %s %" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
            (const char *)a[1], lo, hi, count);
    return 0;
}

static void emit_metrics(FILE *f, cb_wl_ctx_t *ctx)
{
    for (size_t i = 0; i < cb_wl_metric_count(ctx); i++) {
        const cb_metric_t *m = cb_wl_metric_at(ctx, i);
        switch (m->kind) {
        case CB_METRIC_INT:
            fprintf(f, "metric %s int %" PRId64 "\n", m->name, m->i);
            break;
        case CB_METRIC_F64:
            fprintf(f, "metric %s f64 %.15g\n", m->name, m->f);
            break;
        case CB_METRIC_HIST: {
            const rt_hist_t *h = m->hist;
            fprintf(f,
                    "hist %s %" PRIu64 " %" PRIu64 " %" PRIu64 " %.15g %" PRIu64
                    " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
                    m->name, rt_hist_count(h), rt_hist_min(h), rt_hist_max(h),
                    rt_hist_mean(h), rt_hist_percentile(h, 50),
                    rt_hist_percentile(h, 90), rt_hist_percentile(h, 99),
                    rt_hist_percentile(h, 99.9));
            void *a[2] = {f, (void *)m->name};
            rt_hist_foreach(h, emit_bucket, a);
            break;
        }
        case CB_METRIC_SERIES:
            for (size_t k = 0; k < m->npoints; k++)
                fprintf(f, "point %s %" PRId64 " %.15g\n", m->name, m->t[k],
                        m->v[k]);
            break;
        }
    }
}

static void one_line(char *s)
{
    for (; *s; s++)
        if (*s == '\n' || *s == '\r')
            *s = ' ';
}

static __attribute__((noreturn)) void child_main(const run_spec_t *spec,
                                                 int fd)
{
    FILE *f = fdopen(fd, "w");
    if (!f)
        _exit(EXIT_RUN_ERROR);
    rt_mem_reset_peak();
    if (spec->ncpus > 0)
        rt_topo_pin_self_set(spec->cpus, spec->ncpus);

    char err[512] = "";
    cb_model_env_t env = {.cpus = spec->cpus, .ncpus = spec->ncpus,
                          .seed = spec->seed};
    int rc = cb_model_start(spec->model, &spec->model_params, &env, err,
                            sizeof err);
    if (rc < 0) {
        one_line(err);
        fprintf(f, "outcome error starting model %s: %s\n", spec->model->name,
                err[0] ? err : cb_strerror(rc));
        fclose(f);
        _exit(EXIT_OK);
    }
    child_ctx_t c = {.wl = spec->workload,
                     .ctx = cb_wl_ctx_new(&spec->workload_params, spec->seed)};
    if (!c.ctx)
        _exit(EXIT_RUN_ERROR);
    const char *fault = getenv("CONCBENCH_INJECT_FAULT");
    if (fault && strcmp(fault, "crash") == 0)
        raise(SIGSEGV);
    if (fault && strcmp(fault, "hang") == 0)
        for (;;)
            pause();
    rc = cb_model_run(root_task, &c);
    if (fault && strcmp(fault, "invariant") == 0)
        cb_wl_fail(c.ctx, "injected fault: invariant reported broken");
    cb_counter_t counters[CB_COUNTERS_MAX];
    size_t nc = cb_model_counters(counters, CB_COUNTERS_MAX);
    int stop_rc = cb_model_stop(err, sizeof err);

    const char *reason = "";
    cb_outcome_t o = cb_wl_outcome(c.ctx, &reason);
    int64_t elapsed = cb_wl_elapsed_ns(c.ctx);
    if (rc == 0) {
        fprintf(f, "metric elapsed_ns int %" PRId64 "\n", elapsed);
        emit_metrics(f, c.ctx);
        for (size_t i = 0; i < cb_wl_metric_count(c.ctx); i++) {
            const cb_metric_t *m = cb_wl_metric_at(c.ctx, i);
            if (strcmp(m->name, "ops") == 0 && elapsed > 0)
                fprintf(f, "metric throughput_ops_s f64 %.15g\n",
                        (double)m->i * 1e9 / (double)elapsed);
        }
        fprintf(f, "metric peak_rss_bytes int %" PRId64 "\n",
                rt_mem_peak_rss_bytes());
        for (size_t i = 0; i < nc; i++)
            fprintf(f, "counter %s %" PRId64 "\n", counters[i].name,
                    counters[i].value);
    }
    char why[600];
    if (rc < 0) {
        fprintf(f, "outcome error running the root task: %s\n",
                cb_strerror(rc));
    } else if (o != CB_OUTCOME_OK) {
        snprintf(why, sizeof why, "%s", reason);
        one_line(why);
        fprintf(f, "outcome %s %s\n",
                o == CB_OUTCOME_FAILED ? "failed" : "unsupported", why);
    } else if (stop_rc < 0) {
        one_line(err);
        fprintf(f, "outcome error stopping the model: %s\n", err);
    } else {
        fprintf(f, "outcome ok\n");
    }
    fflush(f);
    /* Tasks that outlived the root may still hold model locks: leave
     * without running atexit handlers or freeing anything. */
    _exit(EXIT_OK);
}

/* ---- the parent side ---- */

static rep_metric_t *metric_slot(rep_result_t *r, const char *name,
                                 cb_metric_kind_t kind)
{
    for (size_t i = 0; i < r->nmetrics; i++)
        if (strcmp(r->metrics[i].name, name) == 0)
            return &r->metrics[i];
    if (r->nmetrics == REP_MAX_METRICS || strlen(name) >= 48)
        return NULL;
    rep_metric_t *m = &r->metrics[r->nmetrics++];
    memset(m, 0, sizeof *m);
    snprintf(m->name, sizeof m->name, "%s", name);
    m->kind = kind;
    return m;
}

const rep_metric_t *rep_metric_find(const rep_result_t *r, const char *name)
{
    for (size_t i = 0; i < r->nmetrics; i++)
        if (strcmp(r->metrics[i].name, name) == 0)
            return &r->metrics[i];
    return NULL;
}

static void parse_line(rep_result_t *r, char *line, bool *have_outcome)
{
    char kind[16], name[64], type[8];
    int off = 0;
    if (sscanf(line, "%15s %63s%n", kind, name, &off) < 1)
        return;
    char *rest = line + off;
    if (strcmp(kind, "outcome") == 0) {
        static const struct {
            const char *n;
            rep_outcome_t o;
        } map[] = {{"ok", REP_OK},
                   {"failed", REP_FAILED},
                   {"unsupported", REP_UNSUPPORTED},
                   {"error", REP_ERROR}};
        r->outcome = REP_ERROR;
        for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
            if (strcmp(name, map[i].n) == 0)
                r->outcome = map[i].o;
        while (*rest == ' ')
            rest++;
        snprintf(r->reason, sizeof r->reason, "%s", rest);
        *have_outcome = true;
    } else if (strcmp(kind, "metric") == 0) {
        double v;
        if (sscanf(rest, "%7s %lf", type, &v) != 2)
            return;
        rep_metric_t *m = metric_slot(
            r, name, strcmp(type, "int") == 0 ? CB_METRIC_INT : CB_METRIC_F64);
        if (m)
            m->value = v;
    } else if (strcmp(kind, "hist") == 0) {
        rep_metric_t *m = metric_slot(r, name, CB_METRIC_HIST);
        if (m)
            sscanf(rest,
                   "%" SCNd64 " %" SCNd64 " %" SCNd64 " %lf %" SCNd64
                   " %" SCNd64 " %" SCNd64 " %" SCNd64,
                   &m->hist.count, &m->hist.min, &m->hist.max, &m->hist.mean,
                   &m->hist.p50, &m->hist.p90, &m->hist.p99, &m->hist.p999);
    } else if (strcmp(kind, "bucket") == 0) {
        rep_metric_t *m = metric_slot(r, name, CB_METRIC_HIST);
        int64_t b[3];
        if (!m || sscanf(rest, "%" SCNd64 " %" SCNd64 " %" SCNd64, &b[0],
                         &b[1], &b[2]) != 3)
            return;
        rep_hist_t *h = &m->hist;
        if (h->nbuckets == h->cap) {
            size_t n = h->cap ? h->cap * 2 : 64;
            void *p = realloc(h->buckets, n * sizeof *h->buckets);
            if (!p)
                return;
            h->buckets = p;
            h->cap = n;
        }
        memcpy(h->buckets[h->nbuckets++], b, sizeof b);
    } else if (strcmp(kind, "point") == 0) {
        rep_metric_t *m = metric_slot(r, name, CB_METRIC_SERIES);
        double t, v;
        if (!m || sscanf(rest, "%lf %lf", &t, &v) != 2)
            return;
        if (m->npoints == m->cap) {
            size_t n = m->cap ? m->cap * 2 : 256;
            void *p = realloc(m->points, n * sizeof *m->points);
            if (!p)
                return;
            m->points = p;
            m->cap = n;
        }
        m->points[m->npoints][0] = t;
        m->points[m->npoints++][1] = v;
    } else if (strcmp(kind, "counter") == 0 && r->ncounters < CB_COUNTERS_MAX) {
        int64_t v;
        if (strlen(name) >= sizeof r->counter_names[0] ||
            sscanf(rest, "%" SCNd64, &v) != 1)
            return;
        size_t i = r->ncounters++;
        memcpy(r->counter_names[i], name, strlen(name) + 1);
        r->counters[i] = (cb_counter_t){r->counter_names[i], v};
    }
}

/* Read everything the child writes, until EOF or the deadline. */
static bool drain(int fd, int64_t deadline, char **buf, size_t *len)
{
    size_t cap = 1 << 16;
    *buf = malloc(cap);
    *len = 0;
    if (!*buf)
        return true;
    for (;;) {
        int64_t left = deadline - rt_now_ns();
        if (left <= 0)
            return false;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int n = poll(&p, 1, (int)(left / 1000000 + 1));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            continue;
        if (*len + 4096 > cap) {
            char *nb = realloc(*buf, cap * 2);
            if (!nb)
                return true;
            *buf = nb;
            cap *= 2;
        }
        ssize_t got = read(fd, *buf + *len, cap - *len - 1);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return true;
        *len += (size_t)got;
    }
}

void child_run(const run_spec_t *spec, int index, bool warmup,
               rep_result_t *out)
{
    memset(out, 0, sizeof *out);
    out->index = index;
    out->warmup = warmup;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0) {
        out->outcome = REP_ERROR;
        snprintf(out->reason, sizeof out->reason, "pipe: %s",
                 strerror(errno));
        return;
    }
    fflush(stdout);
    fflush(stderr);
    int64_t t0 = rt_now_ns();
    pid_t pid = fork();
    if (pid < 0) {
        out->outcome = REP_ERROR;
        snprintf(out->reason, sizeof out->reason, "fork: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return;
    }
    if (pid == 0) {
        close(fds[0]);
        child_main(spec, fds[1]);
    }
    close(fds[1]);
    int64_t deadline = t0 + (int64_t)(spec->timeout_s * 1e9);
    char *buf;
    size_t len;
    bool finished = drain(fds[0], deadline, &buf, &len);
    close(fds[0]);
    if (!finished)
        kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    out->wall_s = (double)(rt_now_ns() - t0) / 1e9;

    bool have_outcome = false;
    if (buf) {
        buf[len] = '\0';
        for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
            parse_line(out, line, &have_outcome);
        free(buf);
    }
    if (!finished) {
        out->outcome = REP_TIMEOUT;
        snprintf(out->reason, sizeof out->reason,
                 "no result after %.0f s: killed (a hang or a deadlock)",
                 spec->timeout_s);
    } else if (WIFSIGNALED(status)) {
        out->outcome = REP_CRASHED;
        snprintf(out->reason, sizeof out->reason, "killed by signal %d (%s)",
                 WTERMSIG(status), strsignal(WTERMSIG(status)));
    } else if (!have_outcome || WEXITSTATUS(status) != 0) {
        /* Dying without a result is a crash whatever the status says: a
         * sanitizer that catches the fault exits with 1 instead of the
         * signal. */
        out->outcome = REP_CRASHED;
        snprintf(out->reason, sizeof out->reason,
                 "exited with status %d before reporting a result",
                 WEXITSTATUS(status));
    }
}

void rep_result_free(rep_result_t *r)
{
    for (size_t i = 0; i < r->nmetrics; i++) {
        free(r->metrics[i].hist.buckets);
        free(r->metrics[i].points);
    }
    r->nmetrics = 0;
}
