/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * concbench talk / concbench agree: run checks with a verdict
 * (runner/talk.h) and judge them.
 *
 * A check's steps are matrices, run by executing this same binary as
 * `concbench matrix ... -o DIR/ID/STEP`, so a step is exactly what a
 * user gets by typing the command verdicts.json records, with every
 * guarantee of `matrix` (each repetition in its own process, failures
 * recorded with their reason, Ctrl-C keeps what finished).  Then the
 * check's judge reads the steps back (runner/talk.c) and gives its
 * verdict, which is printed and written to DIR/verdicts.json.
 *
 * What it guarantees:
 *   - a rerun resumes: a step whose folder holds a run of the very same
 *     command (DIR/ID/STEP/command, written before the matrix starts) is
 *     run with --resume, which runs only the missing repetitions, none
 *     when the step had finished; a folder holding another command's
 *     results (other sizes, another version of the check) is started
 *     afresh, and says so;
 *   - every check run gets a verdict, also when a step could not run at
 *     all (then "cannot be shown here", naming the step and its exit
 *     status, and the command exits 1);
 *   - verdicts.json is rewritten whole and atomically after each check;
 *     checks of the same set and size judged by an earlier run and not
 *     rerun now are kept, so `talk run 4` then `talk run 2` leaves both
 *     for the report;
 *   - nothing but the verdicts goes to stdout; progress lines go to
 *     stderr, and only when it is a terminal.
 *
 * Exit: 0 every check got a verdict, whatever it is; 1 a step's matrix
 * could not run at all (usage refused by matrix, not startable, killed);
 * 2 usage (unknown id: the ids are listed); 130 interrupted (rerunning
 * the same command resumes).
 *
 * Rejected: running the matrices in this process (cmd_matrix) — a step's
 * signal handling, its option parsing and its exit status would all have
 * to be re-entered, and the rerun command would no longer be the one that
 * ran.
 */
#include "runner/args.h"
#include "runner/cli.h"
#include "runner/json.h"
#include "runner/peer.h"
#include "runner/results.h"
#include "runner/talk.h"
#include "runner/talk_engine.h"

#include "runtime/clock.h"
#include "runtime/topo.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef CB_VERSION
#define CB_VERSION "0.0.0"
#endif
#ifndef CB_GIT_REV
#define CB_GIT_REV "unknown"
#endif

/* What differs between the two sets. */
typedef struct set {
    const char *cmd;   /* "talk run" or "agree" */
    const char *name;  /* "talk" or "agree" (verdicts.json "set") */
    const char *noun;  /* "claim" or "check" */
    const char *dir;   /* default output folder, "-quick" appended */
    bool agree;
    size_t (*count)(void);
    const talk_check_t *(*at)(size_t);
} set_t;

static const set_t talk_set = {"talk run", "talk", "claim", "results/talk",
                               false, talk_claim_count, talk_claim_at};
static const set_t agree_set = {"agree", "agree", "check", "results/agree",
                                true, talk_agree_count, talk_agree_at};

static const char talk_usage[] =
    "usage: concbench talk [list]\n"
    "       concbench talk run [ID...] [--quick] [-o DIR]\n"
    "       concbench talk report [ID...] [-o DIR] [--quick]\n"
    "\n"
    "The talk \"Comparing the Actor Model and CSP Concurrency with Elixir "
    "and\nClojure\", reproduced: each of its claims is a small experiment "
    "(one or more\nmatrices) and a shape rule with a stated tolerance that "
    "turns the results\ninto a verdict: holds, does not hold here, "
    "inconclusive (the noise is larger\nthan the effect) or cannot be "
    "shown here (a system or capability this\nmachine lacks).  A rule "
    "compares medians measured side by side, as ratios,\non their bootstrap "
    "95% intervals; never an absolute time.\n"
    "\n"
    "  list               the claims: id, the talk's point, the rule and "
    "what runs\n"
    "                     (the default)\n"
    "  run [ID...]        run and judge the claims named (default: all)\n"
    "  report             write report.html and report.md from a run's "
    "folder\n"
    "\n"
    "  --quick            small sizes (a few minutes for all claims on two "
    "cores)\n"
    "  -o, --output DIR   results folder (default results/talk, or\n"
    "                     results/talk-quick with --quick): DIR/ID/STEP "
    "holds each\n"
    "                     step's matrix results, DIR/verdicts.json the "
    "verdicts\n"
    "\n"
    "A rerun resumes: finished steps are not run again.  Set "
    "CONCBENCH_TIMEOUT_SCALE\nto stretch every step's per-repetition "
    "timeout (sanitizer builds).\n"
    "\n"
    "Exit: 0 every claim got a verdict (whatever it is), 1 a step's matrix "
    "could\nnot run at all, 2 usage (an unknown id lists the ids), 130 "
    "interrupted\n(rerunning the same command resumes).\n";

