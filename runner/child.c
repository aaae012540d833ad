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
 *     placement SAMPLES MIGRATIONS THREADS VCSW IVCSW START END CPUS
 *     window OPEN_NS LENGTH_NS
 *     outcome ok|failed|unsupported|resource|error REASON...
 *
 * A child that dies before its outcome line is "crashed" (with the signal
 * or its exit status); one that outlives the timeout is killed and
 * recorded as "timeout"; one whose resident memory passes the cap
 * (run_spec_t.mem_cap_bytes) is killed and recorded as "oom".  The cap is
 * watched from the parent through /proc/PID/statm rather than set with
 * RLIMIT_AS, because address space is not memory: sanitizers reserve
 * terabytes of shadow, and a green model maps stacks it never touches.
 * Its cost is an overshoot of at most one polling period (10 ms) of
 * allocation.
 *
 * Placement: a sampler thread in the child reads the CPU every thread of
 * the process last ran on (/proc/self/task/TID/stat, field 39, the value
 * sched_getcpu would return on that thread) every PLACEMENT_SAMPLE_MS,
 * so the report says where the model's threads really ran and how often
 * they were seen to move, whatever the model; getrusage adds the
 * voluntary and involuntary context switches.  Rejected: asking each
 * model to sample its own workers (every model would repeat it, and the
 * threads model has a thread per task).
 *
 * CONCBENCH_INJECT_FAULT=crash|hang|invariant|oom makes every child crash
 * (SIGSEGV), hang, report a broken invariant after its run, or allocate
 * and touch memory until it is stopped (1 GiB at most, then it hangs): the
 * tests of these paths need a run that really does each, and no workload
 * should be bent into doing it.  slowPCT (slow20) makes every run PCT%
 * slower: a busy wait stretches the measurement window before it closes
 * (cb_wl_ctx_slow_window), the real regression the gate's tests catch.  A comma-separated list of FAULT@WHERE
 * entries aims faults at some runs only, WHERE being a model name, a
 * workload name or a workload parameter KEY=VALUE (crash@tasks=10,
 * hang@cpu-crunch), so one matrix can hold each failure beside cells
 * that succeed.  A hung child still ends on SIGTERM, and on its runner's
 * death (see die_with_runner).
 *
 * Invariant: no child outlives its runner, even one killed with SIGKILL.
 */
#include "runner/cli.h"
#include "runner/peer.h"

#include "runtime/clock.h"
#include "runtime/mem.h"
#include "runtime/topo.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

