/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * The real systems beside the models.
 *
 * A folder peers/<system>/ with an executable `run` registers a real
 * system, as a folder registers a model; the runner calls only that
 * script, under the contract in peers/README.md (--check, --version,
 * --workloads, --describe, --prepare, then `run WORKLOAD key=value...`
 * for one repetition).  A real system is named with -m like a model, so
 * `run`, `matrix`, `compare` and `plot` need no second path: each one
 * gets a cb_model_t record of its own (name, version, no parameters)
 * whose only use is to be recognised here by its address; no slot of it
 * is ever called, because child_run execs the real system instead of
 * starting a model.
 *
 * Invariants:
 *   - A repetition of a real system is a child of the runner exactly like
 *     a model's: forked by child_run, pinned to --cpus before exec, in the
 *     same process group rules, with stdout as the protocol pipe; the
 *     script execs the runtime, so the pid the runner watches (timeout,
 *     memory cap, /proc/PID/statm) is the runtime's own.
 *   - Its parameters are the C workload's, resolved by the workload's
 *     own table (defaults, --quick, -p) before the child starts; the
 *     real system never chooses a size.
 *   - Peak RSS, CPU time and context switches are read from outside
 *     (wait4's rusage), never reported by the real system itself.
 *   - A missing toolchain, a workload the system has no form for, or a
 *     failed compile is an outcome of the cell (unsupported / error with
 *     the reason), never a crash of the runner.
 *   - A model's name always wins: a peers/ folder named like a model is
 *     ignored with a warning, so -m NAME is never ambiguous.
 *
 * Where: $CONCBENCH_PEERS, else the source tree's peers/ (the build knows
 * it), else <prefix>/share/concbench/peers beside an installed binary (as
 * plots/ is found).  Compiled artefacts go to $CONCBENCH_CACHE/peers/NAME
 * when it is set; else to the build tree's peer-cache/NAME, which the
 * build fills when the toolchain is there (cmake/Peers.cmake: CB_PEERS,
 * CB_PEER_CACHE_DIR), so a first run does not pay for the compile; else
 * (a build with CB_PEERS off, or its tree gone) $XDG_CACHE_HOME/concbench,
 * then ~/.cache/concbench.  Never into the source tree.  Whichever it is,
 * the runner still runs --prepare once per process: it is fast when up
 * to date and recompiles what went stale (sources, a new JDK).
 *
 * Rejected: a C table of real systems (adding a system would edit the
 * runner), and running the system's program through a shell from the
 * child (the pid watched would be the shell's, not the runtime's).
 */
#include "runner/peer.h"

#include "runner/json.h"
#include "runtime/topo.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CB_PEERS_DIR
#define CB_PEERS_DIR "peers"
#endif

#define MAX_PEERS 32

struct peer {
    cb_model_t model; /* the record -m finds; recognised by its address */
    char name[64];
    char dir[4096];
    char summary[128];
    char version[512];  /* the version line, or why not installed */
    char *workloads;    /* --workloads output, read once */
    char prepare_err[512];
    bool probed, installed, prepared, prepare_failed, params_read;
    /* Its own parameters (`run --params`), as a model's table. */
    cb_param_def_t params[CB_PARAMS_MAX + 1];
    char *params_text; /* the strings the table points into */
};

static peer_t peers[MAX_PEERS];
static size_t npeers;
static bool scanned;

/* A real system's task cost, for refusing absurd sizes before a run: the
 * larger of what the real systems cost per blocked task (a BEAM process
 * is 330 words at spawn on OTP 25, the Efficiency Guide's "Processes"; a
 * goroutine a 2 KiB stack plus its g; measured here 2.7-2.8 KB resident
 * for both), rounded up to a page. */
static size_t peer_task_cost(const cb_param_set_t *params)
{
    (void)params;
    return 4096;
}

/* The threads a real system starts for itself: the contract does not
 * ask it, so the runner's check before the run counts what each of these
 * runtimes starts whatever the size (the BEAM's normal and dirty
 * schedulers, Go's Ps and sysmon, the JVM's compiler and GC threads),
 * a couple per CPU.  A platform-thread-per-task program that needs more
 * meets the kernel's limit itself and reports its own error. */