static const char agree_usage[] =
    "usage: concbench agree [ID...] [--quick] [-o DIR]\n"
    "       concbench agree --list\n"
    "\n"
    "Whether each model agrees with the real system it stands for "
    "(actor and\nbeam, csp and core.async or go, locks and threads and the "
    "jvm) on the\nshapes that should agree: each check runs both side by "
    "side and says\nagree, differ, inconclusive (the noise is larger than "
    "the effect) or\ncannot be shown here (the real system is not "
    "installed: scripts/deps.sh).\n"
    "\n"
    "  --list             the checks, their rules and what runs\n"
    "  --quick            small sizes\n"
    "  -o, --output DIR   results folder (default results/agree, or\n"
    "                     results/agree-quick with --quick); "
    "DIR/verdicts.json\n"
    "\n"
    "Exit: 0 every check got a verdict, 1 a step's matrix could not run at "
    "all,\n2 usage, 130 interrupted (rerunning resumes).\n";

static int bad(const set_t *s, const char *fmt, const char *a)
{
    return usage_error(fmt, s->cmd, a);
}

/* ---- listing ---- */

static const char *step_params(const talk_step_t *st, bool quick, size_t k)
{
    const char *const *p =
        quick && st->quick_params[0] ? st->quick_params : st->params;
    return k < TALK_MAX_PARAMS ? p[k] : NULL;
}

static int step_reps(const talk_step_t *st, bool quick)
{
    if (quick)
        return st->quick_reps > 0 ? st->quick_reps : 3;
    return st->reps > 0 ? st->reps : 5;
}

/* The per-repetition timeout, stretched by CONCBENCH_TIMEOUT_SCALE. */
static int step_timeout(const talk_step_t *st)
{
    double t = st->timeout_s > 0 ? st->timeout_s : 120;
    const char *env = getenv("CONCBENCH_TIMEOUT_SCALE");
    char *end;
    double k = env && *env ? strtod(env, &end) : 1;
    if (env && *env && (*end || !(k >= 1 && k <= 100)))
        k = 1;
    t = ceil(t * k);
    return t < 1 ? 1 : t > 86400 ? 86400 : (int)t;
}

/* Append s to the command line, quoted for a POSIX shell when needed. */
static void cmd_append(char *buf, size_t len, const char *s)
{
    size_t used = strlen(buf);
    if (used && used < len - 1)
        buf[used++] = ' ', buf[used] = '\0';
    bool plain = *s != '\0';
    for (const char *p = s; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                    "0123456789-_.,/=:+@%",
                    *p))
            plain = false;
    if (plain) {
        snprintf(buf + used, len - used, "%s", s);
        return;
    }
    size_t o = used;
    if (o < len - 1)
        buf[o++] = '\'';
    for (const char *p = s; *p && o < len - 5; p++) {
        if (*p == '\'') {
            memcpy(buf + o, "'\\''", 4);
            o += 4;
        } else {
            buf[o++] = *p;
        }
    }
    if (o < len - 1)
        buf[o++] = '\'';
    buf[o < len ? o : len - 1] = '\0';
}

#define MAX_ARGV (16 + 2 * TALK_MAX_PARAMS)

/* The matrix command of a step: argv (pointing into store and the check)
 * and its shell form without the engine's own --resume and --quiet. */
typedef struct step_cmd {
    char *argv[MAX_ARGV];
    int argc;
    char reps[16], timeout[16], out[4200];
    char line[8192];
} step_cmd_t;

static void step_command(step_cmd_t *c, const talk_step_t *st, bool quick,
                         const char *exe, const char *stepdir)
{
    memset(c, 0, sizeof *c);
    snprintf(c->reps, sizeof c->reps, "%d", step_reps(st, quick));
    snprintf(c->timeout, sizeof c->timeout, "%d", step_timeout(st));
    snprintf(c->out, sizeof c->out, "%s", stepdir);
    int n = 0;
    c->argv[n++] = (char *)exe;
    c->argv[n++] = "matrix";
    c->argv[n++] = "-m";
    c->argv[n++] = (char *)st->systems;
    c->argv[n++] = "-w";
    c->argv[n++] = (char *)st->workload;
    for (size_t k = 0; step_params(st, quick, k); k++) {
        c->argv[n++] = "-p";
        c->argv[n++] = (char *)step_params(st, quick, k);
    }
    c->argv[n++] = "--reps";
    c->argv[n++] = c->reps;
    c->argv[n++] = "--timeout";
    c->argv[n++] = c->timeout;
    if (quick)
        c->argv[n++] = "--quick";
    c->argv[n++] = "-o";
    c->argv[n++] = c->out;
    c->argc = n;
    c->line[0] = '\0';
    cmd_append(c->line, sizeof c->line, "concbench");
    for (int i = 1; i < n; i++)
        cmd_append(c->line, sizeof c->line, c->argv[i]);
}

