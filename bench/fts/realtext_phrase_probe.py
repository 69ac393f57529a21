#!/usr/bin/env python3
"""Ours alone: what a phrase query costs against how many docs hold all of
its words (the candidates whose text is read and tokenized again,
src/index/fts/fts_phrase.c). Builds ours on the realtext input of
bench_realtext.py (run that first: it writes the input file and the
queries), then for the first N queries of each phrase shape: the best of 3
warm timings, the candidates (the same words with mode="and") and the
phrase's hits. Prints one line per query, and a JSON summary as its last
line (median time, median time with at most 3 candidates, median time
per candidate over the queries with at least 10).

usage: PYTHONPATH=build-py/pkg .venv/bin/python \
           bench/fts/realtext_phrase_probe.py [--mode full] [--n 60]
"""
from __future__ import annotations

import argparse
import json
import pathlib
import shutil
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import realtext_corpus  # noqa: E402


def main():
    import numpy as np

    import infino

    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=["quick", "full"], default="full")
    ap.add_argument("--n", type=int, default=60)
    a = ap.parse_args()
    t, qs, work = realtext_corpus.saved_run(a.mode)
    d = tempfile.mkdtemp(dir=work)
    try:
        tb = infino.connect(d).create_table(
            "docs", t.schema, infino.IndexSpec().fts("body", positions=True))
        tb.append(t)
        rows = []
        for shape in ("phrase_two", "phrase_three"):
            for q in qs[shape][:a.n]:
                tb.bm25_search("body", q["iq"], 10)
                ts = []
                for _ in range(3):
                    t0 = time.perf_counter()
                    tb.bm25_search("body", q["iq"], 10)
                    ts.append(time.perf_counter() - t0)
                cand = tb.bm25_search("body", " ".join(q["terms"]), 10**7,
                                      mode="and").num_rows
                hits = tb.bm25_search("body", q["iq"], 10**7).num_rows
                rows.append((min(ts) * 1e6, cand, hits, q["iq"]))
    finally:
        shutil.rmtree(d, ignore_errors=True)
    rows.sort()
    for r in rows:
        print("%9.0f us  candidates %6d  phrase hits %5d  %s" % r)
    x = np.array([(r[0], r[1]) for r in rows], dtype=float)
    few = [r[0] for r in rows if r[1] <= 3]
    per = [r[0] / r[1] for r in rows if r[1] >= 10]
    print(json.dumps({
        "docs": t.num_rows, "queries": len(rows),
        "median_us_per_candidate_at_least_10": (float(np.median(per)) if per
                                                else None),
        "median_us_at_most_3_candidates": (float(np.median(few)) if few
                                           else None),
        "median_us": float(np.median(x[:, 0])),
        "median_candidates": float(np.median(x[:, 1]))}))


if __name__ == "__main__":
    main()
