# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
#
# METRIC against the parameter XPARAM from summary.csv, one line per
# series (a model with the other parameters fixed), medians with their
# bootstrap 95% interval; log-log.  Used for throughput vs task count and
# throughput vs contention (accounts in the bank workload: fewer accounts,
# more conflicts).  Each series is first copied into a datablock of its
# own rows, because a line through rows filtered out of a shared file
# breaks at every row that is not the series'.
load SCRIPTS.'/common.gp'
do for [i=1:|G|] {
    # A series with no row (every cell of it failed) is an empty block,
    # not a missing one: set table makes none when nothing matches.
    eval sprintf('set print $S%d', i)
    print ''
    unset print
    eval sprintf('set table $S%d append', i)
    # One repetition has no interval: the point stands alone, never
    # dropped (an empty ci_lo made the whole series vanish, silently).
    plot DATA using (column(XPARAM)):(column('median')): \
        (strcol('ci_lo') eq '' ? column('median') : column('ci_lo')): \
        (strcol('ci_hi') eq '' ? column('median') : column('ci_hi')) \
        with table if (in(i) && strcol('metric') eq METRIC)
    unset table
}
set datafile separator whitespace
set datafile nocolumnheaders
set logscale xy
# Plain ticks (100k, 1M), not 1x10^6.
set format x '%.0s%c'
set format y '%.0s%c'
set xlabel XLABEL noenhanced
set ylabel YLABEL noenhanced
if (NV > 1) {
    eval PANELS
    set key top right
    on(i, j, v) = D[i] == j ? v : NaN
    do for [j=1:NV] {
        set title V[j] noenhanced
        plot for [i=1:|G|] sprintf('$S%d', i) using 1:(on(i, j, $2)) \
            smooth unique with lines lw 2 lc rgb C[i] notitle, \
            for [i=1:|G|] sprintf('$S%d', i) \
            using 1:(on(i, j, $2)):(on(i, j, $3)):(on(i, j, $4)) \
            with yerrorbars lc rgb C[i] pt 7 ps 0.8 notitle, \
            for [i=1:|G|] NaN with lines lw 2 lc rgb C[i] \
            title (D[i] == j ? P[i] : '')
    }
    unset multiplot
} else {
    # The legend's entries are drawn on their own: a series with no
    # point (named so in its title) would otherwise have none.
    plot for [i=1:|G|] sprintf('$S%d', i) using 1:2 \
        smooth unique with lines lw 2 lc rgb C[i] dt D[i] notitle, \
        for [i=1:|G|] sprintf('$S%d', i) using 1:2:3:4 \
        with yerrorbars lc rgb C[i] pt 7 ps 0.8 notitle, \
        for [i=1:|G|] NaN with lines lw 2 lc rgb C[i] dt D[i] title T[i]
}