/* Words of s wrapped at width, each line indented by indent. */
static void wrap(FILE *f, const char *s, int indent, int width)
{
    int col = 0;
    while (*s) {
        while (*s == ' ')
            s++;
        size_t wl = strcspn(s, " \n");
        if (!wl) {
            if (*s == '\n')
                s++, col = 0, fputc('\n', f);
            continue;
        }
        if (col == 0) {
            fprintf(f, "%*s", indent, "");
            col = indent;
        } else if (col + 1 + (int)wl > width) {
            fprintf(f, "\n%*s", indent, "");
            col = indent;
        } else {
            fputc(' ', f);
            col++;
        }
        fwrite(s, 1, wl, f);
        col += (int)wl;
        s += wl;
    }
    if (col)
        fputc('\n', f);
}

static int list_set(const set_t *s, bool quick)
{
    size_t n = s->count();
    if (n == 0) {
        printf("no checks (%s/*.c registers them)\n", s->name);
        return EXIT_OK;
    }
    char dir[4200];
    snprintf(dir, sizeof dir, "%s%s", s->dir, quick ? "-quick" : "");
    for (size_t i = 0; i < n; i++) {
        const talk_check_t *c = s->at(i);
        if (c->addition)
            printf("%s  (addition)  %s\n", c->id, c->title);
        else if (!s->agree)
            printf("%2d  %s  %s\n", c->order, c->id, c->title);
        else
            printf("%s  %s\n", c->id, c->title);
        wrap(stdout, c->claim, 4, 78);
        printf("    rule:\n");
        wrap(stdout, c->rule, 6, 78);
        printf("    runs:\n");
        for (size_t k = 0; k < c->nsteps; k++) {
            char stepdir[4400];
            snprintf(stepdir, sizeof stepdir, "%s/%s/%s", dir, c->id,
                     c->steps[k].name);
            step_cmd_t cmd;
            step_command(&cmd, &c->steps[k], quick, "concbench", stepdir);
            wrap(stdout, cmd.line, 6, 78);
        }
        if (i + 1 < n)
            putchar('\n');
    }
    return EXIT_OK;
}

/* ---- running a step ---- */

static volatile sig_atomic_t interrupted;
static volatile pid_t step_pid; /* the matrix running now, or 0 */

/* Ctrl-C at a terminal reaches the matrix too (our process group); a
 * signal sent to this process alone is passed on, so that the matrix
 * keeps what finished either way (a second one changes nothing). */
static void on_signal(int sig)
{
    interrupted = 1;
    pid_t p = step_pid;
    if (p > 0)
        kill(p, sig);
}

/* The whole of a small file, NUL-terminated; NULL when unreadable. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (cap - n - 1 == 0) {
            char *p = realloc(buf, cap * 2);
            if (!p) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = p;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        if (len)
            *len = n;
    }
    return buf;
}

static int write_text(const char *path, const char *text)
{
    char tmp[4500];
    FILE *f = outfile_open(path, tmp, sizeof tmp);
    if (!f)
        return -1;
    fputs(text, f);
    return outfile_commit(f, tmp, path);
}

typedef struct step_status {
    int exit;     /* the matrix's exit status; -1 killed or not started */
    char why[300];
} step_status_t;

/* Run one step's matrix; 0, or -1 when it could not run at all (why
 * says how), or 130 when interrupted. */
static int run_step(const talk_step_t *st, bool quick, const char *exe,
                    const char *stepdir, bool tty, step_cmd_t *cmd,
                    step_status_t *ss)
{
    step_command(cmd, st, quick, exe, stepdir);
    memset(ss, 0, sizeof *ss);
    int rc = mkdir_p(stepdir);
    if (rc < 0) {
        ss->exit = -1;
        snprintf(ss->why, sizeof ss->why, "cannot create %.200s: %s", stepdir,
                 strerror(-rc));
        return -1;
    }
    char runs[4500], cmdfile[4500], want[8300];
    snprintf(runs, sizeof runs, "%s/runs.jsonl", stepdir);
    snprintf(cmdfile, sizeof cmdfile, "%s/command", stepdir);
    snprintf(want, sizeof want, "%s\n", cmd->line);
    bool resume = false;
    if (access(runs, F_OK) == 0) {
        char *had = slurp(cmdfile, NULL);
        resume = had && strcmp(had, want) == 0;
        free(had);
        if (!resume) {
            if (unlink(runs) < 0) {
                ss->exit = -1;
                snprintf(ss->why, sizeof ss->why, "cannot replace %.200s: %s",
                         runs, strerror(errno));
                return -1;
            }
            fprintf(stderr,
                    "concbench: %s holds the results of another command; "
                    "running it afresh\n",
                    stepdir);
        }
    }
    if (!resume && write_text(cmdfile, want) < 0) {
        ss->exit = -1;
        snprintf(ss->why, sizeof ss->why, "cannot write %.200s: %s", cmdfile,
                 strerror(errno));
        return -1;
    }
    char *argv[MAX_ARGV + 2];
    int n = 0;
    for (int i = 0; i < cmd->argc; i++)
        argv[n++] = cmd->argv[i];
    if (resume)
        argv[n++] = "--resume";
    if (!tty)
        argv[n++] = "--quiet";
    argv[n] = NULL;
    /* The matrix is in our process group, so Ctrl-C reaches it: it keeps
     * what finished and exits 130.  We only note the signal and wait. */
    pid_t pid = spawn(argv, -1, true, false);
    step_pid = pid;
    if (pid > 0 && interrupted) /* the signal came before step_pid was set */
        kill(pid, SIGINT);
    int status = spawn_wait(pid);
    step_pid = 0;
    if (pid < 0 || status < 0) {
        ss->exit = -1;
        snprintf(ss->why, sizeof ss->why, "the matrix could not be started");
        return -1;
    }
    if (WIFSIGNALED(status)) {
        ss->exit = -1;
        snprintf(ss->why, sizeof ss->why, "the matrix was killed by signal %d",
                 WTERMSIG(status));
        return interrupted ? 130 : -1;
    }
    ss->exit = WEXITSTATUS(status);
    if (ss->exit == 130 || interrupted)
        return 130;
    /* 0, 1, 3, 4, 5: the matrix ran and recorded every cell's outcome;
     * the judge reads them.  2: it refused the command; 127: not run. */
    if (ss->exit == EXIT_USAGE || ss->exit == 127 || ss->exit > 5) {
        snprintf(ss->why, sizeof ss->why,
                 "the matrix could not run (exit %d; its message is above)",
                 ss->exit);
        return -1;
    }
    return 0;
}