const char *rep_outcome_name(rep_outcome_t o)
{
    static const char *const names[] = {
        [REP_OK] = "ok",           [REP_FAILED] = "failed",
        [REP_UNSUPPORTED] = "unsupported", [REP_ERROR] = "error",
        [REP_CRASHED] = "crashed", [REP_TIMEOUT] = "timeout",
        [REP_OOM] = "oom",         [REP_SKIPPED] = "skipped",
        [REP_RESOURCE] = "resource", [REP_MISSING] = "missing",
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

/* A model whose real system ends the program here (a Go panic) calls
 * cb_model_die, which prints `why` on stderr and exits with status 2 as
 * the real program does, with no outcome line: the run is "crashed",
 * exactly as the real system's run (peers/go) is, with the panic in its
 * last words.  What the protocol stream holds so far is flushed, so the
 * parent reads whole lines.  Rejected: an "outcome failed" line, which
 * called the program's end a broken invariant and set the model apart
 * from the real Go program it stands for. */
static FILE *die_out;

static void on_model_die(const char *why)
{
    (void)why;
    fflush(die_out);
}

/* ---- the placement sampler (child side) ---- */

#define SAMPLER_TIDS 512

typedef struct sampler {
    pthread_t thread;
    pthread_mutex_t lock; /* guards stop; the cond wakes the sampler */
    pthread_cond_t cond;
    bool stop;
    /* Written by the sampler thread only, read after the join. */
    int64_t samples, migrations;
    uint64_t seen[1024 / 64]; /* bitmap of PUs seen, OS index < 1024 */
    int tid[SAMPLER_TIDS], cpu[SAMPLER_TIDS];
    int64_t run[SAMPLER_TIDS]; /* schedstat run time at the last sample */
    int ntids;
} sampler_t;

/* Read a small /proc file whole into buf (NUL-terminated); false when it
 * cannot be read.  One read(2): /proc builds these files in one go. */
static bool read_small(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, len - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    return true;
}

/* Field 39 (processor) of /proc/self/task/TID/stat; -1 when unreadable. */
static int task_cpu(const char *tid)
{
    char path[320], buf[1024];
    snprintf(path, sizeof path, "/proc/self/task/%s/stat", tid);
    if (!read_small(path, buf, sizeof buf))
        return -1;
    /* The command name (field 2) may hold spaces: count from its ')'. */
    char *p = strrchr(buf, ')');
    if (!p)
        return -1;
    int field = 2;
    for (; *p && field < 39; p++)
        if (*p == ' ')
            field++;
    return field == 39 ? atoi(p) : -1;
}

/* CPU time the thread has run, from /proc/self/task/TID/schedstat (ns),
 * or -1 where the kernel does not keep it. */
static int64_t task_runtime(const char *tid)
{
    char path[320], buf[128];
    snprintf(path, sizeof path, "/proc/self/task/%s/schedstat", tid);
    return read_small(path, buf, sizeof buf) ? strtoll(buf, NULL, 10) : -1;
}

/*
 * A thread's "last CPU" is stale while it sleeps: a helper thread bound
 * to --cpus after it last ran still shows its old PU.  So a sighting
 * counts only when the thread has run since the previous sample (its
 * schedstat run time moved); the first sample of a thread is its
 * baseline.  Threads that live less than one period go unseen.
 */
static void sample_once(sampler_t *s)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        int tid = atoi(e->d_name), cpu = task_cpu(e->d_name);
        int64_t run = task_runtime(e->d_name);
        if (cpu < 0)
            continue;
        int i = 0;
        while (i < s->ntids && s->tid[i] != tid)
            i++;
        bool ran;
        if (i == s->ntids) {
            if (s->ntids == SAMPLER_TIDS)
                continue;
            s->ntids++;
            s->tid[i] = tid;
            ran = run < 0; /* no schedstat: count every sighting */
        } else {
            ran = run < 0 || run != s->run[i];
            if (ran && s->cpu[i] != cpu)
                s->migrations++;
        }
        if (ran && cpu < 1024)
            s->seen[cpu / 64] |= 1ull << (cpu % 64);
        s->cpu[i] = cpu;
        s->run[i] = run;
    }
    closedir(d);
    s->samples++;
}

