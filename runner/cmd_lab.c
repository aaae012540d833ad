/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * concbench lab: classroom labs that check themselves.
 *
 * A lab is a folder labs/NN-name/ with sheet.md (goals, background,
 * steps, questions), starter.c (the workload the student edits, written
 * against models/model.h like any workload), solution/ (the reference,
 * kept apart) and `checks` (what `lab check` runs; format below).
 *
 * How a student's file is built.  `lab check` compiles the student's
 * workload file with this build's compiler and flags (warnings,
 * optimisation and sanitizers included: cmake/Labs.cmake writes them
 * into generated/lab_build.h) against the source tree's headers, and
 * links it with runner/main.c and this build's static libraries into a
 * runner of its own, DIR/.lab-build/student: a whole concbench that
 * knows one more workload (workloads/workload.c's cb_workload_extra).
 * The lab's solution is built the same way into .lab-build/reference.
 * Every run then goes through that runner's `run`, so a crash, a hang
 * or a broken invariant in the student's code is a child process's
 * recorded outcome, exactly as in a matrix, never this process's.
 * Rejected: a shared object loaded by concbench (the static libraries
 * would have to be exported from the executable, and a workload that
 * corrupts memory would do it inside the grader), and an install step
 * with a CMake package (a student's machine would need a second
 * configure; the README's set-up already leaves the build folder).
 *
 * Grading.  Correctness first: each `correct` check runs the student's
 * workload on every model it names, under a timeout; a build error, a
 * crash, a hang, a broken invariant or a run the model stopped (actor's
 * max_memory: its own report goes in front of the reason) fails the
 * check with what was expected, what happened and a hint (a ratio check
 * says the same of a run it needed), and the score is then 0: figures
 * of a wrong program are not results.  Only then the shape checks:
 * `ratio` compares a metric of the student's run with the reference
 * solution's on the same machine, model by model (as CS149 grades: never
 * by absolute time), and `shape` compares two of the student's own cells
 * (a model against another, a size against another).  Tolerances are
 * generous: a check must pass on a busy laptop.  Exit 0 only when every
 * required check passed; 1 otherwise; 2 for an unknown lab or a missing
 * folder or file; 4 when the lab's real system is not installed.
 *
 * The `checks` file: `key = value` lines, `#` comments, and one
 * `[check NAME]` section per check, run in file order.  Lab keys: title,
 * workload (the CLI name), file (the student's file name).  Check keys:
 * kind (correct|ratio|shape), required (yes|no), points, models (space
 * separated), params (k=v, space separated, for every run of the check),
 * timeout (seconds per run, stretched by CONCBENCH_TIMEOUT_SCALE), reps,
 * metric, num and den (shape: "MODEL k=v..."), min and max (bounds of
 * the ratio), what, expect, hint (the words the student reads).
 *
 * A lab on a real system (`system = beam`, lab 7).  Some lessons exist
 * only on the real engine (a cluster's handoff is Erlang distribution's,
 * never a model's), so the student writes a module of the system's own
 * language in place of one file of peers/SYSTEM/, and every run is
 * this concbench's `run -m SYSTEM` with CONCBENCH_PEERS pointing at a
 * copy of that folder: the files `system_files` names, then the
 * student's `file` (the solution's, for the reference), in
 * DIR/.lab-build/{student,reference}/peers/SYSTEM, compiled by the
 * folder's own `run --prepare` into DIR/.lab-build/TAG/cache
 * (CONCBENCH_CACHE), so the student's module never meets the build's
 * peer cache and the shipped program is unchanged.  The system's
 * compiler errors are the build's feedback; a system not installed
 * (`run --check` fails) makes the whole lab unsupported with its line
 * (exit 4), as a cell on a missing system is.  Rejected: a parameter
 * naming the module (it would be a parameter of the workload for every
 * run, matrix and plot, for the sake of one lab).
 */
#include "runner/args.h"
#include "runner/cli.h"
#include "runner/json.h"
#include "runner/lab.h"

#include "lab_build.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LAB_CHECKS_MAX 32
#define LAB_ARGS_MAX 256

typedef struct lab_check {
    char name[64];
    char kind[16];
    bool required;
    int points;
    char models[256];
    char params[512];
    char num[256], den[256];
    char metric[64];
    double min, max;
    int timeout_s, reps;
    char what[512], expect[512], hint[1024];
} lab_check_t;

typedef struct lab {
    int number;
    char dir[PATH_MAX];
    char title[256];
    char workload[64];
    char file[128];
    lab_check_t checks[LAB_CHECKS_MAX];
    int nchecks;
    char system[64];        /* a real system's lab: its peers/ folder name */
    char system_files[512]; /* what of that folder a run needs */
} lab_t;

static const char *labs_dir(void)
{
    const char *d = getenv("CONCBENCH_LABS_DIR");
    return d && *d ? d : CB_LABS_DIR;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && strchr(" \t\r\n", s[n - 1]))
        s[--n] = '\0';
    return s;
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src);
}

