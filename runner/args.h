/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * The rules every subcommand's command line follows, stated once:
 *
 *   - an option is given at most once: a second `-m`, `-o`, `--reps`...
 *     is refused, never silently kept over the first; `-p` may repeat,
 *     once per parameter name (`-p tasks=1 -p tasks=2` is refused; a
 *     matrix lists a sweep's values in one `-p tasks=1,2`);
 *   - a list (`-m a,b`, `-p k=1,2`) has no empty item: `-m threads,` is
 *     refused rather than read as `-m threads`;
 *   - no argument is longer than ARG_MAX_LEN bytes (no path, list or
 *     value concbench takes comes near it), checked before a subcommand
 *     sees the command line;
 *   - a message quotes the user's input cut to ARG_ECHO_MAX characters
 *     with "...", so a mistaken 100 KB argument is not echoed back whole.
 *
 * Rejected: "the last one wins", the getopt habit: with -m given twice
 * a run measures one model while the shell history shows another.
 */
#ifndef CB_RUNNER_ARGS_H
#define CB_RUNNER_ARGS_H

#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>

#define ARG_MAX_LEN 4096
#define ARG_ECHO_MAX 80

/* Which options a command line has given so far (getopt codes, the long
 * options' included, are below 512). */
typedef struct arg_seen {
    bool seen[512];
} arg_seen_t;

/* 0 the first time option code c is seen, else EXIT_USAGE after
 * "concbench: CMD: --NAME given twice; give it once".  longopts names
 * the option (NULL: the short letter only). */
int arg_once(arg_seen_t *seen, const char *cmd, int c,
             const struct option *longopts);
/* The same for a hand-rolled parser: the option's spelling is name. */
int arg_once_named(arg_seen_t *seen, const char *cmd, int slot,
                   const char *name);
/* s cut to ARG_ECHO_MAX characters (at a UTF-8 boundary) with "..."
 * appended when cut; for quoting input in messages.  The result lives in
 * one of 8 rotating static buffers: use it in the message at hand. */
const char *arg_clip(const char *s);
/* "concbench: " and the message on stderr; returns EXIT_USAGE. */
int arg_vrefuse(const char *fmt, va_list ap);
/* EXIT_USAGE with a message when an argument of argv is longer than
 * ARG_MAX_LEN; 0 otherwise. */
int arg_check_lengths(int argc, char **argv);

#endif
