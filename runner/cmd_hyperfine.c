/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * concbench hyperfine -w WORKLOAD [-m LIST] ...: each model's cell timed
 * as a whole process by hyperfine.
 *
 * `concbench run` measures inside the process, over the workload's
 * synchronised window; hyperfine measures from outside, start-up and
 * teardown included, which is what a user of the real system waits for.
 * The two answer different questions and are kept apart: this command
 * runs `hyperfine -N` (no shell in between, so no shell start-up to
 * subtract) with its warm-up and run count, keeps hyperfine's own
 * --export-json file as DIR/hyperfine.json, and converts it into the
 * results layout (one repetition per timed run, metric wall_time_s), so
 * that `compare`, `plot` and `export` read it like any other folder.
 */
#include "runner/args.h"
#include "runner/cli.h"
#include "runner/json.h"
#include "runner/pspec.h"
#include "runner/results.h"

#include "runtime/topo.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char hf_usage[] =
    "usage: concbench hyperfine -w WORKLOAD [-m LIST] [-p key=value]... -o "
    "DIR\n"
    "                           [--runs N] [--warmup N] [--quick] [--cpus "
    "LIST]\n"
    "\n"
    "Times `concbench run -m MODEL -w WORKLOAD ...` as a whole process with\n"
    "`hyperfine -N` for each model of LIST (default: all), start-up and\n"
    "teardown included.  DIR gets hyperfine's export (hyperfine.json) and "
    "the\nsame runs in the results layout (runs.jsonl, summary.csv, ...), "
    "so\n`concbench compare` and `concbench plot` read it.\n"
    "\n"
    "  --runs N     timed runs per model, 2..1000 (default 10)\n"
    "  --warmup N   untimed runs first, 0..100 (default 1)\n"
    "\n"
    "Exit: 0 ok, 1 hyperfine failed or is missing, 2 usage.\n";

typedef struct hf_opts {
    const cb_model_t *models[64];
    int nmodels;
    const cb_workload_t *wl;
    const char *params[64];
    int nparams;
    const char *out, *cpus;
    int runs, warmup;
    bool quick;
} hf_opts_t;

static int parse_args(int argc, char **argv, hf_opts_t *o)
{
    o->runs = 10;
    o->warmup = 1;
    const char *mlist = NULL, *w = NULL;
    static const char *const once[] = {"-m",     "-w",       "-o",     "--cpus",
                                       "--runs", "--warmup", "--quick"};
    arg_seen_t seen = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (is_help(a)) {
            fputs(hf_usage, stdout);
            return -1;
        }
        bool val = strcmp(a, "-m") == 0 || strcmp(a, "-w") == 0 ||
                   strcmp(a, "-p") == 0 || strcmp(a, "-o") == 0 ||
                   strcmp(a, "--runs") == 0 || strcmp(a, "--warmup") == 0 ||
                   strcmp(a, "--cpus") == 0;
        if (val && !v)
            return usage_error("hyperfine: option %s needs a value", a);
        for (int k = 0; k < (int)(sizeof once / sizeof *once); k++)
            if (strcmp(a, once[k]) == 0 &&
                arg_once_named(&seen, "hyperfine", k, a))
                return EXIT_USAGE;
        int64_t n;
        if (strcmp(a, "-m") == 0)
            mlist = v;
        else if (strcmp(a, "-w") == 0)
            w = v;
        else if (strcmp(a, "-o") == 0)
            o->out = v;
        else if (strcmp(a, "--cpus") == 0)
            o->cpus = v;
        else if (strcmp(a, "-p") == 0) {
            pspec_t ps;
            char err[256];
            if (pspec_parse(v, &ps, err, sizeof err) < 0)
                return usage_error("hyperfine: %s", err);
            if (ps.nvalues != 1)
                return usage_error("hyperfine: -p %s: one value only (use "
                                   "matrix to sweep)",
                                   ps.key);
            if (o->nparams == 64)
                return usage_error("hyperfine: too many -p options");
            for (int k = 0; k < o->nparams; k++)
                if (strncmp(o->params[k], v, strlen(ps.key)) == 0 &&
                    o->params[k][strlen(ps.key)] == '=')
                    return usage_error("hyperfine: -p %s given twice; give "
                                       "it once",
                                       ps.key);
            o->params[o->nparams++] = v;
        } else if (strcmp(a, "--runs") == 0) {
            if (cb_parse_int(v, &n) < 0 || n < 2 || n > 1000)
                return usage_error("hyperfine: --runs: '%s' is not an "
                                   "integer in 2..1000",
                                   arg_clip(v));
            o->runs = (int)n;
        } else if (strcmp(a, "--warmup") == 0) {
            if (cb_parse_int(v, &n) < 0 || n < 0 || n > 100)
                return usage_error("hyperfine: --warmup: '%s' is not an "
                                   "integer in 0..100",
                                   arg_clip(v));
            o->warmup = (int)n;
        } else if (strcmp(a, "--quick") == 0) {
            o->quick = true;
            continue;
        } else {
            return usage_error("hyperfine: unknown argument '%s'; see "
                               "--help",
                               arg_clip(a));
        }
        i++;
    }
    if (!w)
        return usage_error("hyperfine: -w WORKLOAD is required");
    if (!(o->wl = cb_workload_find(w)))
        return usage_error("hyperfine: unknown workload '%s' (concbench "
                           "list workloads)",
                           arg_clip(w));
    if (!o->out)
        return usage_error("hyperfine: -o DIR is required");
    if (mlist) {
        char buf[ARG_MAX_LEN + 1];
        size_t len = strlen(mlist);
        if (!len || mlist[0] == ',' || mlist[len - 1] == ',' ||
            strstr(mlist, ",,"))
            return usage_error("hyperfine: model list '%s' has an empty name",
                               arg_clip(mlist));
        snprintf(buf, sizeof buf, "%s", mlist);
        for (char *s = NULL, *t = strtok_r(buf, ",", &s); t;
             t = strtok_r(NULL, ",", &s)) {
            const cb_model_t *m = cb_model_find(t);
            if (!m)
                return usage_error("hyperfine: unknown model '%s' "
                                   "(concbench list models)",
                                   arg_clip(t));
            for (int k = 0; k < o->nmodels; k++)
                if (o->models[k] == m)
                    return usage_error("hyperfine: model '%s' listed twice",
                                       t);
            if (o->nmodels < 64)
                o->models[o->nmodels++] = m;
        }
    } else {
        for (size_t i = 0; i < cb_model_count() && i < 64; i++)
            o->models[o->nmodels++] = cb_model_at(i);
    }
    return 0;
}