/* Parse labs/NN-name/checks into lab; 0, or -1 with a message. */
static int lab_parse(lab_t *lab)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/checks", lab->dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "concbench: lab: cannot read %s: %s\n", path,
                strerror(errno));
        return -1;
    }
    char line[2048];
    int lineno = 0;
    lab_check_t *c = NULL;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *s = trim(line);
        if (!*s || *s == '#')
            continue;
        if (strncmp(s, "[check ", 7) == 0 && s[strlen(s) - 1] == ']') {
            if (lab->nchecks == LAB_CHECKS_MAX)
                goto bad;
            c = &lab->checks[lab->nchecks++];
            memset(c, 0, sizeof *c);
            s[strlen(s) - 1] = '\0';
            copy_str(c->name, sizeof c->name, trim(s + 7));
            c->required = true;
            c->points = 1;
            c->timeout_s = 10;
            c->reps = 1;
            c->min = -INFINITY;
            c->max = INFINITY;
            copy_str(c->kind, sizeof c->kind, "correct");
            continue;
        }
        char *eq = strchr(s, '=');
        if (!eq)
            goto bad;
        *eq = '\0';
        char *key = trim(s), *val = trim(eq + 1);
        if (!c) {
            if (strcmp(key, "title") == 0)
                copy_str(lab->title, sizeof lab->title, val);
            else if (strcmp(key, "workload") == 0)
                copy_str(lab->workload, sizeof lab->workload, val);
            else if (strcmp(key, "file") == 0)
                copy_str(lab->file, sizeof lab->file, val);
            else if (strcmp(key, "system") == 0)
                copy_str(lab->system, sizeof lab->system, val);
            else if (strcmp(key, "system_files") == 0)
                copy_str(lab->system_files, sizeof lab->system_files, val);
            else
                goto bad;
            continue;
        }
#define STR_KEY(k)                                                             \
    if (strcmp(key, #k) == 0) {                                                \
        copy_str(c->k, sizeof c->k, val);                                      \
        continue;                                                              \
    }
        STR_KEY(kind)
        STR_KEY(models)
        STR_KEY(params)
        STR_KEY(num)
        STR_KEY(den)
        STR_KEY(metric)
        STR_KEY(what)
        STR_KEY(expect)
        STR_KEY(hint)
#undef STR_KEY
        if (strcmp(key, "starter_says") == 0)
            continue; /* what tests/test_labs.py wants the starter told */
        if (strcmp(key, "required") == 0)
            c->required = strcmp(val, "no") != 0;
        else if (strcmp(key, "points") == 0)
            c->points = atoi(val);
        else if (strcmp(key, "timeout") == 0)
            c->timeout_s = atoi(val);
        else if (strcmp(key, "reps") == 0)
            c->reps = atoi(val);
        else if (strcmp(key, "min") == 0)
            c->min = strtod(val, NULL);
        else if (strcmp(key, "max") == 0)
            c->max = strtod(val, NULL);
        else
            goto bad;
    }
    fclose(f);
    if (!*lab->workload || !*lab->file) {
        fprintf(stderr, "concbench: lab: %s names no workload or file\n",
                path);
        return -1;
    }
    return 0;
bad:
    fclose(f);
    fprintf(stderr, "concbench: lab: %s:%d: not `key = value` or a known "
                    "key\n", path, lineno);
    return -1;
}

/* The folder of lab `number` ("2", "02"); 0, or EXIT_USAGE. */
static int lab_find(const char *arg, lab_t *lab)
{
    char *end;
    errno = 0;
    long n = strtol(arg, &end, 10);
    if (errno || end == arg || *end || n < 0 || n > 99)
        return usage_error("lab: '%s' is not a lab number (concbench lab "
                           "list)",
                           arg_clip(arg));
    DIR *d = opendir(labs_dir());
    if (!d)
        return usage_error("lab: no labs folder at %s", labs_dir());
    struct dirent *e;
    bool found = false;
    while ((e = readdir(d))) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9' ||
            atoi(e->d_name) != n || !strchr(e->d_name, '-'))
            continue;
        memset(lab, 0, sizeof *lab);
        lab->number = (int)n;
        snprintf(lab->dir, sizeof lab->dir, "%.2000s/%.200s", labs_dir(),
                 e->d_name);
        found = true;
        break;
    }
    closedir(d);
    if (!found)
        return usage_error("lab: no lab %ld (concbench lab list shows "
                           "them)",
                           n);
    return lab_parse(lab) ? EXIT_USAGE : 0;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int lab_list(void)
{
    DIR *d = opendir(labs_dir());
    if (!d)
        return usage_error("lab: no labs folder at %s", labs_dir());
    char *names[100];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 100)
        if (e->d_name[0] >= '0' && e->d_name[0] <= '9' &&
            strchr(e->d_name, '-'))
            names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, n, sizeof names[0], name_cmp);
    for (size_t i = 0; i < n; i++) {
        lab_t lab;
        char num[8];
        snprintf(num, sizeof num, "%d", atoi(names[i]));
        if (names[i] && lab_find(num, &lab) == 0)
            printf("%3d  %-18s %s\n", lab.number,
                   strchr(names[i], '-') + 1, lab.title);
        free(names[i]);
    }
    return EXIT_OK;
}

static int cat_file(const char *path, FILE *to)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)))
        fwrite(buf, 1, n, to);
    fclose(f);
    return 0;
}

static int lab_show(const lab_t *lab)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/sheet.md", lab->dir);
    if (cat_file(path, stdout))
        return usage_error("lab: cannot read %s", path);
    printf("\n---\n`concbench lab check %d DIR` runs these checks on "
           "DIR/%s:\n",
           lab->number, lab->file);
    for (int i = 0; i < lab->nchecks; i++) {
        const lab_check_t *c = &lab->checks[i];
        printf("  %-26s %-8s %s%s\n", c->name, c->kind, c->what,
               c->required ? "" : " (not required)");
    }
    return EXIT_OK;
}