/* ---- one check ---- */

typedef struct outcome {
    const talk_check_t *check;
    talk_judgement_t j;
    char notes[2000];
    char commands[TALK_MAX_STEPS][8192];
    step_status_t steps[TALK_MAX_STEPS];
    double elapsed_s;
} outcome_t;

static double now_s(void)
{
    return (double)rt_now_ns() / 1e9;
}

/* Run the steps of c and judge it; 0, 1 (a step could not run), 130. */
static int run_check(const set_t *s, const talk_check_t *c, size_t idx,
                     size_t total, bool quick, const char *dir,
                     const char *exe, bool tty, outcome_t *out)
{
    memset(out, 0, sizeof *out);
    out->check = c;
    double t0 = now_s();
    char checkdir[4300];
    snprintf(checkdir, sizeof checkdir, "%s/%s", dir, c->id);
    int rc = 0;
    const char *failed = NULL;
    for (size_t k = 0; k < c->nsteps; k++) {
        const talk_step_t *st = &c->steps[k];
        char stepdir[4400];
        snprintf(stepdir, sizeof stepdir, "%s/%s", checkdir, st->name);
        if (tty)
            fprintf(stderr, "%s %zu/%zu %s: step %s\n", s->noun, idx + 1,
                    total, c->id, st->name);
        step_cmd_t *cmd = malloc(sizeof *cmd);
        if (!cmd) {
            fprintf(stderr, "concbench: out of memory\n");
            return EXIT_RUN_ERROR;
        }
        int src = run_step(st, quick, exe, stepdir, tty, cmd, &out->steps[k]);
        snprintf(out->commands[k], sizeof out->commands[k], "%s", cmd->line);
        free(cmd);
        if (src == 130)
            return 130;
        if (src < 0) {
            fprintf(stderr, "concbench: %s %s: step %s: %s\n", s->cmd, c->id,
                    st->name, out->steps[k].why);
            if (!failed)
                failed = st->name;
            rc = EXIT_RUN_ERROR;
        }
    }
    if (failed) {
        for (size_t k = 0; k < c->nsteps; k++)
            if (strcmp(c->steps[k].name, failed) == 0)
                talk_judge(&out->j, TALK_CANNOT_SHOW, "step %s: %s", failed,
                           out->steps[k].why);
        out->elapsed_s = now_s() - t0;
        return rc;
    }
    char err[1024];
    talk_results_t *r = talk_results_load(c, checkdir, quick, err, sizeof err);
    if (!r) {
        talk_judge(&out->j, TALK_CANNOT_SHOW, "the results cannot be read: %s",
                   err);
        out->elapsed_s = now_s() - t0;
        return EXIT_RUN_ERROR;
    }
    out->j.verdict = TALK_INCONCLUSIVE;
    c->judge(r, &out->j);
    if ((unsigned)out->j.verdict >= TALK_VERDICT_COUNT) {
        talk_judge(&out->j, TALK_INCONCLUSIVE,
                   "the judge gave no valid verdict (a bug in the check)");
    }
    if (!out->j.why[0])
        snprintf(out->j.why, sizeof out->j.why, "(the judge gave no reason)");
    snprintf(out->notes, sizeof out->notes, "%s", talk_results_notes(r));
    talk_results_free(r);
    out->elapsed_s = now_s() - t0;
    return rc;
}

static void fmt_elapsed(char *buf, size_t len, double s)
{
    if (s < 60)
        snprintf(buf, len, "%.1f s", s);
    else
        snprintf(buf, len, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60));
}

