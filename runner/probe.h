/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * The drift probe: a fixed piece of work, the same in every build, timed
 * on the matrix's PUs before every repetition and kept in DIR/probe.jsonl,
 * so that `compare` can tell a slower machine from slower code (see
 * runner/probe.c for why and how).
 */
#ifndef CB_RUNNER_PROBE_H
#define CB_RUNNER_PROBE_H

#include <stddef.h>
#include <stdint.h>

typedef struct probe probe_t;

/* One timing of the probe: the whole (first start to last end over the
 * PUs) and its three parts, each the slowest PU's. */
typedef struct probe_sample {
    int64_t wall_ns, compute_ns, memory_ns, fault_ns;
} probe_sample_t;

/* A probe on these PUs (OS indices), warmed up once; NULL when out of
 * memory or threads.  Allocates its buffers on the PUs themselves. */
probe_t *probe_open(const int *pus, int npus);
/* Time the probe once; 0, or -errno when a thread could not start. */
int probe_time(probe_t *p, probe_sample_t *out);
void probe_close(probe_t *p);

/* The probe's work, numbered: probes of two numbers measure different
 * work and are never compared.  Change it with any of the sizes. */
#define PROBE_VERSION 1

/* Append one sample to DIR/probe.jsonl, tagged with the order of the
 * repetition it precedes and PROBE_VERSION; 0 or -errno. */
int probe_append(const char *dir, int order, const probe_sample_t *s);

/* The wall times of DIR/probe.jsonl into *out (malloc'd, *n of them) and
 * their version: 0; 1 when the folder has no probe (older results, a
 * hyperfine export, instruction counts); -1 with a message in err on a
 * malformed file or one that mixes versions. */
int probe_load(const char *dir, double **out, size_t *n, int *version,
               char *err, size_t errlen);

#endif
