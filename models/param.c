/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
#include "models/param.h"

#include "runtime/common.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static size_t count_defs(const cb_param_def_t *defs)
{
    size_t n = 0;
    while (defs && defs[n].name)
        n++;
    RT_ASSERT(n <= CB_PARAMS_MAX);
    return n;
}

void cb_params_defaults(cb_param_set_t *set, const cb_param_def_t *defs,
                        bool quick)
{
    memset(set, 0, sizeof *set);
    set->defs = defs;
    set->n = count_defs(defs);
    for (size_t i = 0; i < set->n; i++) {
        const cb_param_def_t *d = &defs[i];
        if (d->kind == CB_PARAM_INT) {
            set->ival[i] = quick ? d->quick : d->def;
        } else {
            const char *v =
                quick && d->enum_quick ? d->enum_quick : d->enum_def;
            snprintf(set->sval[i], CB_PARAM_STR_MAX, "%s", v);
        }
    }
}

int cb_params_find(const cb_param_set_t *set, const char *name)
{
    for (size_t i = 0; i < set->n; i++)
        if (strcmp(set->defs[i].name, name) == 0)
            return (int)i;
    return -1;
}

int cb_parse_int(const char *s, int64_t *out)
{
    if (!s || !*s)
        return -EINVAL;
    const char *p = s;
    bool neg = false;
    if (*p == '-' || *p == '+')
        neg = *p++ == '-';
    if (*p < '0' || *p > '9')
        return -EINVAL;
    uint64_t v = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > (UINT64_MAX - 9) / 10)
            return -ERANGE;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    uint64_t mult = 1;
    if (*p) {
        static const struct {
            const char *sfx;
            uint64_t mult;
        } sfx[] = {{"k", 1000ULL},         {"K", 1000ULL},
                   {"M", 1000000ULL},      {"G", 1000000000ULL},
                   {"Ki", 1024ULL},        {"Mi", 1024ULL * 1024},
                   {"Gi", 1024ULL << 20}};
        mult = 0;
        for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++)
            if (strcmp(p, sfx[i].sfx) == 0)
                mult = sfx[i].mult;
        if (!mult)
            return -EINVAL;
    }
    if (v > (uint64_t)INT64_MAX / mult)
        return -ERANGE;
    v *= mult;
    *out = neg ? -(int64_t)v : (int64_t)v;
    return 0;
}

const char *cb_param_range(const cb_param_def_t *d, char *buf, size_t len)
{
    if (d->kind == CB_PARAM_ENUM)
        snprintf(buf, len, "%s", d->choices);
    else
        snprintf(buf, len, "%" PRId64 "..%" PRId64, d->min, d->max);
    return buf;
}

static bool enum_has(const char *choices, const char *v)
{
    size_t vl = strlen(v);
    if (vl == 0)
        return false;
    for (const char *c = choices; c && *c;) {
        const char *bar = strchr(c, '|');
        size_t cl = bar ? (size_t)(bar - c) : strlen(c);
        if (cl == vl && strncmp(c, v, vl) == 0)
            return true;
        c = bar ? bar + 1 : NULL;
    }
    return false;
}

int cb_params_set(cb_param_set_t *set, int i, const char *value, char *err,
                  size_t errlen)
{
    RT_ASSERT(i >= 0 && (size_t)i < set->n);
    const cb_param_def_t *d = &set->defs[i];
    char range[128];
    cb_param_range(d, range, sizeof range);
    if (d->kind == CB_PARAM_ENUM) {
        if (!enum_has(d->choices, value) ||
            strlen(value) >= CB_PARAM_STR_MAX) {
            snprintf(err, errlen, "parameter %s: '%s' is not one of %s",
                     d->name, value, range);
            return -EINVAL;
        }
        snprintf(set->sval[i], CB_PARAM_STR_MAX, "%s", value);
    } else {
        int64_t v;
        int rc = cb_parse_int(value, &v);
        if (rc < 0 || v < d->min || v > d->max) {
            snprintf(err, errlen,
                     "parameter %s: '%s' is %s; accepted range %s%s%s",
                     d->name, value,
                     rc == -ERANGE ? "too large"
                     : rc < 0      ? "not an integer"
                                   : "out of range",
                     range, d->unit ? " " : "", d->unit ? d->unit : "");
            return -EINVAL;
        }
        set->ival[i] = v;
    }
    set->given[i] = true;
    return 0;
}

int64_t cb_params_int(const cb_param_set_t *set, const char *name)
{
    int i = cb_params_find(set, name);
    if (i < 0 || set->defs[i].kind != CB_PARAM_INT)
        rt_panic("integer parameter '%s' is not declared", name);
    return set->ival[i];
}

const char *cb_params_str(const cb_param_set_t *set, const char *name)
{
    int i = cb_params_find(set, name);
    if (i < 0 || set->defs[i].kind != CB_PARAM_ENUM)
        rt_panic("enumerated parameter '%s' is not declared", name);
    return set->sval[i];
}