/* Check the arguments by asking `run` to explain nothing but errors:
 * parse every -p against the model and workload tables here. */
static int check_params(const hf_opts_t *o, const cb_model_t *m,
                        cb_param_set_t *wp, cb_param_set_t *mp)
{
    cb_params_defaults(wp, o->wl->params, o->quick);
    cb_params_defaults(mp, m->params, o->quick);
    for (int i = 0; i < o->nparams; i++) {
        pspec_t ps;
        char err[256];
        pspec_parse(o->params[i], &ps, err, sizeof err);
        cb_param_set_t *set = cb_params_find(wp, ps.key) >= 0   ? wp
                              : cb_params_find(mp, ps.key) >= 0 ? mp
                                                                : NULL;
        if (!set)
            return usage_error("hyperfine: -p %s: neither %s nor %s has "
                               "this parameter",
                               ps.key, o->wl->name, m->name);
        if (cb_params_set(set, cb_params_find(set, ps.key), ps.values[0], err,
                          sizeof err) < 0)
            return usage_error("hyperfine: %s", err);
    }
    return 0;
}

/* A command line hyperfine -N splits like a shell: quote what needs it. */
static void shell_word(FILE *f, const char *s)
{
    if (s[strcspn(s, " \t'\"\\$`")] == '\0') {
        fputs(s, f);
        return;
    }
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'')
            fputs("'\\''", f);
        else
            fputc(*s, f);
    }
    fputc('\'', f);
}

static int write_runs(const hf_opts_t *o, const char *export_path,
                      cb_param_set_t *wps, cb_param_set_t *mps)
{
    char err[1024];
    res_set_t hs;
    if (results_load(export_path, false, &hs, err, sizeof err) < 0) {
        results_free(&hs);
        return usage_error("hyperfine: %s", err);
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/runs.jsonl", o->out);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) {
        results_free(&hs);
        return usage_error("hyperfine: cannot write %s", path);
    }
    int rc = 0;
    for (size_t i = 0; i < hs.nruns && rc == 0; i++) {
        const res_run_t *r = &hs.runs[i];
        int m = 0;
        while (m < o->nmodels && strcmp(o->models[m]->name, r->model) != 0)
            m++;
        if (m == o->nmodels)
            continue;
        double t = 0;
        jv_num(jv_get(jv_get(r->line, "metrics"), "wall_time_s"), &t);
        res_line_t l;
        json_t *j = res_line_begin(&l, "run");
        if (!j)
            break;
        json_str(j, "model", r->model);
        json_str(j, "workload", o->wl->name);
        rep_write_params(j, "params", &wps[m]);
        rep_write_params(j, "model_params", &mps[m]);
        json_str(j, "label", r->model);
        json_bool(j, "quick", o->quick);
        json_int(j, "rep", r->rep);
        json_bool(j, "warmup", false);
        json_int(j, "order", r->order);
        json_str(j, "outcome", r->outcome);
        json_str(j, "reason",
                 strcmp(r->outcome, "ok") ? "the command failed" : NULL);
        json_str(j, "source", "hyperfine");
        json_obj_begin(j, "metrics");
        json_f64(j, "wall_time_s", t);
        json_obj_end(j);
        rc = res_line_end(&l, fd);
    }
    close(fd);
    results_free(&hs);
    return rc < 0 ? usage_error("hyperfine: cannot write %s", path) : 0;
}

