/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * concbench export DIR bmf|gab: a results folder in the formats existing
 * trackers ingest.
 *
 *   bmf  Bencher Metric Format: {benchmark: {measure: {value, lower_value,
 *        upper_value}}}; the benchmark is the cell, the measure the metric
 *        in kebab case (Bencher creates a measure the first time it sees
 *        its slug), value the median and the bounds its bootstrap 95%
 *        interval.
 *   gab  github-action-benchmark's custom tools take a list of {name,
 *        unit, value, range, extra} and know one direction per file, so
 *        there are two: gab-bigger.json (tool customBiggerIsBetter:
 *        throughput, fairness) and gab-smaller.json (customSmallerIsBetter:
 *        times, latencies, memory).
 *
 * Only metrics with a known direction are exported: a counter that went
 * up is not a regression or an improvement by itself.
 */
#include "runner/args.h"
#include "runner/results.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

int metric_direction(const char *name)
{
    if (strncmp(name, "counters.", 9) == 0)
        return 0;
    if (strcmp(name, "instructions") == 0)
        return -1;
    if (strstr(name, "throughput") || ends_with(name, "_ops_s") ||
        ends_with(name, "_per_s") || strstr(name, "fairness"))
        return 1;
    /* Histograms: the distribution's position; count is how many. */
    if (ends_with(name, ".count"))
        return 0;
    if (strstr(name, "_ns") || strncmp(name, "ns_", 3) == 0 ||
        ends_with(name, "_s") ||
        ends_with(name, "_bytes") || strstr(name, "latency") ||
        strstr(name, "lateness"))
        return -1;
    return 0;
}

const char *metric_unit(const char *name)
{
    if (strcmp(name, "instructions") == 0)
        return "instructions";
    if (strstr(name, "_ops_s") || strstr(name, "throughput"))
        return "ops/s";
    if (strstr(name, "fairness"))
        return "index";
    if (strstr(name, "_ns") || strncmp(name, "ns_", 3) == 0)
        return "ns";
    if (strstr(name, "_bytes"))
        return "bytes";
    if (ends_with(name, "_s"))
        return "s";
    return "";
}

static void slug(const char *name, char *out, size_t len)
{
    size_t i = 0;
    for (; *name && i + 1 < len; name++)
        out[i++] = (*name == '_' || *name == '.') ? '-' : *name;
    out[i] = '\0';
}

#define fail results_error

/* Append " PREFIXk=v" to out for each parameter of ps whose value is not
 * its default in defs (all of them when defs is NULL: unknown). */
static void differing(const jv_t *ps, const cb_param_def_t *defs,
                      const char *prefix, char *out, size_t len)
{
    cb_param_set_t d;
    if (defs)
        cb_params_defaults(&d, defs, false);
    for (size_t k = 0; ps && ps->kind == JV_OBJ && k < ps->n; k++) {
        const jv_t *v = &ps->items[k];
        char val[CB_PARAM_STR_MAX + 32], def[CB_PARAM_STR_MAX + 32] = "";
        if (v->kind == JV_STR)
            snprintf(val, sizeof val, "%s", v->str);
        else
            snprintf(val, sizeof val, "%.17g", v->num);
        int i = defs ? cb_params_find(&d, ps->keys[k]) : -1;
        if (i >= 0 && d.defs[i].kind == CB_PARAM_INT)
            snprintf(def, sizeof def, "%lld", (long long)d.ival[i]);
        else if (i >= 0)
            snprintf(def, sizeof def, "%s", d.sval[i]);
        if (i >= 0 && strcmp(val, def) == 0)
            continue;
        size_t n = strlen(out);
        snprintf(out + n, len - n, " %s%s=%s", prefix, ps->keys[k], val);
    }
}

/*
 * A tracker's series name: the model, the workload and the parameters
 * whose values differ from their defaults (the full defaults, not
 * --quick's).  Naming every parameter, as the cell id does, renamed every
 * series of every workload when one default changed, and a tracker
 * keeps a renamed series as a new one, its history lost.
 */