static int64_t peer_threads_for(const cb_param_set_t *params, int ncpus,
                                int64_t tasks, int64_t *most)
{
    (void)params, (void)tasks, (void)most;
    return 2 * (int64_t)(ncpus > 0 ? ncpus : 1) + 16;
}

static bool is_dir_with_file(const char *dir, const char *name)
{
    char path[4200];
    struct stat st;
    snprintf(path, sizeof path, "%.4096s/%.64s", dir, name);
    return stat(path, &st) == 0;
}

static const char *peers_dir(void)
{
    static char buf[4200];
    const char *env = getenv("CONCBENCH_PEERS");
    if (env && *env)
        return env;
    if (is_dir_with_file(CB_PEERS_DIR, "README.md"))
        return CB_PEERS_DIR;
    /* Installed: <prefix>/bin/concbench and <prefix>/share/concbench. */
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash)
            *slash = '\0';
        snprintf(buf, sizeof buf, "%s/../share/concbench/peers", exe);
        if (is_dir_with_file(buf, "README.md"))
            return buf;
    }
    return CB_PEERS_DIR;
}

static int cmp_peer(const void *a, const void *b)
{
    return strcmp(((const peer_t *)a)->name, ((const peer_t *)b)->name);
}

static void scan(void)
{
    if (scanned)
        return;
    scanned = true;
    const char *root = peers_dir();
    DIR *d = opendir(root);
    struct dirent *e;
    while (d && (e = readdir(d)) && npeers < MAX_PEERS) {
        char dir[4200], run[4300];
        if (e->d_name[0] == '.' || strlen(e->d_name) >= sizeof peers[0].name)
            continue;
        snprintf(dir, sizeof dir, "%.4096s/%.63s", root, e->d_name);
        snprintf(run, sizeof run, "%s/run", dir);
        if (access(run, X_OK) != 0 || strlen(dir) >= sizeof peers[0].dir)
            continue;
        if (cb_model_find(e->d_name)) {
            fprintf(stderr,
                    "concbench: %s is named like a model; ignored (rename "
                    "the folder)\n",
                    dir);
            continue;
        }
        peer_t *p = &peers[npeers++];
        snprintf(p->name, sizeof p->name, "%.63s", e->d_name);
        snprintf(p->dir, sizeof p->dir, "%.4095s", dir);
    }
    if (d)
        closedir(d);
    qsort(peers, npeers, sizeof peers[0], cmp_peer);
    for (size_t i = 0; i < npeers; i++) {
        peer_t *p = &peers[i];
        char name[sizeof p->name];
        memcpy(name, p->name, sizeof name);
        snprintf(p->summary, sizeof p->summary,
                 "the real system peers/%.63s/run, not a model", name);
        p->model = (cb_model_t){.name = p->name,
                                .stands_for = p->version,
                                .summary = p->summary,
                                .params = p->params,
                                .task_cost_bytes = peer_task_cost,
                                .threads_for = peer_threads_for};
    }
}

size_t peer_count(void)
{
    scan();
    return npeers;
}

peer_t *peer_at(size_t i)
{
    scan();
    return i < npeers ? &peers[i] : NULL;
}

const char *peer_name(const peer_t *p)
{
    return p->name;
}

static void read_params(peer_t *p);

const cb_model_t *peer_model_find(const char *name)
{
    const cb_model_t *m = cb_model_find(name);
    if (m)
        return m;
    scan();
    for (size_t i = 0; i < npeers; i++)
        if (strcmp(peers[i].name, name) == 0) {
            read_params(&peers[i]);
            return &peers[i].model;
        }
    return NULL;
}

peer_t *peer_of(const cb_model_t *m)
{
    for (size_t i = 0; i < npeers; i++)
        if (m == &peers[i].model)
            return &peers[i];
    return NULL;
}

/* ---- talking to the script ---- */

