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
# The legend stands beside the data, never on it.
set key outside right top noenhanced box opaque samplen 2.5
set grid lc rgb '#dddddd'
set format y '%g'
set border 3
set tics nomirror
# Series i's look, set by `concbench plot`: C[i] its colour, one per
# model in every figure ('#rrggbb'), D[i] its dash type, one per value of
# the other parameters (1: solid).  Drawn as: lw 2 lc rgb C[i] dt D[i].
set encoding utf8
# Plain units on the axes, never 1x10^6.  A log axis of nanoseconds gets
# a tic per decade named in the unit people read (100 ns, 1 µs, 10 ms):
#   eval NS_LOG_X   (or NS_LOG_Y)
nslab(k) = sprintf('%d %s', 10**(k%3), \
                   k < 3 ? 'ns' : k < 6 ? 'µs' : k < 9 ? 'ms' : 's')
NS_LOG_X = "set xtics (nslab(0) 1); do for [k=1:11] { set xtics add (nslab(k) 10.0**k) }; set mxtics 10"
NS_LOG_Y = "set ytics (nslab(0) 1); do for [k=1:11] { set ytics add (nslab(k) 10.0**k) }; set mytics 10"
# A linear axis: the unit of metric m by its name ('ns' for times, 'B'
# for sizes, '' for counts), and for values up to v the divisor into the
# unit people read and that unit's name.
unit(m) = (strstrt(m, 'bytes') > 0) ? 'B' : \
          (strstrt(m.'.', '_ns.') > 0 || strstrt(m, '_ns_') > 0 || \
           m[1:3] eq 'ns_') ? 'ns' : ''
udiv(u, v) = u eq 'ns' ? (v >= 1e9 ? 1e9 : v >= 1e6 ? 1e6 : v >= 1e3 ? 1e3 : 1) : \
             u eq 'B' ? (v >= 2**30 ? 2.0**30 : v >= 2**20 ? 2.0**20 : \
                         v >= 2**10 ? 2.0**10 : 1) : \
             (v >= 1e7 ? 1e6 : v >= 1e4 ? 1e3 : 1)
uname(u, v) = u eq 'ns' ? (v >= 1e9 ? 's' : v >= 1e6 ? 'ms' : v >= 1e3 ? 'µs' : 'ns') : \
              u eq 'B' ? (v >= 2**30 ? 'GiB' : v >= 2**20 ? 'MiB' : \
                          v >= 2**10 ? 'KiB' : 'bytes') : \
              (v >= 1e7 ? 'millions' : v >= 1e4 ? 'thousands' : '')
# Whether the current row belongs to series i.
in(i) = strstrt(G[i], '|'.strcol('cell').'|') > 0
