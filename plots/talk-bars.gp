# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
#
# Bars from summary.csv: the median of METRIC per cell, the bootstrap 95%
# interval of the median as the black error bar, the median's value
# printed above it.  Series i is one cell at x position P[i]: the report
# groups cells by a parameter (XTICS names the groups) and places one bar
# per system and variant inside each group; D[i] > 1 lightens the fill
# for the second and later values of a parameter.  NL labels LT[j] at
# x = LX[j] mark cells that have no samples.
load SCRIPTS.'/talk-common.gp'
set style fill solid 0.85 border rgb '#333333'
set boxwidth BW absolute
eval XTICS
set xrange [XMIN:XMAX]
set grid noxtics
if (LOGY) { set logscale y; set yrange [YMIN:*] } else { set yrange [0:*] }
# Headroom for the values printed above the bars, and no more: a log
# axis would otherwise run on to the next decade.
set autoscale yfixmax
set offsets 0, 0, graph 0.12, 0
# Two-line tic labels (system, then its parameters) need the room.
if (TICLINES > 1) { set bmargin 6 }
do for [j=1:NL] {
    set label (100 + j) LT[j] at first LX[j], graph 0.06 center front \
        font ',10' tc rgb '#555555'
}
shade(d) = d == 1 ? 0.85 : d == 2 ? 0.45 : 0.2
# The median above its bar: whole numbers from 1000 up, else 3 digits.
lab(v) = abs(v) >= 1000 ? sprintf('%.0f', v) : sprintf('%.3g', v)
# The top of the interval, or the median where there is none (n < 2).
top(x) = strcol('ci_hi') ne '' ? column('ci_hi') : column('median')
plot for [i=1:|G|] DATA using (sel(i) ? P[i] : NaN):(y(i, column('median'))) \
    with boxes lc rgb C[i] fs solid shade(D[i]) border rgb '#333333' \
    title T[i], \
    for [i=1:|G|] DATA using (sel(i) ? P[i] : NaN):(y(i, column('median'))): \
    (y(i, column('ci_lo'))):(y(i, column('ci_hi'))) \
    with yerrorbars lc rgb 'black' pt 7 ps 0.4 notitle, \
    for [i=1:|G|] DATA using (sel(i) ? P[i] : NaN):(y(i, top(0))): \
    (lab(column('median') / YDIV)) \
    with labels offset 0,0.7 font ',10' notitle, \
    for [j=1:NM] keyentry with boxes lc rgb MC[j] fs empty title M[j]