static void cache_dir(const peer_t *p, char *buf, size_t len)
{
    const char *root = getenv("CONCBENCH_CACHE");
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    struct stat st;
    (void)st;
    if (root && *root)
        snprintf(buf, len, "%s/peers/%s", root, p->name);
#ifdef CB_PEER_CACHE_DIR
    else if (stat(CB_PEER_CACHE_DIR, &st) == 0 && S_ISDIR(st.st_mode))
        snprintf(buf, len, "%s/%s", CB_PEER_CACHE_DIR, p->name);
#endif
    else if (xdg && *xdg)
        snprintf(buf, len, "%s/concbench/peers/%s", xdg, p->name);
    else if (home && *home)
        snprintf(buf, len, "%s/.cache/concbench/peers/%s", home, p->name);
    else
        snprintf(buf, len, "/tmp/concbench-cache-%d/peers/%s", (int)getuid(),
                 p->name);
}

static void set_env(const peer_t *p)
{
    char cache[4200];
    cache_dir(p, cache, sizeof cache);
    mkdir_p(cache);
    setenv("CONCBENCH_PEER_CACHE", cache, 1);
}

/* Run `dir/run ARG`, its stdout (and its stderr too when both) into out;
 * the exit status (127 when it cannot be run, -1 when killed). */
static int ask(const peer_t *p, const char *arg, bool both, char **out)
{
    char run[4200];
    snprintf(run, sizeof run, "%s/run", p->dir);
    int fds[2];
    *out = NULL;
    if (pipe2(fds, O_CLOEXEC) < 0)
        return -1;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, STDIN_FILENO);
        dup2(fds[1], STDOUT_FILENO);
        if (both)
            dup2(fds[1], STDERR_FILENO);
        /* --params is optional: a script without it says so on stderr. */
        if (strcmp(arg, "--params") == 0)
            dup2(null, STDERR_FILENO);
        set_env(p);
        execl(run, run, arg, (char *)NULL);
        fprintf(stderr, "cannot run %s: %s\n", run, strerror(errno));
        _exit(127);
    }
    close(fds[1]);
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (buf && len + 1024 > cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb)
                break;
            buf = nb;
            cap *= 2;
        }
        ssize_t n = buf ? read(fds[0], buf + len, cap - len - 1)
                        : read(fds[0], run, sizeof run);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (buf)
            len += (size_t)n;
    }
    close(fds[0]);
    int status = spawn_wait(pid);
    if (buf)
        buf[len] = '\0';
    *out = buf;
    return status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The first line of s, without its newline, into out. */
static void first_line(const char *s, char *out, size_t len)
{
    size_t n = s ? strcspn(s, "\n") : 0;
    if (n >= len)
        n = len - 1;
    memcpy(out, s ? s : "", n);
    out[n] = '\0';
}

static void probe(peer_t *p)
{
    if (p->probed)
        return;
    p->probed = true;
    char *text;
    int rc = ask(p, "--check", true, &text);
    p->installed = rc == 0;
    if (!p->installed) {
        char why[400];
        first_line(text, why, sizeof why);
        snprintf(p->version, sizeof p->version, "not installed: %s",
                 why[0] ? why : "its check failed");
    }
    free(text);
    if (!p->installed)
        return;
    rc = ask(p, "--version", false, &text);
    first_line(text, p->version, sizeof p->version);
    if (rc != 0 || !p->version[0])
        snprintf(p->version, sizeof p->version, "version unknown");
    free(text);
}

bool peer_installed(peer_t *p, char *why, size_t len)
{
    probe(p);
    if (!p->installed && why && len > 0) {
        size_t n = strnlen(p->version, len - 1);
        memcpy(why, p->version, n);
        why[n] = '\0';
    }
    return p->installed;
}

const char *peer_version(peer_t *p)
{
    probe(p);
    return p->version;
}

static const char *workload_lines(peer_t *p)
{
    if (!p->workloads) {
        char *text;
        if (ask(p, "--workloads", false, &text) != 0) {
            free(text);
            text = NULL;
        }
        p->workloads = text ? text : strdup("");
    }
    return p->workloads ? p->workloads : "";
}