static void print_outcome(const set_t *s, const outcome_t *o)
{
    const talk_check_t *c = o->check;
    char head[64] = "";
    if (!s->agree && !c->addition)
        snprintf(head, sizeof head, "%2d  ", c->order);
    else if (!s->agree)
        snprintf(head, sizeof head, " +  ");
    char took[32];
    fmt_elapsed(took, sizeof took, o->elapsed_s);
    printf("%s%-24s %-22s (%s)\n", head, c->id,
           talk_verdict_label(o->j.verdict, s->agree), took);
    for (size_t f = 0; f < o->j.nfigures; f++)
        wrap(stdout, o->j.figures[f], 8, 78);
    char why[700];
    snprintf(why, sizeof why, "why: %s", o->j.why);
    wrap(stdout, why, 4, 78);
    /* What the judge could not see is part of an inconclusive or
     * cannot-be-shown verdict's reason. */
    if (o->notes[0] && o->j.verdict != TALK_HOLDS &&
        o->j.verdict != TALK_NOT_HERE) {
        char buf[sizeof o->notes];
        snprintf(buf, sizeof buf, "%s", o->notes);
        for (char *l = strtok(buf, "\n"); l; l = strtok(NULL, "\n")) {
            char line[2100];
            snprintf(line, sizeof line, "note: %s", l);
            wrap(stdout, line, 4, 78);
        }
    }
    fflush(stdout);
}

/* ---- verdicts.json ---- */

static const char *plot_kind(talk_plot_kind_t k)
{
    switch (k) {
    case TALK_PLOT_BARS:
        return "bars";
    case TALK_PLOT_XY:
        return "xy";
    case TALK_PLOT_CDF:
        return "cdf";
    case TALK_PLOT_SERIES:
        return "series";
    }
    return "bars";
}

static void write_check(json_t *j, const set_t *s, const outcome_t *o,
                        const char *dir)
{
    const talk_check_t *c = o->check;
    json_obj_begin(j, NULL);
    json_str(j, "id", c->id);
    json_int(j, "order", c->order);
    json_bool(j, "addition", c->addition);
    json_str(j, "title", c->title);
    json_str(j, "claim", c->claim);
    json_str(j, "rule", c->rule);
    json_str(j, "verdict", talk_verdict_name(o->j.verdict));
    json_str(j, "label", talk_verdict_label(o->j.verdict, s->agree));
    json_str(j, "why", o->j.why);
    json_arr_begin(j, "figures");
    for (size_t f = 0; f < o->j.nfigures; f++)
        json_str(j, NULL, o->j.figures[f]);
    json_arr_end(j);
    json_arr_begin(j, "notes");
    char buf[sizeof o->notes];
    snprintf(buf, sizeof buf, "%s", o->notes);
    for (char *l = strtok(buf, "\n"); l; l = strtok(NULL, "\n"))
        json_str(j, NULL, l);
    json_arr_end(j);
    json_arr_begin(j, "commands");
    for (size_t k = 0; k < c->nsteps; k++)
        json_str(j, NULL, o->commands[k]);
    json_arr_end(j);
    json_arr_begin(j, "steps");
    for (size_t k = 0; k < c->nsteps; k++) {
        char sd[4400];
        snprintf(sd, sizeof sd, "%s/%s/%s", dir, c->id, c->steps[k].name);
        json_obj_begin(j, NULL);
        json_str(j, "name", c->steps[k].name);
        json_str(j, "dir", sd);
        json_str(j, "systems", c->steps[k].systems);
        json_str(j, "workload", c->steps[k].workload);
        json_int(j, "exit", o->steps[k].exit);
        json_obj_end(j);
    }
    json_arr_end(j);
    json_arr_begin(j, "plots");
    for (size_t k = 0; k < c->nplots; k++) {
        const talk_plot_t *p = &c->plots[k];
        json_obj_begin(j, NULL);
        json_str(j, "kind", plot_kind(p->kind));
        json_str(j, "step", p->step);
        json_str(j, "metric", p->metric);
        if (p->x)
            json_str(j, "x", p->x);
        else
            json_null(j, "x");
        json_str(j, "title", p->title ? p->title : "");
        json_str(j, "unit", p->unit ? p->unit : "");
        json_bool(j, "log_y", p->log_y);
        json_obj_end(j);
    }
    json_arr_end(j);
    json_f64(j, "elapsed_s", o->elapsed_s);
    json_obj_end(j);
}

/* What the whole run shares in verdicts.json: when it started, the noise
 * warnings of this host at the start, the versions of the real systems
 * its steps ran. */
typedef struct run_info {
    char started[32];
    char warnings[4096];
    char versions[8][256];
    char names[8][64];
    size_t nversions;
} run_info_t;

static void utc_now(char *buf, size_t len)
{
    time_t t = time(NULL);
    struct tm tm;
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
}

static void run_info_init(run_info_t *ri)
{
    memset(ri, 0, sizeof *ri);
    utc_now(ri->started, sizeof ri->started);
    run_spec_t *spec = calloc(1, sizeof *spec);
    if (spec && rt_topo_init() == 0) {
        spec->ncpus = rt_topo_npus();
        for (int i = 0; i < spec->ncpus && i < 4096; i++)
            spec->cpus[i] = rt_topo_pu_os_index(i);
        machine_noise_warnings(spec, ri->warnings, sizeof ri->warnings);
    }
    free(spec);
}

