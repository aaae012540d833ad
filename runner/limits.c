/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * The kernel's limits on threads, read before a run.
 *
 * A run that needs more threads than the kernel will start does not fail
 * at once: the threads model created 32,000 threads in 30 s and 1.9 GB
 * before pthread_create said EAGAIN.  So the runner asks the model how
 * many threads the workload's estimate needs (cb_model_t.threads_for) and
 * compares that with what may still be started, before anything runs.
 * Every thread is a kernel task with a process id, so each of these caps
 * it, less what the machine already uses:
 *
 *   - /proc/sys/kernel/threads-max and /proc/sys/kernel/pid_max (the
 *     machine's tasks in use: the total of /proc/loadavg's fourth field);
 *   - the cgroup's pids.max (v2 folder, or v1's pids controller), less
 *     its pids.current;
 *   - RLIMIT_NPROC, which counts the tasks of the real user id, except
 *     for root, whom the kernel exempts (kernel/fork.c, copy_process);
 *   - vm.max_map_count: each thread's stack is two mappings (the stack
 *     and its guard page; glibc's allocatestack.c), less the runner's own.
 *
 * The answer is a snapshot: other programs start and end threads too, so
 * a run that passes may still meet EAGAIN, and that is reported as the
 * run's "resource" outcome (workloads/workload.c).
 */
#include "runner/cli.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* The first integer of a small file, or -1 ("max" and the like). */
static int64_t read_int(const char *path)
{
    FILE *f = fopen(path, "r");
    long long v = -1;
    if (f) {
        if (fscanf(f, "%lld", &v) != 1)
            v = -1;
        fclose(f);
    }
    return v;
}

/* Kernel tasks (threads) alive on the machine now, or -1. */
static int64_t tasks_in_use(void)
{
    FILE *f = fopen("/proc/loadavg", "r");
    long long total = -1;
    if (f) {
        if (fscanf(f, "%*s %*s %*s %*d/%lld", &total) != 1)
            total = -1;
        fclose(f);
    }
    return total;
}

/* Tasks of real user uid, summed over /proc/PID/status. */
static int64_t tasks_of_user(uid_t uid)
{
    DIR *d = opendir("/proc");
    if (!d)
        return 0;
    int64_t n = 0;
    struct dirent *e;
    char path[300], line[256];
    while ((e = readdir(d))) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof path, "/proc/%s/status", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        long long real = -1, threads = 0;
        while (fgets(line, sizeof line, f)) {
            if (sscanf(line, "Uid: %lld", &real) == 1)
                continue;
            if (sscanf(line, "Threads: %lld", &threads) == 1)
                break;
        }
        fclose(f);
        if (real == (long long)uid)
            n += threads;
    }
    closedir(d);
    return n;
}

/* The cgroup's pids.max less pids.current, or -1 when unlimited. */
static int64_t cgroup_pids_left(void)
{
    FILE *f = fopen("/proc/self/cgroup", "r");
    if (!f)
        return -1;
    char line[4096], path[4400];
    int64_t left = -1;
    while (left < 0 && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        char *rel = NULL;
        if (strncmp(line, "0::", 3) == 0) {
            rel = line + 3;
            snprintf(path, sizeof path, "/sys/fs/cgroup%s", rel);
        } else if ((rel = strstr(line, ":pids:"))) {
            rel += 6;
            snprintf(path, sizeof path, "/sys/fs/cgroup/pids%s", rel);
        } else {
            continue;
        }
        size_t n = strlen(path);
        snprintf(path + n, sizeof path - n, "/pids.max");
        int64_t max = read_int(path);
        snprintf(path + n, sizeof path - n, "/pids.current");
        int64_t cur = read_int(path);
        if (max >= 0)
            left = max - (cur > 0 ? cur : 0);
    }
    fclose(f);
    return left;
}

/* Lines of /proc/self/maps: the runner's mappings, as a child starts. */
static int64_t maps_in_use(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return 0;
    int64_t n = 0;
    int c;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

static void take(int64_t left, const char *what, int64_t *best, char *which,
                 size_t len)
{
    if (left < 0)
        left = 0;
    if (*best < 0 || left < *best) {
        *best = left;
        snprintf(which, len, "%s", what);
    }
}

int64_t limits_threads_left(char *which, size_t len)
{
    int64_t best = -1, used = tasks_in_use();
    char what[160];
    which[0] = '\0';
    if (used < 0)
        used = 0;
    int64_t v = read_int("/proc/sys/kernel/threads-max");
    if (v > 0) {
        snprintf(what, sizeof what,
                 "kernel.threads-max %" PRId64 ", %" PRId64 " in use", v,
                 used);
        take(v - used, what, &best, which, len);
    }
    if ((v = read_int("/proc/sys/kernel/pid_max")) > 0) {
        snprintf(what, sizeof what,
                 "kernel.pid_max %" PRId64 ", %" PRId64 " in use", v, used);
        take(v - used, what, &best, which, len);
    }
    if ((v = cgroup_pids_left()) >= 0) {
        snprintf(what, sizeof what, "the cgroup's pids.max, %" PRId64 " left",
                 v);
        take(v, what, &best, which, len);
    }
    struct rlimit rl;
    if (geteuid() != 0 && getrlimit(RLIMIT_NPROC, &rl) == 0 &&
        rl.rlim_cur != RLIM_INFINITY) {
        int64_t mine = tasks_of_user(getuid());
        snprintf(what, sizeof what,
                 "ulimit -u %llu, %" PRId64 " in use by this user",
                 (unsigned long long)rl.rlim_cur, mine);
        take((int64_t)rl.rlim_cur - mine, what, &best, which, len);
    }
    if ((v = read_int("/proc/sys/vm/max_map_count")) > 0) {
        int64_t maps = maps_in_use();
        snprintf(what, sizeof what,
                 "vm.max_map_count %" PRId64 ", two mappings a thread", v);
        take((v - maps) / 2, what, &best, which, len);
    }
    return best;
}
