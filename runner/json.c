/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
#include "runner/json.h"

#include "runtime/common.h"

#include <inttypes.h>
#include <math.h>

void json_init(json_t *j, FILE *f, bool pretty)
{
    j->f = f;
    j->depth = 0;
    j->pretty = pretty;
    j->need_comma[0] = false;
}

void json_write_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':
            fputs("\\\"", f);
            break;
        case '\\':
            fputs("\\\\", f);
            break;
        case '\n':
            fputs("\\n", f);
            break;
        case '\r':
            fputs("\\r", f);
            break;
        case '\t':
            fputs("\\t", f);
            break;
        default:
            if (*p < 0x20)
                fprintf(f, "\\u%04x", *p);
            else
                fputc(*p, f);
        }
    }
    fputc('"', f);
}

static void indent(json_t *j)
{
    if (!j->pretty)
        return;
    fputc('\n', j->f);
    for (int i = 0; i < j->depth; i++)
        fputs("  ", j->f);
}

static void key_prefix(json_t *j, const char *key)
{
    if (j->need_comma[j->depth])
        fputc(',', j->f);
    j->need_comma[j->depth] = true;
    if (j->depth > 0)
        indent(j);
    if (key) {
        json_write_string(j->f, key);
        fputs(j->pretty ? ": " : ":", j->f);
    }
}

static void open_(json_t *j, const char *key, char c)
{
    key_prefix(j, key);
    fputc(c, j->f);
    RT_ASSERT(j->depth + 1 < JSON_MAX_DEPTH);
    j->need_comma[++j->depth] = false;
}

static void close_(json_t *j, char c)
{
    bool had = j->need_comma[j->depth];
    j->depth--;
    if (had)
        indent(j);
    fputc(c, j->f);
    if (j->depth == 0)
        fputc('\n', j->f);
}

void json_obj_begin(json_t *j, const char *key)
{
    open_(j, key, '{');
}
void json_obj_end(json_t *j)
{
    close_(j, '}');
}
void json_arr_begin(json_t *j, const char *key)
{
    open_(j, key, '[');
}
void json_arr_end(json_t *j)
{
    close_(j, ']');
}

void json_str(json_t *j, const char *key, const char *v)
{
    key_prefix(j, key);
    if (v)
        json_write_string(j->f, v);
    else
        fputs("null", j->f);
}

void json_int(json_t *j, const char *key, int64_t v)
{
    key_prefix(j, key);
    fprintf(j->f, "%" PRId64, v);
}

void json_f64(json_t *j, const char *key, double v)
{
    key_prefix(j, key);
    if (isfinite(v))
        fprintf(j->f, "%.15g", v);
    else
        fputs("null", j->f);
}

void json_bool(json_t *j, const char *key, bool v)
{
    key_prefix(j, key);
    fputs(v ? "true" : "false", j->f);
}

void json_null(json_t *j, const char *key)
{
    key_prefix(j, key);
    fputs("null", j->f);
}

void json_value(json_t *j, const char *key, const jv_t *v)
{
    switch (v->kind) {
    case JV_NULL:
        json_null(j, key);
        break;
    case JV_BOOL:
        json_bool(j, key, v->b);
        break;
    case JV_NUM:
        /* Range first: casting an out-of-range double is undefined. */
        if (fabs(v->num) < 9e15 && v->num == (double)(int64_t)v->num)
            json_int(j, key, (int64_t)v->num);
        else
            json_f64(j, key, v->num);
        break;
    case JV_STR:
        json_str(j, key, v->str);
        break;
    case JV_ARR:
        json_arr_begin(j, key);
        for (size_t i = 0; i < v->n; i++)
            json_value(j, NULL, &v->items[i]);
        json_arr_end(j);
        break;
    case JV_OBJ:
        json_obj_begin(j, key);
        for (size_t i = 0; i < v->n; i++)
            json_value(j, v->keys[i], &v->items[i]);
        json_obj_end(j);
        break;
    }
}
