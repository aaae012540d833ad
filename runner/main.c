/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * concbench: the one command.  This file dispatches to one file per
 * subcommand and says how to use them.
 */
#include "runner/args.h"
#include "runner/cli.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#ifndef CB_VERSION
#define CB_VERSION "0.0.0"
#endif
#ifndef CB_GIT_REV
#define CB_GIT_REV "unknown"
#endif

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *summary;
} commands[] = {
    {"list", cmd_list, "list the models and workloads"},
    {"describe", cmd_describe, "explain a model or a workload and its "
                               "parameters"},
    {"run", cmd_run, "run one workload on one model and report the figures"},
    {"bench", cmd_bench, "microbenchmarks of the runtime core and the "
                         "models' task costs"},
    {"matrix", cmd_matrix, "models x workloads x parameters, each "
                           "repetition in its own process"},
    {"compare", cmd_compare, "is NEW faster or slower than BASE? "
                             "(U test, bootstrap CI)"},
    {"ab", cmd_ab, "two builds interleaved on this machine: did HEAD "
                   "regress?"},
    {"hyperfine", cmd_hyperfine, "each model's cell as a whole process "
                                 "under hyperfine"},
    {"plot", cmd_plot, "PNG and SVG figures of a results folder "
                       "(gnuplot)"},
    {"summary", cmd_summary, "rewrite a results folder's summary files "
                             "from its runs"},
    {"export", cmd_export, "a results folder as Bencher (bmf) or "
                           "github-action-benchmark (gab) JSON"},
    {"talk", cmd_talk, "the talk's claims, each an experiment with a "
                       "verdict (talk run, talk report)"},
    {"agree", cmd_agree, "does each model agree with the real system it "
                         "stands for?"},
};

int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = arg_vrefuse(fmt, ap);
    va_end(ap);
    return rc;
}

int parse_int_arg(const char *cmd, const char *what, const char *s,
                  int64_t lo, int64_t hi, int64_t *out)
{
    int64_t v;
    if (cb_parse_int(s, &v) < 0 || v < lo || v > hi)
        return usage_error("%s: %s: '%s' is not an integer in %" PRId64
                           "..%" PRId64,
                           cmd, what, arg_clip(s), lo, hi);
    *out = v;
    return 0;
}

bool is_help(const char *arg)
{
    return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

static void help(FILE *f)
{
    fprintf(f,
            "usage: concbench COMMAND [ARGS]\n"
            "\n"
            "A comparative concurrency benchmark: five concurrency models "
            "run one set of\nworkloads, measured on pinned cores.\n\n"
            "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f,
            "\n`concbench COMMAND --help` explains each one.\n\n"
            "exit codes (compare and ab: 1 is a regression, with\n"
            "--fail-on-regression; matrix: 130 interrupted, --resume "
            "continues):\n"
            "  0  success\n"
            "  1  a run crashed, timed out or could not start\n"
            "  2  usage: unknown name, malformed or out-of-range argument\n"
            "  3  a workload's invariant broke: the figures are not a "
            "result\n"
            "  4  the model does not support what the workload needs\n"
            "  5  out of a resource (threads, process ids, file "
            "descriptors, memory):\n"
            "     the estimate does not fit the machine's limits, or the "
            "run met them\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        help(stderr);
        return EXIT_USAGE;
    }
    if (is_help(argv[1])) {
        help(stdout);
        return EXIT_OK;
    }
    if (arg_check_lengths(argc, argv))
        return EXIT_USAGE;
    if (strcmp(argv[1], "--version") == 0) {
        printf("concbench %s (%s)\n", CB_VERSION, CB_GIT_REV);
        return EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "concbench: unknown command '%s'; commands:",
            arg_clip(argv[1]));
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(stderr, " %s", commands[i].name);
    fputc('\n', stderr);
    return EXIT_USAGE;
}
