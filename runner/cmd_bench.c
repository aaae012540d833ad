/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * concbench bench [runtime|models] [-m MODEL]: figures, never assertions.
 *
 * `runtime` runs the microbenchmarks built from bench/ (context switch,
 * stack pool, histogram, poller), each a separate executable that prints
 * `name: value unit` lines.  `models` measures, per model, what a task
 * costs to spawn and join and what a message round trip between two tasks
 * costs, through the same model.h calls the workloads make.
 */
#include "runner/args.h"
#include "runner/cli.h"

#include "runtime/clock.h"
#include "runtime/topo.h"

#include <dirent.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int find_bench_dir(char *out, size_t len)
{
    const char *env = getenv("CONCBENCH_BENCH_DIR");
    if (env) {
        snprintf(out, len, "%s", env);
        return 0;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return -1;
    exe[n] = '\0';
    snprintf(out, len, "%s/../bench", dirname(exe));
    return access(out, R_OK) == 0 ? 0 : -1;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int bench_runtime(void)
{
    char dir[PATH_MAX];
    if (find_bench_dir(dir, sizeof dir) < 0) {
        fprintf(stderr, "concbench: bench: no bench/ folder beside the "
                        "binary; set CONCBENCH_BENCH_DIR\n");
        return EXIT_RUN_ERROR;
    }
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "concbench: bench: cannot open %s\n", dir);
        return EXIT_RUN_ERROR;
    }
    char *names[64];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 64)
        if (strncmp(e->d_name, "bench_", 6) == 0 && !strchr(e->d_name, '.'))
            names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, n, sizeof *names, by_name);
    int rc = EXIT_OK;
    for (size_t i = 0; i < n; i++) {
        char path[PATH_MAX + 64];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            execl(path, names[i], (char *)NULL);
            _exit(127);
        }
        int st = 0;
        waitpid(pid, &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "concbench: bench: %s failed\n", names[i]);
            rc = EXIT_RUN_ERROR;
        }
        free(names[i]);
    }
    return rc;
}

/* ---- model task costs ---- */

#define SPAWN_N 2000
#define PINGS 20000

static void noop(void *arg)
{
    (void)arg;
}

typedef struct pong {
    cb_port_t *mine, *peer;
} pong_t;

static void ponger(void *arg)
{
    pong_t *p = arg;
    cb_term_t m;
    while (cb_recv(p->mine, &m, CB_FOREVER) == 0)
        cb_send(p->peer, m);
}

typedef struct figures {
    double spawn_join_ns, round_trip_ns;
    int err;
} figures_t;

static void measure(void *arg)
{
    figures_t *f = arg;
    static cb_task_t *tasks[SPAWN_N];
    int64_t t0 = cb_now_ns();
    for (int i = 0; i < SPAWN_N; i++)
        if ((f->err = cb_spawn(noop, NULL, NULL, &tasks[i])) < 0)
            return;
    for (int i = 0; i < SPAWN_N; i++)
        cb_join(tasks[i]);
    f->spawn_join_ns = (double)(cb_now_ns() - t0) / SPAWN_N;

    pong_t p;
    cb_port_t *back;
    cb_task_t *t;
    if ((f->err = cb_port_open(NULL, &back)) < 0 ||
        (f->err = cb_port_open(NULL, &p.mine)) < 0)
        return;
    p.peer = back;
    if ((f->err = cb_spawn(ponger, &p, NULL, &t)) < 0)
        return;
    cb_term_t m = cb_int(0);
    t0 = cb_now_ns();
    for (int i = 0; i < PINGS; i++) {
        cb_send(p.mine, m);
        cb_recv(back, &m, CB_FOREVER);
    }
    f->round_trip_ns = (double)(cb_now_ns() - t0) / PINGS;
    cb_port_close(p.mine);
    cb_join(t);
    cb_port_free(p.mine);
    cb_port_free(back);
}

static int bench_models(const char *only)
{
    int rc = EXIT_OK;
    for (size_t i = 0; i < cb_model_count(); i++) {
        const cb_model_t *m = cb_model_at(i);
        if (only && strcmp(only, m->name) != 0)
            continue;
        cb_param_set_t ps;
        cb_params_defaults(&ps, m->params, false);
        int cpus[4096], n = rt_topo_npus();
        for (int k = 0; k < n; k++)
            cpus[k] = rt_topo_pu_os_index(k);
        cb_model_env_t env = {.cpus = cpus, .ncpus = n, .seed = 1};
        char err[256] = "";
        figures_t f = {0};
        if (cb_model_start(m, &ps, &env, err, sizeof err) < 0 ||
            cb_model_run(measure, &f) < 0 || cb_model_stop(err, sizeof err) < 0
            || f.err < 0) {
            fprintf(stderr, "concbench: bench: model %s: %s\n", m->name,
                    err[0] ? err : cb_strerror(f.err));
            rc = EXIT_RUN_ERROR;
            continue;
        }
        printf("model_%s_spawn_join_us: %.2f\n", m->name,
               f.spawn_join_ns / 1000);
        printf("model_%s_round_trip_ns: %.0f\n", m->name, f.round_trip_ns);
    }
    return rc;
}

int cmd_bench(int argc, char **argv)
{
    const char *what = NULL, *model = NULL;
    for (int i = 1; i < argc; i++) {
        if (is_help(argv[i])) {
            printf("usage: concbench bench [runtime|models] [-m MODEL]\n\n"
                   "Prints figures (name: value unit), asserts nothing.\n"
                   "  runtime  context switch round trip, stack pool, "
                   "histogram record,\n           poller wake-up and timer "
                   "lateness (the bench/ executables)\n"
                   "  models   per model: spawn+join of a task (us) and a "
                   "message round\n           trip between two tasks "
                   "(ns)\n"
                   "With no kind, both.\n");
            return EXIT_OK;
        }
        if (strcmp(argv[i], "-m") == 0 && i + 1 < argc) {
            if (model)
                return usage_error("bench: -m given twice; give it once");
            model = argv[++i];
            if (!cb_model_find(model))
                return usage_error("bench: unknown model '%s'",
                                   arg_clip(model));
        } else if (!what && (strcmp(argv[i], "runtime") == 0 ||
                             strcmp(argv[i], "models") == 0)) {
            what = argv[i];
        } else {
            return usage_error("bench: unexpected argument '%s' (see "
                               "concbench bench --help)", arg_clip(argv[i]));
        }
    }
    int rc = EXIT_OK;
    if (!what || strcmp(what, "runtime") == 0)
        rc = bench_runtime();
    if (!what || strcmp(what, "models") == 0) {
        int r2 = bench_models(model);
        rc = rc ? rc : r2;
    }
    return rc;
}
