/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Fuzz target: the `-p key=v1,v2` parser.  Any string gives a sweep or a
 * message; an accepted sweep holds a valid key and distinct, non-empty
 * values that fit their buffers, and every value is accepted or refused
 * by the integer parser without a crash.
 */
#include "runner/pspec.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    pspec_t p;
    char err[256];
    if (pspec_parse(s, &p, err, sizeof err) == 0) {
        if (!p.key[0] || p.nvalues < 1 || p.nvalues > PSPEC_MAX_VALUES)
            abort();
        for (int i = 0; i < p.nvalues; i++) {
            if (!p.values[i][0] || strlen(p.values[i]) >= CB_PARAM_STR_MAX)
                abort();
            for (int k = 0; k < i; k++)
                if (strcmp(p.values[i], p.values[k]) == 0)
                    abort();
            int64_t v;
            (void)cb_parse_int(p.values[i], &v);
        }
    } else if (!err[0]) {
        abort(); /* a refusal always says why */
    }
    free(s);
    return 0;
}
