/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Resident memory of this process, read from /proc/self/status (VmRSS and
 * VmHWM).  Reading costs a few microseconds: sample, do not call per op.
 *
 * And one way to make memory resident: rt_mem_prefault faults in a block
 * that is about to be written all over (a block of process records) with
 * one system call instead of a trap per page.  A page costs ~1.7 us by
 * trap on the development machine (a KVM guest) and ~1.0 us populated
 * with a range; the kernel's work (a zeroed page, its accounting) is the
 * rest, and no user-space trick avoids it.
 */
#ifndef RT_MEM_H
#define RT_MEM_H

#include <stddef.h>
#include <stdint.h>

/* Current resident set in bytes, or -errno. */
int64_t rt_mem_rss_bytes(void);
/* Peak resident set (VmHWM) in bytes, or -errno. */
int64_t rt_mem_peak_rss_bytes(void);
/* Reset the peak to the current RSS (Linux >= 4.0); 0 or -errno. */
int rt_mem_reset_peak(void);
/* Fault in the whole pages inside [p, p + len) for writing
 * (MADV_POPULATE_WRITE, Linux >= 5.14); where the kernel cannot, nothing
 * happens and the pages fault on first touch as usual. */
void rt_mem_prefault(void *p, size_t len);

#endif