static void *sampler_main(void *arg)
{
    sampler_t *s = arg;
    pthread_mutex_lock(&s->lock);
    while (!s->stop) {
        pthread_mutex_unlock(&s->lock);
        sample_once(s);
        pthread_mutex_lock(&s->lock);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += PLACEMENT_SAMPLE_MS * 1000000L;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        if (!s->stop)
            pthread_cond_timedwait(&s->cond, &s->lock, &ts);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

static void emit_placement(FILE *f, sampler_t *s, bool started, int start,
                           int end)
{
    if (started) {
        pthread_mutex_lock(&s->lock);
        s->stop = true;
        pthread_cond_signal(&s->cond);
        pthread_mutex_unlock(&s->lock);
        pthread_join(s->thread, NULL);
    }
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    getrusage(RUSAGE_SELF, &ru);
    fprintf(f, "placement %" PRId64 " %" PRId64 " %d %ld %ld %d %d ",
            s->samples, s->migrations, s->ntids, ru.ru_nvcsw, ru.ru_nivcsw,
            start, end);
    bool any = false;
    for (int c = 0; c < 1024; c++)
        if (s->seen[c / 64] & (1ull << (c % 64))) {
            fprintf(f, "%s%d", any ? "," : "", c);
            any = true;
        }
    fputs(any ? "\n" : "-\n", f);
}

static void inject_oom(void)
{
    /* Touch every page so the memory is resident, not just reserved. */
    for (int i = 0; i < 64; i++) {
        char *p = mmap(NULL, 16u << 20, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            break;
        memset(p, i + 1, 16u << 20);
    }
    for (;;)
        pause();
}

/* Whether one FAULT@WHERE selector names this run. */
static bool selects(const run_spec_t *spec, const char *where, size_t n)
{
    char w[96];
    if (n >= sizeof w)
        return false;
    memcpy(w, where, n);
    w[n] = '\0';
    if (strcmp(w, spec->model->name) == 0 ||
        strcmp(w, spec->workload->name) == 0)
        return true;
    char *eq = strchr(w, '=');
    if (!eq)
        return false;
    *eq = '\0';
    const cb_param_set_t *p = &spec->workload_params;
    int i = cb_params_find(p, w);
    if (i < 0)
        return false;
    char val[64];
    if (p->defs[i].kind == CB_PARAM_INT)
        snprintf(val, sizeof val, "%" PRId64, p->ival[i]);
    else
        snprintf(val, sizeof val, "%s", p->sval[i]);
    return strcmp(val, eq + 1) == 0;
}

/* The fault CONCBENCH_INJECT_FAULT asks of this run, or NULL. */
static const char *injected_fault(const run_spec_t *spec)
{
    static char fault[16];
    const char *env = getenv("CONCBENCH_INJECT_FAULT");
    for (const char *p = env; p && *p;) {
        size_t n = strcspn(p, ",");
        const char *at = memchr(p, '@', n);
        size_t flen = at ? (size_t)(at - p) : n;
        if (flen < sizeof fault &&
            (!at || selects(spec, at + 1, n - flen - 1))) {
            memcpy(fault, p, flen);
            fault[flen] = '\0';
            return fault;
        }
        p += n + (p[n] == ',');
    }
    return NULL;
}

/*
 * Bind every thread the child already has to the run's PUs, not only the
 * calling one: a sanitizer runtime starts helper threads of its own (TSan's
 * background thread) with the parent's full mask, and a thread left
 * outside --cpus would be a thread of the run on a PU the run was not
 * given.  Threads started later inherit the mask or are bound by the model.
 */
static void pin_all_threads(const run_spec_t *spec)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int i = 0; i < spec->ncpus; i++)
        if (spec->cpus[i] >= 0 && spec->cpus[i] < CPU_SETSIZE)
            CPU_SET(spec->cpus[i], &set);
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.')
            sched_setaffinity(atoi(e->d_name), sizeof set, &set);
    if (d)
        closedir(d);
}

/*
 * A child never outlives its runner.  The kernel sends it SIGKILL when the
 * runner dies (PR_SET_PDEATHSIG, kept across exec), and a runner that died
 * between fork and prctl is caught by comparing the parent with the pid
 * that forked: the child was reparented already and leaves at once.  The
 * signal is sent when the *thread* that forked exits; the runner forks
 * from its main thread only, which lives as long as the runner does.
 * Handlers the runner installed (matrix turns SIGINT and SIGTERM into a
 * stop flag) survive fork, so a hung child would have ignored SIGTERM:
 * they go back to the defaults, and a SIGTERM ends a child as it ends
 * any program.  The runner blocks both signals across fork (fork_child),
 * so one that arrives before the defaults are back waits, pending, and
 * ends the child when it unblocks them, instead of setting the stop flag
 * of a copy nobody reads.
 */
static void die_with_runner(pid_t runner, const sigset_t *mask)
{
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != runner)
        _exit(EXIT_RUN_ERROR);
    pthread_sigmask(SIG_SETMASK, mask, NULL);
}

/* fork() with SIGINT and SIGTERM held back until the child has its
 * default handlers (see die_with_runner). */
static pid_t fork_child(void)
{
    sigset_t stop, old;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, &old);
    pid_t runner = getpid();
    pid_t pid = fork();
    if (pid == 0)
        die_with_runner(runner, &old);
    else
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    return pid;
}

