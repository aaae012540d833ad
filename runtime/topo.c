/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Topology, loaded once.
 *
 * The allowed set is hwloc's allowed cpuset (cgroups) intersected with the
 * process's CPU binding (taskset, sched_setaffinity) as it is when the
 * topology is first loaded.  hwloc reads the process binding on Linux as
 * the union of its threads' bindings, so a worker that pinned itself
 * before the first topology call does not shrink the set, but a process
 * whose every thread is pinned does: call rt_topo_init early.
 *
 * Counts are of objects that contain at least one allowed PU, and cores
 * are numbered densely in topology order over those, so a core index is
 * always in [0, rt_topo_ncores()).  A machine where hwloc finds no core,
 * package or NUMA object (some VMs and ARM boards) counts each PU as its
 * own core and the whole machine as one package and one NUMA node.
 *
 * Rejected: HWLOC_TOPOLOGY_FLAG_RESTRICT_TO_CPUBINDING, which does the
 * same restriction inside hwloc but exists only from hwloc 2.5 on, and
 * plain sched_getaffinity(0), which reads the calling thread's binding and
 * so would shrink the machine to one PU when a pinned thread loads first.
 *
 * Invariants (after a successful load, read-only for ever):
 *   - pus[0 .. npus) are the allowed PUs' OS indices in topology order,
 *     without duplicates, and npus >= 1;
 *   - core_of[pu] is the dense core index of every allowed PU, -1 for any
 *     other OS index below max_os;
 *   - ncores, npackages and nnuma are >= 1.
 */
#include "runtime/topo.h"

#include "runtime/common.h"

#include <errno.h>
#include <hwloc.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct {
    int err; /* 0 or -errno from the load */
    hwloc_topology_t topo;
    hwloc_bitmap_t allowed;
    int npus, ncores, npackages, nnuma;
    int pus[RT_TOPO_MAX_PUS];
    int max_os;   /* one past the highest allowed OS index */
    int *core_of; /* max_os entries */
} g;

static pthread_once_t g_once = PTHREAD_ONCE_INIT;

/* Objects of one type whose cpuset meets the allowed set. */
static int count_allowed(hwloc_obj_type_t type)
{
    int n = 0, total = hwloc_get_nbobjs_by_type(g.topo, type);
    for (int i = 0; i < total; i++) {
        hwloc_obj_t o = hwloc_get_obj_by_type(g.topo, type, i);
        if (o->cpuset && hwloc_bitmap_intersects(o->cpuset, g.allowed))
            n++;
    }
    return n;
}

static int load_allowed(void)
{
    hwloc_const_cpuset_t cg = hwloc_topology_get_allowed_cpuset(g.topo);
    g.allowed = hwloc_bitmap_dup(cg);
    hwloc_bitmap_t bind = hwloc_bitmap_alloc();
    if (!g.allowed || !bind) {
        hwloc_bitmap_free(bind);
        return -ENOMEM;
    }
    if (hwloc_get_cpubind(g.topo, bind, HWLOC_CPUBIND_PROCESS) == 0) {
        hwloc_bitmap_and(g.allowed, g.allowed, bind);
    } else {
        /* No process binding support: the calling thread's is the best. */
        cpu_set_t cs;
        if (sched_getaffinity(0, sizeof cs, &cs) == 0) {
            hwloc_bitmap_zero(bind);
            for (int c = 0; c < CPU_SETSIZE; c++)
                if (CPU_ISSET(c, &cs))
                    hwloc_bitmap_set(bind, (unsigned)c);
            hwloc_bitmap_and(g.allowed, g.allowed, bind);
        }
    }
    hwloc_bitmap_free(bind);
    return 0;
}

static int load_pus(void)
{
    int total = hwloc_get_nbobjs_by_type(g.topo, HWLOC_OBJ_PU);
    for (int i = 0; i < total; i++) {
        hwloc_obj_t pu = hwloc_get_obj_by_type(g.topo, HWLOC_OBJ_PU, i);
        if (!hwloc_bitmap_isset(g.allowed, pu->os_index))
            continue;
        if (g.npus == RT_TOPO_MAX_PUS || pu->os_index >= INT_MAX)
            return -E2BIG;
        g.pus[g.npus++] = (int)pu->os_index;
        if ((int)pu->os_index + 1 > g.max_os)
            g.max_os = (int)pu->os_index + 1;
    }
    if (g.npus == 0)
        return -ENODEV;
    g.core_of = malloc((size_t)g.max_os * sizeof *g.core_of);
    if (!g.core_of)
        return -ENOMEM;
    for (int i = 0; i < g.max_os; i++)
        g.core_of[i] = -1;
    /* Dense core numbers in topology order, cores without PUs skipped. */
    int ncores = 0;
    int total_cores = hwloc_get_nbobjs_by_type(g.topo, HWLOC_OBJ_CORE);
    for (int i = 0; i < total_cores; i++) {
        hwloc_obj_t core = hwloc_get_obj_by_type(g.topo, HWLOC_OBJ_CORE, i);
        if (!core->cpuset || !hwloc_bitmap_intersects(core->cpuset, g.allowed))
            continue;
        unsigned id;
        hwloc_bitmap_foreach_begin(id, core->cpuset)
        {
            if ((int)id < g.max_os && hwloc_bitmap_isset(g.allowed, id))
                g.core_of[id] = ncores;
        }
        hwloc_bitmap_foreach_end();
        ncores++;
    }
    /* PUs outside any core object stand for a core each. */
    for (int j = 0; j < g.npus; j++)
        if (g.core_of[g.pus[j]] < 0)
            g.core_of[g.pus[j]] = ncores++;
    g.ncores = ncores;
    return 0;
}

