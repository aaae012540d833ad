/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Machine topology and thread pinning through hwloc.
 *
 * PUs are named by their OS index (what `taskset`, `--cpus` and
 * /proc/cpuinfo call a CPU), and only PUs in this process's allowed cpuset
 * (cgroups, taskset) count as existing.  The topology is loaded once, on
 * first use, and is read-only afterwards, so every function here is
 * thread-safe.  The allowed set is the process's binding at that first
 * load (the union of its threads' bindings), so pinning threads later does
 * not shrink it; call rt_topo_init before pinning every thread.  The
 * getters cannot report a failed load and panic instead: a caller that
 * wants the error calls rt_topo_init first.
 */
#ifndef RT_TOPO_H
#define RT_TOPO_H

#include <stddef.h>

#define RT_TOPO_MAX_PUS 4096

/* Load the topology; 0 or -errno.  Other calls do it on demand. */
int rt_topo_init(void);

/* Allowed PUs, cores, packages and NUMA nodes (>= 1 each). */
int rt_topo_npus(void);
int rt_topo_ncores(void);
int rt_topo_npackages(void);
int rt_topo_nnuma(void);
/* OS index of the i-th allowed PU in topology order (0 <= i < npus). */
int rt_topo_pu_os_index(int i);
/*
 * Core the PU with OS index pu belongs to, or -1 when pu is not allowed.
 * Cores are numbered densely in topology order over those with an allowed
 * PU, so the result is in [0, rt_topo_ncores()).
 */
int rt_topo_core_of_pu(int pu);

/*
 * Parse a hwloc/taskset-style list ("0", "0-3", "0,2,4-7") into OS indices,
 * in the order given, without duplicates.  Fails with -EINVAL (and a message
 * in err) on a malformed list or a PU that does not exist or is not allowed,
 * and with -ENOSPC when there are more than max PUs.  err may be NULL.
 * Returns the number of PUs.
 */
int rt_topo_parse_cpulist(const char *list, int *pus, int max, char *err,
                          size_t errlen);

/* Bind the calling thread to one PU (OS index); 0 or -errno. */
int rt_topo_pin_self(int pu);
/*
 * Bind the calling thread to a set of PUs; 0 or -errno (-EINVAL when n < 1
 * or a PU is not allowed).
 */
int rt_topo_pin_self_set(const int *pus, int n);

/* "2 PUs, 2 cores, 1 package, 1 NUMA node" into buf; returns buf. */
const char *rt_topo_summary(char *buf, size_t len);
/* CPU model name ("model name" of /proc/cpuinfo, or hwloc's CPUModel). */
const char *rt_topo_cpu_model(char *buf, size_t len);

#endif