static __attribute__((noreturn)) void child_main(const run_spec_t *spec,
                                                 int fd, int errfd)
{
    if (spec->own_group)
        setpgid(0, 0);
    if (errfd >= 0 && dup2(errfd, STDERR_FILENO) >= 0)
        close(errfd);
    FILE *f = fdopen(fd, "w");
    if (!f)
        _exit(EXIT_RUN_ERROR);
    rt_mem_reset_peak();
    if (spec->ncpus > 0) {
        rt_topo_pin_self_set(spec->cpus, spec->ncpus);
        pin_all_threads(spec);
    }

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
    const char *fault = injected_fault(spec);
    if (fault && strncmp(fault, "slow", 4) == 0)
        cb_wl_ctx_slow_window(c.ctx, atoi(fault + 4) / 100.0);
    if (fault && strcmp(fault, "crash") == 0)
        raise(SIGSEGV);
    if (fault && strcmp(fault, "hang") == 0)
        for (;;)
            pause();
    if (fault && strcmp(fault, "oom") == 0)
        inject_oom();
    die_out = f;
    cb_model_set_die_handler(on_model_die);
    static sampler_t sampler = {.lock = PTHREAD_MUTEX_INITIALIZER,
                                .cond = PTHREAD_COND_INITIALIZER};
    bool sampling =
        pthread_create(&sampler.thread, NULL, sampler_main, &sampler) == 0;
    int start_cpu = sched_getcpu();
    int64_t t_run = rt_now_ns();
    rc = cb_model_run(root_task, &c);
    int end_cpu = sched_getcpu();
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
        if (cb_wl_window_cpu_ns(c.ctx) >= 0)
            fprintf(f, "metric window_cpu_ns int %" PRId64 "\n",
                    cb_wl_window_cpu_ns(c.ctx));
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
        int64_t open = cb_wl_window_start_ns(c.ctx);
        fprintf(f, "window %" PRId64 " %" PRId64 "\n",
                open ? open - t_run : -1, elapsed);
    }
    emit_placement(f, &sampler, sampling, start_cpu, end_cpu);
    char why[600];
    if (rc < 0) {
        fprintf(f, "outcome error running the root task: %s\n",
                cb_strerror(rc));
    } else if (o != CB_OUTCOME_OK) {
        snprintf(why, sizeof why, "%s", reason);
        one_line(why);
        fprintf(f, "outcome %s %s\n",
                o == CB_OUTCOME_FAILED        ? "failed"
                : o == CB_OUTCOME_UNSUPPORTED ? "unsupported"
                                              : "resource",
                why);
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
                   {"resource", REP_RESOURCE},
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
    } else if (strcmp(kind, "placement") == 0) {
        int used = 0;
        r->samples = strtoll(name, NULL, 10);
        r->have_placement =
            sscanf(rest,
                   " %" SCNd64 " %" SCNd64 " %" SCNd64 " %" SCNd64
                   " %d %d %n",
                   &r->migrations, &r->threads_seen, &r->vcsw, &r->ivcsw,
                   &r->start_cpu, &r->end_cpu, &used) == 6;
        /* Then the PU list ("-" when none was seen). */
        for (char *p = rest + used;
             r->have_placement && *p >= '0' && *p <= '9' && r->nseen < 64;) {
            r->seen_cpus[r->nseen++] = (int)strtol(p, &p, 10);
            if (*p != ',')
                break;
            p++;
        }
    } else if (strcmp(kind, "window") == 0) {
        char *end;
        r->window_open_ns = strtoll(name, &end, 10);
        r->window_ns = strtoll(rest, &end, 10);
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

/* Resident bytes of process pid (from /proc/PID/statm), or -1. */
static int64_t rss_of(pid_t pid)
{
    char path[64], buf[128];
    snprintf(path, sizeof path, "/proc/%d/statm", (int)pid);
    long long size, resident;
    if (!read_small(path, buf, sizeof buf) ||
        sscanf(buf, "%lld %lld", &size, &resident) != 2)
        return -1;
    return (int64_t)resident * sysconf(_SC_PAGESIZE);
}

typedef enum drain_end {
    DRAIN_EOF,
    DRAIN_TIMEOUT,
    DRAIN_OOM,
    DRAIN_STOPPED,
} drain_end_t;

/* Poll period while a memory cap is watched; see the essay above. */
#define MEM_POLL_MS 10

/* Read everything the child writes, until EOF, the deadline, the memory
 * cap or a stop request. */
static drain_end_t drain(const run_spec_t *spec, pid_t pid, int fd,
                         int64_t deadline, char **buf, size_t *len,
                         int64_t *rss)
{
    size_t cap = 1 << 16;
    *buf = malloc(cap);
    *len = 0;
    if (!*buf)
        return DRAIN_EOF;
    for (;;) {
        if (spec->stop && *spec->stop)
            return DRAIN_STOPPED;
        if (spec->mem_cap_bytes > 0 &&
            (*rss = rss_of(pid)) > spec->mem_cap_bytes)
            return DRAIN_OOM;
        int64_t left = deadline - rt_now_ns();
        if (left <= 0)
            return DRAIN_TIMEOUT;
        int ms = (int)(left / 1000000 + 1);
        if (spec->mem_cap_bytes > 0 && ms > MEM_POLL_MS)
            ms = MEM_POLL_MS;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int n = poll(&p, 1, ms);
        if (n <= 0)
            continue; /* EINTR (the stop flag is checked above) or idle */
        if (*len + 4096 > cap) {
            char *nb = realloc(*buf, cap * 2);
            if (!nb)
                return DRAIN_EOF;
            *buf = nb;
            cap *= 2;
        }
        ssize_t got = read(fd, *buf + *len, cap - *len - 1);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return DRAIN_EOF;
        *len += (size_t)got;
    }
}

/* The last line or so the child wrote on stderr, on one line. */
static void stderr_tail(int fd, char *out, size_t len)
{
    out[0] = '\0';
    off_t end = lseek(fd, 0, SEEK_END);
    if (end <= 0)
        return;
    off_t from = end > (off_t)(len - 1) ? end - (off_t)(len - 1) : 0;
    ssize_t n = pread(fd, out, len - 1, from);
    if (n <= 0)
        return;
    out[n] = '\0';
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' '))
        out[--n] = '\0';
    one_line(out);
}

