# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
#
# Shared by every plot script.  `concbench plot` sets, with -e:
#   FMT    'png' or 'svg'          OUT    output path without extension
#   DATA   the results file read   TITLE  the plot's title
#   G[i]   '|cell id|cell id|...|' the cells of series i
#   T[i]   series i's legend title
# The scripts read only the results folder's CSV files (results.h).
# A figure of panels (NV > 1, see PANELS) is one column of them, or two
# past three, and grows taller with their number.
# Bar charts (BARS=1) group their bars instead (BARTICS).
PANELLED = exists('NV') && !exists('BARS') && NV > 1
PCOLS = (PANELLED && NV > 3) ? 2 : 1
PROWS = PANELLED ? (NV + PCOLS - 1) / PCOLS : 1
HEIGHT = PROWS > 1 ? 80 + 300 * PROWS : 620
if (FMT eq 'svg') {
    set terminal svg size 1000,HEIGHT dynamic enhanced font 'Sans,13' \
        background rgb 'white'
} else {
    set terminal pngcairo size 1000,HEIGHT enhanced font 'Sans,11'
}
set output OUT.'.'.FMT
set datafile separator comma
set datafile columnheaders
set title TITLE noenhanced
# The legend stands beside the data, never on it.
set key outside right top noenhanced box opaque samplen 2.5
# Long entries (a note on a missing point) go under it, in columns.
if (exists('LONGKEY')) { set key below horizontal maxrows 4 nobox noopaque }
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
# One panel per value of the parameters other than the model (V[j], NV
# of them) when the series differ by more than their model: lines of one
# model at several values would cross the other models' and a legend of
# every pair would not fit.  Panel j draws the series whose D[i] is j,
# each titled P[i] (its model and any note), solid, with a small legend
# inside it:   if (NV > 1) { eval PANELS; do for [j=1:NV] { ... } }
PANELS = "unset title; " . \
         "set multiplot layout PROWS, PCOLS title TITLE noenhanced; " . \
         "set key inside nobox noopaque samplen 1.5 font ',9'"
# Bars, one per series: with one value of the other parameters, at 1..n
# named by their series; with several (NV > 1), in a group per value
# (its name under the group), a bar per model in its colour, the models
# named in the legend.  bx(i) is bar i's x:  eval BARTICS; ... bx(i) ...
rank(i) = sum [k=1:i] (D[k] == D[i] ? 1 : 0)
firstof(i) = (sum [k=1:i] (word(P[k], 1) eq word(P[i], 1) ? 1 : 0)) == 1
bx(i) = NV > 1 ? (D[i] - 1) * (NMAX + 1) + rank(i) : i
BARTICS = "NMAX = 0; do for [i=1:|G|] { NMAX = rank(i) > NMAX ? rank(i) : NMAX }; " . \
    "if (NV > 1) { " . \
    "  set xtics (V[1] (NMAX + 1) / 2.0) norotate; " . \
    "  do for [j=2:NV] { set xtics add (V[j] (j - 1) * (NMAX + 1) + (NMAX + 1) / 2.0) }; " . \
    "  set xrange [0.4:NV * (NMAX + 1) - 0.4]; set key outside right top " . \
    "} else { " . \
    "  set xtics (T[1] 1) rotate by -30; do for [i=2:|G|] { set xtics add (T[i] i) }; " . \
    "  set xrange [0.4:|G| + 0.6]; set key off }"
# The legend of grouped bars: one entry per model.
BARKEY(i) = (NV > 1 && firstof(i)) ? word(P[i], 1) : ''
# Whether the current row belongs to series i.
in(i) = strstrt(G[i], '|'.strcol('cell').'|') > 0
