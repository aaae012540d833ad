# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
#
# Shared by the figures of `concbench talk report` (talk-*.gp).  The
# report (runner/cmd_talk_report.c) chooses the series, their colours and
# the units, and sets with -e:
#   FMT 'png'|'svg'  OUT path without extension  DATA the CSV file read
#   TITLE   what the figure shows          METRIC the metric drawn
#   YLABEL, XLABEL  axis titles with units  YDIV  divisor into that unit
#   LOGY, LOGX  1 for a log axis; YMIN the bottom of a log y axis
#   G[i]  '|cell id|...|' the cells of series i   T[i] its legend title
#   C[i]  its colour ('#rrggbb': one colour per system in every figure)
#   D[i]  its dash type / fill variant (1: first value of a parameter)
#   NM, M[j], MC[j]  legend entries of cells with no samples, and colours
# Colour means the system everywhere; line style a parameter.  The legend
# goes under the plot, so it never covers the data and takes the width,
# not the height, of the canvas.
if (FMT eq 'svg') {
    set terminal svg size 960,520 dynamic enhanced font 'Sans,13' \
        background rgb 'white'
} else {
    set terminal pngcairo size 960,520 enhanced font 'Sans,11'
}
set output OUT.'.'.FMT
set datafile separator comma
set datafile columnheaders
set title TITLE noenhanced font ',14'
set key below horizontal noenhanced samplen 3 spacing 1.1 width 2
set grid lc rgb '#dddddd'
set border 3
set tics nomirror
set ylabel YLABEL noenhanced
set xlabel XLABEL noenhanced
set format y '%g'
# Whether the current row belongs to series i, and is of METRIC.  Both
# coordinates of a row that is not are NaN: a row left out by x alone
# still stretches the y range (elapsed times beside a 0..1 index).
in(i) = strstrt(G[i], '|'.strcol('cell').'|') > 0
sel(i) = in(i) && strcol('metric') eq METRIC
y(i, v) = sel(i) ? v / YDIV : NaN
