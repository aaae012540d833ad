# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
#
# Percentile ladder from summary.csv: for histogram METRIC, its p50, p90,
# p99, p99.9 and max (medians over the repetitions, bars the bootstrap 95%
# interval), one line per series, log y.  Used for probe lateness under
# CPU hogs: how late a sleeping task wakes while others compute.
load SCRIPTS.'/common.gp'
pos(m) = m eq METRIC.'.p50' ? 1 : m eq METRIC.'.p90' ? 2 : \
         m eq METRIC.'.p99' ? 3 : m eq METRIC.'.p999' ? 4 : \
         m eq METRIC.'.max' ? 5 : NaN
set xtics ('p50' 1, 'p90' 2, 'p99' 3, 'p99.9' 4, 'max' 5)
set xrange [0.7:5.3]
set logscale y
if (unit(METRIC) eq 'ns') { eval NS_LOG_Y } else { set format y '%.0s%c' }
set xlabel 'percentile of '.XLABEL noenhanced
set ylabel XLABEL.' (log scale)' noenhanced
# One repetition has no interval: its point stands alone.
lo(v) = strcol('ci_lo') eq '' ? column('median') : column('ci_lo')
hi(v) = strcol('ci_hi') eq '' ? column('median') : column('ci_hi')
plot for [i=1:|G|] DATA using \
    (in(i) ? pos(strcol('metric')) : NaN):(column('median')): \
    (lo(0)):(hi(0)) \
    with yerrorlines lw 2 lc rgb C[i] dt D[i] pt 7 ps 0.7 title T[i]
