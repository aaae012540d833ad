# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
#
# The time series METRIC from series.csv, one line per cell (its first
# measured repetition that has the series, REP[i]): e.g. a mailbox's
# length or the resident memory during a flood, over the window.
load SCRIPTS.'/talk-common.gp'
if (LOGY) { set logscale y; set yrange [YMIN:*] } else { set yrange [0:*] }
plot for [i=1:|G|] DATA using \
    ((sel(i) && column('rep') == REP[i]) ? column('t_ms') : NaN): \
    ((sel(i) && column('rep') == REP[i]) ? column('value') / YDIV : NaN) \
    with lines lc rgb C[i] dt D[i] lw 2.5 title T[i], \
    for [j=1:NM] keyentry with lines lc rgb MC[j] dt 3 title M[j]
