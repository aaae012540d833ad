/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * concbench ab BASE_BINARY HEAD_BINARY [matrix options]: the regression
 * check that survives a noisy shared CI runner.
 *
 * Both builds run on the same machine in the same job, alternating: each
 * round runs the whole matrix once with one binary and once with the
 * other, with the same seed, and the binary that goes first alternates
 * from round to round (A B, B A, A B, ...).  Whatever the machine does
 * over the job (a neighbour starts, the CPU heats up) then lands on both
 * sides alike instead of on whichever side ran later; strict A B A B
 * would still hand a steady drift to B.  Rounds become repetitions: round
 * k is repetition k of every cell on each side, merged into DIR/base and
 * DIR/head, and the verdict is `concbench compare DIR/base DIR/head`.
 *
 * A suspected regression is confirmed before it is reported: when the
 * first comparison finds a metric slower, as many rounds again are run
 * and the comparison is made over all of them.  A one-off disturbance
 * rarely survives twice the repetitions; a real regression does.
 *
 * Rejected: running all of A then all of B (drift becomes the verdict),
 * and comparing against a stored baseline from another job (another
 * machine, another day: `compare` would call it not comparable anyway).
 */
#include "runner/args.h"
#include "runner/cli.h"
#include "runner/json.h"
#include "runner/results.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char ab_usage[] =
    "usage: concbench ab BASE_BINARY HEAD_BINARY -o DIR [--reps N]\n"
    "                    [--threshold PCT] [--alpha A] [--format "
    "table|markdown|json]\n"
    "                    [--fail-on-regression] [--no-confirm] [matrix "
    "options]\n"
    "\n"
    "Runs the same matrix with two concbench builds on this machine, "
    "alternating\nthem round by round (A B, B A, ...), N rounds (default 5): "
    "round k is\nrepetition k of every cell on both sides.  Results go to "
    "DIR/base and\nDIR/head; the verdict is `concbench compare DIR/base "
    "DIR/head`.  A\nsuspected regression is confirmed by as many rounds "
    "again before it is\nreported (--no-confirm skips that).  Matrix "
    "options (-m, -w, -p, --cpus,\n--placement, --quick, --seed, --timeout, "
    "--mem-cap) are passed to both\nbuilds.\n"
    "\n"
    "Exit: as compare: 0 ok, 1 a regression (with --fail-on-regression), 2 "
    "usage,\n3 a cell crashed or failed its check.\n";

typedef struct ab_opts {
    const char *bin[2];
    const char *out;
    int reps;
    int64_t seed;
    bool confirm, fail;
    const char *cmp_args[16];
    int ncmp;
    char *mx_args[128];
    int nmx;
} ab_opts_t;

static int parse_args(int argc, char **argv, ab_opts_t *o)
{
    o->reps = 5;
    o->seed = 1;
    o->confirm = true;
    int pos = 0;
    static const char *const once[] = {
        "-o",          "--output",  "--reps",
        "--seed",      "--threshold", "--alpha",
        "--format",    "--fail-on-regression", "--no-confirm"};
    arg_seen_t seen = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        bool has_value =
            strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0 ||
            strcmp(a, "--reps") == 0 ||
            strcmp(a, "--seed") == 0 || strcmp(a, "--threshold") == 0 ||
            strcmp(a, "--alpha") == 0 || strcmp(a, "--format") == 0;
        if (is_help(a)) {
            fputs(ab_usage, stdout);
            return -1;
        }
        if (has_value && !next)
            return usage_error("ab: option %s needs a value", a);
        for (int k = 0; k < (int)(sizeof once / sizeof *once); k++)
            if (strcmp(a, once[k]) == 0 &&
                arg_once_named(&seen, "ab", k < 2 ? 0 : k,
                               k < 2 ? "-o/--output" : a))
                return EXIT_USAGE;
        if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
            o->out = argv[++i];
        } else if (strcmp(a, "--reps") == 0) {
            int64_t v;
            if (cb_parse_int(next, &v) < 0 || v < 2 || v > 1000)
                return usage_error("ab: --reps: '%s' is not an integer in "
                                   "2..1000",
                                   arg_clip(next));
            o->reps = (int)v;
            i++;
        } else if (strcmp(a, "--seed") == 0) {
            if (cb_parse_int(next, &o->seed) < 0 || o->seed < 0)
                return usage_error("ab: --seed: '%s' is not a non-negative "
                                   "integer",
                                   arg_clip(next));
            i++;
        } else if (strcmp(a, "--threshold") == 0 || strcmp(a, "--alpha") == 0 ||
                   strcmp(a, "--format") == 0) {
            o->cmp_args[o->ncmp++] = a;
            o->cmp_args[o->ncmp++] = argv[++i];
        } else if (strcmp(a, "--fail-on-regression") == 0) {
            o->fail = true;
        } else if (strcmp(a, "--no-confirm") == 0) {
            o->confirm = false;
        } else if (strcmp(a, "--reps") == 0 || strcmp(a, "--warmup") == 0 ||
                   strcmp(a, "--resume") == 0 || strcmp(a, "--export") == 0 ||
                   strcmp(a, "--order") == 0 || strcmp(a, "--quiet") == 0 ||
                   strcmp(a, "-q") == 0) {
            return usage_error("ab: %s is decided by ab itself", a);
        } else if (a[0] != '-' && pos < 2) {
            o->bin[pos++] = a;
        } else {
            if (o->nmx == 100)
                return usage_error("ab: too many options");
            o->mx_args[o->nmx++] = argv[i];
        }
    }
    if (pos < 2)
        return usage_error("ab: wants BASE_BINARY and HEAD_BINARY; see "
                           "--help");
    if (!o->out)
        return usage_error("ab: -o DIR is required");
    for (int k = 0; k < 2; k++)
        if (access(o->bin[k], X_OK) < 0)
            return usage_error("ab: %s is not an executable: %s", o->bin[k],
                               strerror(errno));
    return 0;
}