static void load(void)
{
    int rc;
    if (hwloc_topology_init(&g.topo) < 0) {
        g.err = errno ? -errno : -ENOMEM;
        return;
    }
    if (hwloc_topology_load(g.topo) < 0) {
        rc = errno ? -errno : -EIO;
        goto fail;
    }
    rc = load_allowed();
    if (rc < 0)
        goto fail;
    rc = load_pus();
    if (rc < 0)
        goto fail;
    g.npackages = count_allowed(HWLOC_OBJ_PACKAGE);
    if (g.npackages < 1)
        g.npackages = 1;
    g.nnuma = count_allowed(HWLOC_OBJ_NUMANODE);
    if (g.nnuma < 1)
        g.nnuma = 1;
    return;

fail:
    free(g.core_of);
    g.core_of = NULL;
    hwloc_bitmap_free(g.allowed);
    g.allowed = NULL;
    hwloc_topology_destroy(g.topo);
    g.npus = 0;
    g.err = rc;
}

int rt_topo_init(void)
{
    int rc = pthread_once(&g_once, load);
    RT_ASSERT(rc == 0);
    return g.err;
}

/* Every getter needs a topology; without one nothing here can answer. */
static void need_topo(void)
{
    int rc = rt_topo_init();
    if (rc < 0)
        rt_panic("topo: cannot load the hwloc topology: %s", strerror(-rc));
}

int rt_topo_npus(void)
{
    need_topo();
    return g.npus;
}

int rt_topo_ncores(void)
{
    need_topo();
    return g.ncores;
}

int rt_topo_npackages(void)
{
    need_topo();
    return g.npackages;
}

int rt_topo_nnuma(void)
{
    need_topo();
    return g.nnuma;
}

int rt_topo_pu_os_index(int i)
{
    need_topo();
    RT_ASSERT(i >= 0 && i < g.npus);
    return g.pus[i];
}

static bool pu_allowed(long pu)
{
    return pu >= 0 && pu < g.max_os && g.core_of[pu] >= 0;
}

int rt_topo_core_of_pu(int pu)
{
    need_topo();
    return pu_allowed(pu) ? g.core_of[pu] : -1;
}

/* ---- cpulists ------------------------------------------------------ */

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* The allowed PUs as a cpulist ("0-3,8"), for error messages. */
static const char *allowed_list(char *buf, size_t len)
{
    if (hwloc_bitmap_list_snprintf(buf, len, g.allowed) < 0)
        snprintf(buf, len, "?");
    return buf;
}

/*
 * Numbers longer than this are rejected outright rather than parsed into
 * something that overflows; no machine has a billion PUs.
 */
#define MAX_DIGITS 9

/* Parse digits at *s into *out; false when there are none or too many. */
static bool parse_num(const char **s, long *out)
{
    const char *p = *s;
    long v = 0;
    int nd = 0;
    while (*p >= '0' && *p <= '9') {
        if (++nd > MAX_DIGITS)
            return false;
        v = v * 10 + (*p++ - '0');
    }
    if (nd == 0)
        return false;
    *s = p;
    *out = v;
    return true;
}

