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

/*
 * The reader: a strict RFC 8259 parser into a tree, for the results files
 * the runner reads back (runs.jsonl, machine.json, hyperfine exports).
 * It is fuzzed (tests/fuzz/): any input gives a tree or an error message
 * with the byte offset, never a crash, and nesting is limited to
 * JSON_MAX_DEPTH so a hostile file cannot exhaust the stack.  Duplicate
 * keys are an error: a hand-edited line that says two things is refused
 * rather than silently read one way.
 */
typedef enum jv_kind {
    JV_NULL,
    JV_BOOL,
    JV_NUM,
    JV_STR,
    JV_ARR,
    JV_OBJ,
} jv_kind_t;

typedef struct jv {
    jv_kind_t kind;
    bool b;
    double num;
    char *str;       /* JV_STR, NUL-terminated (embedded NULs refused) */
    size_t n;        /* JV_ARR, JV_OBJ: number of items */
    struct jv *items;
    char **keys;     /* JV_OBJ: keys[i] names items[i] */
} jv_t;

/* Parse exactly one value (surrounding white space allowed); NULL and a
 * message in err on failure. */
jv_t *jv_parse(const char *s, size_t len, char *err, size_t errlen);
void jv_free(jv_t *v);
/* Member of an object, or NULL (also when v is not an object). */
const jv_t *jv_get(const jv_t *v, const char *key);
/* String value, or NULL when v is absent or not a string. */
const char *jv_str(const jv_t *v);
/* Whether v is a number; *out gets it. */
bool jv_num(const jv_t *v, double *out);
/* Write a parsed value back (integers stay integers). */
void json_value(json_t *j, const char *key, const jv_t *v);

#endif
