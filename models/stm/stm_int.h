/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/* Private to models/stm/: shared by stm.c and port.c. */
#ifndef STM_INT_H
#define STM_INT_H

#include "models/model.h"
#include "models/stm/stm_core.h"

#include <stdatomic.h>

/* Model totals kept outside the STM core's counters. */
typedef struct stm_model_totals {
    _Atomic int64_t sends, recvs, selects, drops, max_queue_len;
} stm_model_totals_t;

extern stm_model_totals_t stm_totals;

/* Raise *max to v (relaxed: a statistic, no ordering needed). */
void stm_max_relaxed(_Atomic int64_t *max, int64_t v);

/* port.c */
int stm_port_open(const cb_port_opts_t *opts, cb_port_t **out);
int stm_port_close(cb_port_t *p);
void stm_port_free(cb_port_t *p);
size_t stm_port_length(cb_port_t *p);
int stm_send(cb_port_t *p, cb_term_t msg);
int stm_recv(cb_port_t *p, cb_term_t *out, int64_t timeout_ns);
int stm_select(cb_select_op_t *ops, size_t n, unsigned flags,
               int64_t timeout_ns);

#endif
