# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
#
# A workload's headline: one panel per measurement it is judged by
# (METRICS, space-separated; L[k] names the k-th in words), one bar per
# series in the colour of its model: the median over the repetitions in
# summary.csv, the bootstrap 95% interval as error bars (none with one
# repetition).  Each panel's values are divided into the unit people
# read (ns, µs, ms, MiB), chosen from the largest value drawn in it; a
# panel of times spanning more than 30x is drawn on a log axis instead.
load SCRIPTS.'/common.gp'
unset title
# Each panel's extent, taken before any range is set: stats skips the
# rows outside the current ranges.
any(dummy) = sum [i=1:|G|] in(i)
lo(v) = strcol('ci_lo') eq '' ? column('median') : column('ci_lo')
hi(v) = strcol('ci_hi') eq '' ? column('median') : column('ci_hi')
array LOW[words(METRICS)]
array HIGH[words(METRICS)]
do for [k=1:words(METRICS)] {
    m = word(METRICS, k)
    stats DATA using ((any(0) && strcol('metric') eq m) ? lo(0) : NaN) \
        nooutput
    LOW[k] = STATS_min
    stats DATA using ((any(0) && strcol('metric') eq m) ? hi(0) : NaN) \
        nooutput
    HIGH[k] = STATS_max
}
set style fill solid 0.7 border -1
set boxwidth 0.6
set xtics noenhanced
eval BARTICS
set yrange [0:*]
set grid noxtics ytics
set multiplot layout 1,words(METRICS) title TITLE noenhanced
do for [k=1:words(METRICS)] {
    m = word(METRICS, k)
    lo_all = LOW[k]
    hi_all = HIGH[k]
    u = unit(m)
    set title L[k] noenhanced
    # Times that span more than 30x (a thread against a green task) get
    # a log axis, or the short bars would vanish into the axis.
    if (u eq 'ns' && lo_all > 0 && hi_all / lo_all > 30) {
        set logscale y
        eval NS_LOG_Y
        # Whole decades, so that every panel has tics at both ends.
        set yrange [0.999 * 10**floor(log10(lo_all)):1.001 * 10**ceil(log10(hi_all))]
        div = 1
        set ylabel L[k].' (log scale)' noenhanced
    } else {
        unset logscale y
        set ytics auto
        set mytics default
        set yrange [0:*]
        div = udiv(u, hi_all)
        un = uname(u, hi_all)
        set ylabel (un eq '' ? L[k] : L[k].' ('.un.')') noenhanced
    }
    # Both coordinates of a row not drawn are NaN: a row left out by x
    # alone still stretches the y range.
    sel(i) = in(i) && strcol('metric') eq m
    if (k > 1) { set key off }
    plot for [i=1:|G|] DATA using \
        (sel(i) ? bx(i) : NaN):(sel(i) ? column('median') / div : NaN) \
        with boxes lc rgb C[i] title BARKEY(i), \
        for [i=1:|G|] DATA using \
        (sel(i) ? bx(i) : NaN):(sel(i) ? column('median') / div : NaN): \
        (sel(i) ? lo(0) / div : NaN):(sel(i) ? hi(0) / div : NaN) \
        with yerrorbars lc rgb 'black' pt 0 notitle
}
unset multiplot
