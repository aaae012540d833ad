# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
#
# Latency CDF per series from hist.csv (buckets merged over the
# repetitions): x is the bucket's upper bound (log scale), y the fraction
# of operations at or below it.  METRIC names the histogram.
load SCRIPTS.'/common.gp'
# XLABEL names the quantity; the tics carry the unit.
set logscale x
if (unit(METRIC) eq 'ns') { eval NS_LOG_X } else { set format x '%.0s%c' }
set xlabel XLABEL.' (log scale)' noenhanced
set ylabel 'fraction of samples at or below x'
set yrange [0:1.02]
plot for [i=1:|G|] DATA using \
    ((in(i) && strcol('metric') eq METRIC) ? column('hi') : NaN): \
    (column('cdf')) \
    with steps lw 2 lc rgb C[i] dt D[i] title T[i]
