/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Named parameters of models and workloads (`-p key=value`).
 *
 * Every model and workload declares its parameters once, as a table of
 * cb_param_def_t ending with a zeroed entry.  The table is the single source
 * of truth for parsing, range checks, `describe`, defaults and the --quick
 * sizes, so a parameter cannot be accepted by the parser yet missing from
 * the help, or documented with a range the parser does not enforce.
 *
 * Integers accept decimal suffixes k, M, G (x1000) and binary Ki, Mi, Gi
 * (x1024), e.g. `max_memory=512Mi`, `tasks=100k`.  Enumerations accept one
 * of the listed choices.  Parsing never allocates.
 */
#ifndef CB_PARAM_H
#define CB_PARAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum cb_param_kind {
    CB_PARAM_INT = 1,
    CB_PARAM_ENUM,
} cb_param_kind_t;

typedef struct cb_param_def {
    const char *name;
    cb_param_kind_t kind;
    const char *help;
    const char *unit; /* "tasks", "ms", "bytes", ... ; NULL for enums */
    /* CB_PARAM_INT */
    int64_t def, quick, min, max;
    /* CB_PARAM_ENUM: "a|b|c"; the default is enum_def, or quick in --quick */
    const char *choices;
    const char *enum_def;
    const char *enum_quick; /* NULL: same as enum_def */
} cb_param_def_t;

#define CB_PARAMS_MAX 32
#define CB_PARAM_STR_MAX 32

/* Resolved values for one table, in the table's order. */
typedef struct cb_param_set {
    const cb_param_def_t *defs;
    size_t n;
    int64_t ival[CB_PARAMS_MAX];
    char sval[CB_PARAMS_MAX][CB_PARAM_STR_MAX];
    bool given[CB_PARAMS_MAX];
} cb_param_set_t;

/* Fill set with the defaults (or --quick sizes) of defs. */
void cb_params_defaults(cb_param_set_t *set, const cb_param_def_t *defs,
                        bool quick);
/* Index of name in set, or -1. */
int cb_params_find(const cb_param_set_t *set, const char *name);
/*
 * Parse value for the parameter at index i.  On failure returns -EINVAL
 * and writes a message naming the parameter and its accepted range to err.
 */
int cb_params_set(cb_param_set_t *set, int i, const char *value, char *err,
                  size_t errlen);
/* Value accessors: abort (a programming error) when name is not declared. */
int64_t cb_params_int(const cb_param_set_t *set, const char *name);
const char *cb_params_str(const cb_param_set_t *set, const char *name);
/* Parse an integer with the suffixes above; 0 or -EINVAL / -ERANGE. */
int cb_parse_int(const char *s, int64_t *out);
/* "0..1000000" or "a|b|c" for messages and `describe`. */
const char *cb_param_range(const cb_param_def_t *d, char *buf, size_t len);

#endif
