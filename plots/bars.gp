# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
#
# One bar per series from summary.csv: the median of METRIC over the
# repetitions, with the bootstrap 95% interval as error bars.  YLABEL
# says the unit; YMIN/YMAX fix the range when set (fairness: 0..1).
load SCRIPTS.'/common.gp'
set style fill solid 0.6 border -1
set boxwidth 0.6
set xtics rotate by -30 noenhanced
set xtics (T[1] 1)
do for [i=2:|G|] { set xtics add (T[i] i) }
set xrange [0.4:|G|+0.6]
set ylabel YLABEL noenhanced
set key off
if (exists('YMAX')) { set yrange [YMIN:YMAX] } else { set yrange [0:*] }
plot for [i=1:|G|] DATA using \
    ((in(i) && strcol('metric') eq METRIC) ? i : NaN):(column('median')) \
    with boxes ls i notitle, \
    for [i=1:|G|] DATA using \
    ((in(i) && strcol('metric') eq METRIC) ? i : NaN):(column('median')): \
    (column('ci_lo')):(column('ci_hi')) \
    with yerrorbars lc rgb 'black' pt 0 notitle
