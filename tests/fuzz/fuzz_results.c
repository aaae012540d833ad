/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * Fuzz target: the results reader.  Any bytes, read as a runs.jsonl, must
 * give runs or an error message, never a crash, a leak or a hang (the
 * schema check and the duplicate check included); the description of a
 * file that is not a results file must be a string whatever the bytes;
 * and a value that parses must survive a round trip through the writer.
 */
#include "runner/json.h"
#include "runner/results.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void count(const char *name, double v, void *arg)
{
    (void)name;
    (void)v;
    ++*(size_t *)arg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    char err[512];
    for (int tolerate = 0; tolerate < 2; tolerate++) {
        res_set_t set;
        memset(&set, 0, sizeof set);
        if (results_parse_lines("fuzz", buf, size, tolerate, &set, err,
                                sizeof err) == 0) {
            size_t n = 0;
            for (size_t i = 0; i < set.nruns; i++)
                results_foreach_metric(&set.runs[i], count, &n);
            res_summary_t sum;
            if (results_summarise(&set, &sum) == 0)
                for (size_t i = 0; i < sum.ncells; i++)
                    if (sum.cells[i].nm)
                        (void)results_find_metric(&sum.cells[i],
                                                  sum.cells[i].m[0].name);
            results_summary_free(&sum);
        }
        results_free(&set);
    }
    /* Round trip: what parses, written back, parses to the same text. */
    jv_t *v = jv_parse(buf, size, err, sizeof err);
    /* And what is not a results file is described, whatever it holds. */
    char what[400];
    results_what_is(size & 1 ? "fuzz/runs.jsonl" : "fuzz/input", buf, size, v,
                    v ? NULL : err, what, sizeof what);
    if (!memchr(what, '\0', sizeof what))
        abort();
    if (v) {
        char *a = NULL, *b = NULL;
        size_t alen = 0, blen = 0;
        FILE *f = open_memstream(&a, &alen);
        if (f) {
            json_t j;
            json_init(&j, f, false);
            json_value(&j, NULL, v);
            fclose(f);
            jv_t *w = jv_parse(a, alen, err, sizeof err);
            if (!w)
                abort(); /* the writer produced what the reader refuses */
            f = open_memstream(&b, &blen);
            if (f) {
                json_init(&j, f, false);
                json_value(&j, NULL, w);
                fclose(f);
                if (alen != blen || memcmp(a, b, alen) != 0)
                    abort(); /* not a fixed point after one trip */
            }
            jv_free(w);
        }
        free(a);
        free(b);
        jv_free(v);
    }
    free(buf);
    return 0;
}
