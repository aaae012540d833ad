/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Resident memory of this process, read from /proc/self/status (VmRSS and
 * VmHWM).  Reading costs a few microseconds: sample, do not call per op.
 */
#ifndef RT_MEM_H
#define RT_MEM_H

#include <stdint.h>

/* Current resident set in bytes, or -errno. */
int64_t rt_mem_rss_bytes(void);
/* Peak resident set (VmHWM) in bytes, or -errno. */
int64_t rt_mem_peak_rss_bytes(void);
/* Reset the peak to the current RSS (Linux >= 4.0); 0 or -errno. */
int rt_mem_reset_peak(void);

#endif
