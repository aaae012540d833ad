/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * The engine's side of runner/talk.h: what `talk run` and `agree`
 * (runner/cmd_talk.c) need from runner/talk.c beyond what a check file
 * sees.  Check files include runner/talk.h only.
 */
#ifndef CB_RUNNER_TALK_ENGINE_H
#define CB_RUNNER_TALK_ENGINE_H

#include "runner/talk.h"

#include <stdbool.h>
#include <stddef.h>

/* Load the steps of check c from DIR/ID (one results folder per step,
 * DIR/ID/STEP).  A step whose folder holds no results gives no cells
 * (talk_get then answers "absent: step not run").  NULL with err when a
 * folder exists but cannot be read. */
talk_results_t *talk_results_load(const talk_check_t *c, const char *checkdir,
                                  bool quick, char *err, size_t errlen);

/* What talk_get noticed while a judge read the results: values with too
 * few repetitions for an interval, cells where some repetitions failed.
 * One per line, "" when none; lives as long as r. */
const char *talk_results_notes(const talk_results_t *r);

/* Whether a check is well formed (id and step names [a-z0-9-]+, a judge,
 * step and plot counts in range, every plot naming a step); 0, or -1
 * with the first fault in err. */
int talk_check_validate(const talk_check_t *c, char *err, size_t errlen);

/* The label a verdict has in a set: "holds" ... for the talk, "agree",
 * "differ", "inconclusive", "cannot be shown here" for agreement. */
const char *talk_verdict_label(talk_verdict_t v, bool agree);

/* The verdict a name stands for (either set's labels); -1 if none. */
int talk_verdict_parse(const char *s);

#endif
