# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
#
# Latency CDF per series from hist.csv (buckets merged over the
# repetitions): x is the bucket's upper bound (log scale), y the fraction
# of operations at or below it.  METRIC names the histogram.
load SCRIPTS.'/common.gp'
set logscale x
set xlabel METRIC.' (ns, log scale)' noenhanced
set ylabel 'fraction of samples at or below x'
set yrange [0:1.02]
set format x '10^{%T}'
plot for [i=1:|G|] DATA using \
    ((in(i) && strcol('metric') eq METRIC) ? column('hi') : NaN): \
    (column('cdf')) \
    with steps ls i title T[i]