/* Whether the comma-separated list names name. */
static bool names_system(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; p && *p;) {
        size_t l = strcspn(p, ",");
        if (l == n && strncmp(p, name, n) == 0)
            return true;
        p += l + (p[l] == ',');
    }
    return false;
}

/* The versions of the real systems the run's steps named: asking a
 * toolchain starts it (a JVM takes seconds), so the others are left to
 * the reader (`concbench list systems`). */
static void run_info_versions(run_info_t *ri, const outcome_t *outs,
                              size_t nouts)
{
    ri->nversions = 0;
    for (size_t i = 0; i < peer_count() && ri->nversions < 8; i++) {
        peer_t *p = peer_at(i);
        bool used = false;
        for (size_t o = 0; !used && o < nouts; o++)
            for (size_t k = 0; !used && k < outs[o].check->nsteps; k++)
                used = names_system(outs[o].check->steps[k].systems,
                                    peer_name(p));
        if (!used)
            continue;
        snprintf(ri->names[ri->nversions], sizeof ri->names[0], "%s",
                 peer_name(p));
        const char *v = peer_version(p);
        snprintf(ri->versions[ri->nversions], sizeof ri->versions[0], "%s",
                 v ? v : "unknown");
        ri->nversions++;
    }
}

/* The machine the steps ran on: the first step's machine.json, with the
 * real systems' versions and this run's noise warnings added. */
static void write_machine(json_t *j, const char *dir, const outcome_t *outs,
                          size_t nouts, run_info_t *ri)
{
    jv_t *m = NULL;
    for (size_t i = 0; !m && i < nouts; i++)
        for (size_t k = 0; !m && k < outs[i].check->nsteps; k++) {
            char path[4500];
            snprintf(path, sizeof path, "%s/%s/%s/machine.json", dir,
                     outs[i].check->id, outs[i].check->steps[k].name);
            size_t len;
            char *buf = slurp(path, &len);
            if (!buf)
                continue;
            char err[256];
            m = jv_parse(buf, len, err, sizeof err);
            free(buf);
            if (m && m->kind != JV_OBJ) {
                jv_free(m);
                m = NULL;
            }
        }
    json_obj_begin(j, "machine");
    if (m) {
        for (size_t i = 0; i < m->n; i++)
            if (strcmp(m->keys[i], "systems") != 0 &&
                strcmp(m->keys[i], "noise_warnings") != 0)
                json_value(j, m->keys[i], &m->items[i]);
        jv_free(m);
    } else {
        json_str(j, "cpu_model", machine_cpu_model());
        json_int(j, "online_cpus", sysconf(_SC_NPROCESSORS_ONLN));
    }
    run_info_versions(ri, outs, nouts);
    json_obj_begin(j, "systems");
    for (size_t i = 0; i < ri->nversions; i++)
        json_str(j, ri->names[i], ri->versions[i]);
    json_obj_end(j);
    json_arr_begin(j, "noise_warnings");
    char buf[sizeof ri->warnings];
    snprintf(buf, sizeof buf, "%s", ri->warnings);
    for (char *l = strtok(buf, "\n"); l; l = strtok(NULL, "\n"))
        json_str(j, NULL, l);
    json_arr_end(j);
    json_obj_end(j);
}

static int write_verdicts(const set_t *s, bool quick, const char *dir,
                          const outcome_t *outs, size_t nouts, double elapsed,
                          run_info_t *ri)
{
    char path[4300], tmp[4400];
    snprintf(path, sizeof path, "%s/verdicts.json", dir);
    /* An earlier run's verdicts of the same set and size stay, for the
     * checks not rerun now. */
    jv_t *old = NULL;
    size_t len;
    char *buf = slurp(path, &len);
    if (buf) {
        char err[256];
        old = jv_parse(buf, len, err, sizeof err);
        free(buf);
        const jv_t *q = jv_get(old, "quick");
        const char *set = jv_str(jv_get(old, "set"));
        if (!set || strcmp(set, s->name) != 0 || !q || q->kind != JV_BOOL ||
            q->b != quick) {
            jv_free(old);
            old = NULL;
        }
    }
    const jv_t *old_checks = jv_get(old, "checks");
    FILE *f = outfile_open(path, tmp, sizeof tmp);
    if (!f) {
        jv_free(old);
        return -1;
    }
    json_t j;
    json_init(&j, f, true);
    json_obj_begin(&j, NULL);
    json_str(&j, "type", "verdicts");
    json_str(&j, "set", s->name);
    json_bool(&j, "quick", quick);
    json_str(&j, "concbench", CB_VERSION " (" CB_GIT_REV ")");
    char when[32];
    utc_now(when, sizeof when);
    json_str(&j, "started", ri->started);
    json_str(&j, "finished", when);
    json_f64(&j, "elapsed_s", elapsed);
    write_machine(&j, dir, outs, nouts, ri);
    json_arr_begin(&j, "checks");
    for (size_t i = 0; i < s->count(); i++) {
        const talk_check_t *c = s->at(i);
        const outcome_t *o = NULL;
        for (size_t k = 0; k < nouts; k++)
            if (outs[k].check == c)
                o = &outs[k];
        if (o) {
            write_check(&j, s, o, dir);
            continue;
        }
        for (size_t k = 0; old_checks && old_checks->kind == JV_ARR &&
                           k < old_checks->n;
             k++) {
            const char *id = jv_str(jv_get(&old_checks->items[k], "id"));
            if (id && strcmp(id, c->id) == 0) {
                json_value(&j, NULL, &old_checks->items[k]);
                break;
            }
        }
    }
    json_arr_end(&j);
    json_obj_end(&j);
    fputc('\n', f);
    jv_free(old);
    return outfile_commit(f, tmp, path);
}

