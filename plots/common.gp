# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
#
# Shared by every plot script.  `concbench plot` sets, with -e:
#   FMT    'png' or 'svg'          OUT    output path without extension
#   DATA   the results file read   TITLE  the plot's title
#   G[i]   '|cell id|cell id|...|' the cells of series i
#   T[i]   series i's legend title
# The scripts read only the results folder's CSV files (results.h).
if (FMT eq 'svg') {
    set terminal svg size 1000,620 dynamic enhanced font 'Sans,13' \
        background rgb 'white'
} else {
    set terminal pngcairo size 1000,620 enhanced font 'Sans,11'
}
set output OUT.'.'.FMT
set datafile separator comma
set datafile columnheaders
set title TITLE noenhanced
set key outside right top noenhanced box opaque
set grid
set border 3
set tics nomirror
set style line 1 lw 2 lc rgb '#1b9e77'
set style line 2 lw 2 lc rgb '#d95f02'
set style line 3 lw 2 lc rgb '#7570b3'
set style line 4 lw 2 lc rgb '#e7298a'
set style line 5 lw 2 lc rgb '#66a61e'
set style line 6 lw 2 lc rgb '#e6ab02'
set style line 7 lw 2 lc rgb '#a6761d'
set style line 8 lw 2 lc rgb '#666666'
set style increment user
# Whether the current row belongs to series i.
in(i) = strstrt(G[i], '|'.strcol('cell').'|') > 0
