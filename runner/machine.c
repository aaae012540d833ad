/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Machine metadata recorded with every result, so that a figure can be
 * traced to the CPU, topology, pinning, kernel, compiler and revision that
 * produced it.
 */
#include "runner/cli.h"
#include "runner/json.h"
#include "runner/results.h"

#include "runtime/topo.h"

#include <dlfcn.h>
#include <errno.h>
#include <gnu/libc-version.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* The malloc this process runs on: jemalloc (linked, or preloaded) answers
 * mallctl("version"); otherwise it is glibc's. */
static const char *allocator(char *buf, size_t len)
{
    typedef int (*mallctl_fn)(const char *, void *, size_t *, void *, size_t);
    mallctl_fn mallctl = (mallctl_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "mallctl");
    const char *version = NULL;
    size_t size = sizeof version;
    if (mallctl && mallctl("version", &version, &size, NULL, 0) == 0 &&
        version)
        snprintf(buf, len, "jemalloc %s", version);
    else
        snprintf(buf, len, "glibc %s", gnu_get_libc_version());
    return buf;
}

/* The build that produced a result, and when. */
static void write_build(json_t *j)
{
    char buf[64];
    json_str(j, "compiler", CB_COMPILER);
    json_str(j, "allocator", allocator(buf, sizeof buf));
    json_str(j, "build_type", CB_BUILD_TYPE);
    json_str(j, "sanitize", CB_SANITIZE_STR);
    json_str(j, "concbench_version", CB_VERSION);
    json_str(j, "git_revision", CB_GIT_REV);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_str(j, "date", buf);
}

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
    write_build(j);
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

int mkdir_p(const char *dir)
{
    char buf[4400];
    snprintf(buf, sizeof buf, "%s", dir);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0777) < 0 && errno != EEXIST)
                return -errno;
            *p = '/';
        }
    if (mkdir(buf, 0777) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

/* ---- the full description (machine.json), fingerprint and warnings ---- */

#ifndef CB_CFLAGS
#define CB_CFLAGS ""
#endif
#ifndef CB_GIT_DIRTY
#define CB_GIT_DIRTY 0
#endif

/* First line of a small file, without its newline; NULL when unreadable. */
static const char *read_line(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *ok = fgets(buf, (int)len, f);
    fclose(f);
    if (!ok)
        return NULL;
    buf[strcspn(buf, "\n")] = '\0';
    return buf;
}

/* The "flags" line of /proc/cpuinfo (x86) or "Features" (arm64). */
static const char *cpu_flags(char *buf, size_t len)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[8192];
    const char *out = NULL;
    while (f && fgets(line, sizeof line, f)) {
        if (strncmp(line, "flags", 5) != 0 &&
            strncmp(line, "Features", 8) != 0)
            continue;
        char *colon = strchr(line, ':');
        if (!colon)
            continue;
        colon += 1 + (colon[1] == ' ');
        colon[strcspn(colon, "\n")] = '\0';
        snprintf(buf, len, "%s", colon);
        out = buf;
        break;
    }
    if (f)
        fclose(f);
    return out;
}

