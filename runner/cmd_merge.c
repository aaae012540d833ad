/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * concbench merge OUT DIR...: the shards of a matrix (matrix --shard K/N,
 * run by a cluster scheduler or by hand on several machines) joined into
 * one results folder.  What is refused and what is recorded is in
 * runner/shard.c; this file is the command line.
 */
#include "runner/cli.h"
#include "runner/shard.h"

#include <stdio.h>
#include <string.h>

static const char merge_usage[] =
    "usage: concbench merge OUT DIR...\n"
    "\n"
    "Joins results folders of one plan into OUT: the shards of a matrix\n"
    "run with --shard K/N (a Slurm job array, a Kubernetes Indexed Job, or\n"
    "by hand), or whole matrices of the same arguments from several\n"
    "machines.  OUT gets runs.jsonl, machine.json and the derived files,\n"
    "as a matrix folder.\n"
    "\n"
    "  - a shard no DIR holds is reported by number and its planned runs\n"
    "    are recorded with outcome \"missing\" (never invented);\n"
    "  - DIRs of different plans (other cells, --reps, --warmup, --seed,\n"
    "    --order, --timeout, --metric or concbench revision), one plan\n"
    "    split two ways, or the same shard twice from one machine are\n"
    "    refused;\n"
    "  - runs keep their machine: from more than one machine fingerprint,\n"
    "    each run is stamped with its machine's, its cell is that\n"
    "    machine's (\"@fingerprint model workload ...\"), and summary, plot\n"
    "    and compare never pool two machines.\n"
    "\n"
    "Exit: 0 merged and complete, 1 merged with runs missing (a shard, or\n"
    "part of an interrupted one), 2 usage or\n"
    "a refused set (nothing written).\n";

int cmd_merge(int argc, char **argv)
{
    if (argc == 2 && is_help(argv[1])) {
        fputs(merge_usage, stdout);
        return EXIT_OK;
    }
    for (int i = 1; i < argc; i++)
        if (argv[i][0] == '-' && argv[i][1])
            return usage_error("merge: unknown option '%.40s'; usage: "
                               "concbench merge OUT DIR...",
                               argv[i]);
    if (argc < 3)
        return usage_error("merge: usage: concbench merge OUT DIR... (at "
                           "least one folder to merge)");
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], argv[1]) == 0)
            return usage_error("merge: OUT %.200s is also a folder to "
                               "merge; merge into a new folder",
                               argv[1]);
        for (int k = 2; k < i; k++)
            if (strcmp(argv[i], argv[k]) == 0)
                return usage_error("merge: %.200s is given twice", argv[i]);
    }
    char report[8192], err[2048];
    int rc = shard_merge(argv[1], (const char *const *)argv + 2, argc - 2,
                         report, sizeof report, err, sizeof err);
    if (rc < 0)
        return usage_error("merge: %s", err);
    for (char *save = NULL, *l = strtok_r(report, "\n", &save); l;
         l = strtok_r(NULL, "\n", &save))
        fprintf(stderr, "concbench: merge: %s\n", l);
    fprintf(stderr, "concbench: merge: %s %s\n", argv[1],
            rc ? "is incomplete (runs missing)" : "is complete");
    return rc ? EXIT_RUN_ERROR : EXIT_OK;
}
