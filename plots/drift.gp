# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
#
# Run-order progression from runs.csv: every measured repetition's METRIC
# divided by its cell's median, in the order the runs happened.  A flat
# band around 1 is a stable machine; a slope or a step is drift (heat,
# frequency, a neighbour) that a sequential order would have turned into
# a difference between cells.  The black line is a running smoothing over
# all cells.
load SCRIPTS.'/common.gp'
set xlabel 'run order (position in the matrix)'
set ylabel METRIC.' / its cell''s median' noenhanced
set yrange [*:*]
plot for [i=1:|G|] DATA using \
    ((in(i) && strcol('metric') eq METRIC) ? column('order') : NaN): \
    (column('relative')) \
    with points ls i pt 7 ps 0.6 title T[i], \
    DATA using ((strcol('metric') eq METRIC) ? column('order') : NaN): \
    (column('relative')) \
    smooth bezier lc rgb 'black' lw 2 title 'smoothed', \
    1 with lines dt 2 lc rgb 'gray' notitle
