/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * concbench lab collect DIR... -o OUT: a class's results side by side.
 *
 * Each DIR is one student's results folder (`concbench matrix -o DIR`,
 * on the student's own machine).  collect writes OUT, a results folder
 * like any other, holding every run of every DIR, each tagged with where
 * it came from: the parameter `machine` (the folder's name) and the field
 * `machine_fingerprint` (its machine.json's).  Because a cell is named
 * by its model, workload and every parameter (runner/results.h), two
 * machines' runs of the same cell are two cells: summary.csv has a
 * `machine` column and one row per machine, and plot and compare see
 * machine as they see any parameter.  No statistic ever pools runs from
 * two machines — thirty laptops' figures sit side by side in one chart,
 * each with its own median and interval.
 *
 * The folder name, not the fingerprint, names the machine: two students
 * with the same laptop model have the same fingerprint and are still two
 * machines (their noise, governor and load differ).  OUT/machine.json
 * keeps every folder's machine description under "machines", and its
 * fingerprint says "collected", so `compare` refuses to set a class's
 * folder against one machine's results without --force.
 *
 * Rejected: pooling runs of one fingerprint into one cell (a fingerprint
 * is a CPU model and a kernel, not a machine), and a new record type for
 * the machine (every reader would have to learn it; a parameter needs
 * none to).
 */
#include "runner/args.h"
#include "runner/cli.h"
#include "runner/json.h"
#include "runner/lab.h"
#include "runner/results.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define COLLECT_MAX 1000

/* The last path component of dir, without trailing slashes. */
static void folder_name(const char *dir, char *out, size_t len)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    size_t s = n;
    while (s > 0 && dir[s - 1] != '/')
        s--;
    snprintf(out, len, "%.*s", (int)(n - s), dir + s);
}

/* One run record, with params.machine and machine_fingerprint added. */
static void write_run(json_t *j, const jv_t *run, const char *machine,
                      const char *fingerprint)
{
    json_obj_begin(j, NULL);
    for (size_t i = 0; i < run->n; i++) {
        const char *key = run->keys[i];
        if (strcmp(key, "machine_fingerprint") == 0)
            continue; /* collected twice: the newer tag wins */
        if (strcmp(key, "params") != 0 || run->items[i].kind != JV_OBJ) {
            json_value(j, key, &run->items[i]);
            continue;
        }
        const jv_t *p = &run->items[i];
        json_obj_begin(j, "params");
        for (size_t k = 0; k < p->n; k++)
            if (strcmp(p->keys[k], "machine") != 0)
                json_value(j, p->keys[k], &p->items[k]);
        json_str(j, "machine", machine);
        json_obj_end(j);
    }
    json_str(j, "machine_fingerprint", fingerprint);
    json_obj_end(j);
}

int lab_collect(int argc, char **argv)
{
    const char *out = NULL;
    const char *dirs[COLLECT_MAX];
    int ndirs = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-o") == 0 || strcmp(argv[i], "--output") == 0) {
            if (++i == argc)
                return usage_error("lab collect: -o needs a folder");
            out = argv[i];
        } else if (argv[i][0] == '-') {
            return usage_error("lab collect: unknown option '%s'",
                               arg_clip(argv[i]));
        } else if (ndirs == COLLECT_MAX) {
            return usage_error("lab collect: more than %d folders",
                               COLLECT_MAX);
        } else {
            dirs[ndirs++] = argv[i];
        }
    }
    if (!out || ndirs == 0)
        return usage_error("lab collect: usage: concbench lab collect "
                           "DIR... -o OUT");
    char names[COLLECT_MAX][256];
    for (int i = 0; i < ndirs; i++) {
        folder_name(dirs[i], names[i], sizeof names[i]);
        if (!*names[i] || strcmp(names[i], ".") == 0 ||
            strcmp(names[i], "..") == 0)
            return usage_error("lab collect: '%s' has no name to tell its "
                               "machine by: give the folder by its name",
                               arg_clip(dirs[i]));
        for (int k = 0; k < i; k++)
            if (strcmp(names[i], names[k]) == 0)
                return usage_error("lab collect: two folders are called "
                                   "'%s' (%s and %s); the folder's name "
                                   "names its machine, so rename one",
                                   names[i], arg_clip(dirs[k]),
                                   arg_clip(dirs[i]));
    }
    char path[4200], tmp[4300], err[1024];
    snprintf(path, sizeof path, "%.4000s/runs.jsonl", out);
    if (access(path, F_OK) == 0)
        return usage_error("lab collect: %s already holds results; give a "
                           "new folder",
                           arg_clip(out));
    if (mkdir(out, 0777) && errno != EEXIST)
        return usage_error("lab collect: cannot make %s: %s", arg_clip(out),
                           strerror(errno));

    FILE *runs = outfile_open(path, tmp, sizeof tmp);
    char mpath[4200], mtmp[4300];
    snprintf(mpath, sizeof mpath, "%.4000s/machine.json", out);
    FILE *mf = outfile_open(mpath, mtmp, sizeof mtmp);
    if (!runs || !mf) {
        fprintf(stderr, "concbench: lab collect: cannot write in %s: %s\n",
                out, strerror(errno));
        return EXIT_RUN_ERROR;
    }
    json_t mj;
    json_init(&mj, mf, true);
    json_obj_begin(&mj, NULL);
    json_int(&mj, "schema_version", RESULTS_SCHEMA);
    json_str(&mj, "type", "machine");
    json_obj_begin(&mj, "machines");

    size_t total = 0;
    int fingerprints = 0;
    char seen[COLLECT_MAX][128];
    for (int i = 0; i < ndirs; i++) {
        res_set_t set;
        if (results_load(dirs[i], false, &set, err, sizeof err) < 0) {
            fclose(runs);
            fclose(mf);
            remove(tmp);
            remove(mtmp);
            return usage_error("lab collect: %s", err);
        }
        const char *fp = set.machine
                             ? jv_str(jv_get(set.machine, "fingerprint"))
                             : NULL;
        if (!fp)
            fp = "unknown (no machine.json)";
        bool is_new = true;
        for (int k = 0; k < fingerprints; k++)
            is_new &= strncmp(seen[k], fp, sizeof seen[k] - 1) != 0;
        if (is_new)
            snprintf(seen[fingerprints++], sizeof seen[0], "%s", fp);
        if (set.machine)
            json_value(&mj, names[i], set.machine);
        else
            json_null(&mj, names[i]);
        for (size_t r = 0; r < set.nruns; r++) {
            json_t j;
            json_init(&j, runs, false);
            write_run(&j, set.runs[r].line, names[i], fp); /* + '\n' */
        }
        total += set.nruns;
        results_free(&set);
    }
    json_obj_end(&mj);
    char fp[160];
    snprintf(fp, sizeof fp, "collected: %d folders, %d machine fingerprints",
             ndirs, fingerprints);
    json_str(&mj, "fingerprint", fp);
    json_obj_end(&mj);
    if (outfile_commit(runs, tmp, path) < 0 ||
        outfile_commit(mf, mtmp, mpath) < 0) {
        fprintf(stderr, "concbench: lab collect: cannot write in %s: %s\n",
                out, strerror(errno));
        return EXIT_RUN_ERROR;
    }
    if (results_finalize(out, NULL, 0, err, sizeof err) < 0) {
        fprintf(stderr, "concbench: lab collect: %s\n", err);
        return EXIT_RUN_ERROR;
    }
    printf("%zu runs from %d folders (%d machine fingerprints) in %s\n"
           "each run's folder is its `machine` parameter: summary.csv has "
           "one row per\nmachine and cell, and no statistic mixes two "
           "machines\n",
           total, ndirs, fingerprints, out);
    return EXIT_OK;
}