/* 1 when p runs workload wl, 0 with the reason when not. */
static int supports(peer_t *p, const char *wl, char *why, size_t len)
{
    const char *s = workload_lines(p);
    size_t n = strlen(wl);
    while (*s) {
        size_t l = strcspn(s, "\n");
        if (l >= n && strncmp(s, wl, n) == 0 &&
            (l == n || s[n] == ' ')) {
            if (l == n)
                return 1;
            const char *r = s + n;
            while (*r == ' ')
                r++;
            if (strncmp(r, "unsupported:", 12) == 0)
                r += 12;
            while (*r == ' ')
                r++;
            snprintf(why, len, "%.*s", (int)(l - (size_t)(r - s)), r);
            return 0;
        }
        s += l + (s[l] == '\n');
    }
    snprintf(why, len, "%s has no program for %s (peers/%s/run --workloads)",
             p->name, wl, p->name);
    return 0;
}

/*
 * `run --params` (optional: a script without it has no parameters of its
 * own) prints one line per parameter:
 *
 *     NAME int DEFAULT MIN MAX HELP...
 *     NAME enum DEFAULT A|B|C HELP...
 *
 * They become the real system's model parameters: -p NAME=V is checked
 * against them, describe lists them, matrix sweeps them, and each run
 * gets NAME=V after the workload's parameters.  A malformed line is
 * skipped with a warning, never guessed at.
 */
static void read_params(peer_t *p)
{
    if (p->params_read)
        return;
    p->params_read = true;
    char *text;
    if (ask(p, "--params", false, &text) != 0 || !text) {
        free(text);
        return;
    }
    p->params_text = text;
    size_t n = 0;
    for (char *save = NULL, *line = strtok_r(text, "\n", &save);
         line && n < CB_PARAMS_MAX; line = strtok_r(NULL, "\n", &save)) {
        char *f[5], *rest = line;
        int k = 0;
        for (; k < 5; k++) {
            while (*rest == ' ')
                rest++;
            if (!*rest)
                break;
            f[k] = rest;
            rest += strcspn(rest, " ");
            if (*rest)
                *rest++ = '\0';
        }
        while (*rest == ' ')
            rest++;
        cb_param_def_t *d = &p->params[n];
        char *end = NULL;
        bool ok = k >= 4 && !cb_workload_find(f[0]);
        if (ok && strcmp(f[1], "int") == 0 && k == 5) {
            /* f[4] is MAX; the help is what follows. */
            *d = (cb_param_def_t){.name = f[0], .kind = CB_PARAM_INT,
                                  .help = rest};
            d->def = d->quick = strtoll(f[2], &end, 10);
            ok = *end == '\0';
            d->min = strtoll(f[3], &end, 10);
            ok = ok && *end == '\0';
            d->max = strtoll(f[4], &end, 10);
            ok = ok && *end == '\0' && d->min <= d->def && d->def <= d->max;
        } else if (ok && strcmp(f[1], "enum") == 0) {
            /* f[4], when present, is the help's first word. */
            if (k == 5)
                f[4][strlen(f[4])] = rest[0] ? ' ' : '\0';
            *d = (cb_param_def_t){.name = f[0], .kind = CB_PARAM_ENUM,
                                  .help = k == 5 ? f[4] : "",
                                  .choices = f[3], .enum_def = f[2]};
        } else {
            ok = false;
        }
        if (ok)
            n++;
        else
            fprintf(stderr, "concbench: peers/%s/run --params: line "
                    "ignored (NAME int DEF MIN MAX HELP or NAME enum DEF "
                    "A|B HELP)\n", p->name);
    }
    p->params[n] = (cb_param_def_t){0};
}

static bool prepare(peer_t *p)
{
    if (p->prepared || p->prepare_failed)
        return p->prepared;
    char *text;
    int rc = ask(p, "--prepare", true, &text);
    if (rc == 0) {
        p->prepared = true;
    } else {
        p->prepare_failed = true;
        /* The last non-empty line says most (a compiler's error). */
        char *last = text ? text : "";
        size_t len = strlen(last);
        while (len > 0 && (last[len - 1] == '\n' || last[len - 1] == ' '))
            last[--len] = '\0';
        char *nl = strrchr(last, '\n');
        snprintf(p->prepare_err, sizeof p->prepare_err,
                 "peers/%s/run --prepare failed (exit %d): %s", p->name, rc,
                 nl ? nl + 1 : last);
    }
    free(text);
    return p->prepared;
}

