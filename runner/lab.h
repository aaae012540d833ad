/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * The parts of `concbench lab` that live in files of their own.
 */
#ifndef CB_RUNNER_LAB_H
#define CB_RUNNER_LAB_H

/* concbench lab collect DIR... -o OUT (runner/lab_collect.c); argv[0]
 * is "collect". */
int lab_collect(int argc, char **argv);

#endif
