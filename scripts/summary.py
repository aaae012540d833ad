#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# SPDX-FileCopyrightText: concbench authors
"""Print one line per result file: the headline figures a person compares."""
import json
import sys


def fmt(v):
    if v is None:
        return "-"
    if isinstance(v, float) and abs(v) < 1000:
        return f"{v:.3g}"
    return f"{v:,.0f}"


def main(paths):
    print(f"{'workload':<15} {'model':<9} {'outcome':<8} {'ops/s':>14} "
          f"{'p50 ns':>12} {'p99 ns':>12} {'jain':>6} {'peak RSS':>14}")
    for path in paths:
        try:
            d = json.load(open(path))
        except (OSError, ValueError) as e:
            print(f"{path}: unreadable ({e})")
            continue
        m = d.get("metrics", {})
        lat = m.get("latency_ns") or m.get("lateness_ns") or {}
        print(f"{d['workload']:<15} {d['model']:<9} {d['outcome']:<8} "
              f"{fmt(m.get('throughput_ops_s')):>14} "
              f"{fmt(lat.get('p50')):>12} {fmt(lat.get('p99')):>12} "
              f"{fmt(m.get('fairness_jain')):>6} "
              f"{fmt(m.get('peak_rss_bytes')):>14}")


if __name__ == "__main__":
    main(sys.argv[1:])
