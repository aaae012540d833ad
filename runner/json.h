/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * A streaming JSON writer: enough for the runner's output, with correct
 * string escaping and no allocation.  Non-finite numbers become null,
 * because JSON has no NaN.
 */
#ifndef CB_RUNNER_JSON_H
#define CB_RUNNER_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 32

typedef struct json {
    FILE *f;
    int depth;
    bool pretty;
    bool need_comma[JSON_MAX_DEPTH];
} json_t;

void json_init(json_t *j, FILE *f, bool pretty);
/* key is NULL inside arrays and at the top level. */
void json_obj_begin(json_t *j, const char *key);
void json_obj_end(json_t *j);
void json_arr_begin(json_t *j, const char *key);
void json_arr_end(json_t *j);
void json_str(json_t *j, const char *key, const char *v);
void json_int(json_t *j, const char *key, int64_t v);
void json_f64(json_t *j, const char *key, double v);
void json_bool(json_t *j, const char *key, bool v);
void json_null(json_t *j, const char *key);
/* Write s as a JSON string literal (quotes included). */
void json_write_string(FILE *f, const char *s);

#endif
