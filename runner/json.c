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

/* Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF), or 0. */
static size_t utf8_len(const unsigned char *p)
{
    unsigned char c = p[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
    else
        return 0;
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    return n;
}

/*
 * Strings are written as UTF-8; a byte that is not part of well-formed
 * UTF-8 (a path or a name from a Latin-1 file system: 0xFF) becomes the
 * escape \udcXX, the lone low surrogate PEP 383's "surrogateescape" maps
 * byte XX to.  The file stays valid UTF-8 that every JSON reader parses
 * (raw 0xFF made Python's json and jq refuse runs.jsonl), and the name
 * still round-trips: Python gives back the bytes with
 * os.fsencode(json.loads(...)), and runner/jsonread.c with its own
 * decoding of \udc80-\udcff.  Rejected: U+FFFD (loses the name).
 */
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
            if (*p < 0x20) {
                fprintf(f, "\\u%04x", *p);
            } else if (*p < 0x80) {
                fputc(*p, f);
            } else {
                size_t n = utf8_len(p);
                if (n == 0) {
                    fprintf(f, "\\udc%02x", *p);
                } else {
                    fwrite(p, 1, n, f);
                    p += n - 1;
                }
            }
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