void child_run(const run_spec_t *spec, int index, bool warmup,
               rep_result_t *out)
{
    memset(out, 0, sizeof *out);
    out->index = index;
    out->warmup = warmup;
    out->start_cpu = out->end_cpu = -1;
    peer_t *peer = peer_of(spec->model);
    if (peer && !peer_before(spec, peer, out))
        return;
    int fds[2], errfd = -1;
    if (pipe2(fds, O_CLOEXEC) < 0) {
        out->outcome = REP_ERROR;
        snprintf(out->reason, sizeof out->reason, "pipe: %s",
                 strerror(errno));
        return;
    }
    if (spec->capture_stderr)
        errfd = memfd_create("concbench-stderr", MFD_CLOEXEC);
    fflush(stdout);
    fflush(stderr);
    int64_t t0 = rt_now_ns();
    pid_t pid = fork_child();
    if (pid < 0) {
        out->outcome = REP_ERROR;
        snprintf(out->reason, sizeof out->reason, "fork: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        if (errfd >= 0)
            close(errfd);
        return;
    }
    if (pid == 0) {
        close(fds[0]);
        if (peer)
            peer_exec(spec, peer, fds[1], errfd);
        child_main(spec, fds[1], errfd);
    }
    if (spec->own_group)
        setpgid(pid, pid); /* both sides set it: no race with exec/kill */
    close(fds[1]);
    int64_t deadline = t0 + (int64_t)(spec->timeout_s * 1e9);
    char *buf;
    size_t len;
    int64_t rss = 0;
    drain_end_t end = drain(spec, pid, fds[0], deadline, &buf, &len, &rss);
    close(fds[0]);
    if (end != DRAIN_EOF)
        kill(pid, SIGKILL);
    int status = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR)
        ;
    out->wall_s = (double)(rt_now_ns() - t0) / 1e9;
    if (errfd >= 0) {
        stderr_tail(errfd, out->stderr_tail, sizeof out->stderr_tail);
        close(errfd);
    }

    bool have_outcome = false;
    if (buf) {
        buf[len] = '\0';
        for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
            parse_line(out, line, &have_outcome);
        free(buf);
    }
    const char *words = out->stderr_tail[0] ? "; last words: " : "";
    /* The reason holds the start of the last words; the record keeps them
     * whole in stderr_tail. */
    if (end == DRAIN_STOPPED) {
        out->interrupted = true;
        out->outcome = REP_SKIPPED;
        snprintf(out->reason, sizeof out->reason, "interrupted");
    } else if (end == DRAIN_TIMEOUT) {
        out->outcome = REP_TIMEOUT;
        snprintf(out->reason, sizeof out->reason,
                 "no result after %.0f s: killed (a hang or a deadlock)"
                 "%s%.200s",
                 spec->timeout_s, words, out->stderr_tail);
    } else if (end == DRAIN_OOM) {
        out->outcome = REP_OOM;
        snprintf(out->reason, sizeof out->reason,
                 "resident memory reached %.1f MiB, over the cap of %.1f "
                 "MiB: killed%s%.200s",
                 (double)rss / 1048576.0,
                 (double)spec->mem_cap_bytes / 1048576.0, words,
                 out->stderr_tail);
    } else if (WIFSIGNALED(status)) {
        out->outcome = REP_CRASHED;
        int sig = WTERMSIG(status);
        snprintf(out->reason, sizeof out->reason,
                 "killed by signal %d (%s)%s%s%.200s", sig, strsignal(sig),
                 sig == SIGKILL ? ", perhaps by the kernel's OOM killer" : "",
                 words, out->stderr_tail);
    } else if (!have_outcome || WEXITSTATUS(status) != 0) {
        /* Dying without a result is a crash whatever the status says: a
         * sanitizer that catches the fault exits with 1 instead of the
         * signal. */
        out->outcome = REP_CRASHED;
        snprintf(out->reason, sizeof out->reason,
                 "exited with status %d before reporting a result%s%.200s",
                 WEXITSTATUS(status), words, out->stderr_tail);
    }
    if (peer)
        peer_after(out, &ru);
}

