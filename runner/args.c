/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/* The command-line rules shared by the subcommands: see args.h. */
#include "runner/args.h"
#include "runner/cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* usage_error's words live here, not in main.c, which is not in the
 * library that the fuzz targets link. */
int arg_vrefuse(const char *fmt, va_list ap)
{
    fputs("concbench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    return EXIT_USAGE;
}

__attribute__((format(printf, 1, 2))) static int refuse(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = arg_vrefuse(fmt, ap);
    va_end(ap);
    return rc;
}

const char *arg_clip(const char *s)
{
    static char bufs[8][ARG_ECHO_MAX + 4];
    static unsigned next;
    if (!s)
        return "(null)";
    size_t n = strlen(s);
    if (n <= ARG_ECHO_MAX)
        return s;
    char *b = bufs[next++ % 8];
    size_t cut = ARG_ECHO_MAX;
    /* Back up over UTF-8 continuation bytes: never half a character. */
    while (cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
        cut--;
    memcpy(b, s, cut);
    memcpy(b + cut, "...", 4);
    return b;
}

int arg_once_named(arg_seen_t *seen, const char *cmd, int slot,
                   const char *name)
{
    if (slot < 0 || slot >= (int)(sizeof seen->seen / sizeof *seen->seen))
        return 0;
    if (!seen->seen[slot]) {
        seen->seen[slot] = true;
        return 0;
    }
    return refuse("%s: %s given twice; give it once", cmd, name);
}

int arg_once(arg_seen_t *seen, const char *cmd, int c,
             const struct option *longopts)
{
    char name[80];
    const char *lng = NULL;
    for (const struct option *o = longopts; o && o->name; o++)
        if (o->val == c && !o->flag) {
            lng = o->name;
            break;
        }
    if (c > ' ' && c < 127 && lng)
        snprintf(name, sizeof name, "-%c/--%s", c, lng);
    else if (lng)
        snprintf(name, sizeof name, "--%s", lng);
    else
        snprintf(name, sizeof name, "-%c", c);
    return arg_once_named(seen, cmd, c, name);
}

int arg_check_lengths(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        size_t n = strlen(argv[i]);
        if (n > ARG_MAX_LEN)
            return refuse("argument %d is %zu characters long; none "
                               "that concbench takes is longer than %d: "
                               "'%s'",
                               i, n, ARG_MAX_LEN, arg_clip(argv[i]));
    }
    return 0;
}
