# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
#
# Run-order progression from runs.csv: every measured repetition's METRIC
# divided by its cell's median, in the order the runs happened.  A flat
# band around 1 is a stable machine; a slope or a step is drift (heat,
# frequency, a neighbour) that a sequential order would have turned into
# a difference between cells.  The black line smooths over all cells.
# Rows are first copied into datablocks of their own (as in xy.gp): a
# smoothing over rows filtered out of a shared file would break apart.
load SCRIPTS.'/common.gp'
set table $ALL
plot DATA using (column('order')):(column('relative')) \
    with table if (strcol('metric') eq METRIC)
unset table
do for [i=1:|G|] {
    # A series with no row (every cell of it failed) is an empty block,
    # not a missing one: set table makes none when nothing matches.
    eval sprintf('set print $S%d', i)
    print ''
    unset print
    eval sprintf('set table $S%d append', i)
    plot DATA using (column('order')):(column('relative')) \
        with table if (in(i) && strcol('metric') eq METRIC)
    unset table
}
set datafile separator whitespace
set datafile nocolumnheaders
set xlabel 'run order (position in the matrix)'
set ylabel METRIC.' / its cell''s median' noenhanced
plot for [i=1:|G|] sprintf('$S%d', i) using 1:2 \
    with points lc rgb C[i] pt 7 ps 0.6 title T[i], \
    $ALL using 1:2 smooth bezier lc rgb 'black' lw 2 title 'smoothed', \
    1 with lines dt 2 lc rgb 'gray' notitle
