#!/usr/bin/env python3
"""Ours alone: what token positions cost and save on the realtext input of
bench_realtext.py (run that first: it writes the input and the queries).

Builds the input twice, IndexSpec().fts("body", positions=False) and
positions=True (one append, one superfile each; with INFINO_FTS_FORMAT=4
in the environment a positions column is written as before format 5, the
re-tokenizing path), and reports per build the wall and process CPU time
(best of --repeat) and the bytes on disk; then, on the positions table,
the phrase_two and phrase_three queries: per query the best of 3 warm
runs in thread CPU time (time.thread_time_ns: a shared machine's load
moves wall time, not this) and in wall time, and their medians. The last
line is a JSON summary.

usage: PYTHONPATH=build-py/pkg .venv/bin/python \
           bench/fts/realtext_positions_probe.py [--mode full] [--n 60]
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import realtext_corpus  # noqa: E402


def du(path: str) -> int:
    return sum(f.stat().st_size for f in pathlib.Path(path).rglob("*")
               if f.is_file())


def build(infino, t, work, positions, repeat):
    best = None
    for _ in range(repeat):
        d = tempfile.mkdtemp(dir=work)
        db = infino.connect(d)
        tb = db.create_table("docs", t.schema, infino.IndexSpec().fts(
            "body", positions=positions))
        w0, c0 = time.perf_counter(), time.process_time()
        tb.append(t)
        w1, c1 = time.perf_counter(), time.process_time()
        size = du(os.path.join(d))
        r = (w1 - w0, c1 - c0, size, d, tb)
        if best is None or r[1] < best[1]:
            if best is not None:
                shutil.rmtree(best[3], ignore_errors=True)
            best = r
        else:
            shutil.rmtree(d, ignore_errors=True)
    return best


def main():
    import infino

    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=["quick", "full"], default="quick")
    ap.add_argument("--n", type=int, default=60)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    t, qs, work = realtext_corpus.saved_run(a.mode)
    out = {"docs": t.num_rows, "infino": infino.__file__}
    plain = build(infino, t, work, False, a.repeat)
    pos = build(infino, t, work, True, a.repeat)
    try:
        for name, b in (("plain", plain), ("positions", pos)):
            out[name] = {"build_wall_s": round(b[0], 3),
                         "build_cpu_s": round(b[1], 3), "bytes": b[2]}
            print("build %-9s wall %.3f s  cpu %.3f s  %d bytes on disk"
                  % (name, b[0], b[1], b[2]))
        tb = pos[4]
        for shape in ("phrase_two", "phrase_three"):
            cpu, wall = [], []
            for q in qs[shape][:a.n]:
                tb.bm25_search("body", q["iq"], 10)
                bc, bw = None, None
                for _ in range(3):
                    c0, w0 = time.thread_time_ns(), time.perf_counter_ns()
                    tb.bm25_search("body", q["iq"], 10)
                    c1, w1 = time.thread_time_ns(), time.perf_counter_ns()
                    bc = c1 - c0 if bc is None else min(bc, c1 - c0)
                    bw = w1 - w0 if bw is None else min(bw, w1 - w0)
                cpu.append(bc / 1e3)
                wall.append(bw / 1e3)
            out[shape] = {"queries": len(cpu),
                          "median_thread_cpu_us": statistics.median(cpu),
                          "median_wall_us": statistics.median(wall),
                          "total_thread_cpu_ms": sum(cpu) / 1e3}
            print("%-12s %d queries: median thread cpu %.0f us, wall %.0f us"
                  % (shape, len(cpu), statistics.median(cpu),
                     statistics.median(wall)))
    finally:
        shutil.rmtree(plain[3], ignore_errors=True)
        shutil.rmtree(pos[3], ignore_errors=True)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