static int copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "r");
    if (!in)
        return -1;
    FILE *out = fopen(to, "wx");
    if (!out) {
        fclose(in);
        return -1;
    }
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)))
        fwrite(buf, 1, n, out);
    fclose(in);
    return fclose(out) ? -1 : 0;
}

static int lab_start(const lab_t *lab, const char *dir)
{
    if (mkdir(dir, 0777) && errno != EEXIST)
        return usage_error("lab start: cannot make %s: %s", arg_clip(dir),
                           strerror(errno));
    char from[PATH_MAX + 200], to[PATH_MAX + 200], starter[64];
    const char *ext = strrchr(lab->file, '.');
    snprintf(starter, sizeof starter, "starter%.32s", ext ? ext : ".c");
    const char *pairs[2][2] = {{starter, lab->file},
                               {"sheet.md", "sheet.md"}};
    for (int i = 0; i < 2; i++) {
        snprintf(to, sizeof to, "%.2000s/%s", dir, pairs[i][1]);
        if (access(to, F_OK) == 0)
            return usage_error("lab start: %s exists; it is yours, so it "
                               "stays as it is (remove it to start over)",
                               to);
    }
    for (int i = 0; i < 2; i++) {
        snprintf(from, sizeof from, "%s/%s", lab->dir, pairs[i][0]);
        snprintf(to, sizeof to, "%.2000s/%s", dir, pairs[i][1]);
        if (copy_file(from, to))
            return usage_error("lab start: cannot copy %s to %s: %s", from,
                               to, strerror(errno));
    }
    printf("lab %d: %s\n  %s/sheet.md   the sheet: read it first\n"
           "  %s/%s   your workload: edit it\n"
           "then: concbench lab check %d %s\n",
           lab->number, lab->title, dir, dir, lab->file, lab->number, dir);
    return EXIT_OK;
}

