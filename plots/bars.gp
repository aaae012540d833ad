# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
#
# One bar per series from summary.csv: the median of METRIC over the
# repetitions, with the bootstrap 95% interval as error bars (none with
# one repetition), in the colour of its model.  YLABEL says the unit and
# YDIV, when set, divides the values into it; YMIN/YMAX fix the range
# when set (fairness: 0..1).
load SCRIPTS.'/common.gp'
set style fill solid 0.6 border -1
set boxwidth 0.6
set xtics noenhanced
eval BARTICS
set ylabel YLABEL noenhanced
if (exists('YMAX')) { set yrange [YMIN:YMAX] } else { set yrange [0:*] }
if (!exists('YDIV')) { YDIV = 1 }
lo(v) = (strcol('ci_lo') eq '' ? column('median') : column('ci_lo')) / YDIV
hi(v) = (strcol('ci_hi') eq '' ? column('median') : column('ci_hi')) / YDIV
# Both coordinates of a row not drawn are NaN: a row left out by x alone
# still stretches the y range.
sel(i) = in(i) && strcol('metric') eq METRIC
plot for [i=1:|G|] DATA using \
    (sel(i) ? bx(i) : NaN):(sel(i) ? column('median') / YDIV : NaN) \
    with boxes lc rgb C[i] title BARKEY(i), \
    for [i=1:|G|] DATA using \
    (sel(i) ? bx(i) : NaN):(sel(i) ? column('median') / YDIV : NaN): \
    (sel(i) ? lo(0) : NaN):(sel(i) ? hi(0) : NaN) \
    with yerrorbars lc rgb 'black' pt 0 notitle
