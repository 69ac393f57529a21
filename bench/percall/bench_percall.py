#!/usr/bin/env python3
"""Fixed per-call cost of a search from Python (issue 16 item 8).

A tiny table (1,000 rows: doc_id, body with a unique word per row, 384-d
random embedding; fts(body), vector(embedding, 16 lists, cosine)), k = 10,
default projection, one process per run. Each variant is timed as CPU time
per call (process_time_ns over a loop of calls), median over rounds; the
differences between variants give the share of each layer:

  py_noop          a Python method call with the same arguments (floor)
  native           _native's search alone (the capsule dropped unread)
  native_fresh0    the same on a connection with max_staleness_ms=60000:
                   no freshness check (stat) of the store per read
  native_stream    native + pyarrow's stream import (from_stream +
                   read_all), the pa.Table path before this change
  native_to_table  native + _native.to_table (cached-schema batch import)
  table            Table.bm25_search / vector_search (the public call)
  ids              Table.bm25_search_ids / vector_search_ids(with_scores)

Runs with whichever infino is on PYTHONPATH (variants that build lacks
are skipped), so two builds can be compared:

  PYTHONPATH=build-py/pkg .venv/bin/python bench/percall/bench_percall.py \
      --label after --runs 3 --out scratch.json

--fts DOCS: BM25 on bench/fts's Zipf corpus (DOCS docs, one append)
through bench/fts/bench_fts.py's workers: ours (pa.Table), ours_lean
(bm25_search_ids) and tantivy, alternating over rounds, every shape,
p50 wall and CPU us per query (tantivy from bench/.venv).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

N = 1000
DIM = 384
K = 10


def setup(d):
    import numpy as np
    import pyarrow as pa
    import infino

    rng = np.random.default_rng(1)
    emb = rng.standard_normal((N, DIM)).astype(np.float32)
    tab = pa.table({
        "doc_id": pa.array([f"doc-{i}" for i in range(N)]),
        "body": pa.array([f"word{i} common text{i % 7}" for i in range(N)]),
        "embedding": pa.FixedSizeListArray.from_arrays(pa.array(emb.ravel()),
                                                       DIM)})
    t = infino.connect(d).create_table(
        "t", tab.schema,
        infino.IndexSpec().fts("body").vector("embedding", DIM, 16, "cosine"))
    t.append(tab)
    np.save(os.path.join(d, "q.npy"), emb[3])


def worker(d, loops, rounds):
    import numpy as np
    import infino
    from infino import _infino

    q = np.load(os.path.join(d, "q.npy")).astype(np.float32)
    t = infino.connect(d).open_table("t")
    tf = infino.connect(d, max_staleness_ms=60000).open_table("t")
    T, TF = t._t, tf._t
    has = hasattr(infino._native, "to_table")

    class Noop:
        def bm25_search(self, column, query, k, mode=None, projection=None):
            return None

        def vector_search(self, column, query, k, nprobe=None,
                          projection=None):
            return None

    nb = Noop()
    v = {
        "bm25": {
            "py_noop": lambda: nb.bm25_search("body", "word5", K),
            "native": lambda: T.bm25_search("body", "word5", K, None, None),
            "native_fresh0": lambda: TF.bm25_search("body", "word5", K, None,
                                                    None),
            "native_stream": lambda: _infino._read_all(
                T.bm25_search("body", "word5", K, None, None)),
            "table": lambda: t.bm25_search("body", "word5", K),
        },
        "vector": {
            "py_noop": lambda: nb.vector_search("embedding", q, K),
            "native": lambda: T.vector_search("embedding", q, K, 1, None,
                                              None, None, None),
            "native_fresh0": lambda: TF.vector_search("embedding", q, K, 1,
                                                      None, None, None, None),
            "native_stream": lambda: _infino._read_all(T.vector_search(
                "embedding", q, K, 1, None, None, None, None)),
            "table": lambda: t.vector_search("embedding", q, K, 1),
        },
    }
    if has:
        v["bm25"]["native_to_table"] = lambda: infino._native.to_table(
            T.bm25_search("body", "word5", K, None, None))
        v["bm25"]["ids"] = lambda: t.bm25_search_ids("body", "word5", K,
                                                     with_scores=True)
        v["vector"]["native_to_table"] = lambda: infino._native.to_table(
            T.vector_search("embedding", q, K, 1, None, None, None, None))
        v["vector"]["ids"] = lambda: t.vector_search_ids(
            "embedding", q, K, 1, with_scores=True)
    tc = time.process_time_ns
    out = {}
    for shape, fns in v.items():
        for fn in fns.values():
            for _ in range(200):
                fn()
        res = {name: [] for name in fns}
        for _ in range(rounds):  # variants interleaved round by round
            for name, fn in fns.items():
                c0 = tc()
                for _ in range(loops):
                    fn()
                res[name].append((tc() - c0) / loops / 1e3)
        out[shape] = {name: statistics.median(xs) for name, xs in res.items()}
    print(json.dumps(out), flush=True)


def fts_driver(docs, rounds, passes, queries, out):
    import datetime
    import pathlib

    here = pathlib.Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(here))
    sys.path.insert(0, str(here / "fts"))
    import common
    import bench_fts as bf

    src = common.ensure_dataset(max(docs, common.BATCH_ROWS))
    work = common.WORK_DIR / "percall-fts"
    work.mkdir(parents=True, exist_ok=True)
    df = bf.corpus_df(src, docs)
    shape_queries = bf.make_queries(bf.pools(df), docs, queries, common.SEED)
    for qs in shape_queries.values():
        for q in qs:
            q["iq"], q["tq"] = bf.infino_query(q), bf.tantivy_query(q)
    qfile = work / "queries.json"
    qfile.write_text(json.dumps(shape_queries))
    dirs = {"ours": work / "ours", "tantivy": work / "tantivy"}
    for e, d in dirs.items():
        r = bf.run_build(e, src, docs, 1, d)
        print(f"build {e}: {r['seconds']:.1f} s", file=sys.stderr)
    dirs["ours_lean"] = dirs["ours"]
    engines = ["ours", "ours_lean", "tantivy"]
    res = {e: [] for e in engines}
    ids = {}
    for rnd in range(rounds):
        for e in (engines if rnd % 2 == 0 else engines[::-1]):
            r = bf.run_query(e, dirs[e], qfile, passes, work / f"cache-{e}",
                             rnd == 0)
            if rnd == 0:
                ids[e] = {s: r["shapes"][s].pop("ids") for s in bf.SHAPES}
            res[e].append(r)
            print(f"round {rnd} {e}: single_df1 "
                  f"{common.pct(r['shapes']['single_df1']['lat_us'], 50):.1f}"
                  " us", file=sys.stderr)
    shapes = {}
    for s in bf.SHAPES:
        shapes[s] = {e: {
            "p50_us": common.median([common.pct(r["shapes"][s]["lat_us"], 50)
                                     for r in res[e]]),
            "p99_us": common.median([common.pct(r["shapes"][s]["lat_us"], 99)
                                     for r in res[e]]),
            "cpu_p50_us": common.median([common.pct(r["shapes"][s]["cpu_us"],
                                                    50) for r in res[e]])}
            for e in engines}
        shapes[s]["lean_same_ids"] = ids["ours"][s] == ids["ours_lean"][s]
    result = {"bench": "percall-fts", "docs": docs, "k": bf.K,
              "queries_per_shape": queries, "rounds": rounds,
              "passes": passes,
              "date": datetime.datetime.now().isoformat(timespec="seconds"),
              "loadavg_end": os.getloadavg(), "shapes": shapes}
    shutil.rmtree(work, ignore_errors=True)
    text = json.dumps(result, indent=1)
    if out:
        with open(out, "w") as f:
            f.write(text + "\n")
    print(text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--worker", action="store_true")
    ap.add_argument("--dir")
    ap.add_argument("--loops", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--label", default="")
    ap.add_argument("--out")
    ap.add_argument("--fts", type=int, default=0, metavar="DOCS")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--passes", type=int, default=2)
    a = ap.parse_args()
    if a.fts:
        fts_driver(a.fts, a.rounds if a.rounds != 9 else 2, a.passes,
                   a.queries, a.out)
        return
    if a.worker:
        worker(a.dir, a.loops, a.rounds)
        return
    d = tempfile.mkdtemp(prefix="percall-")
    try:
        setup(d)
        runs = []
        for _ in range(a.runs):
            p = subprocess.run([sys.executable, __file__, "--worker", "--dir",
                                d, "--loops", str(a.loops), "--rounds",
                                str(a.rounds)], check=True,
                               capture_output=True, text=True)
            runs.append(json.loads(p.stdout))
    finally:
        shutil.rmtree(d, ignore_errors=True)
    med = {s: {n: statistics.median(r[s][n] for r in runs)
               for n in runs[0][s]} for s in runs[0]}
    res = {"label": a.label, "cpu_us_per_call": med, "runs": runs,
           "loadavg": os.getloadavg(), "loops": a.loops, "rounds": a.rounds}
    text = json.dumps(res, indent=1)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