bool peer_before(const run_spec_t *spec, peer_t *p, rep_result_t *out)
{
    char why[400];
    if (!peer_installed(p, why, sizeof why)) {
        out->outcome = REP_UNSUPPORTED;
        snprintf(out->reason, sizeof out->reason, "%s %s", p->name, why);
        return false;
    }
    if (!supports(p, spec->workload->name, why, sizeof why)) {
        out->outcome = REP_UNSUPPORTED;
        snprintf(out->reason, sizeof out->reason, "%s: %s", p->name, why);
        return false;
    }
    if (!prepare(p)) {
        out->outcome = REP_ERROR;
        snprintf(out->reason, sizeof out->reason, "%s", p->prepare_err);
        return false;
    }
    return true;
}

void peer_exec(const run_spec_t *spec, const peer_t *p, int fd, int errfd)
{
    if (spec->own_group)
        setpgid(0, 0);
    if (errfd >= 0 && dup2(errfd, STDERR_FILENO) >= 0)
        close(errfd);
    int null = open("/dev/null", O_RDONLY);
    if (null >= 0)
        dup2(null, STDIN_FILENO);
    /* dup2 clears close-on-exec on the copy: the pipe stays open in the
     * runtime as its stdout. */
    if (dup2(fd, STDOUT_FILENO) < 0)
        _exit(EXIT_RUN_ERROR);
    if (spec->ncpus > 0)
        rt_topo_pin_self_set(spec->cpus, spec->ncpus);
    char n[32];
    snprintf(n, sizeof n, "%d", spec->ncpus > 0 ? spec->ncpus : 1);
    setenv("CONCBENCH_CPUS", n, 1);
    set_env(p);

    static char run[4200], args[2 * CB_PARAMS_MAX + 1][CB_PARAM_STR_MAX + 72];
    char *argv[2 * CB_PARAMS_MAX + 4];
    int k = 0;
    size_t i = 0;
    snprintf(run, sizeof run, "%s/run", p->dir);
    argv[k++] = run;
    argv[k++] = (char *)spec->workload->name;
    /* The workload's parameters, then the system's own. */
    const cb_param_set_t *sets[2] = {&spec->workload_params,
                                     &spec->model_params};
    for (int t = 0; t < 2; t++) {
        const cb_param_set_t *s = sets[t];
        for (size_t j = 0; j < s->n && j < CB_PARAMS_MAX; j++, i++) {
            if (s->defs[j].kind == CB_PARAM_INT)
                snprintf(args[i], sizeof args[i], "%s=%" PRId64,
                         s->defs[j].name, s->ival[j]);
            else
                snprintf(args[i], sizeof args[i], "%s=%s", s->defs[j].name,
                         s->sval[j]);
            argv[k++] = args[i];
        }
    }
    snprintf(args[i], sizeof args[i], "seed=%" PRIu64, spec->seed);
    argv[k++] = args[i];
    argv[k] = NULL;
    execv(run, argv);
    printf("outcome error cannot run %s: %s\n", run, strerror(errno));
    fflush(stdout);
    _exit(EXIT_OK);
}

/* Append a metric the real system did not report itself. */
static void add_metric(rep_result_t *out, const char *name,
                       cb_metric_kind_t kind, double v)
{
    if (rep_metric_find(out, name) || out->nmetrics == REP_MAX_METRICS)
        return;
    rep_metric_t *m = &out->metrics[out->nmetrics++];
    memset(m, 0, sizeof *m);
    snprintf(m->name, sizeof m->name, "%s", name);
    m->kind = kind;
    m->value = v;
}

static void add_counter(rep_result_t *out, const char *name, int64_t v)
{
    if (out->ncounters == CB_COUNTERS_MAX)
        return;
    size_t i = out->ncounters++;
    snprintf(out->counter_names[i], sizeof out->counter_names[i], "%s", name);
    out->counters[i] = (cb_counter_t){out->counter_names[i], v};
}