/* Run BIN matrix ... for one round; the matrix's own exit status. */
static int run_round(const ab_opts_t *o, int side, int round, const char *dir)
{
    char seed[32], *argv[160];
    int n = 0;
    snprintf(seed, sizeof seed, "%lld", (long long)(o->seed + round));
    argv[n++] = (char *)o->bin[side];
    argv[n++] = "matrix";
    for (int i = 0; i < o->nmx; i++)
        argv[n++] = o->mx_args[i];
    argv[n++] = "--reps";
    argv[n++] = "1";
    argv[n++] = "--seed";
    argv[n++] = seed;
    argv[n++] = "--quiet";
    argv[n++] = "-o";
    argv[n++] = (char *)dir;
    argv[n] = NULL;
    int status = spawn_wait(spawn(argv, -1, true, false));
    if (status < 0 || !WIFEXITED(status))
        return EXIT_RUN_ERROR;
    /* Could not start the binary: as bad as an argument it refused. */
    return WEXITSTATUS(status) == 127 ? EXIT_USAGE : WEXITSTATUS(status);
}

/* Append round's runs (as repetition `round`) to side's merged folder. */
static int merge_round(const char *round_dir, const char *merged, int round,
                       int *order, char *err, size_t errlen)
{
    res_set_t s;
    if (results_load(round_dir, false, &s, err, errlen) < 0) {
        results_free(&s);
        return -1;
    }
    char path[4400];
    snprintf(path, sizeof path, "%.4000s/runs.jsonl", merged);
    bool fresh = access(path, F_OK) != 0;
    if (fresh && mkdir(merged, 0777) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %.900s: %s", merged,
                 strerror(errno));
        results_free(&s);
        return -1;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
    int rc = fd < 0 ? -1 : 0;
    for (size_t i = 0; rc == 0 && i <= s.nruns; i++) {
        const jv_t *rec = i == 0 ? s.header : s.runs[i - 1].line;
        if (!rec || (i == 0 && !fresh))
            continue;
        res_line_t l;
        json_t *j = res_line_begin(&l, NULL);
        if (!j) {
            rc = -1;
            break;
        }
        for (size_t k = 0; k < rec->n; k++) {
            const char *key = rec->keys[k];
            if (i > 0 && strcmp(key, "rep") == 0)
                json_int(j, key, round);
            else if (i > 0 && strcmp(key, "order") == 0)
                json_int(j, key, (*order)++);
            else if (i == 0 && strcmp(key, "reps") == 0)
                json_int(j, key, 0); /* grows with the rounds */
            else
                json_value(j, key, &rec->items[k]);
        }
        if (res_line_end(&l, fd) < 0)
            rc = -1;
    }
    if (fd >= 0)
        close(fd);
    if (rc == 0 && fresh) {
        /* The machine description of the first round speaks for all. */
        char from[4400], to[4400];
        snprintf(from, sizeof from, "%.4000s/machine.json", round_dir);
        snprintf(to, sizeof to, "%.4000s/machine.json", merged);
        size_t len = 0;
        FILE *in = fopen(from, "rb");
        char tmp[4500];
        FILE *out = outfile_open(to, tmp, sizeof tmp);
        char buf[65536];
        while (in && out && (len = fread(buf, 1, sizeof buf, in)) > 0)
            fwrite(buf, 1, len, out);
        if (in)
            fclose(in);
        if (!in || !out || outfile_commit(out, tmp, to) < 0)
            rc = -1;
    }
    if (rc < 0 && !err[0])
        snprintf(err, errlen, "cannot write %.900s", merged);
    results_free(&s);
    return rc;
}

