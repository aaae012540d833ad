/* SPDX-License-Identifier: MIT */
/* SPDX-FileCopyrightText: concbench authors */
/*
 * What every agreement check shares: a model and the real system it
 * stands for agree on a SHAPE when each of them, judged on its own
 * figures by the same rule, shows it.  Each system's side is a verdict of
 * talk.h's rule helpers on a ratio or an index measured within that
 * system (lateness over its own window, its own backlog at 2T over T),
 * never one system's time against the other's: a model in C and a JVM
 * differ in speed by design, and that is not what the check asks.
 *
 * The verdict is talk_all over the sides: "agree" (talk's holds) when
 * every side shows the shape, "differ" (does not hold here) when one or
 * more sides clearly do not (the sentence names them, and says "neither"
 * when no side does: then model and real system match each other but not
 * the documented behaviour, which is still not the agreement asked for),
 * "inconclusive" when a side's interval straddles its bound, and "cannot
 * be shown here" when a side did not run (a real system not installed:
 * the reason carries the runner's install hint).
 *
 * Only the checks in agree/ include this file; it holds static helpers so that each
 * check stays one file with no second registry.
 */
#ifndef CB_AGREE_AGREE_H
#define CB_AGREE_AGREE_H

#include "runner/talk.h"

#include <stdio.h>
#include <string.h>

typedef struct agree_side {
    const char *system;
    talk_verdict_t verdict;
    char text[180]; /* its figures, or why it could not run */
} agree_side_t;

/* A side that could not be judged: its verdict and the reason. */
static inline void agree_missing(agree_side_t *s, const char *system,
                                 talk_value_t v)
{
    s->system = system;
    s->verdict = TALK_CANNOT_SHOW;
    talk_why_missing(s->text, sizeof s->text, system, v);
}

/* Whether any of the values is missing; fills the side if so. */
static inline bool agree_any_missing(agree_side_t *s, const char *system,
                                     const talk_value_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!v[i].ok) {
            agree_missing(s, system, v[i]);
            return true;
        }
    return false;
}

/* The names of the sides whose verdict is `which`, comma-separated. */
static inline void agree_list(char *buf, size_t len, const agree_side_t *s,
                              size_t n, talk_verdict_t which)
{
    size_t used = 0, k = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (s[i].verdict != which)
            continue;
        int w = snprintf(buf + used, len - used, "%s%s", k++ ? ", " : "",
                         s[i].system);
        if (w < 0 || (size_t)w >= len - used)
            break;
        used += (size_t)w;
    }
}

/* The verdict over the sides, its sentence and the figures (one line
 * per side; with more than four sides, two per line). */
static inline void agree_conclude(talk_judgement_t *j, const agree_side_t *s,
                                  size_t n, const char *shape)
{
    talk_verdict_t v[8];
    for (size_t i = 0; i < n && i < 8; i++)
        v[i] = s[i].verdict;
    talk_verdict_t all = talk_all(v, n < 8 ? n : 8);
    char names[160];
    switch (all) {
    case TALK_HOLDS:
        agree_list(names, sizeof names, s, n, TALK_HOLDS);
        talk_judge(j, all, "agree: %s %s show %s", names,
                   n == 2 ? "both" : "all", shape);
        break;
    case TALK_NOT_HERE: {
        char good[160];
        agree_list(names, sizeof names, s, n, TALK_NOT_HERE);
        agree_list(good, sizeof good, s, n, TALK_HOLDS);
        if (good[0])
            talk_judge(j, all, "differ: %s %s not show %s here, while %s %s",
                       names, strchr(names, ',') ? "do" : "does", shape,
                       good, strchr(good, ',') ? "do" : "does");
        else
            talk_judge(j, all, "differ: %s shows %s here (%s)",
                       n > 2 ? "no side" : "neither side", shape, names);
        break;
    }
    case TALK_INCONCLUSIVE:
        agree_list(names, sizeof names, s, n, TALK_INCONCLUSIVE);
        talk_judge(j, all,
                   "inconclusive: the interval of %s straddles its bound "
                   "(the noise is larger than the margin); rerun on a "
                   "quieter machine or at full size",
                   names);
        break;
    default:
        for (size_t i = 0; i < n; i++)
            if (s[i].verdict == TALK_CANNOT_SHOW) {
                talk_judge(j, all, "cannot be shown here: %s", s[i].text);
                break;
            }
        break;
    }
    for (size_t i = 0; i < n; i++) {
        if (n > 4 && i + 1 < n) {
            talk_figure(j, "%s; %s", s[i].text, s[i + 1].text);
            i++;
        } else {
            talk_figure(j, "%s", s[i].text);
        }
    }
}

#endif