void rep_result_free(rep_result_t *r)
{
    for (size_t i = 0; i < r->nmetrics; i++) {
        free(r->metrics[i].hist.buckets);
        free(r->metrics[i].points);
    }
    r->nmetrics = 0;
}

/* ---- other programs ---- */

pid_t spawn(char *const argv[], int errfd, bool quiet, bool own_group)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork_child();
    if (pid != 0)
        return pid;
    if (quiet) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0)
            dup2(null, STDOUT_FILENO);
    }
    if (errfd >= 0)
        dup2(errfd, STDERR_FILENO);
    if (own_group)
        setpgid(0, 0);
    execvp(argv[0], argv);
    fprintf(stderr, "concbench: cannot run %s: %s\n", argv[0],
            strerror(errno));
    _exit(127);
}

int spawn_wait(pid_t pid)
{
    int status = 0;
    if (pid < 0)
        return -1;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return status;
}

/* ---- instruction counts under callgrind ---- */

/* Sum of the "summary:" (or "totals:") event counts of every callgrind
 * output file in dir; the files are removed.  -1 when none was found. */
static int64_t callgrind_total(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int64_t total = -1;
    struct dirent *e;
    char path[4400], line[512];
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%.4000s/%s", dir, e->d_name);
        FILE *f = fopen(path, "r");
        int64_t summary = -1, totals = -1;
        while (f && fgets(line, sizeof line, f)) {
            long long v;
            if (sscanf(line, "summary: %lld", &v) == 1)
                summary = v;
            else if (sscanf(line, "totals: %lld", &v) == 1)
                totals = v;
        }
        if (f)
            fclose(f);
        unlink(path);
        int64_t v = summary >= 0 ? summary : totals;
        if (v >= 0)
            total = (total < 0 ? 0 : total) + v;
    }
    closedir(d);
    rmdir(dir);
    return total;
}

static void add_arg(char **argv, int *n, int max, char *s)
{
    if (*n < max - 1)
        argv[(*n)++] = s;
}