/* ---- building ---- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void add_list(char **argv, int *n, const char *const *list,
                     size_t count)
{
    for (size_t i = 0; i < count && *n < LAB_ARGS_MAX - 8; i++)
        if (*list[i] && strcmp(list[i], "-D") && strcmp(list[i], "-I"))
            argv[(*n)++] = (char *)list[i];
}

static const char *const lab_cflags[] = {CB_LAB_STD, CB_LAB_CFLAGS,
                                         CB_LAB_OPTIONS, CB_LAB_DEFINES,
                                         CB_LAB_INCLUDES};
static const char *const lab_libs[] = {CB_LAB_LIBS};
static const char *const lab_syslibs[] = {CB_LAB_SYSLIBS};
static const char *const lab_link_options[] = {CB_LAB_LINK_OPTIONS};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Run argv with stderr into log; its exit status, or -1. */
static int run_logged(char **argv, const char *log)
{
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid = spawn(argv, fd, true, false);
    if (fd >= 0)
        close(fd);
    int st = spawn_wait(pid);
    return st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Print up to `lines` lines of path, indented. */
static void print_head(const char *path, int lines)
{
    FILE *f = fopen(path, "r");
    char buf[1024];
    int n = 0;
    while (f && fgets(buf, sizeof buf, f)) {
        if (n++ < lines)
            printf("      | %s%s", buf,
                   buf[strlen(buf) - 1] == '\n' ? "" : "\n");
    }
    if (n > lines)
        printf("      | ... (%d more lines in %s)\n", n - lines, path);
    if (f)
        fclose(f);
}

/* Compile src (plus main.c and the registration) into bin; 0 or -1,
 * with the compiler's words printed. */
static int build(const lab_t *lab, const char *src, const char *bdir,
                 const char *tag)
{
    double t0 = now_s();
    char obj[PATH_MAX], glue[PATH_MAX], glue_obj[PATH_MAX], main_obj[PATH_MAX],
        bin[PATH_MAX], log[PATH_MAX];
    snprintf(obj, sizeof obj, "%.3000s/%s.o", bdir, tag);
    snprintf(glue, sizeof glue, "%.3000s/%s_glue.c", bdir, tag);
    snprintf(glue_obj, sizeof glue_obj, "%.3000s/%s_glue.o", bdir, tag);
    snprintf(main_obj, sizeof main_obj, "%.3000s/main.o", bdir);
    snprintf(bin, sizeof bin, "%.3000s/%s", bdir, tag);
    snprintf(log, sizeof log, "%.3000s/%s.log", bdir, tag);

    char sym[64];
    copy_str(sym, sizeof sym, lab->workload);
    for (char *p = sym; *p; p++)
        if (*p == '-')
            *p = '_';
    FILE *g = fopen(glue, "w");
    if (!g)
        return -1;
    fprintf(g,
            "/* Generated by concbench lab check. */\n"
            "#include \"workloads/workload.h\"\n"
            "extern const cb_workload_t cb_workload_%s;\n"
            "const cb_workload_t *const cb_workload_extra = "
            "&cb_workload_%s;\n",
            sym, sym);
    fclose(g);

    const char *srcs[3][2] = {{src, obj}, {glue, glue_obj},
                              {CB_LAB_MAIN, main_obj}};
    for (int i = 0; i < 3; i++) {
        char *argv[LAB_ARGS_MAX];
        int n = 0;
        argv[n++] = CB_LAB_CC;
        add_list(argv, &n, lab_cflags, COUNT(lab_cflags));
        argv[n++] = "-c";
        argv[n++] = (char *)srcs[i][0];
        argv[n++] = "-o";
        argv[n++] = (char *)srcs[i][1];
        argv[n] = NULL;
        int rc = run_logged(argv, log);
        if (rc != 0) {
            printf("  FAIL %-26s %-8s %5.1f s\n", "build", tag, now_s() - t0);
            printf("      %s does not compile (%s):\n", srcs[i][0],
                   rc == 127 ? "the compiler could not be run"
                             : "the compiler's words");
            print_head(log, 30);
            return -1;
        }
    }
    char *argv[LAB_ARGS_MAX];
    int n = 0;
    argv[n++] = CB_LAB_CC;
    add_list(argv, &n, lab_cflags, COUNT(lab_cflags));
    add_list(argv, &n, lab_link_options, COUNT(lab_link_options));
    argv[n++] = obj;
    argv[n++] = glue_obj;
    argv[n++] = main_obj;
    argv[n++] = "-Wl,--start-group";
    add_list(argv, &n, lab_libs, COUNT(lab_libs));
    argv[n++] = "-Wl,--end-group";
    add_list(argv, &n, lab_syslibs, COUNT(lab_syslibs));
    argv[n++] = "-o";
    argv[n++] = bin;
    argv[n] = NULL;
    if (run_logged(argv, log) != 0) {
        printf("  FAIL %-26s %-8s %5.1f s\n", "build", tag, now_s() - t0);
        printf("      %s does not link (the linker's words):\n", src);
        print_head(log, 30);
        return -1;
    }
    return 0;
}

/* ---- a lab on a real system ---- */

/* The source folder of the lab's system: $CONCBENCH_PEERS/SYSTEM, else
 * the source tree's peers/SYSTEM (beside labs/). */
static void system_source(const lab_t *lab, char *dir, size_t cap)
{
    const char *env = getenv("CONCBENCH_PEERS");
    if (env && *env)
        snprintf(dir, cap, "%.3000s/%s", env, lab->system);
    else
        snprintf(dir, cap, "%s/../peers/%s", labs_dir(), lab->system);
}

/* 0 when the system is installed; else its `run --check` line in why. */
static int system_installed(const lab_t *lab, char *why, size_t cap)
{
    char dir[PATH_MAX], cmd[PATH_MAX + 64];
    system_source(lab, dir, sizeof dir);
    if (strchr(dir, '\'')) {
        snprintf(why, cap, "a quote in the path %.400s", dir);
        return -1;
    }
    snprintf(cmd, sizeof cmd, "'%s/run' --check 2>&1", dir);
    fflush(stdout);
    FILE *p = popen(cmd, "r");
    *why = '\0';
    if (p && !fgets(why, (int)cap, p))
        *why = '\0';
    while (p && fgetc(p) != EOF)
        ;
    int st = p ? pclose(p) : -1;
    why[strcspn(why, "\n")] = '\0';
    if (st == 0)
        return 0;
    if (!*why)
        snprintf(why, cap, "%.400s/run --check failed", dir);
    return -1;
}

/* DIR/.lab-build/TAG/peers/SYSTEM: the system_files of the source folder
 * and src as the lab's file, compiled into DIR/.lab-build/TAG/cache by
 * the folder's own `run --prepare`; 0, or -1 with the compiler's words
 * printed.  The program to run is then this concbench. */
static int build_system(const lab_t *lab, const char *src, const char *bdir,
                        const char *tag)
{
    double t0 = now_s();
    char root[PATH_MAX], sys[PATH_MAX + 80], from_dir[PATH_MAX],
        from[PATH_MAX + 200], to[PATH_MAX + 300], cache[PATH_MAX + 80],
        log[PATH_MAX + 80];
    snprintf(root, sizeof root, "%.3000s/%s", bdir, tag);
    snprintf(sys, sizeof sys, "%s/peers", root);
    snprintf(cache, sizeof cache, "%s/cache", root);
    snprintf(log, sizeof log, "%s.log", root);
    system_source(lab, from_dir, sizeof from_dir);
    const char *dirs[] = {root, sys, cache};
    for (int i = 0; i < 3; i++)
        if (mkdir(dirs[i], 0777) && errno != EEXIST)
            goto fail_os;
    snprintf(sys, sizeof sys, "%s/peers/%s", root, lab->system);
    if (mkdir(sys, 0777) && errno != EEXIST)
        goto fail_os;
    char files[512];
    copy_str(files, sizeof files, lab->system_files);
    for (char *save = NULL, *f = strtok_r(files, " ", &save); f;
         f = strtok_r(NULL, " ", &save)) {
        snprintf(from, sizeof from, "%s/%s", from_dir, f);
        snprintf(to, sizeof to, "%s/%s", sys, f);
        struct stat st;
        unlink(to);
        if (stat(from, &st) || copy_file(from, to) ||
            chmod(to, st.st_mode & 0777))
            goto fail_os;
    }
    snprintf(to, sizeof to, "%s/%s", sys, lab->file);
    unlink(to);
    if (copy_file(src, to))
        goto fail_os;
    /* Compiled again whatever the time stamps say: two checks within
     * one clock tick must not run the older module. */
    char stem[128];
    copy_str(stem, sizeof stem, lab->file);
    char *dot = strrchr(stem, '.');
    if (dot)
        *dot = '\0';
    snprintf(to, sizeof to, "%s/peers/%s", cache, lab->system);
    mkdir(to, 0777);
    snprintf(to, sizeof to, "%s/peers/%s/%s.beam", cache, lab->system, stem);
    unlink(to);
    snprintf(to, sizeof to, "%s/peers/%s", cache, lab->system);
    setenv("CONCBENCH_PEER_CACHE", to, 1);
    snprintf(from, sizeof from, "%s/run", sys);
    /* erlc writes its errors on stdout: both go to the log. */
    char *argv[] = {"/bin/sh", "-c", "exec \"$0\" --prepare >&2", from,
                    NULL};
    int rc = run_logged(argv, log);
    unsetenv("CONCBENCH_PEER_CACHE");
    if (rc == 0)
        return 0;
    printf("  FAIL %-26s %-8s %5.1f s\n", "build", tag, now_s() - t0);
    printf("      %s does not compile (%s's compiler's words):\n", src,
           lab->system);
    print_head(log, 30);
    return -1;
fail_os:
    printf("  FAIL %-26s %-8s %5.1f s\n", "build", tag, now_s() - t0);
    printf("      cannot lay out %s from %s: %s\n", sys, from_dir,
           strerror(errno));
    return -1;
}

/* ---- running one cell ---- */

typedef struct cell {
    char outcome[32];
    char reason[600];
    double value; /* the metric's median; NAN when absent */
    int exit;
} cell_t;

static double timeout_scale(void)
{
    const char *s = getenv("CONCBENCH_TIMEOUT_SCALE");
    double v = s ? strtod(s, NULL) : 1;
    return v >= 1 ? v : 1;
}

/* lab check's options: only these models (space separated, "" for all),
 * and a timeout for every run instead of each check's (0: theirs). */
static char only_models[256];
static int timeout_override;

static bool model_wanted(const char *m)
{
    if (!*only_models)
        return true;
    size_t n = strlen(m);
    for (const char *p = only_models; (p = strstr(p, m)); p += n)
        if ((p == only_models || p[-1] == ' ') && (p[n] == ' ' || !p[n]))
            return true;
    return false;
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    size_t k;
    while (buf && (k = fread(buf + n, 1, cap - n, f)) > 0) {
        n += k;
        if (n == cap) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb) {
                free(buf);
                buf = NULL;
            }
            buf = nb;
        }
    }
    fclose(f);
    *len = n;
    return buf;
}

