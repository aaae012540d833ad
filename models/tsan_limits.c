/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/* The limits of a ThreadSanitizer build: see tsan_limits.h. */
#include "models/tsan_limits.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

size_t cb_tsan_held_locks_max(void)
{
#ifdef CB_SANITIZE_THREAD
    /* TSan reads its options once at start-up from the environment, so
     * the environment still says what it does.  The last setting wins,
     * as in the sanitizer's own flag parser. */
    const char *opts = getenv("TSAN_OPTIONS");
    const char *last = NULL;
    for (const char *p = opts; p && (p = strstr(p, "detect_deadlocks="));
         p++)
        last = p + strlen("detect_deadlocks=");
    if (last && (last[0] == '0' || strncmp(last, "false", 5) == 0))
        return SIZE_MAX;
    return 64;
#else
    return SIZE_MAX;
#endif
}
