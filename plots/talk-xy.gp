# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
#
# METRIC against the parameter column XPARAM of summary.csv: one line per
# series (a system and the other parameters' values), medians with the
# bootstrap 95% interval of each.  Each series is first copied into a
# datablock of its own rows, because a line through rows filtered out of
# a shared file breaks at every row that is not the series'.
load SCRIPTS.'/talk-common.gp'
do for [i=1:|G|] {
    eval sprintf('set table $S%d', i)
    plot DATA using (column(XPARAM)):(column('median') / YDIV): \
        (column('ci_lo') / YDIV):(column('ci_hi') / YDIV) \
        with table if (in(i) && strcol('metric') eq METRIC)
    unset table
}
set datafile separator whitespace
set datafile nocolumnheaders
if (LOGX) { set logscale x }
set xrange [XLO:XHI]
if (LOGY) { set logscale y; set yrange [YMIN:*] } else { set yrange [0:*] }
plot for [i=1:|G|] sprintf('$S%d', i) using 1:2 \
    smooth unique with lines lc rgb C[i] dt D[i] lw 2.5 title T[i], \
    for [i=1:|G|] sprintf('$S%d', i) using 1:2:3:4 \
    with yerrorbars lc rgb C[i] pt 7 ps 0.7 notitle, \
    for [j=1:NM] keyentry with lines lc rgb MC[j] dt 3 title M[j]