/* A model that stops a run says why on stderr, before the runner's
 * shorter reason ("concbench: actor: VM stopped: ... biggest mailbox:
 * ..." against "out of memory"): put its line in front of the reason. */
static void add_model_report(const char *log, const char *model,
                             char *reason, size_t cap)
{
    char prefix[96], line[1024];
    snprintf(prefix, sizeof prefix, "concbench: %s: ", model);
    FILE *f = fopen(log, "r");
    while (f && fgets(line, sizeof line, f)) {
        if (strncmp(line, prefix, strlen(prefix)))
            continue;
        line[strcspn(line, "\n")] = '\0';
        char was[600];
        copy_str(was, sizeof was, reason);
        snprintf(reason, cap, "%.400s (%.190s)", line + 11, was);
        break;
    }
    if (f)
        fclose(f);
}

/* Run the workload on model with params (two space-separated lists of
 * k=v) from bin; fill *out. */
static void run_cell(const lab_t *lab, const char *bin, const char *bdir,
                     const char *model, const char *params,
                     const char *extra, const lab_check_t *c, cell_t *out)
{
    char json[PATH_MAX], log[PATH_MAX], timeout[32], reps[16];
    snprintf(json, sizeof json, "%.3000s/cell.json", bdir);
    snprintf(log, sizeof log, "%.3000s/cell.log", bdir);
    snprintf(timeout, sizeof timeout, "%d",
             (int)ceil((timeout_override ? timeout_override : c->timeout_s) *
                       timeout_scale()));
    snprintf(reps, sizeof reps, "%d", c->reps > 0 ? c->reps : 1);
    unlink(json);
    char plist[1024];
    snprintf(plist, sizeof plist, "%s %s", params, extra ? extra : "");
    char *argv[LAB_ARGS_MAX];
    int n = 0;
    argv[n++] = (char *)bin;
    char self[PATH_MAX], env[PATH_MAX + 16], *was_peers = NULL,
                                              *was_cache = NULL;
    if (*lab->system) {
        const char *w = getenv("CONCBENCH_PEERS");
        was_peers = w ? strdup(w) : NULL;
        w = getenv("CONCBENCH_CACHE");
        was_cache = w ? strdup(w) : NULL;
        /* bin is the folder build_system laid out: this concbench runs
         * the real system from there. */
        ssize_t k = readlink("/proc/self/exe", self, sizeof self - 1);
        self[k > 0 ? k : 0] = '\0';
        argv[0] = self;
        snprintf(env, sizeof env, "%.3000s/peers", bin);
        setenv("CONCBENCH_PEERS", env, 1);
        snprintf(env, sizeof env, "%.3000s/cache", bin);
        setenv("CONCBENCH_CACHE", env, 1);
    }
    argv[n++] = "run";
    argv[n++] = "-m";
    argv[n++] = (char *)model;
    argv[n++] = "-w";
    argv[n++] = (char *)lab->workload;
    for (char *save = NULL, *t = strtok_r(plist, " ", &save);
         t && n < LAB_ARGS_MAX - 16; t = strtok_r(NULL, " ", &save)) {
        argv[n++] = "-p";
        argv[n++] = t;
    }
    argv[n++] = "--reps";
    argv[n++] = reps;
    argv[n++] = "--timeout";
    argv[n++] = timeout;
    argv[n++] = "--format";
    argv[n++] = "json";
    argv[n++] = "-o";
    argv[n++] = json;
    argv[n] = NULL;

    memset(out, 0, sizeof *out);
    out->value = NAN;
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int st = spawn_wait(spawn(argv, fd, true, false));
    if (fd >= 0)
        close(fd);
    if (*lab->system) {
        if (was_peers)
            setenv("CONCBENCH_PEERS", was_peers, 1);
        else
            unsetenv("CONCBENCH_PEERS");
        if (was_cache)
            setenv("CONCBENCH_CACHE", was_cache, 1);
        else
            unsetenv("CONCBENCH_CACHE");
        free(was_peers);
        free(was_cache);
    }
    out->exit = st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;

    size_t len = 0;
    char *text = read_all(json, &len);
    char err[128];
    jv_t *v = text ? jv_parse(text, len, err, sizeof err) : NULL;
    free(text);
    if (!v) {
        /* The runner refused the run before it started (a parameter the
         * workload does not have, a size the machine cannot hold): its
         * own words say why. */
        copy_str(out->outcome, sizeof out->outcome,
                 st >= 0 && WIFSIGNALED(st) ? "crashed" : "refused");
        size_t l = 0;
        char *words = read_all(log, &l);
        snprintf(out->reason, sizeof out->reason, "%.*s",
                 words ? (int)(l > 500 ? 500 : l) : 0, words ? words : "");
        char *nl = strchr(out->reason, '\n');
        if (nl && nl[1] == '\0')
            *nl = '\0';
        if (!words || !l)
            snprintf(out->reason, sizeof out->reason,
                     "the runner exited with status %d and said nothing",
                     out->exit);
        free(words);
        return;
    }
    const char *o = jv_str(jv_get(v, "outcome"));
    const char *r = jv_str(jv_get(v, "reason"));
    copy_str(out->outcome, sizeof out->outcome, o ? o : "unknown");
    copy_str(out->reason, sizeof out->reason, r ? r : "");
    if (strcmp(out->outcome, "error") == 0)
        add_model_report(log, model, out->reason, sizeof out->reason);
    if (*c->metric) {
        /* A histogram (handoff_ns) is judged by its median. */
        const jv_t *m = jv_get(jv_get(v, "metrics"), c->metric);
        if (!jv_num(m, &out->value))
            jv_num(jv_get(m, "p50"), &out->value);
    }
    jv_free(v);
}