static void bench_name(const res_cell_t *c, char *out, size_t len)
{
    const res_run_t *r = c->first;
    const cb_workload_t *w = cb_workload_find(r->workload ? r->workload : "");
    const cb_model_t *m = cb_model_find(r->model ? r->model : "");
    snprintf(out, len, "%s %s", r->model ? r->model : "?",
             r->workload ? r->workload : "?");
    differing(jv_get(r->line, "params"), w ? w->params : NULL, "", out, len);
    differing(jv_get(r->line, "model_params"), m ? m->params : NULL,
              "model.", out, len);
}

/* Judged metrics only: a derived one (ping-pong's throughput beside its
 * round trip) would raise the same alert twice, and a diagnostic (its CPU
 * time, an idle worker's spinning) alerts on the scheduler, not the code. */
static bool exported(const res_cell_t *c, const char *metric)
{
    if (!metric_direction(metric))
        return false;
    const cb_workload_t *w =
        cb_workload_find(c->first->workload ? c->first->workload : "");
    if (cb_wl_metric_diagnostic(w, metric))
        return false;
    const char *from = cb_wl_metric_derived_from(w, metric);
    return !from || !results_find_metric(c, from);
}

static void write_bmf(FILE *f, const res_summary_t *sum)
{
    json_t j;
    json_init(&j, f, true);
    json_obj_begin(&j, NULL);
    for (size_t i = 0; i < sum->ncells; i++) {
        const res_cell_t *c = &sum->cells[i];
        if (!c->nm)
            continue;
        char name[1300];
        bench_name(c, name, sizeof name);
        json_obj_begin(&j, name);
        for (size_t m = 0; m < c->nm; m++) {
            if (!exported(c, c->m[m].name))
                continue;
            char s[64];
            slug(c->m[m].name, s, sizeof s);
            json_obj_begin(&j, s);
            json_f64(&j, "value", c->m[m].st.median);
            if (isfinite(c->m[m].st.ci_lo)) {
                json_f64(&j, "lower_value", c->m[m].st.ci_lo);
                json_f64(&j, "upper_value", c->m[m].st.ci_hi);
            }
            json_obj_end(&j);
        }
        json_obj_end(&j);
    }
    json_obj_end(&j);
}

static void write_gab(FILE *f, const res_summary_t *sum, int dir)
{
    json_t j;
    json_init(&j, f, true);
    json_arr_begin(&j, NULL);
    for (size_t i = 0; i < sum->ncells; i++) {
        const res_cell_t *c = &sum->cells[i];
        for (size_t m = 0; m < c->nm; m++) {
            const stats_t *st = &c->m[m].st;
            if (metric_direction(c->m[m].name) != dir ||
                !exported(c, c->m[m].name))
                continue;
            char name[1300], range[64], extra[128];
            bench_name(c, name, sizeof name - 200);
            size_t n = strlen(name);
            snprintf(name + n, sizeof name - n, " %s", c->m[m].name);
            json_obj_begin(&j, NULL);
            json_str(&j, "name", name);
            json_str(&j, "unit", metric_unit(c->m[m].name));
            json_f64(&j, "value", st->median);
            if (isfinite(st->ci_lo)) {
                snprintf(range, sizeof range, "± %.6g",
                         (st->ci_hi - st->ci_lo) / 2);
                json_str(&j, "range", range);
            }
            snprintf(extra, sizeof extra,
                     "median of %zu repetitions; 95%% CI [%.6g, %.6g]", st->n,
                     st->ci_lo, st->ci_hi);
            json_str(&j, "extra", extra);
            json_obj_end(&j);
        }
    }
    json_arr_end(&j);
}

static int write_file(const char *dir, const char *name,
                      const res_summary_t *sum, int gab_dir, char *err,
                      size_t errlen)
{
    char path[4200], tmp[4300];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = outfile_open(path, tmp, sizeof tmp);
    if (!f)
        return fail(err, errlen, "cannot write %s", path);
    if (gab_dir)
        write_gab(f, sum, gab_dir);
    else
        write_bmf(f, sum);
    if (outfile_commit(f, tmp, path) < 0)
        return fail(err, errlen, "cannot write %s", path);
    return 0;
}