static int rounds(const ab_opts_t *o, int from, int to, int order[2])
{
    static const char *const side_name[2] = {"base", "head"};
    char err[1024] = "";
    for (int r = from; r < to; r++) {
        for (int k = 0; k < 2; k++) {
            int side = (r % 2 == 0) ? k : 1 - k; /* A B, then B A */
            char dir[4400], merged[4400];
            snprintf(dir, sizeof dir, "%s/rounds/%s-%d", o->out,
                     side_name[side], r);
            snprintf(merged, sizeof merged, "%s/%s", o->out, side_name[side]);
            fprintf(stderr, "concbench: ab: round %d/%d: %s\n", r + 1, to,
                    o->bin[side]);
            int rc = run_round(o, side, r, dir);
            if (rc == EXIT_USAGE)
                return usage_error("ab: %s matrix refused the arguments "
                                   "(above)",
                                   o->bin[side]);
            if (merge_round(dir, merged, r, &order[side], err, sizeof err) < 0)
                return usage_error("ab: %s", err);
        }
    }
    return 0;
}

/* `concbench compare` on the merged folders; quiet: output discarded. */
static int verdict(const ab_opts_t *o, bool quiet, bool fail)
{
    char base[4200], head[4200];
    snprintf(base, sizeof base, "%s/base", o->out);
    snprintf(head, sizeof head, "%s/head", o->out);
    char err[1024];
    if (results_finalize(base, NULL, 0, err, sizeof err) < 0 ||
        results_finalize(head, NULL, 0, err, sizeof err) < 0)
        return usage_error("ab: %s", err);
    char *argv[24];
    int n = 0;
    argv[n++] = "compare";
    argv[n++] = base;
    argv[n++] = head;
    for (int i = 0; i < o->ncmp; i++)
        argv[n++] = (char *)o->cmp_args[i];
    if (fail)
        argv[n++] = "--fail-on-regression";
    argv[n] = NULL;
    int saved = -1;
    fflush(stdout);
    if (quiet) {
        saved = dup(STDOUT_FILENO);
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) {
            dup2(null, STDOUT_FILENO);
            close(null);
        }
    }
    int rc = cmd_compare(n, argv);
    fflush(stdout);
    if (saved >= 0) {
        dup2(saved, STDOUT_FILENO);
        close(saved);
    }
    return rc;
}

int cmd_ab(int argc, char **argv)
{
    ab_opts_t o = {0};
    int rc = parse_args(argc, argv, &o);
    if (rc != 0)
        return rc < 0 ? EXIT_OK : rc;
    char path[4200];
    snprintf(path, sizeof path, "%s/base/runs.jsonl", o.out);
    if (access(path, F_OK) == 0)
        return usage_error("ab: %s already holds results; choose another -o",
                           o.out);
    if (mkdir(o.out, 0777) < 0 && errno != EEXIST)
        return usage_error("ab: cannot create %s: %s", o.out, strerror(errno));
    snprintf(path, sizeof path, "%s/rounds", o.out);
    if (mkdir(path, 0777) < 0 && errno != EEXIST)
        return usage_error("ab: cannot create %s: %s", path, strerror(errno));
    int order[2] = {0, 0};
    if ((rc = rounds(&o, 0, o.reps, order)) != 0)
        return rc;
    if (o.confirm && verdict(&o, true, true) == EXIT_RUN_ERROR) {
        fprintf(stderr,
                "concbench: ab: a regression is suspected; confirming with "
                "%d more rounds\n",
                o.reps);
        if ((rc = rounds(&o, o.reps, 2 * o.reps, order)) != 0)
            return rc;
    }
    return verdict(&o, false, o.fail);
}
