#!/usr/bin/env python3
"""Diffs two benchmark result files of the same bench (e.g. before and
after a change): for every case, our throughput old -> new, and the
ours/peer ratios old -> new. Since each run measured the peer side by side,
the ratio change is the meaningful figure on a noisy machine; the absolute
change is shown for reference.

usage: compare.py OLD.json NEW.json
"""
from __future__ import annotations

import json
import sys


def key(c):
    return (c["op"], c.get("codec"), c.get("file"))


def label(c):
    return " ".join(str(x) for x in key(c) if x)


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    old, new = (json.load(open(p)) for p in sys.argv[1:])
    if old["bench"] != new["bench"]:
        raise SystemExit(f"different benches: {old['bench']} vs {new['bench']}")
    rate = "mb_per_s" if new["bench"] == "parquet" else "rows_per_s"
    before = {key(c): c for c in old["cases"]}
    print(f"{new['bench']}: {old['date']} ({old['machine']['git_sha'][:10]}) "
          f"-> {new['date']} ({new['machine']['git_sha'][:10]})")
    print(f"{'case':<28} {'ours ' + rate:>22} {'speed ratio':>16} "
          f"{'cpu ratio':>16} {'rss ratio':>16}")
    for c in new["cases"]:
        b = before.get(key(c))
        if b is None:
            print(f"{label(c):<28} (new case)")
            continue
        o0, o1 = b["engines"]["ours"][rate], c["engines"]["ours"][rate]
        cols = [f"{o0:9.1f} -> {o1:9.1f}"]
        for k in ("speed", "cpu_speed", "peak_rss"):
            cols.append(f"{b['ratio'][k]:6.2f} -> {c['ratio'][k]:6.2f}")
        print(f"{label(c):<28} {cols[0]:>22} {cols[1]:>16} {cols[2]:>16} "
              f"{cols[3]:>16}")


if __name__ == "__main__":
    main()