static int export_to(const char *dir, const char *fmt, FILE *out, char *err,
                     size_t errlen)
{
    if (strcmp(fmt, "bmf") != 0 && strcmp(fmt, "gab") != 0)
        return fail(err, errlen, "unknown export format '%s' (bmf, gab)",
                    arg_clip(fmt));
    res_set_t set;
    res_summary_t sum = {0};
    int rc = -1;
    if (results_load(dir, false, &set, err, errlen) < 0)
        goto out;
    if (results_summarise(&set, &sum) < 0) {
        fail(err, errlen, "out of memory");
        goto out;
    }
    if (out && strcmp(fmt, "bmf") == 0)
        write_bmf(out, &sum), rc = 0;
    else if (out) /* one document on stdout: the higher-is-better list */
        rc = fail(err, errlen,
                  "gab makes two files (bigger and smaller is better), "
                  "so it has no --stdout; without it they are written "
                  "into %s",
                  dir);
    else if (strcmp(fmt, "bmf") == 0)
        rc = write_file(dir, "bmf.json", &sum, 0, err, errlen);
    else
        rc = write_file(dir, "gab-bigger.json", &sum, 1, err, errlen) ||
                     write_file(dir, "gab-smaller.json", &sum, -1, err, errlen)
                 ? -1
                 : 0;
out:
    results_summary_free(&sum);
    results_free(&set);
    return rc;
}

int export_write(const char *dir, const char *fmt, char *err, size_t errlen)
{
    return export_to(dir, fmt, NULL, err, errlen);
}

int cmd_export(int argc, char **argv)
{
    if (argc == 2 && is_help(argv[1])) {
        printf("usage: concbench export DIR bmf|gab [--stdout]\n\n"
               "Writes a results folder's medians and 95%% intervals for "
               "trackers:\n"
               "  bmf  DIR/bmf.json, Bencher Metric Format (bencher run "
               "--adapter json)\n"
               "  gab  DIR/gab-bigger.json and DIR/gab-smaller.json for\n"
               "       github-action-benchmark's customBiggerIsBetter and\n"
               "       customSmallerIsBetter tools\n"
               "--stdout prints bmf instead of writing the file.\n\n"
               "Exit: 0 ok, 2 usage or unreadable results.\n");
        return EXIT_OK;
    }
    bool to_stdout = argc == 4 && strcmp(argv[3], "--stdout") == 0;
    if (argc != 3 && !to_stdout)
        return usage_error("export: usage: concbench export DIR bmf|gab "
                           "[--stdout]");
    char err[1024];
    if (export_to(argv[1], argv[2], to_stdout ? stdout : NULL, err,
                  sizeof err) < 0)
        return usage_error("export: %s", err);
    if (!to_stdout && strcmp(argv[2], "bmf") == 0)
        printf("wrote %s/bmf.json (Bencher Metric Format: bencher run "
               "--adapter json --file %s/bmf.json)\n",
               argv[1], argv[1]);
    else if (!to_stdout)
        printf("wrote %s/gab-bigger.json and %s/gab-smaller.json "
               "(github-action-benchmark: tool customBiggerIsBetter and "
               "customSmallerIsBetter)\n",
               argv[1], argv[1]);
    return EXIT_OK;
}

/* v in the unit a person reads for metric name: 91.6 ns, 12.3 ms,
 * 4.2 MiB, 1.23 M ops/s, 110 M instr. */
