/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * One case of a model's C test: the model started with a parameter spec
 * ("key=value;key=value", every key the model's own), the case run as the
 * root task, the model stopped.  Kept apart from cb_test.h, which the
 * runtime's tests include without the models.
 */
#ifndef CB_TEST_MODEL_H
#define CB_TEST_MODEL_H

#include "tests/c/cb_test.h"

#include "models/model.h"

static inline void cb_test_set_params(cb_param_set_t *ps, const char *spec)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", spec);
    for (char *kv = strtok(buf, ";"); kv; kv = strtok(NULL, ";")) {
        char *eq = strchr(kv, '=');
        CHECK(eq != NULL);
        *eq = '\0';
        int i = cb_params_find(ps, kv);
        CHECK_GE(i, 0);
        char err[128];
        CHECK_EQ(cb_params_set(ps, i, eq + 1, err, sizeof err), 0);
    }
}

static void (*cb_test_case)(void);

static void cb_test_case_root(void *arg)
{
    (void)arg;
    cb_test_case();
}

/* Run fn on `model` pinned to PU 0 (ncpus workers there; 0: the model's
 * default placement); a failure to start or stop fails the test. */
static inline void cb_test_run_in_model(const char *model, const char *spec,
                                        int ncpus, void (*fn)(void))
{
    const cb_model_t *m = cb_model_find(model);
    CHECK(m != NULL);
    cb_param_set_t ps;
    cb_params_defaults(&ps, m->params, false);
    cb_test_set_params(&ps, spec);
    int cpus[1] = {0};
    cb_model_env_t env = {.cpus = cpus, .ncpus = ncpus, .seed = 1};
    char err[256] = "";
    if (cb_model_start(m, &ps, &env, err, sizeof err) < 0)
        CB_FAIL_("starting %s: %s", model, err);
    cb_test_case = fn;
    CHECK_EQ(cb_model_run(cb_test_case_root, NULL), 0);
    if (cb_model_stop(err, sizeof err) < 0)
        CB_FAIL_("stopping %s: %s", model, err);
}

#endif
