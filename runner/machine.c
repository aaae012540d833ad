/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Machine metadata recorded with every result, so that a figure can be
 * traced to the CPU, topology, pinning, kernel, compiler and revision that
 * produced it.
 */
#include "runner/cli.h"
#include "runner/json.h"

#include "runtime/topo.h"

#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#ifndef CB_VERSION
#define CB_VERSION "0.0.0"
#endif
#ifndef CB_GIT_REV
#define CB_GIT_REV "unknown"
#endif
#ifndef CB_BUILD_TYPE
#define CB_BUILD_TYPE "unknown"
#endif
#ifndef CB_SANITIZE_STR
#define CB_SANITIZE_STR ""
#endif
#ifndef CB_COMPILER
#define CB_COMPILER "unknown"
#endif

const char *machine_cpu_model(void)
{
    static char buf[256];
    if (!buf[0])
        rt_topo_cpu_model(buf, sizeof buf);
    return buf;
}

void machine_write_json(json_t *j, const run_spec_t *spec)
{
    char buf[256];
    struct utsname u;
    json_obj_begin(j, "machine");
    json_str(j, "cpu_model", machine_cpu_model());
    json_str(j, "topology", rt_topo_summary(buf, sizeof buf));
    json_int(j, "pus", rt_topo_npus());
    json_int(j, "cores", rt_topo_ncores());
    json_int(j, "packages", rt_topo_npackages());
    json_int(j, "numa_nodes", rt_topo_nnuma());
    json_arr_begin(j, "cpus");
    for (int i = 0; i < spec->ncpus; i++)
        json_int(j, NULL, spec->cpus[i]);
    json_arr_end(j);
    if (uname(&u) == 0) {
        snprintf(buf, sizeof buf, "%s %s %s", u.sysname, u.release,
                 u.machine);
        json_str(j, "kernel", buf);
    }
    json_str(j, "compiler", CB_COMPILER);
    json_str(j, "build_type", CB_BUILD_TYPE);
    json_str(j, "sanitize", CB_SANITIZE_STR);
    json_str(j, "concbench_version", CB_VERSION);
    json_str(j, "git_revision", CB_GIT_REV);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_str(j, "date", buf);
    json_obj_end(j);
}

FILE *outfile_open(const char *path, char *tmp, size_t tmplen)
{
    snprintf(tmp, tmplen, "%s.tmp.%d", path, (int)getpid());
    return fopen(tmp, "w");
}

int outfile_commit(FILE *f, const char *tmp, const char *path)
{
    int bad = ferror(f);
    if (fflush(f) != 0 || fsync(fileno(f)) != 0)
        bad = 1;
    if (fclose(f) != 0)
        bad = 1;
    if (bad || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}