int cmd_hyperfine(int argc, char **argv)
{
    hf_opts_t o = {0};
    int rc = parse_args(argc, argv, &o);
    if (rc != 0)
        return rc < 0 ? EXIT_OK : rc;
    run_spec_t *spec = NULL;
    cb_param_set_t *wps = calloc((size_t)o.nmodels, sizeof *wps);
    cb_param_set_t *mps = calloc((size_t)o.nmodels, sizeof *mps);
    char exe[4096], path[4200];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (!wps || !mps || n <= 0) {
        free(wps);
        free(mps);
        return usage_error("hyperfine: cannot find this concbench binary");
    }
    exe[n] = '\0';
    spec = calloc(1, sizeof *spec);
    char err[1024];
    if (!spec) {
        rc = usage_error("hyperfine: out of memory");
        goto out;
    }
    if (o.cpus) {
        spec->ncpus = rt_topo_parse_cpulist(o.cpus, spec->cpus, RT_TOPO_MAX_PUS,
                                            err, sizeof err);
        if (spec->ncpus < 0) {
            rc = usage_error("hyperfine: --cpus: %s", err);
            goto out;
        }
    } else {
        spec->ncpus = rt_topo_npus();
        for (int i = 0; i < spec->ncpus; i++)
            spec->cpus[i] = rt_topo_pu_os_index(i);
    }
    for (int m = 0; m < o.nmodels; m++)
        if ((rc = check_params(&o, o.models[m], &wps[m], &mps[m])) != 0)
            goto out;
    if (mkdir(o.out, 0777) < 0 && errno != EEXIST) {
        rc = usage_error("hyperfine: cannot create %s: %s", o.out,
                         strerror(errno));
        goto out;
    }
    snprintf(path, sizeof path, "%s/hyperfine.json", o.out);
    char runs[16], warm[16];
    snprintf(runs, sizeof runs, "%d", o.runs);
    snprintf(warm, sizeof warm, "%d", o.warmup);
    char *argvh[16 + 4 * 64];
    char *cmds[64] = {0};
    int k = 0;
    argvh[k++] = "hyperfine";
    argvh[k++] = "-N";
    argvh[k++] = "--ignore-failure"; /* a failing model is a result too */
    argvh[k++] = "--style";
    argvh[k++] = "basic";
    argvh[k++] = "--warmup";
    argvh[k++] = warm;
    argvh[k++] = "--runs";
    argvh[k++] = runs;
    argvh[k++] = "--export-json";
    argvh[k++] = path;
    for (int m = 0; m < o.nmodels; m++) {
        size_t len = 0;
        FILE *f = open_memstream(&cmds[m], &len);
        if (!f)
            break;
        shell_word(f, exe);
        fprintf(f, " run -m %s -w %s --format csv", o.models[m]->name,
                o.wl->name);
        if (o.quick)
            fputs(" --quick", f);
        if (o.cpus) {
            fputs(" --cpus ", f);
            shell_word(f, o.cpus);
        }
        for (int i = 0; i < o.nparams; i++) {
            fputs(" -p ", f);
            shell_word(f, o.params[i]);
        }
        fclose(f);
        argvh[k++] = "-n";
        argvh[k++] = (char *)o.models[m]->name;
        argvh[k++] = cmds[m];
    }
    argvh[k] = NULL;
    int status = spawn_wait(spawn(argvh, -1, false, false));
    for (int m = 0; m < o.nmodels; m++)
        free(cmds[m]);
    if (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "concbench: hyperfine: hyperfine failed%s\n",
                status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 127
                    ? " (not installed? scripts/deps.sh installs it)"
                    : "");
        rc = EXIT_RUN_ERROR;
        goto out;
    }
    if ((rc = write_runs(&o, path, wps, mps)) != 0)
        goto out;
    char mpath[4300], tmp[4400];
    snprintf(mpath, sizeof mpath, "%s/machine.json", o.out);
    FILE *f = outfile_open(mpath, tmp, sizeof tmp);
    if (f) {
        json_t j;
        json_init(&j, f, true);
        machine_write_full(&j, spec, 0, "none (whole process)");
        outfile_commit(f, tmp, mpath);
    }
    if (results_finalize(o.out, NULL, 0, err, sizeof err) < 0) {
        rc = usage_error("hyperfine: %s", err);
        goto out;
    }
    fprintf(stderr, "concbench: hyperfine: results in %s\n", o.out);
    rc = EXIT_OK;
out:
    free(spec);
    free(wps);
    free(mps);
    return rc;
}
