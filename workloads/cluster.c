/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * cluster: several machines' worth of nodes, a cluster-wide registry and
 * the handoff of a dead node's workers, on real Erlang distribution only.
 *
 * The program is peers/beam/concbench_cluster.erl (run with -m beam); this
 * file is the workload's table: its parameters, their validation, and the
 * metrics it reports, so `run`, `matrix`, `compare` and `describe` treat
 * it like any other workload.  A model has no nodes, no epmd and no
 * distribution, and concbench does not write a distribution layer of its
 * own to stand in for the BEAM's: every model reports the run
 * unsupported, with that reason, and only the real system runs it.
 *
 * What the run does (the program's essay has the sources): start `nodes`
 * BEAM nodes on 127.0.0.1, join them from a host list (libcluster's Epmd
 * strategy: net_kernel:connect_node over the list), register `workers`
 * singletons in `global`, send requests to them by name, SIGKILL one
 * node, restart its workers on survivors, let a node join, then let
 * `joiners` nodes join at once and wait until the registry converges.
 *
 * Invariant: after convergence exactly one instance of each name is alive
 * and every node's replica of the table points at it; the lost workers
 * run again within converge_ms.
 *
 * Sizes: each node is a whole VM (some 20-60 MB resident); a run that
 * would start more nodes than the memory available holds is refused
 * before anything starts (exit 2), as a parameter out of range is.
 */
#include "models/model.h"
#include "workloads/workload.h"

#include <stdio.h>
#include <unistd.h>

/* Resident bytes budgeted per node: a BEAM with distribution, global and
 * this program loaded, with room to spare. */
#define NODE_BYTES (80LL << 20)

static const cb_param_def_t params[] = {
    {.name = "nodes", .kind = CB_PARAM_INT, .unit = "nodes",
     .help = "nodes that form the cluster (one is killed: at least 2)",
     .def = 5, .quick = 3, .min = 2, .max = 64},
    {.name = "workers", .kind = CB_PARAM_INT, .unit = "processes",
     .help = "singleton workers registered cluster-wide",
     .def = 100, .quick = 12, .min = 1, .max = 100000},
    {.name = "joiners", .kind = CB_PARAM_INT, .unit = "nodes",
     .help = "nodes that join at once in the second phase",
     .def = 3, .quick = 2, .min = 1, .max = 64},
    {.name = "steady_ms", .kind = CB_PARAM_INT, .unit = "ms",
     .help = "request stream before the node is killed",
     .def = 2000, .quick = 300, .min = 1, .max = 600000},
    {.name = "interval_ms", .kind = CB_PARAM_INT, .unit = "ms",
     .help = "pause between one client's requests (one client per node)",
     .def = 1, .quick = 1, .min = 1, .max = 10000},
    {.name = "timeout_ms", .kind = CB_PARAM_INT, .unit = "ms",
     .help = "a request unanswered this long is lost",
     .def = 200, .quick = 100, .min = 1, .max = 60000},
    {.name = "converge_ms", .kind = CB_PARAM_INT, .unit = "ms",
     .help = "longest wait for the handoff and for convergence",
     .def = 20000, .quick = 10000, .min = 10, .max = 600000},
    {.name = "eager", .kind = CB_PARAM_ENUM,
     .help = "yes: each joiner registers its own copy of every name "
             "before it finds the cluster (global resolves the conflicts)",
     .choices = "no|yes", .enum_def = "no"},
    {0},
};

static int64_t available_bytes(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    long long kb = -1;
    char line[256];
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %lld kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    if (kb >= 0)
        return (int64_t)kb * 1024;
    return (int64_t)sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE);
}

static int estimate(const cb_param_set_t *p, cb_wl_estimate_t *est,
                    char *err, size_t errlen)
{
    /* The first nodes, the late one, the joiners, and the controller. */
    int64_t total = cb_params_int(p, "nodes") + 1 +
                    cb_params_int(p, "joiners") + 1;
    int64_t need = total * NODE_BYTES, avail = available_bytes();
    if (need > avail) {
        snprintf(err, errlen,
                 "cluster: %lld nodes (nodes + 1 late + joiners, and the "
                 "controller) need about %lld MiB at %lld MiB each, but "
                 "%lld MiB are available; lower nodes or joiners",
                 (long long)total, (long long)(need >> 20),
                 (long long)(NODE_BYTES >> 20), (long long)(avail >> 20));
        return -EINVAL;
    }
    est->tasks = 1;
    est->bytes = 0; /* the nodes are other processes, checked above */
    est->fds = 0;
    return 0;
}

static void run(cb_wl_ctx_t *ctx)
{
    cb_wl_unsupported(ctx,
                      "a cluster of nodes (distribution is the BEAM's own; "
                      "concbench does not model a distribution layer: run "
                      "it with -m beam)",
                      -ENOTSUP);
}

/* The window is paced (a request every interval_ms) and spans fixed
 * sleeps: its length and ops / window measure the schedule, not speed. */
static const cb_wl_metric_role_t metric_roles[] = {
    {"formation_ns", NULL, NULL},
    {"lookups_s", NULL, NULL},
    {"request_ns", NULL, NULL},
    {"handoff_ns", NULL, NULL},
    {"convergence_ns", NULL, NULL},
    {"elapsed_ns", "request_ns", NULL},
    {"throughput_ops_s", "request_ns", NULL},
    {NULL, NULL, NULL},
};

const cb_workload_t cb_workload_cluster = {
    .name = "cluster",
    .summary = "nodes, a global registry and handoff on node loss "
               "(real Erlang distribution only: -m beam)",
    .description =
        "N BEAM nodes on 127.0.0.1 join from a host list "
        "(net_kernel:connect_node, libcluster's Epmd strategy), register "
        "`workers` singletons in `global` and serve a request stream by "
        "name (one client per node but the victim); one node is killed "
        "with SIGKILL and its workers restart on survivors; a node joins; "
        "then `joiners` nodes join at once. Every node is stopped when "
        "the run ends, fails or is killed.\n"
        "Metrics: boot_ns, formation_ns (connect + global:sync), "
        "registration_ns, lookups_s (global:whereis_name, all nodes at "
        "once), request_ns (round trips by name before the loss), "
        "handoff_ns (kill -> each lost name registered again), "
        "workers_lost, requests_ok (ops), requests_lost (no reply within "
        "timeout_ms), requests_failed (no such name), "
        "requests_lost_steady (before the kill), requests_lost_in_handoff "
        "(lost or failed from the kill until the late join), "
        "requests_ok_after_loss, join_ns, converged, convergence_ns, "
        "duplicates_seen (live instances beyond one per name, at any "
        "sample), nodes_at_end.\n"
        "Invariant: after convergence exactly one live instance of each "
        "name, the same in every node's table. Models: unsupported (the "
        "distribution is the BEAM's own; concbench does not model one).",
    .params = params,
    .estimate = estimate,
    .run = run,
    .no_instruction_count = "its nodes are separate VMs the runner does "
                            "not count, and it waits on purpose",
    .metric_roles = metric_roles,
};