int rt_topo_parse_cpulist(const char *list, int *pus, int max, char *err,
                          size_t errlen)
{
    char allowed[256];
    int rc = rt_topo_init();
    if (rc < 0) {
        set_err(err, errlen, "cannot load the hwloc topology: %s",
                strerror(-rc));
        return rc;
    }
    if (!list || !*list) {
        set_err(err, errlen, "empty cpu list (allowed PUs: %s)",
                allowed_list(allowed, sizeof allowed));
        return -EINVAL;
    }
    /* Duplicates are dropped; seen[] is indexed by allowed OS index. */
    bool *seen = calloc((size_t)g.max_os, sizeof *seen);
    if (!seen)
        return -ENOMEM;
    int n = 0;
    const char *s = list;
    for (;;) {
        long lo, hi;
        const char *item = s;
        if (!parse_num(&s, &lo)) {
            set_err(err, errlen,
                    "bad cpu list \"%s\": expected a PU number of at most %d "
                    "digits at offset %td",
                    list, MAX_DIGITS, s - list);
            rc = -EINVAL;
            goto out;
        }
        hi = lo;
        if (*s == '-') {
            s++;
            if (!parse_num(&s, &hi)) {
                set_err(err, errlen,
                        "bad cpu list \"%s\": expected a PU number of at "
                        "most %d digits at offset %td",
                        list, MAX_DIGITS, s - list);
                rc = -EINVAL;
                goto out;
            }
            if (hi < lo) {
                set_err(err, errlen,
                        "bad cpu list \"%s\": range %.*s runs backwards", list,
                        (int)(s - item), item);
                rc = -EINVAL;
                goto out;
            }
        }
        /*
         * Every PU of the range must exist; stopping at the first missing
         * one bounds the loop by the number of allowed PUs.
         */
        for (long pu = lo; pu <= hi; pu++) {
            if (!pu_allowed(pu)) {
                set_err(err, errlen,
                        "PU %ld does not exist or is not allowed for this "
                        "process (allowed PUs: %s)",
                        pu, allowed_list(allowed, sizeof allowed));
                rc = -EINVAL;
                goto out;
            }
            if (seen[pu])
                continue;
            if (n == max) {
                set_err(err, errlen, "cpu list \"%s\" names more than %d PUs",
                        list, max);
                rc = -ENOSPC;
                goto out;
            }
            seen[pu] = true;
            pus[n++] = (int)pu;
        }
        if (*s == '\0')
            break;
        if (*s != ',') {
            set_err(err, errlen,
                    "bad cpu list \"%s\": unexpected '%c' at offset %td", list,
                    *s, s - list);
            rc = -EINVAL;
            goto out;
        }
        s++;
    }
    rc = n;
out:
    free(seen);
    return rc;
}

/* ---- pinning ------------------------------------------------------- */

int rt_topo_pin_self_set(const int *pus, int n)
{
    int rc = rt_topo_init();
    if (rc < 0)
        return rc;
    if (n < 1)
        return -EINVAL;
    hwloc_bitmap_t set = hwloc_bitmap_alloc();
    if (!set)
        return -ENOMEM;
    for (int i = 0; i < n; i++) {
        if (!pu_allowed(pus[i])) {
            rc = -EINVAL;
            goto out;
        }
        hwloc_bitmap_set(set, (unsigned)pus[i]);
    }
    /*
     * Binding only reads the topology, and hwloc allows concurrent
     * read-only use once it is loaded, so no lock is needed here.
     */
    if (hwloc_set_cpubind(g.topo, set, HWLOC_CPUBIND_THREAD) < 0)
        rc = errno ? -errno : -EINVAL;
out:
    hwloc_bitmap_free(set);
    return rc;
}

int rt_topo_pin_self(int pu)
{
    return rt_topo_pin_self_set(&pu, 1);
}

/* ---- descriptions -------------------------------------------------- */

const char *rt_topo_summary(char *buf, size_t len)
{
    if (len == 0)
        return buf;
    if (rt_topo_init() < 0) {
        snprintf(buf, len, "topology unavailable");
        return buf;
    }
    snprintf(buf, len, "%d PU%s, %d core%s, %d package%s, %d NUMA node%s",
             g.npus, g.npus == 1 ? "" : "s", g.ncores, g.ncores == 1 ? "" : "s",
             g.npackages, g.npackages == 1 ? "" : "s", g.nnuma,
             g.nnuma == 1 ? "" : "s");
    return buf;
}

static bool cpuinfo_model(char *buf, size_t len)
{
    FILE *f = fopen("/proc/cpuinfo", "re");
    if (!f)
        return false;
    char line[512];
    bool found = false;
    while (!found && fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) != 0)
            continue;
        const char *v = strchr(line, ':');
        if (!v)
            continue;
        v++;
        while (*v == ' ' || *v == '\t')
            v++;
        size_t n = strcspn(v, "\n");
        if (n == 0)
            continue;
        snprintf(buf, len, "%.*s", (int)n, v);
        found = true;
    }
    fclose(f);
    return found;
}

const char *rt_topo_cpu_model(char *buf, size_t len)
{
    if (len == 0)
        return buf;
    if (cpuinfo_model(buf, len))
        return buf;
    if (rt_topo_init() == 0) {
        hwloc_obj_t pkg = hwloc_get_obj_by_type(g.topo, HWLOC_OBJ_PACKAGE, 0);
        const char *m =
            pkg ? hwloc_obj_get_info_by_name(pkg, "CPUModel") : NULL;
        if (!m)
            m = hwloc_obj_get_info_by_name(hwloc_get_root_obj(g.topo),
                                           "CPUModel");
        if (m) {
            snprintf(buf, len, "%s", m);
            return buf;
        }
    }
    snprintf(buf, len, "unknown");
    return buf;
}
