# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
#
# Time series from series.csv (the first measured repetition of each
# series): one panel per metric in METRICS (space-separated), e.g. the
# consumer's queue length and the resident memory during a mailbox flood.
load SCRIPTS.'/common.gp'
unset title
set multiplot layout words(METRICS),1 title TITLE noenhanced
set xlabel 'time since the measurement window opened (ms)'
do for [k=1:words(METRICS)] {
    m = word(METRICS, k)
    set ylabel m noenhanced
    if (k > 1) { set key off }
    plot for [i=1:|G|] DATA using \
        ((in(i) && strcol('metric') eq m && column('rep') == REP[i]) \
         ? column('t_ms') : NaN):(column('value')) \
        with lines ls i title T[i]
}
unset multiplot
