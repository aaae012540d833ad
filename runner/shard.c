/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Past one machine: a matrix split over a cluster scheduler's tasks and
 * joined again.  concbench ships no scheduler; it runs under the one a
 * user already has (a university's Slurm, a company's Kubernetes) and
 * takes its place in the job from the scheduler's environment.
 *
 * The plan.  A matrix's plan is its cells (model, workload, every
 * parameter), its repetitions and warm-ups, its seed, order, size
 * (--quick), metric and timeout, and the binary's revision: every shard
 * of one plan computes the same cells, the same seeds and the same order
 * (cmd_matrix.c), so the shards' runs are exactly the runs the whole
 * matrix would make.  Its identity (plan_id, a hash of those) and its
 * cells, each with the shard that owns it, head every runs.jsonl.
 *
 * The split.  Whole cells go to shards, never single repetitions: a
 * cell's warm-ups then run on the machine its repetitions run on (a
 * warm-up on another node warms nothing), and a cell's spread is
 * measured on one machine, so a cell is never cut in two by machine
 * fingerprints (see merge below).  Cells are dealt longest first to the
 * least loaded shard (the LPT rule: within 4/3 of the best makespan),
 * from an order shuffled by the seed so that equal cells of one model do
 * not all land on one shard.
 *
 * The schedulers.  Slurm (job_array.html, sbatch(1) "OUTPUT ENVIRONMENT
 * VARIABLES"): an array task has SLURM_ARRAY_TASK_ID, and
 * SLURM_ARRAY_TASK_MIN, _MAX, _COUNT and _STEP describe the array; any
 * evenly stepped array works (--array=0-3, 1-4, 0-6:2), a list with gaps
 * (--array=1,2,7) is refused because its size does not say which indices
 * exist.  Kubernetes (Indexed Job, kubernetes.io/docs/concepts/workloads/
 * controllers/job/#completion-mode): the pod has JOB_COMPLETION_INDEX,
 * 0 .. spec.completions - 1, but nothing carries the completions count,
 * so the manifest passes it in CONCBENCH_SHARDS.  Both present, or
 * neither, is refused: guessing would run the wrong part silently.
 *
 * Merge.  Folders of one plan become one matrix.  Invariants:
 *   - nothing is invented: a shard no folder holds is reported by number
 *     and its planned repetitions are recorded as "missing", with no
 *     figures; so are the repetitions a present shard lacks (interrupted:
 *     its folder holds complete lines but not all of its plan);
 *   - nothing is counted twice: the same shard from the same machine
 *     twice is refused, as are two different plans or one plan split two
 *     ways;
 *   - machines are never pooled: when the folders come from more than one
 *     machine fingerprint, each run carries its machine's
 *     ("machine_fingerprint", and "@fp " before its label), which is part of
 *     its cell's identity (results_cell_id), so summary, plot and compare
 *     see one cell per machine; one fingerprint merges into a folder
 *     indistinguishable from the matrix run on that machine.
 *
 * Rejected: splitting repetitions round-robin (warm-ups away from their
 * repetitions, a cell cut across machines), a coordinator process that
 * hands out work (that is a scheduler of our own), and pooling runs of
 * "similar" machines (which differences matter is exactly what a user of
 * several machines is measuring).
 */
#include "runner/shard.h"
#include "runner/cli.h"
#include "runner/json.h"
#include "runner/results.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- --shard ---- */

static int fail(char *err, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
    return -1;
}

/* A whole decimal integer in lo..hi, nothing else. */
static bool whole(const char *s, long lo, long hi, long *out)
{
    if (!s || !*s || strlen(s) > 9)
        return false;
    for (const char *p = s; *p; p++)
        if (*p < '0' || *p > '9')
            return false;
    long v = strtol(s, NULL, 10);
    if (v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

static int from_slurm(shard_t *o, char *err, size_t len)
{
    const char *id = getenv("SLURM_ARRAY_TASK_ID");
    const char *mn = getenv("SLURM_ARRAY_TASK_MIN");
    const char *mx = getenv("SLURM_ARRAY_TASK_MAX");
    const char *cnt = getenv("SLURM_ARRAY_TASK_COUNT");
    const char *st = getenv("SLURM_ARRAY_TASK_STEP");
    long vid, vmin, vmax, vcnt, vstep = 1;
    if (!whole(id, 0, 99999999, &vid) || !whole(mn, 0, 99999999, &vmin) ||
        !whole(mx, 0, 99999999, &vmax) ||
        !whole(cnt, 1, SHARD_MAX, &vcnt) ||
        (st && !whole(st, 1, 99999999, &vstep)))
        return fail(err, len,
                    "--shard auto: SLURM_ARRAY_TASK_ID is set but "
                    "SLURM_ARRAY_TASK_MIN, _MAX and _COUNT are not all "
                    "integers (ID '%.20s', MIN '%.20s', MAX '%.20s', COUNT "
                    "'%.20s', STEP '%.20s')",
                    id ? id : "", mn ? mn : "", mx ? mx : "",
                    cnt ? cnt : "", st ? st : "");
    if (vmin > vmax || vid < vmin || vid > vmax || (vid - vmin) % vstep ||
        (vmax - vmin) / vstep + 1 != vcnt || (vmax - vmin) % vstep)
        return fail(err, len,
                    "--shard auto: the Slurm array is not one evenly "
                    "stepped range (task %ld of min %ld, max %ld, step %ld, "
                    "%ld tasks); submit it as --array=0-%ld",
                    vid, vmin, vmax, vstep, vcnt, vcnt - 1);
    o->k = (int)((vid - vmin) / vstep) + 1;
    o->n = (int)vcnt;
    snprintf(o->source, sizeof o->source,
             "Slurm array task %ld of %ld-%ld (step %ld): shard %d/%d", vid,
             vmin, vmax, vstep, o->k, o->n);
    return 0;
}

static int from_k8s(shard_t *o, char *err, size_t len)
{
    const char *idx = getenv("JOB_COMPLETION_INDEX");
    const char *cnt = getenv(SHARD_K8S_COUNT_ENV);
    long vi, vn;
    if (!cnt)
        return fail(err, len,
                    "--shard auto: JOB_COMPLETION_INDEX is set (a "
                    "Kubernetes Indexed Job) but %s is not: set it in the "
                    "manifest to the Job's spec.completions "
                    "(deploy/k8s/concbench-matrix.yaml)",
                    SHARD_K8S_COUNT_ENV);
    if (!whole(cnt, 1, SHARD_MAX, &vn))
        return fail(err, len,
                    "--shard auto: %s '%.20s' is not an integer in 1..%d",
                    SHARD_K8S_COUNT_ENV, cnt, SHARD_MAX);
    if (!whole(idx, 0, vn - 1, &vi))
        return fail(err, len,
                    "--shard auto: JOB_COMPLETION_INDEX '%.20s' is not an "
                    "integer in 0..%ld (%s is %ld)",
                    idx, vn - 1, SHARD_K8S_COUNT_ENV, vn);
    o->k = (int)vi + 1;
    o->n = (int)vn;
    snprintf(o->source, sizeof o->source,
             "Kubernetes completion index %ld of %ld: shard %d/%d", vi, vn,
             o->k, o->n);
    return 0;
}

int shard_parse(const char *arg, shard_t *o, char *err, size_t len)
{
    memset(o, 0, sizeof *o);
    if (strcmp(arg, "auto") == 0) {
        bool slurm = getenv("SLURM_ARRAY_TASK_ID") != NULL;
        bool k8s = getenv("JOB_COMPLETION_INDEX") != NULL;
        if (slurm && k8s)
            return fail(err, len,
                        "--shard auto: both SLURM_ARRAY_TASK_ID and "
                        "JOB_COMPLETION_INDEX are set; give --shard K/N");
        if (slurm)
            return from_slurm(o, err, len);
        if (k8s)
            return from_k8s(o, err, len);
        return fail(err, len,
                    "--shard auto: no scheduler's index here (neither a "
                    "Slurm job array's SLURM_ARRAY_TASK_ID nor a Kubernetes "
                    "Indexed Job's JOB_COMPLETION_INDEX); give --shard K/N");
    }
    const char *slash = strchr(arg, '/');
    char k[16] = "";
    long vk, vn;
    if (slash && (size_t)(slash - arg) < sizeof k)
        memcpy(k, arg, (size_t)(slash - arg));
    if (!slash || !whole(slash + 1, 1, SHARD_MAX, &vn) ||
        !whole(k, 1, SHARD_MAX, &vk))
        return fail(err, len,
                    "--shard: '%.40s' is not K/N (shard K of N, 1 <= K <= N <= "
                    "%d) or auto",
                    arg, SHARD_MAX);
    if (vk > vn)
        return fail(err, len,
                    "--shard %.40s: shard %ld of %ld does not exist (K counts "
                    "from 1 to N)",
                    arg, vk, vn);
    o->k = (int)vk;
    o->n = (int)vn;
    snprintf(o->source, sizeof o->source, "--shard %d/%d", o->k, o->n);
    return 0;
}

static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

typedef struct by_est {
    double est;
    int pos, cell;
} by_est_t;

static int cmp_est(const void *a, const void *b)
{
    const by_est_t *x = a, *y = b;
    if (x->est != y->est)
        return x->est < y->est ? 1 : -1;
    return (x->pos > y->pos) - (x->pos < y->pos);
}

void shard_assign(const double *est_s, int ncells, uint64_t seed, int n,
                  int *owner)
{
    by_est_t *v = malloc(((size_t)ncells + 1) * sizeof *v);
    double *load = calloc((size_t)n, sizeof *load);
    if (!v || !load) {
        /* Still a partition, still deterministic: round-robin. */
        for (int i = 0; i < ncells; i++)
            owner[i] = i % n;
        free(v);
        free(load);
        return;
    }
    for (int i = 0; i < ncells; i++)
        v[i] = (by_est_t){est_s[i], i, i};
    uint64_t st = mix64(seed ^ 0x7368617264ull); /* "shard" */
    for (int i = ncells; i > 1; i--) {           /* Fisher-Yates */
        st = mix64(st);
        int j = (int)(st % (uint64_t)i);
        by_est_t t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
    for (int i = 0; i < ncells; i++)
        v[i].pos = i;
    qsort(v, (size_t)ncells, sizeof *v, cmp_est);
    for (int i = 0; i < ncells; i++) {
        int best = 0;
        for (int s = 1; s < n; s++)
            if (load[s] < load[best])
                best = s;
        owner[v[i].cell] = best;
        load[best] += v[i].est > 0 ? v[i].est : 1e-9;
    }
    free(v);
    free(load);
}

/* ---- merge ---- */

typedef struct part {
    const char *dir;
    res_set_t set;
    const char *plan, *fp;
    int k, n;
} part_t;

static void say(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(char *buf, size_t len, const char *fmt, ...)
{
    if (!buf)
        return;
    size_t n = strlen(buf);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + n, len - n, fmt, ap);
    va_end(ap);
}

/* Why two plans differ, in the user's words. */
static void plan_difference(const jv_t *a, const jv_t *b, char *out,
                            size_t len)
{
    static const char *const fields[][2] = {
        {"cells_hash", "the cells (-m, -w, -p, --quick)"},
        {"reps", "--reps"},
        {"warmup", "--warmup"},
        {"seed", "--seed"},
        {"order", "--order"},
        {"metric", "--metric"},
        {"timeout_s", "--timeout"},
        {"revision", "the concbench revision"},
    };
    out[0] = '\0';
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        const jv_t *x = jv_get(a, fields[i][0]), *y = jv_get(b, fields[i][0]);
        bool same = x && y && x->kind == y->kind &&
                    (x->kind == JV_STR ? strcmp(x->str, y->str) == 0
                                       : x->num == y->num && x->b == y->b);
        if (!same)
            say(out, len, "%s%s", out[0] ? ", " : "", fields[i][1]);
    }
    if (!out[0])
        snprintf(out, len, "the plan");
}

static int load_part(part_t *p, const char *dir, char *err, size_t len)
{
    p->dir = dir;
    if (results_load(dir, false, &p->set, err, len) < 0)
        return -1;
    const jv_t *h = p->set.header;
    double k = 0, n = 0;
    p->plan = jv_str(jv_get(h, "plan_id"));
    if (jv_get(h, "merged_from"))
        return fail(err, len,
                    "%s is itself a merge; merge the folders it was made "
                    "from instead",
                    dir);
    if (!h || !p->plan || !jv_num(jv_get(h, "shard"), &k) ||
        !jv_num(jv_get(h, "shards"), &n) || !jv_get(h, "plan_cells"))
        return fail(err, len,
                    "%s: no plan in its runs.jsonl header (a matrix from a "
                    "concbench before --shard, or not a matrix): run it "
                    "again with this concbench",
                    dir);
    if (k < 1 || n < 1 || k > n || n > SHARD_MAX)
        return fail(err, len, "%s: its header says shard %g/%g", dir, k, n);
    p->k = (int)k;
    p->n = (int)n;
    p->fp = jv_str(jv_get(p->set.machine, "fingerprint"));
    if (!p->fp)
        p->fp = "unknown";
    return 0;
}

static int write_line(int fd, res_line_t *l)
{
    return res_line_end(l, fd);
}

/* Copy every member of obj except those named in skip. */
static void copy_members(json_t *j, const jv_t *obj, const char *const *skip)
{
    for (size_t i = 0; obj && obj->kind == JV_OBJ && i < obj->n; i++) {
        bool drop = false;
        for (const char *const *s = skip; *s && !drop; s++)
            drop = strcmp(obj->keys[i], *s) == 0;
        if (!drop)
            json_value(j, obj->keys[i], &obj->items[i]);
    }
}

static int write_header(int fd, const part_t *parts, int np, const int *missing,
                        int nmissing)
{
    res_line_t l;
    json_t *j = res_line_begin(&l, NULL);
    if (!j)
        return -ENOMEM;
    static const char *const skip[] = {"shard", "shard_source", "argv", NULL};
    copy_members(j, parts[0].set.header, skip);
    json_arr_begin(j, "merged_from");
    for (int i = 0; i < np; i++) {
        json_obj_begin(j, NULL);
        json_str(j, "dir", parts[i].dir);
        json_int(j, "shard", parts[i].k);
        json_str(j, "machine_fingerprint", parts[i].fp);
        json_obj_end(j);
    }
    json_arr_end(j);
    json_arr_begin(j, "missing_shards");
    for (int i = 0; i < nmissing; i++)
        json_int(j, NULL, missing[i]);
    json_arr_end(j);
    return write_line(fd, &l);
}

static int write_run(int fd, const res_run_t *r, const char *fp, bool stamp)
{
    res_line_t l;
    json_t *j = res_line_begin(&l, NULL);
    if (!j)
        return -ENOMEM;
    static const char *const skip[] = {"label", NULL};
    copy_members(j, r->line, skip);
    if (stamp && !jv_get(r->line, "machine_fingerprint"))
        json_str(j, "machine_fingerprint", fp);
    char label[700];
    if (stamp)
        snprintf(label, sizeof label, "@%.8s %s", fp, r->label);
    else
        snprintf(label, sizeof label, "%s", r->label);
    json_str(j, "label", label);
    return write_line(fd, &l);
}

/* One planned repetition that no folder holds: recorded, never measured.
 * fp: the machine whose shard lacks it (an interrupted shard), or NULL (a
 * shard no folder holds: no machine ran it). */
static int write_missing(int fd, const jv_t *hdr, const jv_t *cell, int w,
                         int rep, const char *why, const char *fp)
{
    const jv_t *quick = jv_get(hdr, "quick");
    res_line_t l;
    json_t *j = res_line_begin(&l, "run");
    if (!j)
        return -ENOMEM;
    static const char *const skip[] = {"shard", "label", NULL};
    copy_members(j, cell, skip);
    const char *label = jv_str(jv_get(cell, "label"));
    char stamped[700];
    snprintf(stamped, sizeof stamped, "%s%.8s%s%s", fp ? "@" : "",
             fp ? fp : "", fp ? " " : "", label ? label : "?");
    json_str(j, "label", stamped);
    if (fp)
        json_str(j, "machine_fingerprint", fp);
    json_bool(j, "quick", quick && quick->kind == JV_BOOL && quick->b);
    json_int(j, "rep", rep);
    json_bool(j, "warmup", w);
    json_str(j, "outcome", "missing");
    json_str(j, "reason", why);
    json_obj_begin(j, "metrics");
    json_obj_end(j);
    json_obj_begin(j, "series");
    json_obj_end(j);
    json_obj_begin(j, "counters");
    json_obj_end(j);
    return write_line(fd, &l);
}

static int cmp_strp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "w rep cell" for every run a part holds, sorted for bsearch; NULL when
 * out of memory. */
static char **run_keys(const part_t *p)
{
    size_t n = p->set.nruns;
    char **k = calloc(n + 1, sizeof *k);
    for (size_t i = 0; k && i < n; i++) {
        const res_run_t *r = &p->set.runs[i];
        size_t len = strlen(r->cell) + 32;
        if (!(k[i] = malloc(len))) {
            for (size_t x = 0; x < i; x++)
                free(k[x]);
            free(k);
            return NULL;
        }
        snprintf(k[i], len, "%d %d %s", r->warmup, r->rep, r->cell);
    }
    if (k && n > 1)
        qsort(k, n, sizeof *k, cmp_strp);
    return k;
}

static void free_keys(char **k, size_t n)
{
    for (size_t i = 0; k && i < n; i++)
        free(k[i]);
    free(k);
}

/*
 * Record the planned repetitions of shard k (1-based) that part (NULL: no
 * folder holds shard k) lacks; *n gets how many, *ncells of how many
 * cells.  0 or -errno.
 */
static int fill_gaps(int fd, const jv_t *hdr, int k, int nshards,
                     const part_t *part, bool stamp, size_t *n,
                     size_t *ncells)
{
    const jv_t *cells = jv_get(hdr, "plan_cells");
    double reps = 0, warm = 0;
    jv_num(jv_get(hdr, "reps"), &reps);
    jv_num(jv_get(hdr, "warmup"), &warm);
    char **keys = NULL;
    if (part && !(keys = run_keys(part)))
        return -ENOMEM;
    char why[600];
    if (part)
        snprintf(why, sizeof why,
                 "not run: %.400s (shard %d/%d) stops short of its plan (an "
                 "interrupted shard: matrix --resume there runs the rest)",
                 part->dir, k, nshards);
    else
        snprintf(why, sizeof why,
                 "not run here: shard %d/%d's folder was not among the "
                 "merged ones",
                 k, nshards);
    int rc = 0;
    *n = *ncells = 0;
    for (size_t c = 0; cells && cells->kind == JV_ARR && c < cells->n && !rc;
         c++) {
        const jv_t *cell = &cells->items[c];
        double owner = 0;
        char id[1024], key[1100];
        jv_num(jv_get(cell, "shard"), &owner);
        if ((int)owner != k || results_cell_id(cell, id, sizeof id) < 0)
            continue;
        bool gap = false;
        for (int w = 1; w >= 0 && !rc; w--)
            for (int i = 0; i < (int)(w ? warm : reps) && !rc; i++) {
                snprintf(key, sizeof key, "%d %d %s", w, i, id);
                const char *kp = key;
                if (keys && bsearch(&kp, keys, part->set.nruns,
                                    sizeof *keys, cmp_strp))
                    continue;
                rc = write_missing(fd, hdr, cell, w, i, why,
                                   part && stamp ? part->fp : NULL);
                gap = true;
                (*n)++;
            }
        *ncells += gap;
    }
    free_keys(keys, part ? part->set.nruns : 0);
    return rc;
}

static char *slurp_small(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(1 << 20);
    size_t n = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
    fclose(f);
    if (buf)
        buf[n] = '\0';
    *len = n;
    return buf;
}

static int write_machine(const char *out, const part_t *p, int np, bool mixed)
{
    char path[4200], tmp[4300];
    snprintf(path, sizeof path, "%s/machine.json", out);
    if (!mixed) {
        char src[4200];
        size_t len;
        snprintf(src, sizeof src, "%s/machine.json", p[0].dir);
        char *buf = slurp_small(src, &len);
        if (!buf)
            return 0; /* none to copy: the shards had none */
        FILE *f = outfile_open(path, tmp, sizeof tmp);
        if (!f) {
            free(buf);
            return -1;
        }
        fwrite(buf, 1, len, f);
        free(buf);
        return outfile_commit(f, tmp, path);
    }
    FILE *f = outfile_open(path, tmp, sizeof tmp);
    if (!f)
        return -1;
    json_t j;
    json_init(&j, f, true);
    json_obj_begin(&j, NULL);
    json_int(&j, "schema_version", RESULTS_SCHEMA);
    json_str(&j, "type", "machine");
    /* Never equal to one machine's: compare refuses it against a single
     * machine's folder, and pairs cells per machine against another
     * merge of the same machines. */
    char fp[4096] = "mixed";
    for (int i = 0; i < np; i++) {
        bool seen = false;
        for (int k = 0; k < i; k++)
            seen |= strcmp(p[k].fp, p[i].fp) == 0;
        if (!seen)
            say(fp, sizeof fp, "%s%s", i ? "+" : ":", p[i].fp);
    }
    json_str(&j, "fingerprint", fp);
    json_arr_begin(&j, "machines");
    for (int i = 0; i < np; i++) {
        bool seen = false;
        for (int k = 0; k < i; k++)
            seen |= strcmp(p[k].fp, p[i].fp) == 0;
        if (seen)
            continue;
        if (p[i].set.machine)
            json_value(&j, NULL, p[i].set.machine);
        else {
            json_obj_begin(&j, NULL);
            json_str(&j, "fingerprint", p[i].fp);
            json_obj_end(&j);
        }
    }
    json_arr_end(&j);
    json_obj_end(&j);
    return outfile_commit(f, tmp, path);
}

static int mkdir_one(const char *dir)
{
    if (mkdir(dir, 0777) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

static int check_parts(part_t *p, int np, char *err, size_t len)
{
    for (int i = 1; i < np; i++) {
        if (strcmp(p[i].plan, p[0].plan) != 0) {
            char why[400];
            plan_difference(p[0].set.header, p[i].set.header, why,
                            sizeof why);
            return fail(err, len,
                        "%s and %s are different plans (they differ in %s); only "
                        "shards of one plan merge: run every shard with the "
                        "same arguments and the same build",
                        p[0].dir, p[i].dir, why);
        }
        if (p[i].n != p[0].n)
            return fail(err, len,
                        "%s is shard %d/%d but %s is shard %d/%d: one plan "
                        "split two ways overlaps; merge the shards of one "
                        "split",
                        p[0].dir, p[0].k, p[0].n, p[i].dir, p[i].k, p[i].n);
        for (int k = 0; k < i; k++)
            if (p[k].k == p[i].k && strcmp(p[k].fp, p[i].fp) == 0)
                return fail(err, len,
                            "shard %d/%d is given twice from one machine "
                            "(%s): %s and %s; its runs would count twice",
                            p[i].k, p[i].n, p[i].fp, p[k].dir, p[i].dir);
    }
    return 0;
}

int shard_merge(const char *out, const char *const *dirs, int ndirs,
                char *report, size_t rlen, char *err, size_t len)
{
    if (report && rlen)
        report[0] = '\0';
    part_t *p = calloc((size_t)ndirs, sizeof *p);
    int *missing = NULL, nmissing = 0, rc = -1, fd = -1;
    char path[4200];
    bool created = false;
    if (!p)
        return fail(err, len, "out of memory");
    for (int i = 0; i < ndirs; i++)
        if (load_part(&p[i], dirs[i], err, len) < 0)
            goto done;
    if (check_parts(p, ndirs, err, len) < 0)
        goto done;
    int n = p[0].n;
    bool mixed = false;
    for (int i = 1; i < ndirs; i++)
        mixed |= strcmp(p[i].fp, p[0].fp) != 0;
    if (!(missing = calloc((size_t)n, sizeof *missing))) {
        fail(err, len, "out of memory");
        goto done;
    }
    for (int k = 1; k <= n; k++) {
        bool have = false;
        for (int i = 0; i < ndirs && !have; i++)
            have = p[i].k == k;
        if (!have)
            missing[nmissing++] = k;
    }

    if (mkdir_one(out) < 0) {
        fail(err, len, "cannot create %s: %s", out, strerror(errno));
        goto done;
    }
    snprintf(path, sizeof path, "%s/runs.jsonl", out);
    if (access(path, F_OK) == 0) {
        fail(err, len, "%s already holds results; merge into a new folder",
             out);
        goto done;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0) {
        fail(err, len, "cannot write %s: %s", path, strerror(errno));
        goto done;
    }
    created = true;
    int wrc = write_header(fd, p, ndirs, missing, nmissing);
    size_t nruns = 0;
    for (int i = 0; i < ndirs && wrc == 0; i++)
        for (size_t r = 0; r < p[i].set.nruns && wrc == 0; r++, nruns++)
            wrc = write_run(fd, &p[i].set.runs[r], p[i].fp, mixed);
    size_t nmiss_runs = 0, partial = 0;
    for (int k = 1; k <= n && wrc == 0; k++) {
        size_t gaps = 0, gap_cells = 0;
        bool have = false;
        for (int i = 0; i < ndirs && wrc == 0; i++) {
            if (p[i].k != k)
                continue;
            have = true;
            wrc = fill_gaps(fd, p[0].set.header, k, n, &p[i], mixed, &gaps,
                            &gap_cells);
            if (gaps) {
                partial++;
                say(report, rlen,
                    "%s (shard %d/%d) lacks %zu of its planned runs, in %zu "
                    "cell%s (interrupted? `concbench matrix ... --resume -o "
                    "%s` runs them): recorded as missing\n",
                    p[i].dir, k, n, gaps, gap_cells, gap_cells == 1 ? "" : "s",
                    p[i].dir);
                nmiss_runs += gaps;
            }
        }
        if (have || wrc)
            continue;
        wrc = fill_gaps(fd, p[0].set.header, k, n, NULL, false, &gaps,
                        &gap_cells);
        nmiss_runs += gaps;
        say(report, rlen,
            "shard %d/%d is missing: its %zu cell%s (%zu runs) are "
            "recorded as missing\n",
            k, n, gap_cells, gap_cells == 1 ? "" : "s", gaps);
    }
    if (wrc < 0) {
        fail(err, len, "writing %s: %s", path, strerror(-wrc));
        goto done;
    }
    close(fd);
    fd = -1;
    if (write_machine(out, p, ndirs, mixed) < 0) {
        fail(err, len, "cannot write %s/machine.json: %s", out,
             strerror(errno));
        goto done;
    }
    if (mixed)
        say(report, rlen,
            "the folders come from more than one machine: each run keeps "
            "its machine's fingerprint and cells are per machine\n");
    if (results_finalize(out, NULL, 0, err, len) < 0)
        goto done;
    say(report, rlen, "%d folder%s, %zu runs merged, %zu recorded missing\n",
        ndirs, ndirs == 1 ? "" : "s", nruns, nmiss_runs);
    rc = nmissing || partial ? 1 : 0;
done:
    if (fd >= 0)
        close(fd);
    if (rc < 0 && created)
        unlink(path);
    for (int i = 0; i < ndirs; i++)
        results_free(&p[i].set);
    free(p);
    free(missing);
    return rc;
}