static void human_value(const char *name, double v, char *out, size_t len)
{
    static const char *const times[] = {"ns", "\u00b5s", "ms", "s"};
    static const char *const sizes[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    static const char *const counts[] = {"", " k", " M", " G", " T"};
    const char *unit = metric_unit(name);
    int k = 0;
    double a = fabs(v);
    if (strcmp(unit, "ns") == 0) {
        for (; a >= 1000 && k < 3; k++, a /= 1000, v /= 1000)
            ;
        snprintf(out, len, "%.3g %s", v, times[k]);
    } else if (strcmp(unit, "bytes") == 0) {
        for (; a >= 1024 && k < 4; k++, a /= 1024, v /= 1024)
            ;
        snprintf(out, len, "%.3g %s", v, sizes[k]);
    } else {
        for (; a >= 1000 && k < 4; k++, a /= 1000, v /= 1000)
            ;
        snprintf(out, len, "%.3g%s%s%s", v, counts[k], unit[0] ? " " : "",
                 strcmp(unit, "instructions") == 0 ? "instr" : unit);
    }
}

/* The metric that speaks for a cell: its workload's first judged metric
 * (metric_roles), else throughput, else instruction counts. */
static const char *headline_metric(const res_cell_t *c)
{
    const cb_workload_t *w =
        cb_workload_find(c->first->workload ? c->first->workload : "");
    for (const cb_wl_metric_role_t *r = w ? w->metric_roles : NULL;
         r && r->name; r++)
        if (!r->derived_from && !r->diagnostic &&
            results_find_metric(c, r->name))
            return r->name;
    static const char *const fallback[] = {"throughput_ops_s", "instructions",
                                           "wall_time_s"};
    for (size_t i = 0; i < 3; i++)
        if (results_find_metric(c, fallback[i]))
            return fallback[i];
    return NULL;
}

int cmd_summary(int argc, char **argv)
{
    if (argc == 2 && is_help(argv[1])) {
        printf("usage: concbench summary DIR\n\n"
               "Rewrites DIR's derived files (summary.csv, cells.csv, "
               "runs.csv, hist.csv,\nseries.csv) from its runs.jsonl and "
               "prints each cell's outcomes.  Use it\nafter merging or "
               "repairing runs.jsonl by hand.\n\n"
               "Exit: 0 ok, 2 usage or unreadable results.\n");
        return EXIT_OK;
    }
    if (argc != 2)
        return usage_error("summary: usage: concbench summary DIR");
    char err[1024], noisy[8192] = "";
    res_set_t set;
    res_summary_t sum = {0};
    if (results_load(argv[1], false, &set, err, sizeof err) < 0 ||
        results_finalize(argv[1], noisy, sizeof noisy, err, sizeof err) < 0 ||
        results_summarise(&set, &sum) < 0) {
        results_summary_free(&sum);
        results_free(&set);
        return usage_error("summary: %s", err);
    }
    /* The headline figures a person compares, medians over the
     * repetitions, in units a person reads; "-" where a cell does not
     * report one.  The first column is the workload's own headline (its
     * first judged metric, workloads/<name>.c metric_roles), named. */
    static const char *const cols[] = {"instructions", "latency_ns.p99",
                                       "peak_rss_bytes"};
    static const char *const heads[] = {"instructions", "latency p99",
                                        "peak RSS"};
    printf("%-40s %3s %4s %-34s", "cell", "ok", "bad", "headline (median)");
    for (size_t k = 0; k < 3; k++)
        printf(" %12s", heads[k]);
    printf("  first failure\n");
    for (size_t i = 0; i < sum.ncells; i++) {
        const res_cell_t *c = &sum.cells[i];
        size_t bad = 0;
        for (int o = 0; o < REP_OUTCOME_COUNT; o++)
            bad += o == REP_OK || o == REP_UNSUPPORTED ? 0 : c->counts[o];
        printf("%-40.40s %3zu %4zu", c->first->label, c->counts[REP_OK], bad);
        char v[48], head[96] = "-";
        const char *hm = headline_metric(c);
        const res_mvals_t *m = hm ? results_find_metric(c, hm) : NULL;
        if (m && isfinite(m->st.median)) {
            human_value(hm, m->st.median, v, sizeof v);
            snprintf(head, sizeof head, "%s %.20s", v, hm);
        }
        printf(" %-34s", head);
        for (size_t k = 0; k < 3; k++) {
            m = results_find_metric(c, cols[k]);
            if (!m || !isfinite(m->st.median))
                snprintf(v, sizeof v, "-");
            else
                human_value(cols[k], m->st.median, v, sizeof v);
            printf(" %12s", v);
        }
        printf("  %s\n", c->counts[REP_UNSUPPORTED] && !bad
                             ? "unsupported by the model"
                         : c->reason ? c->reason
                                     : "");
    }
    if (noisy[0])
        printf("\nnoisy (CV above %.0f%%):\n%s", NOISY_CV * 100, noisy);
    results_summary_free(&sum);
    results_free(&set);
    return EXIT_OK;
}