void peer_after(rep_result_t *out, const struct rusage *ru)
{
    /* Measured from outside whatever the outcome: the kernel's account of
     * the child (the runtime; its own helper processes are not waited). */
    out->vcsw = ru->ru_nvcsw;
    out->ivcsw = ru->ru_nivcsw;
    out->have_placement = true;
    out->start_cpu = out->end_cpu = -1;
    if (out->outcome != REP_OK)
        return;
    if (out->window_ns > 0)
        add_metric(out, "elapsed_ns", CB_METRIC_INT, (double)out->window_ns);
    const rep_metric_t *el = rep_metric_find(out, "elapsed_ns");
    const rep_metric_t *ops = rep_metric_find(out, "ops");
    if (el && ops && el->value > 0)
        add_metric(out, "throughput_ops_s", CB_METRIC_F64,
                   ops->value * 1e9 / el->value);
    add_metric(out, "peak_rss_bytes", CB_METRIC_INT,
               (double)ru->ru_maxrss * 1024.0);
    add_counter(out, "cpu_user_ns",
                (int64_t)ru->ru_utime.tv_sec * 1000000000 +
                    (int64_t)ru->ru_utime.tv_usec * 1000);
    add_counter(out, "cpu_sys_ns",
                (int64_t)ru->ru_stime.tv_sec * 1000000000 +
                    (int64_t)ru->ru_stime.tv_usec * 1000);
}

void peer_write_json(json_t *j, const cb_model_t *m)
{
    peer_t *p = peer_of(m);
    json_str(j, "system", p ? "real" : "model");
    if (p)
        json_str(j, "system_version", peer_version(p));
}

/* ---- list and describe ---- */

void peer_list(void)
{
    for (size_t i = 0; i < peer_count(); i++)
        printf("%-10s %s\n", peers[i].name, peer_version(&peers[i]));
}

int peer_describe(peer_t *p)
{
    printf("real system %s\n  %s\n  folder: %s\n", p->name, peer_version(p),
           p->dir);
    if (!p->installed) {
        printf("\n(its toolchain is not installed: scripts/deps.sh "
               "installs it; its cells are unsupported)\n");
        return EXIT_OK;
    }
    read_params(p);
    printf("\nparameters (its own: -p NAME=VALUE, passed after the "
           "workload's):\n");
    if (!p->params[0].name)
        printf("  (none)\n");
    for (const cb_param_def_t *d = p->params; d->name; d++) {
        char range[160];
        cb_param_range(d, range, sizeof range);
        if (d->kind == CB_PARAM_INT)
            printf("  %-12s %s\n  %-12s default %" PRId64 "; range %s\n",
                   d->name, d->help, "", d->def, range);
        else
            printf("  %-12s %s\n  %-12s default %s; range %s\n", d->name,
                   d->help, "", d->enum_def, range);
    }
    char *text;
    int rc = ask(p, "--describe", false, &text);
    printf("\n%s", rc == 0 && text ? text : "(--describe failed)\n");
    free(text);
    printf("\nworkloads (the C workload's parameters are passed as they "
           "are):\n");
    for (size_t i = 0; i < cb_workload_count(); i++) {
        const char *wl = cb_workload_at(i)->name;
        char why[400];
        if (supports(p, wl, why, sizeof why))
            printf("  %-18s runs\n", wl);
        else
            printf("  %-18s unsupported: %s\n", wl, why);
    }
    /* Programs the system has for which no C workload exists yet: runnable
     * by hand only (peers/NAME/run WORKLOAD key=value...). */
    bool header = false;
    for (const char *l = workload_lines(p); *l;) {
        size_t n = strcspn(l, "\n"), w = strcspn(l, " \n");
        char wl[64];
        snprintf(wl, sizeof wl, "%.*s", (int)(w < 63 ? w : 63), l);
        if (w > 0 && !cb_workload_find(wl)) {
            if (!header)
                printf("\nprograms with no C workload (not run by "
                       "concbench):\n");
            header = true;
            printf("  %.*s\n", (int)n, l);
        }
        l += n + (l[n] == '\n');
    }
    return EXIT_OK;
}
