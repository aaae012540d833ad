/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * The syntax of a matrix parameter sweep, `-p key=v1,v2,...`: a name of
 * lower-case letters, digits and '_', then one or more comma-separated,
 * non-empty, distinct values without white space.  Only the syntax is
 * checked here (the parser is fuzzed, tests/fuzz/); whether a key exists
 * and a value is in range is the parameter tables' job (models/param.h).
 */
#ifndef CB_RUNNER_PSPEC_H
#define CB_RUNNER_PSPEC_H

#include "models/param.h"

#include <stddef.h>

#define PSPEC_MAX_VALUES 64
#define PSPEC_KEY_MAX 48

typedef struct pspec {
    char key[PSPEC_KEY_MAX];
    char values[PSPEC_MAX_VALUES][CB_PARAM_STR_MAX];
    int nvalues;
} pspec_t;

/* 0, or -EINVAL with a message naming the problem in err. */
int pspec_parse(const char *arg, pspec_t *out, char *err, size_t errlen);

#endif
