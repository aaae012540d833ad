/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
#include "runtime/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int64_t status_field_kib(const char *field)
{
    char buf[4096];
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    int saved = errno;
    close(fd);
    if (n <= 0)
        return n < 0 ? -saved : -EIO;
    buf[n] = '\0';
    size_t flen = strlen(field);
    for (char *line = buf; line && *line; line = strchr(line, '\n')) {
        if (*line == '\n')
            line++;
        if (strncmp(line, field, flen) == 0 && line[flen] == ':')
            return strtoll(line + flen + 1, NULL, 10);
    }
    return -ENOENT;
}

int64_t rt_mem_rss_bytes(void)
{
    int64_t kib = status_field_kib("VmRSS");
    return kib < 0 ? kib : kib * 1024;
}

int64_t rt_mem_peak_rss_bytes(void)
{
    int64_t kib = status_field_kib("VmHWM");
    return kib < 0 ? kib : kib * 1024;
}

int rt_mem_reset_peak(void)
{
    int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    /* "5" resets the peak RSS counter (proc(5)). */
    ssize_t n = write(fd, "5", 1);
    int saved = errno;
    close(fd);
    return n == 1 ? 0 : -saved;
}

void rt_mem_prefault(void *p, size_t len)
{
#ifdef MADV_POPULATE_WRITE
    long page = sysconf(_SC_PAGESIZE);
    uintptr_t mask = (uintptr_t)(page > 0 ? page : 4096) - 1;
    uintptr_t lo = ((uintptr_t)p + mask) & ~mask;
    uintptr_t hi = ((uintptr_t)p + len) & ~mask;
    /* An error (EINVAL on older kernels) leaves the pages to fault. */
    if (hi > lo)
        (void)madvise((void *)lo, hi - lo, MADV_POPULATE_WRITE);
#else
    (void)p, (void)len;
#endif
}