static bool has_flag(const char *flags, const char *flag)
{
    size_t n = strlen(flag);
    for (const char *p = flags; p && (p = strstr(p, flag)); p += n)
        if ((p == flags || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
            return true;
    return false;
}

/* "kvm", "vmware"... when this looks like a virtual machine, else NULL. */
static const char *vm_kind(char *buf, size_t len)
{
    char flags[8192];
    const char *vendor = read_line("/sys/class/dmi/id/sys_vendor", buf, len);
    static const char *const known[] = {"QEMU", "KVM", "VMware", "Xen",
                                        "Microsoft", "innotek", "Amazon EC2",
                                        "Google", "Firecracker"};
    for (size_t i = 0; vendor && i < sizeof known / sizeof known[0]; i++)
        if (strstr(vendor, known[i]))
            return vendor;
    if (has_flag(cpu_flags(flags, sizeof flags), "hypervisor")) {
        snprintf(buf, len, "hypervisor (cpuid)");
        return buf;
    }
    return NULL;
}

/* CPUs the cgroup allows per period (cpu.max "quota period"), or 0. */
static double cgroup_cpu_limit(void)
{
    char buf[128];
    long long quota, period;
    if (!read_line("/sys/fs/cgroup/cpu.max", buf, sizeof buf) ||
        sscanf(buf, "%lld %lld", &quota, &period) != 2 || period <= 0)
        return 0; /* "max" (no limit) fails the first %lld */
    return (double)quota / (double)period;
}

static const char *governor(char *buf, size_t len)
{
    return read_line("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor",
                     buf, len);
}

void machine_write_full(json_t *j, const run_spec_t *spec, uint64_t seed,
                        const char *placement)
{
    char buf[8192];
    struct utsname u;
    json_obj_begin(j, NULL);
    json_int(j, "schema_version", 1);
    json_str(j, "type", "machine");
    json_str(j, "fingerprint", machine_fingerprint(spec));
    json_str(j, "cpu_model", machine_cpu_model());
    json_str(j, "cpu_flags", cpu_flags(buf, sizeof buf));
    json_str(j, "topology", rt_topo_summary(buf, sizeof buf));
    json_int(j, "pus", rt_topo_npus());
    json_int(j, "cores", rt_topo_ncores());
    json_int(j, "packages", rt_topo_npackages());
    json_int(j, "numa_nodes", rt_topo_nnuma());
    json_arr_begin(j, "pu_core"); /* [OS index, core] per allowed PU */
    for (int i = 0; i < rt_topo_npus(); i++) {
        json_arr_begin(j, NULL);
        json_int(j, NULL, rt_topo_pu_os_index(i));
        json_int(j, NULL, rt_topo_core_of_pu(rt_topo_pu_os_index(i)));
        json_arr_end(j);
    }
    json_arr_end(j);
    json_arr_begin(j, "cpus");
    for (int i = 0; i < spec->ncpus; i++)
        json_int(j, NULL, spec->cpus[i]);
    json_arr_end(j);
    json_str(j, "placement", placement);
    double lim = cgroup_cpu_limit();
    if (lim > 0)
        json_f64(j, "cgroup_cpu_limit", lim);
    else
        json_null(j, "cgroup_cpu_limit");
    json_str(j, "cgroup_cpuset",
             read_line("/sys/fs/cgroup/cpuset.cpus.effective", buf,
                       sizeof buf));
    json_str(j, "governor", governor(buf, sizeof buf));
    const char *t = read_line("/sys/devices/system/cpu/intel_pstate/no_turbo",
                              buf, sizeof buf);
    if (t)
        json_str(j, "turbo", strcmp(t, "1") == 0 ? "off" : "on");
    else if ((t = read_line("/sys/devices/system/cpu/cpufreq/boost", buf,
                            sizeof buf)))
        json_str(j, "turbo", strcmp(t, "1") == 0 ? "on" : "off");
    else
        json_null(j, "turbo");
    json_str(j, "vm", vm_kind(buf, sizeof buf));
    if (uname(&u) == 0) {
        snprintf(buf, sizeof buf, "%s %s %s", u.sysname, u.release,
                 u.machine);
        json_str(j, "kernel", buf);
    }
    json_str(j, "loadavg", read_line("/proc/loadavg", buf, sizeof buf));
    json_str(j, "cflags", CB_CFLAGS);
    json_bool(j, "git_dirty", CB_GIT_DIRTY);
    json_int(j, "seed", (int64_t)seed);
    write_build(j);
    json_obj_end(j);
}

const char *machine_fingerprint(const run_spec_t *spec)
{
    /* FNV-1a over what decides whether two figures can be compared: the
     * same CPU and topology, the same PUs, kernel, virtualisation, CPU
     * limit and sanitizers.  Not the revision or the compiler: comparing
     * those is what compare is for. */
    static char out[17];
    char buf[8192], vm[256];
    struct utsname u;
    if (uname(&u) != 0)
        memset(&u, 0, sizeof u);
    const char *v = vm_kind(vm, sizeof vm);
    int n = snprintf(buf, sizeof buf, "%s|%d|%d|%d|%d|%s|%s|%s|%g|%s|",
                     machine_cpu_model(), rt_topo_npus(), rt_topo_ncores(),
                     rt_topo_npackages(), rt_topo_nnuma(), u.release,
                     u.machine, v ? v : "-", cgroup_cpu_limit(),
                     CB_SANITIZE_STR);
    for (int i = 0; i < spec->ncpus && n > 0 && (size_t)n < sizeof buf - 16;
         i++)
        n += snprintf(buf + n, sizeof buf - (size_t)n, "%d,", spec->cpus[i]);
    uint64_t h = 0xcbf29ce484222325ull;
    for (const char *p = buf; *p; p++)
        h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
    snprintf(out, sizeof out, "%016llx", (unsigned long long)h);
    return out;
}

static void add(char *buf, size_t len, const char *line)
{
    size_t n = strlen(buf);
    snprintf(buf + n, len - n, "%s\n", line);
}

void machine_noise_warnings(const run_spec_t *spec, char *out, size_t len)
{
    char buf[512], line[1024];
    const char *v = vm_kind(buf, sizeof buf);
    if (v) {
        snprintf(line, sizeof line,
                 "this is a virtual machine (%s): neighbours can take CPU "
                 "time; publish figures from bare metal, or use more "
                 "--reps and compare with `concbench ab`",
                 v);
        add(out, len, line);
    }
    const char *g = governor(buf, sizeof buf);
    if (g && strcmp(g, "performance") != 0) {
        snprintf(line, sizeof line,
                 "the CPU frequency governor is '%s', not 'performance': "
                 "frequency changes add noise (cpupower frequency-set -g "
                 "performance)",
                 g);
        add(out, len, line);
    }
    double lim = cgroup_cpu_limit();
    if (lim > 0 && lim < spec->ncpus) {
        snprintf(line, sizeof line,
                 "the cgroup allows %.2f CPUs but %d PUs are used: the "
                 "kernel will throttle; use --cpus with at most %d PUs",
                 lim, spec->ncpus, (int)lim > 0 ? (int)lim : 1);
        add(out, len, line);
    }
    for (int i = 0; i < spec->ncpus; i++)
        for (int k = i + 1; k < spec->ncpus; k++)
            if (rt_topo_core_of_pu(spec->cpus[i]) ==
                rt_topo_core_of_pu(spec->cpus[k])) {
                snprintf(line, sizeof line,
                         "PUs %d and %d are SMT siblings sharing one core: "
                         "workers pinned there compete for it "
                         "(--placement scatter spreads them)",
                         spec->cpus[i], spec->cpus[k]);
                add(out, len, line);
                i = k = spec->ncpus; /* one such warning is enough */
            }
    double load;
    if (read_line("/proc/loadavg", buf, sizeof buf) &&
        sscanf(buf, "%lf", &load) == 1 && load > 0.5) {
        snprintf(line, sizeof line,
                 "the load average is %.2f before the first run: other "
                 "processes share the PUs; stop them or expect noise",
                 load);
        add(out, len, line);
    }
}
