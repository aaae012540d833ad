/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * A strict JSON reader (RFC 8259) for the files the runner reads back.
 *
 * Invariants:
 *   - every byte of the input is inside a token or white space: trailing
 *     garbage, a missing bracket, a bare control character in a string, a
 *     lone surrogate or a leading zero are errors, never a guess (but
 *     \udc80-\udcff, how runner/json.c writes a byte that is not UTF-8,
 *     reads back as that byte);
 *   - nesting deeper than JSON_MAX_DEPTH is refused before recursing, so
 *     the stack use is bounded whatever the input;
 *   - a failed parse frees everything it built: the caller gets a tree or
 *     NULL, never half of one.
 *
 * Rejected: a tolerant parser (a results file that does not parse is a
 * hand edit or a truncation, and reading it anyway is how a wrong verdict
 * is born) and a streaming/SAX interface (lines are small; a tree is
 * simpler to query and to fuzz).
 */
#include "runner/json.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

typedef struct parser {
    const char *s;
    size_t len, pos;
    char *err;
    size_t errlen;
    bool failed;
} parser_t;

__attribute__((format(printf, 2, 3))) static void fail(parser_t *p,
                                                       const char *fmt, ...)
{
    if (p->failed)
        return;
    p->failed = true;
    if (!p->err || !p->errlen)
        return;
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(p->err, p->errlen, "%s at byte %zu", msg, p->pos);
}

static void skip_ws(parser_t *p)
{
    while (p->pos < p->len) {
        char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        p->pos++;
    }
}

static bool literal(parser_t *p, const char *word)
{
    size_t n = strlen(word);
    if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0) {
        fail(p, "invalid literal");
        return false;
    }
    p->pos += n;
    return true;
}

static int hex4(parser_t *p)
{
    if (p->len - p->pos < 4) {
        fail(p, "truncated \\u escape");
        return -1;
    }
    int v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p->s[p->pos++];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= c - '0';
        else if (c >= 'a' && c <= 'f')
            v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v |= c - 'A' + 10;
        else {
            fail(p, "bad hex digit in \\u escape");
            return -1;
        }
    }
    return v;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Parse a string literal at p->pos (on the opening quote). */
static char *string(parser_t *p)
{
    p->pos++; /* the quote */
    size_t start = p->pos;
    /* The decoded string is never longer than the literal: size it so. */
    size_t end = start;
    while (end < p->len && p->s[end] != '"') {
        if (p->s[end] == '\\')
            end++;
        end++;
    }
    if (end >= p->len) {
        fail(p, "unterminated string");
        return NULL;
    }
    char *out = malloc(end - start + 1);
    if (!out) {
        fail(p, "out of memory");
        return NULL;
    }
    size_t o = 0;
    while (p->s[p->pos] != '"') {
        unsigned char c = (unsigned char)p->s[p->pos];
        if (c < 0x20) {
            fail(p, "control character in string");
            goto bad;
        }
        if (c != '\\') {
            out[o++] = (char)c;
            p->pos++;
            continue;
        }
        p->pos++;
        char e = p->s[p->pos++];
        switch (e) {
        case '"':
        case '\\':
        case '/':
            out[o++] = e;
            break;
        case 'b':
            out[o++] = '\b';
            break;
        case 'f':
            out[o++] = '\f';
            break;
        case 'n':
            out[o++] = '\n';
            break;
        case 'r':
            out[o++] = '\r';
            break;
        case 't':
            out[o++] = '\t';
            break;
        case 'u': {
            int cp = hex4(p);
            if (cp < 0)
                goto bad;
            if (cp >= 0xdc80 && cp <= 0xdcff) {
                /* The byte runner/json.c escaped (surrogateescape). */
                out[o++] = (char)(cp - 0xdc00);
                break;
            }
            if (cp >= 0xdc00 && cp <= 0xdfff) {
                fail(p, "lone low surrogate");
                goto bad;
            }
            if (cp >= 0xd800 && cp <= 0xdbff) {
                if (p->len - p->pos < 2 || p->s[p->pos] != '\\' ||
                    p->s[p->pos + 1] != 'u') {
                    fail(p, "lone high surrogate");
                    goto bad;
                }
                p->pos += 2;
                int lo = hex4(p);
                if (lo < 0)
                    goto bad;
                if (lo < 0xdc00 || lo > 0xdfff) {
                    fail(p, "bad surrogate pair");
                    goto bad;
                }
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            }
            if (cp == 0) {
                fail(p, "NUL in string");
                goto bad;
            }
            /* A \u escape is 6 bytes and yields at most 4 (12 for 4 in a
             * pair), so the output still fits the buffer. */
            o += put_utf8(out + o, (unsigned)cp);
            break;
        }
        default:
            fail(p, "bad escape");
            goto bad;
        }
    }
    p->pos++; /* the closing quote */
    out[o] = '\0';
    return out;

bad:
    free(out);
    return NULL;
}