/* What an outcome means to a student. */
static const char *explain(const cell_t *cell)
{
    const char *o = cell->outcome;
    if (strcmp(o, "timeout") == 0)
        return "it never finished: something waits for ever (a deadlock, "
               "or a message nobody sends)";
    if (strcmp(o, "failed") == 0)
        return "the invariant broke";
    if (strcmp(o, "crashed") == 0)
        return "it crashed";
    if (strcmp(o, "oom") == 0)
        return "it ran out of memory";
    if (strcmp(o, "error") == 0)
        return "the model stopped it";
    if (strcmp(o, "unsupported") == 0)
        return "the model does not support what it asked for";
    if (strcmp(o, "resource") == 0)
        return "it ran out of a resource (threads, memory, fds)";
    if (strcmp(o, "refused") == 0)
        return "the runner refused to run it";
    return "it did not run";
}

static void feedback(const lab_check_t *c, const char *measured)
{
    if (*c->expect)
        printf("      expected: %s\n", c->expect);
    printf("      measured: %s\n", measured);
    if (*c->hint)
        printf("      hint:     %s\n", c->hint);
}

/* ---- the checks ---- */

/* "below the 0.10 wanted", "above the 1.50 allowed", "outside 1..2". */
static const char *bounds(const lab_check_t *c, double ratio, char *buf,
                          size_t len)
{
    if (!isfinite(ratio))
        snprintf(buf, len, "no figure to compare");
    else if (ratio < c->min)
        snprintf(buf, len, "below the %.2f wanted", c->min);
    else
        snprintf(buf, len, "above the %.2f allowed", c->max);
    return buf;
}

static bool check_correct(const lab_t *lab, const lab_check_t *c,
                          const char *bin, const char *bdir)
{
    char models[256];
    copy_str(models, sizeof models, c->models);
    bool ok = true;
    for (char *save = NULL, *m = strtok_r(models, " ", &save); m;
         m = strtok_r(NULL, " ", &save)) {
        if (!model_wanted(m))
            continue;
        cell_t cell;
        double t0 = now_s();
        run_cell(lab, bin, bdir, m, c->params, NULL, c, &cell);
        bool pass = strcmp(cell.outcome, "ok") == 0;
        printf("  %-4s %-26s %-8s %5.1f s\n", pass ? "ok" : "FAIL", c->name,
               m, now_s() - t0);
        if (!pass) {
            char msg[900];
            snprintf(msg, sizeof msg, "%s on %s: %s", explain(&cell), m,
                     cell.reason);
            feedback(c, msg);
            ok = false;
        }
    }
    return ok;
}

static bool check_ratio(const lab_t *lab, const lab_check_t *c,
                        const char *student, const char *reference,
                        const char *bdir)
{
    char models[256];
    copy_str(models, sizeof models, c->models);
    bool ok = true;
    for (char *save = NULL, *m = strtok_r(models, " ", &save); m;
         m = strtok_r(NULL, " ", &save)) {
        if (!model_wanted(m))
            continue;
        cell_t s, r;
        run_cell(lab, student, bdir, m, c->params, NULL, c, &s);
        run_cell(lab, reference, bdir, m, c->params, NULL, c, &r);
        double ratio = s.value / r.value;
        bool pass = isfinite(ratio) && ratio >= c->min && ratio <= c->max;
        printf("  %-4s %-26s %-8s %s: yours %.4g, reference %.4g: x%.2f\n",
               pass ? "ok" : "FAIL", c->name, m, c->metric, s.value,
               r.value, ratio);
        if (!pass) {
            char msg[900], why[64];
            if (strcmp(s.outcome, "ok"))
                snprintf(msg, sizeof msg, "yours: %s: %s", explain(&s),
                         s.reason);
            else if (strcmp(r.outcome, "ok"))
                snprintf(msg, sizeof msg, "the reference: %s: %s",
                         explain(&r), r.reason);
            else
                snprintf(msg, sizeof msg,
                         "%s %.4g against the reference's %.4g on this "
                         "machine: x%.2f, %s",
                         c->metric, s.value, r.value, ratio,
                         bounds(c, ratio, why, sizeof why));
            feedback(c, msg);
            ok = false;
        }
    }
    return ok;
}

