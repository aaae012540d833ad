# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
#
# The distribution of the histogram METRIC per cell from hist.csv
# (buckets merged over the measured repetitions): x the bucket's upper
# bound in the unit YDIV divides into (log scale), y the fraction of
# samples at or below it.  A tail that runs right is the story: the few
# samples that waited a whole time slice or a whole hog.
load SCRIPTS.'/talk-common.gp'
set logscale x
set yrange [0:1.02]
set key below
plot for [i=1:|G|] DATA using \
    (y(i, column('hi'))):(sel(i) ? column('cdf') : NaN) \
    with steps lc rgb C[i] dt D[i] lw 2.5 title T[i], \
    for [j=1:NM] keyentry with lines lc rgb MC[j] dt 3 title M[j]
