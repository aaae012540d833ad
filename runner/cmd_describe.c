/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/* concbench describe NAME */
#include "runner/args.h"
#include "runner/cli.h"
#include "runner/peer.h"

#include <inttypes.h>
#include <string.h>

static void print_params(const cb_param_def_t *defs)
{
    if (!defs || !defs[0].name) {
        printf("  (none)\n");
        return;
    }
    for (const cb_param_def_t *d = defs; d->name; d++) {
        char range[160], def[64];
        cb_param_range(d, range, sizeof range);
        if (d->kind == CB_PARAM_INT) {
            if (d->quick != d->def)
                snprintf(def, sizeof def, "%" PRId64 " (--quick %" PRId64 ")",
                         d->def, d->quick);
            else
                snprintf(def, sizeof def, "%" PRId64, d->def);
        } else {
            snprintf(def, sizeof def, "%s", d->enum_def);
        }
        printf("  %-12s %s\n  %-12s default %s; range %s%s%s\n", d->name,
               d->help, "", def, range, d->unit ? " " : "",
               d->unit ? d->unit : "");
    }
}

int cmd_describe(int argc, char **argv)
{
    if (argc == 2 && is_help(argv[1])) {
        printf("usage: concbench describe NAME\n\n"
               "Explains a model or a workload: what it stands for or "
               "does, its metrics,\nits parameters (-p key=value) with "
               "defaults and ranges, and, for a model,\nwhat it does not "
               "support.\n");
        return EXIT_OK;
    }
    if (argc != 2)
        return usage_error("describe: expected one NAME (a model or a "
                           "workload; see `concbench list`)");
    const cb_model_t *m = cb_model_find(argv[1]);
    const cb_workload_t *w = cb_workload_find(argv[1]);
    if (m) {
        printf("model %s\n  stands for: %s\n  %s\n\nparameters:\n", m->name,
               m->stands_for, m->summary);
        print_params(m->params);
        printf("\nunsupported:\n");
        int any = 0;
        for (const cb_unsupported_t *u = m->unsupported; u && u->cap; u++) {
            printf("  %-16s %s\n", cb_cap_name(u->cap), u->reason);
            any = 1;
        }
        if (!any)
            printf("  (nothing)\n");
        return EXIT_OK;
    }
    const cb_model_t *pm = m || w ? NULL : peer_model_find(argv[1]);
    if (pm)
        return peer_describe(peer_of(pm));
    if (w) {
        printf("workload %s\n  %s\n\n%s\n\nparameters:\n", w->name,
               w->summary, w->description);
        print_params(w->params);
        if (w->no_instruction_count)
            printf("\ninstruction counts (--metric instructions): refused: "
                   "%s\n",
                   w->no_instruction_count);
        return EXIT_OK;
    }
    fprintf(stderr, "concbench: describe: unknown name '%s'\nmodels:",
            arg_clip(argv[1]));
    for (size_t i = 0; i < cb_model_count(); i++)
        fprintf(stderr, " %s", cb_model_at(i)->name);
    fprintf(stderr, "\nreal systems:");
    for (size_t i = 0; i < peer_count(); i++)
        fprintf(stderr, " %s", peer_name(peer_at(i)));
    fprintf(stderr, "\nworkloads:");
    for (size_t i = 0; i < cb_workload_count(); i++)
        fprintf(stderr, " %s", cb_workload_at(i)->name);
    fputc('\n', stderr);
    return EXIT_USAGE;
}
