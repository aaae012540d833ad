# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
#
# Time series from series.csv (the first measured repetition of each
# series): one panel per metric in METRICS (space-separated), e.g. the
# consumer's queue length and the resident memory during a mailbox flood.
# Each panel's values are divided into the unit people read (MiB, ms,
# thousands), chosen from its largest value.  The margins are fixed so
# that the panels' time axes line up whether or not a legend stands
# beside them.
load SCRIPTS.'/common.gp'
# The metric's name without its unit word: rss_bytes -> rss.
base(m) = strstrt(m, '_bytes') > 0 ? m[1:strstrt(m, '_bytes') - 1] : \
          strstrt(m.'.', '_ns.') > 0 ? m[1:strlen(m) - 3] : m
unset title
set lmargin at screen 0.09
set rmargin at screen 0.80
set multiplot layout words(METRICS),1 title TITLE noenhanced
set xlabel 'time since the measurement window opened (ms)'
do for [k=1:words(METRICS)] {
    m = word(METRICS, k)
    stats DATA using ((strcol('metric') eq m) ? column('value') : NaN) \
        nooutput
    u = unit(m)
    div = udiv(u, STATS_max)
    un = uname(u, STATS_max)
    set ylabel (un eq '' ? base(m) : base(m).' ('.un.')') noenhanced
    if (k > 1) { set key off }
    plot for [i=1:|G|] DATA using \
        ((in(i) && strcol('metric') eq m && column('rep') == REP[i]) \
         ? column('t_ms') : NaN):(column('value') / div) \
        with lines lw 2 lc rgb C[i] dt D[i] title T[i]
}
unset multiplot