void child_run_callgrind(const run_spec_t *spec, int index, bool warmup,
                         rep_result_t *out)
{
    memset(out, 0, sizeof *out);
    out->index = index;
    out->warmup = warmup;
    out->start_cpu = out->end_cpu = -1;
    char exe[4096], dir[] = "/tmp/concbench-callgrind-XXXXXX";
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0 || !mkdtemp(dir)) {
        out->outcome = REP_ERROR;
        snprintf(out->reason, sizeof out->reason,
                 "cannot prepare the callgrind run: %s", strerror(errno));
        return;
    }
    exe[n] = '\0';
    /* The same cell as a `concbench run` of one repetition on one PU:
     * every parameter spelled out, so --quick sizes need no flag. */
    char outfile[128], seed[32], cpu[16], timeout[32];
    char params[2 * CB_PARAMS_MAX][CB_PARAM_STR_MAX + 64];
    char *argv[16 + 4 * CB_PARAMS_MAX];
    int k = 0, np = 0;
    snprintf(outfile, sizeof outfile, "--callgrind-out-file=%s/cg.%%p", dir);
    snprintf(seed, sizeof seed, "%" PRIu64, spec->seed);
    snprintf(cpu, sizeof cpu, "%d", spec->ncpus > 0 ? spec->cpus[0] : 0);
    snprintf(timeout, sizeof timeout, "%.0f", spec->timeout_s);
    int max = (int)(sizeof argv / sizeof argv[0]);
    add_arg(argv, &k, max, "valgrind");
    add_arg(argv, &k, max, "--tool=callgrind");
    add_arg(argv, &k, max, "-q");
    add_arg(argv, &k, max, outfile);
    add_arg(argv, &k, max, exe);
    add_arg(argv, &k, max, "run");
    add_arg(argv, &k, max, "-m");
    add_arg(argv, &k, max, (char *)spec->model->name);
    add_arg(argv, &k, max, "-w");
    add_arg(argv, &k, max, (char *)spec->workload->name);
    const cb_param_set_t *sets[2] = {&spec->workload_params,
                                     &spec->model_params};
    for (int s = 0; s < 2; s++)
        for (size_t i = 0; i < sets[s]->n && np < 2 * CB_PARAMS_MAX; i++) {
            if (sets[s]->defs[i].kind == CB_PARAM_INT)
                snprintf(params[np], sizeof params[np], "%s=%" PRId64,
                         sets[s]->defs[i].name, sets[s]->ival[i]);
            else
                snprintf(params[np], sizeof params[np], "%s=%s",
                         sets[s]->defs[i].name, sets[s]->sval[i]);
            add_arg(argv, &k, max, "-p");
            add_arg(argv, &k, max, params[np++]);
        }
    char *tail[] = {"--seed", seed, "--cpus", cpu, "--reps", "1",
                    "--timeout", timeout, "--format", "csv"};
    for (size_t i = 0; i < sizeof tail / sizeof tail[0]; i++)
        add_arg(argv, &k, max, tail[i]);
    argv[k] = NULL;

    int errfd = memfd_create("concbench-stderr", MFD_CLOEXEC);
    int64_t t0 = rt_now_ns();
    pid_t pid = spawn(argv, errfd, true, true);
    int status = 0;
    bool timed_out = false;
    int64_t deadline = t0 + (int64_t)(spec->timeout_s * 1e9);
    while (pid > 0) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid || (w < 0 && errno != EINTR))
            break;
        if ((spec->stop && *spec->stop) || rt_now_ns() > deadline) {
            timed_out = !(spec->stop && *spec->stop);
            out->interrupted = !timed_out;
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
            break;
        }
        poll(NULL, 0, 10);
    }
    out->wall_s = (double)(rt_now_ns() - t0) / 1e9;
    if (errfd >= 0) {
        stderr_tail(errfd, out->stderr_tail, sizeof out->stderr_tail);
        close(errfd);
    }
    int64_t total = callgrind_total(dir);
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    const char *words = out->stderr_tail[0] ? ": " : "";
    if (pid < 0 || out->interrupted) {
        out->outcome = pid < 0 ? REP_ERROR : REP_SKIPPED;
        snprintf(out->reason, sizeof out->reason, "%s",
                 pid < 0 ? "fork failed" : "interrupted");
    } else if (timed_out) {
        out->outcome = REP_TIMEOUT;
        snprintf(out->reason, sizeof out->reason,
                 "no result under callgrind after %.0f s: killed",
                 spec->timeout_s);
    } else if (code == 127) {
        out->outcome = REP_ERROR;
        snprintf(out->reason, sizeof out->reason,
                 "valgrind is not installed (scripts/deps.sh installs it)");
    } else if (code == EXIT_INVARIANT || code == EXIT_UNSUPPORTED) {
        out->outcome = code == EXIT_INVARIANT ? REP_FAILED : REP_UNSUPPORTED;
        snprintf(out->reason, sizeof out->reason, "%s%s%.300s",
                 code == EXIT_INVARIANT ? "invariant broken"
                                        : "unsupported by the model",
                 words, out->stderr_tail);
    } else if (code != 0 || total < 0) {
        out->outcome = REP_CRASHED;
        snprintf(out->reason, sizeof out->reason,
                 "the run under callgrind %s %d%s%.300s",
                 WIFSIGNALED(status) ? "was killed by signal" : "exited with",
                 WIFSIGNALED(status) ? WTERMSIG(status) : code, words,
                 out->stderr_tail);
    } else {
        rep_metric_t *m = metric_slot(out, "instructions", CB_METRIC_INT);
        if (m)
            m->value = (double)total;
    }
}
