/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
#include "runner/pspec.h"
#include "runner/args.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int pspec_parse(const char *arg, pspec_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg) {
        snprintf(err, errlen, "-p wants key=value[,value...], got '%s'",
                 arg_clip(arg));
        return -EINVAL;
    }
    size_t klen = (size_t)(eq - arg);
    if (klen >= PSPEC_KEY_MAX) {
        snprintf(err, errlen, "-p: parameter name too long in '%s'",
                 arg_clip(arg));
        return -EINVAL;
    }
    for (size_t i = 0; i < klen; i++) {
        char c = arg[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
            snprintf(err, errlen,
                     "-p: a parameter name has lower-case letters, digits "
                     "and '_' only; got '%.*s'",
                     (int)klen, arg);
            return -EINVAL;
        }
    }
    memcpy(out->key, arg, klen);
    out->key[klen] = '\0';
    for (const char *p = eq + 1;; p++) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == 0) {
            snprintf(err, errlen, "-p %s: empty value in '%s'", out->key,
                     arg_clip(arg));
            return -EINVAL;
        }
        if (n >= CB_PARAM_STR_MAX) {
            snprintf(err, errlen, "-p %s: value longer than %d characters",
                     out->key, CB_PARAM_STR_MAX - 1);
            return -EINVAL;
        }
        if (out->nvalues == PSPEC_MAX_VALUES) {
            snprintf(err, errlen, "-p %s: more than %d values", out->key,
                     PSPEC_MAX_VALUES);
            return -EINVAL;
        }
        char *v = out->values[out->nvalues];
        memcpy(v, p, n);
        v[n] = '\0';
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)v[i] <= ' ' || v[i] == '=') {
                snprintf(err, errlen,
                         "-p %s: values may not hold white space, control "
                         "characters or '='",
                         out->key);
                return -EINVAL;
            }
        for (int i = 0; i < out->nvalues; i++)
            if (strcmp(out->values[i], v) == 0) {
                snprintf(err, errlen, "-p %s: value '%s' given twice", out->key,
                         v);
                return -EINVAL;
            }
        out->nvalues++;
        if (!end)
            return 0;
        p = end;
    }
}