/* "MODEL k=v ..." into model and the rest. */
static void split_cell(const char *spec, char *model, size_t mcap,
                       const char **rest)
{
    size_t n = strcspn(spec, " ");
    snprintf(model, mcap, "%.*s", (int)n, spec);
    *rest = spec + n;
}

static bool check_shape(const lab_t *lab, const lab_check_t *c,
                        const char *student, const char *bdir)
{
    char mnum[64], mden[64];
    const char *pnum, *pden;
    split_cell(c->num, mnum, sizeof mnum, &pnum);
    split_cell(c->den, mden, sizeof mden, &pden);
    if (!model_wanted(mnum) || !model_wanted(mden))
        return true; /* not asked for: neither passed nor failed */
    cell_t a, b;
    run_cell(lab, student, bdir, mnum, c->params, pnum, c, &a);
    run_cell(lab, student, bdir, mden, c->params, pden, c, &b);
    double ratio = a.value / b.value;
    bool pass = isfinite(ratio) && ratio >= c->min && ratio <= c->max;
    printf("  %-4s %-26s %s: [%s] %.4g / [%s] %.4g = x%.2f\n",
           pass ? "ok" : (c->required ? "FAIL" : "miss"), c->name,
           c->metric, c->num, a.value, c->den, b.value, ratio);
    if (!pass) {
        char msg[900], why[64];
        if (strcmp(a.outcome, "ok") || strcmp(b.outcome, "ok"))
            snprintf(msg, sizeof msg, "%s: %s",
                     explain(strcmp(a.outcome, "ok") ? &a : &b),
                     strcmp(a.outcome, "ok") ? a.reason : b.reason);
        else
            snprintf(msg, sizeof msg, "x%.2f, %s", ratio,
                     bounds(c, ratio, why, sizeof why));
        feedback(c, msg);
    }
    return pass;
}

static int lab_check(const lab_t *lab, const char *dir)
{
    struct stat st;
    if (stat(dir, &st) || !S_ISDIR(st.st_mode))
        return usage_error("lab check: no folder %s (concbench lab start "
                           "%d %s makes it)",
                           arg_clip(dir), lab->number, arg_clip(dir));
    char src[PATH_MAX], bdir[PATH_MAX], ref_src[PATH_MAX],
        student[PATH_MAX + 16], reference[PATH_MAX + 16];
    snprintf(src, sizeof src, "%.3000s/%s", dir, lab->file);
    if (access(src, R_OK))
        return usage_error("lab check: no %s in %s (concbench lab start %d "
                           "%s copies the starter there)",
                           lab->file, arg_clip(dir), lab->number,
                           arg_clip(dir));
    snprintf(bdir, sizeof bdir, "%.3000s/.lab-build", dir);
    if (mkdir(bdir, 0777) && errno != EEXIST)
        return usage_error("lab check: cannot make %s: %s", bdir,
                           strerror(errno));
    snprintf(ref_src, sizeof ref_src, "%.3000s/solution/%s", lab->dir,
             lab->file);
    snprintf(student, sizeof student, "%s/student", bdir);
    snprintf(reference, sizeof reference, "%s/reference", bdir);

    printf("lab %d: %s\n  checking %s\n", lab->number, lab->title, src);
    int total = 0, score = 0;
    for (int i = 0; i < lab->nchecks; i++)
        total += lab->checks[i].points;
    if (*lab->system) {
        char why[512];
        if (system_installed(lab, why, sizeof why)) {
            printf("  unsupported: this lab runs on the real system %s, "
                   "which is not installed here:\n      %s\nscore: "
                   "nothing judged\n",
                   lab->system, why);
            return EXIT_UNSUPPORTED;
        }
    }
    double t0 = now_s();
    bool built = (*lab->system ? build_system(lab, src, bdir, "student")
                               : build(lab, src, bdir, "student")) == 0;
    if (built)
        printf("  ok   %-26s %-8s %5.1f s\n", "build", "", now_s() - t0);
    if (!built) {
        if (*lab->system)
            printf("      hint:     fix the first error the compiler "
                   "names\nscore: 0/%d (it must build first)\n",
                   total);
        else
            printf("      hint:     fix the first error the compiler names; "
                   "warnings count as errors\n                here, as in "
                   "the project's own build\nscore: 0/%d (it must build "
                   "first)\n",
                   total);
        return EXIT_RUN_ERROR;
    }
    bool correct = true, required_ok = true, have_ref = false;
    for (int i = 0; i < lab->nchecks; i++) {
        const lab_check_t *c = &lab->checks[i];
        if (strcmp(c->kind, "correct"))
            continue;
        bool pass = check_correct(lab, c, student, bdir);
        correct &= pass;
        if (pass)
            score += c->points;
    }
    if (!correct) {
        printf("score: 0/%d (correctness first: a wrong program's figures "
               "are not results)%s\n",
               total,
               *only_models ? "; on some models only (--models): not a grade"
                            : "");
        return EXIT_RUN_ERROR;
    }
    for (int i = 0; i < lab->nchecks; i++) {
        const lab_check_t *c = &lab->checks[i];
        bool pass;
        if (strcmp(c->kind, "ratio") == 0) {
            if (!have_ref) {
                if (*lab->system
                        ? build_system(lab, ref_src, bdir, "reference")
                        : build(lab, ref_src, bdir, "reference")) {
                    printf("  FAIL the lab's reference solution does not "
                           "build: tell your teacher\n");
                    return EXIT_RUN_ERROR;
                }
                have_ref = true;
            }
            pass = check_ratio(lab, c, student, reference, bdir);
        } else if (strcmp(c->kind, "shape") == 0) {
            pass = check_shape(lab, c, student, bdir);
        } else {
            continue;
        }
        if (pass)
            score += c->points;
        else if (c->required)
            required_ok = false;
    }
    printf("score: %d/%d%s%s\n", score, total,
           required_ok ? " (every required check passed)"
                       : " (a required check failed)",
           *only_models ? "; on some models only (--models): not a grade"
                        : "");
    return required_ok ? EXIT_OK : EXIT_RUN_ERROR;
}

