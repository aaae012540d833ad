/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * The real systems (peers/<system>/, contract in peers/README.md): found
 * at run time, named with -m like a model, run by child_run as a child
 * process exactly like a model's cell.
 */
#ifndef CB_RUNNER_PEER_H
#define CB_RUNNER_PEER_H

#include "runner/cli.h"

#include <stdbool.h>
#include <stddef.h>

struct json;
struct rusage;
typedef struct peer peer_t;

/* The model of that name, else the real system of that name, else NULL. */
const cb_model_t *peer_model_find(const char *name);
/* The real system m stands for, or NULL when m is one of the models. */
peer_t *peer_of(const cb_model_t *m);

size_t peer_count(void);
peer_t *peer_at(size_t i);
const char *peer_name(const peer_t *p);
/* Whether its toolchain answers `run --check`; why not in why. */
bool peer_installed(peer_t *p, char *why, size_t len);
/* One line: "Erlang/OTP 25 (erts-13.1.5)", or the reason it is not
 * installed. */
const char *peer_version(peer_t *p);

/* Parent side of child_run: false when the repetition must not start
 * (not installed, no such workload, unsupported, compile failed); *out
 * then holds the outcome and its reason. */
bool peer_before(const run_spec_t *spec, peer_t *p, rep_result_t *out);
/* Child side: exec `run WORKLOAD key=value...` with stdout on fd. */
__attribute__((noreturn)) void peer_exec(const run_spec_t *spec,
                                         const peer_t *p, int fd, int errfd);
/* Parent side, after the child was reaped: what the runner measures from
 * outside (elapsed, throughput, peak RSS, CPU time, context switches). */
void peer_after(rep_result_t *out, const struct rusage *ru);

/* "system": "model" or "real" (and its version) in a result record. */
void peer_write_json(struct json *j, const cb_model_t *m);
/* concbench list systems / describe NAME for a real system. */
void peer_list(void);
int peer_describe(peer_t *p);

#endif
