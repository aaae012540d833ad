/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * The drift probe: how fast was the machine itself while a matrix ran?
 *
 * `compare` judges two results folders run at different times.  On a
 * shared VM the machine under them changes: two runs one after the other
 * of one binary ran csp skynet 42% slower in wall time and 36% slower in
 * CPU time, every repetition of the second slower than every one of the
 * first.  No test over one run's repetitions tells that from a
 * regression.  So every matrix times a piece of work that no build
 * changes, on the PUs its cells run on, before every repetition: the
 * probes share the cells' moments, and the ratio of the two runs' probe
 * medians measures how much slower the machine was (compare's drift rule
 * decides what to do with it).
 *
 * The work, one thread pinned to each PU of the matrix, started together
 * behind a gate, because the cells use every PU at once and a
 * neighbour on any one of them slows them:
 *   compute  a multiply-xorshift chain: the core's own speed (a host that
 *            gives the vCPU less of a physical core, a lower clock);
 *   memory   a dependent walk through a random cyclic permutation of the
 *            cache lines of a 2 MiB buffer: caches and memory that other
 *            tenants share;
 *   fault    mapping 256 KiB, touching each page, unmapping it: the kernel
 *            and hypervisor path that a runtime allocating stacks and
 *            heaps takes.
 * Each part is sized to take about a millisecond here (4 ms a probe with
 * its threads' start), small beside a repetition.  A sample is the whole
 * probe's wall time, first start to last end, with each part's slowest
 * PU for the record.  Each thread allocates and builds its buffer on its
 * own PU (first touch: local memory on a NUMA machine); probe_open runs
 * the probe once, untimed, to do that.
 *
 * Not a calibration: nothing says a workload slows by the probe's factor
 * (the cells moved by 0.1 to 0.8 of it here), so compare uses it as an
 * allowance, the most the machine can explain, never divides by it
 * (runner/cmd_compare.c, rule 6).  Rejected: probing once at the start
 * and end of a run (a neighbour's load comes and goes within a run), and
 * normalising by the matrix's own cells (a regression of the whole runtime
 * would correct itself away).
 */
#include "runner/probe.h"
#include "runner/json.h"
#include "runner/results.h"

#include "runtime/clock.h"
#include "runtime/topo.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PROBE_COMPUTE_STEPS 600000
#define PROBE_MEMORY_BYTES (2u << 20)
#define PROBE_MEMORY_STEPS 10000
#define PROBE_FAULT_BYTES (256u << 10)
#define PROBE_LINE 64
/* On a bigger machine the first 64 PUs of the matrix stand for the rest:
 * a probe on every PU of a 256-PU machine would hold 512 MiB of walk
 * buffers and cost more than many of the repetitions it watches. */
#define PROBE_MAX_PUS 64

typedef struct probe_pu {
    probe_t *p;
    int pu;
    uint32_t *chase; /* next line's index at the start of each line */
    int64_t start, compute_end, memory_end, end;
    uint64_t sink;
} probe_pu_t;

struct probe {
    probe_pu_t pus[PROBE_MAX_PUS];
    int n;
    /* The start gate: threads count themselves ready, then wait for go.
     * Not a barrier: when a thread cannot be created, the started ones
     * must still be let through. */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int ready;
    bool go;
};

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* A random cycle through every line (Sattolo's shuffle), so that each
 * step's address depends on the last and no prefetcher can guess it. */
static uint32_t *build_chase(uint64_t seed)
{
    size_t lines = PROBE_MEMORY_BYTES / PROBE_LINE,
           per = PROBE_LINE / sizeof(uint32_t);
    uint32_t *buf = malloc(PROBE_MEMORY_BYTES);
    uint32_t *order = malloc(lines * sizeof *order);
    if (!buf || !order) {
        free(buf);
        free(order);
        return NULL;
    }
    for (size_t i = 0; i < lines; i++)
        order[i] = (uint32_t)i;
    uint64_t s = seed | 1;
    for (size_t i = lines - 1; i > 0; i--) {
        size_t j = xorshift(&s) % i;
        uint32_t t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    memset(buf, 0, PROBE_MEMORY_BYTES);
    for (size_t i = 0; i < lines; i++)
        buf[(size_t)order[i] * per] = order[(i + 1) % lines];
    free(order);
    return buf;
}

static void *probe_thread(void *arg)
{
    probe_pu_t *t = arg;
    /* Unpinned (a PU taken away since the matrix started), it is still a
     * sample of the machine. */
    (void)rt_topo_pin_self(t->pu);
    if (!t->chase) /* NULL again when out of memory: probe_time says so */
        t->chase = build_chase(0x9e3779b97f4a7c15ull + (uint64_t)t->pu);
    probe_t *p = t->p;
    pthread_mutex_lock(&p->lock);
    p->ready++;
    pthread_cond_broadcast(&p->cond);
    while (!p->go)
        pthread_cond_wait(&p->cond, &p->lock);
    pthread_mutex_unlock(&p->lock);
    t->start = rt_now_ns();
    uint64_t s = 0x2545f4914f6cdd1dull + (uint64_t)t->pu, acc = 0;
    for (int i = 0; i < PROBE_COMPUTE_STEPS; i++)
        acc += xorshift(&s) * 0x9e3779b97f4a7c15ull;
    t->compute_end = rt_now_ns();
    if (t->chase) {
        size_t per = PROBE_LINE / sizeof(uint32_t);
        uint32_t at = 0;
        for (int i = 0; i < PROBE_MEMORY_STEPS; i++)
            at = t->chase[(size_t)at * per];
        acc += at;
    }
    t->memory_end = rt_now_ns();
    long page = sysconf(_SC_PAGESIZE);
    char *m = mmap(NULL, PROBE_FAULT_BYTES, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m != MAP_FAILED) {
        for (size_t o = 0; o < PROBE_FAULT_BYTES; o += (size_t)page)
            m[o] = (char)o;
        acc += (unsigned char)m[PROBE_FAULT_BYTES / 2];
        munmap(m, PROBE_FAULT_BYTES);
    }
    t->end = rt_now_ns();
    t->sink = acc; /* keeps the loops from being optimised away */
    return NULL;
}

int probe_time(probe_t *p, probe_sample_t *out)
{
    pthread_t th[PROBE_MAX_PUS];
    int started = 0, rc = 0;
    memset(out, 0, sizeof *out);
    p->ready = 0;
    p->go = false;
    for (; started < p->n; started++)
        if ((rc = pthread_create(&th[started], NULL, probe_thread,
                                 &p->pus[started])) != 0)
            break;
    /* Open the gate once every started thread is pinned and ready (all
     * of them, or the ones that started before a failure). */
    pthread_mutex_lock(&p->lock);
    while (p->ready < started)
        pthread_cond_wait(&p->cond, &p->lock);
    p->go = true;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    if (started < p->n)
        return -rc;
    int64_t first = INT64_MAX, last = 0;
    for (int i = 0; i < p->n; i++) {
        const probe_pu_t *t = &p->pus[i];
        if (!t->chase)
            return -ENOMEM;
        first = t->start < first ? t->start : first;
        last = t->end > last ? t->end : last;
        int64_t c = t->compute_end - t->start,
                m = t->memory_end - t->compute_end, f = t->end - t->memory_end;
        out->compute_ns = c > out->compute_ns ? c : out->compute_ns;
        out->memory_ns = m > out->memory_ns ? m : out->memory_ns;
        out->fault_ns = f > out->fault_ns ? f : out->fault_ns;
    }
    out->wall_ns = last - first;
    return 0;
}

probe_t *probe_open(const int *pus, int npus)
{
    probe_t *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    p->n = npus < 1 ? 1 : npus > PROBE_MAX_PUS ? PROBE_MAX_PUS : npus;
    for (int i = 0; i < p->n; i++) {
        p->pus[i].p = p;
        p->pus[i].pu = npus < 1 ? rt_topo_pu_os_index(0) : pus[i];
    }
    probe_sample_t warm;
    if (probe_time(p, &warm) < 0) {
        probe_close(p);
        return NULL;
    }
    return p;
}

void probe_close(probe_t *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->n; i++)
        free(p->pus[i].chase);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->cond);
    free(p);
}

int probe_append(const char *dir, int order, const probe_sample_t *s)
{
    char path[4200];
    snprintf(path, sizeof path, "%.4000s/probe.jsonl", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
    if (fd < 0)
        return -errno;
    res_line_t l;
    json_t *j = res_line_begin(&l, "probe");
    int rc = -ENOMEM;
    if (j) {
        json_int(j, "version", PROBE_VERSION);
        json_int(j, "order", order);
        json_int(j, "wall_ns", s->wall_ns);
        json_int(j, "compute_ns", s->compute_ns);
        json_int(j, "memory_ns", s->memory_ns);
        json_int(j, "fault_ns", s->fault_ns);
        rc = res_line_end(&l, fd);
    }
    close(fd);
    return rc;
}

int probe_load(const char *dir, double **out, size_t *n, int *version,
               char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    *version = 0;
    char path[4200];
    snprintf(path, sizeof path, "%.4000s/probe.jsonl", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return 1;
    char *line = NULL;
    size_t cap = 0, have = 0, lineno = 0;
    ssize_t len;
    int rc = 0;
    while ((len = getline(&line, &cap, f)) > 0) {
        lineno++;
        if (line[len - 1] != '\n')
            break; /* the line an interruption cut */
        char perr[256];
        jv_t *v = jv_parse(line, (size_t)len - 1, perr, sizeof perr);
        double w, ver;
        const char *type = jv_str(jv_get(v, "type"));
        if (!v || !type || strcmp(type, "probe") != 0 ||
            !jv_num(jv_get(v, "wall_ns"), &w) || !(w > 0) ||
            !jv_num(jv_get(v, "version"), &ver) || !(ver >= 1)) {
            snprintf(err, errlen, "%.4000s:%zu: not a probe record%s%s", path,
                     lineno, v ? "" : ": ", v ? "" : perr);
            jv_free(v);
            rc = -1;
            break;
        }
        jv_free(v);
        if (*n > 0 && (int)ver != *version) {
            snprintf(err, errlen,
                     "%.4000s:%zu: probe version %d after version %d: a "
                     "--resume with another build; remove the file to "
                     "compare without the drift probe",
                     path, lineno, (int)ver, *version);
            rc = -1;
            break;
        }
        *version = (int)ver;
        if (*n == have) {
            have = have ? have * 2 : 64;
            double *g = realloc(*out, have * sizeof *g);
            if (!g) {
                snprintf(err, errlen, "out of memory");
                rc = -1;
                break;
            }
            *out = g;
        }
        (*out)[(*n)++] = w;
    }
    free(line);
    fclose(f);
    if (rc < 0) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return rc == 0 && *n == 0 ? 1 : rc;
}