static void lab_help(FILE *f)
{
    fprintf(f,
            "usage: concbench lab list\n"
            "       concbench lab show N\n"
            "       concbench lab start N DIR\n"
            "       concbench lab check N [DIR] [--models LIST] "
            "[--timeout SEC]\n"
            "       concbench lab collect DIR... -o OUT\n"
            "\n"
            "Classroom labs (labs/NN-name/).  `start` copies lab N's "
            "sheet and starter\ninto DIR; `check` builds DIR's workload "
            "file with this build's compiler,\nflags and libraries, runs "
            "it on every model the lab names (correctness\nfirst, under "
            "a timeout), then the shape checks against the reference\n"
            "solution on this machine, and prints per check what was "
            "expected, what\nwas measured and a hint, and a score.  "
            "DIR defaults to the current folder.\n"
            "`collect` gathers students' results folders (matrix -o DIR) "
            "from many\nmachines into OUT, each run tagged with its "
            "folder as the parameter\n`machine`: one row per machine in "
            "summary.csv, never one statistic over two.\n"
            "--models csp,threads runs only on those models while you "
            "work (not a grade);\n--timeout SEC replaces every run's "
            "hang guard.\n"
            "\n"
            "Exit: 0 every required check passed, 1 a check failed "
            "(build, crash,\nhang, broken invariant or shape), 2 unknown "
            "lab or missing folder or file, 4 the lab's real system is "
            "not installed.\n");
}

int cmd_lab(int argc, char **argv)
{
    if (argc < 2) {
        lab_help(stderr);
        return EXIT_USAGE;
    }
    if (is_help(argv[1])) {
        lab_help(stdout);
        return EXIT_OK;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "collect") == 0)
        return lab_collect(argc - 1, argv + 1);
    if (strcmp(sub, "list") == 0) {
        if (argc != 2)
            return usage_error("lab list takes no arguments");
        return lab_list();
    }
    bool show = strcmp(sub, "show") == 0, start = strcmp(sub, "start") == 0,
         check = strcmp(sub, "check") == 0;
    if (!show && !start && !check)
        return usage_error("lab: unknown subcommand '%s' (list, show, "
                           "start, check, collect)",
                           arg_clip(sub));
    if (check) {
        /* Options after the positional arguments. */
        int pos = argc;
        for (int i = 3; i < argc; i++)
            if (strncmp(argv[i], "--", 2) == 0) {
                pos = i;
                break;
            }
        for (int i = pos; i < argc; i++) {
            bool has = i + 1 < argc;
            if (strcmp(argv[i], "--models") == 0 && has) {
                copy_str(only_models, sizeof only_models, argv[++i]);
                for (char *p = only_models; *p; p++)
                    if (*p == ',')
                        *p = ' ';
                char list[256];
                copy_str(list, sizeof list, only_models);
                for (char *save = NULL, *m = strtok_r(list, " ", &save); m;
                     m = strtok_r(NULL, " ", &save))
                    if (!cb_model_find(m))
                        return usage_error("lab check: --models: no model "
                                           "'%s' (concbench list models)",
                                           arg_clip(m));
            } else if (strcmp(argv[i], "--timeout") == 0 && has) {
                int64_t v;
                if (parse_int_arg("lab check", "--timeout", argv[++i], 1,
                                  86400, &v))
                    return EXIT_USAGE;
                timeout_override = (int)v;
            } else {
                return usage_error("lab check: unknown or incomplete "
                                   "option '%s'",
                                   arg_clip(argv[i]));
            }
        }
        argc = pos;
    }
    int want = show ? 3 : 4;
    if (argc < 3 || argc > want || (start && argc != 4))
        return usage_error("lab %s: usage: concbench lab %s", sub,
                           show    ? "show N"
                           : start ? "start N DIR"
                                   : "check N [DIR]");
    lab_t *lab = malloc(sizeof *lab);
    if (!lab)
        return EXIT_RUN_ERROR;
    int rc = lab_find(argv[2], lab);
    if (rc == 0)
        rc = show    ? lab_show(lab)
             : start ? lab_start(lab, argv[3])
                     : lab_check(lab, argc == 4 ? argv[3] : ".");
    free(lab);
    return rc;
}