static bool number(parser_t *p, double *out)
{
    size_t start = p->pos;
    const char *s = p->s;
#define AT(i) ((i) < p->len ? s[i] : '\0')
#define DIGIT(c) ((c) >= '0' && (c) <= '9')
    size_t i = p->pos;
    if (AT(i) == '-')
        i++;
    if (AT(i) == '0') {
        i++;
        if (DIGIT(AT(i))) {
            fail(p, "leading zero in number");
            return false;
        }
    } else if (DIGIT(AT(i))) {
        while (DIGIT(AT(i)))
            i++;
    } else {
        fail(p, "invalid number");
        return false;
    }
    if (AT(i) == '.') {
        i++;
        if (!DIGIT(AT(i))) {
            fail(p, "digit expected after the decimal point");
            return false;
        }
        while (DIGIT(AT(i)))
            i++;
    }
    if (AT(i) == 'e' || AT(i) == 'E') {
        i++;
        if (AT(i) == '+' || AT(i) == '-')
            i++;
        if (!DIGIT(AT(i))) {
            fail(p, "digit expected in the exponent");
            return false;
        }
        while (DIGIT(AT(i)))
            i++;
    }
#undef AT
#undef DIGIT
    char buf[64];
    size_t n = i - start;
    if (n >= sizeof buf) {
        fail(p, "number too long");
        return false;
    }
    memcpy(buf, s + start, n);
    buf[n] = '\0';
    errno = 0;
    *out = strtod(buf, NULL);
    if (!isfinite(*out)) {
        fail(p, "number out of range");
        return false;
    }
    p->pos = i;
    return true;
}

static void clear(jv_t *v)
{
    if (v->kind == JV_STR)
        free(v->str);
    for (size_t i = 0; i < v->n; i++) {
        clear(&v->items[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    memset(v, 0, sizeof *v);
}

static bool value(parser_t *p, jv_t *v, int depth);

static bool grow(parser_t *p, jv_t *v, size_t *cap, bool keys)
{
    if (v->n < *cap)
        return true;
    size_t n = *cap ? *cap * 2 : 4;
    jv_t *items = realloc(v->items, n * sizeof *items);
    if (!items) {
        fail(p, "out of memory");
        return false;
    }
    v->items = items;
    if (keys) {
        char **k = realloc(v->keys, n * sizeof *k);
        if (!k) {
            fail(p, "out of memory");
            return false;
        }
        v->keys = k;
    }
    *cap = n;
    return true;
}

static bool container(parser_t *p, jv_t *v, int depth, bool obj)
{
    char close = obj ? '}' : ']';
    v->kind = obj ? JV_OBJ : JV_ARR;
    size_t cap = 0;
    p->pos++;
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == close) {
        p->pos++;
        return true;
    }
    for (;;) {
        skip_ws(p);
        if (!grow(p, v, &cap, obj))
            return false;
        char *key = NULL;
        if (obj) {
            if (p->pos >= p->len || p->s[p->pos] != '"') {
                fail(p, "object key expected");
                return false;
            }
            if (!(key = string(p)))
                return false;
            for (size_t i = 0; i < v->n; i++)
                if (strcmp(v->keys[i], key) == 0) {
                    fail(p, "duplicate key \"%.40s\"", key);
                    free(key);
                    return false;
                }
            skip_ws(p);
            if (p->pos >= p->len || p->s[p->pos] != ':') {
                free(key);
                fail(p, "':' expected");
                return false;
            }
            p->pos++;
        }
        jv_t *item = &v->items[v->n];
        memset(item, 0, sizeof *item);
        if (obj)
            v->keys[v->n] = key;
        v->n++; /* counted now so that clear() frees a half-built item */
        if (!value(p, item, depth + 1))
            return false;
        skip_ws(p);
        if (p->pos < p->len && p->s[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->pos < p->len && p->s[p->pos] == close) {
            p->pos++;
            return true;
        }
        fail(p, obj ? "',' or '}' expected" : "',' or ']' expected");
        return false;
    }
}

static bool value(parser_t *p, jv_t *v, int depth)
{
    if (depth >= JSON_MAX_DEPTH) {
        fail(p, "nested deeper than %d", JSON_MAX_DEPTH);
        return false;
    }
    skip_ws(p);
    if (p->pos >= p->len) {
        fail(p, "unexpected end of input");
        return false;
    }
    switch (p->s[p->pos]) {
    case '{':
        return container(p, v, depth, true);
    case '[':
        return container(p, v, depth, false);
    case '"':
        v->kind = JV_STR;
        return (v->str = string(p)) != NULL;
    case 't':
        v->kind = JV_BOOL;
        v->b = true;
        return literal(p, "true");
    case 'f':
        v->kind = JV_BOOL;
        return literal(p, "false");
    case 'n':
        v->kind = JV_NULL;
        return literal(p, "null");
    default:
        v->kind = JV_NUM;
        return number(p, &v->num);
    }
}

jv_t *jv_parse(const char *s, size_t len, char *err, size_t errlen)
{
    parser_t p = {.s = s, .len = len, .err = err, .errlen = errlen};
    jv_t *v = calloc(1, sizeof *v);
    if (!v) {
        fail(&p, "out of memory");
        return NULL;
    }
    if (memchr(s, '\0', len)) {
        p.pos = (size_t)((const char *)memchr(s, '\0', len) - s);
        fail(&p, "NUL byte in input");
    } else if (value(&p, v, 0)) {
        skip_ws(&p);
        if (p.pos != len)
            fail(&p, "trailing characters after the value");
    }
    if (p.failed) {
        jv_free(v);
        return NULL;
    }
    return v;
}

void jv_free(jv_t *v)
{
    if (!v)
        return;
    clear(v);
    free(v);
}

const jv_t *jv_get(const jv_t *v, const char *key)
{
    if (!v || v->kind != JV_OBJ)
        return NULL;
    for (size_t i = 0; i < v->n; i++)
        if (strcmp(v->keys[i], key) == 0)
            return &v->items[i];
    return NULL;
}

const char *jv_str(const jv_t *v)
{
    return v && v->kind == JV_STR ? v->str : NULL;
}

bool jv_num(const jv_t *v, double *out)
{
    if (!v || v->kind != JV_NUM)
        return false;
    *out = v->num;
    return true;
}
