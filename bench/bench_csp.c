/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Figures of the `csp` model, through the model.h calls workloads make:
 *
 *   csp_round_trip_ns        unbuffered ping-pong between two go blocks on
 *                            one worker (pool=1), per round trip; _stealing
 *                            with sched=stealing (runnext, no shared queue)
 *   csp_buffered_msgs_per_s  a producer and a consumer go block on one
 *                            worker through a 1024-slot fixed buffer;
 *                            each message is one put and one take
 *   csp_spawn_ns             spawn of a go block that exits at once, from
 *                            a go block, in batches of 1000 joined (stacks
 *                            recycled through the worker's pool)
 *   csp_parked_bytes         resident bytes per go block parked on a take
 *                            (its own unbuffered channel included), with
 *                            PARKED alive at once
 *   csp_skynet_ms_*          skynet: a 10-ary tree of 1M leaf go blocks,
 *                            each sending its number up, on pool=2, under
 *                            each scheduler
 *
 *   bench_csp [PARKED [NAME]]  NAME: only that figure (round_trip,
 *                            buffered, spawn, parked, skynet).
 *                            PARKED defaults to 20000: where a guard page
 *                            is a mapping of its own (kernels before 6.13)
 *                            a stack is two mappings, and vm.max_map_count
 *                            (65530) caps a process at ~32 K live stacks;
 *                            a CB_GUARD_PAGES=OFF build takes 100000.
 *                            For the same reason skynet under the FIFO
 *                            schedulers (breadth first: ~111 K inner go
 *                            blocks parked at once) runs only where the
 *                            stacks are carved from slabs guarded by
 *                            markers (Linux 6.13) or in a
 *                            CB_GUARD_PAGES=OFF build; sched=lifo (depth
 *                            first) runs everywhere.
 *
 * Medians of REPS runs.  Figures only; nothing is asserted.
 */
#include "bench/bench.h"

#include "models/model.h"
#include "runtime/mem.h"
#include "runtime/stack.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define REPS 5

static const cb_model_t *csp;

static void start(const char *const *kv, int n)
{
    cb_param_set_t ps;
    cb_params_defaults(&ps, csp->params, false);
    char err[256] = "", key[64];
    for (int i = 0; i < n; i++) {
        const char *eq = strchr(kv[i], '=');
        size_t len = (size_t)(eq - kv[i]);
        memcpy(key, kv[i], len);
        key[len] = '\0';
        int k = cb_params_find(&ps, key);
        if (k < 0 || cb_params_set(&ps, k, eq + 1, err, sizeof err) < 0) {
            fprintf(stderr, "bench_csp: %s: %s\n", kv[i], err);
            exit(1);
        }
    }
    cb_model_env_t env = {.cpus = NULL, .ncpus = 0, .seed = 1};
    if (cb_model_start(csp, &ps, &env, err, sizeof err) < 0) {
        fprintf(stderr, "bench_csp: start: %s\n", err);
        exit(1);
    }
}

static void stop(void)
{
    char err[256] = "";
    if (cb_model_stop(err, sizeof err) < 0) {
        fprintf(stderr, "bench_csp: stop: %s\n", err);
        exit(1);
    }
}

static cb_port_t *chan(cb_port_policy_t policy, size_t cap)
{
    cb_port_opts_t o = {.policy = policy, .capacity = cap};
    cb_port_t *p = NULL;
    if (cb_port_open(&o, &p) < 0)
        exit(1);
    return p;
}

/* Run fn as a go block from the root and wait for it. */
static void in_go(cb_task_fn fn, void *arg)
{
    cb_task_t *t;
    if (cb_spawn(fn, arg, NULL, &t) < 0 || cb_join(t) < 0)
        exit(1);
}

/* ---- round trip ---- */

#define PINGS 200000

typedef struct pp {
    cb_port_t *a, *b;
    double ns;
} pp_t;

static void ponger(void *arg)
{
    pp_t *p = arg;
    cb_term_t m;
    while (cb_recv(p->a, &m, CB_FOREVER) == 0)
        cb_send(p->b, m);
}

static void pinger(void *arg)
{
    pp_t *p = arg;
    cb_task_t *t;
    cb_spawn(ponger, p, NULL, &t);
    cb_term_t m = cb_int(1);
    for (int i = 0; i < 1000; i++) { /* warm up */
        cb_send(p->a, m);
        cb_recv(p->b, &m, CB_FOREVER);
    }
    int64_t t0 = cb_now_ns();
    for (int i = 0; i < PINGS; i++) {
        cb_send(p->a, m);
        cb_recv(p->b, &m, CB_FOREVER);
    }
    p->ns = (double)(cb_now_ns() - t0) / PINGS;
    cb_port_close(p->a);
    cb_join(t);
}

static void round_trip(void *arg)
{
    double *out = arg;
    pp_t p = {chan(CB_PORT_RENDEZVOUS, 0), chan(CB_PORT_RENDEZVOUS, 0), 0};
    in_go(pinger, &p);
    cb_port_free(p.a);
    cb_port_free(p.b);
    *out = p.ns;
}

/* ---- buffered throughput ---- */

#define MSGS 2000000

typedef struct flow {
    cb_port_t *ch;
    double per_s;
} flow_t;

static void consumer(void *arg)
{
    flow_t *f = arg;
    cb_term_t m;
    while (cb_recv(f->ch, &m, CB_FOREVER) == 0)
        ;
}

static void producer(void *arg)
{
    flow_t *f = arg;
    cb_task_t *t;
    cb_spawn(consumer, f, NULL, &t);
    int64_t t0 = cb_now_ns();
    for (int i = 0; i < MSGS; i++)
        cb_send(f->ch, cb_int(i));
    cb_port_close(f->ch);
    cb_join(t);
    f->per_s = MSGS * 1e9 / (double)(cb_now_ns() - t0);
}

static void buffered(void *arg)
{
    double *out = arg;
    flow_t f = {chan(CB_PORT_FIXED, 1024), 0};
    in_go(producer, &f);
    cb_port_free(f.ch);
    *out = f.per_s;
}

/* ---- spawn ---- */

#define SPAWNS 100000
#define BATCH 1000

static void noop(void *arg)
{
    (void)arg;
}

static void spawner(void *arg)
{
    double *out = arg;
    static cb_task_t *t[BATCH];
    int64_t spawn_ns = 0;
    for (int b = 0; b < SPAWNS / BATCH; b++) {
        int64_t t0 = cb_now_ns();
        for (int i = 0; i < BATCH; i++)
            cb_spawn(noop, NULL, NULL, &t[i]);
        spawn_ns += cb_now_ns() - t0;
        for (int i = 0; i < BATCH; i++)
            cb_join(t[i]);
    }
    *out = (double)spawn_ns / SPAWNS;
}

static void spawn_cost(void *arg)
{
    in_go(spawner, arg);
}

/* ---- parked go blocks ---- */

static int parked_n = 20000;

static void park_on(void *arg)
{
    cb_term_t m;
    cb_recv(arg, &m, CB_FOREVER);
}

static void parked(void *arg)
{
    double *out = arg;
    cb_port_t **ch = calloc((size_t)parked_n, sizeof *ch);
    cb_task_t **t = calloc((size_t)parked_n, sizeof *t);
    int64_t rss0 = rt_mem_rss_bytes();
    for (int i = 0; i < parked_n; i++) {
        ch[i] = chan(CB_PORT_RENDEZVOUS, 0);
        if (cb_spawn(park_on, ch[i], NULL, &t[i]) < 0)
            exit(1);
    }
    /* Parked once the last one has registered its take. */
    cb_sleep(200 * 1000000LL);
    int64_t rss1 = rt_mem_rss_bytes();
    for (int i = 0; i < parked_n; i++) {
        cb_port_close(ch[i]);
        cb_join(t[i]);
        cb_port_free(ch[i]);
    }
    *out = (double)(rss1 - rss0) / parked_n;
    free(ch);
    free(t);
}

/* ---- skynet ---- */

typedef struct sky {
    int64_t num, size;
    cb_port_t *up;
} sky_t;

static void sky_node(void *arg)
{
    sky_t *s = arg;
    if (s->size == 1) {
        cb_send(s->up, cb_int(s->num));
        return;
    }
    sky_t kids[10];
    cb_port_t *mine = chan(CB_PORT_FIXED, 10);
    int64_t step = s->size / 10;
    for (int i = 0; i < 10; i++) {
        kids[i] = (sky_t){s->num + i * step, step, mine};
        cb_spawn(sky_node, &kids[i], NULL, NULL);
    }
    int64_t sum = 0;
    for (int i = 0; i < 10; i++) {
        cb_term_t m;
        cb_recv(mine, &m, CB_FOREVER);
        sum += cb_int_value(m);
    }
    cb_port_free(mine);
    cb_send(s->up, cb_int(sum));
}

static int64_t skynet_peak; /* go blocks alive at once, last run */

static void skynet(void *arg)
{
    double *out = arg;
    cb_port_t *up = chan(CB_PORT_FIXED, 1);
    sky_t root = {0, 1000000, up};
    int64_t t0 = cb_now_ns();
    cb_spawn(sky_node, &root, NULL, NULL);
    cb_term_t m;
    cb_recv(up, &m, CB_FOREVER);
    *out = (double)(cb_now_ns() - t0) / 1e6;
    cb_counter_t c[CB_COUNTERS_MAX];
    size_t nc = cb_model_counters(c, CB_COUNTERS_MAX);
    for (size_t i = 0; i < nc; i++)
        if (strcmp(c[i].name, "go_peak") == 0)
            skynet_peak = c[i].value;
    if (cb_int_value(m) != (int64_t)1000000 * 999999 / 2) {
        fprintf(stderr, "bench_csp: skynet summed %lld\n",
                (long long)cb_int_value(m));
        exit(1);
    }
    cb_port_free(up);
}

/* ---- driver ---- */

/* Whether ~111 K guarded stacks fit in vm.max_map_count: without guard
 * pages, or with slabs that guard with markers instead of mappings. */
static bool many_guarded_stacks(void)
{
#ifdef CB_NO_GUARD_PAGES
    return true;
#else
    rt_stack_pool_t *pool = NULL;
    if (rt_stack_pool_new_slabs(&pool, 64 * 1024, 0) < 0)
        return false;
    bool ok = rt_stack_pool_carves_slabs(pool);
    rt_stack_pool_free(pool);
    return ok;
#endif
}

static double figure(cb_task_fn fn, const char *const *kv, int n)
{
    double v[REPS];
    for (int r = 0; r < REPS; r++) {
        start(kv, n);
        if (cb_model_run(fn, &v[r]) < 0)
            exit(1);
        stop();
    }
    return bench_median(v, REPS);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        parked_n = atoi(argv[1]);
    if (parked_n < 1) {
        fprintf(stderr, "usage: bench_csp [PARKED]\n");
        return 2;
    }
    csp = cb_model_find("csp");
    if (!csp) {
        fprintf(stderr, "bench_csp: no csp model in this build\n");
        return 1;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    bench_print_build("bench_csp");
    static const char *const one[] = {"pool=1"};
    static const char *const two[] = {"pool=2"};
    static const char *const two_st[] = {"pool=2", "sched=stealing"};
    const char *only = argc > 2 ? argv[2] : "";
#define WANT(name) (!*only || strcmp(only, name) == 0)
    static const char *const one_st[] = {"pool=1", "sched=stealing"};
    if (WANT("round_trip")) {
        printf("csp_round_trip_ns: %.0f\n", figure(round_trip, one, 1));
        printf("csp_round_trip_ns_stealing: %.0f\n",
               figure(round_trip, one_st, 2));
    }
    if (WANT("buffered"))
        printf("csp_buffered_msgs_per_s: %.0f\n", figure(buffered, one, 1));
    if (WANT("spawn"))
        printf("csp_spawn_ns: %.0f\n", figure(spawn_cost, one, 1));
    if (WANT("parked"))
        printf("csp_parked_bytes: %.0f (%d parked)\n", figure(parked, one, 1),
               parked_n);
    if (!WANT("skynet"))
        return 0;
    static const char *const two_lifo[] = {"pool=2", "sched=lifo"};
    printf("csp_skynet_ms_lifo: %.0f\n", figure(skynet, two_lifo, 2));
    printf("# go blocks alive at once: %lld\n", (long long)skynet_peak);
    if (!many_guarded_stacks()) {
        printf("# csp_skynet_ms_shared, _stealing: need guard markers "
               "(Linux 6.13) or a CB_GUARD_PAGES=OFF build (breadth first, "
               "~111 K go blocks with stacks at once: more than "
               "vm.max_map_count allows with a guard mapping each)\n");
        return 0;
    }
    printf("csp_skynet_ms_shared: %.0f\n", figure(skynet, two, 1));
    printf("# go blocks alive at once: %lld\n", (long long)skynet_peak);
    printf("csp_skynet_ms_stealing: %.0f\n", figure(skynet, two_st, 2));
    printf("# go blocks alive at once: %lld\n", (long long)skynet_peak);
    return 0;
}
