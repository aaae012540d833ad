/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/* concbench list [models|workloads|systems] */
#include "runner/args.h"
#include "runner/cli.h"
#include "runner/peer.h"

#include <string.h>

static void list_models(void)
{
    for (size_t i = 0; i < cb_model_count(); i++) {
        const cb_model_t *m = cb_model_at(i);
        printf("%-10s %s\n", m->name, m->summary);
    }
}

static void list_workloads(void)
{
    for (size_t i = 0; i < cb_workload_count(); i++) {
        const cb_workload_t *w = cb_workload_at(i);
        printf("%-18s %s\n", w->name, w->summary);
    }
}

int cmd_list(int argc, char **argv)
{
    if (argc > 2)
        return usage_error("list: too many arguments; usage: concbench list "
                           "[models|workloads|systems]");
    if (argc == 2 && is_help(argv[1])) {
        printf("usage: concbench list [models|workloads|systems]\n\n"
               "Lists the registered models and workloads (both when no "
               "kind is given),\none per line: the name, then a summary.\n"
               "systems: the real systems (peers/), each with its version "
               "or why it is\nnot installed; -m takes their names as it "
               "takes a model's.\n");
        return EXIT_OK;
    }
    const char *what = argc == 2 ? argv[1] : NULL;
    if (what && strcmp(what, "models") != 0 &&
        strcmp(what, "workloads") != 0 && strcmp(what, "systems") != 0)
        return usage_error("list: unknown kind '%s'; valid: models, "
                           "workloads, systems", arg_clip(what));
    if (!what || strcmp(what, "models") == 0) {
        if (!what)
            printf("models:\n");
        list_models();
    }
    if (!what)
        printf("\nworkloads:\n");
    if (!what || strcmp(what, "workloads") == 0)
        list_workloads();
    if (!what && peer_count())
        printf("\nreal systems:\n");
    if (!what || strcmp(what, "systems") == 0)
        peer_list();
    return EXIT_OK;
}