/* ---- the command ---- */

static int run_set(const set_t *s, char **ids, int nids, bool quick,
                   const char *outdir)
{
    size_t n = s->count();
    /* Every check must be well formed before anything runs. */
    for (size_t i = 0; i < n; i++) {
        char err[300];
        if (talk_check_validate(s->at(i), err, sizeof err) < 0) {
            fprintf(stderr, "concbench: %s: %s\n", s->cmd, err);
            return EXIT_RUN_ERROR;
        }
    }
    const talk_check_t **todo = calloc(n + 1, sizeof *todo);
    if (!todo)
        return EXIT_RUN_ERROR;
    size_t ntodo = 0;
    for (int a = 0; a < nids; a++) {
        bool found = false;
        for (size_t i = 0; i < n; i++)
            found |= strcmp(s->at(i)->id, ids[a]) == 0;
        if (!found) {
            fprintf(stderr, "concbench: %s: unknown %s '%s'; %ss:", s->cmd,
                    s->noun, arg_clip(ids[a]), s->noun);
            for (size_t i = 0; i < n; i++)
                fprintf(stderr, " %s", s->at(i)->id);
            if (n == 0)
                fprintf(stderr, " (none)");
            fputc('\n', stderr);
            free(todo);
            return EXIT_USAGE;
        }
    }
    for (size_t i = 0; i < n; i++) {
        bool want = nids == 0;
        for (int a = 0; a < nids; a++)
            want |= strcmp(s->at(i)->id, ids[a]) == 0;
        if (want)
            todo[ntodo++] = s->at(i);
    }
    if (n == 0) {
        printf("no checks (%s/*.c registers them)\n", s->name);
        free(todo);
        return EXIT_OK;
    }
    char dir[4096];
    if (outdir)
        snprintf(dir, sizeof dir, "%s", outdir);
    else
        snprintf(dir, sizeof dir, "%s%s", s->dir, quick ? "-quick" : "");
    int mrc = mkdir_p(dir);
    if (mrc < 0) {
        free(todo);
        return usage_error("%s: cannot create %s: %s", s->cmd, dir,
                           strerror(-mrc));
    }
    char exe[PATH_MAX];
    ssize_t el = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (el <= 0) {
        free(todo);
        fprintf(stderr, "concbench: %s: cannot find this program "
                        "(/proc/self/exe): %s\n",
                s->cmd, strerror(errno));
        return EXIT_RUN_ERROR;
    }
    exe[el] = '\0';
    bool tty = isatty(STDERR_FILENO);
    outcome_t *outs = calloc(ntodo, sizeof *outs);
    if (!outs) {
        free(todo);
        return EXIT_RUN_ERROR;
    }
    struct sigaction sa = {.sa_handler = on_signal}, old_int, old_term;
    sigemptyset(&sa.sa_mask);
    interrupted = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    double t0 = now_s();
    run_info_t *ri = malloc(sizeof *ri);
    if (!ri) {
        free(outs);
        free(todo);
        return EXIT_RUN_ERROR;
    }
    run_info_init(ri);
    int rc = EXIT_OK;
    size_t done = 0;
    size_t counts[TALK_VERDICT_COUNT] = {0};
    for (size_t i = 0; i < ntodo && !interrupted; i++) {
        int crc = run_check(s, todo[i], i, ntodo, quick, dir, exe, tty,
                            &outs[done]);
        if (crc == 130)
            break;
        if (crc != 0)
            rc = EXIT_RUN_ERROR;
        counts[outs[done].j.verdict]++;
        print_outcome(s, &outs[done]);
        done++;
        if (write_verdicts(s, quick, dir, outs, done, now_s() - t0, ri) < 0)
            fprintf(stderr, "concbench: %s: cannot write %s/verdicts.json: "
                            "%s\n",
                    s->cmd, dir, strerror(errno));
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    free(ri);
    char took[32];
    fmt_elapsed(took, sizeof took, now_s() - t0);
    if (done < ntodo || interrupted) {
        fprintf(stderr,
                "concbench: %s: interrupted after %zu of %zu %ss (%s); "
                "rerunning the same command resumes\n",
                s->cmd, done, ntodo, s->noun, took);
        free(outs);
        free(todo);
        return 130;
    }
    /* With several, the table once more in one place, after the details. */
    if (done > 1) {
        printf("\n");
        for (size_t i = 0; i < done; i++) {
            const talk_check_t *c = outs[i].check;
            char order[8] = "";
            if (!s->agree && c->addition)
                snprintf(order, sizeof order, " +  ");
            else if (!s->agree)
                snprintf(order, sizeof order, "%2d  ", c->order);
            printf("%s%-24s %s\n", order, c->id,
                   talk_verdict_label(outs[i].j.verdict, s->agree));
        }
    }
    printf("\n%zu %s%s in %s:", done, s->noun, done == 1 ? "" : "s", took);
    bool first = true;
    for (int v = 0; v < TALK_VERDICT_COUNT; v++)
        if (counts[v]) {
            printf("%s %zu %s", first ? "" : ",", counts[v],
                   talk_verdict_label((talk_verdict_t)v, s->agree));
            first = false;
        }
    printf("; %s/verdicts.json\n", dir);
    free(outs);
    free(todo);
    return rc;
}

/* Options of `talk run` and `agree`: IDs, --quick, -o DIR, and (agree)
 * --list.  *list gets whether --list was given. */
static int parse_run(const set_t *s, int argc, char **argv, bool *quick,
                     const char **out, bool *list, char ***ids, int *nids)
{
    enum { O_QUICK = 256, O_LIST };
    static const struct option longopts[] = {
        {"quick", no_argument, NULL, O_QUICK},
        {"output", required_argument, NULL, 'o'},
        {"list", no_argument, NULL, O_LIST},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    arg_seen_t seen = {0};
    opterr = 0;
    optind = 1;
    int c;
    *quick = false;
    *out = NULL;
    *list = false;
    while ((c = getopt_long(argc, argv, ":o:h", longopts, NULL)) != -1) {
        if (c != 'h' && c != ':' && c != '?' &&
            arg_once(&seen, s->cmd, c, longopts))
            return EXIT_USAGE;
        switch (c) {
        case O_QUICK:
            *quick = true;
            break;
        case 'o':
            if (!*optarg)
                return bad(s, "%s: -o needs a folder%s", "");
            *out = optarg;
            break;
        case O_LIST:
            if (!s->agree)
                return bad(s, "%s: unknown option '%s'; see --help",
                           "--list");
            *list = true;
            break;
        case 'h':
            fputs(s->agree ? agree_usage : talk_usage, stdout);
            return -1;
        case ':':
            return bad(s, "%s: %s needs a value; see --help",
                       arg_clip(argv[optind - 1]));
        default:
            return bad(s, "%s: unknown option '%s'; see --help",
                       arg_clip(argv[optind - 1]));
        }
    }
    *ids = argv + optind;
    *nids = argc - optind;
    for (int i = 0; i < *nids; i++)
        if ((*ids)[i][0] == '-')
            return bad(s, "%s: unknown option '%s'; see --help",
                       arg_clip((*ids)[i]));
    return 0;
}

int cmd_talk(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "list") == 0) {
        for (int i = 2; i < argc; i++) {
            if (is_help(argv[i])) {
                fputs(talk_usage, stdout);
                return EXIT_OK;
            }
            if (strcmp(argv[i], "--quick") != 0)
                return usage_error("talk list: unknown argument '%s'; see "
                                   "--help",
                                   arg_clip(argv[i]));
        }
        bool quick = false;
        for (int i = 2; i < argc; i++)
            quick |= strcmp(argv[i], "--quick") == 0;
        return list_set(&talk_set, quick);
    }
    if (is_help(argv[1])) {
        fputs(talk_usage, stdout);
        return EXIT_OK;
    }
    if (strcmp(argv[1], "run") == 0) {
        bool quick, list;
        const char *out;
        char **ids;
        int nids;
        int rc = parse_run(&talk_set, argc - 1, argv + 1, &quick, &out, &list,
                           &ids, &nids);
        if (rc)
            return rc < 0 ? EXIT_OK : rc;
        return run_set(&talk_set, ids, nids, quick, out);
    }
    /* "talk report" dispatch goes here: cmd_talk_report
     * (runner/cmd_talk_report.c), argv[0] = "report". */
    if (strcmp(argv[1], "report") == 0)
        return cmd_talk_report(argc - 1, argv + 1);
    return usage_error("talk: unknown subcommand '%s'; talk [list], talk run, "
                       "talk report; see --help",
                       arg_clip(argv[1]));
}

int cmd_agree(int argc, char **argv)
{
    bool quick, list;
    const char *out;
    char **ids;
    int nids;
    int rc =
        parse_run(&agree_set, argc, argv, &quick, &out, &list, &ids, &nids);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    if (list) {
        if (nids || out)
            return usage_error("agree: --list takes no ids and no -o");
        return list_set(&agree_set, quick);
    }
    return run_set(&agree_set, ids, nids, quick, out);
}
