/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Past one machine: which part of a matrix's plan one shard runs
 * (`matrix --shard K/N`), where K and N come from (the command line or a
 * cluster scheduler's environment), and joining the shards' folders back
 * into one matrix (`concbench merge`).  The essay is in runner/shard.c.
 */
#ifndef CB_RUNNER_SHARD_H
#define CB_RUNNER_SHARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The most shards a plan is split into (a Slurm array's default
 * MaxArraySize is 1001; Kubernetes allows 100,000 completions). */
#define SHARD_MAX 100000

/* Kubernetes has no variable for an Indexed Job's completions count: the
 * manifest passes spec.completions in this one (deploy/k8s/). */
#define SHARD_K8S_COUNT_ENV "CONCBENCH_SHARDS"

typedef struct shard {
    int k, n;           /* shard k of n, 1 <= k <= n */
    char source[160];   /* "--shard 2/4", "Slurm array task 3 of 0-3"... */
} shard_t;

/*
 * Parse a --shard argument: "K/N" or "auto" (from the environment: a
 * Slurm job array's SLURM_ARRAY_TASK_ID, _MIN, _MAX, _COUNT and _STEP, or
 * a Kubernetes Indexed Job's JOB_COMPLETION_INDEX with SHARD_K8S_COUNT_ENV).
 * 0, or -1 with a message (without the "concbench: " prefix) in err.
 */
int shard_parse(const char *arg, shard_t *out, char *err, size_t errlen);

/*
 * Assign each of ncells cells (est_s[i]: estimated seconds of all its
 * repetitions) to one of n shards: owner[i] in 0..n-1.  Whole cells, the
 * longest first to the least loaded shard (ties: the lower shard), in an
 * order fixed by seed, so the assignment is a function of (est_s, seed,
 * n) alone and every shard computes the same one.
 */
void shard_assign(const double *est_s, int ncells, uint64_t seed, int n,
                  int *owner);

/*
 * Join results folders into out (created; must not hold results yet).
 * The folders are shards of one plan (matrix --shard K/N, or whole
 * matrices of the same plan, each 1/1) from one machine or several:
 *   - two folders of different plans are refused;
 *   - the same shard twice from one machine fingerprint is a duplicate:
 *     refused;
 *   - a shard no folder holds is missing: reported by number in report
 *     and its planned repetitions recorded with outcome "missing" (no
 *     figures); so are those an interrupted shard's folder lacks;
 *   - runs keep their machine: when the folders span more than one
 *     fingerprint, every run is stamped with its machine's and its cell
 *     is that machine's, so no statistic pools two machines.
 * Returns 0 (complete), 1 (merged with runs missing), or -1 with a
 * message in err (nothing written then).  report gets one line per
 * finding (may be NULL).
 */
int shard_merge(const char *out, const char *const *dirs, int ndirs,
                char *report, size_t reportlen, char *err, size_t errlen);

#endif
