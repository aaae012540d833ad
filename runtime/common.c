/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
#include "runtime/common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void rt_panic(const char *fmt, ...)
{
    va_list ap;
    fputs("concbench: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    abort();
}
