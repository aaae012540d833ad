/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * skynet: a tree of tasks that sums the numbers of its leaves (the
 * "skynet" benchmark the talk quotes: a million leaves, ten children per
 * node).
 *
 * Node (num, size) with size > 1 spawns `div` children (num + i * size /
 * div, size / div), receives their sums on its own port, and sends the
 * total to its parent; a leaf sends its num.  With 1,000,000 leaves the
 * tree has 1,111,111 tasks and the root receives 499999500000.  On a
 * FIFO scheduler the tree unfolds breadth first, so every inner node is
 * alive at once; the estimate says so, and a model whose task costs a
 * kernel thread is refused before anything is spawned.
 *
 * Invariant: the sum equals leaves * (leaves - 1) / 2.
 */
#include "models/model.h"
#include "workloads/workload.h"

#include <stdio.h>
#include <stdlib.h>

static const cb_param_def_t params[] = {
    {.name = "leaves", .kind = CB_PARAM_INT, .unit = "tasks",
     .help = "leaves of the tree (a power of div)",
     .def = 1000000, .quick = 1000, .min = 1, .max = 100000000},
    {.name = "div", .kind = CB_PARAM_INT, .unit = "tasks",
     .help = "children per inner node",
     .def = 10, .quick = 10, .min = 2, .max = 1000},
    {0},
};

typedef struct node {
    int64_t num, size, div;
    cb_port_t *parent;
} node_t;

static void node_main(void *arg)
{
    node_t n = *(node_t *)arg;
    free(arg);
    if (n.size == 1) {
        cb_send(n.parent, cb_int(n.num));
        return;
    }
    cb_port_t *mine = NULL;
    int64_t sum = 0, started = 0;
    bool failed = false;
    if (cb_port_open(NULL, &mine) == 0) {
        int64_t step = n.size / n.div;
        for (int64_t i = 0; i < n.div; i++) {
            node_t *c = malloc(sizeof *c);
            if (!c)
                break;
            *c = (node_t){n.num + i * step, step, n.div, mine};
            if (cb_spawn(node_main, c, NULL, NULL) < 0) {
                free(c);
                break;
            }
            started++;
        }
        for (int64_t i = 0; i < started; i++) {
            cb_term_t m;
            cb_recv(mine, &m, CB_FOREVER);
            if (cb_int_value(m) < 0)
                failed = true; /* a subtree failed: pass it up */
            else
                sum += cb_int_value(m);
        }
        cb_port_free(mine);
    }
    /* A node that could not start every child reports a negative sum,
     * which the root turns into a failure instead of a wrong total. */
    cb_send(n.parent, cb_int(started == n.div && !failed ? sum : -1));
}

static int64_t tree_tasks(int64_t leaves, int64_t div)
{
    int64_t total = 0;
    for (int64_t level = leaves; level >= 1; level /= div) {
        total += level;
        if (level == 1)
            break;
    }
    return total;
}

static int estimate(const cb_param_set_t *p, cb_wl_estimate_t *est, char *err,
                    size_t errlen)
{
    int64_t leaves = cb_params_int(p, "leaves"), div = cb_params_int(p, "div");
    int64_t l = leaves;
    while (l > 1 && l % div == 0)
        l /= div;
    if (l != 1) {
        snprintf(err, errlen, "leaves=%lld is not a power of div=%lld",
                 (long long)leaves, (long long)div);
        return -EINVAL;
    }
    /* Breadth first, every task of the tree may be alive at once. */
    est->tasks = tree_tasks(leaves, div);
    est->bytes = est->tasks * (int64_t)(sizeof(node_t) + 256);
    est->fds = 0;
    return 0;
}

static void run(cb_wl_ctx_t *ctx)
{
    int64_t leaves = cb_wl_int(ctx, "leaves"), div = cb_wl_int(ctx, "div");
    cb_port_t *top = NULL;
    int rc = cb_port_open(NULL, &top);
    node_t *root = rc == 0 ? malloc(sizeof *root) : NULL;
    if (!root) {
        cb_wl_fail(ctx, "setting up: %s", cb_strerror(rc < 0 ? rc : -ENOMEM));
        goto out;
    }
    *root = (node_t){0, leaves, div, top};
    cb_wl_window_start(ctx);
    rc = cb_spawn(node_main, root, NULL, NULL);
    if (rc < 0) {
        free(root);
        cb_wl_fail(ctx, "spawning the tree: %s", cb_strerror(rc));
        goto out;
    }
    cb_term_t m;
    cb_recv(top, &m, CB_FOREVER);
    cb_wl_window_stop(ctx);
    int64_t sum = cb_int_value(m);
    int64_t expect = leaves * (leaves - 1) / 2;
    int64_t tasks = tree_tasks(leaves, div);
    if (sum != expect)
        cb_wl_fail(ctx, "sum %lld, expected %lld%s", (long long)sum,
                   (long long)expect,
                   sum < 0 ? " (a node could not spawn its children)" : "");
    cb_wl_ops(ctx, tasks);
    cb_wl_metric_int(ctx, "result", sum);
    cb_wl_metric_f64(ctx, "ns_per_task",
                     (double)cb_wl_elapsed_ns(ctx) / (double)tasks);
out:
    if (top)
        cb_port_free(top);
}

/* One stopwatch reading (the window), in three units. */
static const cb_wl_metric_role_t metric_roles[] = {
    {"ns_per_task", NULL, NULL},
    {"elapsed_ns", "ns_per_task", NULL},
    {"throughput_ops_s", "ns_per_task", NULL},
    {NULL, NULL, NULL},
};

const cb_workload_t cb_workload_skynet = {
    .name = "skynet",
    .summary = "a million-leaf tree of tasks summing its leaves",
    .description =
        "Each inner node spawns `div` children and sums their replies; "
        "each leaf replies with its number. 1,000,000 leaves make "
        "1,111,111 tasks and the sum 499999500000.\n"
        "Metrics: ops (tasks), throughput_ops_s, elapsed_ns, result (the "
        "sum), ns_per_task. Invariant: result = leaves * (leaves - 1) / 2.",
    .params = params,
    .estimate = estimate,
    .run = run,
    .metric_roles = metric_roles,
};
