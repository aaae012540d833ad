# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
#
# Latency CDF per series from hist.csv (buckets merged over the
# repetitions): x is the bucket's upper bound (log scale), y the fraction
# of operations at or below it.  METRIC names the histogram.
load SCRIPTS.'/common.gp'
row(i) = in(i) && strcol('metric') eq METRIC
# One x range in every panel, so that panels compare by eye (taken
# before the axis turns logarithmic: stats reads the rows as they are).
if (NV > 1) {
    anyrow(dummy) = (sum [i=1:|G|] row(i)) > 0
    stats DATA using (anyrow(0) && column('hi') > 0 ? column('hi') : NaN) \
        nooutput
    set xrange [STATS_min / 1.5:STATS_max * 1.5]
}
# XLABEL names the quantity; the tics carry the unit.
set logscale x
if (unit(METRIC) eq 'ns') { eval NS_LOG_X } else { set format x '%.0s%c' }
set xlabel XLABEL.' (log scale)' noenhanced
set ylabel 'fraction of samples at or below x'
set yrange [0:1.02]
if (NV > 1) {
    eval PANELS
    set key right bottom
    do for [j=1:NV] {
        set title V[j] noenhanced
        plot for [i=1:|G|] DATA using \
            ((D[i] == j && row(i)) ? column('hi') : NaN):(column('cdf')) \
            with steps lw 2 lc rgb C[i] title (D[i] == j ? P[i] : '')
    }
    unset multiplot
} else {
    plot for [i=1:|G|] DATA using \
        (row(i) ? column('hi') : NaN):(column('cdf')) \
        with steps lw 2 lc rgb C[i] dt D[i] title T[i]
}
